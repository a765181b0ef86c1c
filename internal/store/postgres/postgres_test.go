package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
	"github.com/custoskms/custos/internal/store/storetest"
)

// The tests run against the database at $CUSTOS_TEST_POSTGRES_URL
// (scripts/postgres start prints it), each in a schema of its own.
const envURL = "CUSTOS_TEST_POSTGRES_URL"

// baseURL returns the test database's URL, skipping the test without one
// unless CUSTOS_REQUIRE_TOOLS=1 (CI), where a missing database fails it.
func baseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is not set (CUSTOS_REQUIRE_TOOLS=1): start a database with scripts/postgres start", envURL)
		}
		t.Skipf("%s is not set: run eval \"$(scripts/postgres start)\" to test on PostgreSQL", envURL)
	}
	return u
}

// withParam returns rawURL with the query parameter key set to value.
func withParam(t testing.TB, rawURL, key, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %s: %v", envURL, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs statements on the test database outside any Store.
func exec(t testing.TB, rawURL string, sqls ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	for _, q := range sqls {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// schemaPrefix starts the name of every schema this test process creates;
// TestMain drops them all at the end, in one statement, which is faster than
// one by one.
var schemaPrefix = fmt.Sprintf("custos_test_%d_", os.Getpid())

func TestMain(m *testing.M) {
	code := m.Run()
	if u := os.Getenv(envURL); u != "" {
		if err := dropSchemas(u); err != nil {
			fmt.Fprintf(os.Stderr, "drop the test schemas: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// dropSchemas drops every schema whose name starts with schemaPrefix.
func dropSchemas(rawURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(nspname) FROM pg_namespace WHERE starts_with(nspname, $1)`, schemaPrefix)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) == 0 {
		return err
	}
	_, err = conn.Exec(ctx, `DROP SCHEMA `+strings.Join(names, ", ")+` CASCADE`)
	return err
}

// newSchema creates an empty schema (dropped by TestMain) and returns the
// URL of the test database with that schema as search_path.
func newSchema(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	var b [8]byte
	rand.Read(b[:])
	name := schemaPrefix + hex.EncodeToString(b[:])
	exec(t, base, `CREATE SCHEMA `+name)
	return withParam(t, base, "search_path", name)
}

// open opens a Store on rawURL, closed when t ends.
func open(t testing.TB, rawURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, newSchema(t))
	})
}

// migrationHashes pins the text of every released migration: persisted
// schemas never move. Append the hash of a new migration; never edit one.
var migrationHashes = []string{
	"57513d1c3f3c388728fd9571a1cd780744e223c8fc05565d9d1c0bc9a3f62859",
	"efc5f0d0f0c16bab5c459a602c22ee693610fe12e67418682044c91107194984",
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
func schemaVersions(t *testing.T, rawURL string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("query schema_migrations: %v", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return versions
}

// TestConcurrentOpen starts several nodes at once on an empty schema: all
// open, and the migrations are applied once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	const nodes = 4
	var wg sync.WaitGroup
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), u) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("concurrent Open #%d = %v", i, errs[i])
			continue
		}
		defer s.Close()
	}
	var want []int
	for v := range migrations {
		want = append(want, v+1)
	}
	if d := cmp.Diff(want, schemaVersions(t, u)); d != "" {
		t.Errorf("schema_migrations after %d concurrent Opens mismatch (-want +got):\n%s", nodes, d)
	}
	// What one node writes, another reads.
	k := store.Key{ARN: "arn:aws:kms:us-east-1:111111111111:key/shared", AccountID: "111111111111", Region: "us-east-1", ID: "shared"}
	if errs[0] != nil || errs[1] != nil {
		return
	}
	if err := stores[0].Update(t.Context(), func(tx store.Tx) error { return tx.InsertKey(k) }); err != nil {
		t.Fatalf("Update on node 0 = %v", err)
	}
	err := stores[1].View(t.Context(), func(tx store.Tx) error { _, err := tx.GetKey(k.ARN); return err })
	if err != nil {
		t.Errorf("GetKey on node 1 of a key inserted by node 0 = %v", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	open(t, u) // migrates
	exec(t, u, `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`)
	_, err := Open(t.Context(), u)
	var sv *store.SchemaVersionError
	if !errors.As(err, &sv) || sv.Have != 999 || sv.Max != len(migrations) {
		t.Fatalf("Open(newer schema) = %v, want *store.SchemaVersionError{999, %d}", err, len(migrations))
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1 of the loopback address.
	_, err := Open(ctx, "postgres://custos:s3cret-password@127.0.0.1:1/custos?sslmode=disable")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open(nothing listening) = %v, want %v", err, store.ErrUnavailable)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret-password") {
		t.Errorf("Open error reveals the password: %v", err)
	}
	if _, err := Open(ctx, "postgres://%zz"); err == nil || !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Errorf("Open(bad URL) = %v, want a postgres: error", err)
	}
}

// TestUpdateRetriesHiddenConflict checks that a transaction PostgreSQL
// aborted is run again even when fn hides the error it got.
func TestUpdateRetriesHiddenConflict(t *testing.T) {
	t.Parallel()
	s := open(t, newSchema(t))
	k := store.Key{ARN: "arn:aws:kms:us-east-1:111111111111:key/k", AccountID: "111111111111", Region: "us-east-1", ID: "k"}
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertKey(k) }); err != nil {
		t.Fatal(err)
	}
	read, written := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(tx store.Tx) error {
			n := runs.Add(1)
			got, err := tx.GetKey(k.ARN)
			if err != nil {
				return err
			}
			if n == 1 {
				close(read)
				<-written
			}
			got.Description = "slow writer"
			if _, err := tx.UpdateKey(got); err != nil {
				return errors.New("opaque failure") // hides PostgreSQL's error
			}
			return nil
		})
	}()
	<-read
	err := s.Update(t.Context(), func(tx store.Tx) error {
		got, err := tx.GetKey(k.ARN)
		if err != nil {
			return err
		}
		got.Description = "fast writer"
		_, err = tx.UpdateKey(got)
		return err
	})
	close(written)
	if err != nil {
		t.Fatalf("fast Update = %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("slow Update = %v, want nil after a retry", err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("slow Update ran fn %d times, want 2", n)
	}
	var got store.Key
	s.View(t.Context(), func(tx store.Tx) error { got, _ = tx.GetKey(k.ARN); return nil })
	if got.Description != "slow writer" || got.Version != 3 {
		t.Errorf("after both Updates: Description, Version = %q, %d, want %q, 3", got.Description, got.Version, "slow writer")
	}
}

func TestErrorsNamePackage(t *testing.T) {
	t.Parallel()
	s := open(t, newSchema(t))
	err := s.View(t.Context(), func(tx store.Tx) error { _, err := tx.GetKey("absent"); return err })
	if !errors.Is(err, store.ErrNotFound) || !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Errorf("GetKey(absent) = %v, want a postgres: error wrapping %v", err, store.ErrNotFound)
	}
	err = s.View(t.Context(), func(tx store.Tx) error { return tx.InsertAccount(store.Account{ID: "1"}) })
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Errorf("InsertAccount in View = %v, want a postgres: error", err)
	}
}
