// Package postgres implements store.Store on PostgreSQL (15 or newer),
// through github.com/jackc/pgx/v5, so that several Custos nodes can share
// one database.
//
// # Connection
//
// Open takes a PostgreSQL URL (postgres://user:password@host:port/db?...);
// pgx and pgxpool parameters go in its query (sslmode, pool_max_conns,
// connect_timeout, ...). The tables live in the first schema of the
// connection's search_path; "?search_path=custos" puts them in the schema
// custos, which must exist.
//
// # Transactions
//
// Update runs fn in a SERIALIZABLE transaction, as SQLite serializes its
// writers: concurrent Updates behave as if run one after the other. When
// PostgreSQL aborts one (serialization failure or deadlock, detected
// anywhere before the commit completes), Update rolls it back and runs fn
// again after a short random backoff, up to maxAttempts times. View runs fn
// in a REPEATABLE READ READ ONLY transaction: one snapshot of committed
// data, which never waits for writers and is never aborted by them.
//
// Tx methods never abort the transaction on store.ErrNotFound, ErrExists or
// ErrConflict: inserts use ON CONFLICT DO NOTHING and report the rows they
// affected, and foreign keys are checked by the statement itself.
//
// # Errors
//
// Errors start with "postgres: ". Those caused by the database being
// unreachable wrap store.ErrUnavailable; those of a context that ended wrap
// the context's error. pgxpool reconnects by itself: once the database is
// back, the next call works.
//
// # Encodings
//
// Text columns are COLLATE "C", so they compare and sort byte-wise; times are
// bigint Unix nanoseconds, NULL for the zero time; booleans are boolean;
// wrapped material, secrets and document bodies are bytea. Text must be
// valid UTF-8 without NUL bytes (PostgreSQL refuses others).
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custoskms/custos/internal/store"
)

const (
	// maxAttempts bounds how many times Update runs fn when PostgreSQL
	// keeps aborting it for serialization failures.
	maxAttempts = 50
	// maxBackoff caps the random wait between two attempts.
	maxBackoff = 50 * time.Millisecond
	// cleanupTimeout bounds a rollback or a lease release that runs after
	// the caller's context has ended.
	cleanupTimeout = 5 * time.Second
)

// Store is a store.Store on one PostgreSQL database. It also implements
// store.Notifier and store.Leaser. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	holder string      // this Store's name in the leases table
	leased atomic.Bool // TryLease succeeded once: Close releases leases
	notify *notifier

	flaters sync.Pool // *flate.Writer for audit chunks (see chunk.go)
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
	_ store.Leaser   = (*Store)(nil)
)

// Open connects to the database at url, brings its schema to the newest
// version (see migrate; concurrent Opens by several nodes are safe) and
// returns a Store. It returns an error wrapping *store.SchemaVersionError if
// the database was migrated by a newer binary, and one wrapping
// store.ErrUnavailable if the database cannot be reached. Errors never
// contain the URL's password. The caller must Close the Store.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "custos"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", classify(ctx, err))
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	holder, err := holderName()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool, holder: holder}
	s.notify = newNotifier(pool, cfg.ConnConfig, pollInterval)
	return s, nil
}

// holderName returns a name for this Store that no other has: host, process
// and 64 random bits, so that an operator can tell which node holds a lease.
func holderName() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])), nil
}

// View runs fn in a read-only transaction on one snapshot of the database.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	_, err := s.run(ctx, true, fn)
	return err
}

// Update runs fn in a serializable transaction and commits it; see
// store.Store and the package documentation. fn may run several times.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		retry, err := s.run(ctx, false, fn)
		if !retry {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("postgres: update: still failing after %d attempts: %w", attempt, err)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return fmt.Errorf("postgres: update: %w", err)
		}
	}
}

// backoff returns a random wait before attempt+1, growing with attempt up
// to maxBackoff, so that transactions that keep colliding spread out.
func backoff(attempt int) time.Duration {
	limit := time.Duration(attempt) * time.Millisecond
	if limit > maxBackoff {
		limit = maxBackoff
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(limit)))
	if err != nil {
		return limit
	}
	return time.Duration(n.Int64())
}

// sleep waits for d or until ctx ends, and returns ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run runs fn once in a transaction, commits it unless readOnly, and
// reports whether the transaction should be run again: PostgreSQL aborted
// it for a serialization failure or deadlock.
func (s *Store) run(ctx context.Context, readOnly bool, fn func(store.Tx) error) (retry bool, err error) {
	opts := pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadWrite}
	if readOnly {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	ptx, err := s.pool.BeginTx(ctx, opts)
	// A pooled connection that died since its last use (the server
	// restarted) fails here having done nothing, and the pool drops it:
	// try again until one works or a new connection cannot be made, which
	// takes at most one try per pooled connection.
	for range s.pool.Config().MaxConns {
		if err == nil || ctx.Err() != nil || !staleConn(err) {
			break
		}
		ptx, err = s.pool.BeginTx(ctx, opts)
	}
	if err != nil {
		return false, fmt.Errorf("postgres: begin: %w", classify(ctx, err))
	}
	done := false
	// Rolls back if fn fails or panics. The rollback must reach the
	// server even when ctx has ended, or the connection would be dropped.
	defer func() {
		if done {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		ptx.Rollback(rctx)
	}()
	t := &tx{ctx: ctx, tx: ptx, readOnly: readOnly}
	ferr := fn(t)
	if t.abort != nil {
		// PostgreSQL aborted the transaction under fn, whatever fn made of
		// the error: nothing is written, fn runs again.
		return true, t.abort
	}
	if ferr != nil {
		return false, ferr
	}
	// A context that ended before the commit means no commit, even if the
	// statements of fn did not notice.
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("postgres: commit: %w", err)
	}
	err = ptx.Commit(ctx)
	done = true
	if err != nil {
		err = classify(ctx, err)
		return isRetryable(err), fmt.Errorf("postgres: commit: %w", err)
	}
	return false, nil
}

// Close stops the change notifications, releases the leases this Store
// holds so that other nodes take them over at once, and closes the
// connections. Transactions must not be running.
func (s *Store) Close() error {
	s.notify.close()
	var err error
	if s.leased.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		_, err = s.pool.Exec(ctx, qReleaseLeases, s.holder)
		err = classify(ctx, err)
		cancel()
	}
	s.pool.Close()
	if err != nil && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("postgres: close: release leases: %w", err)
	}
	return nil
}
