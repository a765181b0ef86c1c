package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/store"
)

// seed stores one key with a material, a tag and an alias, plus an account
// and a credential, and returns the key as stored.
func seed(t *testing.T, s store.Store) store.Key {
	t.Helper()
	k := newKey(acct1, reg1, "seed")
	update(t, s, func(tx store.Tx) error {
		if err := tx.InsertKey(k); err != nil {
			return err
		}
		if err := tx.InsertMaterial(store.Material{KeyARN: k.ARN, ID: materialID('a'), Wrapped: []byte{1}, CreatedAt: at(0), State: "CURRENT"}); err != nil {
			return err
		}
		if err := tx.PutTags(k.ARN, tagsOf("t", "v")); err != nil {
			return err
		}
		if err := tx.InsertAlias(store.Alias{AccountID: acct1, Region: reg1, Name: "alias/seed", TargetKeyID: k.ID, CreatedAt: at(0), UpdatedAt: at(0)}); err != nil {
			return err
		}
		if err := tx.InsertAccount(store.Account{ID: acct1, CreatedAt: at(0)}); err != nil {
			return err
		}
		return tx.InsertCredential(store.Credential{AccessKeyID: "AKIASEED", AccountID: acct1, PrincipalARN: "p", WrappedSecret: []byte{2}, Status: "Active", CreatedAt: at(0)})
	})
	return stored(k)[0]
}

// snapshot is everything seed and the tests below may touch.
type snapshot struct {
	Keys        []store.Key
	Materials   []store.Material
	Tags        []store.Tag
	Aliases     []store.Alias
	Account     store.Account
	AccountErr  bool
	Credentials []store.Credential
}

func takeSnapshot(t *testing.T, s store.Store) snapshot {
	t.Helper()
	var snap snapshot
	arn := keyARN(acct1, reg1, "seed")
	view(t, s, func(tx store.Tx) error {
		var err error
		if snap.Keys, err = tx.ListKeys(acct1, reg1, "", 0); err != nil {
			return err
		}
		if snap.Materials, err = tx.Materials(arn); err != nil {
			return err
		}
		if snap.Tags, err = tx.Tags(arn); err != nil {
			return err
		}
		if snap.Aliases, err = tx.ListAliases(acct1, reg1, "", "", 0); err != nil {
			return err
		}
		snap.Account, err = tx.GetAccount(acct2)
		snap.AccountErr = err != nil
		snap.Credentials, err = tx.ListCredentials(acct1)
		return err
	})
	return snap
}

// writes returns every write method of Tx, each as one call that would
// change what seed stored.
func writes(seeded store.Key) []struct {
	name string
	fn   func(tx store.Tx) error
} {
	changed := seeded
	changed.Description = "changed"
	return []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"InsertKey", func(tx store.Tx) error { return tx.InsertKey(newKey(acct1, reg1, "new")) }},
		{"UpdateKey", func(tx store.Tx) error { _, err := tx.UpdateKey(changed); return err }},
		{"InsertMaterial", func(tx store.Tx) error {
			return tx.InsertMaterial(store.Material{KeyARN: seeded.ARN, ID: materialID('b'), Wrapped: []byte{3}, State: "CURRENT"})
		}},
		{"UpdateMaterial", func(tx store.Tx) error {
			return tx.UpdateMaterial(store.Material{KeyARN: seeded.ARN, ID: materialID('a'), Wrapped: []byte{4}, State: "NON_CURRENT"})
		}},
		{"PutTags", func(tx store.Tx) error { return tx.PutTags(seeded.ARN, tagsOf("t", "changed")) }},
		{"DeleteTags", func(tx store.Tx) error { return tx.DeleteTags(seeded.ARN, []string{"t"}) }},
		{"InsertAlias", func(tx store.Tx) error {
			return tx.InsertAlias(store.Alias{AccountID: acct1, Region: reg1, Name: "alias/new", TargetKeyID: seeded.ID})
		}},
		{"UpdateAlias", func(tx store.Tx) error {
			return tx.UpdateAlias(store.Alias{AccountID: acct1, Region: reg1, Name: "alias/seed", TargetKeyID: "other"})
		}},
		{"DeleteAlias", func(tx store.Tx) error { return tx.DeleteAlias(acct1, reg1, "alias/seed") }},
		{"InsertAccount", func(tx store.Tx) error { return tx.InsertAccount(store.Account{ID: acct2}) }},
		{"InsertCredential", func(tx store.Tx) error {
			return tx.InsertCredential(store.Credential{AccessKeyID: "AKIANEW", AccountID: acct1, Status: "Active"})
		}},
		{"UpdateCredential", func(tx store.Tx) error {
			return tx.UpdateCredential(store.Credential{AccessKeyID: "AKIASEED", AccountID: acct1, Status: "Inactive"})
		}},
		{"DeleteCredential", func(tx store.Tx) error { return tx.DeleteCredential("AKIASEED") }},
		{"DeleteKey", func(tx store.Tx) error { return tx.DeleteKey(seeded.ARN) }},
	}
}

