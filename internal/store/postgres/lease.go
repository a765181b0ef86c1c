package postgres

import (
	"context"
	"fmt"
	"time"
)

// Leases elect the node that runs a background job. A lease is a row of
// the table leases: its name, its holder (the Store's name: host, process
// id and random bits) and when it expires, in the database's clock so that
// the nodes' clocks do not matter. TryLease takes the row if it is free or
// expired, or extends it if this Store holds it, in one statement;
// PostgreSQL's row lock makes Stores racing for a lease see one winner.
// A holder that dies stops renewing, and its lease passes to the next
// TryLease of another Store once the ttl has run out; Close releases this
// Store's leases at once. Leases need no advisory locks, so they also work
// on PostgreSQL-compatible engines that lack them.
const (
	qTryLease = `INSERT INTO leases (name, holder, expires_at)
	VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
	ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
	WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
	RETURNING holder`
	qReleaseLeases = `DELETE FROM leases WHERE holder = $1`
)

// TryLease acquires or renews the lease name for ttl and reports whether
// this Store holds it; see store.Leaser and the design above. The lease
// expires ttl after the statement ran in the database, which is after
// TryLease was called, so a holder that trusts its lease for ttl from the
// call is safe. It returns an error wrapping store.ErrUnavailable if the
// database cannot be reached, and then held is false.
func (s *Store) TryLease(ctx context.Context, name string, ttl time.Duration) (held bool, err error) {
	if ttl <= 0 {
		return false, fmt.Errorf("postgres: lease %s: ttl %v is not positive", name, ttl)
	}
	rows, err := s.pool.Query(ctx, qTryLease, name, s.holder, ttl.Seconds())
	if err != nil {
		return false, fmt.Errorf("postgres: lease %s: %w", name, classify(ctx, err))
	}
	held = rows.Next()
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("postgres: lease %s: %w", name, classify(ctx, err))
	}
	if held {
		s.leased.Store(true)
	}
	return held, nil
}
