package kms

import (
	"reflect"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/custoskms/custos/internal/audit"
	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
)

// Request parameters for the audit trail are derived from the decoded input
// as CloudTrail records them: members in camelCase, nil members left out,
// and never a blob (plaintexts, ciphertexts, public keys) or a grant token.

// omittedMembers are members never recorded, whatever their type.
var omittedMembers = map[string]bool{"GrantTokens": true}

// fieldPlan is how one struct field is recorded.
type fieldPlan struct {
	index []int
	name  string
}

var plans sync.Map // reflect.Type -> []fieldPlan

func planOf(t reflect.Type) []fieldPlan {
	if p, ok := plans.Load(t); ok {
		return p.([]fieldPlan)
	}
	var out []fieldPlan
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous || omittedMembers[f.Name] || isBlob(f.Type) {
			continue
		}
		out = append(out, fieldPlan{index: f.Index, name: camel(f.Name)})
	}
	plans.Store(t, out)
	return out
}

func isBlob(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

func camel(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// trailValue converts an input value to what CloudTrail records.
func trailValue(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return trailValue(v.Elem())
	case reflect.Struct:
		if v.Type().PkgPath() != "" && v.Type().Name() == "Time" {
			return v.Interface(), true
		}
		m := map[string]any{}
		for _, f := range planOf(v.Type()) {
			if x, ok := trailValue(v.FieldByIndex(f.index)); ok {
				m[f.name] = x
			}
		}
		return m, true
	case reflect.Slice:
		if v.IsNil() {
			return nil, false
		}
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			if x, ok := trailValue(v.Index(i)); ok {
				out = append(out, x)
			}
		}
		return out, true
	case reflect.Map:
		if v.IsNil() {
			return nil, false
		}
		return v.Interface(), true
	case reflect.Bool:
		if !v.Bool() {
			return nil, false
		}
	case reflect.String:
		if v.Len() == 0 {
			return nil, false
		}
	}
	return v.Interface(), true
}

// checkContext refuses an input whose encryption contexts look like they
// hold secrets or personal data. The message names the key and what it
// looks like, never the value.
func checkContext(in any) error {
	v := reflect.ValueOf(in).Elem()
	for _, name := range []string{"EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext"} {
		f := v.FieldByName(name)
		if !f.IsValid() {
			continue
		}
		ec, _ := f.Interface().(map[string]string)
		if fs := audit.InspectContext(ec); len(fs) > 0 {
			return awsproto.Errorf("ValidationException",
				"The encryption context value of key '%s' looks like %s. Encryption context is not secret: it is recorded in plain text in the audit trail.", fs[0].Key, kindText(fs[0].Kind))
		}
	}
	return nil
}

func kindText(kind string) string {
	switch kind {
	case audit.KindEmail:
		return "an email address"
	case audit.KindCardNumber:
		return "a payment card number"
	case audit.KindNationalID:
		return "a national identity number"
	case audit.KindHighEntropy:
		return "a secret (a long high-entropy string)"
	case audit.KindSensitiveKey:
		return "a secret (its key names a password, secret, token or credential)"
	}
	return "sensitive data (" + kind + ")"
}

// trailParamser is an input that writes its own trail parameters: the hot
// operations, to spare them reflection.
type trailParamser interface{ trailParams() map[string]any }

// cryptoParams are the parameters CloudTrail records for Encrypt and
// Decrypt.
func cryptoParams(keyID *string, ec map[string]string, algorithm string, dryRun bool) map[string]any {
	m := make(map[string]any, 3)
	if keyID != nil {
		m["keyId"] = *keyID
	}
	if ec != nil {
		m["encryptionContext"] = ec
	}
	m["encryptionAlgorithm"] = orDefault(algorithm)
	if dryRun {
		m["dryRun"] = true
	}
	return m
}

func (in *EncryptInput) trailParams() map[string]any {
	return cryptoParams(in.KeyId, in.EncryptionContext, in.EncryptionAlgorithm, in.DryRun)
}

func (in *DecryptInput) trailParams() map[string]any {
	return cryptoParams(in.KeyId, in.EncryptionContext, in.EncryptionAlgorithm, in.DryRun)
}

func (in *GenerateDataKeyInput) trailParams() map[string]any {
	m := make(map[string]any, 4)
	if in.KeyId != nil {
		m["keyId"] = *in.KeyId
	}
	if in.EncryptionContext != nil {
		m["encryptionContext"] = in.EncryptionContext
	}
	if in.KeySpec != "" {
		m["keySpec"] = in.KeySpec
	}
	if in.NumberOfBytes != nil {
		m["numberOfBytes"] = *in.NumberOfBytes
	}
	if in.DryRun {
		m["dryRun"] = true
	}
	return m
}

// orDefault is the encryption algorithm CloudTrail records: the one asked
// for, or SYMMETRIC_DEFAULT.
func orDefault(alg string) string {
	if alg == "" {
		return AlgSymmetricDefault
	}
	return alg
}

// recordRequest puts an operation's decoded input into the caller's trail.
func recordRequest(c *caller.Caller, in any) {
	t := c.Trail
	if t == nil {
		return
	}
	if tp, ok := in.(trailParamser); ok {
		t.Params = tp.trailParams()
	} else if m, ok := trailValue(reflect.ValueOf(in)); ok {
		t.Params, _ = m.(map[string]any)
	}
	t.EncryptionContext = contextOf(in)
}

// contextOf returns the encryption context of an input (for ReEncrypt, the
// source and destination contexts together), or nil.
func contextOf(in any) map[string]string {
	switch in := in.(type) {
	case *EncryptInput:
		return in.EncryptionContext
	case *DecryptInput:
		return in.EncryptionContext
	case *GenerateDataKeyInput:
		return in.EncryptionContext
	}
	var out map[string]string
	v := reflect.ValueOf(in).Elem()
	for _, name := range []string{"EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext"} {
		f := v.FieldByName(name)
		if !f.IsValid() {
			continue
		}
		ec, _ := f.Interface().(map[string]string)
		if len(ec) > 0 && out == nil {
			out = make(map[string]string, len(ec))
		}
		for k, x := range ec {
			out[k] = x
		}
	}
	return out
}

// recordResponse puts a management operation's reply into the trail.
func recordResponse(c *caller.Caller, out any) {
	if c.Trail == nil || out == nil {
		return
	}
	if m, ok := trailValue(reflect.ValueOf(out)); ok {
		if mm, ok := m.(map[string]any); ok && len(mm) == 0 {
			return
		}
		c.Trail.Response = m
	}
}
