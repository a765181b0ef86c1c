package kms

import (
	"context"
	"errors"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// maxPolicyBytes is AWS's quota on the size of a key policy document.
const maxPolicyBytes = 32 << 10

const policyPattern = `[\u0009\u000A\u000D\u0020-\u00FF]+`

// validatePolicyText checks a Policy member against the model: 1..131072
// characters from tab, newline, carriage return and U+0020..U+00FF.
func validatePolicyText(v *awsproto.Validation, p string) {
	v.Length(p, "policy", 1, 131072)
	for _, r := range p {
		if !(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xFF) {
			v.Pattern(p, "policy", policyPattern)
			return
		}
	}
}

// checkPolicyDocument applies AWS's rules for a new key policy of key
// (keyARN in keyAccount) set by caller c: the size quota, the policy
// language, principals that exist, no ForAllValues on single-valued
// request keys, and unless bypass, the lockout safety check: the new policy
// must let the caller call PutKeyPolicy on the key afterwards. It returns
// the compiled policy.
func (s *Service) checkPolicyDocument(ctx context.Context, c *Caller, doc, keyARN, keyAccount string, bypass bool) (*policy.Policy, error) {
	if len(doc) > maxPolicyBytes {
		return nil, awsproto.Errorf("LimitExceededException", "Policy size exceeds the limit of %d bytes.", maxPolicyBytes)
	}
	p, err := policy.Parse(doc, policy.KeyPolicy)
	if err != nil {
		var se *policy.SyntaxError
		if errors.As(err, &se) {
			return nil, awsproto.Errorf("MalformedPolicyDocumentException", "%s", se.Message)
		}
		return nil, s.internal("PutKeyPolicy", err)
	}
	for _, st := range p.Statements() {
		for _, cond := range st.Condition {
			key := strings.ToLower(cond.Key)
			if strings.HasPrefix(strings.ToLower(cond.Operator), "forallvalues:") &&
				(strings.HasPrefix(key, "kms:encryptioncontext:") || strings.HasPrefix(key, "aws:requesttag/")) {
				return nil, awsproto.Errorf("MalformedPolicyDocumentException",
					"OverlyPermissiveCondition: %s with the single-valued condition key %s allows requests without that key; use it without ForAllValues.", cond.Operator, cond.Key)
			}
		}
		if s.principalExists == nil {
			continue
		}
		for _, pr := range []*policy.Principals{st.Principal, st.NotPrincipal} {
			if pr == nil {
				continue
			}
			for _, arn := range pr.AWS {
				if arn == "*" {
					continue
				}
				if isAccountID(arn) {
					arn = "arn:aws:iam::" + arn + ":root"
				}
				ok, err := s.principalExists(ctx, arn)
				if err != nil {
					return nil, s.internal("PutKeyPolicy", err)
				}
				if !ok {
					return nil, awsproto.Errorf("MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals.")
				}
			}
		}
	}
	if !bypass {
		probe := &liveKey{meta: store.Key{ARN: keyARN, AccountID: keyAccount, Policy: doc, KeySpec: SpecSymmetricDefault, KeyUsage: UsageEncryptDecrypt, Origin: OriginAWSKMS}, policy: p}
		if err := s.authorize(ctx, &Caller{
			AccountID: c.AccountID, ARN: c.ARN, Type: c.Type, UserID: c.UserID, UserName: c.UserName,
			RoleARN: c.RoleARN, Tags: c.Tags, Region: c.Region, SourceIP: c.SourceIP, Secure: c.Secure,
			RequestTime: c.RequestTime, Policies: c.Policies,
		}, access{action: "kms:PutKeyPolicy", key: probe}); err != nil {
			if _, ok := awsproto.As(err); ok {
				return nil, awsproto.Errorf("MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.")
			}
			return nil, err
		}
	}
	return p, nil
}

func bypassKey(bypass bool) func(*policy.Context) {
	return func(pc *policy.Context) { pc.SetBool("kms:BypassPolicyLockoutSafetyCheck", bypass) }
}

// KeyPolicyInput is the request of GetKeyPolicy.
type KeyPolicyInput struct {
	KeyId      *string
	PolicyName *string
}

// validatePolicyName checks PolicyName's constraints into v; the returned
// function applies the rule that only "default" exists.
func validatePolicyName(v *awsproto.Validation, name *string) func() error {
	if name == nil {
		return func() error { return nil }
	}
	v.Length(*name, "policyName", 1, 128)
	for _, r := range *name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			v.Pattern(*name, "policyName", `[\w]+`)
			break
		}
	}
	return func() error {
		if *name != "default" {
			return awsproto.Errorf("NotFoundException", "No such policy exists")
		}
		return nil
	}
}

// GetKeyPolicyOutput is GetKeyPolicy's reply.
type GetKeyPolicyOutput struct {
	Policy     string
	PolicyName string
}

// GetKeyPolicy returns a key's policy document, exactly as stored.
func (s *Service) GetKeyPolicy(ctx context.Context, c *Caller, in *KeyPolicyInput) (*GetKeyPolicyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	rules := validatePolicyName(&v, in.PolicyName)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := rules(); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:GetKeyPolicy", key: k}); err != nil {
		return nil, err
	}
	return &GetKeyPolicyOutput{Policy: k.meta.Policy, PolicyName: "default"}, nil
}

// PutKeyPolicyInput is PutKeyPolicy's request.
type PutKeyPolicyInput struct {
	KeyId                          *string
	PolicyName                     *string
	Policy                         *string
	BypassPolicyLockoutSafetyCheck bool
}

// PutKeyPolicy replaces a key's policy.
func (s *Service) PutKeyPolicy(ctx context.Context, c *Caller, in *PutKeyPolicyInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.Policy == nil {
		v.Required("policy")
	} else {
		validatePolicyText(&v, *in.Policy)
	}
	rules := validatePolicyName(&v, in.PolicyName)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := rules(); err != nil {
		return nil, err
	}
	_, err := s.change(ctx, c, "PutKeyPolicy", *in.KeyId, "kms:PutKeyPolicy", useAny, bypassKey(in.BypassPolicyLockoutSafetyCheck), func(_ store.Tx, k *store.Key) error {
		if _, err := s.checkPolicyDocument(ctx, c, *in.Policy, k.ARN, k.AccountID, in.BypassPolicyLockoutSafetyCheck); err != nil {
			return err
		}
		k.Policy = *in.Policy
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// ListKeyPoliciesInput is ListKeyPolicies' request.
type ListKeyPoliciesInput struct {
	KeyId *string
	ListInput
}

// ListKeyPoliciesOutput is ListKeyPolicies' reply.
type ListKeyPoliciesOutput struct {
	PolicyNames []string
	NextMarker  string `json:",omitempty"`
	Truncated   bool
}

// ListKeyPolicies names a key's policies: always just "default".
func (s *Service) ListKeyPolicies(ctx context.Context, c *Caller, in *ListKeyPoliciesInput) (*ListKeyPoliciesOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	in.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, _, err := in.page(100); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:ListKeyPolicies", key: k}); err != nil {
		return nil, err
	}
	return &ListKeyPoliciesOutput{PolicyNames: []string{"default"}}, nil
}
