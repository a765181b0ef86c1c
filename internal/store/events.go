package store

import (
	"context"
	"time"
)

// EventIndex is implemented by stores that several nodes share, to hold an
// index of every node's audit records: LookupEvents and GetKeyLastUsage on
// any node then see the records of all. Each node's trail stays the
// authority (hash-chained and signed on the node); the index is a copy that
// a node fills after its records are durable, so it may lag by the copy
// interval. It is safe for concurrent use.
type EventIndex interface {
	// PutEvents adds events, all of one node and in ascending Seq, in one
	// transaction, and raises the last use of each key in UsedKeys to the
	// event's time when that is not older than what the index holds. It
	// returns an error wrapping ErrUnavailable if the database cannot be
	// reached; then none of the events were added. It keeps nothing of
	// events once it returns.
	PutEvents(ctx context.Context, events []IndexedEvent) error

	// IndexedThrough returns the highest Seq of node's events in the index,
	// or 0 if it holds none: where that node's next PutEvents starts.
	IndexedThrough(ctx context.Context, node string) (uint64, error)

	// FindEvents returns the events that match f, newest first (by Time,
	// then Node, then Seq, all descending), at most f.Limit of them.
	FindEvents(ctx context.Context, f EventFilter) ([]IndexedEvent, error)

	// LastKeyUse returns the newest event that lists keyARN in UsedKeys, or
	// ok false if there is none. Only its Time, EventName, EventID and
	// RequestID are set.
	LastKeyUse(ctx context.Context, keyARN string) (e IndexedEvent, ok bool, err error)

	// DeleteEventsBefore removes events whose Time is before t and returns
	// how many went. The events of one PutEvents call may be kept together
	// until all of them are before t. Last key uses are kept.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
}

// IndexedEvent is an audit record as the event index holds it: the fields
// LookupEvents filters on, taken from the record, and the record's event
// JSON as the node wrote it.
type IndexedEvent struct {
	Node string // the recording node's trail (see audit.Log.NodeID)
	Seq  uint64 // the record's place in that trail, from 1

	Time          time.Time // eventTime, UTC whole seconds
	AccountIDs    []string  // the accounts that see the event: recipientAccountId, and the caller's if another
	Region        string    // awsRegion
	EventID       string
	EventName     string
	EventSource   string
	Username      string // as CloudTrail's LookupEvents shows it
	AccessKeyID   string
	ReadOnly      bool
	RequestID     string
	ResourceNames []string // every name LookupEvents' ResourceName matches: resources[].ARN, the key ids at their ends, requestParameters.keyId
	ResourceTypes []string // resources[].type
	UsedKeys      []string // key ARNs whose last use this event is (successful cryptographic operations)
	Event         []byte   // the event's JSON
}

// EventFilter selects events for FindEvents: events that AccountID sees
// (it is one of their AccountIDs) in Region, both required, and that match
// the other fields: an empty string filter or a nil ReadOnly matches everything;
// zero Start and End leave the time range open (both are inclusive).
type EventFilter struct {
	AccountID, Region string

	EventID      string
	EventName    string
	EventSource  string
	Username     string
	AccessKeyID  string
	ResourceName string
	ResourceType string
	ReadOnly     *bool
	Start, End   time.Time

	After *EventPosition // continue with the events older than this one
	Limit int            // at least 1
}

// EventPosition is an event's place in FindEvents' order.
type EventPosition struct {
	Time time.Time
	Node string
	Seq  uint64
}
