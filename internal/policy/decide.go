package policy

// Set is every policy that applies to one request, for Decide.
type Set struct {
	// SCPs holds the service control policies of the caller's account, one
	// slice per level of the organization (root, each OU, the account): every
	// level must allow. nil means the account is in no organization (or is
	// its management account, to which SCPs do not apply).
	SCPs [][]*Policy
	// Resource is the resource-based policy (the key policy, a trust
	// policy), or nil.
	Resource *Policy
	// Identity holds the caller's identity policies: those of the user or
	// role, and of the user's groups.
	Identity []*Policy
	// Boundary is the permissions boundary of the caller's user or role, or
	// nil.
	Boundary *Policy
	// Session holds the session policies passed when the caller's session was
	// made (inline and managed: the session may use what any of them allows),
	// or nil when none were passed.
	Session []*Policy
	// ResourceAccountID is the account that owns the resource. A caller of
	// another account is cross-account: the resource policy and the caller's
	// identity policies must then both allow. Empty means the caller's
	// account.
	ResourceAccountID string
	// RequireResourceDelegation is set for resources whose policy must always
	// allow access, as AWS requires for KMS key policies and role trust
	// policies: an identity policy counts only when the resource policy
	// allows the caller or the caller's account.
	RequireResourceDelegation bool
}

// SourceType is the type of a policy in a Set.
type SourceType int

const (
	SourceSCP SourceType = iota
	SourceResource
	SourceIdentity
	SourceBoundary
	SourceSession
)

// String returns the name AWS's access-denied messages use for the type.
func (t SourceType) String() string {
	switch t {
	case SourceSCP:
		return "service control policy"
	case SourceResource:
		return "resource-based policy"
	case SourceIdentity:
		return "identity-based policy"
	case SourceBoundary:
		return "permissions boundary"
	case SourceSession:
		return "session policy"
	}
	return "policy"
}

// withArticle returns "a service control policy", "an identity-based
// policy", ...
func (t SourceType) withArticle() string {
	if t == SourceIdentity {
		return "an " + t.String()
	}
	return "a " + t.String()
}

// Source names one statement of one policy of a Set.
type Source struct {
	Type      SourceType
	Level     int // for SCPs, the level in Set.SCPs
	Index     int // the policy's position in its list (Identity, Session, an SCP level); 0 otherwise
	Statement StatementRef
}

// Result is the decision on a request.
type Result struct {
	Allowed bool
	// ExplicitDeny is set when a Deny statement decided.
	ExplicitDeny bool
	// Reason is AWS's explanation of a denial, the text that follows the
	// resource in an AccessDenied message: "with an explicit deny in a
	// resource-based policy" or "because no identity-based policy allows the
	// kms:Decrypt action". Empty when allowed.
	Reason string
	// Deciding lists the statements that decided: the denying statements, or
	// the allowing statements of each policy type that had to allow. It is
	// empty for an implicit denial and for the root user allowed by default.
	Deciding []Source
}

// Message returns AWS's AccessDenied message for a denied result:
// "User: ARN is not authorized to perform: ACTION on resource: RESOURCE
// because ...".
func (r Result) Message(principalARN, action, resource string) string {
	return "User: " + principalARN + " is not authorized to perform: " + action + " on resource: " + resource + " " + r.Reason
}