func testUpdateRollback(t *testing.T, s store.Store) {
	seeded := seed(t, s)
	before := takeSnapshot(t, s)
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, w := range writes(seeded) {
			if err := w.fn(tx); err != nil {
				t.Errorf("%s in Update = %v", w.name, err)
			}
		}
		return errBoom
	})
	wantErr(t, "Update(failing fn)", err, errBoom)
	if d := cmp.Diff(before, takeSnapshot(t, s)); d != "" {
		t.Errorf("a failed Update wrote (-before +after):\n%s", d)
	}
}

func testUpdateRollbackOnPanic(t *testing.T, s store.Store) {
	seeded := seed(t, s)
	before := takeSnapshot(t, s)
	func() {
		defer func() {
			if r := recover(); r != errBoom {
				t.Errorf("Update(panicking fn) recovered %v, want the panic to propagate", r)
			}
		}()
		s.Update(t.Context(), func(tx store.Tx) error {
			for _, w := range writes(seeded) {
				if err := w.fn(tx); err != nil {
					t.Errorf("%s in Update = %v", w.name, err)
				}
			}
			panic(errBoom)
		})
	}()
	if d := cmp.Diff(before, takeSnapshot(t, s)); d != "" {
		t.Errorf("a panicking Update wrote (-before +after):\n%s", d)
	}
	// The store is still usable: nothing stayed locked.
	ctx := withTimeout(t, 10*time.Second)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertKey(newKey(acct1, reg1, "after")) }); err != nil {
		t.Errorf("Update after a panic = %v", err)
	}
}

func testViewReadOnly(t *testing.T, s store.Store) {
	seeded := seed(t, s)
	before := takeSnapshot(t, s)
	for _, w := range writes(seeded) {
		if err := s.View(t.Context(), w.fn); err == nil {
			t.Errorf("%s in View = nil, want an error", w.name)
		}
	}
	if d := cmp.Diff(before, takeSnapshot(t, s)); d != "" {
		t.Errorf("writes in View changed the store (-before +after):\n%s", d)
	}
}

func testViewError(t *testing.T, s store.Store) {
	err := s.View(t.Context(), func(tx store.Tx) error { return errBoom })
	wantErr(t, "View(failing fn)", err, errBoom)
}

// testTxUsableAfterError checks that the expected errors leave the
// transaction usable, so a caller may react to them and go on.
func testTxUsableAfterError(t *testing.T, s store.Store) {
	seeded := seed(t, s)
	absent := keyARN(acct1, reg1, "absent")
	update(t, s, func(tx store.Tx) error {
		checks := []struct {
			call string
			err  error
			want error
		}{
			{"InsertKey(existing)", tx.InsertKey(seeded), store.ErrExists},
			{"GetKey(absent)", second(tx.GetKey(absent)), store.ErrNotFound},
			{"UpdateKey(stale)", second(tx.UpdateKey(store.Key{ARN: seeded.ARN, Version: 7})), store.ErrConflict},
			{"UpdateKey(absent)", second(tx.UpdateKey(store.Key{ARN: absent, Version: 1})), store.ErrNotFound},
			{"DeleteKey(absent)", tx.DeleteKey(absent), store.ErrNotFound},
			{"InsertMaterial(existing)", tx.InsertMaterial(store.Material{KeyARN: seeded.ARN, ID: materialID('a'), Wrapped: []byte{1}}), store.ErrExists},
			{"InsertMaterial(absent key)", tx.InsertMaterial(store.Material{KeyARN: absent, ID: materialID('a'), Wrapped: []byte{1}}), store.ErrNotFound},
			{"UpdateMaterial(absent)", tx.UpdateMaterial(store.Material{KeyARN: seeded.ARN, ID: materialID('z')}), store.ErrNotFound},
			{"PutTags(absent key)", tx.PutTags(absent, tagsOf("a", "b")), store.ErrNotFound},
			{"GetAlias(absent)", second(tx.GetAlias(acct1, reg1, "alias/absent")), store.ErrNotFound},
			{"InsertAlias(existing)", tx.InsertAlias(store.Alias{AccountID: acct1, Region: reg1, Name: "alias/seed"}), store.ErrExists},
			{"UpdateAlias(absent)", tx.UpdateAlias(store.Alias{AccountID: acct1, Region: reg1, Name: "alias/absent"}), store.ErrNotFound},
			{"DeleteAlias(absent)", tx.DeleteAlias(acct1, reg1, "alias/absent"), store.ErrNotFound},
			{"GetAccount(absent)", second(tx.GetAccount(acct2)), store.ErrNotFound},
			{"InsertAccount(existing)", tx.InsertAccount(store.Account{ID: acct1}), store.ErrExists},
			{"GetCredential(absent)", second(tx.GetCredential("AKIAABSENT")), store.ErrNotFound},
			{"InsertCredential(existing)", tx.InsertCredential(store.Credential{AccessKeyID: "AKIASEED"}), store.ErrExists},
			{"UpdateCredential(absent)", tx.UpdateCredential(store.Credential{AccessKeyID: "AKIAABSENT"}), store.ErrNotFound},
			{"DeleteCredential(absent)", tx.DeleteCredential("AKIAABSENT"), store.ErrNotFound},
		}
		for _, c := range checks {
			if !errors.Is(c.err, c.want) {
				t.Errorf("%s = %v, want %v", c.call, c.err, c.want)
			}
		}
		// Each of the above failed alone; the transaction goes on.
		changed := seeded
		changed.Description = "after errors"
		if _, err := tx.UpdateKey(changed); err != nil {
			return err
		}
		return tx.PutTags(seeded.ARN, tagsOf("after", "errors"))
	})
	if got := getKey(t, s, seeded.ARN); got.Description != "after errors" || got.Version != 2 {
		t.Errorf("after the transaction: Description, Version = %q, %d, want %q, 2", got.Description, got.Version, "after errors")
	}
}

