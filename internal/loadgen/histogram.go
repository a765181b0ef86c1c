package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// histogram counts durations in log-linear buckets: every power of two is
// split into 2^subBits equal sub-buckets, so a value is known to within
// 1/2^subBits (under 1.6 %) of itself while the memory stays fixed whatever
// the number of samples. Values below 2^subBits ns are counted exactly.
//
// Bucket index of a value v (in nanoseconds, clamped to [0, maxTracked]):
//
//	v < 2^subBits:  index = v
//	otherwise:      e = bitlen(v) - subBits - 1, index = (e+1)<<subBits + (v>>e - 2^subBits)
//
// A histogram is not safe for concurrent use; each worker owns one and they
// are merged after the workers stop.
type histogram struct {
	counts []uint64
	total  uint64
	max    time.Duration
}

const (
	subBits    = 6
	subCount   = 1 << subBits
	maxTracked = time.Duration(1<<40 - 1) // about 18 minutes
	// numBuckets is the index of maxTracked plus one.
	numBuckets = (40-subBits)<<subBits + subCount
)

func newHistogram() *histogram {
	return &histogram{counts: make([]uint64, numBuckets)}
}

func bucketOf(d time.Duration) int {
	if d < 0 {
		d = 0
	}
	if d > maxTracked {
		d = maxTracked
	}
	v := uint64(d)
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1
	return (e+1)<<subBits + int(v>>e) - subCount
}

// upperBound returns the largest duration that falls into bucket i.
func upperBound(i int) time.Duration {
	if i < subCount {
		return time.Duration(i)
	}
	e := i>>subBits - 1
	m := uint64(i&(subCount-1)) + subCount
	return time.Duration((m+1)<<e - 1)
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.total++
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the upper bound of the bucket holding the sample of rank
// ceil(q*total), capped at the largest recorded value; 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upperBound(i), h.max)
		}
	}
	return h.max
}
