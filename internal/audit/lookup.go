package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Query selects events for Lookup. Empty string filters and a nil ReadOnly
// match everything; zero StartTime and EndTime leave the range open.
type Query struct {
	Scope        // the account whose events these are, and their Region; empty matches all
	EventName    string
	ResourceName string // a resources[].ARN, the key id at its end, or requestParameters.keyId
	ResourceType string // a resources[].type, e.g. "AWS::KMS::Key"
	Username     string // as UserIdentity.Username returns it
	AccessKeyID  string
	EventID      string
	EventSource  string
	ReadOnly     *bool
	StartTime    time.Time // inclusive
	EndTime      time.Time // inclusive
	MaxResults   int       // 1..50; 0 means 50
	NextToken    string    // from a previous Lookup with the same filters
}

// Scope is what one caller of LookupEvents may see: the events of one
// account in one Region, as CloudTrail's event history shows them. An event
// belongs to its recipientAccountId and, for a call on another account's
// key, to the caller's account too.
type Scope struct {
	AccountID string
	Region    string
}

// sees reports whether an event in s's Region for these accounts is in s.
func (s Scope) sees(recipient, caller, region string) bool {
	return (s.AccountID == "" || s.AccountID == recipient || s.AccountID == caller) &&
		(s.Region == "" || s.Region == region)
}

// MaxLookupResults is the most events one Lookup returns.
const MaxLookupResults = 50

// hit is an event found by Lookup, with its bytes as stored.
type hit struct {
	seq uint64
	raw []byte
	ev  Event
}

// Lookup returns the events that match q, newest first (in the order they
// were recorded), at most q.MaxResults of them, and a token for the next
// page ("" when there is none). Its errors are AWS errors, as CloudTrail
// names them: InvalidMaxResultsException, InvalidTimeRangeException,
// InvalidNextTokenException. It reads segments newest first, one chunk of
// records at a time, skipping chunks outside the time range.
func (l *Log) Lookup(q Query) ([]Event, string, error) {
	hits, next, err := l.lookup(q)
	events := make([]Event, len(hits))
	for i := range hits {
		events[i] = hits[i].ev
	}
	return events, next, err
}

// check validates q's limits and range, setting MaxResults to 50 when 0.
func (q *Query) check() error {
	if q.MaxResults == 0 {
		q.MaxResults = MaxLookupResults
	}
	if q.MaxResults < 1 || q.MaxResults > MaxLookupResults {
		return awsproto.Errorf("InvalidMaxResultsException", "Value for parameter MaxResults is invalid. It must be between 1 and 50.")
	}
	if !q.StartTime.IsZero() && !q.EndTime.IsZero() && q.StartTime.After(q.EndTime) {
		return awsproto.Errorf("InvalidTimeRangeException", "Start time must be earlier than end time.")
	}
	return nil
}

func (l *Log) lookup(q Query) ([]hit, string, error) {
	if err := q.check(); err != nil {
		return nil, "", err
	}
	segs, durable := l.snapshot()
	before := durable + 1
	if q.NextToken != "" {
		seq, ok := parseToken(q.NextToken, q.fingerprint())
		if !ok || seq > before {
			return nil, "", awsproto.Errorf("InvalidNextTokenException", "Invalid NextToken.")
		}
		before = seq
	}
	var startT, endT int64 = -1 << 62, 1 << 62
	if !q.StartTime.IsZero() {
		startT = q.StartTime.Unix()
	}
	if !q.EndTime.IsZero() {
		endT = q.EndTime.Unix()
	}
	needle := q.needle()
	var hits []hit
	for i := len(segs) - 1; i >= 0; i-- {
		s := &segs[i]
		if s.firstSeq >= before {
			continue
		}
		for j := len(s.chunks) - 1; j >= 0; j-- {
			c := s.chunks[j]
			if c.firstSeq >= before || c.maxT < startT || c.minT > endT {
				continue
			}
			recs, err := readChunk(s, c)
			if err != nil {
				return nil, "", err
			}
			for k := len(recs) - 1; k >= 0; k-- {
				r := recs[k]
				if r.seq >= before || (needle != nil && !bytes.Contains(r.event, needle)) {
					continue
				}
				var ev Event
				if err := json.Unmarshal(r.event, &ev, jsontext.AllowInvalidUTF8(true)); err != nil {
					continue
				}
				if !q.matches(&ev, startT, endT) {
					continue
				}
				if len(hits) == q.MaxResults {
					return hits, makeToken(hits[len(hits)-1].seq, q.fingerprint()), nil
				}
				hits = append(hits, hit{seq: r.seq, raw: r.event, ev: ev})
			}
		}
	}
	return hits, "", nil
}

