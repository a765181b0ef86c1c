package iam

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store"
)

// XML namespaces of the Query APIs.
const (
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// Config wires a Service.
type Config struct {
	Store     store.Store
	Root      *keyring.Root
	Rand      io.Reader
	Now       func() time.Time
	Logger    *slog.Logger
	Directory *Directory
}

// Service serves the IAM and STS APIs. It is safe for concurrent use.
type Service struct {
	store store.Store
	root  *keyring.Root
	rand  io.Reader
	now   func() time.Time
	log   *slog.Logger
	dir   *Directory
}

// NewService returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Root == nil || cfg.Rand == nil || cfg.Now == nil || cfg.Directory == nil {
		return nil, errors.New("iam: Store, Root, Rand, Now and Directory are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: cfg.Store, root: cfg.Root, rand: cfg.Rand, now: cfg.Now, log: log, dir: cfg.Directory}, nil
}

// IAM serves one IAM Query action; the reply is an *awsproto.QueryResponse.
func (s *Service) IAM(ctx context.Context, c *caller.Caller, action string, form url.Values) (any, error) {
	return nil, awsproto.Errorf("InvalidAction", "Could not find operation %s for version 2010-05-08", action)
}

// STS serves one STS Query action; the reply is an *awsproto.QueryResponse.
func (s *Service) STS(ctx context.Context, c *caller.Caller, action string, form url.Values) (any, error) {
	return nil, awsproto.Errorf("InvalidAction", "Could not find operation %s for version 2011-06-15", action)
}
