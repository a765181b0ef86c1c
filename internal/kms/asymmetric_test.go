package kms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/caller"
)

// createSpecKey creates a key of spec and usage for testCaller and returns its metadata.
func createSpecKey(t testing.TB, s *Service, spec, usage string) *KeyMetadata {
	t.Helper()
	out, err := s.CreateKey(context.Background(), testCaller, &CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("CreateKey(%s, %s): %v", spec, usage, err)
	}
	return out.KeyMetadata
}

func TestCreateKeySpecs(t *testing.T) {
	s, _ := newTestService(t)
	rsaSign := []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}
	tests := []struct {
		spec, usage               string
		enc, sign, mac, agreement []string
	}{
		{"RSA_2048", "ENCRYPT_DECRYPT", []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}, nil, nil, nil},
		{"RSA_2048", "SIGN_VERIFY", nil, rsaSign, nil, nil},
		{"ECC_NIST_P256", "SIGN_VERIFY", nil, []string{"ECDSA_SHA_256"}, nil, nil},
		{"ECC_NIST_P384", "KEY_AGREEMENT", nil, nil, nil, []string{"ECDH"}},
		{"ECC_NIST_P521", "SIGN_VERIFY", nil, []string{"ECDSA_SHA_512"}, nil, nil},
		{"ECC_SECG_P256K1", "SIGN_VERIFY", nil, []string{"ECDSA_SHA_256"}, nil, nil},
		{"ECC_NIST_EDWARDS25519", "SIGN_VERIFY", nil, []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}, nil, nil},
		{"ML_DSA_65", "SIGN_VERIFY", nil, []string{"ML_DSA_SHAKE_256"}, nil, nil},
		{"HMAC_224", "GENERATE_VERIFY_MAC", nil, nil, []string{"HMAC_SHA_224"}, nil},
		{"HMAC_512", "GENERATE_VERIFY_MAC", nil, nil, []string{"HMAC_SHA_512"}, nil},
		{"SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", []string{"SYMMETRIC_DEFAULT"}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.usage, func(t *testing.T) {
			created := createSpecKey(t, s, tt.spec, tt.usage)
			for _, m := range []*KeyMetadata{created, describe(t, s, created.KeyId)} {
				got := []any{m.KeySpec, m.CustomerMasterKeySpec, m.KeyUsage, m.EncryptionAlgorithms, m.SigningAlgorithms, m.MacAlgorithms, m.KeyAgreementAlgorithms}
				want := []any{tt.spec, tt.spec, tt.usage, tt.enc, tt.sign, tt.mac, tt.agreement}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("metadata of %s/%s (-want +got):\n%s", tt.spec, tt.usage, diff)
				}
			}
			// The algorithm lists AWS leaves out are left out of the JSON.
			b, _ := json.Marshal(created)
			for _, member := range []string{"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms"} {
				present := strings.Contains(string(b), `"`+member+`"`)
				want := map[string]bool{"EncryptionAlgorithms": tt.enc != nil, "SigningAlgorithms": tt.sign != nil, "MacAlgorithms": tt.mac != nil, "KeyAgreementAlgorithms": tt.agreement != nil}[member]
				if present != want {
					t.Errorf("JSON has %s: %v, want %v", member, present, want)
				}
			}
			if _, err := s.EnableKeyRotation(context.Background(), testCaller, &EnableKeyRotationInput{KeyId: ptr(created.KeyId)}); tt.spec != "SYMMETRIC_DEFAULT" && err == nil {
				t.Errorf("EnableKeyRotation(%s) = nil error, want UnsupportedOperationException", tt.spec)
			}
		})
	}
	ctx := context.Background()
	errs := []struct {
		name, spec, usage, code, msg string
	}{
		{"SM2", "SM2", "SIGN_VERIFY", "UnsupportedOperationException", "KeySpec SM2 is not supported in this region."},
		{"RSA agreement", "RSA_2048", "KEY_AGREEMENT", "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"},
		{"secp256k1 agreement", "ECC_SECG_P256K1", "KEY_AGREEMENT", "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1"},
		{"Ed25519 encryption", "ECC_NIST_EDWARDS25519", "ENCRYPT_DECRYPT", "ValidationException", "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_EDWARDS25519"},
		{"ML-DSA agreement", "ML_DSA_44", "KEY_AGREEMENT", "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ML_DSA_44"},
		{"HMAC signing", "HMAC_256", "SIGN_VERIFY", "ValidationException", "KeyUsage SIGN_VERIFY is not compatible with KeySpec HMAC_256"},
		{"HMAC without usage", "HMAC_256", "", "ValidationException", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."},
		{"P-256 encryption", "ECC_NIST_P256", "ENCRYPT_DECRYPT", "ValidationException", "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256"},
	}
	for _, tt := range errs {
		_, err := s.CreateKey(ctx, testCaller, &CreateKeyInput{KeySpec: tt.spec, KeyUsage: tt.usage})
		wantErr(t, "CreateKey "+tt.name, err, tt.code, tt.msg)
	}
	// The deprecated CustomerMasterKeySpec works as KeySpec.
	out, err := s.CreateKey(ctx, testCaller, &CreateKeyInput{CustomerMasterKeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY"})
	if err != nil || out.KeyMetadata.KeySpec != "ECC_NIST_P256" {
		t.Errorf("CreateKey(CustomerMasterKeySpec ECC_NIST_P256) = %v, %v", out, err)
	}
}

// TestAsymmetricMaterialPersists checks that a key's material survives a restart: a fresh service over the same
// store (empty cache) unwraps it and verifies the old signature.
func TestAsymmetricMaterialPersists(t *testing.T) {
	s, clk := newTestService(t)
	ctx := context.Background()
	k := createSpecKey(t, s, "ECC_NIST_P256", "SIGN_VERIFY")
	h := createSpecKey(t, s, "HMAC_256", "GENERATE_VERIFY_MAC")
	sig, err := s.Sign(ctx, testCaller, &MessageInput{KeyId: ptr(k.KeyId), Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"})
	if err != nil {
		t.Fatal(err)
	}
	mac, err := s.GenerateMac(ctx, testCaller, &MessageInput{KeyId: ptr(h.KeyId), Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(Config{Store: s.store, Root: s.root, Rand: rand.Reader, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Verify(ctx, testCaller, &MessageInput{KeyId: ptr(k.KeyId), Message: []byte("m"), Signature: sig.Signature, SigningAlgorithm: "ECDSA_SHA_256"}); err != nil {
		t.Errorf("Verify after restart = %v", err)
	}
	if _, err := s2.VerifyMac(ctx, testCaller, &MessageInput{KeyId: ptr(h.KeyId), Message: []byte("m"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256"}); err != nil {
		t.Errorf("VerifyMac after restart = %v", err)
	}
}

func TestSignVerifyErrors(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	ec := createSpecKey(t, s, "ECC_NIST_P256", "SIGN_VERIFY")
	ed := createSpecKey(t, s, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
	ml := createSpecKey(t, s, "ML_DSA_44", "SIGN_VERIFY")
	agree := createSpecKey(t, s, "ECC_NIST_P256", "KEY_AGREEMENT")
	hmacKey := createSpecKey(t, s, "HMAC_256", "GENERATE_VERIFY_MAC")
	sym := createKey(t, s)
	disabled := createSpecKey(t, s, "ECC_NIST_P384", "SIGN_VERIFY")
	if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(disabled.KeyId)}); err != nil {
		t.Fatal(err)
	}
	d32 := make([]byte, 32)
	tests := []struct {
		name      string
		in        MessageInput
		code, msg string
	}{
		{"missing members", MessageInput{}, "ValidationException", "3 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value null at 'message' failed to satisfy constraint: Member must not be null; Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null"},
		{"message too long", MessageInput{KeyId: ptr(ec.KeyId), Message: make([]byte, 4097), SigningAlgorithm: "ECDSA_SHA_256"}, "ValidationException", "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{"empty message", MessageInput{KeyId: ptr(ec.KeyId), Message: []byte{}, SigningAlgorithm: "ECDSA_SHA_256"}, "ValidationException", "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"unknown algorithm", MessageInput{KeyId: ptr(ec.KeyId), Message: d32, SigningAlgorithm: "ECDSA"}, "ValidationException", "1 validation error detected: Value 'ECDSA' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [" + strings.Join(signingAlgorithms, ", ") + "]"},
		{"unknown message type", MessageInput{KeyId: ptr(ec.KeyId), Message: d32, MessageType: "HASH", SigningAlgorithm: "ECDSA_SHA_256"}, "ValidationException", "1 validation error detected: Value 'HASH' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]"},
		{"symmetric key", MessageInput{KeyId: ptr(sym.KeyId), Message: d32, SigningAlgorithm: "ECDSA_SHA_256"}, "InvalidKeyUsageException", sym.Arn + " key usage is ENCRYPT_DECRYPT which is not valid for Sign."},
		{"HMAC key", MessageInput{KeyId: ptr(hmacKey.KeyId), Message: d32, SigningAlgorithm: "ECDSA_SHA_256"}, "InvalidKeyUsageException", hmacKey.Arn + " key usage is GENERATE_VERIFY_MAC which is not valid for Sign."},
		{"key agreement key", MessageInput{KeyId: ptr(agree.KeyId), Message: d32, SigningAlgorithm: "ECDSA_SHA_256"}, "InvalidKeyUsageException", agree.Arn + " key usage is KEY_AGREEMENT which is not valid for Sign."},
		{"disabled", MessageInput{KeyId: ptr(disabled.KeyId), Message: d32, SigningAlgorithm: "ECDSA_SHA_384"}, "DisabledException", disabled.Arn + " is disabled."},
		{"algorithm of another curve", MessageInput{KeyId: ptr(ec.KeyId), Message: d32, SigningAlgorithm: "ECDSA_SHA_384"}, "InvalidKeyUsageException", "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."},
		{"RSA algorithm on ECC", MessageInput{KeyId: ptr(ec.KeyId), Message: d32, SigningAlgorithm: "RSASSA_PSS_SHA_256"}, "InvalidKeyUsageException", "Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256."},
		{"SM2DSA", MessageInput{KeyId: ptr(ec.KeyId), Message: d32, SigningAlgorithm: "SM2DSA"}, "InvalidKeyUsageException", "Algorithm SM2DSA is incompatible with key spec ECC_NIST_P256."},
		{"short digest", MessageInput{KeyId: ptr(ec.KeyId), Message: d32[:31], MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256"}, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256."},
		{"ECDSA external mu", MessageInput{KeyId: ptr(ec.KeyId), Message: make([]byte, 64), MessageType: "EXTERNAL_MU", SigningAlgorithm: "ECDSA_SHA_256"}, "ValidationException", "Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256."},
		{"Ed25519 digest", MessageInput{KeyId: ptr(ed.KeyId), Message: make([]byte, 64), MessageType: "DIGEST", SigningAlgorithm: "ED25519_SHA_512"}, "ValidationException", "Message type DIGEST is incompatible with algorithm ED25519_SHA_512."},
		{"Ed25519ph raw", MessageInput{KeyId: ptr(ed.KeyId), Message: []byte("m"), SigningAlgorithm: "ED25519_PH_SHA_512"}, "ValidationException", "Message type RAW is incompatible with algorithm ED25519_PH_SHA_512."},
		{"Ed25519ph short digest", MessageInput{KeyId: ptr(ed.KeyId), Message: d32, MessageType: "DIGEST", SigningAlgorithm: "ED25519_PH_SHA_512"}, "ValidationException", "Digest is invalid length for algorithm ED25519_PH_SHA_512."},
		{"ML-DSA digest", MessageInput{KeyId: ptr(ml.KeyId), Message: d32, MessageType: "DIGEST", SigningAlgorithm: "ML_DSA_SHAKE_256"}, "ValidationException", "Message type DIGEST is incompatible with key spec ML_DSA_44."},
		{"ML-DSA short mu", MessageInput{KeyId: ptr(ml.KeyId), Message: d32, MessageType: "EXTERNAL_MU", SigningAlgorithm: "ML_DSA_SHAKE_256"}, "ValidationException", "Digest is invalid length for algorithm ML_DSA_SHAKE_256."},
		{"dry run", MessageInput{KeyId: ptr(ec.KeyId), Message: d32, SigningAlgorithm: "ECDSA_SHA_256", DryRun: true}, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			_, err := s.Sign(ctx, c, &in)
			wantErr(t, "Sign", err, tt.code, tt.msg)
			in.Signature = make([]byte, 64)
			_, err = s.Verify(ctx, c, &in)
			wantErr(t, "Verify", err, tt.code, strings.ReplaceAll(tt.msg, "for Sign.", "for Verify."))
		})
	}
	// Verify never answers false.
	good, err := s.Sign(ctx, c, &MessageInput{KeyId: ptr(ec.KeyId), Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range [][]byte{bytes.Repeat([]byte{1}, 70), good.Signature[:len(good.Signature)-1]} {
		_, err := s.Verify(ctx, c, &MessageInput{KeyId: ptr(ec.KeyId), Message: []byte("m"), Signature: sig, SigningAlgorithm: "ECDSA_SHA_256"})
		wantErr(t, "Verify(bad signature)", err, "KMSInvalidSignatureException", "")
	}
	_, err = s.Verify(ctx, c, &MessageInput{KeyId: ptr(ec.KeyId), Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"})
	wantErr(t, "Verify(no signature)", err, "ValidationException", "1 validation error detected: Value null at 'signature' failed to satisfy constraint: Member must not be null")
	out, err := s.Verify(ctx, c, &MessageInput{KeyId: ptr("alias/none"), Message: []byte("m"), Signature: good.Signature, SigningAlgorithm: "ECDSA_SHA_256"})
	wantErr(t, "Verify(unknown alias)", err, "NotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.")
	createAlias(t, s, "alias/signer", ec.KeyId)
	if out, err = s.Verify(ctx, c, &MessageInput{KeyId: ptr("alias/signer"), Message: []byte("m"), Signature: good.Signature, SigningAlgorithm: "ECDSA_SHA_256"}); err != nil || !out.SignatureValid || out.KeyId != ec.Arn {
		t.Errorf("Verify by alias = %+v, %v", out, err)
	}
}

func TestSignTrail(t *testing.T) {
	s, _ := newTestService(t)
	ec := createSpecKey(t, s, "ECC_NIST_P256", "SIGN_VERIFY")
	op, _ := LookupOperation("Sign")
	c := *testCaller
	c.Trail = &caller.Trail{}
	body := `{"KeyId":"` + ec.KeyId + `","Message":"c2VjcmV0IG1lc3NhZ2U=","MessageType":"RAW","SigningAlgorithm":"ECDSA_SHA_256","GrantTokens":[]}`
	if _, err := s.Call(context.Background(), op, &c, []byte(body)); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"keyId": ec.KeyId, "messageType": "RAW", "signingAlgorithm": "ECDSA_SHA_256"}
	if diff := cmp.Diff(want, c.Trail.Params); diff != "" {
		t.Errorf("trail parameters (-want +got):\n%s", diff)
	}
	if c.Trail.Response != nil {
		t.Errorf("trail response = %v, want none for a cryptographic operation", c.Trail.Response)
	}
}

func TestMacOperations(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k := createSpecKey(t, s, "HMAC_384", "GENERATE_VERIFY_MAC")
	sym := createKey(t, s)
	mac, err := s.GenerateMac(ctx, c, &MessageInput{KeyId: ptr(k.KeyId), Message: []byte("hello"), MacAlgorithm: "HMAC_SHA_384"})
	if err != nil {
		t.Fatal(err)
	}
	if len(mac.Mac) != 48 || mac.KeyId != k.Arn || mac.MacAlgorithm != "HMAC_SHA_384" {
		t.Errorf("GenerateMac = %+v", mac)
	}
	ok, err := s.VerifyMac(ctx, c, &MessageInput{KeyId: ptr(k.KeyId), Message: []byte("hello"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_384"})
	if err != nil || !ok.MacValid || ok.KeyId != k.Arn {
		t.Errorf("VerifyMac = %+v, %v", ok, err)
	}
	tests := []struct {
		name      string
		verify    bool
		in        MessageInput
		code, msg string
	}{
		{"wrong algorithm", false, MessageInput{KeyId: ptr(k.KeyId), Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256"}, "InvalidKeyUsageException", "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_384."},
		{"symmetric key", false, MessageInput{KeyId: ptr(sym.KeyId), Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256"}, "InvalidKeyUsageException", sym.Arn + " key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."},
		{"missing algorithm", false, MessageInput{KeyId: ptr(k.KeyId), Message: []byte("m")}, "ValidationException", "1 validation error detected: Value null at 'macAlgorithm' failed to satisfy constraint: Member must not be null"},
		{"long message", false, MessageInput{KeyId: ptr(k.KeyId), Message: make([]byte, 4097), MacAlgorithm: "HMAC_SHA_384"}, "ValidationException", "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{"wrong MAC", true, MessageInput{KeyId: ptr(k.KeyId), Message: []byte("hellO"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_384"}, "KMSInvalidMacException", ""},
		{"truncated MAC", true, MessageInput{KeyId: ptr(k.KeyId), Message: []byte("hello"), Mac: mac.Mac[:32], MacAlgorithm: "HMAC_SHA_384"}, "KMSInvalidMacException", ""},
		{"missing MAC", true, MessageInput{KeyId: ptr(k.KeyId), Message: []byte("hello"), MacAlgorithm: "HMAC_SHA_384"}, "ValidationException", "1 validation error detected: Value null at 'mac' failed to satisfy constraint: Member must not be null"},
		{"dry run", true, MessageInput{KeyId: ptr(k.KeyId), Message: []byte("hello"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_384", DryRun: true}, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set."},
	}
	for _, tt := range tests {
		var err error
		if tt.verify {
			_, err = s.VerifyMac(ctx, c, &tt.in)
		} else {
			_, err = s.GenerateMac(ctx, c, &tt.in)
		}
		wantErr(t, tt.name, err, tt.code, tt.msg)
	}
	_, err = s.GetPublicKey(ctx, c, &KeyIDInput{KeyId: ptr(k.KeyId)})
	wantErr(t, "GetPublicKey(HMAC)", err, "UnsupportedOperationException", k.Arn+" key usage is GENERATE_VERIFY_MAC which is not valid for GetPublicKey.")
}

func TestRSAEncryption(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k := createSpecKey(t, s, "RSA_2048", "ENCRYPT_DECRYPT")
	k2 := createSpecKey(t, s, "RSA_2048", "ENCRYPT_DECRYPT")
	signer := createSpecKey(t, s, "RSA_2048", "SIGN_VERIFY")
	sym := createKey(t, s)

	pub, err := s.GetPublicKey(ctx, c, &KeyIDInput{KeyId: ptr(k.KeyId)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}, pub.EncryptionAlgorithms); diff != "" || pub.SigningAlgorithms != nil || pub.KeyUsage != "ENCRYPT_DECRYPT" || pub.KeySpec != "RSA_2048" {
		t.Errorf("GetPublicKey = %+v", pub)
	}
	rsaPub, err := x509.ParsePKIXPublicKey(pub.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, rsaPub.(*rsa.PublicKey), []byte("made offline"), nil)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(k.KeyId), CiphertextBlob: offline, EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
	if err != nil || string(dec.Plaintext) != "made offline" || dec.EncryptionAlgorithm != "RSAES_OAEP_SHA_256" || dec.KeyId != k.Arn || dec.KeyMaterialId != "" {
		t.Errorf("Decrypt(offline ciphertext) = %+v, %v", dec, err)
	}
	enc, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(k.KeyId), Plaintext: make([]byte, 214), EncryptionAlgorithm: "RSAES_OAEP_SHA_1"})
	if err != nil || len(enc.CiphertextBlob) != 256 || enc.EncryptionAlgorithm != "RSAES_OAEP_SHA_1" {
		t.Fatalf("Encrypt(214 bytes, OAEP SHA-1) = %+v, %v", enc, err)
	}
	b, _ := json.Marshal(dec)
	if strings.Contains(string(b), "KeyMaterialId") {
		t.Errorf("Decrypt reply %s has KeyMaterialId for an asymmetric key", b)
	}

	tests := []struct {
		name      string
		call      func() error
		code, msg string
	}{
		{"Encrypt without algorithm", func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(k.KeyId), Plaintext: []byte("x")})
			return err
		}, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."},
		{"Encrypt with context", func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(k.KeyId), Plaintext: []byte("x"), EncryptionAlgorithm: "RSAES_OAEP_SHA_256", EncryptionContext: map[string]string{"a": "b"}})
			return err
		}, "ValidationException", "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs."},
		{"Encrypt too long", func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(k.KeyId), Plaintext: make([]byte, 191), EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
			return err
		}, "ValidationException", "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes."},
		{"Encrypt with a signing key", func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(signer.KeyId), Plaintext: []byte("x"), EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
			return err
		}, "InvalidKeyUsageException", signer.Arn + " key usage is SIGN_VERIFY which is not valid for Encrypt."},
		{"Encrypt symmetric with OAEP", func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(sym.KeyId), Plaintext: []byte("x"), EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
			return err
		}, "InvalidKeyUsageException", "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT."},
		{"Encrypt dry run", func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(k.KeyId), Plaintext: []byte("x"), EncryptionAlgorithm: "RSAES_OAEP_SHA_256", DryRun: true})
			return err
		}, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set."},
		{"Decrypt without KeyId", func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_1"})
			return err
		}, "InvalidCiphertextException", ""},
		{"Decrypt without algorithm", func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(k.KeyId), CiphertextBlob: enc.CiphertextBlob})
			return err
		}, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."},
		{"Decrypt with the other algorithm", func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(k.KeyId), CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
			return err
		}, "InvalidCiphertextException", ""},
		{"Decrypt with another key", func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(k2.KeyId), CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_1"})
			return err
		}, "InvalidCiphertextException", ""},
		{"Decrypt with context", func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(k.KeyId), CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_1", EncryptionContext: map[string]string{"a": "b"}})
			return err
		}, "ValidationException", "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs."},
		{"Decrypt dry run", func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(k.KeyId), CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_1", DryRun: true})
			return err
		}, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set."},
		{"ReEncrypt to RSA with context", func() error {
			blob := encrypt(t, s, sym.KeyId, []byte("x"), nil)
			_, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: blob, DestinationKeyId: ptr(k.KeyId), DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_256", DestinationEncryptionContext: map[string]string{"a": "b"}})
			return err
		}, "ValidationException", "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs."},
		{"ReEncrypt to RSA too long", func() error {
			blob := encrypt(t, s, sym.KeyId, make([]byte, 300), nil)
			_, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: blob, DestinationKeyId: ptr(k.KeyId), DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
			return err
		}, "ValidationException", "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes."},
		{"ReEncrypt from RSA without SourceKeyId", func() error {
			_, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: ptr(sym.KeyId)})
			return err
		}, "InvalidCiphertextException", ""},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, tt.call(), tt.code, tt.msg)
	}

	// ReEncrypt: symmetric -> RSA -> RSA -> symmetric.
	blob := encrypt(t, s, sym.KeyId, []byte("moving"), map[string]string{"ctx": "1"})
	r1, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: blob, SourceEncryptionContext: map[string]string{"ctx": "1"}, DestinationKeyId: ptr(k.KeyId), DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
	if err != nil {
		t.Fatalf("ReEncrypt(symmetric -> RSA): %v", err)
	}
	if r1.SourceKeyMaterialId == "" || r1.DestinationKeyMaterialId != "" || r1.DestinationEncryptionAlgorithm != "RSAES_OAEP_SHA_256" || r1.SourceEncryptionAlgorithm != "SYMMETRIC_DEFAULT" {
		t.Errorf("ReEncrypt(symmetric -> RSA) = %+v", r1)
	}
	r2, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: r1.CiphertextBlob, SourceKeyId: ptr(k.Arn), SourceEncryptionAlgorithm: "RSAES_OAEP_SHA_256", DestinationKeyId: ptr(k2.KeyId), DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_1"})
	if err != nil {
		t.Fatalf("ReEncrypt(RSA -> RSA): %v", err)
	}
	if r2.SourceKeyId != k.Arn || r2.KeyId != k2.Arn || r2.SourceKeyMaterialId != "" {
		t.Errorf("ReEncrypt(RSA -> RSA) = %+v", r2)
	}
	r3, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: r2.CiphertextBlob, SourceKeyId: ptr(k2.KeyId), SourceEncryptionAlgorithm: "RSAES_OAEP_SHA_1", DestinationKeyId: ptr(sym.KeyId), DestinationEncryptionContext: map[string]string{"ctx": "2"}})
	if err != nil {
		t.Fatalf("ReEncrypt(RSA -> symmetric): %v", err)
	}
	back, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: r3.CiphertextBlob, EncryptionContext: map[string]string{"ctx": "2"}})
	if err != nil || string(back.Plaintext) != "moving" {
		t.Errorf("Decrypt after ReEncrypt round = %+v, %v", back, err)
	}
}

