// Package storetest is the conformance suite of store.Store: every
// implementation runs it unchanged, so that they all keep one contract.
//
// An implementation's test calls
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
//
// Strings in the suite include upper and lower case and non-ASCII letters
// to pin byte-wise ordering (in PostgreSQL: COLLATE "C"); times are whole
// milliseconds except where sub-millisecond precision is the subject.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/store"
)

// Run runs the suite, one subtest per contract. open must return a new,
// empty Store each time it is called and arrange for it to be closed when t
// ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"KeyRoundTrip", testKeyRoundTrip},
		{"KeyZeroTimes", testKeyZeroTimes},
		{"TimePrecision", testTimePrecision},
		{"InsertKeyExists", testInsertKeyExists},
		{"GetKeyNotFound", testGetKeyNotFound},
		{"UpdateKey", testUpdateKey},
		{"UpdateKeyConflict", testUpdateKeyConflict},
		{"UpdateKeyNotFound", testUpdateKeyNotFound},
		{"DeleteKeyCascade", testDeleteKeyCascade},
		{"DeleteKeyNotFound", testDeleteKeyNotFound},
		{"ReinsertAfterDelete", testReinsertAfterDelete},
		{"SameIDTwoRegions", testSameIDTwoRegions},
		{"ListKeys", testListKeys},
		{"KeysPendingDeletion", testKeysPendingDeletion},
		{"KeysDueForRotation", testKeysDueForRotation},
		{"Documents", testDocuments},
		{"Materials", testMaterials},
		{"Aliases", testAliases},
		{"ListAliases", testListAliases},
		{"Tags", testTags},
		{"Accounts", testAccounts},
		{"Credentials", testCredentials},
		{"UpdateRollback", testUpdateRollback},
		{"UpdateRollbackOnPanic", testUpdateRollbackOnPanic},
		{"ViewReadOnly", testViewReadOnly},
		{"ViewError", testViewError},
		{"TxUsableAfterError", testTxUsableAfterError},
		{"ReadDuringWrite", testReadDuringWrite},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Context", testContext},
		{"EventIndex", testEventIndex},
		{"EventIndexText", testEventIndexText},
		{"EventIndexPages", testEventIndexPages},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// errBoom is what test transactions fail with.
var errBoom = errors.New("storetest: boom")

// Account ids and Regions used throughout.
const (
	acct1 = "111111111111"
	acct2 = "222222222222"
	reg1  = "us-east-1"
	reg2  = "eu-west-1"
)

// at returns a fixed instant, in whole milliseconds, plus d.
func at(d time.Duration) time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC).Add(d)
}

const day = 24 * time.Hour

func keyARN(account, region, id string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + id
}

// newKey returns an enabled symmetric key with every field set that a new
// key has.
func newKey(account, region, id string) store.Key {
	return store.Key{
		ARN:                keyARN(account, region, id),
		AccountID:          account,
		Region:             region,
		ID:                 id,
		CreatedAt:          at(0),
		Description:        "key " + id,
		KeySpec:            "SYMMETRIC_DEFAULT",
		KeyUsage:           "ENCRYPT_DECRYPT",
		Origin:             "AWS_KMS",
		KeyManager:         "CUSTOMER",
		State:              "Enabled",
		Policy:             `{"Version":"2012-10-17","Statement":[]}`,
		CurrentMaterialID:  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		RotationPeriodDays: 365,
	}
}

// update runs fn in s.Update and fails the test on error.
func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in s.View and fails the test on error.
func view(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// insertKeys inserts keys in one transaction.
func insertKeys(t *testing.T, s store.Store, keys ...store.Key) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.InsertKey(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// getKey returns the stored key, failing the test if it cannot.
func getKey(t *testing.T, s store.Store, arn string) store.Key {
	t.Helper()
	var k store.Key
	view(t, s, func(tx store.Tx) error {
		var err error
		k, err = tx.GetKey(arn)
		return err
	})
	return k
}

// wantErr fails the test unless err is target (errors.Is).
func wantErr(t *testing.T, call string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s = %v, want %v", call, err, target)
	}
}

// checkUTC fails the test for each non-zero time not in UTC.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time #%d location = %v, want UTC", what, i, tm.Location())
		}
	}
}

// stored returns keys as the store returns them after insertion.
func stored(keys ...store.Key) []store.Key {
	out := make([]store.Key, len(keys))
	for i, k := range keys {
		k.Version = 1
		out[i] = k
	}
	return out
}

// diff is cmp.Diff treating nil and empty slices alike, as "none".
func diff[T any](want, got []T) string {
	if len(want) == 0 && len(got) == 0 {
		return ""
	}
	return cmp.Diff(want, got)
}

// withTimeout returns a context that ends after d, so that a store that
// wrongly blocks fails the test instead of hanging it.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// tagsOf returns the tags of key, value pairs.
func tagsOf(kv ...string) []store.Tag {
	var tags []store.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, store.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return tags
}
