package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
)

// The event index (store.EventIndex) is three tables:
//
//   - audit_events: one row per audit record of any node, keyed by (node,
//     seq), with the fields LookupEvents filters on and the event's JSON;
//     one index on (event_time, node, seq) serves both FindEvents' order
//     and DeleteEventsBefore.
//   - audit_nodes: how far each node's records are indexed. PutEvents locks
//     the node's row, so two writers for one node take turns and records
//     already indexed are skipped: a node that replays its trail after a
//     crash adds nothing twice, even once old rows have been deleted.
//   - key_last_use: the newest successful cryptographic use of each key, so
//     that LastKeyUse is one row read; it outlives DeleteEventsBefore.
//
// Text that is not valid UTF-8, or holds NUL bytes (an access key id from a
// forged request, say), is stored with those bytes replaced by U+FFFD: the
// index must never refuse a record, or a node's copying would stall on it.
var _ store.EventIndex = (*Store)(nil)

const (
	qLockAuditNode = `INSERT INTO audit_nodes (node, indexed_through) VALUES ($1, 0)
	ON CONFLICT (node) DO UPDATE SET node = excluded.node
	RETURNING indexed_through`
	qSetAuditNode  = `UPDATE audit_nodes SET indexed_through = $2 WHERE node = $1`
	qIndexedThough = `SELECT indexed_through FROM audit_nodes WHERE node = $1`
	qPutKeyUses    = `INSERT INTO key_last_use (key_arn, event_time, event_name, event_id, request_id)
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
	ON CONFLICT (key_arn) DO UPDATE SET event_time = excluded.event_time, event_name = excluded.event_name,
		event_id = excluded.event_id, request_id = excluded.request_id
	WHERE key_last_use.event_time <= excluded.event_time`
	qLastKeyUse = `SELECT event_time, event_name, event_id, request_id FROM key_last_use WHERE key_arn = $1`
	// Deletes go in slices, so that none holds locks on millions of rows.
	qDeleteEvents = `DELETE FROM audit_events WHERE (node, seq) IN (
		SELECT node, seq FROM audit_events WHERE event_time < $1 ORDER BY event_time LIMIT 10000)`
	eventColumns = `node, seq, event_time, account_ids, region, event_id, event_name, event_source,
	username, access_key_id, read_only, request_id, resource_names, resource_types, event`
)

var auditEventColumns = []string{"node", "seq", "event_time", "account_ids", "region", "event_id", "event_name", "event_source",
	"username", "access_key_id", "read_only", "request_id", "resource_names", "resource_types", "event"}

// PutEvents adds events of one node in one transaction; see
// store.EventIndex. Events at or below the node's indexed Seq are skipped.
func (s *Store) PutEvents(ctx context.Context, events []store.IndexedEvent) error {
	if len(events) == 0 {
		return nil
	}
	node := events[0].Node
	for i, e := range events {
		if e.Node != node || (i > 0 && e.Seq <= events[i-1].Seq) {
			return fmt.Errorf("postgres: put events: want events of one node in ascending seq")
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var through int64
		if err := tx.QueryRow(ctx, qLockAuditNode, clean(node)).Scan(&through); err != nil {
			return err
		}
		i, _ := slices.BinarySearchFunc(events, uint64(through)+1, func(e store.IndexedEvent, seq uint64) int {
			return cmp.Compare(e.Seq, seq)
		})
		fresh := events[i:]
		if len(fresh) == 0 {
			return nil
		}
		rows := make([][]any, len(fresh))
		for i, e := range fresh {
			rows[i] = []any{clean(e.Node), int64(e.Seq), e.Time.UnixNano(), cleanAll(e.AccountIDs), clean(e.Region),
				clean(e.EventID), clean(e.EventName), clean(e.EventSource), clean(e.Username), clean(e.AccessKeyID),
				e.ReadOnly, clean(e.RequestID), cleanAll(e.ResourceNames), cleanAll(e.ResourceTypes), nonNil(e.Event)}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, auditEventColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		if err := putKeyUses(ctx, tx, fresh); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, qSetAuditNode, clean(node), int64(fresh[len(fresh)-1].Seq))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: put events: %w", classify(ctx, err))
	}
	return nil
}

// putKeyUses raises key_last_use for the keys the events used: one row per
// key (the newest event), in key order, so that nodes writing at once lock
// rows in the same order and cannot deadlock.
func putKeyUses(ctx context.Context, tx pgx.Tx, events []store.IndexedEvent) error {
	newest := make(map[string]*store.IndexedEvent)
	for i := range events {
		e := &events[i]
		for _, k := range e.UsedKeys {
			if n, ok := newest[k]; !ok || !e.Time.Before(n.Time) {
				newest[k] = e
			}
		}
	}
	if len(newest) == 0 {
		return nil
	}
	keys := make([]string, 0, len(newest))
	for k := range newest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	times := make([]int64, len(keys))
	names := make([]string, len(keys))
	ids := make([]string, len(keys))
	reqs := make([]string, len(keys))
	for i, k := range keys {
		e := newest[k]
		keys[i] = clean(k)
		times[i], names[i], ids[i], reqs[i] = e.Time.UnixNano(), clean(e.EventName), clean(e.EventID), clean(e.RequestID)
	}
	_, err := tx.Exec(ctx, qPutKeyUses, keys, times, names, ids, reqs)
	return err
}

// IndexedThrough returns the highest Seq of node's indexed events; see
// store.EventIndex.
func (s *Store) IndexedThrough(ctx context.Context, node string) (uint64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, qIndexedThough, clean(node)).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: indexed through: %w", classify(ctx, err))
	}
	return uint64(n), nil
}

