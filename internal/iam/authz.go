package iam

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Policies are the compiled policies that govern one principal, as
// policy.Set takes them. A *Policies returned by the Service is shared and
// immutable: never modify it.
type Policies struct {
	// Identity holds a user's inline and attached policies and those of its
	// groups, or a role's inline and attached policies (for its sessions).
	Identity []*policy.Policy
	// Boundary is the permissions boundary of the user or role, or nil.
	Boundary *policy.Policy
	// Session holds the policies passed to AssumeRole (inline Policy and
	// PolicyArns), or nil when none were.
	Session []*policy.Policy
}

// noPolicies is what a root principal has.
var noPolicies = &Policies{}

type cachedPolicies struct {
	gen uint64
	p   *Policies
}

type parseKey struct {
	kind policy.Kind
	doc  string
}

// PoliciesOf returns the compiled identity policies, permissions boundary
// and session policies of the caller: for a user, its inline and attached
// policies and those of its groups; for an assumed-role session, its role's
// and the session's; for a root, none. The result is cached: a repeated
// call with no IAM change in between costs a map lookup and no allocation.
// Any IAM change (of any principal) invalidates the cache. It returns an
// error only when the store fails or a stored policy no longer compiles
// (fail closed). Safe for concurrent use.
func (s *Service) PoliciesOf(ctx context.Context, c *caller.Caller) (*Policies, error) {
	if c.Type == TypeRoot || c.Type == "" {
		return noPolicies, nil
	}
	key := c.ARN
	if c.Type == TypeAssumedRole {
		key = c.AccessKeyID
	}
	gen := s.gen.Load()
	s.cacheMu.RLock()
	e := s.cache[key]
	s.cacheMu.RUnlock()
	if e != nil && e.gen == gen {
		return e.p, nil
	}
	var pp principalPolicies
	err := s.view(ctx, func(tx store.Tx) error {
		var err error
		pp, err = s.policiesOfCaller(tx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	p, err := s.compileAll(pp)
	if err != nil {
		return nil, err
	}
	s.cacheMu.Lock()
	if len(s.cache) > 50_000 {
		clear(s.cache)
	}
	s.cache[key] = &cachedPolicies{gen: gen, p: p}
	s.cacheMu.Unlock()
	return p, nil
}

// sourced is one policy document with where it comes from, as simulations
// report it.
type sourced struct {
	id  string // inline policy name or managed policy ARN; "PolicyInputList.1" ...
	typ string // AWS's PolicySourceType: "user", "group", "role", "user-managed", "aws-managed", "resource", "none"
	doc string
	arn string // a managed policy's ARN; "" for inline and given documents
}

// principalPolicies are the documents that govern a principal.
type principalPolicies struct {
	identity []sourced
	boundary *sourced
	session  []sourced
}

func (s *Service) policiesOfCaller(tx store.Tx, c *caller.Caller) (principalPolicies, error) {
	switch c.Type {
	case TypeIAMUser:
		u, _, ok, err := getDoc[userDoc](tx, kindUser, c.AccountID, c.UserName)
		if err != nil || !ok {
			return principalPolicies{}, err
		}
		return userPolicies(tx, c.AccountID, u)
	case TypeAssumedRole:
		r, _, ok, err := getDoc[roleDoc](tx, kindRole, c.AccountID, c.RoleName)
		if err != nil || !ok {
			return principalPolicies{}, err
		}
		pp, err := rolePolicies(tx, c.AccountID, r)
		if err != nil {
			return pp, err
		}
		sess, _, ok, err := getDoc[sessionDoc](tx, kindSession, c.AccountID, c.AccessKeyID)
		if err != nil {
			return pp, err
		}
		if !ok {
			// The session is gone (its role was deleted): it may do nothing.
			return principalPolicies{}, nil
		}
		pp.session = sessionPolicies(sess)
		return pp, nil
	}
	return principalPolicies{}, nil
}

func sessionPolicies(sess *sessionDoc) []sourced {
	var out []sourced
	if sess.Policy != "" {
		out = append(out, sourced{id: "SessionPolicy", typ: "none", doc: sess.Policy})
	}
	for i, d := range sess.PolicyDocs {
		out = append(out, sourced{id: sess.PolicyARNs[i], typ: "user-managed", doc: d, arn: sess.PolicyARNs[i]})
	}
	return out
}

// userPolicies returns a user's policies: inline (by name), attached (in
// attach order), then each group's inline and attached policies.
func userPolicies(tx store.Tx, account string, u *userDoc) (principalPolicies, error) {
	var pp principalPolicies
	for _, name := range sortedKeys(u.Inline) {
		pp.identity = append(pp.identity, sourced{id: name, typ: "user", doc: u.Inline[name]})
	}
	if err := appendManaged(tx, account, &pp.identity, u.Attached); err != nil {
		return pp, err
	}
	for _, gname := range u.Groups {
		g, _, ok, err := getDoc[groupDoc](tx, kindGroup, account, gname)
		if err != nil {
			return pp, err
		}
		if !ok {
			continue
		}
		for _, name := range sortedKeys(g.Inline) {
			pp.identity = append(pp.identity, sourced{id: name, typ: "group", doc: g.Inline[name]})
		}
		if err := appendManaged(tx, account, &pp.identity, g.Attached); err != nil {
			return pp, err
		}
	}
	b, err := boundaryOf(tx, account, u.Boundary)
	pp.boundary = b
	return pp, err
}

func rolePolicies(tx store.Tx, account string, r *roleDoc) (principalPolicies, error) {
	var pp principalPolicies
	for _, name := range sortedKeys(r.Inline) {
		pp.identity = append(pp.identity, sourced{id: name, typ: "role", doc: r.Inline[name]})
	}
	if err := appendManaged(tx, account, &pp.identity, r.Attached); err != nil {
		return pp, err
	}
	b, err := boundaryOf(tx, account, r.Boundary)
	pp.boundary = b
	return pp, err
}

func appendManaged(tx store.Tx, account string, out *[]sourced, arns []string) error {
	for _, arn := range arns {
		p, err := managedPolicy(tx, account, arn)
		if err != nil {
			return err
		}
		if p != nil {
			*out = append(*out, sourced{id: p.Name, typ: "user-managed", doc: p.defaultDocument(), arn: p.ARN})
		}
	}
	return nil
}

func boundaryOf(tx store.Tx, account, arn string) (*sourced, error) {
	if arn == "" {
		return nil, nil
	}
	p, err := managedPolicy(tx, account, arn)
	if err != nil {
		return nil, err
	}
	if p == nil {
		// A boundary cannot be deleted while in use; if it is gone anyway,
		// fail closed: a boundary that allows nothing.
		return &sourced{id: arn, typ: "user-managed", doc: denyAllDocument, arn: arn}, nil
	}
	return &sourced{id: p.Name, typ: "user-managed", doc: p.defaultDocument(), arn: p.ARN}, nil
}

// denyAllDocument is an identity policy that allows nothing.
const denyAllDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`

// managedPolicy returns the customer managed policy with this ARN in
// account, or nil.
func managedPolicy(tx store.Tx, account, arn string) (*policyDoc, error) {
	a, ok := parseARN(arn)
	if !ok || a.Service != "iam" || a.Account != account || !strings.HasPrefix(a.Resource, "policy/") {
		return nil, nil
	}
	_, _, name := pathAndName(a.Resource)
	p, _, ok, err := getDoc[policyDoc](tx, kindPolicy, account, name)
	if err != nil || !ok || p.ARN != arn {
		return nil, err
	}
	return p, nil
}

// compileAll compiles a principal's documents.
func (s *Service) compileAll(pp principalPolicies) (*Policies, error) {
	p := &Policies{}
	for _, d := range pp.identity {
		c, err := s.compile(d.doc, policy.Identity)
		if err != nil {
			return nil, err
		}
		p.Identity = append(p.Identity, c)
	}
	if pp.boundary != nil {
		c, err := s.compile(pp.boundary.doc, policy.Identity)
		if err != nil {
			return nil, err
		}
		p.Boundary = c
	}
	for _, d := range pp.session {
		c, err := s.compile(d.doc, policy.Identity)
		if err != nil {
			return nil, err
		}
		p.Session = append(p.Session, c)
	}
	return p, nil
}

// compile parses a stored document, once per distinct text.
func (s *Service) compile(doc string, kind policy.Kind) (*policy.Policy, error) {
	k := parseKey{kind, doc}
	s.parsedMu.Lock()
	p := s.parsed[k]
	s.parsedMu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := policy.Parse(doc, kind)
	if err != nil {
		return nil, fmt.Errorf("iam: a stored policy no longer compiles: %w", err)
	}
	s.parsedMu.Lock()
	if len(s.parsed) > 10_000 {
		clear(s.parsed)
	}
	s.parsed[k] = p
	s.parsedMu.Unlock()
	return p, nil
}

// parseInput parses a policy document given in a request; a rejected
// document is MalformedPolicyDocument with the parser's message.
func parseInput(doc string, kind policy.Kind) (*policy.Policy, error) {
	p, err := policy.Parse(doc, kind)
	if err != nil {
		var se *policy.SyntaxError
		if errors.As(err, &se) {
			return nil, errMalformedPolicy("%s", se.Message)
		}
		return nil, err
	}
	return p, nil
}

// requestContext returns the condition keys of an IAM or STS request by c.
func (s *Service) requestContext(c *caller.Caller, region string) *policy.Context {
	return c.PolicyContext(region, s.now())
}

// iamRegion is the region IAM requests are made in, whatever region the
// client signed for: IAM is a global service served from us-east-1.
const iamRegion = "us-east-1"

// authorize decides whether c may perform an IAM action on resource (an
// ARN) in its own account, with the extra condition keys set by keys (may
// be nil). It returns nil or AccessDenied with AWS's message.
func (s *Service) authorize(ctx context.Context, r *request, action, resource string, keys func(*policy.Context)) error {
	c := r.c
	if c.Type == TypeRoot && (c.Policies == nil && s.scps == nil || c.Policies != nil && c.Policies.SCPs == nil) {
		return nil // the root of an account outside any organization
	}
	set, err := s.setFor(ctx, c)
	if err != nil {
		return err
	}
	region := iamRegion
	if strings.HasPrefix(action, "sts:") {
		region = c.Region
	}
	req := policy.Request{Principal: c.PolicyPrincipal(), Action: action, Resource: resource, Context: s.requestContext(c, region)}
	req.Context.Set("aws:ResourceAccount", c.AccountID)
	if keys != nil {
		keys(req.Context)
	}
	res := set.Decide(&req)
	if !res.Allowed {
		return errAccessDenied("%s", res.Message(c.ARN, action, resource))
	}
	return nil
}

// setFor returns the policies that govern c's requests in its own account:
// those the server attached to the caller (c.Policies, with its SCPs), or
// when it attached none, the caller's own (PoliciesOf) and the SCPs of
// Config.SCPs.
func (s *Service) setFor(ctx context.Context, c *caller.Caller) (policy.Set, error) {
	set := policy.Set{ResourceAccountID: c.AccountID}
	if p := c.Policies; p != nil {
		set.SCPs, set.Identity, set.Boundary, set.Session = p.SCPs, p.Identity, p.Boundary, p.Session
		return set, nil
	}
	pols, err := s.PoliciesOf(ctx, c)
	if err != nil {
		return set, err
	}
	set.Identity, set.Boundary, set.Session = pols.Identity, pols.Boundary, pols.Session
	if s.scps != nil {
		if set.SCPs, err = s.scps(ctx, c.AccountID); err != nil {
			return set, err
		}
	}
	return set, nil
}

// PrincipalExists reports whether arn names a principal that exists, as
// AWS checks the principals of key and trust policies: the root of a known
// account ("arn:aws:iam::ACCT:root" or the bare 12-digit account id), a
// user, a role, or an assumed-role session of an existing role ("*" is
// always valid). Anything else (groups, malformed ARNs, unknown accounts)
// is false. It returns an error only when the store fails.
func (s *Service) PrincipalExists(ctx context.Context, arn string) (bool, error) {
	if arn == "*" {
		return true, nil
	}
	if isAccountID(arn) {
		arn = RootARN(arn)
	}
	a, ok := parseARN(arn)
	if !ok || !isAccountID(a.Account) {
		return false, nil
	}
	exists := false
	err := s.view(ctx, func(tx store.Tx) error {
		switch {
		case a.Service == "iam" && a.Resource == "root":
			_, err := tx.GetAccount(a.Account)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			exists = err == nil
			return err
		case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
			_, _, name := pathAndName(a.Resource)
			u, _, ok, err := getDoc[userDoc](tx, kindUser, a.Account, name)
			exists = ok && u.ARN == arn
			return err
		case a.Service == "iam" && strings.HasPrefix(a.Resource, "role/"):
			_, _, name := pathAndName(a.Resource)
			r, _, ok, err := getDoc[roleDoc](tx, kindRole, a.Account, name)
			exists = ok && r.ARN == arn
			return err
		case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
			role, session, ok := strings.Cut(strings.TrimPrefix(a.Resource, "assumed-role/"), "/")
			if !ok || session == "" || strings.Contains(session, "/") {
				return nil
			}
			_, _, found, err := getDoc[roleDoc](tx, kindRole, a.Account, role)
			exists = found
			return err
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("iam: principal exists: %w", err)
	}
	return exists, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil && s[0] != '+'
}
