package kms

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json"

	"github.com/custoskms/custos/internal/awsproto"
)

// allOperations is every row of the operation table, written out so that a
// row that goes missing is noticed.
var allOperations = []string{
	"CreateKey", "DescribeKey", "ListKeys", "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
	"UpdateKeyDescription", "GetKeyRotationStatus", "EnableKeyRotation", "DisableKeyRotation", "GetKeyLastUsage",
	"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom",
	"CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases",
	"TagResource", "UntagResource", "ListResourceTags",
	"GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies",
	"Sign", "Verify", "GetPublicKey", "GenerateMac", "VerifyMac",
	"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "DeriveSharedSecret",
	"CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant",
}

func TestOperationTable(t *testing.T) {
	for _, name := range allOperations {
		op, ok := LookupOperation(name)
		if !ok {
			t.Errorf("LookupOperation(%q) not found", name)
			continue
		}
		if op.Name != name || op.MaxBody <= 0 {
			t.Errorf("LookupOperation(%q) = %+v", name, op)
		}
	}
	if len(operations) != len(allOperations) {
		t.Errorf("the table has %d rows, the test knows %d", len(operations), len(allOperations))
	}
	for _, name := range []string{"", "encrypt", "TrentService.Encrypt", "createGrant"} {
		if _, ok := LookupOperation(name); ok {
			t.Errorf("LookupOperation(%q) found a row", name)
		}
	}
}

// Placeholders in the seed bodies, replaced by the fuzz target with a real
// key id, key ARN and ciphertext, so that mutations reach past key lookup.
const (
	phKey = "{{KEY}}"
	phARN = "{{ARN}}"
	phCT  = "{{CT}}"
	// Keys of the other specs, an RSA-OAEP ciphertext and a peer public key.
	phECKey    = "{{ECKEY}}"    // ECC_NIST_P256, SIGN_VERIFY
	phRSAKey   = "{{RSAKEY}}"   // RSA_2048, ENCRYPT_DECRYPT
	phRSACT    = "{{RSACT}}"    // RSAES_OAEP_SHA_256 ciphertext under phRSAKey
	phHMACKey  = "{{HMACKEY}}"  // HMAC_256
	phAgreeKey = "{{AGREEKEY}}" // ECC_NIST_P256, KEY_AGREEMENT
	phAgreePub = "{{AGREEPUB}}" // its public key (DER SPKI)
)

