package policy

import (
	"fmt"
	"strings"
)

// Principal is the caller of a request.
type Principal struct {
	// ARN is the caller's ARN: arn:aws:iam::123456789012:root,
	// arn:aws:iam::123456789012:user/path/name, or a session
	// arn:aws:sts::123456789012:assumed-role/RoleName/SessionName or
	// arn:aws:sts::123456789012:federated-user/Name.
	ARN string
	// AccountID is the caller's account; when empty it is read from ARN.
	AccountID string
	// RoleARN is, for an assumed-role session, the role's ARN
	// (arn:aws:iam::acct:role/path/name), so that a policy naming the role
	// matches its sessions; for a federated-user session, the ARN of the IAM
	// user who called GetFederationToken. Empty otherwise.
	RoleARN string
	// Anonymous is set for unauthenticated callers; they match only "*".
	Anonymous bool
	// Service is set when an AWS service calls as itself
	// ("cloudtrail.amazonaws.com"); it matches Principal {"Service": ...}.
	Service string
	// Federated is set for a caller federated by a web identity or SAML
	// provider (the provider's name or ARN), as in role trust policies; it
	// matches Principal {"Federated": ...}.
	Federated string
}

// Request is what a policy is evaluated against.
type Request struct {
	Principal Principal
	Action    string   // "kms:Encrypt"; matched case-insensitively
	Resource  string   // an ARN (matched case-sensitively), or "*" for actions on no resource
	Context   *Context // condition keys and policy variables; nil means none
}

// Decision is the outcome of one policy for a request.
type Decision struct {
	// Deny: an explicit Deny statement applies. A Deny naming an account
	// applies to every principal of that account.
	Deny bool
	// Allow: an Allow statement applies whose principal matched the caller
	// itself (its ARN, its role, its account when the caller is that
	// account's root, "*", or a NotPrincipal not listing it), or that has no
	// principal (identity policies, SCPs).
	Allow bool
	// RoleAllow: Allow holds only through statements naming the role of the
	// caller's assumed-role session (or the IAM user behind a federated-user
	// session), not the session itself. AWS limits such grants by the
	// permissions boundary and session policies.
	RoleAllow bool
	// AccountAllow: (resource policies) an Allow statement applies only
	// because its principal names the caller's account
	// ("arn:aws:iam::ACCT:root" or "ACCT") and the caller is not that account's
	// root: AWS then requires the caller's identity policies to allow too
	// (delegation to IAM).
	AccountAllow bool
	// Matched lists the statements that applied, deny and allow, in document
	// order.
	Matched []StatementRef
}

// StatementRef names one statement of a policy.
type StatementRef struct {
	Index  int // position in the Statement list, from 0
	Sid    string
	Effect string
}

// StatementTrace says whether one statement applied to a request and, if not,
// why.
type StatementTrace struct {
	Index   int
	Sid     string
	Effect  string
	Applied bool
	Reason  string
}

// Evaluate evaluates the policy for r. It does not allocate unless a
// statement applies (then only for Matched) or a Resource or condition value
// uses a policy variable in an ARN. Safe for concurrent use.
func (p *Policy) Evaluate(r *Request) Decision {
	c := identify(&r.Principal)
	res, matched := p.eval(r, &c, true)
	d := Decision{Matched: matched}
	res.fill(&d)
	return d
}

// Explain evaluates like Evaluate and also says, for every statement, whether
// it applied and, if not, why: the principal, action or resource did not
// match, or which condition failed with the values compared.
func (p *Policy) Explain(r *Request) (Decision, []StatementTrace) {
	c := identify(&r.Principal)
	var d Decision
	traces := make([]StatementTrace, len(p.stmts))
	var res evalResult
	res.reset()
	for i := range p.stmts {
		s := &p.stmts[i]
		t := StatementTrace{Index: i, Sid: s.src.Sid, Effect: s.effectName()}
		k, reason := s.explain(r, &c)
		if k != matchNone {
			t.Applied = true
			t.Reason = "applied: " + reason
			res.add(s, i, k)
			d.Matched = append(d.Matched, StatementRef{Index: i, Sid: s.src.Sid, Effect: t.Effect})
		} else {
			t.Reason = reason
		}
		traces[i] = t
	}
	res.fill(&d)
	return d, traces
}

// evalResult accumulates the statements that apply.
type evalResult struct {
	deny, direct, role, acct        bool
	firstDeny, firstAllow, firstAcc int // -1 when none
}

func (e *evalResult) reset() { *e = evalResult{firstDeny: -1, firstAllow: -1, firstAcc: -1} }

