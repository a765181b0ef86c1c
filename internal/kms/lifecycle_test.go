package kms

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
)

const day = 24 * time.Hour

// TestKeyLifecycle walks one key through AWS's state machine: Enabled,
// Disabled, PendingDeletion, back to Disabled, and deleted by the sweep.
func TestKeyLifecycle(t *testing.T) {
	s, clk := newTestService(t)
	ctx := context.Background()
	c := testCaller
	key := createKey(t, s)
	id, arn := key.KeyId, key.Arn
	if key.KeyState != StateEnabled || !key.Enabled {
		t.Fatalf("CreateKey state = %s (Enabled %v), want Enabled", key.KeyState, key.Enabled)
	}
	createAlias(t, s, "alias/doomed", id)
	survivor := createKey(t, s)
	createAlias(t, s, "alias/survivor", survivor.KeyId)
	oldCT := encrypt(t, s, id, []byte("keep me"), map[string]string{"app": "test"})

	// Disabled: crypto fails, management works.
	if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	if m := describe(t, s, id); m.KeyState != StateDisabled || m.Enabled {
		t.Errorf("after DisableKey: KeyState %s Enabled %v, want Disabled false", m.KeyState, m.Enabled)
	}
	_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte("x")})
	wantErr(t, "Encrypt on disabled key", err, "DisabledException", arn+" is disabled.")
	_, err = s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: oldCT, EncryptionContext: map[string]string{"app": "test"}})
	wantErr(t, "Decrypt on disabled key", err, "DisabledException", arn+" is disabled.")
	_, err = s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr("alias/doomed"), KeySpec: "AES_256"})
	wantErr(t, "GenerateDataKey on disabled key", err, "DisabledException", arn+" is disabled.")
	if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
		t.Errorf("DisableKey on disabled key: %v, want success", err)
	}
	if _, err := s.UpdateKeyDescription(ctx, c, &UpdateKeyDescriptionInput{KeyId: ptr(id), Description: ptr("new")}); err != nil {
		t.Errorf("UpdateKeyDescription on disabled key: %v", err)
	}

	// Enabled again.
	if _, err := s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr(arn)}); err != nil {
		t.Fatalf("EnableKey: %v", err)
	}
	encrypt(t, s, id, []byte("x"), nil)

	// PendingDeletion.
	start := clk.Now()
	sched, err := s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{KeyId: ptr(id), PendingWindowInDays: ptr(int64(7))})
	if err != nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	wantDeletion := start.Add(7 * day)
	if sched.KeyId != arn || sched.KeyState != StatePendingDeletion || sched.PendingWindowInDays != 7 ||
		sched.DeletionDate == nil || !sched.DeletionDate.Equal(wantDeletion) {
		t.Errorf("ScheduleKeyDeletion = %+v (DeletionDate %v), want %s PendingDeletion 7 %v", sched, sched.DeletionDate, arn, wantDeletion)
	}
	m := describe(t, s, id)
	if m.KeyState != StatePendingDeletion || m.Enabled || m.DeletionDate == nil || !m.DeletionDate.Equal(wantDeletion) || m.PendingDeletionWindowInDays != 7 {
		t.Errorf("DescribeKey while pending deletion = %s Enabled %v DeletionDate %v window %d", m.KeyState, m.Enabled, m.DeletionDate, m.PendingDeletionWindowInDays)
	}
	_, err = s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte("x")})
	wantErr(t, "Encrypt on key pending deletion", err, "KMSInvalidStateException", arn+" is pending deletion.")
	_, err = s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: oldCT, EncryptionContext: map[string]string{"app": "test"}})
	wantErr(t, "Decrypt on key pending deletion", err, "KMSInvalidStateException", arn+" is pending deletion.")
	_, err = s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	wantErr(t, "EnableKey on key pending deletion", err, "KMSInvalidStateException", arn+" is pending deletion.")
	_, err = s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	wantErr(t, "DisableKey on key pending deletion", err, "KMSInvalidStateException", arn+" is pending deletion.")
	_, err = s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{KeyId: ptr(id)})
	wantErr(t, "ScheduleKeyDeletion twice", err, "KMSInvalidStateException", arn+" is pending deletion.")
	_, err = s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(id), Tags: []Tag{{"a", "b"}}})
	wantErr(t, "TagResource on key pending deletion", err, "KMSInvalidStateException", arn+" is pending deletion.")
	_, err = s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/late"), TargetKeyId: ptr(id)})
	wantErr(t, "CreateAlias on key pending deletion", err, "KMSInvalidStateException", arn+" is pending deletion.")
	if _, err := s.GetKeyPolicy(ctx, c, &KeyPolicyInput{KeyId: ptr(id)}); err != nil {
		t.Errorf("GetKeyPolicy on key pending deletion: %v, want success", err)
	}

	// Cancel: back to Disabled, without a deletion date.
	cancel, err := s.CancelKeyDeletion(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	if err != nil {
		t.Fatalf("CancelKeyDeletion: %v", err)
	}
	if cancel.KeyId != arn {
		t.Errorf("CancelKeyDeletion.KeyId = %q, want %q", cancel.KeyId, arn)
	}
	m = describe(t, s, id)
	if m.KeyState != StateDisabled || m.Enabled || m.DeletionDate != nil || m.PendingDeletionWindowInDays != 0 {
		t.Errorf("after CancelKeyDeletion: %s Enabled %v DeletionDate %v window %d; want Disabled false nil 0",
			m.KeyState, m.Enabled, m.DeletionDate, m.PendingDeletionWindowInDays)
	}
	_, err = s.CancelKeyDeletion(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	wantErr(t, "CancelKeyDeletion twice", err, "KMSInvalidStateException", arn+" is not pending deletion.")

	// Schedule again (default window is 30 days, ask for 7) and let it run out.
	start = clk.Now()
	if _, err := s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{KeyId: ptr(id), PendingWindowInDays: ptr(int64(7))}); err != nil {
		t.Fatalf("ScheduleKeyDeletion again: %v", err)
	}
	clk.Advance(7*day - time.Second)
	if deleted, rotated, err := s.Sweep(ctx); err != nil || deleted != 0 || rotated != 0 {
		t.Fatalf("Sweep 1 s before the end = %d, %d, %v; want 0, 0, nil", deleted, rotated, err)
	}
	describe(t, s, id)
	clk.Advance(2 * time.Second)
	if deleted, rotated, err := s.Sweep(ctx); err != nil || deleted != 1 || rotated != 0 {
		t.Fatalf("Sweep after the window = %d, %d, %v; want 1, 0, nil", deleted, rotated, err)
	}
	if deleted, _, err := s.Sweep(ctx); err != nil || deleted != 0 {
		t.Errorf("second Sweep = %d, %v; want 0, nil", deleted, err)
	}

	notExist := "Key '" + arn + "' does not exist"
	_, err = s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	wantErr(t, "DescribeKey of deleted key", err, "NotFoundException", notExist)
	_, err = s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr("alias/doomed")})
	wantErr(t, "DescribeKey of deleted key's alias", err, "NotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/doomed is not found.")
	_, err = s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: oldCT, EncryptionContext: map[string]string{"app": "test"}})
	wantErr(t, "Decrypt under deleted key", err, "NotFoundException", notExist)
	_, err = s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	wantErr(t, "EnableKey of deleted key", err, "NotFoundException", notExist)
	_, err = s.CancelKeyDeletion(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	wantErr(t, "CancelKeyDeletion of deleted key", err, "NotFoundException", notExist)
	aliases, err := s.ListAliases(ctx, c, &ListAliasesInput{})
	if err != nil {
		t.Fatalf("ListAliases: %v", err)
	}
	var names []string
	for _, a := range aliases.Aliases {
		names = append(names, a.AliasName)
	}
	if len(names) != 1 || names[0] != "alias/survivor" {
		t.Errorf("ListAliases after deletion = %v, want [alias/survivor]", names)
	}
	keys, err := s.ListKeys(ctx, c, &ListInput{})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if len(keys.Keys) != 1 || keys.Keys[0].KeyId != survivor.KeyId {
		t.Errorf("ListKeys after deletion = %+v, want only %s", keys.Keys, survivor.KeyId)
	}
	// Other keys are untouched.
	encrypt(t, s, "alias/survivor", []byte("x"), nil)
}

