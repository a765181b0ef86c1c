package kms

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Key specs, usages and origins, as AWS spells them.
const (
	SpecSymmetricDefault = "SYMMETRIC_DEFAULT"
	UsageEncryptDecrypt  = "ENCRYPT_DECRYPT"
	OriginAWSKMS         = "AWS_KMS"
	ManagerCustomer      = "CUSTOMER"
	AlgSymmetricDefault  = "SYMMETRIC_DEFAULT"
)

var (
	keySpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
		"ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2",
		"ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519"}
	keyUsages = []string{"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"}
	origins   = []string{"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}
)

// usagesOf lists the key usages AWS allows for each key spec.
func usagesOf(spec string) []string {
	switch spec {
	case "SYMMETRIC_DEFAULT":
		return []string{"ENCRYPT_DECRYPT"}
	case "RSA_2048", "RSA_3072", "RSA_4096":
		return []string{"ENCRYPT_DECRYPT", "SIGN_VERIFY"}
	case "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521":
		return []string{"SIGN_VERIFY", "KEY_AGREEMENT"}
	case "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87":
		return []string{"SIGN_VERIFY"}
	case "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512":
		return []string{"GENERATE_VERIFY_MAC"}
	case "SM2":
		return []string{"ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"}
	}
	return nil
}

// DefaultKeyPolicy returns the key policy AWS gives a key created through
// the API without one, byte for byte as GetKeyPolicy returns it.
func DefaultKeyPolicy(account string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::` + account + `:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

// Tag is a resource tag as KMS sends it.
type Tag struct {
	TagKey   string
	TagValue string
}

// MultiRegionKey names one key of a multi-Region set.
type MultiRegionKey struct {
	Arn    string
	Region string
}

// MultiRegionConfiguration describes a multi-Region key's relatives.
type MultiRegionConfiguration struct {
	MultiRegionKeyType string
	PrimaryKey         *MultiRegionKey  `json:",omitempty"`
	ReplicaKeys        []MultiRegionKey `json:",omitzero"`
}

// KeyMetadata is DescribeKey's description of a key.
type KeyMetadata struct {
	AWSAccountId                string
	KeyId                       string
	Arn                         string
	CreationDate                awsproto.Time
	Enabled                     bool
	Description                 string
	KeyUsage                    string
	KeyState                    string
	DeletionDate                *awsproto.Time `json:",omitempty"`
	Origin                      string
	KeyManager                  string
	CustomerMasterKeySpec       string
	KeySpec                     string
	EncryptionAlgorithms        []string `json:",omitempty"`
	SigningAlgorithms           []string `json:",omitempty"`
	MacAlgorithms               []string `json:",omitempty"`
	KeyAgreementAlgorithms      []string `json:",omitempty"`
	MultiRegion                 bool
	MultiRegionConfiguration    *MultiRegionConfiguration `json:",omitempty"`
	PendingDeletionWindowInDays int                       `json:",omitzero"`
	CurrentKeyMaterialId        string                    `json:",omitempty"`
}

func metadataOf(k *store.Key) *KeyMetadata {
	m := &KeyMetadata{
		AWSAccountId:          k.AccountID,
		KeyId:                 k.ID,
		Arn:                   k.ARN,
		CreationDate:          awsproto.Time{Time: k.CreatedAt},
		Enabled:               k.State == StateEnabled,
		Description:           k.Description,
		KeyUsage:              k.KeyUsage,
		KeyState:              k.State,
		Origin:                k.Origin,
		KeyManager:            k.KeyManager,
		CustomerMasterKeySpec: k.KeySpec,
		KeySpec:               k.KeySpec,
		MultiRegion:           k.MultiRegion,
		CurrentKeyMaterialId:  k.CurrentMaterialID,
	}
	m.EncryptionAlgorithms, m.SigningAlgorithms, m.MacAlgorithms, m.KeyAgreementAlgorithms = algorithmLists(k.KeySpec, k.KeyUsage)
	if k.State == StatePendingDeletion {
		m.DeletionDate = awsproto.TimePtr(k.DeletionDate)
		m.PendingDeletionWindowInDays = k.PendingWindowDays
	}
	if k.MultiRegion {
		m.MultiRegionConfiguration = &MultiRegionConfiguration{
			MultiRegionKeyType: k.MultiRegionKeyType,
			PrimaryKey:         &MultiRegionKey{Arn: keyARN(k.PrimaryRegion, k.AccountID, k.ID), Region: k.PrimaryRegion},
			ReplicaKeys:        []MultiRegionKey{},
		}
	}
	return m
}

// CreateKeyInput is CreateKey's request.
type CreateKeyInput struct {
	Policy                         *string
	Description                    string
	KeyUsage                       string
	CustomerMasterKeySpec          string
	KeySpec                        string
	Origin                         string
	CustomKeyStoreId               string
	XksKeyId                       string
	BypassPolicyLockoutSafetyCheck bool
	Tags                           []Tag
	MultiRegion                    bool
}

// KeyMetadataOutput is the reply of CreateKey and DescribeKey.
type KeyMetadataOutput struct {
	KeyMetadata *KeyMetadata
}

// CreateKey creates a customer managed key.
func (s *Service) CreateKey(ctx context.Context, c *Caller, in *CreateKeyInput) (*KeyMetadataOutput, error) {
	var v awsproto.Validation
	v.Length(in.Description, "description", 0, 8192)
	v.Enum(in.KeyUsage, "keyUsage", keyUsages...)
	v.Enum(in.KeySpec, "keySpec", keySpecs...)
	v.Enum(in.CustomerMasterKeySpec, "customerMasterKeySpec", keySpecs...)
	v.Enum(in.Origin, "origin", origins...)
	if in.Policy != nil {
		validatePolicyText(&v, *in.Policy)
	}
	validateTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return nil, err
	}
	spec := in.KeySpec
	if in.CustomerMasterKeySpec != "" {
		if spec != "" {
			return nil, awsproto.Errorf("ValidationException", "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead.")
		}
		spec = in.CustomerMasterKeySpec
	}
	if spec == "" {
		spec = SpecSymmetricDefault
	}
	usage := in.KeyUsage
	if usage == "" {
		if spec != SpecSymmetricDefault {
			return nil, awsproto.Errorf("ValidationException", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
		}
		usage = UsageEncryptDecrypt
	}
	compatible := false
	for _, u := range usagesOf(spec) {
		compatible = compatible || u == usage
	}
	if !compatible {
		return nil, awsproto.Errorf("ValidationException", "KeyUsage %s is not compatible with KeySpec %s", usage, spec)
	}
	if err := tagErr(in.Tags); err != nil {
		return nil, err
	}
	origin := in.Origin
	if origin == "" {
		origin = OriginAWSKMS
	}
	if in.CustomKeyStoreId != "" {
		return nil, awsproto.Errorf("CustomKeyStoreNotFoundException", "Custom key store %s is not found.", in.CustomKeyStoreId)
	}
	if err := s.authorize(ctx, c, access{action: "kms:CreateKey", extra: func(pc *policy.Context) {
		pc.Set("kms:KeySpec", spec)
		pc.Set("kms:CustomerMasterKeySpec", spec)
		pc.Set("kms:KeyUsage", usage)
		pc.Set("kms:CustomerMasterKeyUsage", usage)
		pc.Set("kms:KeyOrigin", origin)
		pc.SetBool("kms:MultiRegion", in.MultiRegion)
		if in.MultiRegion {
			pc.Set("kms:MultiRegionKeyType", "PRIMARY")
		}
		pc.SetBool("kms:BypassPolicyLockoutSafetyCheck", in.BypassPolicyLockoutSafetyCheck)
		requestTags(in.Tags)(pc)
	}}); err != nil {
		return nil, err
	}
	if !supportedSpec(spec) {
		return nil, awsproto.Errorf("UnsupportedOperationException", "KeySpec %s is not supported in this region.", spec)
	}
	if origin != OriginAWSKMS {
		return nil, awsproto.Errorf("UnsupportedOperationException", "Origin %s is not supported by this server yet.", origin)
	}
	id, err := s.newKeyID(in.MultiRegion)
	if err != nil {
		return nil, s.internal("CreateKey", err)
	}
	doc := DefaultKeyPolicy(c.AccountID)
	if in.Policy != nil {
		if _, err := s.checkPolicyDocument(ctx, c, *in.Policy, keyARN(c.Region, c.AccountID, id), c.AccountID, in.BypassPolicyLockoutSafetyCheck); err != nil {
			return nil, err
		}
		doc = *in.Policy
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	k := store.Key{
		ARN:         keyARN(c.Region, c.AccountID, id),
		AccountID:   c.AccountID,
		Region:      c.Region,
		ID:          id,
		CreatedAt:   now,
		Description: in.Description,
		KeySpec:     spec,
		KeyUsage:    usage,
		Origin:      origin,
		KeyManager:  ManagerCustomer,
		State:       StateEnabled,
		MultiRegion: in.MultiRegion,
		Policy:      doc,
	}
	if in.MultiRegion {
		k.MultiRegionKeyType = "PRIMARY"
		k.PrimaryRegion = c.Region
	}
	m, err := s.newMaterialOf(spec, k.ARN, now)
	if err != nil {
		return nil, s.internal("CreateKey", err)
	}
	k.CurrentMaterialID = m.ID
	err = s.update(ctx, "CreateKey", func(tx store.Tx) error {
		if err := tx.InsertKey(k); err != nil {
			return err
		}
		if err := tx.InsertMaterial(m); err != nil {
			return err
		}
		if len(in.Tags) > 0 {
			return tx.PutTags(k.ARN, storeTags(in.Tags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &KeyMetadataOutput{KeyMetadata: metadataOf(&k)}, nil
}

// newKeyID returns a random key id: a version 4 UUID, or for a multi-Region
// key "mrk-" and 32 hex digits.
func (s *Service) newKeyID(multiRegion bool) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", err
	}
	if multiRegion {
		return "mrk-" + hex.EncodeToString(b[:]), nil
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// newMaterial makes new symmetric key material for key arn, wrapped under
// the root key.
func (s *Service) newMaterial(arn string, now time.Time) (store.Material, error) {
	return s.newMaterialOf(SpecSymmetricDefault, arn, now)
}

// newMaterialOf makes new key material of a key spec (see newKeyMaterial)
// for key arn, wrapped under the root key like symmetric material.
func (s *Service) newMaterialOf(spec, arn string, now time.Time) (store.Material, error) {
	id, err := keyring.NewMaterialID(s.rand)
	if err != nil {
		return store.Material{}, err
	}
	secret, err := s.newKeyMaterial(spec)
	if err != nil {
		return store.Material{}, err
	}
	plain := secret.Bytes()
	wrapped, err := s.root.Wrap(s.rand, plain, wrapAAD(arn, id))
	clear(plain)
	if err != nil {
		return store.Material{}, err
	}
	return store.Material{KeyARN: arn, ID: id, Wrapped: wrapped, CreatedAt: now, State: "CURRENT"}, nil
}

// KeyIDInput is the request of the operations that take only a KeyId.
type KeyIDInput struct {
	KeyId       *string
	GrantTokens []string
}

func validateKeyID(v *awsproto.Validation, field string, id *string) {
	if id == nil {
		v.Required(field)
		return
	}
	v.Length(*id, field, 1, 2048)
}

func validateGrantTokens(v *awsproto.Validation, tokens []string) {
	if len(tokens) > 10 {
		v.Add("", "grantTokens", "Member must have length less than or equal to 10")
	}
	for _, t := range tokens {
		if len(t) < 1 || len(t) > 8192 {
			v.Add("", "grantTokens", "Member must have length less than or equal to 8192")
			break
		}
	}
}

// DescribeKey returns a key's metadata. It works in every key state.
func (s *Service) DescribeKey(ctx context.Context, c *Caller, in *KeyIDInput) (*KeyMetadataOutput, error) {
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
	if err := s.authorize(ctx, c, access{action: "kms:DescribeKey", key: k, alias: aliasNameOf(*in.KeyId)}); err != nil {
		return nil, err
	}
	return &KeyMetadataOutput{KeyMetadata: metadataOf(&k.meta)}, nil
}

// ListInput is the paging part of the List* requests.
type ListInput struct {
	Limit  *int64
	Marker *string
}

func (in *ListInput) validate(v *awsproto.Validation) {
	if in.Limit != nil {
		v.Range(*in.Limit, "limit", 1, 1000)
	}
	if in.Marker != nil {
		v.Length(*in.Marker, "marker", 1, 1024)
		if !validMarker(*in.Marker) {
			v.Pattern(*in.Marker, "marker", `[\u0020-\u00FF]*`)
		}
	}
}

// page returns the limit to use and the position after which to list.
func (in *ListInput) page(def int) (int, string, error) {
	limit := def
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	after := ""
	if in.Marker != nil {
		var err error
		if after, err = decodeMarker(*in.Marker); err != nil {
			return 0, "", err
		}
	}
	return limit, after, nil
}

// KeyListEntry is one key in ListKeys.
type KeyListEntry struct {
	KeyId  string
	KeyArn string
}

// ListKeysOutput is ListKeys' reply.
type ListKeysOutput struct {
	Keys       []KeyListEntry
	NextMarker string `json:",omitempty"`
	Truncated  bool
}

// ListKeys lists the keys of the caller's account in the request's region.
func (s *Service) ListKeys(ctx context.Context, c *Caller, in *ListInput) (*ListKeysOutput, error) {
	var v awsproto.Validation
	in.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	limit, after, err := in.page(1000)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:ListKeys"}); err != nil {
		return nil, err
	}
	var keys []store.Key
	err = s.view(ctx, "ListKeys", func(tx store.Tx) error {
		var err error
		keys, err = tx.ListKeys(c.AccountID, c.Region, after, limit+1)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &ListKeysOutput{Keys: []KeyListEntry{}}
	if len(keys) > limit {
		keys = keys[:limit]
		out.Truncated = true
		out.NextMarker = encodeMarker(keys[len(keys)-1].ARN)
	}
	for _, k := range keys {
		out.Keys = append(out.Keys, KeyListEntry{KeyId: k.ID, KeyArn: k.ARN})
	}
	return out, nil
}

// change applies fn to the stored key named by keyID after authorizing
// action, in one transaction, and forgets the cached copy.
func (s *Service) change(ctx context.Context, c *Caller, op, keyID, action string, u use, extra func(*policy.Context), fn func(tx store.Tx, k *store.Key) error) (store.Key, error) {
	ref, err := s.refOf(ctx, c, keyID, keyOnly)
	if err != nil {
		return store.Key{}, err
	}
	live, err := s.keyByRef(ctx, ref)
	if err != nil {
		return store.Key{}, err
	}
	if err := s.authorize(ctx, c, access{action: action, key: live, extra: extra}); err != nil {
		return store.Key{}, err
	}
	var out store.Key
	err = s.update(ctx, op, func(tx store.Tx) error {
		k, err := tx.GetKey(ref.arn())
		if errors.Is(err, store.ErrNotFound) {
			return errKeyNotFound(ref.arn())
		}
		if err != nil {
			return err
		}
		if err := checkState(&k, u); err != nil {
			return err
		}
		if err := fn(tx, &k); err != nil {
			return err
		}
		out, err = tx.UpdateKey(k)
		return err
	})
	s.keys.invalidateKey(ref)
	return out, err
}

// EmptyOutput is the reply of operations that return nothing.
type EmptyOutput struct{}

// EnableKey sets a key's state to Enabled.
func (s *Service) EnableKey(ctx context.Context, c *Caller, in *KeyIDInput) (*EmptyOutput, error) {
	return s.setEnabled(ctx, c, "EnableKey", in, StateEnabled)
}

// DisableKey sets a key's state to Disabled.
func (s *Service) DisableKey(ctx context.Context, c *Caller, in *KeyIDInput) (*EmptyOutput, error) {
	return s.setEnabled(ctx, c, "DisableKey", in, StateDisabled)
}

func (s *Service) setEnabled(ctx context.Context, c *Caller, op string, in *KeyIDInput, state string) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if err := v.Err(); err != nil {
		return nil, err
	}
	_, err := s.change(ctx, c, op, *in.KeyId, "kms:"+op, useEnableDisable, nil, func(_ store.Tx, k *store.Key) error {
		k.State = state
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// ScheduleKeyDeletionInput is ScheduleKeyDeletion's request.
type ScheduleKeyDeletionInput struct {
	KeyId               *string
	PendingWindowInDays *int64
}

// ScheduleKeyDeletionOutput is ScheduleKeyDeletion's reply.
type ScheduleKeyDeletionOutput struct {
	KeyId               string
	DeletionDate        *awsproto.Time `json:",omitempty"`
	KeyState            string
	PendingWindowInDays int64
}

// ScheduleKeyDeletion puts a key in PendingDeletion; the sweep deletes it
// when the window ends.
func (s *Service) ScheduleKeyDeletion(ctx context.Context, c *Caller, in *ScheduleKeyDeletionInput) (*ScheduleKeyDeletionOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	days := int64(30)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
		v.Range(days, "pendingWindowInDays", 7, 30)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	due := s.now().UTC().Truncate(time.Millisecond).Add(time.Duration(days) * 24 * time.Hour)
	k, err := s.change(ctx, c, "ScheduleKeyDeletion", *in.KeyId, "kms:ScheduleKeyDeletion", useSchedule, func(pc *policy.Context) {
		pc.SetNumber("kms:ScheduleKeyDeletionPendingWindowInDays", days)
	}, func(_ store.Tx, k *store.Key) error {
		k.State = StatePendingDeletion
		k.DeletionDate = due
		k.PendingWindowDays = int(days)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ScheduleKeyDeletionOutput{KeyId: k.ARN, DeletionDate: awsproto.TimePtr(k.DeletionDate), KeyState: k.State, PendingWindowInDays: days}, nil
}

// KeyIDOutput is the reply that names one key by ARN.
type KeyIDOutput struct {
	KeyId string
}

// CancelKeyDeletion takes a key out of PendingDeletion; it comes back
// Disabled, as in AWS.
func (s *Service) CancelKeyDeletion(ctx context.Context, c *Caller, in *KeyIDInput) (*KeyIDOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := s.change(ctx, c, "CancelKeyDeletion", *in.KeyId, "kms:CancelKeyDeletion", useCancel, nil, func(_ store.Tx, k *store.Key) error {
		k.State = StateDisabled
		k.DeletionDate = time.Time{}
		k.PendingWindowDays = 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &KeyIDOutput{KeyId: k.ARN}, nil
}

// UpdateKeyDescriptionInput is UpdateKeyDescription's request.
type UpdateKeyDescriptionInput struct {
	KeyId       *string
	Description *string
}

// UpdateKeyDescription replaces a key's description.
func (s *Service) UpdateKeyDescription(ctx context.Context, c *Caller, in *UpdateKeyDescriptionInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.Description == nil {
		v.Required("description")
	} else {
		v.Length(*in.Description, "description", 0, 8192)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	_, err := s.change(ctx, c, "UpdateKeyDescription", *in.KeyId, "kms:UpdateKeyDescription", useModify, nil, func(_ store.Tx, k *store.Key) error {
		k.Description = *in.Description
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}