// second returns the error of a two-valued call.
func second[T any](_ T, err error) error { return err }

// testReadDuringWrite checks that a View neither waits for a running
// Update nor sees what it has not committed.
func testReadDuringWrite(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "rw")
	insertKeys(t, s, k)
	written, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(tx store.Tx) error {
			changed := stored(k)[0]
			changed.Description = "uncommitted"
			if _, err := tx.UpdateKey(changed); err != nil {
				close(written)
				return err
			}
			if err := tx.InsertKey(newKey(acct1, reg1, "rw-new")); err != nil {
				close(written)
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-done:
		t.Fatalf("Update = %v before its fn wrote", err)
	}

	ctx := withTimeout(t, 5*time.Second)
	err := s.View(ctx, func(tx store.Tx) error {
		got, err := tx.GetKey(k.ARN)
		if err != nil {
			return err
		}
		if got.Description != k.Description || got.Version != 1 {
			t.Errorf("View during Update: Description, Version = %q, %d, want %q, 1", got.Description, got.Version, k.Description)
		}
		if _, err := tx.GetKey(keyARN(acct1, reg1, "rw-new")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("View during Update: GetKey(uncommitted) = %v, want %v", err, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		t.Errorf("View during Update = %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Update = %v", err)
	}
	if got := getKey(t, s, k.ARN); got.Description != "uncommitted" || got.Version != 2 {
		t.Errorf("after commit: Description, Version = %q, %d, want %q, 2", got.Description, got.Version, "uncommitted")
	}
}

// testConcurrentUpdates runs read-modify-write Updates from several
// goroutines while readers check that every snapshot is consistent.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	const writers, increments, readers = 8, 20, 2
	k := newKey(acct1, reg1, "counter")
	insertKeys(t, s, k)

	ctx := withTimeout(t, 60*time.Second)
	stop := make(chan struct{})
	var wg, readWG sync.WaitGroup
	for range readers {
		readWG.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.View(ctx, func(tx store.Tx) error {
					got, err := tx.GetKey(k.ARN)
					if err == nil && int64(got.PendingWindowDays) != got.Version-1 {
						t.Errorf("View saw counter %d at Version %d, want Version-1", got.PendingWindowDays, got.Version)
					}
					return err
				})
				if err != nil {
					t.Errorf("concurrent View = %v", err)
					return
				}
			}
		})
	}
	for range writers {
		wg.Go(func() {
			for range increments {
				err := s.Update(ctx, func(tx store.Tx) error {
					got, err := tx.GetKey(k.ARN)
					if err != nil {
						return err
					}
					got.PendingWindowDays++
					_, err = tx.UpdateKey(got)
					return err
				})
				if err != nil {
					t.Errorf("concurrent Update = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readWG.Wait()
	got := getKey(t, s, k.ARN)
	if got.PendingWindowDays != writers*increments || got.Version != writers*increments+1 {
		t.Errorf("after %d concurrent increments: counter, Version = %d, %d, want %d, %d",
			writers*increments, got.PendingWindowDays, got.Version, writers*increments, writers*increments+1)
	}
}

func testContext(t *testing.T, s store.Store) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(canceled, func(tx store.Tx) error { return tx.InsertKey(newKey(acct1, reg1, "canceled")) })
	wantErr(t, "Update(canceled context)", err, context.Canceled)
	err = s.View(canceled, func(tx store.Tx) error { _, err := tx.GetKey(keyARN(acct1, reg1, "x")); return err })
	wantErr(t, "View(canceled context)", err, context.Canceled)

	ctx, cancel := context.WithCancel(t.Context())
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertKey(newKey(acct1, reg1, "canceled-during")); err != nil {
			return err
		}
		cancel()
		return nil
	})
	wantErr(t, "Update(context canceled during fn)", err, context.Canceled)

	view(t, s, func(tx store.Tx) error {
		if keys, err := tx.ListKeys(acct1, reg1, "", 0); err != nil || len(keys) != 0 {
			t.Errorf("after canceled Updates: ListKeys = %v, %v, want none", keys, err)
		}
		return nil
	})
}