// The default waiting period is 30 days.
func TestScheduleKeyDeletionDefaultWindow(t *testing.T) {
	s, clk := newTestService(t)
	key := createKey(t, s)
	out, err := s.ScheduleKeyDeletion(context.Background(), testCaller, &ScheduleKeyDeletionInput{KeyId: ptr(key.KeyId)})
	if err != nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	if want := clk.Now().Add(30 * day); out.PendingWindowInDays != 30 || out.DeletionDate == nil || !out.DeletionDate.Equal(want) {
		t.Errorf("ScheduleKeyDeletion = window %d date %v, want 30 %v", out.PendingWindowInDays, out.DeletionDate, want)
	}
	clk.Advance(29 * day)
	if deleted, _, err := s.Sweep(context.Background()); err != nil || deleted != 0 {
		t.Errorf("Sweep after 29 days = %d, %v; want 0", deleted, err)
	}
}

// TestRotation: automatic rotation makes new material for new ciphertexts
// and keeps the old material for old ones.
func TestRotation(t *testing.T) {
	s, clk := newTestService(t)
	ctx := context.Background()
	c := testCaller
	key := createKey(t, s)
	id, arn := key.KeyId, key.Arn

	st, err := s.GetKeyRotationStatus(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	if err != nil {
		t.Fatalf("GetKeyRotationStatus: %v", err)
	}
	if st.KeyRotationEnabled || st.KeyId != arn || st.NextRotationDate != nil || st.RotationPeriodInDays != 0 {
		t.Errorf("GetKeyRotationStatus of a new key = %+v, want disabled", st)
	}
	oldCT := encrypt(t, s, id, []byte("old"), nil)
	oldDec, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: oldCT})
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if oldDec.KeyMaterialId != key.CurrentKeyMaterialId || len(oldDec.KeyMaterialId) != 64 {
		t.Errorf("Decrypt KeyMaterialId = %q, want CreateKey's CurrentKeyMaterialId %q", oldDec.KeyMaterialId, key.CurrentKeyMaterialId)
	}

	enabledAt := clk.Now()
	if _, err := s.EnableKeyRotation(ctx, c, &EnableKeyRotationInput{KeyId: ptr(id), RotationPeriodInDays: ptr(int64(90))}); err != nil {
		t.Fatalf("EnableKeyRotation: %v", err)
	}
	st, err = s.GetKeyRotationStatus(ctx, c, &KeyIDInput{KeyId: ptr(arn)})
	if err != nil {
		t.Fatalf("GetKeyRotationStatus: %v", err)
	}
	if want := enabledAt.Add(90 * day); !st.KeyRotationEnabled || st.RotationPeriodInDays != 90 || st.NextRotationDate == nil || !st.NextRotationDate.Equal(want) {
		t.Errorf("GetKeyRotationStatus = %+v (next %v), want true 90 %v", st, st.NextRotationDate, want)
	}

	clk.Advance(89 * day)
	if _, rotated, err := s.Sweep(ctx); err != nil || rotated != 0 {
		t.Fatalf("Sweep after 89 days: rotated %d, %v; want 0", rotated, err)
	}
	clk.Advance(2 * day)
	sweptAt := clk.Now()
	if _, rotated, err := s.Sweep(ctx); err != nil || rotated != 1 {
		t.Fatalf("Sweep after 91 days: rotated %d, %v; want 1", rotated, err)
	}
	if _, rotated, err := s.Sweep(ctx); err != nil || rotated != 0 {
		t.Errorf("second Sweep: rotated %d, %v; want 0", rotated, err)
	}

	newCT := encrypt(t, s, id, []byte("new"), nil)
	newDec, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: newCT})
	if err != nil {
		t.Fatalf("Decrypt new: %v", err)
	}
	if newDec.KeyMaterialId == oldDec.KeyMaterialId {
		t.Errorf("KeyMaterialId after rotation = %q, the same as before", newDec.KeyMaterialId)
	}
	if m := describe(t, s, id); m.CurrentKeyMaterialId != newDec.KeyMaterialId {
		t.Errorf("DescribeKey CurrentKeyMaterialId = %q, want %q", m.CurrentKeyMaterialId, newDec.KeyMaterialId)
	}
	again, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: oldCT})
	if err != nil {
		t.Fatalf("Decrypt of a ciphertext made before rotation: %v", err)
	}
	if string(again.Plaintext) != "old" || again.KeyMaterialId != oldDec.KeyMaterialId {
		t.Errorf("Decrypt old = %q %q, want \"old\" %q", again.Plaintext, again.KeyMaterialId, oldDec.KeyMaterialId)
	}
	gdk, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), KeySpec: "AES_128"})
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	if gdk.KeyMaterialId != newDec.KeyMaterialId || len(gdk.Plaintext) != 16 {
		t.Errorf("GenerateDataKey = material %q, %d bytes; want %q, 16", gdk.KeyMaterialId, len(gdk.Plaintext), newDec.KeyMaterialId)
	}
	st, err = s.GetKeyRotationStatus(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	if err != nil {
		t.Fatalf("GetKeyRotationStatus: %v", err)
	}
	if want := sweptAt.Add(90 * day); st.NextRotationDate == nil || !st.NextRotationDate.Equal(want) {
		t.Errorf("NextRotationDate after rotation = %v, want %v", st.NextRotationDate, want)
	}

	// A disabled key is not rotated, and its rotation cannot be changed.
	if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	_, err = s.DisableKeyRotation(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	wantErr(t, "DisableKeyRotation on disabled key", err, "DisabledException", arn+" is disabled.")
	clk.Advance(100 * day)
	if _, rotated, err := s.Sweep(ctx); err != nil || rotated != 0 {
		t.Errorf("Sweep of a disabled key: rotated %d, %v; want 0", rotated, err)
	}
	if _, err := s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
		t.Fatalf("EnableKey: %v", err)
	}
	if _, err := s.DisableKeyRotation(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
		t.Fatalf("DisableKeyRotation: %v", err)
	}
	st, err = s.GetKeyRotationStatus(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	if err != nil || st.KeyRotationEnabled || st.NextRotationDate != nil {
		t.Errorf("GetKeyRotationStatus after DisableKeyRotation = %+v, %v; want disabled", st, err)
	}
	if _, rotated, err := s.Sweep(ctx); err != nil || rotated != 0 {
		t.Errorf("Sweep with rotation off: rotated %d, %v; want 0", rotated, err)
	}
	// Default period.
	if _, err := s.EnableKeyRotation(ctx, c, &EnableKeyRotationInput{KeyId: ptr(id)}); err != nil {
		t.Fatalf("EnableKeyRotation: %v", err)
	}
	st, err = s.GetKeyRotationStatus(ctx, c, &KeyIDInput{KeyId: ptr(id)})
	if err != nil || st.RotationPeriodInDays != 365 {
		t.Errorf("default RotationPeriodInDays = %d, %v; want 365", st.RotationPeriodInDays, err)
	}
}

func TestEncryptionContext(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	key := createKey(t, s)
	ec := map[string]string{"ab": "c"}
	ct := encrypt(t, s, key.KeyId, []byte("secret"), ec)

	tests := []struct {
		name string
		ec   map[string]string
		ok   bool
	}{
		{"same", map[string]string{"ab": "c"}, true},
		{"boundary moved", map[string]string{"a": "bc"}, false},
		{"missing", nil, false},
		{"empty", map[string]string{}, false},
		{"extra pair", map[string]string{"ab": "c", "d": "e"}, false},
		{"case differs", map[string]string{"AB": "c"}, false},
		{"value differs", map[string]string{"ab": "C"}, false},
	}
	for _, tt := range tests {
		out, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, EncryptionContext: tt.ec})
		if tt.ok {
			if err != nil || string(out.Plaintext) != "secret" || out.KeyId != key.Arn {
				t.Errorf("Decrypt(%s, %v) = %v, %v; want the plaintext", tt.name, tt.ec, out, err)
			}
			continue
		}
		wantErr(t, fmt.Sprintf("Decrypt(%s, %v)", tt.name, tt.ec), err, "InvalidCiphertextException", "")
	}

	// Order-insensitive: maps built in different orders, many pairs.
	a, b := map[string]string{}, map[string]string{}
	for i := range 20 {
		a[fmt.Sprintf("k%02d", i)] = fmt.Sprint(i)
		b[fmt.Sprintf("k%02d", 19-i)] = fmt.Sprint(19 - i)
	}
	ct = encrypt(t, s, key.KeyId, []byte("many"), a)
	for range 5 {
		if out, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, EncryptionContext: b}); err != nil || string(out.Plaintext) != "many" {
			t.Fatalf("Decrypt with equal context = %v, %v", out, err)
		}
	}
	// An empty context and no context are the same.
	ct = encrypt(t, s, key.KeyId, []byte("none"), map[string]string{})
	if _, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct}); err != nil {
		t.Errorf("Decrypt with nil context of a blob sealed with {}: %v", err)
	}
}

