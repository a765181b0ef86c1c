package kms

import (
	"context"
	"strconv"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Policy types of an Explanation.
const (
	PolicyTypeSCP      = "ServiceControlPolicy"
	PolicyTypeKey      = "KeyPolicy"
	PolicyTypeIdentity = "IdentityPolicy"
	PolicyTypeBoundary = "PermissionsBoundary"
	PolicyTypeSession  = "SessionPolicy"
)

// Explanation says how a KMS request would be decided and why.
type Explanation struct {
	Decision string // "Allow" or "Deny"
	// Reason is AWS's reason for a denial ("because no resource-based
	// policy allows the kms:Decrypt action", "with an explicit deny in a
	// service control policy"), or for an allowed request the statements
	// that allowed it ("KeyPolicy arn:... statement \"Sid\"; ...").
	Reason string
	// Message is the AccessDeniedException message a denied request gets;
	// "" when allowed.
	Message string `json:",omitempty"`
	// AuditReason is the reason the audit trail records for the same
	// decision.
	AuditReason string
	// Resource is the resource decided on: the key ARN, an alias ARN, or
	// "*" for actions on no key.
	Resource string
	// KeyState is the key's state (Enabled, Disabled, PendingDeletion, ...)
	// when the action is on a key.
	KeyState string `json:",omitempty"`
	// StateError is the error ("DisabledException: ARN is disabled.") an
	// authorized request gets anyway because of KeyState; "" when the state
	// allows the action.
	StateError string `json:",omitempty"`
	// Policies are every policy that took part, in the order AWS weighs
	// them: SCPs (root level first), the key policy, identity policies, the
	// permissions boundary, session policies.
	Policies []PolicyExplanation
}

// PolicyExplanation is one policy of an Explanation with the fate of each
// of its statements.
type PolicyExplanation struct {
	Type string // PolicyTypeSCP, PolicyTypeKey, ...
	// Id names the policy: the key ARN for a key policy; for the others a
	// position ("IdentityPolicy 1", "ServiceControlPolicy 2.1") that
	// Rename replaces with a name.
	Id string
	// Level (SCPs: the organization level, 0 for the root) and Index (the
	// policy's position among those of its type and level, from 0) place
	// the policy in the caller's lists.
	Level      int `json:"-"`
	Index      int `json:"-"`
	Statements []StatementExplanation
}

// StatementExplanation is one statement of a policy: whether it applied to
// the request, whether it decided, and why.
type StatementExplanation struct {
	Index    int
	Sid      string `json:",omitempty"`
	Effect   string
	Applied  bool
	Deciding bool
	Reason   string
}

// kmsIAMOnly are the KMS actions on no key: IAM policies alone decide them
// (AWS: valid only in IAM policies), on resource "*".
var kmsIAMOnly = map[string]bool{
	"createkey": true, "listkeys": true, "listaliases": true, "generaterandom": true, "listretirablegrants": true,
	"createcustomkeystore": true, "describecustomkeystores": true, "updatecustomkeystore": true,
	"connectcustomkeystore": true, "disconnectcustomkeystore": true, "deletecustomkeystore": true,
}

// aliasActions check the alias (IAM policies alone) and then the key.
var aliasActions = map[string]bool{"createalias": true, "updatealias": true, "deletealias": true}

// symmetricCrypto are the operations that live requests authorize with
// kms:EncryptionAlgorithm SYMMETRIC_DEFAULT when none is given.
var symmetricCrypto = map[string]bool{
	"encrypt": true, "decrypt": true, "reencryptfrom": true, "reencryptto": true,
	"generatedatakey": true, "generatedatakeywithoutplaintext": true,
}

// withRequestAlias are the operations whose live requests set
// kms:RequestAlias when the KeyId is an alias.
var withRequestAlias = map[string]bool{
	"encrypt": true, "decrypt": true, "reencryptfrom": true, "reencryptto": true,
	"generatedatakey": true, "generatedatakeywithoutplaintext": true, "generatedatakeypair": true,
	"generatedatakeypairwithoutplaintext": true, "sign": true, "verify": true, "generatemac": true,
	"verifymac": true, "derivesharedsecret": true, "getpublickey": true,
}

// canonicalAction spells a kms: action as AWS does when the name is one
// Custos knows ("KMS:decrypt" becomes "kms:Decrypt"); other names keep
// their spelling after the prefix.
func canonicalAction(action string) (string, bool) {
	prefix, name, ok := strings.Cut(action, ":")
	if !ok || !strings.EqualFold(prefix, "kms") || name == "" {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", false
		}
	}
	for op := range operations {
		if strings.EqualFold(op, name) {
			return "kms:" + op, true
		}
	}
	for _, op := range []string{"ReEncryptFrom", "ReEncryptTo", "ListRetirableGrants", "CreateGrant", "ListGrants",
		"RetireGrant", "RevokeGrant", "ReplicateKey", "UpdatePrimaryRegion", "ImportKeyMaterial",
		"GetParametersForImport", "DeleteImportedKeyMaterial", "RotateKeyOnDemand", "ListKeyRotations",
		"CreateCustomKeyStore", "DescribeCustomKeyStores", "UpdateCustomKeyStore", "ConnectCustomKeyStore",
		"DisconnectCustomKeyStore", "DeleteCustomKeyStore"} {
		if strings.EqualFold(op, name) {
			return "kms:" + op, true
		}
	}
	return "kms:" + name, true
}

