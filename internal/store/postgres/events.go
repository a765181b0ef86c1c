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
//   - audit_chunks: one row per PutEvents call: the node, the range of its
//     records' seqs and event times, the distinct values of every field
//     FindEvents filters on (text[] columns, so that a query skips chunks
//     without its value), and the events themselves in a body (see
//     chunk.go). A row per call rather than per event keeps the copying
//     cheap for the database: a busy node puts a thousand events at a time.
//     One index on max_time serves FindEvents' order and deletion.
//   - audit_nodes: how far each node's records are indexed. PutEvents locks
//     the node's row, so two writers for one node take turns and records
//     already indexed are skipped: a node that replays its trail after a
//     crash adds nothing twice, even once old chunks have been deleted.
//   - key_last_use: the newest successful cryptographic use of each key, so
//     that LastKeyUse is one row read; it outlives DeleteEventsBefore.
//
// FindEvents reads the chunks that may hold matches newest first (by
// max_time) and filters their events exactly; an event is final once its
// time is after the max_time of the next chunk, for no later chunk can hold
// a newer one.
//
// Text in the text[] columns that is not valid UTF-8, or holds NUL bytes (an
// access key id from a forged request, say), is stored with those bytes
// replaced by U+FFFD, and so are the values FindEvents looks for: the index
// must never refuse a record, or a node's copying would stall on it. The
// bodies keep the bytes as they came.
var _ store.EventIndex = (*Store)(nil)

const (
	qLockAuditNode = `INSERT INTO audit_nodes (node, indexed_through) VALUES ($1, 0)
	ON CONFLICT (node) DO UPDATE SET node = excluded.node
	RETURNING indexed_through`
	qSetAuditNode  = `UPDATE audit_nodes SET indexed_through = $2 WHERE node = $1`
	qIndexedThough = `SELECT indexed_through FROM audit_nodes WHERE node = $1`
	qPutChunk      = `INSERT INTO audit_chunks (node, first_seq, last_seq, events, min_time, max_time,
		account_ids, regions, event_ids, event_names, event_sources, usernames, access_key_ids,
		resource_names, resource_types, body)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`
	qPutKeyUses = `INSERT INTO key_last_use (key_arn, event_time, event_name, event_id, request_id)
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
	ON CONFLICT (key_arn) DO UPDATE SET event_time = excluded.event_time, event_name = excluded.event_name,
		event_id = excluded.event_id, request_id = excluded.request_id
	WHERE key_last_use.event_time <= excluded.event_time`
	qLastKeyUse = `SELECT event_time, event_name, event_id, request_id FROM key_last_use WHERE key_arn = $1`
	// Deletes go in slices, so that none holds locks on many rows.
	qDeleteChunks = `WITH gone AS (
		DELETE FROM audit_chunks WHERE (node, first_seq) IN (
			SELECT node, first_seq FROM audit_chunks WHERE max_time < $1 ORDER BY max_time LIMIT 1000)
		RETURNING events)
	SELECT count(*), COALESCE(sum(events), 0) FROM gone`
)

