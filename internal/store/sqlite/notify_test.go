package sqlite

import (
	"context"
	"testing"
	"time"
)

func TestNotify(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	keys, err := s.Subscribe(ctx, "keys")
	if err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	other, err := s.Subscribe(t.Context(), "other")
	if err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	for name, c := range map[string]<-chan struct{}{"keys": keys, "other": other} {
		if !signalled(c) {
			t.Errorf("%s: no signal once subscribed", name)
		}
	}
	for range 3 { // coalesced into one
		if err := s.Notify(t.Context(), "keys"); err != nil {
			t.Fatalf("Notify = %v", err)
		}
	}
	if !signalled(keys) {
		t.Errorf("keys: no signal after Notify")
	}
	if signalled(keys) {
		t.Errorf("keys: a second signal for coalesced Notifies")
	}
	if signalled(other) {
		t.Errorf("other: signalled by a Notify of keys")
	}
	cancel()
	if !closedSoon(keys) {
		t.Errorf("keys: channel still open after its context ended")
	}
	if err := s.Notify(t.Context(), ""); err == nil {
		t.Errorf("Notify(\"\") = nil, want an error")
	}
	if held, err := s.TryLease(t.Context(), "sweeper", time.Minute); !held || err != nil {
		t.Errorf("TryLease = %v, %v, want true, nil", held, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if !closedSoon(other) {
		t.Errorf("other: channel still open after Close")
	}
	if _, err := s.Subscribe(t.Context(), "keys"); err == nil {
		t.Errorf("Subscribe after Close = nil error, want one")
	}
}

// signalled reports whether c holds a signal.
func signalled(c <-chan struct{}) bool {
	select {
	case _, ok := <-c:
		return ok
	default:
		return false
	}
}

func closedSoon(c <-chan struct{}) bool {
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-c:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
