package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/store"
)

var _ store.Notifier = (*Store)(nil)

// TestNotify checks delivery between two nodes: through NOTIFY, and
// through the version check when a notification is lost.
func TestNotify(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	a, b := open(t, u), open(t, u)
	keys, err := b.Subscribe(t.Context(), "keys")
	if err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	policies, err := b.Subscribe(t.Context(), "policies")
	if err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	waitSignal(t, keys, 5*time.Second, "keys: subscription in place")
	waitSignal(t, policies, 5*time.Second, "policies: subscription in place")

	// Latency of a notification from node a to node b.
	var lat []time.Duration
	for range 10 {
		start := time.Now()
		if err := a.Notify(t.Context(), "keys"); err != nil {
			t.Fatalf("Notify = %v", err)
		}
		waitSignal(t, keys, time.Second, "keys: Notify on another node")
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("Notify to signal on another node: median %v, max %v", lat[len(lat)/2], lat[len(lat)-1])
	select {
	case <-policies:
		t.Errorf("policies signalled by a Notify of keys")
	default:
	}

	// A lost notification: the counter moves without NOTIFY (as if the
	// listener had been disconnected at that moment).
	exec(t, u, `UPDATE notifications SET version = version + 1 WHERE channel = 'keys'`)
	start := time.Now()
	waitSignal(t, keys, pollInterval+pollTimeout, "keys: counter moved without NOTIFY")
	// Within pollInterval and one query; the wait above allows for a slow
	// machine.
	t.Logf("missed notification caught by the version check after %v (bound %v and one query)", time.Since(start), pollInterval)

	// A channel never notified before.
	start = time.Now()
	fresh, err := a.Subscribe(t.Context(), "fresh")
	if err != nil {
		t.Fatal(err)
	}
	waitSignal(t, fresh, 5*time.Second, "fresh: subscription in place")
	if err := b.Notify(t.Context(), "fresh"); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, fresh, time.Second, "fresh: first Notify")
	t.Logf("subscribe and notify a new channel: %v", time.Since(start))
}

// TestSubscribeEnds checks that subscription channels close with their
// context and with the Store.
func TestSubscribeEnds(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	s, err := Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	short, err := s.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	long, err := s.Subscribe(t.Context(), "c")
	if err != nil {
		t.Fatal(err)
	}
	waitSignal(t, long, 5*time.Second, "subscription in place")
	cancel()
	waitClosed(t, short, "after its context ended")
	if err := s.Notify(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, long, time.Second, "the other subscription after one ended")
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	waitClosed(t, long, "after Close")
	if _, err := s.Subscribe(t.Context(), "c"); err == nil {
		t.Errorf("Subscribe after Close = nil error, want one")
	}
	for _, ch := range []string{"", string(make([]byte, 64))} {
		if _, err := s.Subscribe(t.Context(), ch); err == nil {
			t.Errorf("Subscribe(%d bytes) = nil error, want one", len(ch))
		}
	}
}

// waitClosed fails the test unless c is closed soon (after any buffered
// signal).
func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-c:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s: subscription channel still open", what)
		}
	}
}

// TestResync checks that subscriptions are signalled periodically even
// when nothing is notified, for Notifies that never happened.
func TestResync(t *testing.T) {
	t.Parallel()
	s := open(t, newSchema(t))
	s.notify.resync = 300 * time.Millisecond // before the first Subscribe starts the loop
	c, err := s.Subscribe(t.Context(), "keys")
	if err != nil {
		t.Fatal(err)
	}
	waitSignal(t, c, 5*time.Second, "subscription in place")
	for i := range 2 {
		waitSignal(t, c, 5*time.Second, fmt.Sprintf("resync %d", i+1))
	}
}
