// Package loadgen is the engine of `custos bench`: it drives one KMS
// operation against a running AWS KMS-compatible endpoint from many
// concurrent workers and reports throughput, latency percentiles, errors and
// the CPU the generator itself spent.
//
// The generator is meant to share a small machine with the server it
// measures, so each request is built by hand rather than through the AWS
// SDK client: the JSON body of the operation is made once, its SHA-256 is
// computed once, and per request only the SigV4 signature (which depends on
// the time) and the HTTP exchange are paid for. Connections are HTTP/1.1
// keep-alive, one per worker.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one benchmark run. The zero value of every optional
// field selects the default given beside it.
type Config struct {
	Endpoint    string        // base URL of the server, e.g. http://127.0.0.1:4599
	Region      string        // SigV4 signing region; default "us-east-1"
	AccessKeyID string        // required
	SecretKey   string        // required; never printed
	Op          string        // "Encrypt", "Decrypt", "GenerateDataKey", "GenerateRandom", "DescribeKey", "Sign" or "GenerateMac"
	Size        int           // plaintext bytes for Encrypt and Decrypt (default 4096); NumberOfBytes for GenerateRandom (default 32); message bytes for Sign and GenerateMac (default 256)
	KeyID       string        // key to use; if empty, Run creates one with TrentService.CreateKey (not for GenerateRandom)
	KeySpec     string        // Sign: the key's spec, which picks the algorithm (default ECC_NIST_P256); GenerateMac: an HMAC spec (default HMAC_256)
	Concurrency int           // number of workers and of connections; default 64, at most 10000
	Duration    time.Duration // length of the measured phase; default 10s
	Requests    int           // optional cap on measured requests; 0 means none. The run is always bounded by Duration
	Insecure    bool          // skip TLS certificate verification (for servers with self-signed certificates)
}

// Result is what one run measured. Latencies cover every measured request,
// failed ones included, from just before the request is written until its
// response body has been read in full; signing is not part of it.
type Result struct {
	Op          string
	Concurrency int
	KeyID       string        // the key the run used (the created one if Config.KeyID was empty); empty for GenerateRandom
	Elapsed     time.Duration // wall time of the measured phase, until the last worker stopped
	Requests    int64         // measured requests that completed, failed ones included
	Errors      int64         // non-200 responses and transport errors
	ErrorSample string        // the first error seen: HTTP status, __type and message, or the transport error; never a request body
	RPS         float64       // Requests / Elapsed
	P50         time.Duration // latency percentiles, to within 1.6 %
	P90         time.Duration
	P99         time.Duration
	Max         time.Duration
	ClientCPU   time.Duration // user+system CPU of this whole process during the measured phase (0 where unavailable)
}

const (
	defaultRegion      = "us-east-1"
	defaultSize        = 4096
	defaultRandomSize  = 32
	defaultMessageSize = 256
	defaultSignSpec    = "ECC_NIST_P256"
	defaultMacSpec     = "HMAC_256"
	defaultConcurrency = 64
	defaultDuration    = 10 * time.Second
	maxConcurrency     = 10000

	// The warm-up, not counted, opens the connections and lets the server
	// settle: it stops after warmupRequests (or Concurrency if larger)
	// requests or warmupTime, whichever comes first.
	warmupRequests = 200
	warmupTime     = time.Second

	// drainGrace is how long requests still in flight at the end of
	// Duration may take to finish; those still running then are cancelled
	// and counted as errors.
	drainGrace = 2 * time.Second

	// setupTimeout bounds each setup request (CreateKey, the Encrypt that
	// makes the blob for Decrypt).
	setupTimeout = 10 * time.Second
)

// Run prepares the operation (creating a key and, for Decrypt, a ciphertext
// when needed), warms up, then sends requests from cfg.Concurrency workers
// until cfg.Duration has passed or cfg.Requests requests were sent, and
// returns what it measured.
//
// Run takes at most about 1 s of warm-up + cfg.Duration + 2 s, plus the setup
// requests (each bounded to 10 s). It returns an error, and no result, for an
// invalid cfg or a failed setup request. Failures of measured requests are
// not errors of Run: they are counted in Result.Errors. If ctx is cancelled,
// Run stops early and returns what it measured so far together with
// ctx.Err().
//
// Run is safe to call concurrently; each call has its own connections.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return Result{}, err
	}
	g := newGenerator(cfg)
	defer g.close()

	keyID, c, err := g.prepare(ctx, cfg)
	if err != nil {
		return Result{}, err
	}

	if err := g.warmUp(ctx, c, cfg.Concurrency); err != nil {
		return Result{}, err
	}

	res := g.measure(ctx, c, cfg)
	res.KeyID = keyID
	return res, ctx.Err()
}

