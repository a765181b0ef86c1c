package server

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/iam"
	"github.com/custoskms/custos/internal/kms"
	"github.com/custoskms/custos/internal/policy"
)

// ExplainTarget is the X-Amz-Target of Custos's Explain operation, a JSON
// 1.1 API signed for service "kms".
const ExplainTarget = "CustosService.Explain"

// explainRoutes registers the CustosService JSON API: Explain.
func (s *Server) explainRoutes() {
	s.jsonAPIs["CustosService"] = jsonAPI{service: "kms", operation: func(name string) (Operation, bool) {
		if name != "Explain" {
			return Operation{}, false
		}
		return Operation{Name: name, MaxBody: defaultMaxBody, ReadOnly: true, Call: s.explain}, true
	}}
}

// ExplainInput is the request of CustosService.Explain.
type ExplainInput struct {
	PrincipalArn      *string             // the root, user, role or assumed-role session whose request is explained
	Action            *string             // "kms:Decrypt"
	KeyId             *string             // key id, key ARN, alias name or alias ARN; optional for actions on no key
	Region            *string             // the region of the request; default: the region the Explain request is signed for
	EncryptionContext map[string]string   // the request's encryption context
	ContextEntries    map[string][]string // condition keys to set or override, e.g. {"aws:SourceIp":["10.0.0.1"]}
}

// ExplainOutput is Explain's reply: kms.Explanation with the request it
// answers.
type ExplainOutput struct {
	PrincipalArn    string
	Action          string
	kms.Explanation `json:",inline"`
}

// Limits of an Explain request.
const (
	maxExplainEntries = 64 // condition keys in ContextEntries; pairs in EncryptionContext
	maxExplainValues  = 64 // values of one condition key
)

