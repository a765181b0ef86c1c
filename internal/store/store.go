// Package store defines the persistence interface of Custos: KMS keys, their
// wrapped key material, aliases, tags, accounts and credentials, read and
// written in transactions.
//
// Implementations live in subpackages (sqlite, postgres) and must all pass
// the conformance suite in package storetest.
//
// The store does not interpret what it keeps. Enumerated values (KeyState
// "Enabled", KeySpec "SYMMETRIC_DEFAULT", ...) are persisted as strings
// exactly as AWS spells them and returned unchanged. Key material and secret
// access keys only ever reach the store wrapped under the root key.
//
// Timestamps are kept with at least millisecond precision and returned in
// UTC; the zero time.Time round-trips as the zero time.
//
// Strings compare and sort byte-wise (as Go compares strings), which is the
// order of every "ordered by" below.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors returned by Tx methods, wrapped; test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrConflict = errors.New("store: version conflict") // optimistic concurrency failure

	// ErrUnavailable is wrapped by the errors of View, Update, Notifier and
	// Leaser methods when the database cannot be reached (connection
	// refused or lost, server shutting down). It is transient: the same
	// call may succeed later, without reopening the Store. When Update
	// returns it, the transaction may or may not have been committed (the
	// connection was lost during the commit); nothing is ever reported as
	// committed that was not.
	ErrUnavailable = errors.New("store: database unavailable")
)

// SchemaVersionError is returned when opening a database whose schema is
// newer than the running binary knows, so that an older binary never writes
// to a database a newer one has migrated.
type SchemaVersionError struct {
	Have int // schema version recorded in the database
	Max  int // newest schema version this binary knows
}

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("store: database schema version %d is newer than this binary supports (%d)", e.Have, e.Max)
}

// Key is one KMS key. Its identity is its ARN: the same ID may exist in
// several Regions (multi-Region keys) and those are different keys.
type Key struct {
	ARN                string // arn:aws:kms:<region>:<account>:key/<id>
	AccountID, Region  string
	ID                 string // UUID or "mrk-..."
	CreatedAt          time.Time
	Description        string
	KeySpec            string
	KeyUsage           string
	Origin             string
	KeyManager         string
	State              string
	DeletionDate       time.Time // zero when not pending deletion
	PendingWindowDays  int
	MultiRegion        bool
	MultiRegionKeyType string // "", "PRIMARY", "REPLICA"
	PrimaryRegion      string
	Policy             string // key policy document, exact text
	CurrentMaterialID  string
	RotationEnabled    bool
	RotationPeriodDays int
	NextRotation       time.Time
	Version            int64 // set by the store: 1 on insert, +1 on every UpdateKey
}

// Material is one version of a key's material, wrapped under the root key.
// The store never sees plaintext material.
type Material struct {
	KeyARN    string
	ID        string // 64 hex digits
	Wrapped   []byte
	CreatedAt time.Time
	State     string // "CURRENT", "NON_CURRENT", ...
}

// Alias names a key within one account and Region.
type Alias struct {
	AccountID, Region    string
	Name                 string // "alias/..."
	TargetKeyID          string // key id (not ARN) in the same account and Region
	CreatedAt, UpdatedAt time.Time
}

// Document is a JSON document of one kind in one account: the entities
// whose shape belongs to the package that owns them (IAM users, roles,
// groups, policies and sessions; Organizations). The store keeps Body as
// given and never interprets it.
type Document struct {
	Kind      string // e.g. "iam/user"
	AccountID string
	Name      string // unique within kind and account
	Body      []byte
	Version   int64 // set by the store: 1 on insert, +1 on every UpdateDocument
	UpdatedAt time.Time
}

// Tag is one resource tag of a key.
type Tag struct{ Key, Value string }

// Account is one tenant account.
type Account struct {
	ID        string
	CreatedAt time.Time
}

// Credential is one access key of a principal.
type Credential struct {
	AccessKeyID   string
	AccountID     string
	PrincipalARN  string
	WrappedSecret []byte // secret access key wrapped under the root key
	Status        string // "Active" | "Inactive"
	CreatedAt     time.Time
}