func (e *evalResult) add(s *statement, i int, k matchKind) {
	switch {
	case s.deny:
		if !e.deny {
			e.deny, e.firstDeny = true, i
		}
	case k == matchAccount:
		if !e.acct {
			e.acct, e.firstAcc = true, i
		}
	default:
		if !e.direct && !e.role {
			e.firstAllow = i
		}
		if k == matchRole {
			e.role = true
		} else {
			if !e.direct && e.role {
				e.firstAllow = i // prefer the statement that grants directly
			}
			e.direct = true
		}
	}
}

func (e *evalResult) fill(d *Decision) {
	d.Deny = e.deny
	d.Allow = e.direct || e.role
	d.RoleAllow = e.role && !e.direct
	d.AccountAllow = e.acct
}

func (e *evalResult) allows() bool { return e.direct || e.role }

// eval runs every statement; with record, it also lists the statements that
// apply.
func (p *Policy) eval(r *Request, c *caller, record bool) (res evalResult, matched []StatementRef) {
	res.reset()
	for i := range p.stmts {
		s := &p.stmts[i]
		k := s.applies(r, c)
		if k == matchNone {
			continue
		}
		res.add(s, i, k)
		if record {
			matched = append(matched, p.ref(i))
		}
	}
	return res, matched
}

// ref returns the StatementRef of statement i.
func (p *Policy) ref(i int) StatementRef {
	s := &p.stmts[i]
	return StatementRef{Index: i, Sid: s.src.Sid, Effect: s.effectName()}
}

// applies reports how statement s applies to r, checking the cheapest parts
// first.
func (s *statement) applies(r *Request, c *caller) matchKind {
	if !s.matchAction(r.Action) || !s.matchResource(r.Resource, r.Context) {
		return matchNone
	}
	k := s.matchPrincipal(c)
	if k == matchNone {
		return matchNone
	}
	for i := range s.conds {
		if !s.conds[i].eval(r.Context) {
			return matchNone
		}
	}
	return k
}

// explain is applies with reasons.
func (s *statement) explain(r *Request, c *caller) (matchKind, string) {
	if !s.matchAction(r.Action) {
		if s.notAction {
			return matchNone, fmt.Sprintf("action %s is listed in NotAction %q", r.Action, s.src.NotAction)
		}
		return matchNone, fmt.Sprintf("action %s does not match Action %q", r.Action, s.src.Action)
	}
	if !s.matchResource(r.Resource, r.Context) {
		if s.notResource {
			return matchNone, fmt.Sprintf("resource %s is listed in NotResource %q", r.Resource, s.src.NotResource)
		}
		return matchNone, fmt.Sprintf("resource %s does not match Resource %q", r.Resource, s.src.Resource)
	}
	k := s.matchPrincipal(c)
	if k == matchNone {
		if s.notPrincipal {
			return matchNone, fmt.Sprintf("principal %s is listed in NotPrincipal", c.describe())
		}
		return matchNone, fmt.Sprintf("principal %s does not match Principal", c.describe())
	}
	for i := range s.conds {
		if !s.conds[i].eval(r.Context) {
			return matchNone, s.conds[i].describe(r.Context)
		}
	}
	switch k {
	case matchAccount:
		return k, "the principal names the caller's account " + c.account + " (delegation to IAM policies)"
	case matchRole:
		return k, "the principal names the caller's role " + c.p.RoleARN
	}
	if s.principal == nil {
		return k, "action, resource and conditions match"
	}
	return k, "the principal matches the caller"
}

func (s *statement) matchAction(action string) bool {
	if s.anyAction {
		return true
	}
	m := false
	for i := range s.actions {
		a := &s.actions[i]
		if !hasPrefixFoldASCII(action, a.prefix) {
			continue
		}
		if ok, _ := a.match(action, true, nil); ok {
			m = true
			break
		}
	}
	return m != s.notAction
}

// hasPrefixFoldASCII is a quick filter: whether s starts with prefix,
// ignoring the case of ASCII letters. It may say true for non-ASCII text that
// does not match; the full match decides then.
func hasPrefixFoldASCII(s, prefix string) bool {
	if len(prefix) > len(s) {
		return !isASCII(prefix)
	}
	for i := 0; i < len(prefix); i++ {
		a, b := s[i], prefix[i]
		if a != b && lowerASCII(a) != lowerASCII(b) {
			return a >= 0x80 || b >= 0x80
		}
	}
	return true
}

// matchResource matches the request's resource; a Resource value whose
// variable cannot be resolved matches nothing.
func (s *statement) matchResource(resource string, ctx *Context) bool {
	if s.noResource {
		return true
	}
	m := false
	for i := range s.resources {
		if ok, _ := s.resources[i].match(resource, ctx); ok {
			m = true
			break
		}
	}
	return m != s.notResource
}

