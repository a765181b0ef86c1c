package kms

import (
	"context"

	"github.com/custoskms/custos/internal/awsproto"
)

// KeyLastUsageData describes a key's last successful cryptographic use.
type KeyLastUsageData struct {
	CloudTrailEventId string         `json:",omitempty"`
	KmsRequestId      string         `json:",omitempty"`
	Operation         string         `json:",omitempty"`
	Timestamp         *awsproto.Time `json:",omitempty"`
}

// GetKeyLastUsageOutput is GetKeyLastUsage's reply.
type GetKeyLastUsageOutput struct {
	KeyCreationDate   awsproto.Time
	KeyId             string
	KeyLastUsage      KeyLastUsageData
	TrackingStartDate awsproto.Time
}

// GetKeyLastUsage answers from the audit trail when the key was last used
// for a successful cryptographic operation.
func (s *Service) GetKeyLastUsage(ctx context.Context, c *Caller, in *KeyIDInput) (*GetKeyLastUsageOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, withAlias)
	if err != nil {
		return nil, err
	}
	if k.meta.AccountID != c.AccountID {
		return nil, awsproto.Errorf("NotFoundException", "Invalid arn %s", k.meta.ARN)
	}
	if err := s.authorize(ctx, c, access{action: "kms:GetKeyLastUsage", key: k}); err != nil {
		return nil, err
	}
	start := s.trackingStart
	if start.IsZero() || k.meta.CreatedAt.After(start) {
		start = k.meta.CreatedAt
	}
	out := &GetKeyLastUsageOutput{
		KeyCreationDate:   awsproto.Time{Time: k.meta.CreatedAt},
		KeyId:             k.meta.ID,
		TrackingStartDate: awsproto.Time{Time: start},
	}
	if s.lastUsage != nil {
		op, t, eventID, reqID, ok, err := s.lastUsage(ctx, k.meta.ARN)
		if err != nil {
			return nil, s.internal("GetKeyLastUsage", err)
		}
		if ok {
			out.KeyLastUsage = KeyLastUsageData{CloudTrailEventId: eventID, KmsRequestId: reqID, Operation: op, Timestamp: awsproto.TimePtr(t)}
		}
	}
	return out, nil
}
