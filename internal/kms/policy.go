package kms

import (
	"context"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/custoskms/custos/internal/awsproto"
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

// checkPolicyDocument applies the key-policy rules that hold before the
// policy language is evaluated: the size quota and a JSON object with
// statements.
func checkPolicyDocument(p string) error {
	if len(p) > maxPolicyBytes {
		return awsproto.Errorf("LimitExceededException", "Policy size exceeds the limit of %d bytes.", maxPolicyBytes)
	}
	var doc map[string]jsontext.Value
	if err := json.Unmarshal([]byte(p), &doc, json.RejectUnknownMembers(false)); err != nil {
		return awsproto.Errorf("MalformedPolicyDocumentException", "The policy is not a valid JSON object.")
	}
	st, ok := doc["Statement"]
	if !ok {
		return awsproto.Errorf("MalformedPolicyDocumentException", "The policy must contain a Statement element.")
	}
	if k := st.Kind(); k != '[' && k != '{' {
		return awsproto.Errorf("MalformedPolicyDocumentException", "The Statement element must be an object or an array of objects.")
	}
	return nil
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
	if err := s.authorize(ctx, c, "kms:GetKeyPolicy", &k.meta, nil); err != nil {
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
	if err := checkPolicyDocument(*in.Policy); err != nil {
		return nil, err
	}
	_, err := s.change(ctx, c, "PutKeyPolicy", *in.KeyId, "kms:PutKeyPolicy", useAny, func(_ store.Tx, k *store.Key) error {
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
	if err := s.authorize(ctx, c, "kms:ListKeyPolicies", &k.meta, nil); err != nil {
		return nil, err
	}
	return &ListKeyPoliciesOutput{PolicyNames: []string{"default"}}, nil
}