// operationSeeds are real request bodies, by operation.
var operationSeeds = map[string][]string{
	"CreateKey": {
		`{}`,
		`{"Description":"app key","KeyUsage":"ENCRYPT_DECRYPT","KeySpec":"SYMMETRIC_DEFAULT","Origin":"AWS_KMS","Tags":[{"TagKey":"team","TagValue":"x"}]}`,
		`{"Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}","BypassPolicyLockoutSafetyCheck":true}`,
		`{"KeySpec":"RSA_2048","KeyUsage":"SIGN_VERIFY"}`,
		`{"MultiRegion":true,"CustomerMasterKeySpec":"SYMMETRIC_DEFAULT"}`,
		`{"KeySpec":"ECC_NIST_P256","KeyUsage":"KEY_AGREEMENT"}`,
		`{"KeySpec":"HMAC_384","KeyUsage":"GENERATE_VERIFY_MAC"}`,
		`{"KeySpec":"ML_DSA_44","KeyUsage":"SIGN_VERIFY"}`,
	},
	"DescribeKey":          {`{"KeyId":"{{KEY}}"}`, `{"KeyId":"{{ARN}}","GrantTokens":["t"]}`, `{"KeyId":"alias/app"}`},
	"ListKeys":             {`{}`, `{"Limit":1}`, `{"Limit":10,"Marker":"YWJj"}`},
	"EnableKey":            {`{"KeyId":"{{KEY}}"}`},
	"DisableKey":           {`{"KeyId":"{{ARN}}"}`},
	"ScheduleKeyDeletion":  {`{"KeyId":"{{KEY}}","PendingWindowInDays":7}`},
	"CancelKeyDeletion":    {`{"KeyId":"{{KEY}}"}`},
	"UpdateKeyDescription": {`{"KeyId":"{{KEY}}","Description":"new description"}`},
	"GetKeyRotationStatus": {`{"KeyId":"{{KEY}}"}`},
	"GetKeyLastUsage":      {`{"KeyId":"{{KEY}}"}`, `{"KeyId":"alias/x"}`, `{}`},
	"EnableKeyRotation":    {`{"KeyId":"{{KEY}}","RotationPeriodInDays":90}`},
	"DisableKeyRotation":   {`{"KeyId":"{{ARN}}"}`},
	"Encrypt": {
		`{"KeyId":"{{KEY}}","Plaintext":"aGVsbG8="}`,
		`{"KeyId":"alias/app","Plaintext":"aGVsbG8=","EncryptionContext":{"dept":"10"},"EncryptionAlgorithm":"SYMMETRIC_DEFAULT","GrantTokens":["t"],"DryRun":true}`,
		`{"KeyId":"{{RSAKEY}}","Plaintext":"aGVsbG8=","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}`,
	},
	"Decrypt": {
		`{"CiphertextBlob":"{{CT}}"}`,
		`{"CiphertextBlob":"{{CT}}","KeyId":"{{ARN}}","EncryptionContext":{"a":"b"},"EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
		`{"CiphertextBlob":"{{CT}}","DryRun":true,"DryRunModifiers":["IGNORE_CIPHERTEXT"]}`,
		`{"CiphertextBlob":"{{CT}}","Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256","AttestationDocument":"AAAA"}}`,
		`{"CiphertextBlob":"{{RSACT}}","KeyId":"{{RSAKEY}}","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}`,
	},
	"ReEncrypt": {
		`{"CiphertextBlob":"{{CT}}","DestinationKeyId":"{{KEY}}","DestinationEncryptionContext":{"x":"y"}}`,
		`{"CiphertextBlob":"{{CT}}","SourceKeyId":"{{KEY}}","DestinationKeyId":"{{ARN}}","SourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT","DestinationEncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
		`{"CiphertextBlob":"{{RSACT}}","SourceKeyId":"{{RSAKEY}}","SourceEncryptionAlgorithm":"RSAES_OAEP_SHA_256","DestinationKeyId":"{{RSAKEY}}","DestinationEncryptionAlgorithm":"RSAES_OAEP_SHA_1"}`,
	},
	"GenerateDataKey":                 {`{"KeyId":"{{KEY}}","KeySpec":"AES_256"}`, `{"KeyId":"{{ARN}}","NumberOfBytes":64,"EncryptionContext":{"a":"b"}}`},
	"GenerateDataKeyWithoutPlaintext": {`{"KeyId":"{{KEY}}","KeySpec":"AES_128"}`},
	"GenerateRandom":                  {`{"NumberOfBytes":32}`, `{"NumberOfBytes":16,"CustomKeyStoreId":"cks-1234567890abcdef0"}`},
	"CreateAlias":                     {`{"AliasName":"alias/new","TargetKeyId":"{{KEY}}"}`},
	"UpdateAlias":                     {`{"AliasName":"alias/app","TargetKeyId":"{{ARN}}"}`},
	"DeleteAlias":                     {`{"AliasName":"alias/app"}`},
	"ListAliases":                     {`{}`, `{"KeyId":"{{KEY}}","Limit":5}`},
	"TagResource":                     {`{"KeyId":"{{KEY}}","Tags":[{"TagKey":"Purpose","TagValue":"Test"}]}`},
	"UntagResource":                   {`{"KeyId":"{{KEY}}","TagKeys":["Purpose"]}`},
	"ListResourceTags":                {`{"KeyId":"{{KEY}}","Limit":10}`},
	"GetKeyPolicy":                    {`{"KeyId":"{{KEY}}","PolicyName":"default"}`, `{"KeyId":"{{KEY}}"}`},
	"PutKeyPolicy": {
		`{"KeyId":"{{KEY}}","PolicyName":"default","Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"}`,
	},
	"ListKeyPolicies": {`{"KeyId":"{{KEY}}"}`},
	"Sign": {
		`{"KeyId":"{{KEY}}","Message":"aGVsbG8=","MessageType":"RAW","SigningAlgorithm":"RSASSA_PSS_SHA_256"}`,
		`{"KeyId":"{{ECKEY}}","Message":"aGVsbG8=","MessageType":"RAW","SigningAlgorithm":"ECDSA_SHA_256"}`,
		`{"KeyId":"{{ECKEY}}","Message":"LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=","MessageType":"DIGEST","SigningAlgorithm":"ECDSA_SHA_256","DryRun":true}`,
	},
	"Verify": {
		`{"KeyId":"{{KEY}}","Message":"aGVsbG8=","Signature":"AAAA","SigningAlgorithm":"ECDSA_SHA_256"}`,
		`{"KeyId":"{{ECKEY}}","Message":"aGVsbG8=","MessageType":"RAW","Signature":"MEUCIQDd","SigningAlgorithm":"ECDSA_SHA_256"}`,
	},
	"GetPublicKey": {`{"KeyId":"{{KEY}}"}`, `{"KeyId":"{{ECKEY}}"}`, `{"KeyId":"{{RSAKEY}}","GrantTokens":["t"]}`},
	"GenerateMac": {
		`{"KeyId":"{{KEY}}","Message":"aGVsbG8=","MacAlgorithm":"HMAC_SHA_256"}`,
		`{"KeyId":"{{HMACKEY}}","Message":"aGVsbG8=","MacAlgorithm":"HMAC_SHA_256"}`,
	},
	"VerifyMac": {
		`{"KeyId":"{{KEY}}","Message":"aGVsbG8=","Mac":"AAAA","MacAlgorithm":"HMAC_SHA_256"}`,
		`{"KeyId":"{{HMACKEY}}","Message":"aGVsbG8=","Mac":"AAAA","MacAlgorithm":"HMAC_SHA_256"}`,
	},
	"GenerateDataKeyPair": {
		`{"KeyId":"{{KEY}}","KeyPairSpec":"ECC_NIST_P256"}`,
		`{"KeyId":"{{ARN}}","KeyPairSpec":"ECC_NIST_EDWARDS25519","EncryptionContext":{"a":"b"}}`,
		`{"KeyId":"{{KEY}}","KeyPairSpec":"SM2"}`,
	},
	"GenerateDataKeyPairWithoutPlaintext": {`{"KeyId":"{{KEY}}","KeyPairSpec":"ECC_SECG_P256K1","EncryptionContext":{"a":"b"}}`},
	"DeriveSharedSecret": {
		`{"KeyId":"{{KEY}}","KeyAgreementAlgorithm":"ECDH","PublicKey":"AAAA"}`,
		`{"KeyId":"{{AGREEKEY}}","KeyAgreementAlgorithm":"ECDH","PublicKey":"{{AGREEPUB}}"}`,
	},
	"CreateGrant": {
		`{"KeyId":"{{KEY}}","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":["Encrypt","Decrypt"]}`,
		`{"KeyId":"{{ARN}}","GranteePrincipal":"arn:aws:iam::111122223333:root","RetiringPrincipal":"arn:aws:iam::111122223333:root","Operations":["Encrypt","CreateGrant"],"Constraints":{"EncryptionContextSubset":{"a":"b"}},"Name":"n","DryRun":true}`,
	},
	"ListGrants":          {`{"KeyId":"{{KEY}}"}`, `{"KeyId":"{{ARN}}","Limit":1,"GranteePrincipal":"arn:aws:iam::111122223333:root"}`},
	"ListRetirableGrants": {`{"RetiringPrincipal":"arn:aws:iam::111122223333:root","Limit":2}`},
	"RetireGrant":         {`{"KeyId":"{{KEY}}","GrantId":"0000000000000000000000000000000000000000000000000000000000000000"}`, `{"GrantToken":"AQ"}`},
	"RevokeGrant":         {`{"KeyId":"{{ARN}}","GrantId":"0000000000000000000000000000000000000000000000000000000000000000","DryRun":true}`},
}

// serverFaults are the errors allowed a status other than 400.
var serverFaults = []string{"KMSInternalException", "KeyUnavailableException", "DependencyTimeoutException"}

// FuzzOperations sends fuzzed JSON bodies to every operation: no panic,
// every error an *awsproto.Error with 400 (server faults aside), a message
// that is valid UTF-8 and does not repeat the plaintext, and every reply
// encodable as JSON.
func FuzzOperations(f *testing.F) {
	for _, name := range allOperations {
		seeds := operationSeeds[name]
		if len(seeds) == 0 {
			f.Fatalf("no seed for %s", name)
		}
		for _, body := range seeds {
			f.Add(name, []byte(body))
		}
		f.Add(name, []byte(``))
		f.Add(name, []byte(`{"KeyId":5}`))
		f.Add(name, []byte(`{"KeyId":"x"}`))
	}

	s, _ := newTestService(f)
	ctx := context.Background()
	key := createKey(f, s)
	createAlias(f, s, "alias/app", key.KeyId)
	ct := base64.StdEncoding.EncodeToString(encrypt(f, s, key.KeyId, []byte("hello"), map[string]string{"a": "b"}))
	ecKey := createSpecKey(f, s, "ECC_NIST_P256", "SIGN_VERIFY")
	rsaKey := createSpecKey(f, s, "RSA_2048", "ENCRYPT_DECRYPT")
	hmacKey := createSpecKey(f, s, "HMAC_256", "GENERATE_VERIFY_MAC")
	agreeKey := createSpecKey(f, s, "ECC_NIST_P256", "KEY_AGREEMENT")
	rsaCT, err := s.Encrypt(ctx, testCaller, &EncryptInput{KeyId: ptr(rsaKey.KeyId), Plaintext: []byte("hello"), EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
	if err != nil {
		f.Fatal(err)
	}
	agreePub, err := s.GetPublicKey(ctx, testCaller, &KeyIDInput{KeyId: ptr(agreeKey.KeyId)})
	if err != nil {
		f.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	replacer := strings.NewReplacer(phKey, key.KeyId, phARN, key.Arn, phCT, ct,
		phECKey, ecKey.KeyId, phRSAKey, rsaKey.KeyId, phRSACT, b64(rsaCT.CiphertextBlob), phHMACKey, hmacKey.KeyId,
		phAgreeKey, agreeKey.KeyId, phAgreePub, b64(agreePub.PublicKey))

	f.Fuzz(func(t *testing.T, name string, body []byte) {
		op, ok := LookupOperation(name)
		if !ok {
			op, _ = LookupOperation(allOperations[len(name)%len(allOperations)])
		}
		body = []byte(replacer.Replace(string(body)))
		out, err := s.Call(ctx, op, testCaller, body)
		if err != nil {
			e, ok := awsproto.As(err)
			if !ok {
				t.Fatalf("%s(%q) = %v (%T), want *awsproto.Error", op.Name, body, err, err)
			}
			if e.Status != awsproto.StatusOf(e.Code) {
				t.Fatalf("%s(%q) = %s with status %d, want %d", op.Name, body, e.Code, e.Status, awsproto.StatusOf(e.Code))
			}
			if e.Status != 400 && !slices.Contains(serverFaults, e.Code) {
				t.Fatalf("%s(%q) = %s with status %d, want 400", op.Name, body, e.Code, e.Status)
			}
			if !utf8.ValidString(e.Message) {
				t.Fatalf("%s(%q) message %q is not valid UTF-8", op.Name, body, e.Message)
			}
			var in struct{ Plaintext []byte }
			if json.Unmarshal(body, &in) == nil && len(in.Plaintext) >= 6 && strings.Contains(e.Message, string(in.Plaintext)) {
				t.Fatalf("%s(%q) message %q repeats the plaintext", op.Name, body, e.Message)
			}
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("%s(%q) reply %#v does not encode: %v", op.Name, body, out, err)
		}
		// A dry run never succeeds: it fails or says it would have.
		var dry struct{ DryRun bool }
		if json.Unmarshal(body, &dry) == nil && dry.DryRun {
			switch op.Name {
			case "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext":
				t.Fatalf("%s(%q) with DryRun succeeded", op.Name, body)
			}
		}
	})
}