// FindEvents returns the events that match f, newest first; see
// store.EventIndex.
func (s *Store) FindEvents(ctx context.Context, f store.EventFilter) ([]store.IndexedEvent, error) {
	if f.Limit < 1 {
		return nil, fmt.Errorf("postgres: find events: limit %d is not positive", f.Limit)
	}
	var (
		where = []string{"$1 = ANY(account_ids)", "region = $2"}
		args  = []any{clean(f.AccountID), clean(f.Region)}
	)
	add := func(cond string, vs ...any) {
		ph := make([]any, len(vs))
		for i, v := range vs {
			args = append(args, v)
			ph[i] = len(args)
		}
		where = append(where, fmt.Sprintf(cond, ph...))
	}
	for _, c := range []struct{ col, v string }{
		{"event_id", f.EventID}, {"event_name", f.EventName}, {"event_source", f.EventSource},
		{"username", f.Username}, {"access_key_id", f.AccessKeyID},
	} {
		if c.v != "" {
			add(c.col+" = $%d", clean(c.v))
		}
	}
	if f.ResourceName != "" {
		add("$%d = ANY(resource_names)", clean(f.ResourceName))
	}
	if f.ResourceType != "" {
		add("$%d = ANY(resource_types)", clean(f.ResourceType))
	}
	if f.ReadOnly != nil {
		add("read_only = $%d", *f.ReadOnly)
	}
	if !f.Start.IsZero() {
		add("event_time >= $%d", f.Start.UnixNano())
	}
	if !f.End.IsZero() {
		add("event_time <= $%d", f.End.UnixNano())
	}
	if a := f.After; a != nil {
		add("(event_time, node, seq) < ($%d, $%d, $%d)", a.Time.UnixNano(), clean(a.Node), int64(a.Seq))
	}
	args = append(args, f.Limit)
	q := fmt.Sprintf("SELECT %s FROM audit_events WHERE %s ORDER BY event_time DESC, node DESC, seq DESC LIMIT $%d",
		eventColumns, strings.Join(where, " AND "), len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: find events: %w", classify(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.IndexedEvent, error) {
		var (
			e       store.IndexedEvent
			seq, at int64
		)
		err := row.Scan(&e.Node, &seq, &at, &e.AccountIDs, &e.Region, &e.EventID, &e.EventName, &e.EventSource,
			&e.Username, &e.AccessKeyID, &e.ReadOnly, &e.RequestID, &e.ResourceNames, &e.ResourceTypes, &e.Event)
		e.Seq, e.Time = uint64(seq), time.Unix(0, at).UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: find events: %w", classify(ctx, err))
	}
	return out, nil
}

// LastKeyUse returns the newest use of keyARN; see store.EventIndex.
func (s *Store) LastKeyUse(ctx context.Context, keyARN string) (store.IndexedEvent, bool, error) {
	var (
		e  store.IndexedEvent
		at int64
	)
	err := s.pool.QueryRow(ctx, qLastKeyUse, clean(keyARN)).Scan(&at, &e.EventName, &e.EventID, &e.RequestID)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.IndexedEvent{}, false, nil
	}
	if err != nil {
		return store.IndexedEvent{}, false, fmt.Errorf("postgres: last key use: %w", classify(ctx, err))
	}
	e.Time = time.Unix(0, at).UTC()
	return e, true, nil
}

// DeleteEventsBefore removes the events older than t; see store.EventIndex.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, qDeleteEvents, t.UnixNano())
		if err != nil {
			return total, fmt.Errorf("postgres: delete events: %w", classify(ctx, err))
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() == 0 {
			return total, nil
		}
	}
}

// clean returns s with invalid UTF-8 and NUL bytes replaced by U+FFFD,
// which PostgreSQL's text accepts.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}