func TestDecryptKeyID(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k1, k2 := createKey(t, s), createKey(t, s)
	createAlias(t, s, "alias/one", k1.KeyId)
	createAlias(t, s, "alias/two", k2.KeyId)
	ct := encrypt(t, s, k1.KeyId, []byte("data"), nil)

	for _, id := range []string{k1.KeyId, k1.Arn, "alias/one", "arn:aws:kms:us-east-1:111122223333:alias/one"} {
		if out, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, KeyId: ptr(id)}); err != nil || string(out.Plaintext) != "data" {
			t.Errorf("Decrypt(KeyId %s) = %v, %v; want the plaintext", id, out, err)
		}
	}
	incorrect := "The key ID in the request does not identify a CMK that can perform this operation."
	for _, id := range []string{k2.KeyId, k2.Arn, "alias/two"} {
		_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, KeyId: ptr(id)})
		wantErr(t, "Decrypt(KeyId "+id+")", err, "IncorrectKeyException", incorrect)
	}
	_, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: ct, SourceKeyId: ptr(k2.KeyId), DestinationKeyId: ptr(k2.KeyId)})
	wantErr(t, "ReEncrypt(SourceKeyId of another key)", err, "IncorrectKeyException", incorrect)
}

func TestReEncrypt(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k1, k2 := createKey(t, s), createKey(t, s)
	srcEC := map[string]string{"from": "one"}
	dstEC := map[string]string{"to": "two"}
	ct := encrypt(t, s, k1.KeyId, []byte("moving"), srcEC)

	out, err := s.ReEncrypt(ctx, c, &ReEncryptInput{
		CiphertextBlob: ct, SourceEncryptionContext: srcEC, SourceKeyId: ptr(k1.Arn),
		DestinationKeyId: ptr(k2.KeyId), DestinationEncryptionContext: dstEC,
	})
	if err != nil {
		t.Fatalf("ReEncrypt: %v", err)
	}
	if out.SourceKeyId != k1.Arn || out.KeyId != k2.Arn || out.SourceKeyMaterialId != k1.CurrentKeyMaterialId ||
		out.DestinationKeyMaterialId != k2.CurrentKeyMaterialId || out.SourceEncryptionAlgorithm != "SYMMETRIC_DEFAULT" ||
		out.DestinationEncryptionAlgorithm != "SYMMETRIC_DEFAULT" {
		t.Errorf("ReEncrypt = %+v", out)
	}
	if bytes.Equal(out.CiphertextBlob, ct) {
		t.Error("ReEncrypt returned the source ciphertext")
	}
	dec, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: dstEC})
	if err != nil || string(dec.Plaintext) != "moving" || dec.KeyId != k2.Arn {
		t.Errorf("Decrypt of re-encrypted blob = %+v, %v", dec, err)
	}
	_, err = s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: srcEC})
	wantErr(t, "Decrypt of re-encrypted blob with the source context", err, "InvalidCiphertextException", "")
	_, err = s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: ct, DestinationKeyId: ptr(k2.KeyId)})
	wantErr(t, "ReEncrypt without the source context", err, "InvalidCiphertextException", "")

	// The destination must be usable.
	if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(k2.KeyId)}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	_, err = s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: ct, SourceEncryptionContext: srcEC, DestinationKeyId: ptr(k2.KeyId)})
	wantErr(t, "ReEncrypt to a disabled key", err, "DisabledException", k2.Arn+" is disabled.")
}

