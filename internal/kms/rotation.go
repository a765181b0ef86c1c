package kms

import (
	"context"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

const defaultRotationDays = 365

// rotatable returns AWS's error for a key whose material cannot rotate.
func rotatable(k *store.Key) error {
	if k.KeySpec != SpecSymmetricDefault || k.Origin != OriginAWSKMS || k.MultiRegionKeyType == "REPLICA" {
		return awsproto.Errorf("UnsupportedOperationException", "%s does not support automatic key rotation.", k.ARN)
	}
	return nil
}

// rotationState is the key-state rule of Enable/DisableKeyRotation.
func rotationState(k *store.Key) error {
	if err := rotatable(k); err != nil {
		return err
	}
	if k.State == StateDisabled {
		return awsproto.Errorf("DisabledException", "%s is disabled.", k.ARN)
	}
	return checkState(k, useCrypto)
}

// EnableKeyRotationInput is EnableKeyRotation's request.
type EnableKeyRotationInput struct {
	KeyId                *string
	RotationPeriodInDays *int64
}

// EnableKeyRotation turns on automatic rotation; the sweep rotates the key
// material every RotationPeriodInDays.
func (s *Service) EnableKeyRotation(ctx context.Context, c *Caller, in *EnableKeyRotationInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	days := int64(defaultRotationDays)
	if in.RotationPeriodInDays != nil {
		days = *in.RotationPeriodInDays
		v.Range(days, "rotationPeriodInDays", 90, 2560)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	_, err := s.change(ctx, c, "EnableKeyRotation", *in.KeyId, "kms:EnableKeyRotation", useAny, nil, func(_ store.Tx, k *store.Key) error {
		if err := rotationState(k); err != nil {
			return err
		}
		k.RotationEnabled = true
		k.RotationPeriodDays = int(days)
		k.NextRotation = now.Add(time.Duration(days) * 24 * time.Hour)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// DisableKeyRotation turns off automatic rotation.
func (s *Service) DisableKeyRotation(ctx context.Context, c *Caller, in *KeyIDInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if err := v.Err(); err != nil {
		return nil, err
	}
	_, err := s.change(ctx, c, "DisableKeyRotation", *in.KeyId, "kms:DisableKeyRotation", useAny, nil, func(_ store.Tx, k *store.Key) error {
		if err := rotationState(k); err != nil {
			return err
		}
		k.RotationEnabled = false
		k.RotationPeriodDays = 0
		k.NextRotation = time.Time{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// GetKeyRotationStatusOutput is GetKeyRotationStatus' reply.
type GetKeyRotationStatusOutput struct {
	KeyRotationEnabled   bool
	KeyId                string
	RotationPeriodInDays int            `json:",omitzero"`
	NextRotationDate     *awsproto.Time `json:",omitempty"`
}

// GetKeyRotationStatus reports whether automatic rotation is on.
func (s *Service) GetKeyRotationStatus(ctx context.Context, c *Caller, in *KeyIDInput) (*GetKeyRotationStatusOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:GetKeyRotationStatus", key: k}); err != nil {
		return nil, err
	}
	if err := rotatable(&k.meta); err != nil {
		return nil, err
	}
	out := &GetKeyRotationStatusOutput{KeyRotationEnabled: k.meta.RotationEnabled, KeyId: k.meta.ARN}
	if k.meta.RotationEnabled {
		out.RotationPeriodInDays = k.meta.RotationPeriodDays
		out.NextRotationDate = awsproto.TimePtr(k.meta.NextRotation)
	}
	return out, nil
}
