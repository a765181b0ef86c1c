// Package org serves AWS Organizations: the organization, its accounts and
// organizational units, and service control policies (SCPs), with the
// request and response shapes and the errors of AWS Organizations
// (JSON 1.1, X-Amz-Target AWSOrganizationsV20161128.<Operation>).
//
// Every entity is a store.Document (see model.go for the kinds). For
// authorization, SCPsOf tells which SCPs govern an account.
//
// Custos extension: CreateAccount creates the account at once (State
// SUCCEEDED) and returns the new account's root credentials once, in the
// member CustosRootCredentials {AccessKeyId, SecretAccessKey} of its
// CreateAccountStatus: AWS has no API that returns them. They are never
// returned again; DescribeCreateAccountStatus does not carry them.
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

	// Authorize decides whether a principal that is not its account's root
	// may perform action ("organizations:AttachPolicy") on resource (an
	// Organizations ARN, or "*"). It returns nil to allow, or the error the
	// client sees (an AccessDeniedException *awsproto.Error). An operation
	// on several resources asks once for each. Nil allows everything. It
	// is called outside any store transaction and must be safe for
	// concurrent use.
	Authorize func(ctx context.Context, c *caller.Caller, action, resource string) error
}

// Service serves the Organizations API. It is safe for concurrent use.
type Service struct {
	store     store.Store
	rand      io.Reader
	now       func() time.Time
	log       *slog.Logger
	dir       *iam.Directory
	authorize func(ctx context.Context, c *caller.Caller, action, resource string) error

	scp scpCache
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
	s := &Service{store: cfg.Store, rand: cfg.Rand, now: cfg.Now, log: log, dir: cfg.Directory, authorize: cfg.Authorize}
	s.scp.init()
	return s, nil
}

// operation is one row of the operation table.
type operation struct {
	maxBody int64
	call    func(s *Service, ctx context.Context, c *caller.Caller, body []byte) (any, error)
}

// Body limits: a policy document may be up to 1,000,000 characters in the
// API model (SCPs are then held to 5,120), which JSON may escape.
const (
	smallBody  = 64 << 10
	policyBody = 2 << 20
)

