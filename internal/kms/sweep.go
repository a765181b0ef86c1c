package kms

import (
	"context"
	"errors"
	"time"

	"github.com/custoskms/custos/internal/store"
)

// sweepBatch bounds the keys one sweep deletes or rotates per transaction.
const sweepBatch = 100

// Sweep does the work that falls due with time: it deletes keys whose
// deletion window has ended (their material, tags and aliases with them)
// and rotates the material of keys whose rotation date has come. It reads
// the clock given to New, so tests drive it by moving that clock. Safe to
// call concurrently; calls are serialized.
func (s *Service) Sweep(ctx context.Context) (deleted, rotated int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	for {
		var due []store.Key
		err := s.store.Update(ctx, func(tx store.Tx) error {
			var err error
			if due, err = tx.KeysPendingDeletion(now, sweepBatch); err != nil {
				return err
			}
			for _, k := range due {
				if err := tx.DeleteKey(k.ARN); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err := s.deleteKeyGrants(tx, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return deleted, rotated, err
		}
		for _, k := range due {
			s.keys.invalidateKey(keyRef{k.AccountID, k.Region, k.ID})
			s.log.Info("kms: key deleted at the end of its waiting period", "key", k.ARN)
			if s.onEvent != nil {
				s.onEvent("DeleteKey", k)
			}
		}
		if len(due) > 0 {
			s.keys.invalidateAliases()
		}
		deleted += len(due)
		if len(due) < sweepBatch {
			break
		}
	}
	for {
		var due []store.Key
		err := s.store.Update(ctx, func(tx store.Tx) error {
			var err error
			if due, err = tx.KeysDueForRotation(now, sweepBatch); err != nil {
				return err
			}
			for i := range due {
				k := &due[i]
				m, err := s.newMaterial(k.ARN, now.Truncate(time.Millisecond))
				if err != nil {
					return err
				}
				if err := tx.InsertMaterial(m); err != nil {
					return err
				}
				k.CurrentMaterialID = m.ID
				period := time.Duration(max(k.RotationPeriodDays, 1)) * 24 * time.Hour
				k.NextRotation = now.Add(period)
				if _, err := tx.UpdateKey(*k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return deleted, rotated, err
		}
		for _, k := range due {
			s.keys.invalidateKey(keyRef{k.AccountID, k.Region, k.ID})
			s.log.Info("kms: key material rotated", "key", k.ARN)
			if s.onEvent != nil {
				s.onEvent("RotateKey", k)
			}
		}
		rotated += len(due)
		if len(due) < sweepBatch {
			break
		}
	}
	return deleted, rotated, nil
}

// RunSweeper calls Sweep every interval until ctx ends; with a Lease, only
// on the node that holds it.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		held := true
		if s.lease != nil {
			var err error
			if held, err = s.lease(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("kms: sweep lease", "err", err)
			}
		}
		if held {
			if _, _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("kms: sweep failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
