package kms

import (
	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

// Key states, exactly as AWS spells them; stored in the database, so they
// never change.
const (
	StateEnabled                = "Enabled"
	StateDisabled               = "Disabled"
	StatePendingDeletion        = "PendingDeletion"
	StatePendingImport          = "PendingImport"
	StatePendingReplicaDeletion = "PendingReplicaDeletion"
	StateUnavailable            = "Unavailable"
	StateCreating               = "Creating"
	StateUpdating               = "Updating"
)

// use is a class of operations that share one row of AWS's key-state table.
type use int

const (
	useCrypto        use = iota // Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, Sign, Verify, Mac, GetPublicKey
	useEnableDisable            // EnableKey, DisableKey
	useSchedule                 // ScheduleKeyDeletion
	useCancel                   // CancelKeyDeletion
	useModify                   // CreateAlias, TagResource, UntagResource, UpdateKeyDescription
	useAny                      // DescribeKey, Get/PutKeyPolicy, ListResourceTags, DeleteAlias, ...
)

// checkState returns the error AWS gives when key k's state forbids an
// operation of class u, or nil. It follows the key-state table of the AWS
// KMS Developer Guide.
func checkState(k *store.Key, u use) error {
	st := k.State
	switch u {
	case useAny:
		return nil
	case useCancel:
		if st == StatePendingDeletion || st == StatePendingReplicaDeletion {
			return nil
		}
		return invalidState(k.ARN, "is not pending deletion.")
	case useSchedule:
		switch st {
		case StatePendingDeletion, StatePendingReplicaDeletion:
			return invalidState(k.ARN, "is pending deletion.")
		case StateUpdating:
			return invalidState(k.ARN, "is updating.")
		}
		return nil
	case useModify:
		if st == StatePendingDeletion || st == StatePendingReplicaDeletion {
			return invalidState(k.ARN, "is pending deletion.")
		}
		return nil
	case useEnableDisable:
		switch st {
		case StatePendingDeletion, StatePendingReplicaDeletion:
			return invalidState(k.ARN, "is pending deletion.")
		case StatePendingImport:
			return invalidState(k.ARN, "is pending import.")
		case StateCreating:
			return invalidState(k.ARN, "is creating.")
		case StateUpdating:
			return invalidState(k.ARN, "is updating.")
		}
		return nil
	}
	switch st {
	case StateEnabled, StateUpdating:
		return nil
	case StateDisabled:
		return awsproto.Errorf("DisabledException", "%s is disabled.", k.ARN)
	case StatePendingDeletion, StatePendingReplicaDeletion:
		return invalidState(k.ARN, "is pending deletion.")
	case StatePendingImport:
		return invalidState(k.ARN, "is pending import.")
	case StateUnavailable:
		return invalidState(k.ARN, "is unavailable.")
	case StateCreating:
		return invalidState(k.ARN, "is creating.")
	}
	return invalidState(k.ARN, "is in an invalid state.")
}

func invalidState(arn, what string) error {
	return awsproto.Errorf("KMSInvalidStateException", "%s %s", arn, what)
}
