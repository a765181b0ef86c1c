package kms

import (
	"context"

	"github.com/custoskms/custos/internal/awsproto"
)

// Operation is one row of the KMS operation table.
type Operation struct {
	Name     string // the TrentService operation, e.g. "Encrypt"
	ReadOnly bool   // as CloudTrail marks it (the cryptographic operations are)
	MaxBody  int64  // largest request body accepted, in bytes
	handle   func(s *Service, ctx context.Context, c *Caller, body []byte) (any, error)
}

// Body limits: the crypto operations carry at most a 6 KiB blob (8 KiB in
// base64) plus context; a key policy may be 128 Ki characters, each of which
// JSON may escape to six bytes.
const (
	smallBody  = 64 << 10
	policyBody = 1 << 20
)

// row makes a table row whose handler decodes the JSON body into I.
func row[I, O any](name string, readOnly bool, maxBody int64, fn func(*Service, context.Context, *Caller, *I) (*O, error)) *Operation {
	return &Operation{
		Name:     name,
		ReadOnly: readOnly,
		MaxBody:  maxBody,
		handle: func(s *Service, ctx context.Context, c *Caller, body []byte) (any, error) {
			var in I
			if err := awsproto.DecodeJSON(body, &in); err != nil {
				return nil, err
			}
			recordRequest(c, &in)
			if toks := grantTokensOf(&in); len(toks) > 0 || c.GrantTokens != nil {
				c.GrantTokens = toks
			}
			if s.rejectSensitive {
				if err := checkContext(&in); err != nil {
					return nil, err
				}
			}
			out, err := fn(s, ctx, c, &in)
			if err != nil {
				return nil, err
			}
			if !readOnly { // CloudTrail records no response of read-only operations
				recordResponse(c, out)
			}
			return out, nil
		},
	}
}

// operations is the table of every TrentService operation Custos serves.
var operations = map[string]*Operation{}

func init() {
	for _, op := range []*Operation{
		// Key lifecycle.
		row("CreateKey", false, policyBody, (*Service).CreateKey),
		row("DescribeKey", true, smallBody, (*Service).DescribeKey),
		row("ListKeys", true, smallBody, (*Service).ListKeys),
		row("EnableKey", false, smallBody, (*Service).EnableKey),
		row("DisableKey", false, smallBody, (*Service).DisableKey),
		row("ScheduleKeyDeletion", false, smallBody, (*Service).ScheduleKeyDeletion),
		row("CancelKeyDeletion", false, smallBody, (*Service).CancelKeyDeletion),
		row("UpdateKeyDescription", false, smallBody, (*Service).UpdateKeyDescription),
		row("GetKeyRotationStatus", true, smallBody, (*Service).GetKeyRotationStatus),
		row("GetKeyLastUsage", true, smallBody, (*Service).GetKeyLastUsage),
		row("EnableKeyRotation", false, smallBody, (*Service).EnableKeyRotation),
		row("DisableKeyRotation", false, smallBody, (*Service).DisableKeyRotation),
		// Cryptographic operations.
		row("Encrypt", true, smallBody, (*Service).Encrypt),
		row("Decrypt", true, smallBody, (*Service).Decrypt),
		row("ReEncrypt", true, smallBody, (*Service).ReEncrypt),
		row("GenerateDataKey", true, smallBody, (*Service).GenerateDataKey),
		row("GenerateDataKeyWithoutPlaintext", true, smallBody, (*Service).GenerateDataKeyWithoutPlaintext),
		row("GenerateRandom", true, smallBody, (*Service).GenerateRandom),
		// Aliases.
		row("CreateAlias", false, smallBody, (*Service).CreateAlias),
		row("UpdateAlias", false, smallBody, (*Service).UpdateAlias),
		row("DeleteAlias", false, smallBody, (*Service).DeleteAlias),
		row("ListAliases", true, smallBody, (*Service).ListAliases),
		// Tags.
		row("TagResource", false, smallBody, (*Service).TagResource),
		row("UntagResource", false, smallBody, (*Service).UntagResource),
		row("ListResourceTags", true, smallBody, (*Service).ListResourceTags),
		// Key policies.
		row("GetKeyPolicy", true, smallBody, (*Service).GetKeyPolicy),
		row("PutKeyPolicy", false, policyBody, (*Service).PutKeyPolicy),
		row("ListKeyPolicies", true, smallBody, (*Service).ListKeyPolicies),
		// Operations of key types Custos does not make yet: AWS's answer for a
		// symmetric key.
		row("Sign", true, smallBody, (*Service).Sign),
		row("Verify", true, smallBody, (*Service).Verify),
		row("GetPublicKey", true, smallBody, (*Service).GetPublicKey),
		row("GenerateMac", true, smallBody, (*Service).GenerateMac),
		row("VerifyMac", true, smallBody, (*Service).VerifyMac),
		row("GenerateDataKeyPair", true, smallBody, (*Service).GenerateDataKeyPair),
		row("GenerateDataKeyPairWithoutPlaintext", true, smallBody, (*Service).GenerateDataKeyPairWithoutPlaintext),
		row("DeriveSharedSecret", true, smallBody, (*Service).DeriveSharedSecret),
		// Grants.
		withoutGrantToken(row("CreateGrant", false, smallBody, (*Service).CreateGrant)),
		row("ListGrants", true, smallBody, (*Service).ListGrants),
		row("ListRetirableGrants", true, smallBody, (*Service).ListRetirableGrants),
		row("RetireGrant", false, smallBody, (*Service).RetireGrant),
		row("RevokeGrant", false, smallBody, (*Service).RevokeGrant),
	} {
		operations[op.Name] = op
	}
}

// Operations returns every row of the table.
func Operations() []*Operation {
	out := make([]*Operation, 0, len(operations))
	for _, op := range operations {
		out = append(out, op)
	}
	return out
}

// LookupOperation returns the row for a TrentService operation name.
func LookupOperation(name string) (*Operation, bool) {
	op, ok := operations[name]
	return op, ok
}

// Call runs operation op for caller c on a JSON request body and returns
// the reply to encode. Errors are *awsproto.Error values.
func (s *Service) Call(ctx context.Context, op *Operation, c *Caller, body []byte) (any, error) {
	return op.handle(s, ctx, c, body)
}
