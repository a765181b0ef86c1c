package sqlite

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/custoskms/custos/internal/store"
)

// A SQLite database has one node: change notification is an in-process
// fan-out, and every lease is held.

var (
	_ store.Notifier = (*Store)(nil)
	_ store.Leaser   = (*Store)(nil)
)

// Notify signals the subscribers of channel; see store.Notifier. It never
// fails for a valid channel name.
func (s *Store) Notify(ctx context.Context, channel string) error {
	if err := checkChannel(channel); err != nil {
		return err
	}
	s.hub.notify(channel)
	return nil
}

// Subscribe returns a channel signalled at once (the subscription is in
// place) and after each Notify of channel on this Store; see
// store.Notifier. It is closed when ctx ends or the Store is closed.
func (s *Store) Subscribe(ctx context.Context, channel string) (<-chan struct{}, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: subscribe %s: %w", channel, err)
	}
	return s.hub.subscribe(ctx, channel)
}

// TryLease reports that this Store holds every lease: it is the only node.
func (s *Store) TryLease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("sqlite: lease %s: ttl %v is not positive", name, ttl)
	}
	return true, nil
}

// maxChannel is the longest channel name, as in PostgreSQL.
const maxChannel = 63

func checkChannel(channel string) error {
	if channel == "" || len(channel) > maxChannel {
		return fmt.Errorf("sqlite: channel name %q: want 1 to %d bytes", channel, maxChannel)
	}
	return nil
}

// hub fans notifications out to subscriptions. Its zero value is ready to
// use; it is safe for concurrent use.
type hub struct {
	mu     sync.Mutex
	subs   map[string]map[*subscription]struct{}
	closed bool
}

type subscription struct {
	c    chan struct{} // buffer of one
	stop func() bool   // unregisters the context.AfterFunc
}

func (h *hub) subscribe(ctx context.Context, channel string) (<-chan struct{}, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("sqlite: subscribe %s: store closed", channel)
	}
	if h.subs == nil {
		h.subs = make(map[string]map[*subscription]struct{})
	}
	if h.subs[channel] == nil {
		h.subs[channel] = make(map[*subscription]struct{})
	}
	sub := &subscription{c: make(chan struct{}, 1)}
	sub.c <- struct{}{}
	h.subs[channel][sub] = struct{}{}
	sub.stop = context.AfterFunc(ctx, func() { h.unsubscribe(channel, sub) })
	return sub.c, nil
}

func (h *hub) unsubscribe(channel string, sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.subs[channel]
	if _, ok := subs[sub]; !ok {
		return // closed
	}
	delete(subs, sub)
	close(sub.c)
	if len(subs) == 0 {
		delete(h.subs, channel)
	}
}

func (h *hub) notify(channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs[channel] {
		select {
		case sub.c <- struct{}{}:
		default: // already signalled, not yet read
		}
	}
}

// close closes every subscription's channel; later subscriptions fail.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, subs := range h.subs {
		for sub := range subs {
			sub.stop()
			close(sub.c)
		}
	}
	h.subs = nil
}
