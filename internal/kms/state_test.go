package kms

import (
	"fmt"
	"testing"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

// TestCheckState is the key-state table of the AWS KMS Developer Guide
// (reference §1.4), state by state and class by class, with the footnote
// errors:
//
//	[1] DisabledException: <arn> is disabled.
//	[3] KMSInvalidStateException: <arn> is pending deletion.
//	[4] KMSInvalidStateException: <arn> is not pending deletion.
//	[5] KMSInvalidStateException: <arn> is pending import.
//	[11] KMSInvalidStateException: <arn> is unavailable.
//	[14] KMSInvalidStateException: <arn> is creating.
//	[15] KMSInvalidStateException: <arn> is updating.
//
// For the cryptographic operations on a key pending deletion the table
// allows [2] (DisabledException) or [3]; AWS answers [3] today.
func TestCheckState(t *testing.T) {
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	type want struct{ code, msg string } // zero: allowed
	var (
		ok            = want{}
		disabled      = want{"DisabledException", arn + " is disabled."}
		pendingDelete = want{"KMSInvalidStateException", arn + " is pending deletion."}
		notPending    = want{"KMSInvalidStateException", arn + " is not pending deletion."}
		pendingImport = want{"KMSInvalidStateException", arn + " is pending import."}
		unavailable   = want{"KMSInvalidStateException", arn + " is unavailable."}
		creating      = want{"KMSInvalidStateException", arn + " is creating."}
		updating      = want{"KMSInvalidStateException", arn + " is updating."}
		states        = []string{StateEnabled, StateDisabled, StatePendingDeletion, StatePendingReplicaDeletion, StatePendingImport, StateUnavailable, StateCreating, StateUpdating}
		useNames      = map[use]string{useCrypto: "crypto", useEnableDisable: "enable/disable", useSchedule: "schedule", useCancel: "cancel", useModify: "modify", useAny: "any"}
		table         = map[use][]want{
			// Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, Sign, Verify, GetPublicKey, Mac.
			useCrypto: {ok, disabled, pendingDelete, pendingDelete, pendingImport, unavailable, creating, ok},
			// EnableKey, DisableKey: Unavailable succeeds ([12]).
			useEnableDisable: {ok, ok, pendingDelete, pendingDelete, pendingImport, ok, creating, updating},
			// ScheduleKeyDeletion.
			useSchedule: {ok, ok, pendingDelete, pendingDelete, ok, ok, ok, updating},
			// CancelKeyDeletion: the PendingDeletion / PendingReplicaDeletion
			// column is ✓.
			useCancel: {notPending, notPending, ok, ok, notPending, notPending, notPending, notPending},
			// CreateAlias, TagResource, UntagResource, UpdateKeyDescription.
			useModify: {ok, ok, pendingDelete, pendingDelete, ok, ok, ok, ok},
			// DescribeKey, Get/PutKeyPolicy, ListResourceTags, DeleteAlias, ...
			useAny: {ok, ok, ok, ok, ok, ok, ok, ok},
		}
	)
	cases := 0
	for u, row := range table {
		for i, st := range states {
			w := row[i]
			cases++
			t.Run(fmt.Sprintf("%s/%s", useNames[u], st), func(t *testing.T) {
				k := &store.Key{ARN: arn, State: st}
				err := checkState(k, u)
				if w == ok {
					if err != nil {
						t.Errorf("checkState(%s, %s) = %v, want nil", st, useNames[u], err)
					}
					return
				}
				e, isAWS := awsproto.As(err)
				if !isAWS {
					t.Fatalf("checkState(%s, %s) = %v, want %s: %s", st, useNames[u], err, w.code, w.msg)
				}
				if e.Code != w.code || e.Message != w.msg || e.Status != 400 {
					t.Errorf("checkState(%s, %s) = %s %d %q\nwant %s 400 %q", st, useNames[u], e.Code, e.Status, e.Message, w.code, w.msg)
				}
			})
		}
	}
	if cases != 6*8 {
		t.Errorf("ran %d cases, want 48", cases)
	}
}

// checkState reads nothing but the state and the ARN, and does not change
// the key.
func TestCheckStateDoesNotModify(t *testing.T) {
	k := store.Key{ARN: "arn:aws:kms:us-east-1:111122223333:key/x", State: StateDisabled, Description: "d"}
	before := k
	for _, u := range []use{useCrypto, useEnableDisable, useSchedule, useCancel, useModify, useAny} {
		checkState(&k, u)
	}
	if k != before {
		t.Errorf("checkState changed the key: %+v, want %+v", k, before)
	}
}