// withDefaults fills in the defaults of cfg and checks it.
func withDefaults(cfg Config) (Config, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cfg, fmt.Errorf("loadgen: endpoint %q: want http://host:port or https://host:port", cfg.Endpoint)
	}
	if !knownOp(cfg.Op) {
		return cfg, fmt.Errorf("loadgen: unknown operation %q: want Encrypt, Decrypt, GenerateDataKey, GenerateRandom, DescribeKey, Sign or GenerateMac", cfg.Op)
	}
	switch cfg.Op {
	case "Sign":
		if cfg.KeySpec == "" {
			cfg.KeySpec = defaultSignSpec
		}
		if signingAlgorithm(cfg.KeySpec) == "" {
			return cfg, fmt.Errorf("loadgen: key spec %q cannot sign: want RSA_*, ECC_*, or ML_DSA_*", cfg.KeySpec)
		}
	case "GenerateMac":
		if cfg.KeySpec == "" {
			cfg.KeySpec = defaultMacSpec
		}
		if macAlgorithm(cfg.KeySpec) == "" {
			return cfg, fmt.Errorf("loadgen: key spec %q is not an HMAC spec: want HMAC_224, HMAC_256, HMAC_384 or HMAC_512", cfg.KeySpec)
		}
	default:
		if cfg.KeySpec != "" {
			return cfg, fmt.Errorf("loadgen: a key spec is for Sign and GenerateMac only, not %s", cfg.Op)
		}
	}
	if cfg.AccessKeyID == "" || cfg.SecretKey == "" {
		return cfg, errors.New("loadgen: access key ID and secret key are required")
	}
	if cfg.Size < 0 || cfg.Concurrency < 0 || cfg.Duration < 0 || cfg.Requests < 0 {
		return cfg, errors.New("loadgen: size, concurrency, duration and requests must not be negative")
	}
	if cfg.Concurrency > maxConcurrency {
		return cfg, fmt.Errorf("loadgen: concurrency %d is above the limit of %d", cfg.Concurrency, maxConcurrency)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if cfg.Size == 0 {
		switch cfg.Op {
		case "GenerateRandom":
			cfg.Size = defaultRandomSize
		case "Sign", "GenerateMac":
			cfg.Size = defaultMessageSize
		default:
			cfg.Size = defaultSize
		}
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.Duration == 0 {
		cfg.Duration = defaultDuration
	}
	return cfg, nil
}

// phase hands out permission to send requests until it is halted or, when
// limit is positive, limit permissions were given. Safe for concurrent use.
type phase struct {
	limit  int64
	issued atomic.Int64
	halted atomic.Bool
}

func (p *phase) next() bool {
	if p.halted.Load() {
		return false
	}
	return p.limit <= 0 || p.issued.Add(1) <= p.limit
}

func (p *phase) halt() { p.halted.Store(true) }

// workerStats is owned by one worker while it runs.
type workerStats struct {
	hist     *histogram
	requests int64
	errors   int64
	_        [40]byte // keeps the counters of neighbouring workers off one cache line
}

// runPhase runs n workers sending c under ctx until p stops them, worker i
// adding to stats[i] (and recording latencies if stats[i].hist is set). A
// request aborted because parent was cancelled is not counted; one aborted
// because ctx (derived from parent) ran out is a counted error.
func (g *generator) runPhase(parent, ctx context.Context, c *call, n int, p *phase, stats []workerStats) {
	var wg sync.WaitGroup
	for i := range n {
		st := &stats[i]
		wg.Go(func() {
			for p.next() {
				lat, out := g.fire(ctx, c)
				if out == aborted {
					if parent.Err() != nil {
						return
					}
					g.noteError(fmt.Sprintf("request still running %v after the end of the run", drainGrace))
				}
				st.requests++
				if out != ok {
					st.errors++
				}
				if st.hist != nil {
					st.hist.record(lat)
				}
			}
		})
	}
	wg.Wait()
}

// warmUp sends uncounted requests so that connections are open before the
// measurement starts. It fails only if ctx is cancelled.
func (g *generator) warmUp(ctx context.Context, c *call, n int) error {
	p := &phase{limit: int64(max(warmupRequests, n))}
	t := time.AfterFunc(warmupTime, p.halt)
	defer t.Stop()
	stopOnCancel := context.AfterFunc(ctx, p.halt)
	defer stopOnCancel()
	wctx, cancel := context.WithTimeout(ctx, warmupTime+drainGrace)
	defer cancel()
	g.runPhase(ctx, wctx, c, n, p, make([]workerStats, n))
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("loadgen: warm-up: %w", err)
	}
	return nil
}

// measure runs the measured phase and summarises it.
func (g *generator) measure(ctx context.Context, c *call, cfg Config) Result {
	n := cfg.Concurrency
	stats := make([]workerStats, n)
	for i := range stats {
		stats[i].hist = newHistogram()
	}
	p := &phase{limit: int64(cfg.Requests)}
	mctx, cancel := context.WithTimeout(ctx, cfg.Duration+drainGrace)
	defer cancel()

	g.sample.Store(nil) // the sample must come from a counted error, not the warm-up
	cpu0 := processCPU()
	start := time.Now()
	t := time.AfterFunc(cfg.Duration, p.halt)
	stopOnCancel := context.AfterFunc(ctx, p.halt)
	g.runPhase(ctx, mctx, c, n, p, stats)
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	t.Stop()
	stopOnCancel()

	all := newHistogram()
	res := Result{Op: cfg.Op, Concurrency: n, Elapsed: elapsed, ClientCPU: cpu}
	for i := range stats {
		all.merge(stats[i].hist)
		res.Requests += stats[i].requests
		res.Errors += stats[i].errors
	}
	if elapsed > 0 {
		res.RPS = float64(res.Requests) / elapsed.Seconds()
	}
	res.P50, res.P90, res.P99 = all.quantile(0.50), all.quantile(0.90), all.quantile(0.99)
	res.Max = all.max
	res.ErrorSample = g.errorSample()
	return res
}
