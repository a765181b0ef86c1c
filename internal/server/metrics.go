package server

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the request latency
// histogram.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// opMetrics counts one operation's requests.
type opMetrics struct {
	mu      sync.Mutex
	byCode  map[string]uint64 // "" for success
	buckets []uint64          // cumulative counts are computed on export
	count   uint64
	sum     float64
}

// metrics holds the server's Prometheus counters. Safe for concurrent use.
type metrics struct {
	mu  sync.RWMutex
	ops map[string]*opMetrics

	sweepHeld   atomic.Bool   // this node runs the background jobs
	sweepRounds atomic.Uint64 // rounds of the background jobs this node ran
}

func newMetrics() *metrics { return &metrics{ops: make(map[string]*opMetrics)} }

func (m *metrics) op(name string) *opMetrics {
	m.mu.RLock()
	o := m.ops[name]
	m.mu.RUnlock()
	if o != nil {
		return o
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if o = m.ops[name]; o == nil {
		o = &opMetrics{byCode: make(map[string]uint64), buckets: make([]uint64, len(latencyBuckets)+1)}
		m.ops[name] = o
	}
	return o
}

// observe records one request of operation op that ended with error code
// code ("" on success) after d.
func (m *metrics) observe(op, code string, d time.Duration) {
	o := m.op(op)
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s)
	o.mu.Lock()
	o.byCode[code]++
	o.buckets[i]++
	o.count++
	o.sum += s
	o.mu.Unlock()
}

// sweepRound records the outcome of one round's lease of the background
// jobs: held reports whether this node runs them this round.
func (m *metrics) sweepRound(held bool) {
	m.sweepHeld.Store(held)
	if held {
		m.sweepRounds.Add(1)
	}
}

// write renders the metrics in the Prometheus text exposition format.
func (m *metrics) write(w io.Writer) {
	m.mu.RLock()
	names := make([]string, 0, len(m.ops))
	for n := range m.ops {
		names = append(names, n)
	}
	m.mu.RUnlock()
	sort.Strings(names)

	fmt.Fprintln(w, "# HELP custos_requests_total Requests by operation and error code (code=\"\" on success).")
	fmt.Fprintln(w, "# TYPE custos_requests_total counter")
	type snap struct {
		byCode  map[string]uint64
		buckets []uint64
		count   uint64
		sum     float64
	}
	snaps := make([]snap, len(names))
	for i, n := range names {
		o := m.op(n)
		o.mu.Lock()
		s := snap{byCode: make(map[string]uint64, len(o.byCode)), buckets: append([]uint64(nil), o.buckets...), count: o.count, sum: o.sum}
		for c, v := range o.byCode {
			s.byCode[c] = v
		}
		o.mu.Unlock()
		snaps[i] = s
		codes := make([]string, 0, len(s.byCode))
		for c := range s.byCode {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			fmt.Fprintf(w, "custos_requests_total{operation=%q,code=%q} %d\n", n, c, s.byCode[c])
		}
	}
	fmt.Fprintln(w, "# HELP custos_request_duration_seconds Time from request read to reply written.")
	fmt.Fprintln(w, "# TYPE custos_request_duration_seconds histogram")
	for i, n := range names {
		s := snaps[i]
		var cum uint64
		for j, le := range latencyBuckets {
			cum += s.buckets[j]
			fmt.Fprintf(w, "custos_request_duration_seconds_bucket{operation=%q,le=\"%g\"} %d\n", n, le, cum)
		}
		fmt.Fprintf(w, "custos_request_duration_seconds_bucket{operation=%q,le=\"+Inf\"} %d\n", n, s.count)
		fmt.Fprintf(w, "custos_request_duration_seconds_sum{operation=%q} %g\n", n, s.sum)
		fmt.Fprintf(w, "custos_request_duration_seconds_count{operation=%q} %d\n", n, s.count)
	}
	fmt.Fprintln(w, "# HELP custos_sweep_lease_held 1 while this node runs the background jobs (key deletion and rotation), else 0.")
	fmt.Fprintln(w, "# TYPE custos_sweep_lease_held gauge")
	held := 0
	if m.sweepHeld.Load() {
		held = 1
	}
	fmt.Fprintf(w, "custos_sweep_lease_held %d\n", held)
	fmt.Fprintln(w, "# HELP custos_sweep_rounds_total Rounds of the background jobs this node ran as their holder.")
	fmt.Fprintln(w, "# TYPE custos_sweep_rounds_total counter")
	fmt.Fprintf(w, "custos_sweep_rounds_total %d\n", m.sweepRounds.Load())
}