// Store is a transactional store. It is safe for concurrent use.
type Store interface {
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot of committed data. Write methods of its Tx fail. View returns
	// fn's error, or an error if the transaction cannot start or ctx ends.
	View(ctx context.Context, fn func(Tx) error) error

	// Update runs fn in a read-write transaction and commits it durably
	// (synced to stable storage) before returning nil. If fn returns an
	// error or panics, or ctx ends before the commit, nothing fn did is
	// written and Update returns that error (or panics again). Concurrent
	// Updates are serialized or retried internally, never lost; fn may
	// therefore run more than once and must have no side effects beyond the
	// Tx. fn must not call Update or View on the same Store.
	Update(ctx context.Context, fn func(Tx) error) error

	// Close releases the store. Transactions must not be running.
	Close() error
}

// Tx is one transaction. It is valid only inside the function given to View
// or Update, and is not safe for concurrent use.
//
// A limit <= 0 means no limit. Write methods called in a View fail. After a
// method returns ErrNotFound, ErrExists or ErrConflict the transaction is
// unchanged and remains usable; after any other error it must be abandoned
// (fn returns an error).
type Tx interface {
	// GetKey returns the key with this ARN, or ErrNotFound.
	GetKey(arn string) (Key, error)
	// InsertKey stores a new key with Version 1 (k.Version is ignored), or
	// returns ErrExists if k.ARN is taken.
	InsertKey(k Key) error
	// UpdateKey replaces the stored key having k.ARN if its Version equals
	// k.Version, and returns the stored row, whose Version is one more.
	// AccountID, Region, ID and CreatedAt never change: those of k are
	// ignored. It returns ErrNotFound if there is no such key and
	// ErrConflict if k.Version is not the stored version.
	UpdateKey(k Key) (Key, error)
	// DeleteKey deletes the key and with it its materials, its tags and
	// every alias targeting it (same account and Region, TargetKeyID equal
	// to the key's ID). It returns ErrNotFound if there is no such key.
	DeleteKey(arn string) error
	// ListKeys returns the keys of one account and Region whose ARN is
	// greater than after, ordered by ARN, at most limit.
	ListKeys(accountID, region, after string, limit int) ([]Key, error)
	// KeysPendingDeletion returns keys of any account and Region with State
	// "PendingDeletion" and a non-zero DeletionDate <= due, ordered by
	// DeletionDate then ARN, at most limit.
	KeysPendingDeletion(due time.Time, limit int) ([]Key, error)
	// GetDocument returns a document, or ErrNotFound.
	GetDocument(kind, accountID, name string) (Document, error)
	// InsertDocument stores a new document with Version 1, or returns
	// ErrExists.
	InsertDocument(d Document) error
	// UpdateDocument replaces Body and UpdatedAt of an existing document. It
	// returns ErrNotFound if there is none and ErrConflict if d.Version is
	// not the stored version; on success it returns the stored document.
	UpdateDocument(d Document) (Document, error)
	// DeleteDocument deletes a document, or returns ErrNotFound.
	DeleteDocument(kind, accountID, name string) error
	// ListDocuments returns the documents of one kind in one account ordered
	// by name, those with Name > after, at most limit. An empty accountID
	// lists every account's documents of that kind, ordered by account then
	// name (after is then ignored).
	ListDocuments(kind, accountID, after string, limit int) ([]Document, error)

	// KeysDueForRotation returns keys of any account and Region with State
	// "Enabled", RotationEnabled and a non-zero NextRotation <= due, ordered
	// by NextRotation then ARN, at most limit.
	KeysDueForRotation(due time.Time, limit int) ([]Key, error)

	// InsertMaterial stores a new material version. It returns ErrExists if
	// the key already has a material with m.ID, and ErrNotFound if there is
	// no key m.KeyARN.
	InsertMaterial(m Material) error
	// UpdateMaterial replaces Wrapped, CreatedAt and State of the material
	// identified by m.KeyARN and m.ID, or returns ErrNotFound.
	UpdateMaterial(m Material) error
	// Materials returns the materials of a key ordered by CreatedAt then ID;
	// none (and no error) for an unknown key.
	Materials(keyARN string) ([]Material, error)

	// GetAlias returns one alias, or ErrNotFound.
	GetAlias(accountID, region, name string) (Alias, error)
	// InsertAlias stores a new alias, or returns ErrExists if the name is
	// taken in that account and Region. The store does not check that the
	// target key exists.
	InsertAlias(a Alias) error
	// UpdateAlias replaces TargetKeyID and UpdatedAt of an alias (CreatedAt
	// never changes), or returns ErrNotFound.
	UpdateAlias(a Alias) error
	// DeleteAlias deletes one alias, or returns ErrNotFound.
	DeleteAlias(accountID, region, name string) error
	// ListAliases returns the aliases of one account and Region whose Name
	// is greater than after, ordered by Name, at most limit; only those
	// targeting targetKeyID unless it is "".
	ListAliases(accountID, region, targetKeyID, after string, limit int) ([]Alias, error)
	// CountAliases counts the aliases of one account and Region; only those
	// targeting targetKeyID unless it is "".
	CountAliases(accountID, region, targetKeyID string) (int, error)

	// Tags returns the tags of a key ordered by Key; none (and no error) for
	// an unknown key.
	Tags(keyARN string) ([]Tag, error)
	// PutTags sets each tag, replacing the value of an existing tag key; if
	// tags repeats a tag key the last one wins. It returns ErrNotFound if
	// there is no key keyARN.
	PutTags(keyARN string, tags []Tag) error
	// DeleteTags deletes the tags with these tag keys; missing ones are not
	// an error.
	DeleteTags(keyARN string, keys []string) error

	// GetAccount returns one account, or ErrNotFound.
	GetAccount(id string) (Account, error)
	// InsertAccount stores a new account, or returns ErrExists.
	InsertAccount(a Account) error

	// GetCredential returns one credential, or ErrNotFound.
	GetCredential(accessKeyID string) (Credential, error)
	// InsertCredential stores a new credential, or returns ErrExists.
	InsertCredential(c Credential) error
	// UpdateCredential replaces every field of the credential with
	// c.AccessKeyID, or returns ErrNotFound.
	UpdateCredential(c Credential) error
	// DeleteCredential deletes one credential, or returns ErrNotFound.
	DeleteCredential(accessKeyID string) error
	// ListCredentials returns the credentials of an account ordered by
	// AccessKeyID.
	ListCredentials(accountID string) ([]Credential, error)
}