func TestDeriveSharedSecret(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k := createSpecKey(t, s, "ECC_NIST_P384", "KEY_AGREEMENT")
	signer := createSpecKey(t, s, "ECC_NIST_P384", "SIGN_VERIFY")
	pub, err := s.GetPublicKey(ctx, c, &KeyIDInput{KeyId: ptr(k.KeyId)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ECDH"}, pub.KeyAgreementAlgorithms); diff != "" || pub.SigningAlgorithms != nil {
		t.Errorf("GetPublicKey = %+v", pub)
	}
	peer, _ := ecdh.P384().GenerateKey(rand.Reader)
	peerDER, _ := x509.MarshalPKIXPublicKey(peer.PublicKey())
	out, err := s.DeriveSharedSecret(ctx, c, &DeriveSharedSecretInput{KeyId: ptr(k.KeyId), KeyAgreementAlgorithm: "ECDH", PublicKey: peerDER})
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := x509.ParsePKIXPublicKey(pub.PublicKey)
	ourECDH, _ := ours.(*ecdsa.PublicKey).ECDH()
	want, _ := peer.ECDH(ourECDH)
	if !bytes.Equal(out.SharedSecret, want) || out.KeyAgreementAlgorithm != "ECDH" || out.KeyOrigin != "AWS_KMS" || out.KeyId != k.Arn {
		t.Errorf("DeriveSharedSecret = %+v, want secret %x", out, want)
	}
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	p256DER, _ := x509.MarshalPKIXPublicKey(p256.PublicKey())
	tests := []struct {
		name      string
		in        DeriveSharedSecretInput
		code, msg string
	}{
		{"missing members", DeriveSharedSecretInput{KeyId: ptr(k.KeyId)}, "ValidationException", "2 validation errors detected: Value null at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must not be null; Value null at 'publicKey' failed to satisfy constraint: Member must not be null"},
		{"unknown algorithm", DeriveSharedSecretInput{KeyId: ptr(k.KeyId), KeyAgreementAlgorithm: "DH", PublicKey: peerDER}, "ValidationException", "1 validation error detected: Value 'DH' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]"},
		{"signing key", DeriveSharedSecretInput{KeyId: ptr(signer.KeyId), KeyAgreementAlgorithm: "ECDH", PublicKey: peerDER}, "InvalidKeyUsageException", signer.Arn + " key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret."},
		{"other curve", DeriveSharedSecretInput{KeyId: ptr(k.KeyId), KeyAgreementAlgorithm: "ECDH", PublicKey: p256DER}, "ValidationException", "The public key does not match the key spec ECC_NIST_P384 of the KMS key."},
		{"garbage", DeriveSharedSecretInput{KeyId: ptr(k.KeyId), KeyAgreementAlgorithm: "ECDH", PublicKey: []byte("nope")}, "ValidationException", "The public key is not a valid DER-encoded X.509 SubjectPublicKeyInfo of a point on the curve of key spec ECC_NIST_P384."},
		{"dry run", DeriveSharedSecretInput{KeyId: ptr(k.KeyId), KeyAgreementAlgorithm: "ECDH", PublicKey: peerDER, DryRun: true}, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set."},
		{"recipient", DeriveSharedSecretInput{KeyId: ptr(k.KeyId), KeyAgreementAlgorithm: "ECDH", PublicKey: peerDER, Recipient: &Recipient{}}, "UnsupportedOperationException", "Recipient attestation documents are not supported by this server."},
	}
	for _, tt := range tests {
		_, err := s.DeriveSharedSecret(ctx, c, &tt.in)
		wantErr(t, tt.name, err, tt.code, tt.msg)
	}
}

func TestGenerateDataKeyPair(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k := createKey(t, s)
	rsaKey := createSpecKey(t, s, "RSA_2048", "ENCRYPT_DECRYPT")
	ec := map[string]string{"purpose": "pair"}
	var wg sync.WaitGroup
	for _, spec := range []string{"ECC_NIST_P256", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "RSA_2048"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.GenerateDataKeyPair(ctx, c, &DataKeyPairInput{KeyId: ptr(k.KeyId), KeyPairSpec: ptr(spec), EncryptionContext: ec})
			if err != nil {
				t.Errorf("GenerateDataKeyPair(%s): %v", spec, err)
				return
			}
			if out.KeyPairSpec != spec || out.KeyId != k.Arn || out.KeyMaterialId != k.CurrentKeyMaterialId {
				t.Errorf("GenerateDataKeyPair(%s) = %+v", spec, out)
			}
			dec, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: ec})
			if err != nil || !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) {
				t.Errorf("Decrypt(PrivateKeyCiphertextBlob of %s) = %v, want the PKCS #8 private key", spec, err)
			}
			if spec == "ECC_SECG_P256K1" {
				return // crypto/x509 knows no secp256k1; the keyring tests check its encodings
			}
			priv, err := x509.ParsePKCS8PrivateKey(out.PrivateKeyPlaintext)
			if err != nil {
				t.Errorf("%s private key is not PKCS #8: %v", spec, err)
				return
			}
			pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
			if err != nil || !priv.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Errorf("%s public key does not match the private key (%v)", spec, err)
			}
		}()
	}
	wg.Wait()
	without, err := s.GenerateDataKeyPairWithoutPlaintext(ctx, c, &DataKeyPairInput{KeyId: ptr(k.KeyId), KeyPairSpec: ptr("ECC_NIST_P384")})
	if err != nil || without.PrivateKeyPlaintext != nil || len(without.PrivateKeyCiphertextBlob) == 0 || len(without.PublicKey) == 0 {
		t.Errorf("GenerateDataKeyPairWithoutPlaintext = %+v, %v", without, err)
	}
	b, _ := json.Marshal(without)
	if strings.Contains(string(b), "PrivateKeyPlaintext") {
		t.Errorf("reply %s has PrivateKeyPlaintext", b)
	}
	_, err = s.GenerateDataKeyPair(ctx, c, &DataKeyPairInput{KeyId: ptr(k.KeyId), KeyPairSpec: ptr("SM2")})
	wantErr(t, "GenerateDataKeyPair(SM2)", err, "UnsupportedOperationException", "KeyPairSpec SM2 is not supported in this region.")
	_, err = s.GenerateDataKeyPair(ctx, c, &DataKeyPairInput{KeyId: ptr(rsaKey.KeyId), KeyPairSpec: ptr("ECC_NIST_P256")})
	wantErr(t, "GenerateDataKeyPair(RSA wrapping key)", err, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
	_, err = s.GenerateDataKeyPair(ctx, c, &DataKeyPairInput{KeyId: ptr(k.KeyId), KeyPairSpec: ptr("ECC_NIST_P256"), DryRun: true})
	wantErr(t, "GenerateDataKeyPair(DryRun)", err, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
}
