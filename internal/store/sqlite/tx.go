package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custoskms/custos/internal/store"
)

// tx implements store.Tx on one database/sql transaction.
type tx struct {
	ctx      context.Context
	tx       *sql.Tx
	stmts    prepared
	readOnly bool
}

var _ store.Tx = (*tx)(nil)

var errReadOnly = errors.New("write in a read-only transaction")

// writable returns an error for op if t is read-only.
func (t *tx) writable(op string) error {
	if t.readOnly {
		return fmt.Errorf("sqlite: %s: %w", op, errReadOnly)
	}
	return nil
}

// fail wraps err, a failure of op, preferring the context's error when the
// context has ended.
func (t *tx) fail(op string, err error) error {
	return fmt.Errorf("sqlite: %s: %w", op, ctxErr(t.ctx, err))
}

// stmt returns the prepared statement q bound to the transaction.
func (t *tx) stmt(q string) (*sql.Stmt, error) {
	st, ok := t.stmts[q]
	if !ok {
		// A programming error: q is missing from statements.
		return nil, fmt.Errorf("statement not prepared: %q", q)
	}
	return t.tx.StmtContext(t.ctx, st), nil
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// scanner is a row to scan: *sql.Row, *sql.Rows or errRow.
type scanner interface{ Scan(dest ...any) error }

// errRow is a row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (t *tx) queryRow(q string, args ...any) scanner {
	st, err := t.stmt(q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

// affectedOne reports whether res changed a row, or err.
func affectedOne(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// isConstraint reports whether err is an SQLite constraint violation with
// one of the given extended result codes.
func isConstraint(err error, codes ...int) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code() == c {
			return true
		}
	}
	return false
}

func isUnique(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE)
}

func isForeignKey(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}

// sqlLimit maps the store's "limit <= 0 means no limit" to SQLite's LIMIT -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// nanos encodes t as Unix nanoseconds, or NULL for the zero time. Times that
// int64 nanoseconds cannot hold (before 1678 or after 2262) are an error
// rather than silently wrong.
func nanos(t time.Time) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return sql.NullInt64{}, fmt.Errorf("time %s out of range", t.UTC().Format(time.RFC3339))
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}, nil
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeOf decodes what nanos encoded, in UTC.
func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// nanosAll encodes several times, failing on the first out of range.
func nanosAll(ts ...time.Time) ([]sql.NullInt64, error) {
	out := make([]sql.NullInt64, len(ts))
	for i, t := range ts {
		n, err := nanos(t)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// boolInt encodes a boolean as 0 or 1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