// row makes a table row whose handler decodes the JSON body into I.
func row[I, O any](maxBody int64, fn func(*Service, context.Context, *caller.Caller, *I) (*O, error)) operation {
	return operation{maxBody: maxBody, call: func(s *Service, ctx context.Context, c *caller.Caller, body []byte) (any, error) {
		var in I
		if err := awsproto.DecodeJSON(body, &in); err != nil {
			return nil, err
		}
		out, err := fn(s, ctx, c, &in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}}
}

// operations is the table of the Organizations operations Custos serves.
var operations = map[string]operation{
	// The organization.
	"CreateOrganization":   row(smallBody, (*Service).createOrganization),
	"DescribeOrganization": row(smallBody, (*Service).describeOrganization),
	"DeleteOrganization":   row(smallBody, (*Service).deleteOrganization),
	"ListRoots":            row(smallBody, (*Service).listRoots),
	"EnablePolicyType":     row(smallBody, (*Service).enablePolicyType),
	"DisablePolicyType":    row(smallBody, (*Service).disablePolicyType),
	// Accounts.
	"CreateAccount":               row(smallBody, (*Service).createAccount),
	"DescribeCreateAccountStatus": row(smallBody, (*Service).describeCreateAccountStatus),
	"ListCreateAccountStatus":     row(smallBody, (*Service).listCreateAccountStatus),
	"DescribeAccount":             row(smallBody, (*Service).describeAccount),
	"ListAccounts":                row(smallBody, (*Service).listAccounts),
	"ListAccountsForParent":       row(smallBody, (*Service).listAccountsForParent),
	"MoveAccount":                 row(smallBody, (*Service).moveAccount),
	"ListParents":                 row(smallBody, (*Service).listParents),
	"ListChildren":                row(smallBody, (*Service).listChildren),
	// Organizational units.
	"CreateOrganizationalUnit":         row(smallBody, (*Service).createOrganizationalUnit),
	"DescribeOrganizationalUnit":       row(smallBody, (*Service).describeOrganizationalUnit),
	"UpdateOrganizationalUnit":         row(smallBody, (*Service).updateOrganizationalUnit),
	"DeleteOrganizationalUnit":         row(smallBody, (*Service).deleteOrganizationalUnit),
	"ListOrganizationalUnitsForParent": row(smallBody, (*Service).listOrganizationalUnitsForParent),
	// Policies.
	"CreatePolicy":          row(policyBody, (*Service).createPolicy),
	"UpdatePolicy":          row(policyBody, (*Service).updatePolicy),
	"DeletePolicy":          row(smallBody, (*Service).deletePolicy),
	"DescribePolicy":        row(smallBody, (*Service).describePolicy),
	"ListPolicies":          row(smallBody, (*Service).listPolicies),
	"AttachPolicy":          row(smallBody, (*Service).attachPolicy),
	"DetachPolicy":          row(smallBody, (*Service).detachPolicy),
	"ListPoliciesForTarget": row(smallBody, (*Service).listPoliciesForTarget),
	"ListTargetsForPolicy":  row(smallBody, (*Service).listTargetsForPolicy),
}

// MaxBody returns the largest request body operation op accepts, and
// whether the operation exists.
func MaxBody(op string) (int64, bool) {
	o, ok := operations[op]
	return o.maxBody, ok
}

// Call serves one Organizations operation with a JSON request body. It
// returns the reply to encode as JSON, or an error: an *awsproto.Error with
// AWS's exception name for every failure a client may see; a fault of
// Custos itself is logged and returned as a ServiceException.
func (s *Service) Call(ctx context.Context, c *caller.Caller, op string, body []byte) (any, error) {
	o, ok := operations[op]
	if !ok {
		return nil, &awsproto.Error{Code: "UnknownOperationException", Status: 400}
	}
	out, err := o.call(s, ctx, c, body)
	if err != nil {
		if errors.Is(err, errNoOrganization) {
			return nil, notInUse()
		}
		if _, ok := awsproto.As(err); !ok {
			if ctx.Err() == nil {
				s.log.Error("org: request failed", "op", op, "err", err)
			}
			return nil, serviceError()
		}
		return nil, err
	}
	return out, nil
}

// member is the organization of the caller's account.
type member struct {
	membershipRec
	account string
}

func (m *member) isManagement() bool { return m.account == m.Management }

// membershipOf returns the organization of the caller's account, or
// AWSOrganizationsNotInUseException.
func (s *Service) membershipOf(ctx context.Context, c *caller.Caller) (*member, error) {
	m := &member{account: c.AccountID}
	var ok bool
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		m.membershipRec, ok, err = membership(tx, c.AccountID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notInUse()
	}
	return m, nil
}

// management returns the organization of the caller's account after
// checking that the account is its management account and that the
// caller may perform action on the resources that resources names (nil
// for "*").
func (s *Service) management(ctx context.Context, c *caller.Caller, action string, resources func(m *member) []string) (*member, error) {
	m, err := s.membershipOf(ctx, c)
	if err != nil {
		return nil, err
	}
	if !m.isManagement() {
		return nil, accessDenied()
	}
	var arns []string
	if resources != nil {
		arns = resources(m)
	}
	if err := s.allow(ctx, c, action, arns...); err != nil {
		return nil, err
	}
	return m, nil
}

// allow asks the Authorize hook about a principal that is not a root.
func (s *Service) allow(ctx context.Context, c *caller.Caller, action string, resources ...string) error {
	if s.authorize == nil || c.IsRoot() {
		return nil
	}
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for _, r := range resources {
		if err := s.authorize(ctx, c, "organizations:"+action, r); err != nil {
			return err
		}
	}
	return nil
}

// read runs fn on the caller's organization in a read-only transaction.
func (s *Service) read(ctx context.Context, m *member, fn func(st *state) error) error {
	return s.store.View(ctx, func(tx store.Tx) error {
		st, err := load(tx, m.Management)
		if err != nil {
			return err
		}
		if st.org.ID != m.Organization {
			return errNoOrganization
		}
		return fn(st)
	})
}

// write runs fn on the caller's organization in a read-write transaction
// and saves what it changed. Every write invalidates the SCP cache.
func (s *Service) write(ctx context.Context, m *member, fn func(tx store.Tx, st *state) error) error {
	defer s.scp.invalidate()
	return s.store.Update(ctx, func(tx store.Tx) error {
		st, err := load(tx, m.Management)
		if err != nil {
			return err
		}
		if st.org.ID != m.Organization {
			return errNoOrganization
		}
		if err := fn(tx, st); err != nil {
			return err
		}
		return st.save(tx, s.now().UTC())
	})
}
