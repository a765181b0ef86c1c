// Package kms implements the AWS KMS operations (TrentService) over the
// store and the keyring: AWS's shapes, validation, key states and errors.
//
// The package knows nothing of HTTP: the server decodes nothing but the
// target name, and hands the body to the operation's row in the table.
package kms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store"
)

// Partition is the ARN partition of every resource Custos serves.
const Partition = "aws"

// Caller is the authenticated principal of a request.
type Caller = caller.Caller

// Config wires a Service.
type Config struct {
	Store store.Store
	Root  *keyring.Root
	Rand  io.Reader        // crypto/rand.Reader in production
	Now   func() time.Time // the clock; time.Now in production
	// PrincipalExists reports whether a principal ARN named in a key policy
	// exists; nil accepts every well-formed principal.
	PrincipalExists func(ctx context.Context, arn string) (bool, error)
	// LastUsage answers GetKeyLastUsage from the audit trail: the last
	// successful cryptographic operation on a key. nil: no usage is known.
	LastUsage func(ctx context.Context, keyARN string) (op string, t time.Time, eventID, requestID string, ok bool, err error)
	// TrackingStart is when usage tracking began (the trail's start).
	TrackingStart time.Time
	// OnServiceEvent is told of what the service does by itself: a key
	// deleted at the end of its waiting period ("DeleteKey"), key material
	// rotated ("RotateKey"). It must not block for long.
	OnServiceEvent func(name string, key store.Key)
	// RejectSensitiveContext refuses requests whose encryption context
	// looks like it holds a secret or personal data (audit.InspectContext)
	// with a ValidationException; otherwise such requests are served and
	// the finding goes to the audit trail.
	RejectSensitiveContext bool
	// Lease, when set, is asked before each sweep whether this node is the
	// one that runs the background jobs (several nodes share one database).
	Lease  func(ctx context.Context) (bool, error)
	Logger *slog.Logger
}

// Service serves the KMS operations. It is safe for concurrent use.
type Service struct {
	store           store.Store
	root            *keyring.Root
	rand            io.Reader
	now             func() time.Time
	principalExists func(ctx context.Context, arn string) (bool, error)
	lastUsage       func(ctx context.Context, keyARN string) (op string, t time.Time, eventID, requestID string, ok bool, err error)
	trackingStart   time.Time
	onEvent         func(name string, key store.Key)
	rejectSensitive bool
	lease           func(ctx context.Context) (bool, error)
	log             *slog.Logger
	keys            *keyCache
	grants          grantCache // grants by key, grant tokens (grants.go)
	mu              sync.Mutex // serializes the deletion sweep
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Root == nil || cfg.Rand == nil || cfg.Now == nil {
		return nil, errors.New("kms: Store, Root, Rand and Now are required")
	}
	s := &Service{
		store:           cfg.Store,
		root:            cfg.Root,
		rand:            cfg.Rand,
		now:             cfg.Now,
		principalExists: cfg.PrincipalExists,
		lastUsage:       cfg.LastUsage,
		trackingStart:   cfg.TrackingStart,
		onEvent:         cfg.OnServiceEvent,
		rejectSensitive: cfg.RejectSensitiveContext,
		lease:           cfg.Lease,
		log:             cfg.Logger,
		keys:            newKeyCache(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Invalidate forgets every cached key, alias and grant, so that the next
// request reads them from the store: another node changed something.
func (s *Service) Invalidate() {
	s.keys.invalidateAll()
	s.grants.invalidateAll()
}

// internal logs an internal failure and returns the error a client sees.
func (s *Service) internal(op string, err error) error {
	if _, ok := awsproto.As(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return awsproto.Errorf("DependencyTimeoutException", "The request timed out.")
	}
	if errors.Is(err, store.ErrUnavailable) {
		s.log.Warn("kms: the store is unavailable", "op", op, "err", err)
		return awsproto.Errorf("DependencyTimeoutException", "The service could not reach its database. Retry the request.")
	}
	s.log.Error("kms: internal error", "op", op, "err", err)
	return awsproto.Internal()
}

// update runs fn in a store transaction and reports store failures as
// internal errors; AWS errors returned by fn pass through unchanged.
func (s *Service) update(ctx context.Context, op string, fn func(store.Tx) error) error {
	if err := s.store.Update(ctx, fn); err != nil {
		return s.internal(op, err)
	}
	return nil
}

func (s *Service) view(ctx context.Context, op string, fn func(store.Tx) error) error {
	if err := s.store.View(ctx, fn); err != nil {
		return s.internal(op, err)
	}
	return nil
}

func keyARN(region, account, id string) string {
	return "arn:" + Partition + ":kms:" + region + ":" + account + ":key/" + id
}

func aliasARN(region, account, name string) string {
	return "arn:" + Partition + ":kms:" + region + ":" + account + ":" + name
}

// blobKeyRef is the key reference written into ciphertext headers: the
// owning account and the key id, without the region, so that every related
// multi-Region key can decrypt.
func blobKeyRef(account, id string) string { return account + "/" + id }

func wrapAAD(arn, materialID string) []byte {
	return []byte(fmt.Sprintf("custos/material/v1\x00%s\x00%s", arn, materialID))
}