// needle returns bytes every matching event's JSON contains, to skip
// decoding the others, or nil.
func (q *Query) needle() []byte {
	for _, v := range []string{q.EventID, q.AccessKeyID, q.ResourceName, q.EventName, q.Username} {
		if v != "" && !strings.ContainsAny(v, "\"\\<>&") && !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
			return []byte(v)
		}
	}
	return nil
}

func (q *Query) matches(ev *Event, startT, endT int64) bool {
	t := ev.EventTime.Unix()
	if t < startT || t > endT || !q.sees(ev.RecipientAccountID, ev.UserIdentity.AccountID, ev.AWSRegion) {
		return false
	}
	switch {
	case q.EventName != "" && ev.EventName != q.EventName,
		q.EventID != "" && ev.EventID != q.EventID,
		q.EventSource != "" && ev.EventSource != q.EventSource,
		q.AccessKeyID != "" && ev.UserIdentity.AccessKeyID != q.AccessKeyID,
		q.Username != "" && ev.UserIdentity.Username() != q.Username,
		q.ReadOnly != nil && ev.ReadOnly != *q.ReadOnly:
		return false
	}
	if q.ResourceType != "" && !hasResource(ev, func(r Resource) bool { return r.Type == q.ResourceType }) {
		return false
	}
	if q.ResourceName != "" && !matchesResourceName(ev, q.ResourceName) {
		return false
	}
	return true
}

func hasResource(ev *Event, f func(Resource) bool) bool {
	for _, r := range ev.Resources {
		if f(r) {
			return true
		}
	}
	return false
}

func matchesResourceName(ev *Event, name string) bool {
	if hasResource(ev, func(r Resource) bool {
		return r.ARN == name || strings.HasSuffix(r.ARN, ":key/"+name)
	}) {
		return true
	}
	if m, ok := ev.RequestParameters.(map[string]any); ok {
		if id, ok := m["keyId"].(string); ok && id == name {
			return true
		}
	}
	return false
}

