package kms

import (
	"context"
	"errors"
	"slices"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/policy"
)

// Key usages and the operations of asymmetric and HMAC keys, as AWS spells them.
const (
	UsageSignVerify        = "SIGN_VERIFY"
	UsageGenerateVerifyMac = "GENERATE_VERIFY_MAC"
	UsageKeyAgreement      = "KEY_AGREEMENT"
	AlgECDH                = "ECDH"
)

var (
	signingAlgorithms = []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
		"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "SM2DSA", "ML_DSA_SHAKE_256", "ED25519_SHA_512", "ED25519_PH_SHA_512"}
	messageTypes           = []string{"RAW", "DIGEST", "EXTERNAL_MU"}
	macAlgorithms          = []string{"HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"}
	keyAgreementAlgorithms = []string{AlgECDH}
	dataKeyPairSpecs       = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
		"ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519"}
)

// algorithmLists returns the algorithm lists DescribeKey and GetPublicKey report for a key of this spec and usage,
// in AWS's order; each is nil where AWS leaves the member out.
func algorithmLists(spec, usage string) (encryption, signing, mac, agreement []string) {
	switch {
	case spec == SpecSymmetricDefault:
		return []string{AlgSymmetricDefault}, nil, nil, nil
	case keyring.IsHMACSpec(spec):
		return nil, nil, []string{keyring.MacAlgorithm(spec)}, nil
	case usage == UsageEncryptDecrypt:
		return keyring.EncryptionAlgorithms(spec), nil, nil, nil
	case usage == UsageSignVerify:
		return nil, keyring.SigningAlgorithms(spec), nil, nil
	case usage == UsageKeyAgreement:
		return nil, nil, nil, []string{AlgECDH}
	}
	return nil, nil, nil, nil
}

// canEncryptWith reports whether an ENCRYPT_DECRYPT key supports encryption algorithm alg, without allocating
// for symmetric keys (the hot path).
func canEncryptWith(k *liveKey, alg string) bool {
	if k.meta.KeySpec == SpecSymmetricDefault {
		return alg == AlgSymmetricDefault
	}
	return slices.Contains(keyring.EncryptionAlgorithms(k.meta.KeySpec), alg)
}

// newKeyMaterial makes the secret of a new key of spec: 32 random bytes for SYMMETRIC_DEFAULT, an HMAC key as long
// as the hash, or an asymmetric private key (PKCS #8, or an ML-DSA seed).
func (s *Service) newKeyMaterial(spec string) (keyring.Secret, error) {
	switch {
	case spec == SpecSymmetricDefault:
		return keyring.NewSymmetricMaterial(s.rand)
	case keyring.IsHMACSpec(spec):
		return keyring.NewHMACMaterial(s.rand, spec)
	case keyring.IsAsymmetricSpec(spec):
		return keyring.GenerateAsymmetric(s.rand, spec)
	}
	return keyring.Secret{}, errors.New("kms: no key material for spec " + spec)
}

// supportedSpec reports whether Custos makes keys of spec.
func supportedSpec(spec string) bool {
	return spec == SpecSymmetricDefault || keyring.IsHMACSpec(spec) || keyring.IsAsymmetricSpec(spec)
}

func errUsage(k *liveKey, op string) error {
	return awsproto.Errorf("InvalidKeyUsageException", "%s key usage is %s which is not valid for %s.", k.meta.ARN, k.meta.KeyUsage, op)
}

func errIncompatible(alg string, k *liveKey) error {
	return awsproto.Errorf("InvalidKeyUsageException", "Algorithm %s is incompatible with key spec %s.", alg, k.meta.KeySpec)
}

// usableFor checks what every operation on an asymmetric or HMAC key needs: permission, a usable state, and the
// key usage the operation wants.
func (s *Service) usableFor(ctx context.Context, c *Caller, k *liveKey, a access, op, usage string) error {
	a.key = k
	if err := s.authorize(ctx, c, a); err != nil {
		return err
	}
	if err := checkState(&k.meta, useCrypto); err != nil {
		return err
	}
	if k.meta.KeyUsage != usage {
		return errUsage(k, op)
	}
	return nil
}

