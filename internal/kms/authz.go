package kms

import (
	"context"
	"strconv"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
)

// access describes one authorization question: may the caller perform
// action on key (nil for actions on no key), with these request facts.
type access struct {
	action string
	key    *liveKey
	// resource overrides the resource ARN (an alias ARN for the alias side
	// of alias operations, which IAM policies alone decide).
	resource string
	ec       map[string]string // encryption context of the request

	algorithm string // kms:EncryptionAlgorithm, for cryptographic operations
	alias     string // kms:RequestAlias: the alias the request named its key by
	sameKey   int8   // kms:ReEncryptOnSameKey: 0 not set, 1 false, 2 true

	extra func(*policy.Context) // other request keys

	// grantFits, when set, decides whether a grant that includes the
	// operation allows the request, instead of its encryption context
	// constraints (CreateGrant: the new grant must be equal or narrower).
	grantFits func(*grant) bool
}

// authorize decides a request as AWS KMS does (see policy.Set.Decide): the
// caller's SCPs, then explicit denies anywhere, then the key policy (which
// must allow the caller, or its account and then the caller's IAM
// policies), and for actions on no key the IAM policies alone. A request on
// a key that the policies do not allow, deny explicitly or leave outside
// the SCPs is allowed by a grant of the key for the caller that includes
// the operation and whose constraints hold (see grantFor); the request's
// grant tokens must all be valid (InvalidGrantTokenException), and may
// carry grants this node does not know yet. The reason (the deciding
// statements, or the grant) is kept in the caller's trail for the audit
// record.
func (s *Service) authorize(ctx context.Context, c *Caller, a access) error {
	var tokens []*tokenClaims
	if len(c.GrantTokens) > 0 {
		var err error
		if tokens, err = s.grantTokenClaims(ctx, c.GrantTokens); err != nil {
			return err
		}
	}
	res, resource := s.decide(c, a)
	var by *grant
	viaToken := false
	if !res.Allowed && grantMayAllow(&res, &a) {
		var err error
		if by, viaToken, err = s.grantFor(ctx, c, &a, tokens); err != nil {
			return err
		}
	}
	if t := c.Trail; t != nil {
		if a.key != nil {
			t.Resources = appendUnique(t.Resources, a.key.meta.ARN)
		}
		switch {
		case by != nil:
			t.Decision, t.Reason = "Allow", grantReason(by, viaToken)
		case res.Allowed:
			t.Decision, t.Reason = "Allow", explainResult(res, nil)
		default:
			t.Decision, t.Reason = "Deny", explainResult(res, nil)
		}
	}
	if !res.Allowed && by == nil {
		return awsproto.Errorf("AccessDeniedException", "%s", res.Message(c.ARN, a.action, resource))
	}
	return nil
}

// decide applies the policies to a request and returns the result and the
// resource decided on.
func (s *Service) decide(c *Caller, a access) (policy.Result, string) {
	set, req := s.question(c, a, false)
	return set.Decide(&req), req.Resource
}

// question builds the policy set and request that decide a: the key policy
// (with delegation to IAM) when the action is on a key, the caller's IAM
// policies, boundary, session policies and SCPs. The context is built only
// when some policy reads it, unless withContext.
func (s *Service) question(c *Caller, a access, withContext bool) (policy.Set, policy.Request) {
	set := policy.Set{}
	resource := "*"
	if a.key != nil && a.resource == "" {
		set.Resource = a.key.policy
		set.ResourceAccountID = a.key.meta.AccountID
		set.RequireResourceDelegation = true
		resource = a.key.meta.ARN
	}
	if a.resource != "" {
		resource = a.resource
		if a.key != nil {
			set.ResourceAccountID = a.key.meta.AccountID
		}
	}
	if p := c.Policies; p != nil {
		set.SCPs, set.Identity, set.Boundary, set.Session = p.SCPs, p.Identity, p.Boundary, p.Session
	}
	req := policy.Request{
		Principal: c.PolicyPrincipal(),
		Action:    a.action,
		Resource:  resource,
	}
	if withContext || needsContext(&set) {
		req.Context = s.requestContext(c, a)
	}
	return set, req
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// explainResult names the statements that decided, for the audit trail.
func explainResult(res policy.Result, _ *policy.Set) string {
	if !res.Allowed {
		return strings.TrimPrefix(strings.TrimPrefix(res.Reason, "because "), "with ")
	}
	if len(res.Deciding) == 1 && res.Deciding[0].Type == policy.SourceResource && res.Deciding[0].Statement.Sid != "" {
		return "resource-based policy statement " + strconv.Quote(res.Deciding[0].Statement.Sid)
	}
	var b strings.Builder
	for i, d := range res.Deciding {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Type.String())
		if d.Type == policy.SourceIdentity || d.Type == policy.SourceSession {
			b.WriteString(" #" + strconv.Itoa(d.Index))
		}
		b.WriteString(" statement ")
		if d.Statement.Sid != "" {
			b.WriteString(strconv.Quote(d.Statement.Sid))
		} else {
			b.WriteString(strconv.Itoa(d.Statement.Index))
		}
	}
	if b.Len() == 0 {
		return "allowed"
	}
	return b.String()
}

