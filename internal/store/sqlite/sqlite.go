// Package sqlite implements store.Store on a single SQLite database file,
// through the pure-Go driver modernc.org/sqlite.
//
// The database runs in WAL mode with synchronous=FULL, so a committed Update
// survives a crash of the process or of the machine. All writes go through
// one connection, in BEGIN IMMEDIATE transactions, so Updates of one Store
// are serialized; other processes opening the same file wait up to the busy
// timeout for the write lock. Reads use a small pool of separate query-only
// connections and, thanks to WAL, never wait for a writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/custoskms/custos/internal/store"
)

const (
	busyTimeoutMillis = 5000
	readConns         = 4
)

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	writer      *sql.DB // exactly one connection
	reader      *sql.DB // query-only connections
	writerStmts prepared
	readerStmts prepared
	hub         hub // change notification (notify.go)
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it if needed, brings its
// schema to the newest version and returns a Store. It returns an error
// wrapping *store.SchemaVersionError if the database was migrated by a newer
// binary. The caller must Close the Store.
func Open(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer, err := sql.Open("sqlite", dsn(abs,
		"_busy_timeout", fmt.Sprint(busyTimeoutMillis),
		"_journal_mode", "WAL",
		"_synchronous", "FULL",
		"_foreign_keys", "1",
		"_txlock", "immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	if err := checkWriter(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	// Readers are opened only now: the file exists and is in WAL mode.
	reader, err := sql.Open("sqlite", dsn(abs,
		"_busy_timeout", fmt.Sprint(busyTimeoutMillis),
		"_query_only", "1"))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(readConns)
	reader.SetMaxIdleConns(readConns)
	s := &Store{writer: writer, reader: reader}
	if s.writerStmts, err = prepare(ctx, writer); err == nil {
		s.readerStmts, err = prepare(ctx, reader)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// dsn returns the driver's name for the database file at the absolute path
// abs with the given query parameters (name, value pairs). The "file:" URI
// form lets abs contain any character, '?' included.
func dsn(abs string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows volume: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// checkWriter verifies that the connection settings the durability promise
// rests on are in effect.
func checkWriter(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	var sync, fk int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if mode != "wal" || sync != 2 || fk != 1 {
		return fmt.Errorf("unexpected settings journal_mode=%s synchronous=%d foreign_keys=%d", mode, sync, fk)
	}
	return nil
}

// View runs fn in a read-only transaction on one snapshot of the database.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	return run(ctx, s.reader, s.readerStmts, true, fn)
}

// Update runs fn in a write transaction and commits it; see store.Store.
// Updates are serialized: fn runs exactly once.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	return run(ctx, s.writer, s.writerStmts, false, fn)
}

func run(ctx context.Context, db *sql.DB, stmts prepared, readOnly bool, fn func(store.Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", ctxErr(ctx, err))
	}
	// Rolls back if fn fails or panics; a no-op after Commit.
	defer sqlTx.Rollback()
	if err := fn(&tx{ctx: ctx, tx: sqlTx, stmts: stmts, readOnly: readOnly}); err != nil {
		return err
	}
	// Commit fails if ctx has ended, even if fn did not notice.
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", ctxErr(ctx, err))
	}
	return nil
}

// ctxErr returns ctx's error if ctx has ended, for errors.Is to find, and
// err otherwise.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// Close closes the database. Transactions must not be running.
func (s *Store) Close() error {
	s.hub.close()
	// The reader goes first: the last connection to close checkpoints the
	// WAL into the database file.
	err := errors.Join(s.readerStmts.close(), s.writerStmts.close(), s.reader.Close(), s.writer.Close())
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}