func TestDryRun(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	key := createKey(t, s)
	id := key.KeyId
	ct := encrypt(t, s, id, []byte("x"), nil)
	const msg = "The request would have succeeded, but the DryRun option is set."
	calls := map[string]func() error{
		"Encrypt": func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte("x"), DryRun: true})
			return err
		},
		"Decrypt": func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, DryRun: true})
			return err
		},
		"Decrypt IGNORE_CIPHERTEXT": func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, DryRun: true, DryRunModifiers: []string{"IGNORE_CIPHERTEXT"}})
			return err
		},
		"GenerateDataKey": func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), NumberOfBytes: ptr(int64(32)), DryRun: true})
			return err
		},
		"GenerateDataKeyWithoutPlaintext": func() error {
			_, err := s.GenerateDataKeyWithoutPlaintext(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), KeySpec: "AES_256", DryRun: true})
			return err
		},
		"ReEncrypt": func() error {
			_, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: ct, DestinationKeyId: ptr(id), DryRun: true})
			return err
		},
	}
	for name, call := range calls {
		wantErr(t, name+" DryRun", call(), "DryRunOperationException", msg)
	}
	// A dry run that would fail reports the failure.
	_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, EncryptionContext: map[string]string{"a": "b"}, DryRun: true})
	wantErr(t, "Decrypt DryRun with the wrong context", err, "InvalidCiphertextException", "")
	if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	for name, call := range calls {
		wantErr(t, name+" DryRun on disabled key", call(), "DisabledException", key.Arn+" is disabled.")
	}
}

