package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/store"
	"github.com/custoskms/custos/internal/store/storetest"
)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "custos.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

// migrationHashes pins the text of every released migration: persisted
// schemas never move. Append the hash of a new migration; never edit one.
var migrationHashes = []string{
	"fb6f9f94b02579395a2c7e745a5d70c5a2b817d6b8240a3ce2e578a8a0878737",
	"ea0d4b189f3bdc7ccdd4f409aea9c2f90e10e9f1867dc0016de6480b3f004368",
}

func TestMigrationsPinned(t *testing.T) {
	if len(migrations) < len(migrationHashes) {
		t.Fatalf("len(migrations) = %d, want at least %d: released migrations are never removed", len(migrations), len(migrationHashes))
	}
	for i, m := range migrations {
		sum := sha256.Sum256([]byte(m))
		got := hex.EncodeToString(sum[:])
		if i >= len(migrationHashes) {
			t.Errorf("migration %d is not pinned: add %q to migrationHashes", i+1, got)
			continue
		}
		if got != migrationHashes[i] {
			t.Errorf("SHA-256(migration %d) = %s, want %s: released migrations never change, append a new one", i+1, got, migrationHashes[i])
		}
	}
}

// schemaVersions returns the rows of schema_migrations.
func schemaVersions(t *testing.T, path string) []int {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatalf("sql.Open = %v", err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("query schema_migrations: %v", err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("scan: %v", err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return versions
}

func TestReopenPersists(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sub dir?#%", "custos.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 123_456_789, time.UTC)
	k := store.Key{ARN: "arn:aws:kms:us-east-1:111111111111:key/k", AccountID: "111111111111", Region: "us-east-1",
		ID: "k", CreatedAt: at, State: "Enabled", Policy: "{}", RotationEnabled: true, NextRotation: at.Add(time.Hour)}
	m := store.Material{KeyARN: k.ARN, ID: strings.Repeat("ab", 32), Wrapped: []byte{0, 1, 2, 255}, CreatedAt: at, State: "CURRENT"}
	a := store.Alias{AccountID: k.AccountID, Region: k.Region, Name: "alias/k", TargetKeyID: k.ID, CreatedAt: at, UpdatedAt: at}
	tags := []store.Tag{{Key: "env", Value: "prod"}}
	acct := store.Account{ID: k.AccountID, CreatedAt: at}
	cred := store.Credential{AccessKeyID: "AKIAK", AccountID: k.AccountID, PrincipalARN: "arn:aws:iam::111111111111:root",
		WrappedSecret: []byte{9, 8, 7}, Status: "Active", CreatedAt: at}
	err = s.Update(ctx, func(tx store.Tx) error {
		return errors.Join(tx.InsertKey(k), tx.InsertMaterial(m), tx.InsertAlias(a), tx.PutTags(k.ARN, tags),
			tx.InsertAccount(acct), tx.InsertCredential(cred))
	})
	if err != nil {
		t.Fatalf("Update = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}

	for reopen := range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: Open = %v", reopen, err)
		}
		err = s.View(ctx, func(tx store.Tx) error {
			gotK, err := tx.GetKey(k.ARN)
			if err != nil {
				return err
			}
			want := k
			want.Version = 1
			if d := cmp.Diff(want, gotK); d != "" {
				t.Errorf("reopen %d: GetKey mismatch (-want +got):\n%s", reopen, d)
			}
			gotM, err := tx.Materials(k.ARN)
			if err != nil {
				return err
			}
			if d := cmp.Diff([]store.Material{m}, gotM); d != "" {
				t.Errorf("reopen %d: Materials mismatch (-want +got):\n%s", reopen, d)
			}
			gotA, err := tx.GetAlias(a.AccountID, a.Region, a.Name)
			if err != nil {
				return err
			}
			if d := cmp.Diff(a, gotA); d != "" {
				t.Errorf("reopen %d: GetAlias mismatch (-want +got):\n%s", reopen, d)
			}
			gotT, err := tx.Tags(k.ARN)
			if err != nil {
				return err
			}
			if d := cmp.Diff(tags, gotT); d != "" {
				t.Errorf("reopen %d: Tags mismatch (-want +got):\n%s", reopen, d)
			}
			gotAcct, err := tx.GetAccount(acct.ID)
			if err != nil {
				return err
			}
			if d := cmp.Diff(acct, gotAcct); d != "" {
				t.Errorf("reopen %d: GetAccount mismatch (-want +got):\n%s", reopen, d)
			}
			gotC, err := tx.GetCredential(cred.AccessKeyID)
			if err != nil {
				return err
			}
			if d := cmp.Diff(cred, gotC); d != "" {
				t.Errorf("reopen %d: GetCredential mismatch (-want +got):\n%s", reopen, d)
			}
			return nil
		})
		if err != nil {
			t.Errorf("reopen %d: View = %v", reopen, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("reopen %d: Close = %v", reopen, err)
		}
		// Reopening applies nothing: one row per migration, ever.
		want := make([]int, len(migrations))
		for i := range want {
			want[i] = i + 1
		}
		if d := cmp.Diff(want, schemaVersions(t, path)); d != "" {
			t.Errorf("reopen %d: schema_migrations mismatch (-want +got):\n%s", reopen, d)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	_, err := s.writer.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, len(migrations)+5)
	if err != nil {
		t.Fatalf("insert future version: %v", err)
	}
	_, err = Open(t.Context(), path)
	var verr *store.SchemaVersionError
	if !errors.As(err, &verr) || verr.Have != len(migrations)+5 || verr.Max != len(migrations) {
		t.Fatalf("Open(newer schema) = %v, want a *store.SchemaVersionError{%d, %d}", err, len(migrations)+5, len(migrations))
	}
	want := fmt.Sprintf("store: database schema version %d is newer than this binary supports (%d)", len(migrations)+5, len(migrations))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Open(newer schema) = %q, want it to contain %q", err, want)
	}
}

func TestOpenSettings(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	if err := checkWriter(ctx, s.writer); err != nil {
		t.Errorf("writer settings: %v", err)
	}
	var queryOnly int
	if err := s.reader.QueryRowContext(ctx, "PRAGMA query_only").Scan(&queryOnly); err != nil || queryOnly != 1 {
		t.Errorf("reader PRAGMA query_only = %d, %v, want 1", queryOnly, err)
	}
	var mode string
	if err := s.reader.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("reader PRAGMA journal_mode = %q, %v, want wal", mode, err)
	}
}

func TestOpenBadPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "dir", "custos.db")
	if s, err := Open(t.Context(), path); err == nil {
		s.Close()
		t.Fatalf("Open(%q) = nil error, want one", path)
	} else if !strings.HasPrefix(err.Error(), "sqlite: ") {
		t.Errorf("Open(%q) = %q, want the sqlite: prefix", path, err)
	}
}

func TestTimeOutOfRange(t *testing.T) {
	s, _ := openTemp(t)
	tests := []struct {
		name string
		at   time.Time
	}{
		{"year 1 plus a nanosecond", time.Time{}.Add(1)},
		{"year 1000", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year 3000", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		k := store.Key{ARN: "arn:aws:kms:us-east-1:111111111111:key/" + tc.name, CreatedAt: tc.at}
		err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertKey(k) })
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%s: InsertKey(CreatedAt %v) = %v, want an out of range error", tc.name, tc.at, err)
		}
	}
}

