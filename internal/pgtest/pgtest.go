// Package pgtest gives tests a PostgreSQL schema of their own in the test
// database that scripts/postgres starts ($CUSTOS_TEST_POSTGRES_URL). It is
// for tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URLVar names the variable holding the test database's URL.
const URLVar = "CUSTOS_TEST_POSTGRES_URL"

// Schema creates a fresh schema in the test database, drops it when the
// test ends, and returns the database URL with that schema as search_path.
// Without the database it skips the test, or fails it when
// CUSTOS_REQUIRE_TOOLS=1 (as in CI).
func Schema(t testing.TB, prefix string) string {
	t.Helper()
	base := os.Getenv(URLVar)
	if base == "" {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatal(URLVar + ` is not set (eval "$(scripts/postgres start)" sets it)`)
		}
		t.Skip(URLVar + ` is not set; eval "$(scripts/postgres start)"`)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	exec := func(q string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("pgtest: connect to the test database: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("pgtest: %s: %v", q, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", URLVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