// MessageInput is the request of Sign, Verify, GenerateMac and VerifyMac: the members of all four. Each operation
// reads its own members and, as AWS does with members a request shape lacks, ignores the others.
type MessageInput struct {
	KeyId            *string
	Message          []byte
	MessageType      string // Sign, Verify
	SigningAlgorithm string // Sign, Verify
	Signature        []byte // Verify
	MacAlgorithm     string // GenerateMac, VerifyMac
	Mac              []byte // VerifyMac
	GrantTokens      []string
	DryRun           bool
}

// trailParams records the request parameters as CloudTrail does, without reflection on the hot path; the message,
// signature and MAC are never recorded.
func (in *MessageInput) trailParams() map[string]any {
	m := make(map[string]any, 4)
	if in.KeyId != nil {
		m["keyId"] = *in.KeyId
	}
	if in.MessageType != "" {
		m["messageType"] = in.MessageType
	}
	if in.SigningAlgorithm != "" {
		m["signingAlgorithm"] = in.SigningAlgorithm
	}
	if in.MacAlgorithm != "" {
		m["macAlgorithm"] = in.MacAlgorithm
	}
	if in.DryRun {
		m["dryRun"] = true
	}
	return m
}

// SignOutput is Sign's reply.
type SignOutput struct {
	KeyId            string
	Signature        []byte
	SigningAlgorithm string
}

// VerifyOutput is Verify's reply. SignatureValid is always true: an invalid signature is an error.
type VerifyOutput struct {
	KeyId            string
	SignatureValid   bool
	SigningAlgorithm string
}

func messageTypeOf(s string) keyring.MessageType {
	switch s {
	case "DIGEST":
		return keyring.Digest
	case "EXTERNAL_MU":
		return keyring.ExternalMu
	}
	return keyring.Raw
}

// signingKey validates a Sign or Verify request and returns the key and the message type, after the checks AWS
// makes in its order: the members, the key, permission and state, the key usage, the algorithm against the key
// spec, the message type against the algorithm, and a digest's length.
func (s *Service) signingKey(ctx context.Context, c *Caller, in *MessageInput, op string) (*liveKey, keyring.MessageType, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.Message == nil {
		v.Add(awsproto.Null, "message", "Member must not be null")
	} else {
		v.BlobLength(in.Message, "message", 1, 4096)
	}
	v.Enum(in.MessageType, "messageType", messageTypes...)
	if op == "Verify" {
		if in.Signature == nil {
			v.Add(awsproto.Null, "signature", "Member must not be null")
		} else {
			v.BlobLength(in.Signature, "signature", 1, 6144)
		}
	}
	if in.SigningAlgorithm == "" {
		v.Required("signingAlgorithm")
	} else {
		v.Enum(in.SigningAlgorithm, "signingAlgorithm", signingAlgorithms...)
	}
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, 0, err
	}
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, 0, err
	}
	msgType := in.MessageType
	if msgType == "" {
		msgType = "RAW"
	}
	a := access{action: "kms:" + op, alias: aliasNameOf(*in.KeyId), extra: func(pc *policy.Context) {
		pc.Set("kms:SigningAlgorithm", in.SigningAlgorithm)
		pc.Set("kms:MessageType", msgType)
	}}
	if err := s.usableFor(ctx, c, k, a, op, UsageSignVerify); err != nil {
		return nil, 0, err
	}
	if k.asym == nil || !k.asym.CanSign(in.SigningAlgorithm) {
		return nil, 0, errIncompatible(in.SigningAlgorithm, k)
	}
	mt := messageTypeOf(msgType)
	if !keyring.AcceptsMessageType(in.SigningAlgorithm, mt) {
		if mt == keyring.ExternalMu || in.SigningAlgorithm == "ML_DSA_SHAKE_256" {
			return nil, 0, awsproto.Errorf("ValidationException", "Message type %s is incompatible with key spec %s.", msgType, k.meta.KeySpec)
		}
		return nil, 0, awsproto.Errorf("ValidationException", "Message type %s is incompatible with algorithm %s.", msgType, in.SigningAlgorithm)
	}
	want := keyring.DigestSize(in.SigningAlgorithm)
	if mt == keyring.ExternalMu {
		want = 64
	}
	if mt != keyring.Raw && len(in.Message) != want {
		return nil, 0, awsproto.Errorf("ValidationException", "Digest is invalid length for algorithm %s.", in.SigningAlgorithm)
	}
	return k, mt, nil
}