func TestDSN(t *testing.T) {
	tests := []struct {
		path   string
		params []string
		want   string
	}{
		{"/data/custos.db", nil, "file:///data/custos.db"},
		{"/data/custos.db", []string{"_txlock", "immediate", "_busy_timeout", "5000"},
			"file:///data/custos.db?_busy_timeout=5000&_txlock=immediate"},
		{"/a b/c?d#e%f.db", []string{"_query_only", "1"}, "file:///a%20b/c%3Fd%23e%25f.db?_query_only=1"},
	}
	for _, tc := range tests {
		if got := dsn(tc.path, tc.params...); got != tc.want {
			t.Errorf("dsn(%q, %q) = %q, want %q", tc.path, tc.params, got, tc.want)
		}
	}
}

func benchKey() store.Key {
	return store.Key{ARN: "arn:aws:kms:us-east-1:111111111111:key/bench", AccountID: "111111111111",
		Region: "us-east-1", ID: "bench", CreatedAt: time.Now(), KeySpec: "SYMMETRIC_DEFAULT",
		KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", KeyManager: "CUSTOMER", State: "Enabled",
		Policy: `{"Version":"2012-10-17","Statement":[]}`, CurrentMaterialID: strings.Repeat("ab", 32)}
}

// BenchmarkUpdate measures one durable (fsynced) transaction holding one
// small UpdateKey.
func BenchmarkUpdate(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	k := benchKey()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertKey(k) }); err != nil {
		b.Fatal(err)
	}
	k.Version = 1
	for i := 0; b.Loop(); i++ {
		err := s.Update(ctx, func(tx store.Tx) error {
			k.Description = fmt.Sprint("update ", i)
			var err error
			k, err = tx.UpdateKey(k)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetKey measures one read-only transaction holding one GetKey.
func BenchmarkGetKey(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	k := benchKey()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertKey(k) }); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.GetKey(k.ARN)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetKeyParallel is BenchmarkGetKey from GOMAXPROCS goroutines.
func BenchmarkGetKeyParallel(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	k := benchKey()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertKey(k) }); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := s.View(ctx, func(tx store.Tx) error {
				_, err := tx.GetKey(k.ARN)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
