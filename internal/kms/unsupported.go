package kms

import (
	"context"

	"github.com/custoskms/custos/internal/awsproto"
)

// The operations below belong to key specs Custos does not create yet
// (asymmetric, HMAC and key-agreement keys). Every key is symmetric, so
// each answers exactly what AWS answers for a symmetric key: after the key
// is found, the caller authorized and the state checked, the key's usage is
// wrong for the operation.

// AsymmetricInput is the part of the Sign, Verify, GenerateMac, VerifyMac,
// GetPublicKey and DeriveSharedSecret requests read before the key usage is
// checked.
type AsymmetricInput struct {
	KeyId       *string
	GrantTokens []string
	DryRun      bool
}

func (s *Service) wrongUsage(ctx context.Context, c *Caller, in *AsymmetricInput, op, code string) (*EmptyOutput, error) {
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
	if err := s.authorize(ctx, c, access{action: "kms:" + op, key: k}); err != nil {
		return nil, err
	}
	if err := checkState(&k.meta, useCrypto); err != nil {
		return nil, err
	}
	return nil, awsproto.Errorf(code, "%s key usage is %s which is not valid for %s.", k.meta.ARN, k.meta.KeyUsage, op)
}

// Sign answers for a symmetric key.
func (s *Service) Sign(ctx context.Context, c *Caller, in *AsymmetricInput) (*EmptyOutput, error) {
	return s.wrongUsage(ctx, c, in, "Sign", "InvalidKeyUsageException")
}

// Verify answers for a symmetric key.
func (s *Service) Verify(ctx context.Context, c *Caller, in *AsymmetricInput) (*EmptyOutput, error) {
	return s.wrongUsage(ctx, c, in, "Verify", "InvalidKeyUsageException")
}

// GenerateMac answers for a symmetric key.
func (s *Service) GenerateMac(ctx context.Context, c *Caller, in *AsymmetricInput) (*EmptyOutput, error) {
	return s.wrongUsage(ctx, c, in, "GenerateMac", "InvalidKeyUsageException")
}

// VerifyMac answers for a symmetric key.
func (s *Service) VerifyMac(ctx context.Context, c *Caller, in *AsymmetricInput) (*EmptyOutput, error) {
	return s.wrongUsage(ctx, c, in, "VerifyMac", "InvalidKeyUsageException")
}

// DeriveSharedSecret answers for a symmetric key.
func (s *Service) DeriveSharedSecret(ctx context.Context, c *Caller, in *AsymmetricInput) (*EmptyOutput, error) {
	return s.wrongUsage(ctx, c, in, "DeriveSharedSecret", "InvalidKeyUsageException")
}

// GetPublicKey answers for a symmetric key: it has no public key.
func (s *Service) GetPublicKey(ctx context.Context, c *Caller, in *AsymmetricInput) (*EmptyOutput, error) {
	return s.wrongUsage(ctx, c, in, "GetPublicKey", "UnsupportedOperationException")
}

// DataKeyPairInput is the request of GenerateDataKeyPair and
// GenerateDataKeyPairWithoutPlaintext.
type DataKeyPairInput struct {
	KeyId             *string
	KeyPairSpec       *string
	EncryptionContext map[string]string
	GrantTokens       []string
	DryRun            bool
}

var dataKeyPairSpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
	"ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519"}

func (s *Service) dataKeyPair(ctx context.Context, c *Caller, in *DataKeyPairInput, op string) (*EmptyOutput, error) {
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
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	if err := s.usable(ctx, c, k, access{action: "kms:" + op, ec: in.EncryptionContext, alias: aliasNameOf(*in.KeyId)}, op, ""); err != nil {
		return nil, err
	}
	return nil, awsproto.Errorf("UnsupportedOperationException", "KeyPairSpec %s is not supported by this server yet.", *in.KeyPairSpec)
}

// GenerateDataKeyPair is not built yet: it answers UnsupportedOperationException
// once the request is otherwise valid.
func (s *Service) GenerateDataKeyPair(ctx context.Context, c *Caller, in *DataKeyPairInput) (*EmptyOutput, error) {
	return s.dataKeyPair(ctx, c, in, "GenerateDataKeyPair")
}

// GenerateDataKeyPairWithoutPlaintext is not built yet, as GenerateDataKeyPair.
func (s *Service) GenerateDataKeyPairWithoutPlaintext(ctx context.Context, c *Caller, in *DataKeyPairInput) (*EmptyOutput, error) {
	return s.dataKeyPair(ctx, c, in, "GenerateDataKeyPairWithoutPlaintext")
}
