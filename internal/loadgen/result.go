package loadgen

import (
	"fmt"
	"strings"
	"time"
)

// String returns a human-readable report of r, several lines ending in a
// newline: operation and concurrency, requests and errors, requests per
// second, latency percentiles, client CPU per request and, if any request
// failed, the first error.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  concurrency %d  elapsed %v\n", r.Op, r.Concurrency, r.Elapsed.Round(time.Millisecond))
	if r.KeyID != "" {
		fmt.Fprintf(&b, "key          %s\n", r.KeyID)
	}
	fmt.Fprintf(&b, "requests     %d  (%d errors)\n", r.Requests, r.Errors)
	fmt.Fprintf(&b, "throughput   %.1f requests/s\n", r.RPS)
	fmt.Fprintf(&b, "latency      p50 %v  p90 %v  p99 %v  max %v\n", roundLatency(r.P50), roundLatency(r.P90), roundLatency(r.P99), roundLatency(r.Max))
	if r.Requests > 0 {
		perReq := float64(r.ClientCPU.Nanoseconds()) / float64(r.Requests) / 1e3
		fmt.Fprintf(&b, "client CPU   %.1f µs/request  (%v in total)\n", perReq, r.ClientCPU.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, "client CPU   %v in total\n", r.ClientCPU.Round(time.Millisecond))
	}
	if r.ErrorSample != "" {
		fmt.Fprintf(&b, "first error  %s\n", r.ErrorSample)
	}
	return b.String()
}

// roundLatency keeps three or four significant digits.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}