// Sign signs a message or digest with the private key of an asymmetric SIGN_VERIFY key. ECDSA signatures are DER;
// every signature verifies outside Custos with the public key from GetPublicKey.
func (s *Service) Sign(ctx context.Context, c *Caller, in *MessageInput) (*SignOutput, error) {
	k, mt, err := s.signingKey(ctx, c, in, "Sign")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	sig, err := k.asym.Sign(s.rand, in.SigningAlgorithm, in.Message, mt)
	if err != nil {
		return nil, s.internal("Sign", err)
	}
	return &SignOutput{KeyId: k.meta.ARN, Signature: sig, SigningAlgorithm: in.SigningAlgorithm}, nil
}

// Verify checks a signature made with an asymmetric SIGN_VERIFY key (by Sign, or outside Custos with the private
// key). It never answers false: a signature that does not verify is KMSInvalidSignatureException.
func (s *Service) Verify(ctx context.Context, c *Caller, in *MessageInput) (*VerifyOutput, error) {
	k, mt, err := s.signingKey(ctx, c, in, "Verify")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	if err := k.asym.Verify(in.SigningAlgorithm, in.Message, mt, in.Signature); err != nil {
		if errors.Is(err, keyring.ErrInvalidSignature) {
			return nil, awsproto.Errorf("KMSInvalidSignatureException", "")
		}
		return nil, s.internal("Verify", err)
	}
	return &VerifyOutput{KeyId: k.meta.ARN, SignatureValid: true, SigningAlgorithm: in.SigningAlgorithm}, nil
}

// GenerateMacOutput is GenerateMac's reply.
type GenerateMacOutput struct {
	KeyId        string
	Mac          []byte
	MacAlgorithm string
}

// VerifyMacOutput is VerifyMac's reply. MacValid is always true: an invalid MAC is an error.
type VerifyMacOutput struct {
	KeyId        string
	MacValid     bool
	MacAlgorithm string
}

// macKey validates a GenerateMac or VerifyMac request and returns its HMAC key.
func (s *Service) macKey(ctx context.Context, c *Caller, in *MessageInput, op string) (*liveKey, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.Message == nil {
		v.Add(awsproto.Null, "message", "Member must not be null")
	} else {
		v.BlobLength(in.Message, "message", 1, 4096)
	}
	if op == "VerifyMac" {
		if in.Mac == nil {
			v.Add(awsproto.Null, "mac", "Member must not be null")
		} else {
			v.BlobLength(in.Mac, "mac", 1, 6144)
		}
	}
	if in.MacAlgorithm == "" {
		v.Required("macAlgorithm")
	} else {
		v.Enum(in.MacAlgorithm, "macAlgorithm", macAlgorithms...)
	}
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	a := access{action: "kms:" + op, alias: aliasNameOf(*in.KeyId), extra: func(pc *policy.Context) {
		pc.Set("kms:MacAlgorithm", in.MacAlgorithm)
	}}
	if err := s.usableFor(ctx, c, k, a, op, UsageGenerateVerifyMac); err != nil {
		return nil, err
	}
	if k.mac == nil || keyring.MacAlgorithm(k.meta.KeySpec) != in.MacAlgorithm {
		return nil, errIncompatible(in.MacAlgorithm, k)
	}
	return k, nil
}

// GenerateMac returns the HMAC of a message under an HMAC key.
func (s *Service) GenerateMac(ctx context.Context, c *Caller, in *MessageInput) (*GenerateMacOutput, error) {
	k, err := s.macKey(ctx, c, in, "GenerateMac")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	return &GenerateMacOutput{KeyId: k.meta.ARN, Mac: k.mac.Sum(in.Message), MacAlgorithm: in.MacAlgorithm}, nil
}

// VerifyMac checks an HMAC. It never answers false: a MAC that does not match is KMSInvalidMacException.
func (s *Service) VerifyMac(ctx context.Context, c *Caller, in *MessageInput) (*VerifyMacOutput, error) {
	k, err := s.macKey(ctx, c, in, "VerifyMac")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	if !k.mac.Verify(in.Message, in.Mac) {
		return nil, awsproto.Errorf("KMSInvalidMacException", "")
	}
	return &VerifyMacOutput{KeyId: k.meta.ARN, MacValid: true, MacAlgorithm: in.MacAlgorithm}, nil
}