// fingerprint identifies a query's filters, so that a token is only used
// with the query that made it.
func (q *Query) fingerprint() [8]byte {
	h := sha256.New()
	ro := "-"
	if q.ReadOnly != nil {
		ro = map[bool]string{true: "t", false: "f"}[*q.ReadOnly]
	}
	for _, s := range []string{q.AccountID, q.Region, q.EventName, q.ResourceName, q.ResourceType, q.Username, q.AccessKeyID, q.EventID, q.EventSource, ro,
		q.StartTime.UTC().Format(time.RFC3339Nano), q.EndTime.UTC().Format(time.RFC3339Nano)} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var fp [8]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

// A token is base64url of: version byte 1, the 8-byte fingerprint of the
// query, the 8-byte seq to continue below.
func makeToken(seq uint64, fp [8]byte) string {
	var b [17]byte
	b[0] = 1
	copy(b[1:9], fp[:])
	binary.BigEndian.PutUint64(b[9:], seq)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func parseToken(tok string, fp [8]byte) (uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 17 || b[0] != 1 || !bytes.Equal(b[1:9], fp[:]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[9:]), true
}

// LastUsage returns the last successful cryptographic operation (see
// IsCryptoOperation) on the key with this ARN: its name, time and event id.
// ok is false if the trail holds none. It is answered from memory.
func (l *Log) LastUsage(keyARN string) (eventName string, t time.Time, eventID string, ok bool) {
	u, ok := l.LastUse(keyARN)
	return u.EventName, u.Time, u.EventID, ok
}

// LastUse is LastUsage with the request id of that operation too.
func (l *Log) LastUse(keyARN string) (KeyUse, bool) {
	l.imu.RLock()
	u, ok := l.usage[keyARN]
	l.imu.RUnlock()
	return u, ok
}

// The CloudTrail LookupEvents request and response (JSON 1.1).
type lookupEventsRequest struct {
	LookupAttributes []lookupAttribute `json:"LookupAttributes"`
	StartTime        *awsproto.Time    `json:"StartTime"`
	EndTime          *awsproto.Time    `json:"EndTime"`
	EventCategory    string            `json:"EventCategory"`
	MaxResults       *int64            `json:"MaxResults"`
	NextToken        *string           `json:"NextToken"`
}

type lookupAttribute struct {
	AttributeKey   string `json:"AttributeKey"`
	AttributeValue string `json:"AttributeValue"`
}

// LookupEventsResponse is CloudTrail's LookupEvents reply.
type LookupEventsResponse struct {
	Events    []LookupEvent `json:"Events"`
	NextToken string        `json:"NextToken,omitempty"`
}

// LookupEvent is one event of a LookupEvents reply; CloudTrailEvent is the
// event's JSON as recorded.
type LookupEvent struct {
	EventID         string           `json:"EventId"`
	EventName       string           `json:"EventName"`
	ReadOnly        string           `json:"ReadOnly"`
	AccessKeyID     string           `json:"AccessKeyId,omitempty"`
	EventTime       awsproto.Time    `json:"EventTime"`
	EventSource     string           `json:"EventSource"`
	Username        string           `json:"Username,omitempty"`
	Resources       []LookupResource `json:"Resources"`
	CloudTrailEvent string           `json:"CloudTrailEvent"`
}

// LookupResource is a resource of a LookupEvent.
type LookupResource struct {
	ResourceType string `json:"ResourceType"`
	ResourceName string `json:"ResourceName"`
}

// LookupEvents serves CloudTrail's LookupEvents (target
// com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents) from
// its JSON 1.1 body, with the events of this trail in scope, and returns a
// *LookupEventsResponse. Errors are AWS errors: SerializationException,
// InvalidLookupAttributesException (more than one attribute, an unknown key,
// or an empty value), InvalidTimeRangeException, InvalidMaxResultsException,
// InvalidEventCategoryException, InvalidNextTokenException.
func (l *Log) LookupEvents(ctx context.Context, scope Scope, body []byte) (any, error) {
	return lookupEvents(ctx, scope, body, func(q Query) ([]hit, string, error) { return l.lookup(q) })
}

// KeyLastUse is LastUse for the Events interface: it never fails.
func (l *Log) KeyLastUse(ctx context.Context, keyARN string) (KeyUse, bool, error) {
	u, ok := l.LastUse(keyARN)
	return u, ok, nil
}

// Events answers questions about the audit records: a Log about its own, a
// Mirror about those of every node sharing its event index.
type Events interface {
	// LookupEvents serves CloudTrail's LookupEvents; see Log.LookupEvents.
	LookupEvents(ctx context.Context, scope Scope, body []byte) (any, error)
	// KeyLastUse returns the last successful cryptographic use of the key
	// with this ARN, or ok false if there is none.
	KeyLastUse(ctx context.Context, keyARN string) (u KeyUse, ok bool, err error)
}

var (
	_ Events = (*Log)(nil)
	_ Events = (*Mirror)(nil)
)

// lookupEvents parses a LookupEvents body, finds its events with find and
// builds the reply.
func lookupEvents(ctx context.Context, scope Scope, body []byte, find func(Query) ([]hit, string, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q, insight, err := parseLookupEvents(body)
	if err != nil {
		return nil, err
	}
	q.Scope = scope
	resp := &LookupEventsResponse{Events: []LookupEvent{}}
	if insight {
		return resp, nil // Custos records no Insights events
	}
	hits, next, err := find(q)
	if err != nil {
		return nil, err
	}
	for _, h := range hits {
		ev := &h.ev
		le := LookupEvent{
			EventID:         ev.EventID,
			EventName:       ev.EventName,
			ReadOnly:        map[bool]string{true: "true", false: "false"}[ev.ReadOnly],
			AccessKeyID:     ev.UserIdentity.AccessKeyID,
			EventTime:       awsproto.Time{Time: ev.EventTime},
			EventSource:     ev.EventSource,
			Username:        ev.UserIdentity.Username(),
			Resources:       []LookupResource{},
			CloudTrailEvent: string(h.raw),
		}
		for _, r := range ev.Resources {
			le.Resources = append(le.Resources, LookupResource{ResourceType: r.Type, ResourceName: r.ARN})
		}
		resp.Events = append(resp.Events, le)
	}
	resp.NextToken = next
	return resp, nil
}

// parseLookupEvents turns a LookupEvents body into a Query (without its
// Scope), and reports whether it asks for Insights events.
func parseLookupEvents(body []byte) (q Query, insight bool, err error) {
	var req lookupEventsRequest
	if err := awsproto.DecodeJSON(body, &req); err != nil {
		return Query{}, false, err
	}
	if len(req.LookupAttributes) > 1 {
		return Query{}, false, awsproto.Errorf("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
	}
	for _, a := range req.LookupAttributes {
		if a.AttributeValue == "" || len(a.AttributeValue) > 2000 {
			return Query{}, false, awsproto.Errorf("InvalidLookupAttributesException", "The lookup attribute value must be between 1 and 2000 characters.")
		}
		v := a.AttributeValue
		switch a.AttributeKey {
		case "EventId":
			q.EventID = v
		case "EventName":
			q.EventName = v
		case "ReadOnly":
			ro := strings.EqualFold(v, "true")
			if !ro && !strings.EqualFold(v, "false") {
				return Query{}, false, awsproto.Errorf("InvalidLookupAttributesException", "The value for the ReadOnly lookup attribute must be true or false.")
			}
			q.ReadOnly = &ro
		case "Username":
			q.Username = v
		case "ResourceType":
			q.ResourceType = v
		case "ResourceName":
			q.ResourceName = v
		case "EventSource":
			q.EventSource = v
		case "AccessKeyId":
			q.AccessKeyID = v
		default:
			return Query{}, false, awsproto.Errorf("InvalidLookupAttributesException", "The lookup attribute key is not valid. Valid keys are EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId.")
		}
	}
	if req.EventCategory != "" && req.EventCategory != "insight" {
		return Query{}, false, awsproto.Errorf("InvalidEventCategoryException", "The event category is not valid.")
	}
	if req.StartTime != nil {
		q.StartTime = req.StartTime.Time
	}
	if req.EndTime != nil {
		q.EndTime = req.EndTime.Time
	}
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > MaxLookupResults {
			return Query{}, false, awsproto.Errorf("InvalidMaxResultsException", "Value for parameter MaxResults is invalid. It must be between 1 and 50.")
		}
		q.MaxResults = int(*req.MaxResults)
	}
	if req.NextToken != nil {
		if *req.NextToken == "" {
			return Query{}, false, awsproto.Errorf("InvalidNextTokenException", "Invalid NextToken.")
		}
		q.NextToken = *req.NextToken
	}
	return q, req.EventCategory == "insight", nil
}