// TestNoStaleCache: every change is seen by the very next request, through
// key ids and aliases alike.
func TestNoStaleCache(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k1, k2 := createKey(t, s), createKey(t, s)
	createAlias(t, s, "alias/app", k1.KeyId)
	for range 3 { // warm every cache
		encrypt(t, s, k1.KeyId, []byte("x"), nil)
		encrypt(t, s, "alias/app", []byte("x"), nil)
	}
	if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(k1.KeyId)}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(k1.KeyId), Plaintext: []byte("x")})
	wantErr(t, "Encrypt right after DisableKey", err, "DisabledException", k1.Arn+" is disabled.")
	_, err = s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr("alias/app"), Plaintext: []byte("x")})
	wantErr(t, "Encrypt via alias right after DisableKey", err, "DisabledException", k1.Arn+" is disabled.")
	if _, err := s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr(k1.KeyId)}); err != nil {
		t.Fatalf("EnableKey: %v", err)
	}
	encrypt(t, s, k1.KeyId, []byte("x"), nil)

	// Re-pointing an alias.
	if _, err := s.UpdateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/app"), TargetKeyId: ptr(k2.KeyId)}); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	out, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr("alias/app"), Plaintext: []byte("x")})
	if err != nil || out.KeyId != k2.Arn {
		t.Errorf("Encrypt via alias right after UpdateAlias = %v, %v; want key %s", out, err, k2.Arn)
	}
	// Deleting it.
	if _, err := s.DeleteAlias(ctx, c, &DeleteAliasInput{AliasName: ptr("alias/app")}); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	_, err = s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr("alias/app"), Plaintext: []byte("x")})
	wantErr(t, "Encrypt via alias right after DeleteAlias", err, "NotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/app is not found.")
	// Scheduling deletion.
	if _, err := s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{KeyId: ptr(k2.KeyId), PendingWindowInDays: ptr(int64(7))}); err != nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	_, err = s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(k2.KeyId), KeySpec: "AES_256"})
	wantErr(t, "GenerateDataKey right after ScheduleKeyDeletion", err, "KMSInvalidStateException", k2.Arn+" is pending deletion.")
	// A new description.
	if _, err := s.UpdateKeyDescription(ctx, c, &UpdateKeyDescriptionInput{KeyId: ptr(k1.KeyId), Description: ptr("changed")}); err != nil {
		t.Fatalf("UpdateKeyDescription: %v", err)
	}
	if m := describe(t, s, k1.KeyId); m.Description != "changed" {
		t.Errorf("DescribeKey right after UpdateKeyDescription: Description %q, want \"changed\"", m.Description)
	}
}

