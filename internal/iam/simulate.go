package iam

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// SimulatePrincipalPolicy and SimulateCustomPolicy run the evaluator that
// decides live requests (policy.Set.Decide) over the policies of a
// principal and those given in the request, building the Set as the KMS
// authorizer does: for kms: actions on keys, a ResourcePolicy is the key
// policy and must allow the principal or delegate to its account.

// simulationSession is the session name under which a role is simulated:
// roles act only through sessions, so a role is simulated as one.
const simulationSession = "SimulatedSession"

// kmsIAMOnly are the KMS actions decided by IAM policies alone (no key).
var kmsIAMOnly = []string{
	"kms:createkey", "kms:listkeys", "kms:listaliases", "kms:generaterandom", "kms:listretirablegrants",
	"kms:createcustomkeystore", "kms:describecustomkeystores", "kms:updatecustomkeystore",
	"kms:connectcustomkeystore", "kms:disconnectcustomkeystore", "kms:deletecustomkeystore",
}

// simInput is what both simulations take.
type simInput struct {
	actions, resources []string
	inputs             []sourced // PolicyInputList
	boundaries         []sourced // PermissionsBoundaryPolicyInputList
	resourcePolicy     *policy.Policy
	resourceDoc        string
	owner              string // account from ResourceOwner, or ""
	callerARN          string
	ctxKeys            []simContextEntry
	pg                 page
}

// simContextEntry is one ContextEntries member.
type simContextEntry struct {
	name   string
	values []string
}

var contextKeyTypes = []string{"string", "stringList", "numeric", "numericList", "boolean", "booleanList", "ip", "ipList", "binary", "binaryList", "date", "dateList"}

func simParams(r *request) (simInput, error) {
	var in simInput
	var v awsproto.Validation
	var err error
	if in.actions, err = awsproto.QueryList(r.form, "ActionNames"); err != nil {
		return in, err
	}
	if in.actions == nil {
		v.Required("actionNames")
	}
	for _, a := range in.actions {
		v.Length(a, "actionNames.member", 3, 128)
	}
	if in.resources, err = awsproto.QueryList(r.form, "ResourceArns"); err != nil {
		return in, err
	}
	for _, a := range in.resources {
		v.Length(a, "resourceArns.member", 1, 2048)
	}
	if len(in.resources) == 0 {
		in.resources = []string{"*"}
	}
	docs, err := awsproto.QueryList(r.form, "PolicyInputList")
	if err != nil {
		return in, err
	}
	for i, d := range docs {
		checkDocument(&v, d, "policyInputList.member")
		in.inputs = append(in.inputs, sourced{id: "PolicyInputList." + strconv.Itoa(i+1), typ: "none", doc: d})
	}
	if docs, err = awsproto.QueryList(r.form, "PermissionsBoundaryPolicyInputList"); err != nil {
		return in, err
	}
	for i, d := range docs {
		checkDocument(&v, d, "permissionsBoundaryPolicyInputList.member")
		in.boundaries = append(in.boundaries, sourced{id: "PermissionsBoundaryPolicyInputList." + strconv.Itoa(i+1), typ: "none", doc: d})
	}
	if len(in.boundaries) > 1 {
		v.Add(awsproto.Quote(strconv.Itoa(len(in.boundaries))+" policies"), "permissionsBoundaryPolicyInputList", "Member must have length less than or equal to 1")
	}
	if r.has("ResourcePolicy") {
		in.resourceDoc = r.get("ResourcePolicy")
		checkDocument(&v, in.resourceDoc, "resourcePolicy")
	}
	if r.has("ResourceOwner") {
		o := r.get("ResourceOwner")
		checkARNParam(&v, o, "resourceOwner")
		if a, ok := parseARN(o); ok && isAccountID(a.Account) {
			in.owner = a.Account
		} else if o != "" {
			return in, errInvalidInput("Invalid ResourceOwner: %s", o)
		}
	}
	if r.has("CallerArn") {
		in.callerARN = r.get("CallerArn")
		checkARNParam(&v, in.callerARN, "callerArn")
	}
	entries, err := awsproto.QueryStructs(r.form, "ContextEntries")
	if err != nil {
		return in, err
	}
	for i, e := range entries {
		f := "contextEntries." + strconv.Itoa(i+1) + ".member."
		name := e.Get("ContextKeyName")
		if name == "" {
			v.Required(f + "contextKeyName")
		} else {
			v.Length(name, f+"contextKeyName", 5, 256)
		}
		v.Enum(e.Get("ContextKeyType"), f+"contextKeyType", contextKeyTypes...)
		vals, err := awsproto.QueryList(e, "ContextKeyValues")
		if err != nil {
			return in, err
		}
		in.ctxKeys = append(in.ctxKeys, simContextEntry{name: name, values: vals})
	}
	if in.pg, err = pageParams(&v, r); err != nil {
		return in, err
	}
	if err := v.Err(); err != nil {
		return in, err
	}
	for _, list := range [][]sourced{in.inputs, in.boundaries} {
		for _, s := range list {
			if err := simParse(s.doc, policy.Identity); err != nil {
				return in, err
			}
		}
	}
	if in.resourceDoc != "" {
		p, err := policy.Parse(in.resourceDoc, policy.KeyPolicy)
		if err != nil {
			return in, simSyntax(err)
		}
		in.resourcePolicy = p
	}
	return in, nil
}