// explain serves CustosService.Explain: how a request of a principal of the
// caller's account would be decided, by the authorizer that decides live
// requests (see kms.Service.Explain), with the principal's policies and its
// account's SCPs as they are now. The explained request is made now, from
// the Explain request's source address, over its transport (aws:SourceIp,
// aws:SecureTransport) unless ContextEntries say otherwise. The account
// root may call it, and any principal whose policies allow custos:Explain
// on the explained principal's ARN; a principal of another account is
// AccessDeniedException, and the statements of another account's key
// policy are not shown (Statements is empty). Errors: ValidationException,
// SerializationException, NotFoundException (no such principal, key or
// alias).
func (s *Server) explain(ctx context.Context, c *caller.Caller, body []byte) (any, error) {
	var in ExplainInput
	if err := awsproto.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	var v awsproto.Validation
	if in.PrincipalArn == nil {
		v.Required("principalArn")
	} else {
		v.Length(*in.PrincipalArn, "principalArn", 1, 2048)
	}
	if in.Action == nil {
		v.Required("action")
	} else {
		v.Length(*in.Action, "action", 1, 128)
	}
	if in.KeyId != nil {
		v.Length(*in.KeyId, "keyId", 1, 2048)
	}
	if in.Region != nil {
		v.Length(*in.Region, "region", 1, 32)
	}
	if len(in.EncryptionContext) > maxExplainEntries {
		v.Add(awsproto.Quote(strconv.Itoa(len(in.EncryptionContext))+" pairs"), "encryptionContext", "Map must have at most "+strconv.Itoa(maxExplainEntries)+" entries")
	}
	if len(in.ContextEntries) > maxExplainEntries {
		v.Add(awsproto.Quote(strconv.Itoa(len(in.ContextEntries))+" keys"), "contextEntries", "Map must have at most "+strconv.Itoa(maxExplainEntries)+" entries")
	}
	for k, vals := range in.ContextEntries {
		v.Length(k, "contextEntries.key", 1, 256)
		if len(vals) > maxExplainValues {
			v.Add(awsproto.Quote(strconv.Itoa(len(vals))+" values"), "contextEntries.value", "List must have at most "+strconv.Itoa(maxExplainValues)+" members")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	principal, action := *in.PrincipalArn, *in.Action
	keyID := ""
	if in.KeyId != nil {
		keyID = *in.KeyId
	}
	if t := c.Trail; t != nil {
		params := map[string]any{"principalArn": principal, "action": action}
		if keyID != "" {
			params["keyId"] = keyID
		}
		if in.Region != nil {
			params["region"] = *in.Region
		}
		if in.EncryptionContext != nil {
			params["encryptionContext"] = in.EncryptionContext
			t.EncryptionContext = in.EncryptionContext
		}
		t.Params = params
	}

	if !c.IsRoot() {
		if err := authorizeIdentity(ctx, c, "custos:Explain", principal); err != nil {
			return nil, err
		}
	}
	if acct := accountOfARN(principal); acct != "" && acct != c.AccountID {
		return nil, awsproto.Errorf("AccessDeniedException", "User: %s is not authorized to perform: custos:Explain on resource: %s because the principal is not in the caller's account", c.ARN, principal)
	}
	region := c.Region
	if in.Region != nil {
		region = *in.Region
		if !kms.IsRegion(region) || s.regions != nil && !s.regions[region] {
			return nil, awsproto.Errorf("ValidationException", "Region %q is not a region this server serves.", clip(region, 32))
		}
	}

	// The principal as its own requests would be seen: its IAM policies,
	// and its account's SCPs and organization as attachPolicies gives them.
	pc, names, err := s.iam.CallerOf(ctx, principal, region)
	if err != nil {
		return nil, err
	}
	levels, orgID, paths, err := s.org.SCPsOf(ctx, pc.AccountID)
	if err != nil {
		return nil, err
	}
	pc.Policies.SCPs, pc.Policies.OrgID, pc.Policies.OrgPaths = levels, orgID, paths
	pc.SourceIP, pc.Secure, pc.UserAgent = c.SourceIP, c.Secure, c.UserAgent

	e, err := s.kms.Explain(ctx, pc, action, keyID, in.EncryptionContext, in.ContextEntries)
	if err != nil {
		return nil, err
	}
	scpNames := s.scpNames(ctx, pc.AccountID, levels, paths)
	e.Rename(func(p *kms.PolicyExplanation) string {
		switch p.Type {
		case kms.PolicyTypeIdentity:
			if p.Index < len(names.Identity) {
				return names.Identity[p.Index]
			}
		case kms.PolicyTypeBoundary:
			return names.Boundary
		case kms.PolicyTypeSession:
			if p.Index < len(names.Session) {
				return names.Session[p.Index]
			}
		case kms.PolicyTypeSCP:
			if p.Level < len(scpNames) && p.Index < len(scpNames[p.Level]) {
				return scpNames[p.Level][p.Index]
			}
		}
		return ""
	})
	// Another account's key policy is that account's to show.
	for i := range e.Policies {
		if p := &e.Policies[i]; p.Type == kms.PolicyTypeKey && accountOfARN(p.Id) != c.AccountID {
			p.Statements = nil
		}
	}
	return &ExplainOutput{PrincipalArn: pc.ARN, Action: canonicalKMSAction(action, e), Explanation: e}, nil
}

// canonicalKMSAction returns the action as Explain decided it: the spelling
// its messages use.
func canonicalKMSAction(given string, e kms.Explanation) string {
	if _, rest, ok := strings.Cut(e.Message, " is not authorized to perform: "); ok {
		if a, _, ok := strings.Cut(rest, " on resource: "); ok {
			return a
		}
	}
	return given
}

// scpNames names the SCPs of each level of an account's organization by
// their ARNs, read from Organizations as the management account sees them
// (ListPoliciesForTarget orders them by id, as SCPsOf does). A level whose
// names cannot be read gets none: the explanation then names its SCPs by
// position.
func (s *Server) scpNames(ctx context.Context, account string, levels [][]*policy.Policy, paths []string) [][]string {
	if len(levels) == 0 || len(paths) == 0 {
		return nil
	}
	// The targets of the levels: the root and OUs of the account's path,
	// then the account.
	targets := append(strings.Split(strings.TrimSuffix(paths[0], "/"), "/")[1:], account)
	if len(targets) != len(levels) {
		return nil
	}
	org, err := s.org.Call(ctx, &caller.Caller{AccountID: account, ARN: iam.RootARN(account), Type: caller.TypeRoot, UserID: account}, "DescribeOrganization", nil)
	if err != nil {
		return nil
	}
	var described struct {
		Organization struct{ MasterAccountId string }
	}
	if !roundTrip(org, &described) || described.Organization.MasterAccountId == "" {
		return nil
	}
	mgmt := described.Organization.MasterAccountId
	mc := &caller.Caller{AccountID: mgmt, ARN: iam.RootARN(mgmt), Type: caller.TypeRoot, UserID: mgmt}
	out := make([][]string, len(levels))
	for i, target := range targets {
		var names []string
		token := ""
		for {
			in := map[string]string{"TargetId": target, "Filter": "SERVICE_CONTROL_POLICY"}
			if token != "" {
				in["NextToken"] = token
			}
			body, err := json.Marshal(in)
			if err != nil {
				return nil
			}
			reply, err := s.org.Call(ctx, mc, "ListPoliciesForTarget", body)
			if err != nil {
				return nil
			}
			var page struct {
				NextToken string
				Policies  []struct{ Arn string }
			}
			if !roundTrip(reply, &page) {
				return nil
			}
			for _, p := range page.Policies {
				names = append(names, p.Arn)
			}
			if token = page.NextToken; token == "" {
				break
			}
		}
		if len(names) == len(levels[i]) {
			out[i] = names
		}
	}
	return out
}

// roundTrip decodes an Organizations reply into v through its JSON form.
func roundTrip(reply any, v any) bool {
	b, err := json.Marshal(reply)
	return err == nil && json.Unmarshal(b, v) == nil
}