// PutEvents adds events of one node in one transaction, as one chunk; see
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
		var (
			sum                                                                  [9]distinct
			accounts, regions, ids, names, sources, users, akids, rnames, rtypes = &sum[0], &sum[1], &sum[2], &sum[3], &sum[4], &sum[5], &sum[6], &sum[7], &sum[8]
			minT, maxT                                                           = fresh[0].Time.UnixNano(), fresh[0].Time.UnixNano()
		)
		for i := range fresh {
			e := &fresh[i]
			t := e.Time.UnixNano()
			minT, maxT = min(minT, t), max(maxT, t)
			accounts.add(e.AccountIDs...)
			regions.add(e.Region)
			ids.add(e.EventID)
			names.add(e.EventName)
			sources.add(e.EventSource)
			users.add(e.Username)
			akids.add(e.AccessKeyID)
			rnames.add(e.ResourceNames...)
			rtypes.add(e.ResourceTypes...)
		}
		if _, err := tx.Exec(ctx, qPutChunk, clean(node), int64(fresh[0].Seq), int64(fresh[len(fresh)-1].Seq), len(fresh), minT, maxT,
			accounts.list, regions.list, ids.list, names.list, sources.list, users.list, akids.list, rnames.list, rtypes.list,
			s.encodeChunk(fresh)); err != nil {
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

// distinct collects the distinct cleaned values of one field of a chunk.
type distinct struct {
	seen map[string]bool
	list []string
}

func (d *distinct) add(vs ...string) {
	if d.seen == nil {
		d.seen = make(map[string]bool)
		d.list = []string{}
	}
	for _, v := range vs {
		if !d.seen[v] {
			d.seen[v] = true
			d.list = append(d.list, clean(v))
		}
	}
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
// store.EventIndex and the design above.
func (s *Store) FindEvents(ctx context.Context, f store.EventFilter) ([]store.IndexedEvent, error) {
	if f.Limit < 1 {
		return nil, fmt.Errorf("postgres: find events: limit %d is not positive", f.Limit)
	}
	var (
		where = []string{"$1 = ANY(account_ids)", "$2 = ANY(regions)"}
		args  = []any{clean(f.AccountID), clean(f.Region)}
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	for _, c := range []struct{ col, v string }{
		{"event_ids", f.EventID}, {"event_names", f.EventName}, {"event_sources", f.EventSource},
		{"usernames", f.Username}, {"access_key_ids", f.AccessKeyID},
		{"resource_names", f.ResourceName}, {"resource_types", f.ResourceType},
	} {
		if c.v != "" {
			add("$%d = ANY("+c.col+")", clean(c.v))
		}
	}
	if !f.Start.IsZero() {
		add("max_time >= $%d", f.Start.UnixNano())
	}
	if !f.End.IsZero() {
		add("min_time <= $%d", f.End.UnixNano())
	}
	if a := f.After; a != nil {
		add("min_time <= $%d", a.Time.UnixNano())
	}
	q := "SELECT node, max_time, body FROM audit_chunks WHERE " + strings.Join(where, " AND ") +
		" ORDER BY max_time DESC, node DESC, first_seq DESC"
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: find events: %w", classify(ctx, err))
	}
	defer rows.Close()
	var out, pending []store.IndexedEvent
	// final moves the pending events newer than bound (all if bound is
	// nil) to out, newest first, and reports whether out is full.
	final := func(bound *int64) bool {
		slices.SortFunc(pending, func(a, b store.IndexedEvent) int { return comparePositions(b, a) })
		k := len(pending)
		if bound != nil {
			k, _ = slices.BinarySearchFunc(pending, *bound, func(e store.IndexedEvent, t int64) int { return -cmp.Compare(e.Time.UnixNano(), t) })
		}
		k = min(k, f.Limit-len(out))
		out = append(out, pending[:k]...)
		pending = pending[k:]
		return len(out) == f.Limit
	}
	full := false
	for rows.Next() {
		var (
			node string
			maxT int64
			body []byte
		)
		if err := rows.Scan(&node, &maxT, &body); err != nil {
			return nil, fmt.Errorf("postgres: find events: %w", classify(ctx, err))
		}
		if full = final(&maxT); full {
			break
		}
		evs, err := decodeChunk(node, body)
		if err != nil {
			return nil, fmt.Errorf("postgres: find events: chunk of node %s: %w", node, err)
		}
		for _, e := range evs {
			if matchesFilter(&f, &e) {
				pending = append(pending, e)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: find events: %w", classify(ctx, err))
	}
	if !full {
		final(nil)
	}
	return out, nil
}

// comparePositions orders events as FindEvents returns them, oldest first:
// by Time, then Node, then Seq.
func comparePositions(a, b store.IndexedEvent) int {
	return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Node, b.Node), cmp.Compare(a.Seq, b.Seq))
}

// matchesFilter reports whether e matches every field of f, exactly.
func matchesFilter(f *store.EventFilter, e *store.IndexedEvent) bool {
	switch {
	case !slices.Contains(e.AccountIDs, f.AccountID), e.Region != f.Region,
		f.EventID != "" && e.EventID != f.EventID,
		f.EventName != "" && e.EventName != f.EventName,
		f.EventSource != "" && e.EventSource != f.EventSource,
		f.Username != "" && e.Username != f.Username,
		f.AccessKeyID != "" && e.AccessKeyID != f.AccessKeyID,
		f.ResourceName != "" && !slices.Contains(e.ResourceNames, f.ResourceName),
		f.ResourceType != "" && !slices.Contains(e.ResourceTypes, f.ResourceType),
		f.ReadOnly != nil && e.ReadOnly != *f.ReadOnly,
		!f.Start.IsZero() && e.Time.Before(f.Start),
		!f.End.IsZero() && e.Time.After(f.End):
		return false
	}
	if a := f.After; a != nil && comparePositions(*e, store.IndexedEvent{Time: a.Time, Node: a.Node, Seq: a.Seq}) >= 0 {
		return false
	}
	return true
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

// DeleteEventsBefore removes the chunks whose events are all older than
// t; see store.EventIndex.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		var chunks, events int64
		if err := s.pool.QueryRow(ctx, qDeleteChunks, t.UnixNano()).Scan(&chunks, &events); err != nil {
			return total, fmt.Errorf("postgres: delete events: %w", classify(ctx, err))
		}
		total += events
		if chunks == 0 {
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
