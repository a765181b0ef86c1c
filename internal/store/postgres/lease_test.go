package postgres

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/store"
)

var _ store.Leaser = (*Store)(nil)

func TestLease(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	a, b := open(t, u), open(t, u)
	const ttl = time.Second
	try := func(s *Store, who, name string, want bool) {
		t.Helper()
		held, err := s.TryLease(t.Context(), name, ttl)
		if err != nil || held != want {
			t.Fatalf("%s: TryLease(%q) = %v, %v, want %v", who, name, held, err, want)
		}
	}
	try(a, "a", "sweeper", true)
	try(b, "b", "sweeper", false)
	try(b, "b", "rotator", true) // another lease
	try(a, "a", "rotator", false)
	// Renewing keeps it past the first ttl.
	for range 3 {
		time.Sleep(ttl / 4)
		try(a, "a renewing", "sweeper", true)
		try(b, "b while a renews", "sweeper", false)
	}
	// a stops renewing (it died): b takes over once the ttl has passed.
	start := time.Now()
	for {
		held, err := b.TryLease(t.Context(), "sweeper", ttl)
		if err != nil {
			t.Fatalf("b: TryLease = %v", err)
		}
		if held {
			break
		}
		if time.Since(start) > 5*ttl {
			t.Fatalf("b did not take over the lease of a within %v", 5*ttl)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(start); d < ttl/2 {
		t.Errorf("b took over the lease after %v, before a's ttl (%v) ran out", d, ttl)
	}
	try(a, "a back", "sweeper", false)

	if _, err := a.TryLease(t.Context(), "x", 0); err == nil {
		t.Errorf("TryLease(ttl 0) = nil error, want one")
	}
}

// TestLeaseHandoverOnClose checks that Close releases the leases at once.
func TestLeaseHandoverOnClose(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	a, err := Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, u)
	if held, err := a.TryLease(t.Context(), "sweeper", time.Hour); !held || err != nil {
		t.Fatalf("a: TryLease = %v, %v, want true", held, err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if held, err := b.TryLease(t.Context(), "sweeper", time.Hour); !held || err != nil {
		t.Errorf("b: TryLease after a closed = %v, %v, want true", held, err)
	}
}

// TestLeaseExclusive races several nodes for free and expired leases:
// exactly one wins each race.
func TestLeaseExclusive(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	const nodes, rounds = 4, 10
	stores := make([]*Store, nodes)
	for i := range stores {
		stores[i] = open(t, u)
	}
	for round := range rounds {
		name := fmt.Sprintf("race-%d", round)
		if round%2 == 1 {
			// A lease whose holder died a second ago.
			exec(t, u, fmt.Sprintf(`INSERT INTO leases (name, holder, expires_at)
				VALUES ('%s', 'dead', clock_timestamp() - interval '1 second')`, name))
		}
		var winners atomic.Int32
		var wg sync.WaitGroup
		startLine := make(chan struct{})
		for i, s := range stores {
			wg.Go(func() {
				<-startLine
				held, err := s.TryLease(t.Context(), name, time.Hour)
				if err != nil {
					t.Errorf("node %d: TryLease(%q) = %v", i, name, err)
				}
				if held {
					winners.Add(1)
				}
			})
		}
		close(startLine)
		wg.Wait()
		if n := winners.Load(); n != 1 {
			t.Errorf("%s: %d nodes won the lease, want 1", name, n)
		}
	}
}
