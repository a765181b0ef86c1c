package kms

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

// maxAliasesPerKey is AWS's quota of aliases on one key.
const maxAliasesPerKey = 50

const aliasPattern = `^[a-zA-Z0-9:/_-]+$`

func validAliasChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '/' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validateAliasName checks an AliasName member's constraints into v, and
// returns AWS's error for a name that meets them but breaks a rule on alias
// names. Call it with the other members' checks and return v.Err() first.
func validateAliasName(v *awsproto.Validation, name *string) func() error {
	if name == nil {
		v.Required("aliasName")
		return func() error { return nil }
	}
	v.Length(*name, "aliasName", 1, 256)
	if len(*name) >= 1 && !validAliasChars(*name) {
		v.Pattern(*name, "aliasName", aliasPattern)
	}
	return func() error {
		if !strings.HasPrefix(*name, "alias/") || len(*name) == len("alias/") {
			return awsproto.Errorf("ValidationException", `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
		}
		if strings.HasPrefix(*name, "alias/aws/") {
			return awsproto.Errorf("InvalidAliasNameException", "Alias must not begin with 'alias/aws/'; that prefix is reserved for AWS managed keys.")
		}
		return nil
	}
}

// AliasInput is the request of CreateAlias and UpdateAlias.
type AliasInput struct {
	AliasName   *string
	TargetKeyId *string
}

// validate checks the members of an AliasInput and AWS's alias-name rules.
func (in *AliasInput) validate() error {
	var v awsproto.Validation
	rules := validateAliasName(&v, in.AliasName)
	validateKeyID(&v, "targetKeyId", in.TargetKeyId)
	if err := v.Err(); err != nil {
		return err
	}
	return rules()
}

// aliasTargetKey resolves and checks the key an alias is to point to.
func (s *Service) aliasTargetKey(ctx context.Context, c *Caller, keyID, action string) (*liveKey, error) {
	ref, err := s.refOf(ctx, c, keyID, keyOnly)
	if err != nil {
		return nil, err
	}
	if ref.account != c.AccountID {
		return nil, awsproto.Errorf("NotFoundException", "Invalid arn %s", keyID)
	}
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: action, key: k}); err != nil {
		return nil, err
	}
	return k, nil
}

// CreateAlias makes an alias name for a key.
func (s *Service) CreateAlias(ctx context.Context, c *Caller, in *AliasInput) (*EmptyOutput, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	name := *in.AliasName
	if err := s.authorize(ctx, c, access{action: "kms:CreateAlias", resource: aliasARN(c.Region, c.AccountID, name)}); err != nil {
		return nil, err
	}
	k, err := s.aliasTargetKey(ctx, c, *in.TargetKeyId, "kms:CreateAlias")
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	defer s.keys.invalidateKey(keyRef{c.AccountID, c.Region, k.meta.ID})
	err = s.update(ctx, "CreateAlias", func(tx store.Tx) error {
		key, err := tx.GetKey(k.meta.ARN)
		if errors.Is(err, store.ErrNotFound) {
			return errKeyNotFound(k.meta.ARN)
		}
		if err != nil {
			return err
		}
		if err := checkState(&key, useModify); err != nil {
			return err
		}
		n, err := tx.CountAliases(c.AccountID, c.Region, key.ID)
		if err != nil {
			return err
		}
		if n >= maxAliasesPerKey {
			return awsproto.Errorf("LimitExceededException", "The number of aliases for key %s would exceed the limit of %d.", key.ARN, maxAliasesPerKey)
		}
		err = tx.InsertAlias(store.Alias{AccountID: c.AccountID, Region: c.Region, Name: name, TargetKeyID: key.ID, CreatedAt: now, UpdatedAt: now})
		if errors.Is(err, store.ErrExists) {
			return awsproto.Errorf("AlreadyExistsException", "An alias with the name %s already exists", aliasARN(c.Region, c.AccountID, name))
		}
		return err
	})
	s.keys.invalidateAliases()
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// UpdateAlias points an existing alias at another key of the same type.
func (s *Service) UpdateAlias(ctx context.Context, c *Caller, in *AliasInput) (*EmptyOutput, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	name := *in.AliasName
	if err := s.authorize(ctx, c, access{action: "kms:UpdateAlias", resource: aliasARN(c.Region, c.AccountID, name)}); err != nil {
		return nil, err
	}
	aref := keyRef{c.AccountID, c.Region, name}
	oldRef, err := s.aliasTarget(ctx, aref)
	if err != nil {
		return nil, err
	}
	old, err := s.keyByRef(ctx, oldRef)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:UpdateAlias", key: old}); err != nil {
		return nil, err
	}
	k, err := s.aliasTargetKey(ctx, c, *in.TargetKeyId, "kms:UpdateAlias")
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	defer s.keys.invalidateKey(oldRef)
	defer s.keys.invalidateKey(keyRef{c.AccountID, c.Region, k.meta.ID})
	err = s.update(ctx, "UpdateAlias", func(tx store.Tx) error {
		a, err := tx.GetAlias(c.AccountID, c.Region, name)
		if errors.Is(err, store.ErrNotFound) {
			return errAliasNotFound(aliasARN(c.Region, c.AccountID, name))
		}
		if err != nil {
			return err
		}
		key, err := tx.GetKey(k.meta.ARN)
		if errors.Is(err, store.ErrNotFound) {
			return errKeyNotFound(k.meta.ARN)
		}
		if err != nil {
			return err
		}
		if err := checkState(&key, useModify); err != nil {
			return err
		}
		if key.KeySpec != old.meta.KeySpec || key.KeyUsage != old.meta.KeyUsage {
			return awsproto.Errorf("ValidationException", "Alias %s can only be updated to a key of the same key spec and key usage.", aliasARN(c.Region, c.AccountID, name))
		}
		if a.TargetKeyID != key.ID {
			n, err := tx.CountAliases(c.AccountID, c.Region, key.ID)
			if err != nil {
				return err
			}
			if n >= maxAliasesPerKey {
				return awsproto.Errorf("LimitExceededException", "The number of aliases for key %s would exceed the limit of %d.", key.ARN, maxAliasesPerKey)
			}
		}
		a.TargetKeyID = key.ID
		a.UpdatedAt = now
		return tx.UpdateAlias(a)
	})
	s.keys.invalidateAliases()
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// DeleteAliasInput is DeleteAlias' request.
type DeleteAliasInput struct {
	AliasName *string
}

// DeleteAlias removes an alias; its key is unaffected.
func (s *Service) DeleteAlias(ctx context.Context, c *Caller, in *DeleteAliasInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	rules := validateAliasName(&v, in.AliasName)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := rules(); err != nil {
		return nil, err
	}
	name := *in.AliasName
	if err := s.authorize(ctx, c, access{action: "kms:DeleteAlias", resource: aliasARN(c.Region, c.AccountID, name)}); err != nil {
		return nil, err
	}
	ref, err := s.aliasTarget(ctx, keyRef{c.AccountID, c.Region, name})
	if err != nil {
		return nil, err
	}
	defer s.keys.invalidateKey(ref)
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:DeleteAlias", key: k}); err != nil {
		return nil, err
	}
	err = s.update(ctx, "DeleteAlias", func(tx store.Tx) error {
		err := tx.DeleteAlias(c.AccountID, c.Region, name)
		if errors.Is(err, store.ErrNotFound) {
			return errAliasNotFound(aliasARN(c.Region, c.AccountID, name))
		}
		return err
	})
	s.keys.invalidateAliases()
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// ListAliasesInput is ListAliases' request.
type ListAliasesInput struct {
	KeyId *string
	ListInput
}

// AliasListEntry is one alias in ListAliases.
type AliasListEntry struct {
	AliasName       string
	AliasArn        string
	TargetKeyId     string         `json:",omitempty"`
	CreationDate    *awsproto.Time `json:",omitempty"`
	LastUpdatedDate *awsproto.Time `json:",omitempty"`
}

// ListAliasesOutput is ListAliases' reply.
type ListAliasesOutput struct {
	Aliases    []AliasListEntry
	NextMarker string `json:",omitempty"`
	Truncated  bool
}

// ListAliases lists the aliases of the caller's account and region, or of
// one key.
func (s *Service) ListAliases(ctx context.Context, c *Caller, in *ListAliasesInput) (*ListAliasesOutput, error) {
	var v awsproto.Validation
	if in.KeyId != nil {
		v.Length(*in.KeyId, "keyId", 1, 2048)
	}
	in.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	limit, after, err := in.page(50)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:ListAliases"}); err != nil {
		return nil, err
	}
	target := ""
	if in.KeyId != nil {
		ref, err := s.refOf(ctx, c, *in.KeyId, keyOnly)
		if err != nil {
			return nil, err
		}
		if _, err := s.keyByRef(ctx, ref); err != nil {
			return nil, err
		}
		target = ref.id
	}
	var aliases []store.Alias
	err = s.view(ctx, "ListAliases", func(tx store.Tx) error {
		var err error
		aliases, err = tx.ListAliases(c.AccountID, c.Region, target, after, limit+1)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &ListAliasesOutput{Aliases: []AliasListEntry{}}
	if len(aliases) > limit {
		aliases = aliases[:limit]
		out.Truncated = true
		out.NextMarker = encodeMarker(aliases[len(aliases)-1].Name)
	}
	for _, a := range aliases {
		out.Aliases = append(out.Aliases, AliasListEntry{
			AliasName:       a.Name,
			AliasArn:        aliasARN(a.Region, a.AccountID, a.Name),
			TargetKeyId:     a.TargetKeyID,
			CreationDate:    awsproto.TimePtr(a.CreatedAt),
			LastUpdatedDate: awsproto.TimePtr(a.UpdatedAt),
		})
	}
	return out, nil
}
