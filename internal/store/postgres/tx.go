package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custoskms/custos/internal/store"
)

// tx implements store.Tx on one pgx transaction. pgx prepares each
// statement once per connection and reuses it.
type tx struct {
	ctx      context.Context
	tx       pgx.Tx
	readOnly bool
	// abort is the first serialization failure or deadlock PostgreSQL
	// reported: the transaction is dead and Update runs fn again.
	abort error
}

var _ store.Tx = (*tx)(nil)

var errReadOnly = errors.New("write in a read-only transaction")

// writable returns an error for op if t is read-only.
func (t *tx) writable(op string) error {
	if t.readOnly {
		return fmt.Errorf("postgres: %s: %w", op, errReadOnly)
	}
	return nil
}

// fail wraps err, a failure of op (see classify), and remembers a
// serialization failure or deadlock for Update.
func (t *tx) fail(op string, err error) error {
	err = classify(t.ctx, err)
	if t.abort == nil && isRetryable(err) {
		t.abort = fmt.Errorf("postgres: %s: %w", op, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

func (t *tx) exec(q string, args ...any) (pgconn.CommandTag, error) {
	return t.tx.Exec(t.ctx, q, args...)
}

// affected reports whether exec changed a row, or its error.
func affected(tag pgconn.CommandTag, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

func (t *tx) query(q string, args ...any) (pgx.Rows, error) {
	return t.tx.Query(t.ctx, q, args...)
}

func (t *tx) queryRow(q string, args ...any) pgx.Row {
	return t.tx.QueryRow(t.ctx, q, args...)
}

// exists runs q, a SELECT EXISTS (...), and returns its result.
func (t *tx) exists(q string, args ...any) (bool, error) {
	var ok bool
	err := t.queryRow(q, args...).Scan(&ok)
	return ok, err
}

// collect reads every row of rows with scan, closing rows.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// sqlLimit maps the store's "limit <= 0 means no limit" to LIMIT NULL.
func sqlLimit(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	n := int64(limit)
	return &n
}

// nanos encodes t as Unix nanoseconds, or NULL (nil) for the zero time.
// Times that int64 nanoseconds cannot hold (before 1678 or after 2262) are
// an error rather than silently wrong.
func nanos(t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("time %s out of range", t.UTC().Format(time.RFC3339))
	}
	n := t.UnixNano()
	return &n, nil
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeOf decodes what nanos encoded, in UTC.
func timeOf(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// nanosAll encodes several times, failing on the first out of range.
func nanosAll(ts ...time.Time) ([]*int64, error) {
	out := make([]*int64, len(ts))
	for i, t := range ts {
		n, err := nanos(t)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// nonNil returns b, or an empty non-nil slice for nil, so that the value is
// an empty bytea rather than NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