// TestConcurrentDisableEnable runs crypto operations while another goroutine
// flips the key between Enabled and Disabled. Run it under -race. Every
// result must be a success or DisabledException.
func TestConcurrentDisableEnable(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	key := createKey(t, s)
	id := key.KeyId
	seed := encrypt(t, s, id, []byte("seed"), map[string]string{"k": "v"})
	disabledMsg := key.Arn + " is disabled."

	const workers, iterations, flips = 16, 40, 20
	var (
		wg                    sync.WaitGroup
		mu                    sync.Mutex
		successes, disabledOK int
	)
	done := make(chan struct{})
	check := func(op string, err error) {
		if err == nil {
			mu.Lock()
			successes++
			mu.Unlock()
			return
		}
		e, ok := awsproto.As(err)
		if !ok || e.Code != "DisabledException" || e.Message != disabledMsg {
			t.Errorf("%s during flips = %v, want success or DisabledException", op, err)
			return
		}
		mu.Lock()
		disabledOK++
		mu.Unlock()
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pt := []byte(fmt.Sprintf("worker %d", w))
			for range iterations {
				out, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: pt})
				check("Encrypt", err)
				if err == nil {
					dec, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: out.CiphertextBlob})
					check("Decrypt", err)
					if err == nil && !bytes.Equal(dec.Plaintext, pt) {
						t.Errorf("Decrypt = %q, want %q", dec.Plaintext, pt)
					}
				}
				_, err = s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: seed, EncryptionContext: map[string]string{"k": "v"}})
				check("Decrypt seed", err)
			}
		}()
	}
	go func() {
		defer close(done)
		for range flips {
			if _, err := s.DisableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
				t.Errorf("DisableKey: %v", err)
			}
			if _, err := s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr(id)}); err != nil {
				t.Errorf("EnableKey: %v", err)
			}
		}
	}()
	wg.Wait()
	<-done
	t.Logf("%d successes, %d DisabledException", successes, disabledOK)
	// Settled: the key is Enabled and everything works.
	encrypt(t, s, id, []byte("after"), nil)
	if m := describe(t, s, id); m.KeyState != StateEnabled {
		t.Errorf("final state = %s, want Enabled", m.KeyState)
	}
}

