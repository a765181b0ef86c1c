package loadgen

import (
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	for i := range numBuckets {
		ub := upperBound(i)
		if got := bucketOf(ub); got != i {
			t.Fatalf("bucketOf(upperBound(%d) = %d) = %d, want %d", i, ub, got, i)
		}
		if got := bucketOf(ub + 1); i+1 < numBuckets && got != i+1 {
			t.Fatalf("bucketOf(upperBound(%d)+1 = %d) = %d, want %d", i, ub+1, got, i+1)
		}
	}
	if got := upperBound(numBuckets - 1); got != maxTracked {
		t.Errorf("upperBound(last) = %d, want %d", got, maxTracked)
	}
	tests := []struct {
		name string
		d    time.Duration
		want int
	}{
		{name: "negative", d: -5, want: 0},
		{name: "zero", d: 0, want: 0},
		{name: "exact range", d: 63, want: 63},
		{name: "first shared bucket", d: 64, want: 64},
		{name: "above the range", d: 1 << 50, want: numBuckets - 1},
	}
	for _, tc := range tests {
		if got := bucketOf(tc.d); got != tc.want {
			t.Errorf("%s: bucketOf(%d) = %d, want %d", tc.name, tc.d, got, tc.want)
		}
	}
}

func TestBucketPrecision(t *testing.T) {
	for d := time.Duration(1); d < maxTracked; d = d*3/2 + 1 {
		ub := upperBound(bucketOf(d))
		if ub < d || float64(ub-d) > float64(d)/subCount {
			t.Errorf("upperBound(bucketOf(%d)) = %d, want within 1/%d above", d, ub, subCount)
		}
	}
}

func TestQuantile(t *testing.T) {
	h := newHistogram()
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("empty quantile(0.5) = %v, want 0", got)
	}
	// 1 µs .. 1000 µs, one of each, recorded in two halves and merged.
	other := newHistogram()
	for i := 1; i <= 1000; i++ {
		if i%2 == 0 {
			h.record(time.Duration(i) * time.Microsecond)
		} else {
			other.record(time.Duration(i) * time.Microsecond)
		}
	}
	h.merge(other)
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{q: 0, want: time.Microsecond},
		{q: 0.5, want: 500 * time.Microsecond},
		{q: 0.9, want: 900 * time.Microsecond},
		{q: 0.99, want: 990 * time.Microsecond},
		{q: 1, want: 1000 * time.Microsecond},
	}
	for _, tc := range tests {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got-tc.want) > float64(tc.want)/subCount {
			t.Errorf("quantile(%v) = %v, want %v to within 1/%d above", tc.q, got, tc.want, subCount)
		}
	}
	if h.max != time.Millisecond || h.total != 1000 {
		t.Errorf("after merge max = %v, total = %d, want 1ms and 1000", h.max, h.total)
	}
	if got := h.quantile(1); got != h.max {
		t.Errorf("quantile(1) = %v, want the maximum %v", got, h.max)
	}
}
