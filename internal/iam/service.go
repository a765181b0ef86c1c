package iam

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// XML namespaces of the Query APIs.
const (
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// SCPSource returns the service control policies that govern an account,
// one slice per level of its organization (root, each OU, the account), as
// policy.Set.SCPs takes them; nil when none apply (no organization, or the
// management account). It must be safe for concurrent use.
type SCPSource func(ctx context.Context, accountID string) ([][]*policy.Policy, error)

// Config wires a Service.
type Config struct {
	Store     store.Store
	Root      *keyring.Root
	Rand      io.Reader
	Now       func() time.Time
	Logger    *slog.Logger
	Directory *Directory
	// SCPs, if set, gives the service control policies that limit the
	// principals of an account, for IAM and STS authorization and for
	// simulations. nil means no account is in an organization.
	SCPs SCPSource
}

// Service serves the IAM and STS APIs. It is safe for concurrent use.
type Service struct {
	store store.Store
	root  *keyring.Root
	rand  io.Reader
	now   func() time.Time
	log   *slog.Logger
	dir   *Directory
	scps  SCPSource

	// gen counts IAM changes: cached compiled policies of a generation
	// older than the current one are stale.
	gen      atomic.Uint64
	cacheMu  sync.RWMutex
	cache    map[string]*cachedPolicies // by user ARN or session access key id
	parsedMu sync.Mutex
	parsed   map[parseKey]*policy.Policy // compiled documents, by kind and text

	assumeCount atomic.Uint64 // drives the sweep of expired sessions
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
	return &Service{
		store: cfg.Store, root: cfg.Root, rand: cfg.Rand, now: cfg.Now, log: log, dir: cfg.Directory, scps: cfg.SCPs,
		cache:  make(map[string]*cachedPolicies),
		parsed: make(map[parseKey]*policy.Policy),
	}, nil
}

// request is one Query call being served.
type request struct {
	c      *caller.Caller
	action string
	form   url.Values
}

// get returns a form value ("" when absent).
func (r *request) get(name string) string { return r.form.Get(name) }

// has reports whether the form carries the field.
func (r *request) has(name string) bool { _, ok := r.form[name]; return ok }

type handler func(s *Service, ctx context.Context, r *request) (any, error)

// iamOps is the table of IAM actions served.
var iamOps = map[string]handler{
	"CreateUser":                    (*Service).createUser,
	"GetUser":                       (*Service).getUser,
	"ListUsers":                     (*Service).listUsers,
	"DeleteUser":                    (*Service).deleteUser,
	"TagUser":                       (*Service).tagEntity,
	"UntagUser":                     (*Service).untagEntity,
	"ListUserTags":                  (*Service).listTags,
	"CreateAccessKey":               (*Service).createAccessKey,
	"ListAccessKeys":                (*Service).listAccessKeys,
	"UpdateAccessKey":               (*Service).updateAccessKey,
	"DeleteAccessKey":               (*Service).deleteAccessKey,
	"CreateRole":                    (*Service).createRole,
	"GetRole":                       (*Service).getRole,
	"ListRoles":                     (*Service).listRoles,
	"DeleteRole":                    (*Service).deleteRole,
	"UpdateAssumeRolePolicy":        (*Service).updateAssumeRolePolicy,
	"TagRole":                       (*Service).tagEntity,
	"UntagRole":                     (*Service).untagEntity,
	"ListRoleTags":                  (*Service).listTags,
	"CreateGroup":                   (*Service).createGroup,
	"GetGroup":                      (*Service).getGroup,
	"ListGroups":                    (*Service).listGroups,
	"DeleteGroup":                   (*Service).deleteGroup,
	"AddUserToGroup":                (*Service).addUserToGroup,
	"RemoveUserFromGroup":           (*Service).removeUserFromGroup,
	"ListGroupsForUser":             (*Service).listGroupsForUser,
	"CreatePolicy":                  (*Service).createPolicy,
	"GetPolicy":                     (*Service).getPolicy,
	"ListPolicies":                  (*Service).listPolicies,
	"DeletePolicy":                  (*Service).deletePolicy,
	"CreatePolicyVersion":           (*Service).createPolicyVersion,
	"GetPolicyVersion":              (*Service).getPolicyVersion,
	"ListPolicyVersions":            (*Service).listPolicyVersions,
	"DeletePolicyVersion":           (*Service).deletePolicyVersion,
	"SetDefaultPolicyVersion":       (*Service).setDefaultPolicyVersion,
	"AttachUserPolicy":              (*Service).attachPolicy,
	"AttachRolePolicy":              (*Service).attachPolicy,
	"AttachGroupPolicy":             (*Service).attachPolicy,
	"DetachUserPolicy":              (*Service).detachPolicy,
	"DetachRolePolicy":              (*Service).detachPolicy,
	"DetachGroupPolicy":             (*Service).detachPolicy,
	"ListAttachedUserPolicies":      (*Service).listAttachedPolicies,
	"ListAttachedRolePolicies":      (*Service).listAttachedPolicies,
	"ListAttachedGroupPolicies":     (*Service).listAttachedPolicies,
	"PutUserPolicy":                 (*Service).putInlinePolicy,
	"PutRolePolicy":                 (*Service).putInlinePolicy,
	"PutGroupPolicy":                (*Service).putInlinePolicy,
	"GetUserPolicy":                 (*Service).getInlinePolicy,
	"GetRolePolicy":                 (*Service).getInlinePolicy,
	"GetGroupPolicy":                (*Service).getInlinePolicy,
	"DeleteUserPolicy":              (*Service).deleteInlinePolicy,
	"DeleteRolePolicy":              (*Service).deleteInlinePolicy,
	"DeleteGroupPolicy":             (*Service).deleteInlinePolicy,
	"ListUserPolicies":              (*Service).listInlinePolicies,
	"ListRolePolicies":              (*Service).listInlinePolicies,
	"ListGroupPolicies":             (*Service).listInlinePolicies,
	"PutUserPermissionsBoundary":    (*Service).putBoundary,
	"PutRolePermissionsBoundary":    (*Service).putBoundary,
	"DeleteUserPermissionsBoundary": (*Service).deleteBoundary,
	"DeleteRolePermissionsBoundary": (*Service).deleteBoundary,
	"SimulatePrincipalPolicy":       (*Service).simulatePrincipalPolicy,
	"SimulateCustomPolicy":          (*Service).simulateCustomPolicy,
}

// stsOps is the table of STS actions served.
var stsOps = map[string]handler{
	"GetCallerIdentity": (*Service).getCallerIdentity,
	"AssumeRole":        (*Service).assumeRole,
}

// IAM serves one IAM Query action; the reply is an *awsproto.QueryResponse.
// Errors are *awsproto.Error values with AWS's codes and HTTP statuses, or
// internal errors (store failures) that the server reports as such.
func (s *Service) IAM(ctx context.Context, c *caller.Caller, action string, form url.Values) (any, error) {
	h := iamOps[action]
	if h == nil {
		return nil, awsproto.Errorf("InvalidAction", "Could not find operation %s for version 2010-05-08", action)
	}
	return s.serve(ctx, h, &request{c: c, action: action, form: form}, IAMNamespace)
}

// STS serves one STS Query action; the reply is an *awsproto.QueryResponse.
func (s *Service) STS(ctx context.Context, c *caller.Caller, action string, form url.Values) (any, error) {
	h := stsOps[action]
	if h == nil {
		return nil, awsproto.Errorf("InvalidAction", "Could not find operation %s for version 2011-06-15", action)
	}
	return s.serve(ctx, h, &request{c: c, action: action, form: form}, STSNamespace)
}

func (s *Service) serve(ctx context.Context, h handler, r *request, namespace string) (any, error) {
	if v := r.get("Version"); v != "" && v != versionOf(namespace) {
		return nil, awsproto.Errorf("InvalidAction", "Could not find operation %s for version %s", r.action, v)
	}
	out, err := h(s, ctx, r)
	if err != nil {
		return nil, err
	}
	return &awsproto.QueryResponse{Action: r.action, Namespace: namespace, Result: out}, nil
}

func versionOf(namespace string) string {
	if namespace == STSNamespace {
		return "2011-06-15"
	}
	return "2010-05-08"
}

// changed records an IAM change: every compiled-policy cache entry is
// stale from now on.
func (s *Service) changed() { s.gen.Add(1) }

// Invalidate forgets every cached identity policy and credential: another
// node changed IAM.
func (s *Service) Invalidate() {
	s.changed()
	s.dir.ForgetAll()
}

// update runs fn in a store transaction and then records the change, so
// that caches never outlive a committed change.
func (s *Service) update(ctx context.Context, fn func(tx store.Tx) error) error {
	err := s.store.Update(ctx, fn)
	s.changed()
	return err
}

// view runs fn in a read-only store transaction.
func (s *Service) view(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.store.View(ctx, fn)
}

// xmlTime is a timestamp as IAM and STS write them: ISO 8601 in UTC, to
// the second.
type xmlTime time.Time

// MarshalText implements encoding.TextMarshaler.
func (t xmlTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05Z")), nil
}

// xmlTag is one tag in a reply.
type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func xmlTags(tags []tag) []xmlTag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]xmlTag, len(tags))
	for i, t := range tags {
		out[i] = xmlTag(t)
	}
	return out
}