// Explain says how a request of caller c for action ("kms:Decrypt") on the
// key keyID names (a key id, key ARN, alias name or alias ARN, resolved as
// live requests resolve it; "" for actions on no key, which IAM policies
// alone decide) would be decided, with encryption context ec and the
// condition keys in extra set last, over those the request would have.
//
// The decision, Message and AuditReason come from the authorizer of live
// requests itself, run on c with a private trail; the per-statement
// explanations come from evaluating each policy of the same policy.Set on
// the same request context. The request keys a live request sets are set
// with their defaults: kms:EncryptionAlgorithm SYMMETRIC_DEFAULT for the
// symmetric cryptographic operations, kms:RequestAlias when keyID is an
// alias, kms:BypassPolicyLockoutSafetyCheck false for PutKeyPolicy and
// CreateKey, kms:ScheduleKeyDeletionPendingWindowInDays 30, CreateKey's
// key-spec keys for a symmetric key, kms:GrantIsForAWSResource false for
// CreateGrant, ListGrants and RevokeGrant (CreateGrant's other keys, such
// as kms:GrantOperations, come only from extra). For the alias operations
// with an alias keyID, the alias is checked first and then its target key,
// as live requests do; the explanation is that of the first check that
// denies, or of the key.
//
// c is not modified. Explain returns ValidationException for an action
// that is not kms:, NotFoundException when the key or alias does not
// exist, and internal errors when the store fails. Safe for concurrent use.
func (s *Service) Explain(ctx context.Context, c *Caller, action, keyID string, ec map[string]string, extra map[string][]string) (Explanation, error) {
	canon, ok := canonicalAction(action)
	if !ok {
		return Explanation{}, awsproto.Errorf("ValidationException", "Action %q is not a KMS action of the form kms:Name.", clipString(action, 128))
	}
	action = canon
	name := strings.ToLower(strings.TrimPrefix(action, "kms:"))
	explained := *c
	explained.Trail = nil
	if explained.RequestTime.IsZero() {
		explained.RequestTime = s.now()
	}
	overrides := func(pc *policy.Context) {
		for k, v := range extra {
			pc.Set(k, v...)
		}
	}
	if kmsIAMOnly[name] {
		a := access{action: action, extra: overrides}
		if name == "createkey" {
			a.extra = func(pc *policy.Context) {
				pc.Set("kms:KeySpec", SpecSymmetricDefault)
				pc.Set("kms:CustomerMasterKeySpec", SpecSymmetricDefault)
				pc.Set("kms:KeyUsage", UsageEncryptDecrypt)
				pc.Set("kms:CustomerMasterKeyUsage", UsageEncryptDecrypt)
				pc.Set("kms:KeyOrigin", OriginAWSKMS)
				pc.SetBool("kms:MultiRegion", false)
				pc.SetBool("kms:BypassPolicyLockoutSafetyCheck", false)
				overrides(pc)
			}
		}
		return s.explainAccess(ctx, &explained, a), nil
	}
	if keyID == "" {
		return Explanation{}, awsproto.Errorf("ValidationException", "KeyId is required to explain %s.", action)
	}
	if aliasActions[name] && aliasNameOf(keyID) != "" {
		aliasRes := aliasARN(explained.Region, explained.AccountID, aliasNameOf(keyID))
		if a, ok := parseKMSARN(keyID); ok {
			aliasRes = aliasARN(a.region, a.account, a.resource)
		}
		e := s.explainAccess(ctx, &explained, access{action: action, resource: aliasRes, extra: overrides})
		if e.Decision != "Allow" {
			return e, nil
		}
	}
	k, err := s.key(ctx, &explained, keyID, withAlias)
	if err != nil {
		return Explanation{}, err
	}
	a := access{action: action, key: k, ec: ec}
	if symmetricCrypto[name] && k.meta.KeySpec == SpecSymmetricDefault {
		a.algorithm = AlgSymmetricDefault
	}
	if withRequestAlias[name] {
		a.alias = aliasNameOf(keyID)
	}
	a.extra = overrides
	switch name {
	case "putkeypolicy":
		a.extra = func(pc *policy.Context) { bypassKey(false)(pc); overrides(pc) }
	case "creategrant", "listgrants", "revokegrant":
		a.extra = func(pc *policy.Context) {
			pc.SetBool("kms:GrantIsForAWSResource", false)
			overrides(pc)
		}
	case "schedulekeydeletion":
		a.extra = func(pc *policy.Context) {
			pc.SetNumber("kms:ScheduleKeyDeletionPendingWindowInDays", 30)
			overrides(pc)
		}
	}
	e := s.explainAccess(ctx, &explained, a)
	e.KeyState = k.meta.State
	if err := actionState(name, &k.meta); err != nil {
		if ae, ok := awsproto.As(err); ok {
			e.StateError = ae.Code + ": " + ae.Message
		}
	}
	return e, nil
}

