package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

// NodeID names this trail in a shared event index: the first 16 hex digits
// of the SHA-256 of its public key, the K of its digests.
func (l *Log) NodeID() string {
	sum := sha256.Sum256(l.pub)
	return hex.EncodeToString(sum[:8])
}

// Mirror copies the durable records of a Log into an event index that
// several nodes share, and answers LookupEvents and KeyLastUse from that
// index, so that every node sees every node's records. The Log stays the
// authority: records are copied after they are durable, in seq order, by
// Run every Interval and by Sync before each answer, so a node reads its own
// records at once and other nodes' within their Interval. A node that
// stopped (or was killed) before copying everything copies the rest when it
// starts again: the index knows how far each node's records go. Records that
// retention removed before they were copied are not indexed.
//
// A Mirror is safe for concurrent use.
type Mirror struct {
	log  *Log
	idx  store.EventIndex
	node string
	opts MirrorOptions

	tap *tap

	mu      sync.Mutex // one copy at a time; guards the fields below
	through uint64     // the last seq in the index, once known
	known   bool
	failing bool     // the last copy failed: log the next success
	ahead   bool     // the index was found ahead of the trail (logged once)
	pending []tapped // taken from the tap, not yet in the index
	batch   []store.IndexedEvent
}

// MirrorOptions tune a Mirror. Zero values have defaults.
type MirrorOptions struct {
	Interval  time.Duration    // between copies by Run; default 200 ms
	Retention time.Duration    // Run deletes indexed events older than this, every node's (0 keeps them)
	Now       func() time.Time // the clock of Retention; default time.Now
	Logger    *slog.Logger
}

// mirrorBatch is the most records one PutEvents carries.
const mirrorBatch = 1000

// NewMirror returns a Mirror of l into idx.
func NewMirror(l *Log, idx store.EventIndex, opts MirrorOptions) *Mirror {
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mirror{log: l, idx: idx, node: l.NodeID(), opts: opts, tap: &tap{node: l.NodeID()}}
	l.tap.Store(m.tap)
	return m
}

// tap holds the records a Log hands its Mirror as they become durable,
// with their index fields taken at Append and their event bytes in the
// Log's buffers (which the Mirror returns to the Log once the records are
// in the index), so that the Mirror need not read and decode them again.
// When the Mirror falls behind (its index is out of reach), the tap drops
// what it holds and the Mirror reads those records from the trail instead.
type tap struct {
	node string
	mu   sync.Mutex
	recs []tapped // ascending Seq, with gaps where records were dropped
}

// tapped is a record in a tap.
type tapped struct {
	e   *store.IndexedEvent
	buf *[]byte // holds e.Event
}

// maxTapped bounds the records a tap and its Mirror hold: about 40 MB.
const maxTapped = 20_000

// push takes the tapped items of a committed batch whose first record
// follows seq, and their buffers.
func (t *tap) push(seq uint64, items []item) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.recs)+len(items) > maxTapped {
		t.recs = nil
	}
	for i, it := range items {
		if it.ix == nil {
			continue // appended before the tap was set: read from the trail
		}
		it.ix.Node, it.ix.Seq, it.ix.Event = t.node, seq+1+uint64(i), it.event
		t.recs = append(t.recs, tapped{e: it.ix, buf: it.buf})
	}
}

func (t *tap) take() []tapped {
	t.mu.Lock()
	defer t.mu.Unlock()
	recs := t.recs
	t.recs = nil
	return recs
}

// Run copies records every Interval, and deletes expired index entries
// hourly, until ctx ends; then it copies what is left (for up to 5 s).
// Failures are logged and retried at the next Interval.
func (m *Mirror) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			m.copyLogged(fctx)
			return
		case <-t.C:
		}
		m.copyLogged(ctx)
		if now := m.opts.Now(); m.opts.Retention > 0 && now.Sub(pruned) >= time.Hour {
			if n, err := m.idx.DeleteEventsBefore(ctx, now.Add(-m.opts.Retention)); err != nil {
				m.opts.Logger.Warn("audit: delete expired events from the shared index", "err", err)
			} else {
				pruned = now
				if n > 0 {
					m.opts.Logger.Info("audit: deleted expired events from the shared index", "events", n)
				}
			}
		}
	}
}