// Errors with AWS's IAM and STS codes and statuses.

func errNoSuchEntity(format string, args ...any) error {
	return withStatus(awsproto.Errorf("NoSuchEntity", format, args...), http.StatusNotFound)
}

func errEntityExists(format string, args ...any) error {
	return withStatus(awsproto.Errorf("EntityAlreadyExists", format, args...), http.StatusConflict)
}

func errDeleteConflict(format string, args ...any) error {
	return withStatus(awsproto.Errorf("DeleteConflict", format, args...), http.StatusConflict)
}

func errLimitExceeded(format string, args ...any) error {
	return withStatus(awsproto.Errorf("LimitExceeded", format, args...), http.StatusConflict)
}

func errMalformedPolicy(format string, args ...any) error {
	return withStatus(awsproto.Errorf("MalformedPolicyDocument", format, args...), http.StatusBadRequest)
}

func errInvalidInput(format string, args ...any) error {
	return withStatus(awsproto.Errorf("InvalidInput", format, args...), http.StatusBadRequest)
}

func errValidation(format string, args ...any) error {
	return withStatus(awsproto.Errorf("ValidationError", format, args...), http.StatusBadRequest)
}

func errAccessDenied(format string, args ...any) error {
	return withStatus(awsproto.Errorf("AccessDenied", format, args...), http.StatusForbidden)
}

func withStatus(e *awsproto.Error, status int) *awsproto.Error {
	e.Status = status
	return e
}

// list is a Query-protocol list: <Name><member>...</member>...</Name>. An
// empty list is written as an empty element, as AWS does.
type list[T any] struct {
	Members []T `xml:"member"`
}

func listOf[T any](items []T) list[T] { return list[T]{Members: items} }

// optList is a list written only when it has members.
func optList[T any](items []T) *list[T] {
	if len(items) == 0 {
		return nil
	}
	return &list[T]{Members: items}
}
