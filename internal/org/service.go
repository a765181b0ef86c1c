// Package org serves AWS Organizations: the organization, its accounts and
// organizational units, and service control policies.
package org

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/iam"
	"github.com/custoskms/custos/internal/store"
)

// Config wires a Service.
type Config struct {
	Store     store.Store
	Rand      io.Reader
	Now       func() time.Time
	Logger    *slog.Logger
	Directory *iam.Directory // to create accounts and their root credentials
}

// Service serves the Organizations API (JSON 1.1, AWSOrganizationsV20161128).
// It is safe for concurrent use.
type Service struct {
	store store.Store
	rand  io.Reader
	now   func() time.Time
	log   *slog.Logger
	dir   *iam.Directory
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Rand == nil || cfg.Now == nil || cfg.Directory == nil {
		return nil, errors.New("org: Store, Rand, Now and Directory are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: cfg.Store, rand: cfg.Rand, now: cfg.Now, log: log, dir: cfg.Directory}, nil
}

// MaxBody returns the largest request body operation op accepts, and
// whether the operation exists.
func MaxBody(op string) (int64, bool) {
	return 0, false
}

// Call serves one Organizations operation with a JSON request body.
func (s *Service) Call(ctx context.Context, c *caller.Caller, op string, body []byte) (any, error) {
	return nil, &awsproto.Error{Code: "UnknownOperationException", Status: 400}
}