func (s *statement) matchPrincipal(c *caller) matchKind {
	if s.principal == nil {
		return matchDirect
	}
	if s.notPrincipal {
		return s.principal.notMatch(c)
	}
	return s.principal.match(c)
}

// matchKind says how a statement's principal element covers the caller.
type matchKind uint8

const (
	matchNone    matchKind = iota
	matchAccount           // names the caller's account, and the caller is not its root
	matchRole              // names the role (or federating user) behind the caller's session
	matchDirect            // names the caller itself, or everyone
)

type callerKind uint8

const (
	callerAWS callerKind = iota
	callerAnonymous
	callerService
	callerFederated
)

// caller is a Principal with the facts evaluation needs, derived once per
// request.
type caller struct {
	p       *Principal
	kind    callerKind
	account string
	root    bool // the account's root user
	session bool // an assumed-role or federated-user session
	fedUser bool // a federated-user session (GetFederationToken)
}

func identify(p *Principal) caller {
	c := caller{p: p, account: p.AccountID}
	switch {
	case p.Anonymous:
		c.kind = callerAnonymous
		return c
	case p.Service != "":
		c.kind = callerService
		return c
	case p.Federated != "":
		c.kind = callerFederated
		return c
	}
	if parts, ok := arnParts(p.ARN); ok && parts[0] == "arn" {
		if c.account == "" {
			c.account = parts[4]
		}
		switch parts[2] {
		case "iam":
			c.root = parts[5] == "root"
		case "sts":
			c.session = true
			c.fedUser = strings.HasPrefix(parts[5], "federated-user/")
		}
	}
	return c
}

func (c *caller) describe() string {
	switch c.kind {
	case callerAnonymous:
		return "(anonymous)"
	case callerService:
		return c.p.Service
	case callerFederated:
		return c.p.Federated
	}
	return c.p.ARN
}

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	all       bool     // "Principal": "*"
	awsAll    bool     // "AWS": "*"
	roots     []string // account IDs named by ID or by their root ARN
	arns      []string // user, role and session ARNs
	services  []string
	federated []string
	// CanonicalUser values are kept only as written: Custos has no canonical
	// users, so they match nobody.
}

// match says how a Principal element covers the caller. A statement naming
// several of the caller's identities counts as its most direct one.
// UNCERTAIN: "*" counts as naming the caller itself, so it is not limited by
// a permissions boundary or session policy (AWS documents only the ARN
// cases).
func (s *principalSet) match(c *caller) matchKind {
	if s.all {
		return matchDirect
	}
	switch c.kind {
	case callerAnonymous:
		if s.awsAll {
			return matchDirect
		}
	case callerService:
		for _, v := range s.services {
			if v == "*" || equalFold(v, c.p.Service) {
				return matchDirect
			}
		}
	case callerFederated:
		for _, v := range s.federated {
			if v == c.p.Federated {
				return matchDirect
			}
		}
	default:
		if s.awsAll {
			return matchDirect
		}
		k := matchNone
		for _, a := range s.arns {
			if a == c.p.ARN {
				return matchDirect
			}
			if c.p.RoleARN != "" && a == c.p.RoleARN {
				k = matchRole
			}
		}
		if k != matchNone {
			return k
		}
		if c.account != "" {
			for _, r := range s.roots {
				if r == c.account {
					if c.root {
						return matchDirect
					}
					return matchAccount
				}
			}
		}
	}
	return matchNone
}

// notMatch says whether a NotPrincipal element lets its statement apply to the
// caller. AWS evaluates a request as coming from each of the caller's
// identities (the account, then the role, then the session or user), so the
// statement applies unless every one of them is listed: that is why AWS
// tells you to list the account ARN beside the user ARN.
func (s *principalSet) notMatch(c *caller) matchKind {
	if s.all {
		return matchNone
	}
	listed := func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	switch c.kind {
	case callerAnonymous:
		if s.awsAll {
			return matchNone
		}
	case callerService:
		for _, v := range s.services {
			if v == "*" || equalFold(v, c.p.Service) {
				return matchNone
			}
		}
	case callerFederated:
		if listed(s.federated, c.p.Federated) {
			return matchNone
		}
	default:
		if s.awsAll {
			return matchNone
		}
		all := true
		if !c.root && !listed(s.arns, c.p.ARN) {
			all = false
		}
		if c.p.RoleARN != "" && !listed(s.arns, c.p.RoleARN) {
			all = false
		}
		if c.account != "" && !listed(s.roots, c.account) {
			all = false
		}
		if all {
			return matchNone
		}
	}
	return matchDirect
}