// Notifier is implemented by stores that tell the caches of every node
// sharing the database when something they hold has changed. It is safe
// for concurrent use.
type Notifier interface {
	// Notify signals channel on every node's subscribers, this node's
	// included. Call it after the Update that made the change has
	// committed. Subscribers learn of it within the staleness bound the
	// implementation documents, even if they miss the notification itself,
	// and within a longer periodic resync if the Notify never happens (the
	// node died between its commit and its Notify). Channel names are 1 to
	// 63 bytes.
	Notify(ctx context.Context, channel string) error

	// Subscribe returns a channel that receives a value once the
	// subscription is in place, and after each Notify of channel made on
	// any node once Subscribe has returned (within the implementation's
	// staleness bound). Signals are coalesced (the channel has a buffer of
	// one: a slow reader sees one signal for many Notifies) and may be
	// spurious, so a subscriber re-reads what it caches on every signal:
	// `for range c { reload() }` loads at once and then on each change. An
	// implementation that loses touch with its database keeps signalling,
	// so that the reload meets ErrUnavailable. The channel is closed when
	// ctx ends or the Store is closed. Subscribe does not wait for the
	// database.
	Subscribe(ctx context.Context, channel string) (<-chan struct{}, error)
}

// Leaser is implemented by stores that elect one node to run a background
// job (key deletion, rotation). It is safe for concurrent use.
type Leaser interface {
	// TryLease acquires or renews the lease name for ttl and reports whether
	// this Store holds it. When it returns true, no other Store holds the
	// lease until at least ttl after TryLease was called; the holder renews
	// it (every ttl/3, say) for as long as it works, and stops working when
	// a renewal fails or the ttl has passed since the last successful call.
	// A lease whose holder stops renewing (or dies) can be taken by another
	// Store ttl after its last renewal.
	TryLease(ctx context.Context, name string, ttl time.Duration) (held bool, err error)
}