func simParse(doc string, kind policy.Kind) error {
	_, err := policy.Parse(doc, kind)
	return simSyntax(err)
}

func simSyntax(err error) error {
	var se *policy.SyntaxError
	if errors.As(err, &se) {
		return errMalformedPolicy("%s", se.Message)
	}
	return err
}

func (s *Service) simulatePrincipalPolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	source := r.get("PolicySourceArn")
	checkARNParam(&v, source, "policySourceArn")
	if err := v.Err(); err != nil {
		return nil, err
	}
	in, err := simParams(r)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:SimulatePrincipalPolicy", source, nil); err != nil {
		return nil, err
	}
	a, ok := parseARN(source)
	acct := r.c.AccountID
	if !ok || a.Service != "iam" || a.Account != acct {
		return nil, errInvalidInput("Invalid ARN: %s", source)
	}
	typ, _, name := pathAndName(a.Resource)
	var (
		pp        principalPolicies
		principal *caller.Caller
	)
	err = s.view(ctx, func(tx store.Tx) error {
		var h holder
		switch typ {
		case "user":
			h = userHolder()
		case "role":
			h = roleHolder()
		case "group":
			h = groupHolder()
		default:
			return errInvalidInput("Invalid ARN: %s", source)
		}
		doc, f, _, ok, err := h.find(tx, acct, name)
		if err != nil || !ok || f.arn != source {
			if err == nil {
				err = h.noSuch(name)
			}
			return err
		}
		switch d := doc.(type) {
		case *userDoc:
			principal = userCaller(acct, d)
			pp, err = userPolicies(tx, acct, d)
		case *roleDoc:
			principal = roleCaller(acct, d)
			pp, err = rolePolicies(tx, acct, d)
		case *groupDoc:
			pp, err = userPolicies(tx, acct, &userDoc{Groups: []string{d.Name}})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if in.callerARN != "" {
		if principal, err = s.simulatedCaller(ctx, in.callerARN); err != nil {
			return nil, err
		}
	} else if principal == nil && in.resourcePolicy != nil {
		return nil, errInvalidInput("CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not the ARN for an IAM user.")
	}
	if principal == nil {
		principal = unnamedCaller(acct)
	}
	pp.identity = append(pp.identity, in.inputs...)
	if len(in.boundaries) > 0 {
		pp.boundary = &in.boundaries[0]
	}
	return s.simulate(ctx, principal, pp, in)
}

func (s *Service) simulateCustomPolicy(ctx context.Context, r *request) (any, error) {
	in, err := simParams(r)
	if err != nil {
		return nil, err
	}
	if !r.has("PolicyInputList") && len(in.inputs) == 0 {
		var v awsproto.Validation
		v.Required("policyInputList")
		return nil, v.Err()
	}
	if err := s.authorize(ctx, r, "iam:SimulateCustomPolicy", "*", nil); err != nil {
		return nil, err
	}
	principal := unnamedCaller(r.c.AccountID)
	if in.callerARN != "" {
		if principal, err = s.simulatedCaller(ctx, in.callerARN); err != nil {
			return nil, err
		}
	} else if in.resourcePolicy != nil {
		return nil, errInvalidInput("CallerArn is required if you include a ResourcePolicy.")
	}
	pp := principalPolicies{identity: in.inputs}
	if len(in.boundaries) > 0 {
		pp.boundary = &in.boundaries[0]
	}
	return s.simulate(ctx, principal, pp, in)
}

// unnamedCaller is the principal of a simulation that names none: an IAM
// principal of account with no known attributes (the condition keys that
// describe a principal are then missing unless ContextEntries gives them).
func unnamedCaller(account string) *caller.Caller {
	return &caller.Caller{AccountID: account, ARN: entityARN(account, "user", "/", "SimulatedPrincipal")}
}

func userCaller(account string, u *userDoc) *caller.Caller {
	return &caller.Caller{AccountID: account, ARN: u.ARN, Type: TypeIAMUser, UserID: u.ID, UserName: u.Name, Tags: tagMap(u.Tags)}
}

func roleCaller(account string, r *roleDoc) *caller.Caller {
	return &caller.Caller{
		AccountID: account, ARN: assumedRoleARN(account, r.Name, simulationSession), Type: TypeAssumedRole,
		UserID: r.ID + ":" + simulationSession, RoleARN: r.ARN, RoleName: r.Name, SessionName: simulationSession,
		Tags: tagMap(r.Tags),
	}
}

// simulatedCaller returns the principal a CallerArn names: an existing
// user, role (simulated as a session of it), assumed-role session of an
// existing role, or an account root.
func (s *Service) simulatedCaller(ctx context.Context, arn string) (*caller.Caller, error) {
	a, ok := parseARN(arn)
	if !ok || !isAccountID(a.Account) {
		return nil, errInvalidInput("Invalid CallerArn: %s", arn)
	}
	var c *caller.Caller
	err := s.view(ctx, func(tx store.Tx) error {
		switch {
		case a.Service == "iam" && a.Resource == "root":
			if _, err := tx.GetAccount(a.Account); err != nil {
				if isNotFound(err) {
					return nil
				}
				return err
			}
			c = &caller.Caller{AccountID: a.Account, ARN: arn, Type: TypeRoot, UserID: a.Account}
		case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
			_, _, name := pathAndName(a.Resource)
			u, _, ok, err := getDoc[userDoc](tx, kindUser, a.Account, name)
			if ok && u.ARN == arn {
				c = userCaller(a.Account, u)
			}
			return err
		case a.Service == "iam" && strings.HasPrefix(a.Resource, "role/"):
			_, _, name := pathAndName(a.Resource)
			ro, _, ok, err := getDoc[roleDoc](tx, kindRole, a.Account, name)
			if ok && ro.ARN == arn {
				c = roleCaller(a.Account, ro)
			}
			return err
		case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
			role, session, ok := strings.Cut(strings.TrimPrefix(a.Resource, "assumed-role/"), "/")
			if !ok {
				return nil
			}
			ro, _, found, err := getDoc[roleDoc](tx, kindRole, a.Account, role)
			if found {
				c = roleCaller(a.Account, ro)
				c.ARN, c.SessionName, c.UserID = arn, session, ro.ID+":"+session
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errInvalidInput("CallerArn %s does not name an existing user, role or session.", arn)
	}
	return c, nil
}

// Reply shapes of the simulations.

type xmlStatement struct {
	SourcePolicyID   string `xml:"SourcePolicyId"`
	SourcePolicyType string `xml:"SourcePolicyType"`
}

type xmlEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlMap struct {
	Entries []xmlEntry `xml:"entry"`
}

type xmlOrgDetail struct {
	AllowedByOrganizations bool `xml:"AllowedByOrganizations"`
}

type xmlBoundaryDetail struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

type xmlResourceResult struct {
	EvalResourceName                  string             `xml:"EvalResourceName"`
	EvalResourceDecision              string             `xml:"EvalResourceDecision"`
	MatchedStatements                 list[xmlStatement] `xml:"MatchedStatements"`
	MissingContextValues              list[string]       `xml:"MissingContextValues"`
	EvalDecisionDetails               *xmlMap            `xml:"EvalDecisionDetails,omitempty"`
	PermissionsBoundaryDecisionDetail *xmlBoundaryDetail `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

type xmlEvalResult struct {
	EvalActionName                    string                  `xml:"EvalActionName"`
	EvalResourceName                  string                  `xml:"EvalResourceName"`
	EvalDecision                      string                  `xml:"EvalDecision"`
	MatchedStatements                 list[xmlStatement]      `xml:"MatchedStatements"`
	MissingContextValues              list[string]            `xml:"MissingContextValues"`
	OrganizationsDecisionDetail       *xmlOrgDetail           `xml:"OrganizationsDecisionDetail,omitempty"`
	PermissionsBoundaryDecisionDetail *xmlBoundaryDetail      `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
	EvalDecisionDetails               *xmlMap                 `xml:"EvalDecisionDetails,omitempty"`
	ResourceSpecificResults           list[xmlResourceResult] `xml:"ResourceSpecificResults"`
}

// Decisions as simulations spell them.
const (
	decisionAllowed      = "allowed"
	decisionExplicitDeny = "explicitDeny"
	decisionImplicitDeny = "implicitDeny"
)

func decisionOf(res policy.Result) string {
	switch {
	case res.Allowed:
		return decisionAllowed
	case res.ExplicitDeny:
		return decisionExplicitDeny
	}
	return decisionImplicitDeny
}

// simulate evaluates every action on every resource for principal.
func (s *Service) simulate(ctx context.Context, principal *caller.Caller, pp principalPolicies, in simInput) (any, error) {
	compiled, err := s.compileAll(pp)
	if err != nil {
		return nil, err
	}
	var scps [][]*policy.Policy
	if s.scps != nil {
		if scps, err = s.scps(ctx, principal.AccountID); err != nil {
			return nil, err
		}
	}
	var results []xmlEvalResult
	for _, action := range in.actions {
		for _, resource := range in.resources {
			results = append(results, s.simulateOne(principal, pp, compiled, scps, in, action, resource))
		}
	}
	idx := make([]int, len(results))
	for i := range idx {
		idx[i] = i
	}
	out, truncated, marker := paginate(idx, func(i int) string { return strconv.Itoa(1_000_000 + i) }, in.pg)
	items := make([]xmlEvalResult, len(out))
	for i, j := range out {
		items[i] = results[j]
	}
	return struct {
		EvaluationResults list[xmlEvalResult] `xml:"EvaluationResults"`
		IsTruncated       bool                `xml:"IsTruncated"`
		Marker            string              `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}, nil
}

func (s *Service) simulateOne(principal *caller.Caller, pp principalPolicies, compiled *Policies, scps [][]*policy.Policy, in simInput, action, resource string) xmlEvalResult {
	set := policy.Set{SCPs: scps, Identity: compiled.Identity, Boundary: compiled.Boundary, Session: compiled.Session}
	useResource := in.resourcePolicy != nil
	isKMS := strings.HasPrefix(strings.ToLower(action), "kms:")
	if isKMS && slices.Contains(kmsIAMOnly, strings.ToLower(action)) {
		useResource = false
	}
	if useResource {
		set.Resource = in.resourcePolicy
		set.RequireResourceDelegation = isKMS || strings.EqualFold(action, "sts:AssumeRole")
	}
	owner := in.owner
	if owner == "" {
		if a, ok := parseARN(resource); ok && isAccountID(a.Account) {
			owner = a.Account
		}
	}
	if owner == "" {
		owner = principal.AccountID
	}
	set.ResourceAccountID = owner

	pc := policy.NewContext()
	if principal.Type != "" {
		principal.SetPrincipalKeys(pc)
	}
	now := s.now()
	pc.SetTime("aws:CurrentTime", now)
	pc.SetNumber("aws:EpochTime", now.Unix())
	pc.Set("aws:ResourceAccount", owner)
	if isKMS {
		pc.Set("kms:CallerAccount", principal.AccountID)
	}
	for _, e := range in.ctxKeys {
		pc.Set(e.name, e.values...)
	}
	req := policy.Request{Principal: principal.PolicyPrincipal(), Action: action, Resource: resource, Context: pc}
	res := set.Decide(&req)
	decision := decisionOf(res)

	// Where each deciding statement comes from.
	var matched []xmlStatement
	for _, d := range res.Deciding {
		matched = append(matched, sourceOf(d, pp))
	}
	missing := missingKeys(pc, action, &set)

	out := xmlEvalResult{
		EvalActionName: action, EvalResourceName: resource, EvalDecision: decision,
		MatchedStatements: listOf(matched), MissingContextValues: listOf(missing),
	}
	if scps != nil {
		out.OrganizationsDecisionDetail = &xmlOrgDetail{AllowedByOrganizations: scpAllows(&set, &req)}
	}
	if set.Boundary != nil {
		d := set.Boundary.Evaluate(&req)
		out.PermissionsBoundaryDecisionDetail = &xmlBoundaryDetail{AllowedByPermissionsBoundary: !d.Deny && (d.Allow || d.RoleAllow)}
	}
	if set.Resource != nil {
		out.EvalDecisionDetails = &xmlMap{Entries: []xmlEntry{
			{Key: "IAM Policy", Value: singleDecision(set.Identity, &req)},
			{Key: "Resource Policy", Value: singleDecision([]*policy.Policy{set.Resource}, &req)},
		}}
	}
	out.ResourceSpecificResults = listOf([]xmlResourceResult{{
		EvalResourceName: resource, EvalResourceDecision: decision,
		MatchedStatements: out.MatchedStatements, MissingContextValues: out.MissingContextValues,
		EvalDecisionDetails: out.EvalDecisionDetails, PermissionsBoundaryDecisionDetail: out.PermissionsBoundaryDecisionDetail,
	}})
	return out
}

// singleDecision is the decision of a group of policies alone: an explicit
// deny in any, else allowed if any allows.
func singleDecision(ps []*policy.Policy, req *policy.Request) string {
	allowed := false
	for _, p := range ps {
		d := p.Evaluate(req)
		if d.Deny {
			return decisionExplicitDeny
		}
		allowed = allowed || d.Allow || d.RoleAllow || d.AccountAllow
	}
	if allowed {
		return decisionAllowed
	}
	return decisionImplicitDeny
}

// scpAllows reports whether every SCP level allows the request.
func scpAllows(set *policy.Set, req *policy.Request) bool {
	for _, level := range set.SCPs {
		ok := false
		for _, p := range level {
			if p == nil {
				continue
			}
			d := p.Evaluate(req)
			if d.Deny {
				return false
			}
			ok = ok || d.Allow
		}
		if !ok {
			return false
		}
	}
	return true
}

// sourceOf names the policy a deciding statement belongs to.
func sourceOf(d policy.Source, pp principalPolicies) xmlStatement {
	switch d.Type {
	case policy.SourceIdentity:
		if d.Index < len(pp.identity) {
			return xmlStatement{SourcePolicyID: pp.identity[d.Index].id, SourcePolicyType: pp.identity[d.Index].typ}
		}
	case policy.SourceBoundary:
		if pp.boundary != nil {
			return xmlStatement{SourcePolicyID: pp.boundary.id, SourcePolicyType: pp.boundary.typ}
		}
	case policy.SourceSession:
		if d.Index < len(pp.session) {
			return xmlStatement{SourcePolicyID: pp.session[d.Index].id, SourcePolicyType: pp.session[d.Index].typ}
		}
	case policy.SourceResource:
		return xmlStatement{SourcePolicyID: "ResourcePolicy", SourcePolicyType: "resource"}
	case policy.SourceSCP:
		return xmlStatement{SourcePolicyID: "ServiceControlPolicy." + strconv.Itoa(d.Level+1) + "." + strconv.Itoa(d.Index+1), SourcePolicyType: "none"}
	}
	return xmlStatement{SourcePolicyID: "unknown", SourcePolicyType: "none"}
}

// missingKeys returns the condition keys that statements for action test
// and the context lacks, in first-seen order.
func missingKeys(pc *policy.Context, action string, set *policy.Set) []string {
	var out []string
	check := func(p *policy.Policy) {
		if p == nil {
			return
		}
		for _, st := range p.Statements() {
			if !statementActionMatches(st, action) {
				continue
			}
			for _, c := range st.Condition {
				if _, ok := pc.Get(c.Key); ok {
					continue
				}
				if !slices.ContainsFunc(out, func(k string) bool { return strings.EqualFold(k, c.Key) }) {
					out = append(out, c.Key)
				}
			}
		}
	}
	for _, level := range set.SCPs {
		for _, p := range level {
			check(p)
		}
	}
	check(set.Resource)
	for _, p := range set.Identity {
		check(p)
	}
	check(set.Boundary)
	for _, p := range set.Session {
		check(p)
	}
	return out
}

func statementActionMatches(st policy.Statement, action string) bool {
	if st.NotAction != nil {
		return !slices.ContainsFunc(st.NotAction, func(p string) bool { return globFold(p, action) })
	}
	return slices.ContainsFunc(st.Action, func(p string) bool { return globFold(p, action) })
}

// globFold matches s against pattern with * and ? wildcards, ignoring
// ASCII case.
func globFold(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