// GetPublicKeyOutput is GetPublicKey's reply.
type GetPublicKeyOutput struct {
	KeyId                  string
	PublicKey              []byte
	CustomerMasterKeySpec  string
	KeySpec                string
	KeyUsage               string
	EncryptionAlgorithms   []string `json:",omitempty"`
	SigningAlgorithms      []string `json:",omitempty"`
	KeyAgreementAlgorithms []string `json:",omitempty"`
}

// GetPublicKey returns the public key of an asymmetric key as a DER SubjectPublicKeyInfo, with what the key may be
// used for. Symmetric and HMAC keys have none: UnsupportedOperationException.
func (s *Service) GetPublicKey(ctx context.Context, c *Caller, in *KeyIDInput) (*GetPublicKeyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:GetPublicKey", key: k, alias: aliasNameOf(*in.KeyId)}); err != nil {
		return nil, err
	}
	if err := checkState(&k.meta, useCrypto); err != nil {
		return nil, err
	}
	if k.asym == nil {
		return nil, awsproto.Errorf("UnsupportedOperationException", "%s key usage is %s which is not valid for GetPublicKey.", k.meta.ARN, k.meta.KeyUsage)
	}
	enc, sign, _, agree := algorithmLists(k.meta.KeySpec, k.meta.KeyUsage)
	return &GetPublicKeyOutput{
		KeyId:                  k.meta.ARN,
		PublicKey:              k.asym.PublicKey(),
		CustomerMasterKeySpec:  k.meta.KeySpec,
		KeySpec:                k.meta.KeySpec,
		KeyUsage:               k.meta.KeyUsage,
		EncryptionAlgorithms:   enc,
		SigningAlgorithms:      sign,
		KeyAgreementAlgorithms: agree,
	}, nil
}

// DeriveSharedSecretInput is DeriveSharedSecret's request.
type DeriveSharedSecretInput struct {
	KeyId                 *string
	KeyAgreementAlgorithm string
	PublicKey             []byte
	GrantTokens           []string
	DryRun                bool
	Recipient             *Recipient
}

// DeriveSharedSecretOutput is DeriveSharedSecret's reply.
type DeriveSharedSecretOutput struct {
	KeyId                 string
	SharedSecret          []byte
	KeyAgreementAlgorithm string
	KeyOrigin             string
}

// DeriveSharedSecret computes the raw ECDH shared secret (the x-coordinate of the shared point) of a KEY_AGREEMENT
// key's private key and a peer's public key, given as a DER SubjectPublicKeyInfo on the same curve.
func (s *Service) DeriveSharedSecret(ctx context.Context, c *Caller, in *DeriveSharedSecretInput) (*DeriveSharedSecretOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.KeyAgreementAlgorithm == "" {
		v.Required("keyAgreementAlgorithm")
	} else {
		v.Enum(in.KeyAgreementAlgorithm, "keyAgreementAlgorithm", keyAgreementAlgorithms...)
	}
	if in.PublicKey == nil {
		v.Add(awsproto.Null, "publicKey", "Member must not be null")
	} else {
		v.BlobLength(in.PublicKey, "publicKey", 1, 8192)
	}
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.Recipient != nil {
		return nil, errRecipient()
	}
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	a := access{action: "kms:DeriveSharedSecret", alias: aliasNameOf(*in.KeyId), extra: func(pc *policy.Context) {
		pc.Set("kms:KeyAgreementAlgorithm", in.KeyAgreementAlgorithm)
	}}
	if err := s.usableFor(ctx, c, k, a, "DeriveSharedSecret", UsageKeyAgreement); err != nil {
		return nil, err
	}
	if k.asym == nil {
		return nil, errIncompatible(in.KeyAgreementAlgorithm, k)
	}
	z, err := k.asym.SharedSecret(in.PublicKey)
	switch {
	case errors.Is(err, keyring.ErrPublicKeyMismatch):
		return nil, awsproto.Errorf("ValidationException", "The public key does not match the key spec %s of the KMS key.", k.meta.KeySpec)
	case err != nil:
		return nil, awsproto.Errorf("ValidationException", "The public key is not a valid DER-encoded X.509 SubjectPublicKeyInfo of a point on the curve of key spec %s.", k.meta.KeySpec)
	}
	if in.DryRun {
		clear(z)
		return nil, errDryRun()
	}
	return &DeriveSharedSecretOutput{KeyId: k.meta.ARN, SharedSecret: z, KeyAgreementAlgorithm: in.KeyAgreementAlgorithm, KeyOrigin: k.meta.Origin}, nil
}