// Decide applies AWS's policy evaluation logic to r:
//
//  1. An explicit Deny in any policy denies ("with an explicit deny in a
//     <type>"; types are checked in the order SCP, resource-based,
//     identity-based, permissions boundary, session policy).
//  2. Every SCP level must allow ("because no service control policy
//     allows the <action> action"). SCPs apply to the root user too.
//  3. Anonymous, service and web-federated callers have no identity
//     policies: the resource policy must allow them directly.
//  4. Same account: a resource-policy Allow naming the caller itself (user,
//     session, root, "*") allows, whatever the identity policies, boundary
//     and session policies say; one naming only the role behind a session
//     (or the user behind a federated-user session) allows if the boundary
//     and session policies also allow. The account root is otherwise
//     allowed everything unless RequireResourceDelegation (KMS, trust
//     policies), where the resource policy must allow it. Otherwise, with
//     RequireResourceDelegation, the resource policy must allow the caller's
//     account ("because no resource-based policy allows ..."); then an
//     identity policy must allow ("... no identity-based policy ..."), and
//     the boundary ("... no permissions boundary ...") and the session
//     policies ("... no session policy ...") when present. A federated-user
//     session without session policies has no permissions (AWS).
//  5. Cross-account (ResourceAccountID differs from the caller's account):
//     the resource policy must allow the caller or its account, and the
//     caller's identity policies (with boundary and session policies) must
//     allow too; the root user of the calling account needs no identity
//     policy.
//
// Decide does not allocate when the request is allowed by a single statement
// per policy type, apart from Deciding. Safe for concurrent use.
func (s *Set) Decide(r *Request) Result {
	c := identify(&r.Principal)
	var buf [12]evaluated
	all := buf[:0]
	for level, pols := range s.SCPs {
		for i, p := range pols {
			if p != nil {
				all = append(all, evaluated{typ: SourceSCP, level: level, index: i, p: p})
			}
		}
	}
	if s.Resource != nil {
		all = append(all, evaluated{typ: SourceResource, p: s.Resource})
	}
	for i, p := range s.Identity {
		if p != nil {
			all = append(all, evaluated{typ: SourceIdentity, index: i, p: p})
		}
	}
	if s.Boundary != nil {
		all = append(all, evaluated{typ: SourceBoundary, p: s.Boundary})
	}
	for i, p := range s.Session {
		if p != nil {
			all = append(all, evaluated{typ: SourceSession, index: i, p: p})
		}
	}
	for i := range all {
		all[i].res, _ = all[i].p.eval(r, &c, false)
	}

	// 1. Explicit deny.
	var res Result
	for i := range all {
		e := &all[i]
		if e.res.deny {
			if !res.ExplicitDeny {
				res.ExplicitDeny = true
				res.Reason = "with an explicit deny in " + e.typ.withArticle()
			}
			res.Deciding = append(res.Deciding, e.source(e.res.firstDeny))
		}
	}
	if res.ExplicitDeny {
		return res
	}

	// 2. SCPs: every level must allow.
	var allowing []Source
	for level := range s.SCPs {
		found := false
		for i := range all {
			e := &all[i]
			if e.typ == SourceSCP && e.level == level && e.res.allows() {
				allowing = append(allowing, e.source(e.res.firstAllow))
				found = true
				break
			}
		}
		if !found {
			return deny(SourceSCP, r.Action)
		}
	}

	// The resource policy, the boundary, and the first identity and session
	// policies that allow.
	var resource, boundary, identity, session *evaluated
	for i := range all {
		e := &all[i]
		switch e.typ {
		case SourceResource:
			resource = e
		case SourceBoundary:
			boundary = e
		case SourceIdentity:
			if identity == nil && e.res.allows() {
				identity = e
			}
		case SourceSession:
			if session == nil && e.res.allows() {
				session = e
			}
		}
	}
	resAllow := resource != nil && resource.res.allows()
	resRoleOnly := resAllow && !resource.res.direct
	resAccount := resource != nil && resource.res.acct
	boundaryOK := boundary == nil || boundary.res.allows()
	sessionOK := session != nil || len(s.Session) == 0 && !c.fedUser
	allow := func(extra ...*evaluated) Result {
		for _, e := range extra {
			if e != nil {
				i := e.res.firstAllow
				if i < 0 {
					i = e.res.firstAcc
				}
				allowing = append(allowing, e.source(i))
			}
		}
		return Result{Allowed: true, Deciding: allowing}
	}

	// 3. Callers without identity policies.
	if c.kind != callerAWS {
		if resAllow {
			return allow(resource)
		}
		return deny(SourceResource, r.Action)
	}

	cross := s.ResourceAccountID != "" && c.account != s.ResourceAccountID
	if !cross {
		// 4. Same account.
		if resAllow && (!resRoleOnly || boundaryOK && sessionOK) {
			return allow(resource)
		}
		if c.root && !s.RequireResourceDelegation {
			return allow()
		}
		if s.RequireResourceDelegation && !resAllow && !resAccount {
			return deny(SourceResource, r.Action)
		}
	} else if !resAllow && !resAccount {
		// 5. Cross-account: the resource policy must name the caller or its
		// account.
		return deny(SourceResource, r.Action)
	} else if c.root {
		return allow(resource)
	}

	// The identity path: identity policies, within the boundary and the
	// session policies. In the same account, a resource policy that names
	// the caller's role stands in for the identity policies, so that the
	// reason names what failed: the boundary or the session policy.
	switch {
	case identity == nil && (cross || !resAllow):
		return deny(SourceIdentity, r.Action)
	case !boundaryOK:
		return deny(SourceBoundary, r.Action)
	case !sessionOK:
		return deny(SourceSession, r.Action)
	}
	var delegating *evaluated
	if cross || s.RequireResourceDelegation {
		delegating = resource
	}
	return allow(delegating, identity, boundary, session)
}

// evaluated is one policy of a Set with its outcome.
type evaluated struct {
	typ          SourceType
	level, index int
	p            *Policy
	res          evalResult
}

func (e *evaluated) source(stmt int) Source {
	return Source{Type: e.typ, Level: e.level, Index: e.index, Statement: e.p.ref(stmt)}
}

// deny returns the implicit denial by policy type t.
func deny(t SourceType, action string) Result {
	return Result{Reason: "because no " + t.String() + " allows the " + action + " action"}
}