func (m *Mirror) copyLogged(ctx context.Context) {
	err := m.Sync(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case err != nil && !m.failing && ctx.Err() == nil:
		m.failing = true
		m.opts.Logger.Warn("audit: copy records to the shared index; retrying", "err", err)
	case err == nil && m.failing:
		m.failing = false
		m.opts.Logger.Info("audit: copying records to the shared index again", "through", m.through)
	}
}

// Sync copies every record that is durable when it is called into the
// index, and returns when they are there. Records come from the tap when it
// has them, and otherwise from the trail. It returns an error wrapping
// store.ErrUnavailable if the index cannot be reached.
func (m *Mirror) Sync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, m.tap.take()...)
	if len(m.pending) > maxTapped {
		m.pending = nil // read them from the trail once the index is back
	}
	if !m.known {
		n, err := m.idx.IndexedThrough(ctx, m.node)
		if err != nil {
			return err
		}
		m.through, m.known = n, true
	}
	m.log.imu.RLock()
	durable := m.log.durable
	m.log.imu.RUnlock()
	if m.through > durable && !m.ahead {
		m.ahead = true
		m.opts.Logger.Warn("audit: the shared index holds records of this node's trail beyond its end (was the data folder restored from a backup?); records up to the index's are not copied",
			"node", m.node, "trailEnd", durable, "indexed", m.through)
	}
	for {
		// Drop what the index already has, then copy the next run of
		// records: from the tap if it has the next one, else from the trail
		// up to the next record the tap has.
		i := 0
		for i < len(m.pending) && m.pending[i].e.Seq <= m.through {
			m.log.putBuf(m.pending[i].buf)
			i++
		}
		m.pending = m.pending[i:]
		if len(m.pending) > 0 && m.pending[0].e.Seq == m.through+1 {
			m.batch = append(m.batch[:0], *m.pending[0].e)
			for n := 1; n < len(m.pending) && n < mirrorBatch && m.pending[n].e.Seq == m.through+1+uint64(n); n++ {
				m.batch = append(m.batch, *m.pending[n].e)
			}
			err := m.idx.PutEvents(ctx, m.batch)
			clear(m.batch) // let go of the events
			if err != nil {
				return err
			}
			m.through += uint64(len(m.batch))
			continue
		}
		upTo := durable
		if len(m.pending) > 0 {
			upTo = m.pending[0].e.Seq - 1
		}
		if upTo <= m.through {
			if len(m.pending) == 0 {
				m.pending = nil // let the copied records go
			}
			return nil
		}
		if err := m.copyTrail(ctx, upTo); err != nil {
			return err
		}
	}
}

// copyTrail copies the records after m.through up to upTo from the trail.
func (m *Mirror) copyTrail(ctx context.Context, upTo uint64) error {
	segs, _ := m.log.snapshot()
	batch := make([]store.IndexedEvent, 0, min(upTo-m.through, mirrorBatch))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := m.idx.PutEvents(ctx, batch); err != nil {
			return err
		}
		m.through = batch[len(batch)-1].Seq
		batch = batch[:0]
		return nil
	}
	err := forEachRecord(segs, m.through, upTo, func(r record) (bool, error) {
		e, err := indexedEvent(m.node, r)
		if err != nil {
			// Never expected of a record this package wrote; skipping it
			// keeps the copy going.
			m.opts.Logger.Error("audit: a record cannot be indexed", "seq", r.seq, "err", err)
			return true, nil
		}
		batch = append(batch, e)
		if len(batch) == mirrorBatch {
			return true, flush()
		}
		return true, nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		// Records removed by retention before they were copied are gone.
		m.through = upTo
	}
	return err
}

// indexFields are the fields of an event the index holds apart.
type indexFields struct {
	UserIdentity      UserIdentity `json:"userIdentity"`
	EventTime         time.Time    `json:"eventTime"`
	EventSource       string       `json:"eventSource"`
	EventName         string       `json:"eventName"`
	AWSRegion         string       `json:"awsRegion"`
	ErrorCode         string       `json:"errorCode"`
	RequestParameters struct {
		KeyID any `json:"keyId"`
	} `json:"requestParameters"`
	RequestID          string     `json:"requestID"`
	EventID            string     `json:"eventID"`
	ReadOnly           bool       `json:"readOnly"`
	Resources          []Resource `json:"resources"`
	RecipientAccountID string     `json:"recipientAccountId"`
}