// DataKeyPairInput is the request of GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext.
type DataKeyPairInput struct {
	KeyId             *string
	KeyPairSpec       *string
	EncryptionContext map[string]string
	GrantTokens       []string
	DryRun            bool
	Recipient         *Recipient
}

// DataKeyPairOutput is the reply of GenerateDataKeyPair; GenerateDataKeyPairWithoutPlaintext leaves out
// PrivateKeyPlaintext.
type DataKeyPairOutput struct {
	PrivateKeyCiphertextBlob []byte
	PrivateKeyPlaintext      []byte `json:",omitempty"`
	PublicKey                []byte
	KeyId                    string
	KeyPairSpec              string
	KeyMaterialId            string
}

// GenerateDataKeyPair returns a new key pair: the private key as PKCS #8 DER in plaintext and encrypted under a
// symmetric key (a normal ciphertext of that key, bound to the encryption context, so Decrypt returns the PKCS #8),
// and the public key as a DER SubjectPublicKeyInfo.
func (s *Service) GenerateDataKeyPair(ctx context.Context, c *Caller, in *DataKeyPairInput) (*DataKeyPairOutput, error) {
	return s.dataKeyPair(ctx, c, in, "GenerateDataKeyPair", true)
}

// GenerateDataKeyPairWithoutPlaintext is GenerateDataKeyPair without the plaintext private key.
func (s *Service) GenerateDataKeyPairWithoutPlaintext(ctx context.Context, c *Caller, in *DataKeyPairInput) (*DataKeyPairOutput, error) {
	return s.dataKeyPair(ctx, c, in, "GenerateDataKeyPairWithoutPlaintext", false)
}

func (s *Service) dataKeyPair(ctx context.Context, c *Caller, in *DataKeyPairInput, op string, withPlaintext bool) (*DataKeyPairOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.KeyPairSpec == nil {
		v.Required("keyPairSpec")
	} else {
		v.Enum(*in.KeyPairSpec, "keyPairSpec", dataKeyPairSpecs...)
	}
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.Recipient != nil {
		return nil, errRecipient()
	}
	spec := *in.KeyPairSpec
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	a := access{action: "kms:" + op, ec: in.EncryptionContext, alias: aliasNameOf(*in.KeyId), extra: func(pc *policy.Context) {
		pc.Set("kms:DataKeyPairSpec", spec)
	}}
	if err := s.usable(ctx, c, k, a, op, ""); err != nil {
		return nil, err
	}
	if !keyring.IsAsymmetricSpec(spec) {
		return nil, awsproto.Errorf("UnsupportedOperationException", "KeyPairSpec %s is not supported in this region.", spec)
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	private, err := keyring.GenerateAsymmetric(s.rand, spec)
	if err != nil {
		return nil, s.internal(op, err)
	}
	pair, err := keyring.NewAsymmetric(spec, private)
	if err != nil {
		return nil, s.internal(op, err)
	}
	pkcs8 := private.Bytes()
	blob, err := k.current.Seal(s.rand, pkcs8, in.EncryptionContext)
	if err != nil {
		clear(pkcs8)
		return nil, s.internal(op, err)
	}
	out := &DataKeyPairOutput{
		PrivateKeyCiphertextBlob: blob,
		PublicKey:                pair.PublicKey(),
		KeyId:                    k.meta.ARN,
		KeyPairSpec:              spec,
		KeyMaterialId:            k.current.MaterialID(),
	}
	if withPlaintext {
		out.PrivateKeyPlaintext = pkcs8
	} else {
		clear(pkcs8)
	}
	return out, nil
}
