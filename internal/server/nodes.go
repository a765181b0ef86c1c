package server

import (
	"context"
	"time"

	"github.com/custoskms/custos/internal/store"
)

// changesChannel is the notification channel on which nodes sharing one
// database tell each other that keys, policies, grants or identities
// changed.
const changesChannel = "custos_changes"

// sweepLease names the lease of the node that runs deletion and rotation.
const sweepLease = "custos_sweeper"

// notifyingStore tells every node, after each committed change, to forget
// what it caches. Coarse but correct: changes are rare next to the reads
// the caches serve.
type notifyingStore struct {
	store.Store
	n   store.Notifier
	srv *Server
}

func (s notifyingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	if err == nil {
		if nerr := s.n.Notify(context.WithoutCancel(ctx), changesChannel); nerr != nil {
			// The change is committed; other nodes learn of it at their
			// periodic resync instead.
			s.srv.log.Warn("server: notify other nodes", "err", nerr)
		}
	}
	return err
}

// shared reports whether st is shared with other nodes (it can tell them
// of changes) and returns the store the services should write through.
// A node alone on its store runs the background jobs from the start, and
// its metrics say so.
func (s *Server) shared(st store.Store) store.Store {
	n, ok := st.(store.Notifier)
	if !ok || s.cfg.StoreURL == "" {
		s.metrics.sweepHeld.Store(true)
		return st
	}
	s.notifier = n
	if _, ok := st.(store.Leaser); !ok {
		s.metrics.sweepHeld.Store(true)
	}
	return notifyingStore{Store: st, n: n, srv: s}
}

// followChanges forgets every cache when another node (or this one)
// announces a change, until ctx ends.
func (s *Server) followChanges(ctx context.Context) {
	if s.notifier == nil {
		return
	}
	ch, err := s.notifier.Subscribe(ctx, changesChannel)
	if err != nil {
		s.log.Error("server: subscribe to changes of other nodes", "err", err)
		return
	}
	for range ch {
		s.kms.Invalidate()
		s.iam.Invalidate()
		s.org.Invalidate()
	}
}

// leaseSweep reports whether this node runs the background jobs: always on
// the embedded store, and on a shared store the holder of the lease (false
// with the error when the database cannot be asked). RunSweeper calls it
// once per round; each call records its outcome in the metrics
// custos_sweep_lease_held and custos_sweep_rounds_total.
func (s *Server) leaseSweep(ctx context.Context) (bool, error) {
	l, ok := s.store.(store.Leaser)
	if !ok || s.notifier == nil {
		s.metrics.sweepRound(true)
		return true, nil
	}
	held, err := l.TryLease(ctx, sweepLease, 3*max(s.cfg.SweepInterval, time.Second))
	s.metrics.sweepRound(held && err == nil)
	return held, err
}