// indexedEvent returns record r of node as the index holds it, decoding
// its event.
func indexedEvent(node string, r record) (store.IndexedEvent, error) {
	var f indexFields
	if err := json.Unmarshal(r.event, &f, jsontext.AllowInvalidUTF8(true)); err != nil {
		return store.IndexedEvent{}, err
	}
	ev := Event{UserIdentity: f.UserIdentity, EventTime: f.EventTime, EventSource: f.EventSource, EventName: f.EventName,
		AWSRegion: f.AWSRegion, ErrorCode: f.ErrorCode, RequestID: f.RequestID, EventID: f.EventID, ReadOnly: f.ReadOnly,
		Resources: f.Resources, RecipientAccountID: f.RecipientAccountID}
	var keyID any
	if f.RequestParameters.KeyID != nil {
		keyID = map[string]any{"keyId": f.RequestParameters.KeyID}
	}
	e := indexFieldsOf(&ev, keyID, usageKeys(f.EventSource, f.EventName, f.ErrorCode, f.Resources))
	e.Node, e.Seq, e.Event = node, r.seq, r.event
	return *e, nil
}

// indexFieldsOf returns the index fields of ev (all but Node, Seq and
// Event), given its requestParameters and the keys it used; see
// matchesResourceName and Scope for the names and accounts.
func indexFieldsOf(ev *Event, params any, usedKeys []string) *store.IndexedEvent {
	e := &store.IndexedEvent{
		Time:       ev.EventTime.UTC().Truncate(time.Second),
		AccountIDs: []string{ev.RecipientAccountID}, Region: ev.AWSRegion,
		EventID: ev.EventID, EventName: ev.EventName, EventSource: ev.EventSource,
		Username: ev.UserIdentity.Username(), AccessKeyID: ev.UserIdentity.AccessKeyID,
		ReadOnly: ev.ReadOnly, RequestID: ev.RequestID,
		ResourceNames: make([]string, 0, 2*len(ev.Resources)+1), ResourceTypes: make([]string, 0, 1),
		UsedKeys: usedKeys,
	}
	if a := ev.UserIdentity.AccountID; a != "" && a != ev.RecipientAccountID {
		e.AccountIDs = append(e.AccountIDs, a)
	}
	for _, res := range ev.Resources {
		e.ResourceTypes = addDistinct(e.ResourceTypes, res.Type)
		e.ResourceNames = addDistinct(e.ResourceNames, res.ARN)
		if i := strings.LastIndex(res.ARN, ":key/"); i >= 0 {
			e.ResourceNames = addDistinct(e.ResourceNames, res.ARN[i+len(":key/"):])
		}
	}
	if id, ok := requestKeyID(params); ok {
		e.ResourceNames = addDistinct(e.ResourceNames, id)
	}
	return e
}

// requestKeyID returns requestParameters.keyId when it is a string, as
// matchesResourceName reads it from a decoded event.
func requestKeyID(params any) (string, bool) {
	switch p := params.(type) {
	case map[string]any:
		id, ok := p["keyId"].(string)
		return id, ok
	case nil:
		return "", false
	}
	// A struct or a jsontext.Value, as the server builds them: its JSON
	// form is what the trail holds.
	data, err := json.Marshal(params)
	if err != nil {
		return "", false
	}
	var v struct {
		KeyID any `json:"keyId"`
	}
	if json.Unmarshal(data, &v, jsontext.AllowInvalidUTF8(true)) != nil {
		return "", false
	}
	id, ok := v.KeyID.(string)
	return id, ok
}