// needsContext reports whether any policy of set reads the request context
// (conditions or policy variables); building the context is then skipped.
func needsContext(set *policy.Set) bool {
	if set.Resource != nil && set.Resource.UsesContext() {
		return true
	}
	for _, level := range set.SCPs {
		for _, p := range level {
			if p.UsesContext() {
				return true
			}
		}
	}
	for _, p := range set.Identity {
		if p.UsesContext() {
			return true
		}
	}
	for _, p := range set.Session {
		if p.UsesContext() {
			return true
		}
	}
	return set.Boundary != nil && set.Boundary.UsesContext()
}

// requestContext gathers the condition keys of a KMS request.
func (s *Service) requestContext(c *Caller, a access) *policy.Context {
	pc := c.PolicyContext(c.Region, s.now())
	pc.Set("kms:CallerAccount", c.AccountID)
	if k := a.key; k != nil {
		m := &k.meta
		pc.Set("aws:ResourceAccount", m.AccountID)
		pc.Set("kms:KeySpec", m.KeySpec)
		pc.Set("kms:CustomerMasterKeySpec", m.KeySpec)
		pc.Set("kms:KeyUsage", m.KeyUsage)
		pc.Set("kms:CustomerMasterKeyUsage", m.KeyUsage)
		pc.Set("kms:KeyOrigin", m.Origin)
		pc.SetBool("kms:MultiRegion", m.MultiRegion)
		if m.MultiRegion {
			pc.Set("kms:MultiRegionKeyType", m.MultiRegionKeyType)
		}
		for _, t := range k.tags {
			pc.Set("aws:ResourceTag/"+t.Key, t.Value)
		}
		if len(k.aliases) <= maxAliasesPerKey {
			pc.Set("kms:ResourceAliases", k.aliases...)
		}
	}
	if a.ec != nil {
		keys := make([]string, 0, len(a.ec))
		for k, v := range a.ec {
			pc.Set("kms:EncryptionContext:"+k, v)
			keys = append(keys, k)
		}
		pc.Set("kms:EncryptionContextKeys", keys...)
	}
	if a.algorithm != "" {
		pc.Set("kms:EncryptionAlgorithm", a.algorithm)
	}
	if a.alias != "" {
		pc.Set("kms:RequestAlias", a.alias)
	}
	if a.sameKey != 0 {
		pc.SetBool("kms:ReEncryptOnSameKey", a.sameKey == 2)
	}
	if a.extra != nil {
		a.extra(pc)
	}
	return pc
}

// aliasNameOf returns the alias name a KeyId names ("alias/x" or an alias
// ARN), or "".
func aliasNameOf(keyID string) string {
	if strings.HasPrefix(keyID, "alias/") {
		return keyID
	}
	if !strings.HasPrefix(keyID, "arn:") || !strings.Contains(keyID, ":alias/") {
		return ""
	}
	if a, ok := parseKMSARN(keyID); ok && strings.HasPrefix(a.resource, "alias/") {
		return a.resource
	}
	return ""
}