// actionState returns the error the live operation of action name (lower
// case, without "kms:") gives after authorization because of k's state, or
// nil: the checks of the operations, by the key-state table.
func actionState(name string, k *store.Key) error {
	switch name {
	case "creategrant":
		return createGrantState(k)
	case "enablekeyrotation", "disablekeyrotation", "rotatekeyondemand":
		return rotationState(k)
	case "enablekey", "disablekey":
		return checkState(k, useEnableDisable)
	case "schedulekeydeletion":
		return checkState(k, useSchedule)
	case "cancelkeydeletion":
		return checkState(k, useCancel)
	case "createalias", "updatealias", "tagresource", "untagresource", "updatekeydescription":
		return checkState(k, useModify)
	}
	if withRequestAlias[name] {
		return checkState(k, useCrypto) // every cryptographic operation
	}
	return nil
}

// explainAccess decides a with the live authorizer and explains each
// policy's statements.
func (s *Service) explainAccess(ctx context.Context, c *Caller, a access) Explanation {
	// The live decision, recorded in a private trail.
	live := *c
	live.Trail = &caller.Trail{}
	authErr := s.authorize(ctx, &live, a)

	// The same Set and Request as authorize builds, with the context always
	// built (it changes no decision: only conditions and variables read it).
	set, req := s.question(c, a, true)
	resource := req.Resource
	res := set.Decide(&req)

	e := Explanation{Decision: live.Trail.Decision, AuditReason: live.Trail.Reason, Resource: resource}
	if e.Decision == "" {
		e.Decision = "Allow"
		if authErr != nil {
			e.Decision = "Deny"
		}
	}
	add := func(typ string, level, index int, p *policy.Policy, id string) {
		_, traces := p.Explain(&req)
		pe := PolicyExplanation{Type: typ, Id: id, Level: level, Index: index, Statements: make([]StatementExplanation, len(traces))}
		for i, t := range traces {
			pe.Statements[i] = StatementExplanation{Index: t.Index, Sid: t.Sid, Effect: t.Effect, Applied: t.Applied, Reason: t.Reason}
		}
		e.Policies = append(e.Policies, pe)
	}
	for level, pols := range set.SCPs {
		for i, p := range pols {
			if p != nil {
				add(PolicyTypeSCP, level, i, p, PolicyTypeSCP+" "+strconv.Itoa(level+1)+"."+strconv.Itoa(i+1))
			}
		}
	}
	if set.Resource != nil {
		add(PolicyTypeKey, 0, 0, set.Resource, resource)
	}
	for i, p := range set.Identity {
		if p != nil {
			add(PolicyTypeIdentity, 0, i, p, PolicyTypeIdentity+" "+strconv.Itoa(i+1))
		}
	}
	if set.Boundary != nil {
		add(PolicyTypeBoundary, 0, 0, set.Boundary, PolicyTypeBoundary)
	}
	for i, p := range set.Session {
		if p != nil {
			add(PolicyTypeSession, 0, i, p, PolicyTypeSession+" "+strconv.Itoa(i+1))
		}
	}
	agree := res.Allowed == (authErr == nil)
	for _, d := range res.Deciding {
		if !agree {
			break
		}
		if st := e.statement(typeName(d.Type), d.Level, d.Index, d.Statement.Index); st != nil {
			st.Deciding = true
		}
	}

	switch {
	case authErr == nil && res.Allowed:
		e.Reason = e.allowReason()
	case authErr == nil:
		// Allowed by something outside the policies (a grant).
		e.Reason = "allowed by " + e.AuditReason
	default:
		e.Message = authErr.Error()
		if ae, ok := awsproto.As(authErr); ok {
			e.Message = ae.Message
		}
		// AWS's reason, as the live message gives it.
		prefix := policy.Result{}.Message(c.ARN, a.action, resource)
		e.Reason = strings.TrimPrefix(e.Message, prefix)
	}
	return e
}