func addDistinct(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// LookupEvents serves CloudTrail's LookupEvents, as Log.LookupEvents does,
// from the records of every node: it first copies this node's records, so
// that a caller sees its own requests. If the index cannot be reached it
// returns ServiceUnavailable (HTTP 503), which clients retry.
func (m *Mirror) LookupEvents(ctx context.Context, scope Scope, body []byte) (any, error) {
	return lookupEvents(ctx, scope, body, func(q Query) ([]hit, string, error) { return m.find(ctx, q) })
}

// KeyLastUse returns the last successful cryptographic use of the key on any
// node, after copying this node's records. Its errors are those of the
// index (store.ErrUnavailable).
func (m *Mirror) KeyLastUse(ctx context.Context, keyARN string) (KeyUse, bool, error) {
	if err := m.Sync(ctx); err != nil {
		return KeyUse{}, false, err
	}
	e, ok, err := m.idx.LastKeyUse(ctx, keyARN)
	if err != nil || !ok {
		return KeyUse{}, false, err
	}
	return KeyUse{EventName: e.EventName, Time: e.Time, EventID: e.EventID, RequestID: e.RequestID}, true, nil
}

// find is Log.lookup over the index. The order is the index's: newest
// first by event time, then node, then seq.
func (m *Mirror) find(ctx context.Context, q Query) ([]hit, string, error) {
	if err := q.check(); err != nil {
		return nil, "", err
	}
	f := store.EventFilter{
		AccountID: q.AccountID, Region: q.Region,
		EventID: q.EventID, EventName: q.EventName, EventSource: q.EventSource, Username: q.Username,
		AccessKeyID: q.AccessKeyID, ResourceName: q.ResourceName, ResourceType: q.ResourceType, ReadOnly: q.ReadOnly,
		Limit: q.MaxResults + 1,
	}
	// Event times are whole seconds: compare with the range's seconds, as
	// Log.lookup does.
	if !q.StartTime.IsZero() {
		f.Start = time.Unix(q.StartTime.Unix(), 0)
	}
	if !q.EndTime.IsZero() {
		f.End = time.Unix(q.EndTime.Unix(), 0)
	}
	fp := q.fingerprint()
	if q.NextToken != "" {
		pos, ok := parseIndexToken(q.NextToken, fp)
		if !ok {
			return nil, "", awsproto.Errorf("InvalidNextTokenException", "Invalid NextToken.")
		}
		f.After = &pos
	}
	err := m.Sync(ctx)
	var evs []store.IndexedEvent
	if err == nil {
		evs, err = m.idx.FindEvents(ctx, f)
	}
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			m.opts.Logger.Warn("audit: LookupEvents: the shared index is unavailable", "err", err)
			return nil, "", &awsproto.Error{Code: "ServiceUnavailable", Message: "The service is unavailable. Retry the request.", Status: 503}
		}
		return nil, "", fmt.Errorf("audit: lookup in the shared index: %w", err)
	}
	next := ""
	if len(evs) > q.MaxResults {
		evs = evs[:q.MaxResults]
		last := evs[len(evs)-1]
		next = makeIndexToken(store.EventPosition{Time: last.Time, Node: last.Node, Seq: last.Seq}, fp)
	}
	hits := make([]hit, 0, len(evs))
	for _, e := range evs {
		h := hit{seq: e.Seq, raw: e.Event}
		if err := json.Unmarshal(e.Event, &h.ev, jsontext.AllowInvalidUTF8(true)); err != nil {
			continue
		}
		hits = append(hits, h)
	}
	return hits, next, nil
}

// An index token is base64url of: version byte 2, the 8-byte fingerprint of
// the query, the event time in Unix nanoseconds (8 bytes), the seq (8
// bytes) and the node id (the rest) of the last event returned.
func makeIndexToken(p store.EventPosition, fp [8]byte) string {
	b := make([]byte, 25, 25+len(p.Node))
	b[0] = 2
	copy(b[1:9], fp[:])
	binary.BigEndian.PutUint64(b[9:17], uint64(p.Time.UnixNano()))
	binary.BigEndian.PutUint64(b[17:25], p.Seq)
	return base64.RawURLEncoding.EncodeToString(append(b, p.Node...))
}

func parseIndexToken(tok string, fp [8]byte) (store.EventPosition, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 26 || len(b) > 25+64 || b[0] != 2 || !bytes.Equal(b[1:9], fp[:]) {
		return store.EventPosition{}, false
	}
	return store.EventPosition{
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(b[9:17]))).UTC(),
		Seq:  binary.BigEndian.Uint64(b[17:25]),
		Node: string(b[25:]),
	}, true
}
