package kms

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/keyring"
)

var encryptionAlgorithms = []string{"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"}

// Recipient is a Nitro Enclaves attestation target.
type Recipient struct {
	KeyEncryptionAlgorithm string
	AttestationDocument    []byte
}

func errDryRun() error {
	return awsproto.Errorf("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
}

func errRecipient() error {
	return awsproto.Errorf("UnsupportedOperationException", "Recipient attestation documents are not supported by this server.")
}

func errInvalidCiphertext() error {
	return awsproto.Errorf("InvalidCiphertextException", "")
}

// usable checks what every encryption operation on key k needs: permission, a
// usable state, ENCRYPT_DECRYPT usage and an encryption algorithm the key
// supports ("" is SYMMETRIC_DEFAULT, which asymmetric keys do not support).
func (s *Service) usable(ctx context.Context, c *Caller, k *liveKey, a access, op, algorithm string) error {
	a.key = k
	a.algorithm = algorithm
	if a.algorithm == "" {
		a.algorithm = AlgSymmetricDefault
	}
	if err := s.authorize(ctx, c, a); err != nil {
		return err
	}
	if err := checkState(&k.meta, useCrypto); err != nil {
		return err
	}
	if k.meta.KeyUsage != UsageEncryptDecrypt {
		return errUsage(k, op)
	}
	if !canEncryptWith(k, a.algorithm) {
		return errIncompatible(a.algorithm, k)
	}
	if k.asym == nil && k.current == nil {
		return s.internal(op, errors.New("kms: key has no current material"))
	}
	return nil
}

func errAsymmetricContext() error {
	return awsproto.Errorf("ValidationException", "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.")
}

// checkAsymmetricEncrypt checks what encrypting plaintext under an asymmetric
// key with algorithm needs beyond usable: no encryption context, and a
// plaintext within RSA-OAEP's limit for the key size.
func checkAsymmetricEncrypt(k *liveKey, algorithm string, plaintext []byte, ec map[string]string) error {
	if len(ec) > 0 {
		return errAsymmetricContext()
	}
	if max := k.asym.MaxPlaintext(algorithm); len(plaintext) > max {
		return awsproto.Errorf("ValidationException", "Algorithm %s and key spec %s cannot encrypt data larger than %d bytes.", algorithm, k.meta.KeySpec, max)
	}
	return nil
}

// EncryptInput is Encrypt's request.
type EncryptInput struct {
	KeyId               *string
	Plaintext           []byte
	EncryptionContext   map[string]string
	GrantTokens         []string
	EncryptionAlgorithm string
	DryRun              bool
}

// EncryptOutput is Encrypt's reply.
type EncryptOutput struct {
	CiphertextBlob      []byte
	KeyId               string
	EncryptionAlgorithm string
}

// Encrypt encrypts up to 4 KiB under a symmetric key, or with RSA-OAEP under
// an asymmetric ENCRYPT_DECRYPT key (a standard ciphertext that the private
// key decrypts outside Custos too).
func (s *Service) Encrypt(ctx context.Context, c *Caller, in *EncryptInput) (*EncryptOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.Plaintext == nil {
		v.Add(awsproto.Null, "plaintext", "Member must not be null")
	} else {
		v.BlobLength(in.Plaintext, "plaintext", 1, 4096)
	}
	v.Enum(in.EncryptionAlgorithm, "encryptionAlgorithm", encryptionAlgorithms...)
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	if err := s.usable(ctx, c, k, access{action: "kms:Encrypt", ec: in.EncryptionContext, alias: aliasNameOf(*in.KeyId)}, "Encrypt", in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	if k.asym != nil {
		if err := checkAsymmetricEncrypt(k, in.EncryptionAlgorithm, in.Plaintext, in.EncryptionContext); err != nil {
			return nil, err
		}
		if in.DryRun {
			return nil, errDryRun()
		}
		blob, err := k.asym.Encrypt(s.rand, in.EncryptionAlgorithm, in.Plaintext)
		if err != nil {
			return nil, s.internal("Encrypt", err)
		}
		return &EncryptOutput{CiphertextBlob: blob, KeyId: k.meta.ARN, EncryptionAlgorithm: in.EncryptionAlgorithm}, nil
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	blob, err := k.current.Seal(s.rand, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, s.internal("Encrypt", err)
	}
	return &EncryptOutput{CiphertextBlob: blob, KeyId: k.meta.ARN, EncryptionAlgorithm: AlgSymmetricDefault}, nil
}

// DecryptInput is Decrypt's request.
type DecryptInput struct {
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	GrantTokens         []string
	KeyId               *string
	EncryptionAlgorithm string
	Recipient           *Recipient
	DryRun              bool
	DryRunModifiers     []string
}

// DecryptOutput is Decrypt's reply.
type DecryptOutput struct {
	KeyId               string
	Plaintext           []byte
	EncryptionAlgorithm string
	KeyMaterialId       string `json:",omitempty"` // symmetric keys only
}

// source finds the key and material that made blob and checks that the
// caller may use it for action. keyID, when set, must name that key.
func (s *Service) source(ctx context.Context, c *Caller, op, action string, blob []byte, ec map[string]string, keyID *string, algorithm string, sameKey int8) (*liveKey, *keyring.Symmetric, error) {
	var named keyRef
	if keyID != nil {
		var err error
		if named, err = s.refOf(ctx, c, *keyID, withAlias); err != nil {
			return nil, nil, err
		}
	}
	h, err := keyring.ParseCiphertext(blob)
	if err != nil {
		return nil, nil, errInvalidCiphertext()
	}
	account, id, ok := strings.Cut(h.KeyID, "/")
	if !ok || !isAccountID(account) || !isKeyID(id) {
		return nil, nil, errInvalidCiphertext()
	}
	ref := keyRef{account, c.Region, id}
	if keyID != nil && named != ref {
		return nil, nil, awsproto.Errorf("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
	}
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	a := access{action: action, ec: ec, sameKey: sameKey}
	if keyID != nil {
		a.alias = aliasNameOf(*keyID)
	}
	if err := s.usable(ctx, c, k, a, op, algorithm); err != nil {
		return nil, nil, err
	}
	m := k.materials[h.MaterialID]
	if m == nil {
		return nil, nil, errInvalidCiphertext()
	}
	return k, m, nil
}

func open(m *keyring.Symmetric, blob []byte, ec map[string]string) ([]byte, error) {
	pt, err := m.Open(blob, ec)
	if err != nil {
		return nil, errInvalidCiphertext()
	}
	return pt, nil
}

// namedKey returns the key a Decrypt KeyId or ReEncrypt SourceKeyId names,
// or nil when there is none or it cannot be found (the symmetric path then
// reports why, in its own order).
func (s *Service) namedKey(ctx context.Context, c *Caller, keyID *string) *liveKey {
	if keyID == nil {
		return nil
	}
	k, err := s.key(ctx, c, *keyID, withAlias)
	if err != nil {
		return nil
	}
	return k
}

// decryptAsymmetric checks that the caller may decrypt with asymmetric key k
// and algorithm, and decrypts an RSA-OAEP ciphertext. An asymmetric
// ciphertext takes no encryption context.
func (s *Service) decryptAsymmetric(ctx context.Context, c *Caller, k *liveKey, op string, a access, blob []byte, algorithm string) ([]byte, error) {
	if err := s.usable(ctx, c, k, a, op, algorithm); err != nil {
		return nil, err
	}
	if len(a.ec) > 0 {
		return nil, errAsymmetricContext()
	}
	pt, err := k.asym.Decrypt(algorithm, blob)
	if err != nil {
		return nil, errInvalidCiphertext()
	}
	return pt, nil
}

// validateCiphertext checks a CiphertextBlob member, which a DryRun with
// IGNORE_CIPHERTEXT may leave out.
func validateCiphertext(v *awsproto.Validation, blob []byte, optional bool) {
	switch {
	case blob == nil && !optional:
		v.Add(awsproto.Null, "ciphertextBlob", "Member must not be null")
	case blob != nil:
		v.BlobLength(blob, "ciphertextBlob", 1, 6144)
	}
}

// dryRunWithoutCiphertext answers a DryRun with IGNORE_CIPHERTEXT: only
// authorization and the key's state are checked, on the key KeyId names or
// else the key the blob's header names.
func (s *Service) dryRunWithoutCiphertext(ctx context.Context, c *Caller, op, action string, blob []byte, keyID *string, algorithm string, ec map[string]string) error {
	var ref keyRef
	switch {
	case keyID != nil:
		var err error
		if ref, err = s.refOf(ctx, c, *keyID, withAlias); err != nil {
			return err
		}
	default:
		h, err := keyring.ParseCiphertext(blob)
		if err != nil {
			return errInvalidCiphertext()
		}
		account, id, ok := strings.Cut(h.KeyID, "/")
		if !ok || !isAccountID(account) || !isKeyID(id) {
			return errInvalidCiphertext()
		}
		ref = keyRef{account, c.Region, id}
	}
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.usable(ctx, c, k, access{action: action, ec: ec}, op, algorithm); err != nil {
		return err
	}
	return errDryRun()
}

func isDryRun(err error) bool {
	e, ok := awsproto.As(err)
	return ok && e.Code == "DryRunOperationException"
}

func validateDryRunModifiers(v *awsproto.Validation, mods []string) bool {
	ignore := false
	for _, m := range mods {
		v.Enum(m, "dryRunModifiers", "IGNORE_CIPHERTEXT")
		ignore = ignore || m == "IGNORE_CIPHERTEXT"
	}
	return ignore
}

// Decrypt decrypts a ciphertext made by Encrypt, GenerateDataKey or
// ReEncrypt. A symmetric blob names its key, so KeyId is optional; an
// RSA-OAEP ciphertext names nothing, so KeyId and EncryptionAlgorithm must
// name its asymmetric key and algorithm.
func (s *Service) Decrypt(ctx context.Context, c *Caller, in *DecryptInput) (*DecryptOutput, error) {
	var v awsproto.Validation
	ignore := validateDryRunModifiers(&v, in.DryRunModifiers) && in.DryRun
	validateCiphertext(&v, in.CiphertextBlob, ignore)
	if in.KeyId != nil {
		v.Length(*in.KeyId, "keyId", 1, 2048)
	}
	v.Enum(in.EncryptionAlgorithm, "encryptionAlgorithm", encryptionAlgorithms...)
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.Recipient != nil {
		return nil, errRecipient()
	}
	if ignore {
		return nil, s.dryRunWithoutCiphertext(ctx, c, "Decrypt", "kms:Decrypt", in.CiphertextBlob, in.KeyId, in.EncryptionAlgorithm, in.EncryptionContext)
	}
	// A KeyId naming an asymmetric key decrypts RSA-OAEP; any other KeyId,
	// found or not, is the symmetric path's to check.
	if named := s.namedKey(ctx, c, in.KeyId); named != nil && named.meta.KeySpec != SpecSymmetricDefault {
		pt, err := s.decryptAsymmetric(ctx, c, named, "Decrypt", access{action: "kms:Decrypt", ec: in.EncryptionContext, alias: aliasNameOf(*in.KeyId)}, in.CiphertextBlob, in.EncryptionAlgorithm)
		if err != nil {
			return nil, err
		}
		if in.DryRun {
			clear(pt)
			return nil, errDryRun()
		}
		return &DecryptOutput{KeyId: named.meta.ARN, Plaintext: pt, EncryptionAlgorithm: in.EncryptionAlgorithm}, nil
	}
	k, m, err := s.source(ctx, c, "Decrypt", "kms:Decrypt", in.CiphertextBlob, in.EncryptionContext, in.KeyId, in.EncryptionAlgorithm, 0)
	if err != nil {
		return nil, err
	}
	pt, err := open(m, in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	return &DecryptOutput{KeyId: k.meta.ARN, Plaintext: pt, EncryptionAlgorithm: AlgSymmetricDefault, KeyMaterialId: m.MaterialID()}, nil
}

// ReEncryptInput is ReEncrypt's request.
type ReEncryptInput struct {
	CiphertextBlob                 []byte
	SourceEncryptionContext        map[string]string
	SourceKeyId                    *string
	DestinationKeyId               *string
	DestinationEncryptionContext   map[string]string
	SourceEncryptionAlgorithm      string
	DestinationEncryptionAlgorithm string
	GrantTokens                    []string
	DryRun                         bool
	DryRunModifiers                []string
}

// ReEncryptOutput is ReEncrypt's reply.
type ReEncryptOutput struct {
	CiphertextBlob                 []byte
	SourceKeyId                    string
	KeyId                          string
	SourceEncryptionAlgorithm      string
	DestinationEncryptionAlgorithm string
	SourceKeyMaterialId            string `json:",omitempty"` // symmetric source keys only
	DestinationKeyMaterialId       string `json:",omitempty"` // symmetric destination keys only
}

// ReEncrypt decrypts a ciphertext and encrypts the plaintext under another
// key (or the same one) without the plaintext leaving the service. Either key
// may be asymmetric: an asymmetric source is named by SourceKeyId and
// SourceEncryptionAlgorithm, an asymmetric destination needs
// DestinationEncryptionAlgorithm, and neither takes an encryption context.
func (s *Service) ReEncrypt(ctx context.Context, c *Caller, in *ReEncryptInput) (*ReEncryptOutput, error) {
	var v awsproto.Validation
	ignore := validateDryRunModifiers(&v, in.DryRunModifiers) && in.DryRun
	validateCiphertext(&v, in.CiphertextBlob, ignore)
	validateKeyID(&v, "destinationKeyId", in.DestinationKeyId)
	if in.SourceKeyId != nil {
		v.Length(*in.SourceKeyId, "sourceKeyId", 1, 2048)
	}
	v.Enum(in.SourceEncryptionAlgorithm, "sourceEncryptionAlgorithm", encryptionAlgorithms...)
	v.Enum(in.DestinationEncryptionAlgorithm, "destinationEncryptionAlgorithm", encryptionAlgorithms...)
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	dst, err := s.key(ctx, c, *in.DestinationKeyId, withAlias)
	if err != nil {
		return nil, err
	}
	if ignore {
		if err := s.dryRunWithoutCiphertext(ctx, c, "ReEncrypt", "kms:ReEncryptFrom", in.CiphertextBlob, in.SourceKeyId, in.SourceEncryptionAlgorithm, in.SourceEncryptionContext); !isDryRun(err) {
			return nil, err
		}
		if err := s.usable(ctx, c, dst, access{action: "kms:ReEncryptTo", ec: in.DestinationEncryptionContext}, "ReEncrypt", in.DestinationEncryptionAlgorithm); err != nil {
			return nil, err
		}
		return nil, errDryRun()
	}
	named := s.namedKey(ctx, c, in.SourceKeyId)
	var (
		src           *liveKey
		pt            []byte
		srcMaterialID string
		sameKey       int8
	)
	dstAccess := access{action: "kms:ReEncryptTo", ec: in.DestinationEncryptionContext, alias: aliasNameOf(*in.DestinationKeyId)}
	if named != nil && named.meta.KeySpec != SpecSymmetricDefault {
		sameKey = 1
		if named.meta.ARN == dst.meta.ARN {
			sameKey = 2
		}
		srcAccess := access{action: "kms:ReEncryptFrom", ec: in.SourceEncryptionContext, sameKey: sameKey, alias: aliasNameOf(*in.SourceKeyId)}
		if err := s.usable(ctx, c, named, srcAccess, "ReEncrypt", in.SourceEncryptionAlgorithm); err != nil {
			return nil, err
		}
		dstAccess.sameKey = sameKey
		if err := s.usable(ctx, c, dst, dstAccess, "ReEncrypt", in.DestinationEncryptionAlgorithm); err != nil {
			return nil, err
		}
		if pt, err = s.decryptAsymmetric(ctx, c, named, "ReEncrypt", srcAccess, in.CiphertextBlob, in.SourceEncryptionAlgorithm); err != nil {
			return nil, err
		}
		src = named
	} else {
		if h, err := keyring.ParseCiphertext(in.CiphertextBlob); err == nil {
			sameKey = 1
			if h.KeyID == blobKeyRef(dst.meta.AccountID, dst.meta.ID) {
				sameKey = 2
			}
		}
		var m *keyring.Symmetric
		if src, m, err = s.source(ctx, c, "ReEncrypt", "kms:ReEncryptFrom", in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, in.SourceEncryptionAlgorithm, sameKey); err != nil {
			return nil, err
		}
		dstAccess.sameKey = sameKey
		if err := s.usable(ctx, c, dst, dstAccess, "ReEncrypt", in.DestinationEncryptionAlgorithm); err != nil {
			return nil, err
		}
		if pt, err = open(m, in.CiphertextBlob, in.SourceEncryptionContext); err != nil {
			return nil, err
		}
		srcMaterialID = m.MaterialID()
	}
	defer clear(pt)
	out := &ReEncryptOutput{
		SourceKeyId:                    src.meta.ARN,
		KeyId:                          dst.meta.ARN,
		SourceEncryptionAlgorithm:      orDefault(in.SourceEncryptionAlgorithm),
		DestinationEncryptionAlgorithm: orDefault(in.DestinationEncryptionAlgorithm),
		SourceKeyMaterialId:            srcMaterialID,
	}
	if dst.asym != nil {
		if err := checkAsymmetricEncrypt(dst, in.DestinationEncryptionAlgorithm, pt, in.DestinationEncryptionContext); err != nil {
			return nil, err
		}
		if in.DryRun {
			return nil, errDryRun()
		}
		if out.CiphertextBlob, err = dst.asym.Encrypt(s.rand, in.DestinationEncryptionAlgorithm, pt); err != nil {
			return nil, s.internal("ReEncrypt", err)
		}
		return out, nil
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	if out.CiphertextBlob, err = dst.current.Seal(s.rand, pt, in.DestinationEncryptionContext); err != nil {
		return nil, s.internal("ReEncrypt", err)
	}
	out.DestinationKeyMaterialId = dst.current.MaterialID()
	return out, nil
}

// GenerateDataKeyInput is the request of GenerateDataKey and
// GenerateDataKeyWithoutPlaintext.
type GenerateDataKeyInput struct {
	KeyId             *string
	EncryptionContext map[string]string
	NumberOfBytes     *int64
	KeySpec           string
	GrantTokens       []string
	Recipient         *Recipient
	DryRun            bool
}

// GenerateDataKeyOutput is GenerateDataKey's reply; Plaintext is left out by
// GenerateDataKeyWithoutPlaintext.
type GenerateDataKeyOutput struct {
	CiphertextBlob []byte
	Plaintext      []byte `json:",omitempty"`
	KeyId          string
	KeyMaterialId  string
}

// GenerateDataKey returns a new data key in plaintext and encrypted under a
// symmetric key.
func (s *Service) GenerateDataKey(ctx context.Context, c *Caller, in *GenerateDataKeyInput) (*GenerateDataKeyOutput, error) {
	return s.generateDataKey(ctx, c, in, "GenerateDataKey", true)
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey without the plaintext.
func (s *Service) GenerateDataKeyWithoutPlaintext(ctx context.Context, c *Caller, in *GenerateDataKeyInput) (*GenerateDataKeyOutput, error) {
	return s.generateDataKey(ctx, c, in, "GenerateDataKeyWithoutPlaintext", false)
}

func (s *Service) generateDataKey(ctx context.Context, c *Caller, in *GenerateDataKeyInput, op string, withPlaintext bool) (*GenerateDataKeyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	v.Enum(in.KeySpec, "keySpec", "AES_256", "AES_128")
	if in.NumberOfBytes != nil {
		v.Range(*in.NumberOfBytes, "numberOfBytes", 1, 1024)
	}
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if (in.NumberOfBytes == nil) == (in.KeySpec == "") {
		return nil, awsproto.Errorf("ValidationException", "Please specify either number of bytes or key spec.")
	}
	if in.Recipient != nil {
		return nil, errRecipient()
	}
	n := 32
	switch {
	case in.NumberOfBytes != nil:
		n = int(*in.NumberOfBytes)
	case in.KeySpec == "AES_128":
		n = 16
	}
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	if err := s.usable(ctx, c, k, access{action: "kms:" + op, ec: in.EncryptionContext, alias: aliasNameOf(*in.KeyId)}, op, ""); err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	pt := make([]byte, n)
	if _, err := io.ReadFull(s.rand, pt); err != nil {
		return nil, s.internal(op, err)
	}
	blob, err := k.current.Seal(s.rand, pt, in.EncryptionContext)
	if err != nil {
		return nil, s.internal(op, err)
	}
	out := &GenerateDataKeyOutput{CiphertextBlob: blob, KeyId: k.meta.ARN, KeyMaterialId: k.current.MaterialID()}
	if withPlaintext {
		out.Plaintext = pt
	}
	return out, nil
}

// GenerateRandomInput is GenerateRandom's request.
type GenerateRandomInput struct {
	NumberOfBytes    *int64
	CustomKeyStoreId string
	Recipient        *Recipient
}

// GenerateRandomOutput is GenerateRandom's reply.
type GenerateRandomOutput struct {
	Plaintext []byte
}

// GenerateRandom returns random bytes.
func (s *Service) GenerateRandom(ctx context.Context, c *Caller, in *GenerateRandomInput) (*GenerateRandomOutput, error) {
	if in.NumberOfBytes == nil {
		return nil, awsproto.Errorf("ValidationException", "NumberOfBytes is required.")
	}
	var v awsproto.Validation
	v.Range(*in.NumberOfBytes, "numberOfBytes", 1, 1024)
	v.Length(in.CustomKeyStoreId, "customKeyStoreId", 0, 64)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.Recipient != nil {
		return nil, errRecipient()
	}
	if err := s.authorize(ctx, c, access{action: "kms:GenerateRandom"}); err != nil {
		return nil, err
	}
	if in.CustomKeyStoreId != "" {
		return nil, awsproto.Errorf("CustomKeyStoreNotFoundException", "Custom key store %s is not found.", in.CustomKeyStoreId)
	}
	b := make([]byte, *in.NumberOfBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, s.internal("GenerateRandom", err)
	}
	return &GenerateRandomOutput{Plaintext: b}, nil
}