// statement returns the statement of the policy of type typ at (level,
// index), or nil.
func (e *Explanation) statement(typ string, level, index, stmt int) *StatementExplanation {
	for i := range e.Policies {
		p := &e.Policies[i]
		if p.Type == typ && p.Level == level && p.Index == index && stmt >= 0 && stmt < len(p.Statements) {
			return &p.Statements[stmt]
		}
	}
	return nil
}

// allowReason names the deciding statements of an allowed request.
func (e *Explanation) allowReason() string {
	var b strings.Builder
	for _, p := range e.Policies {
		for _, st := range p.Statements {
			if !st.Deciding {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(p.Type + " " + p.Id + " statement ")
			if st.Sid != "" {
				b.WriteString(strconv.Quote(st.Sid))
			} else {
				b.WriteString(strconv.Itoa(st.Index))
			}
		}
	}
	if b.Len() == 0 {
		return "allowed: the account root needs no identity-based policy for an action on no key"
	}
	return "allowed by " + b.String()
}

// Rename sets the Id of every policy but the key policy to what name
// returns for it (an empty answer keeps the Id), and rewrites the Reason of
// an allowed request to use the new names.
func (e *Explanation) Rename(name func(p *PolicyExplanation) string) {
	for i := range e.Policies {
		p := &e.Policies[i]
		if p.Type == PolicyTypeKey {
			continue
		}
		if n := name(p); n != "" {
			p.Id = n
		}
	}
	if e.Decision == "Allow" && strings.HasPrefix(e.Reason, "allowed by ") {
		e.Reason = e.allowReason()
	}
}

func typeName(t policy.SourceType) string {
	switch t {
	case policy.SourceSCP:
		return PolicyTypeSCP
	case policy.SourceResource:
		return PolicyTypeKey
	case policy.SourceIdentity:
		return PolicyTypeIdentity
	case policy.SourceBoundary:
		return PolicyTypeBoundary
	case policy.SourceSession:
		return PolicyTypeSession
	}
	return ""
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