// TestDryRunIgnoreCiphertext: with DryRun and DryRunModifiers
// [IGNORE_CIPHERTEXT], KMS checks authorization only, on the key named by
// KeyId (SourceKeyId for ReEncrypt); CiphertextBlob is then optional and not
// validated (AWS SDK model docs of Decrypt and ReEncrypt).
func TestDryRunIgnoreCiphertext(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	key := createKey(t, s)
	const msg = "The request would have succeeded, but the DryRun option is set."
	ignore := []string{"IGNORE_CIPHERTEXT"}
	_, err := s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(key.KeyId), DryRun: true, DryRunModifiers: ignore})
	wantErr(t, "Decrypt DryRun IGNORE_CIPHERTEXT without CiphertextBlob", err, "DryRunOperationException", msg)
	_, err = s.Decrypt(ctx, c, &DecryptInput{KeyId: ptr(key.KeyId), CiphertextBlob: []byte("placeholder"), DryRun: true, DryRunModifiers: ignore})
	wantErr(t, "Decrypt DryRun IGNORE_CIPHERTEXT with a placeholder blob", err, "DryRunOperationException", msg)
	_, err = s.ReEncrypt(ctx, c, &ReEncryptInput{SourceKeyId: ptr(key.KeyId), DestinationKeyId: ptr(key.KeyId), DryRun: true, DryRunModifiers: ignore})
	wantErr(t, "ReEncrypt DryRun IGNORE_CIPHERTEXT without CiphertextBlob", err, "DryRunOperationException", msg)
}
