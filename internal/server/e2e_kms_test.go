package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	ckms "github.com/custoskms/custos/internal/kms"
	"github.com/custoskms/custos/internal/server"
	"github.com/custoskms/custos/internal/sigv4"
)

func TestKeyLifecycle(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")

	created := try(c.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("lifecycle"),
		Tags:        []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("a")}},
	})).must(t)
	md := created.KeyMetadata
	id := aws.ToString(md.KeyId)
	wantARN := "arn:aws:kms:us-east-1:" + testAccount + ":key/" + id
	if got := aws.ToString(md.Arn); got != wantARN {
		t.Errorf("Arn = %q, want %q", got, wantARN)
	}
	got := struct {
		Account, Description string
		Enabled, MultiRegion bool
		State                types.KeyState
		Spec                 types.KeySpec
		Usage                types.KeyUsageType
		Origin               types.OriginType
		Manager              types.KeyManagerType
		Algorithms           []types.EncryptionAlgorithmSpec
		HasMaterial          bool
	}{aws.ToString(md.AWSAccountId), aws.ToString(md.Description), md.Enabled, aws.ToBool(md.MultiRegion),
		md.KeyState, md.KeySpec, md.KeyUsage, md.Origin, md.KeyManager, md.EncryptionAlgorithms, len(aws.ToString(md.CurrentKeyMaterialId)) == 64}
	want := got
	want.Account, want.Description, want.Enabled, want.MultiRegion = testAccount, "lifecycle", true, false
	want.State, want.Spec, want.Usage, want.Origin, want.Manager = types.KeyStateEnabled, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt, types.OriginTypeAwsKms, types.KeyManagerTypeCustomer
	want.Algorithms, want.HasMaterial = []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecSymmetricDefault}, true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateKey metadata (-want +got):\n%s", diff)
	}
	if d := time.Since(aws.ToTime(md.CreationDate)); d < 0 || d > time.Minute {
		t.Errorf("CreationDate = %v, not now", md.CreationDate)
	}

	// DescribeKey by every identifier form.
	try(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/life"), TargetKeyId: aws.String(id)})).must(t)
	for _, ref := range []string{id, wantARN, "alias/life", "arn:aws:kms:us-east-1:" + testAccount + ":alias/life"} {
		out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if err != nil {
			t.Fatalf("DescribeKey(%q): %v", ref, err)
		}
		if aws.ToString(out.KeyMetadata.KeyId) != id {
			t.Errorf("DescribeKey(%q).KeyId = %q, want %q", ref, aws.ToString(out.KeyMetadata.KeyId), id)
		}
	}

	// Disable: crypto fails with DisabledException, metadata says so.
	try(c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)})).must(t)
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
	wantErr[*types.DisabledException](t, err, wantARN+" is disabled.")
	d := try(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})).must(t)
	if d.KeyMetadata.Enabled || d.KeyMetadata.KeyState != types.KeyStateDisabled {
		t.Errorf("after DisableKey: Enabled=%v KeyState=%v", d.KeyMetadata.Enabled, d.KeyMetadata.KeyState)
	}
	try(c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)})).must(t)
	try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})).must(t)

	try(c.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: aws.String(id), Description: aws.String("new")})).must(t)
	d = try(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})).must(t)
	if got := aws.ToString(d.KeyMetadata.Description); got != "new" {
		t.Errorf("Description = %q, want new", got)
	}

	// Deletion: window bounds, the pending state, cancel, and the sweep.
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(6)})
	wantErr[smithy.APIError](t, err, "ValidationException", "pendingWindowInDays")
	sched := try(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id)})).must(t)
	if aws.ToInt32(sched.PendingWindowInDays) != 30 || sched.KeyState != types.KeyStatePendingDeletion {
		t.Errorf("ScheduleKeyDeletion = %d days, %v; want 30, PendingDeletion", aws.ToInt32(sched.PendingWindowInDays), sched.KeyState)
	}
	if dd := time.Until(aws.ToTime(sched.DeletionDate)); dd < 29*24*time.Hour || dd > 31*24*time.Hour {
		t.Errorf("DeletionDate is %v away, want 30 days", dd)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
	wantErr[*types.KMSInvalidStateException](t, err, wantARN+" is pending deletion.")
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)})
	wantErr[*types.KMSInvalidStateException](t, err)
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id)})
	wantErr[*types.KMSInvalidStateException](t, err)
	cancel := try(c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})).must(t)
	if aws.ToString(cancel.KeyId) != wantARN {
		t.Errorf("CancelKeyDeletion.KeyId = %q, want %q", aws.ToString(cancel.KeyId), wantARN)
	}
	d = try(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})).must(t)
	if d.KeyMetadata.KeyState != types.KeyStateDisabled || d.KeyMetadata.DeletionDate != nil {
		t.Errorf("after CancelKeyDeletion: %v, DeletionDate %v; want Disabled, none", d.KeyMetadata.KeyState, d.KeyMetadata.DeletionDate)
	}
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})
	wantErr[*types.KMSInvalidStateException](t, err, "is not pending deletion.")
}

func TestDeletionSweep(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	id := aws.ToString(try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata.KeyId)
	keep := aws.ToString(try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata.KeyId)
	try(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/doomed"), TargetKeyId: aws.String(id)})).must(t)
	try(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/kept"), TargetKeyId: aws.String(keep)})).must(t)
	blob := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("secret")})).must(t).CiphertextBlob
	try(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)})).must(t)

	e.clock.Advance(7*24*time.Hour - time.Minute)
	if n, _, err := e.srv.KMS().Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep before the window ends = %d, %v; want 0", n, err)
	}
	e.clock.Advance(2 * time.Minute)
	if n, _, err := e.srv.KMS().Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep after the window = %d, %v; want 1", n, err)
	}
	_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	wantErr[*types.NotFoundException](t, err, "does not exist")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/doomed")})
	wantErr[*types.NotFoundException](t, err, "is not found")
	aliases := try(c.ListAliases(ctx, &kms.ListAliasesInput{})).must(t)
	var names []string
	for _, a := range aliases.Aliases {
		names = append(names, aws.ToString(a.AliasName))
	}
	if diff := cmp.Diff([]string{"alias/kept"}, names); diff != "" {
		t.Errorf("aliases after deletion (-want +got):\n%s", diff)
	}
	keys := try(c.ListKeys(ctx, &kms.ListKeysInput{})).must(t)
	if len(keys.Keys) != 1 || aws.ToString(keys.Keys[0].KeyId) != keep {
		t.Errorf("ListKeys after deletion = %v, want only %s", keys.Keys, keep)
	}
}

func TestCrypto(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	k1 := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	k2 := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	ec := map[string]string{"purpose": "test", "team": "a"}
	plain := bytes.Repeat([]byte{0xA5}, 4096)

	enc := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: plain, EncryptionContext: ec})).must(t)
	if aws.ToString(enc.KeyId) != aws.ToString(k1.Arn) || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		t.Errorf("Encrypt = %s %s, want %s SYMMETRIC_DEFAULT", aws.ToString(enc.KeyId), enc.EncryptionAlgorithm, aws.ToString(k1.Arn))
	}
	if len(enc.CiphertextBlob) > 6144 {
		t.Errorf("ciphertext of 4096 bytes is %d bytes, more than AWS's 6144", len(enc.CiphertextBlob))
	}
	dec := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"team": "a", "purpose": "test"}})).must(t)
	if !bytes.Equal(dec.Plaintext, plain) || aws.ToString(dec.KeyId) != aws.ToString(k1.Arn) {
		t.Errorf("Decrypt = %d bytes from %s; want the plaintext from %s", len(dec.Plaintext), aws.ToString(dec.KeyId), aws.ToString(k1.Arn))
	}
	if aws.ToString(dec.KeyMaterialId) != aws.ToString(k1.CurrentKeyMaterialId) {
		t.Errorf("Decrypt.KeyMaterialId = %q, want %q", aws.ToString(dec.KeyMaterialId), aws.ToString(k1.CurrentKeyMaterialId))
	}

	for name, in := range map[string]*kms.DecryptInput{
		"no context":  {CiphertextBlob: enc.CiphertextBlob},
		"other value": {CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "test", "team": "b"}},
		"extra pair":  {CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "test", "team": "a", "x": ""}},
		"flipped bit": {CiphertextBlob: flip(enc.CiphertextBlob, len(enc.CiphertextBlob)-1), EncryptionContext: ec},
		"truncated":   {CiphertextBlob: enc.CiphertextBlob[:40], EncryptionContext: ec},
		"not a blob":  {CiphertextBlob: []byte("hello world"), EncryptionContext: ec},
		"case of key": {CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"Purpose": "test", "team": "a"}},
	} {
		_, err := c.Decrypt(ctx, in)
		if err == nil {
			t.Errorf("Decrypt(%s) succeeded, want InvalidCiphertextException", name)
			continue
		}
		wantErr[*types.InvalidCiphertextException](t, err)
	}
	// The context is bound exactly: {"ab":"c"} is not {"a":"bc"}.
	ab := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: []byte("p"), EncryptionContext: map[string]string{"ab": "c"}})).must(t)
	_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ab.CiphertextBlob, EncryptionContext: map[string]string{"a": "bc"}})
	wantErr[*types.InvalidCiphertextException](t, err)

	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: k2.KeyId})
	wantErr[*types.IncorrectKeyException](t, err)
	try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: k1.Arn})).must(t)

	re := try(c.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec,
		DestinationKeyId: k2.KeyId, DestinationEncryptionContext: map[string]string{"moved": "yes"},
	})).must(t)
	if aws.ToString(re.SourceKeyId) != aws.ToString(k1.Arn) || aws.ToString(re.KeyId) != aws.ToString(k2.Arn) {
		t.Errorf("ReEncrypt keys = %s -> %s", aws.ToString(re.SourceKeyId), aws.ToString(re.KeyId))
	}
	dec = try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: map[string]string{"moved": "yes"}})).must(t)
	if !bytes.Equal(dec.Plaintext, plain) || aws.ToString(dec.KeyId) != aws.ToString(k2.Arn) {
		t.Errorf("Decrypt(ReEncrypt) did not give back the plaintext under %s", aws.ToString(k2.Arn))
	}

	for _, tc := range []struct {
		name string
		in   kms.GenerateDataKeyInput
		n    int
	}{
		{"AES_256", kms.GenerateDataKeyInput{KeySpec: types.DataKeySpecAes256}, 32},
		{"AES_128", kms.GenerateDataKeyInput{KeySpec: types.DataKeySpecAes128}, 16},
		{"7 bytes", kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(7)}, 7},
		{"1024 bytes", kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(1024)}, 1024},
	} {
		in := tc.in
		in.KeyId = aws.String("alias/dk")
		if tc.name == "AES_256" {
			try(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/dk"), TargetKeyId: k1.KeyId})).must(t)
		}
		in.EncryptionContext = ec
		dk, err := c.GenerateDataKey(ctx, &in)
		if err != nil {
			t.Fatalf("GenerateDataKey(%s): %v", tc.name, err)
		}
		if len(dk.Plaintext) != tc.n {
			t.Errorf("GenerateDataKey(%s) = %d bytes, want %d", tc.name, len(dk.Plaintext), tc.n)
		}
		back := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})).must(t)
		if !bytes.Equal(back.Plaintext, dk.Plaintext) {
			t.Errorf("GenerateDataKey(%s): ciphertext does not decrypt to the plaintext", tc.name)
		}
	}
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k1.KeyId})
	wantErr[smithy.APIError](t, err, "ValidationException")
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k1.KeyId, KeySpec: types.DataKeySpecAes256, NumberOfBytes: aws.Int32(32)})
	wantErr[smithy.APIError](t, err, "ValidationException")
	wp := try(c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k1.KeyId, KeySpec: types.DataKeySpecAes256})).must(t)
	if back := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wp.CiphertextBlob})).must(t); len(back.Plaintext) != 32 {
		t.Errorf("GenerateDataKeyWithoutPlaintext ciphertext decrypts to %d bytes, want 32", len(back.Plaintext))
	}

	r := try(c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1024)})).must(t)
	if len(r.Plaintext) != 1024 {
		t.Errorf("GenerateRandom(1024) = %d bytes", len(r.Plaintext))
	}
	_, err = c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1025)})
	wantErr[smithy.APIError](t, err, "ValidationException", "numberOfBytes")

	// Plaintext limits, without the plaintext in the message.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: bytes.Repeat([]byte("S"), 4097)})
	ve := wantErr[smithy.APIError](t, err, "ValidationException", "Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096")
	if strings.Contains(ve.Error(), "SSSS") {
		t.Errorf("validation message repeats the plaintext: %v", ve)
	}

	// DryRun answers after every check.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
	wantErr[*types.DryRunOperationException](t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, DryRun: aws.Bool(true)})
	wantErr[*types.DryRunOperationException](t, err)
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k1.KeyId, KeySpec: types.DataKeySpecAes256, DryRun: aws.Bool(true)})
	wantErr[*types.DryRunOperationException](t, err)

	// Operations of other key types answer for a symmetric key.
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: k1.KeyId, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantErr[*types.InvalidKeyUsageException](t, err, "key usage is ENCRYPT_DECRYPT which is not valid for Sign.")
	_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k1.KeyId})
	wantErr[*types.UnsupportedOperationException](t, err)
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048})
	wantErr[smithy.APIError](t, err, "ValidationException", "You must specify a KeyUsage value")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeKeyAgreement})
	wantErr[smithy.APIError](t, err, "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048")
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1
	return out
}

func TestNotFoundAndRegions(t *testing.T) {
	e := start(t)
	east, west := e.client("us-east-1"), e.client("eu-west-1")
	k := try(east.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	if !strings.Contains(aws.ToString(k.Arn), ":us-east-1:") {
		t.Fatalf("Arn %s does not carry the request's region", aws.ToString(k.Arn))
	}
	wk := try(west.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	if !strings.Contains(aws.ToString(wk.Arn), ":eu-west-1:") {
		t.Fatalf("Arn %s does not carry the request's region", aws.ToString(wk.Arn))
	}
	for _, tc := range []struct{ name, keyID, msg string }{
		{"other region by id", aws.ToString(k.KeyId), "Key 'arn:aws:kms:eu-west-1:" + testAccount + ":key/" + aws.ToString(k.KeyId) + "' does not exist"},
		{"other region by ARN", aws.ToString(k.Arn), "Invalid arn us-east-1"},
		{"malformed id", "not-a-key", "Invalid keyId 'not-a-key'"},
		{"missing alias", "alias/none", "Alias arn:aws:kms:eu-west-1:" + testAccount + ":alias/none is not found."},
		{"unknown key", "1234abcd-12ab-34cd-56ef-1234567890ab", "does not exist"},
	} {
		_, err := west.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(tc.keyID)})
		if err == nil {
			t.Errorf("DescribeKey(%s) succeeded, want NotFoundException", tc.name)
			continue
		}
		wantErr[*types.NotFoundException](t, err, tc.msg)
	}
	blob := try(east.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})).must(t).CiphertextBlob
	_, err := west.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	wantErr[*types.NotFoundException](t, err)
	if keys := try(west.ListKeys(ctx, &kms.ListKeysInput{})).must(t).Keys; len(keys) != 1 {
		t.Errorf("eu-west-1 lists %d keys, want 1", len(keys))
	}
}

func TestRegionsFlag(t *testing.T) {
	e := start(t, func(c *server.Config) { c.Regions = []string{"eu-central-1"} })
	try(e.client("eu-central-1").ListKeys(ctx, &kms.ListKeysInput{})).must(t)
	_, err := e.client("us-east-1").ListKeys(ctx, &kms.ListKeysInput{})
	wantErr[smithy.APIError](t, err, "InvalidSignatureException")
}

func TestAliases(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	k1 := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	k2 := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	try(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: k1.KeyId})).must(t)
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: k2.KeyId})
	wantErr[*types.AlreadyExistsException](t, err, "An alias with the name arn:aws:kms:us-east-1:"+testAccount+":alias/app already exists")
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("app"), TargetKeyId: k2.KeyId})
	wantErr[smithy.APIError](t, err, "ValidationException", `Alias must start with the prefix "alias/"`)
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/app"), TargetKeyId: k2.KeyId})
	wantErr[*types.InvalidAliasNameException](t, err)
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/x"), TargetKeyId: aws.String("alias/app")})
	wantErr[*types.NotFoundException](t, err)

	for i := 0; i < 3; i++ {
		try(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(fmt.Sprintf("alias/page-%d", i)), TargetKeyId: k2.KeyId})).must(t)
	}
	var all []string
	var marker *string
	for pages := 0; ; pages++ {
		out := try(c.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(2), Marker: marker})).must(t)
		for _, a := range out.Aliases {
			all = append(all, aws.ToString(a.AliasName))
			if !strings.HasSuffix(aws.ToString(a.AliasArn), ":"+aws.ToString(a.AliasName)) || a.CreationDate == nil {
				t.Errorf("alias entry %+v lacks ARN or dates", a)
			}
		}
		if !out.Truncated {
			break
		}
		marker = out.NextMarker
		if pages > 5 {
			t.Fatal("ListAliases does not end")
		}
	}
	if diff := cmp.Diff([]string{"alias/app", "alias/page-0", "alias/page-1", "alias/page-2"}, all); diff != "" {
		t.Errorf("ListAliases pages (-want +got):\n%s", diff)
	}
	byKey := try(c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: k1.KeyId})).must(t)
	if len(byKey.Aliases) != 1 || aws.ToString(byKey.Aliases[0].TargetKeyId) != aws.ToString(k1.KeyId) {
		t.Errorf("ListAliases(KeyId) = %+v", byKey.Aliases)
	}

	try(c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: k2.KeyId})).must(t)
	d := try(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/app")})).must(t)
	if aws.ToString(d.KeyMetadata.KeyId) != aws.ToString(k2.KeyId) {
		t.Errorf("after UpdateAlias, alias/app names %s, want %s", aws.ToString(d.KeyMetadata.KeyId), aws.ToString(k2.KeyId))
	}
	try(c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/app")})).must(t)
	_, err = c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/app")})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/app"), Plaintext: []byte("x")})
	wantErr[*types.NotFoundException](t, err)
	try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("arn:aws:kms:us-east-1:" + testAccount + ":alias/page-0"), Plaintext: []byte("x")})).must(t)
}

func TestTagsAndPolicies(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	k := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	var tags []types.Tag
	for i := 0; i < 5; i++ {
		tags = append(tags, types.Tag{TagKey: aws.String(fmt.Sprintf("k%d", i)), TagValue: aws.String(fmt.Sprintf("v%d", i))})
	}
	try(c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: tags})).must(t)
	try(c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.Arn, Tags: []types.Tag{{TagKey: aws.String("k0"), TagValue: aws.String("new")}}})).must(t)
	try(c.UntagResource(ctx, &kms.UntagResourceInput{KeyId: k.KeyId, TagKeys: []string{"k4", "absent"}})).must(t)
	var got []string
	var marker *string
	for {
		out := try(c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId, Limit: aws.Int32(3), Marker: marker})).must(t)
		for _, tg := range out.Tags {
			got = append(got, aws.ToString(tg.TagKey)+"="+aws.ToString(tg.TagValue))
		}
		if !out.Truncated {
			break
		}
		marker = out.NextMarker
	}
	if diff := cmp.Diff([]string{"k0=new", "k1=v1", "k2=v2", "k3=v3"}, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	_, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{{TagKey: aws.String("aws:x"), TagValue: aws.String("")}}})
	wantErr[*types.TagException](t, err)
	_, err = c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId, Marker: aws.String("!!!")})
	wantErr[*types.InvalidMarkerException](t, err)

	pol := try(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId})).must(t)
	if diff := cmp.Diff(ckms.DefaultKeyPolicy(testAccount), aws.ToString(pol.Policy)); diff != "" {
		t.Errorf("default policy (-want +got):\n%s", diff)
	}
	if !strings.Contains(aws.ToString(pol.Policy), `"AWS" : "arn:aws:iam::`+testAccount+`:root"`) || aws.ToString(pol.PolicyName) != "default" {
		t.Errorf("GetKeyPolicy = %q, %q", aws.ToString(pol.Policy), aws.ToString(pol.PolicyName))
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"}]}`
	try(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(doc)})).must(t)
	if got := aws.ToString(try(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")})).must(t).Policy); got != doc {
		t.Errorf("GetKeyPolicy after Put = %q, want %q", got, doc)
	}
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String("{not json")})
	wantErr[*types.MalformedPolicyDocumentException](t, err)
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(`{"Statement":[]` + strings.Repeat(" ", 33000) + `}`)})
	wantErr[*types.LimitExceededException](t, err)
	names := try(c.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: k.KeyId})).must(t)
	if diff := cmp.Diff([]string{"default"}, names.PolicyNames); diff != "" {
		t.Errorf("ListKeyPolicies (-want +got):\n%s", diff)
	}
	withPolicy := try(c.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(doc)})).must(t).KeyMetadata
	if got := aws.ToString(try(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: withPolicy.KeyId})).must(t).Policy); got != doc {
		t.Errorf("CreateKey(Policy) stored %q", got)
	}
}

func TestListKeysPagination(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		want[aws.ToString(try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata.KeyId)] = true
	}
	got := map[string]bool{}
	var marker *string
	for pages := 1; ; pages++ {
		out := try(c.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(2), Marker: marker})).must(t)
		for _, k := range out.Keys {
			got[aws.ToString(k.KeyId)] = true
		}
		if !out.Truncated {
			if pages != 3 {
				t.Errorf("ListKeys took %d pages of 2 for 5 keys, want 3", pages)
			}
			break
		}
		marker = out.NextMarker
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListKeys (-want +got):\n%s", diff)
	}
	_, err := c.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1001)})
	wantErr[smithy.APIError](t, err, "ValidationException", "limit")
}

func TestRotation(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	k := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	st := try(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})).must(t)
	if st.KeyRotationEnabled {
		t.Fatal("a new key has rotation enabled")
	}
	try(c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(90)})).must(t)
	st = try(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})).must(t)
	if !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 90 || st.NextRotationDate == nil {
		t.Fatalf("GetKeyRotationStatus = %v %v %v", st.KeyRotationEnabled, aws.ToInt32(st.RotationPeriodInDays), st.NextRotationDate)
	}
	old := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("old")})).must(t).CiphertextBlob
	e.clock.Advance(91 * 24 * time.Hour)
	if _, n, err := e.srv.KMS().Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep rotated %d, %v; want 1", n, err)
	}
	d := try(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})).must(t).KeyMetadata
	if aws.ToString(d.CurrentKeyMaterialId) == aws.ToString(k.CurrentKeyMaterialId) {
		t.Error("CurrentKeyMaterialId did not change on rotation")
	}
	newBlob := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("new")})).must(t).CiphertextBlob
	o := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: old})).must(t)
	n := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: newBlob})).must(t)
	if string(o.Plaintext) != "old" || string(n.Plaintext) != "new" || aws.ToString(o.KeyMaterialId) == aws.ToString(n.KeyMaterialId) {
		t.Errorf("after rotation: old=%q (%s) new=%q (%s)", o.Plaintext, aws.ToString(o.KeyMaterialId), n.Plaintext, aws.ToString(n.KeyMaterialId))
	}
	_, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(89)})
	wantErr[smithy.APIError](t, err, "ValidationException")
}

func TestAuthentication(t *testing.T) {
	e := start(t)
	_, err := e.clientWith("us-east-1", testKeyID, "wrong-secret").ListKeys(ctx, &kms.ListKeysInput{})
	wantErr[smithy.APIError](t, err, "InvalidSignatureException")
	_, err = e.clientWith("us-east-1", "AKIDUNKNOWN000000000", testSecret).ListKeys(ctx, &kms.ListKeysInput{})
	wantErr[smithy.APIError](t, err, "UnrecognizedClientException")

	resp, body := rawPost(t, e.srv.Endpoint(), "TrentService.ListKeys", "{}", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"__type":"MissingAuthenticationTokenException"`) {
		t.Errorf("unsigned request = %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Error("reply carries no x-amzn-RequestId")
	}
	for _, tc := range []struct {
		name, target, body, want string
		status                   int
	}{
		{"unknown operation", "TrentService.NoSuchThing", "{}", "UnknownOperationException", 400},
		{"other service", "Foo.ListKeys", "{}", "UnknownOperationException", 400},
		{"malformed JSON", "TrentService.ListKeys", "{", "SerializationException", 400},
		{"wrong type", "TrentService.DescribeKey", `{"KeyId":5}`, "SerializationException", 400},
		{"bad base64", "TrentService.Decrypt", `{"CiphertextBlob":"%%%"}`, "SerializationException", 400},
		{"too large", "TrentService.Encrypt", `{"Plaintext":"` + strings.Repeat("A", 70000) + `"}`, "RequestEntityTooLargeException", 413},
	} {
		resp, body := signedPost(t, e.srv.Endpoint(), tc.target, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(body, `"__type":"`+tc.want+`"`) {
			t.Errorf("%s: %d %s; want %d %s", tc.name, resp.StatusCode, body, tc.status, tc.want)
		}
	}
}

// signedPost sends a raw JSON 1.1 request signed with the root credentials.
func signedPost(t *testing.T, endpoint, target, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sigv4.Sign(req, []byte(body), testKeyID, []byte(testSecret), "", "us-east-1", "kms", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp, b.String()
}

func TestRestartKeepsEverything(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	k := try(c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("durable"), Tags: []types.Tag{{TagKey: aws.String("a"), TagValue: aws.String("b")}}})).must(t).KeyMetadata
	try(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/durable"), TargetKeyId: k.KeyId})).must(t)
	blob := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("kept"), EncryptionContext: map[string]string{"a": "b"}})).must(t).CiphertextBlob
	if err := e.srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.srv = e.open(server.Config{DataDir: e.dir, RootAccessKeyID: testKeyID, RootSecretKey: testSecret})
	c = e.client("us-east-1")
	d := try(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/durable")})).must(t).KeyMetadata
	if aws.ToString(d.Description) != "durable" {
		t.Errorf("after restart Description = %q", aws.ToString(d.Description))
	}
	out := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"a": "b"}})).must(t)
	if string(out.Plaintext) != "kept" {
		t.Errorf("after restart Decrypt = %q", out.Plaintext)
	}
	tags := try(c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})).must(t).Tags
	if len(tags) != 1 || aws.ToString(tags[0].TagValue) != "b" {
		t.Errorf("after restart tags = %v", tags)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := start(t)
	try(e.client("us-east-1").ListKeys(ctx, &kms.ListKeysInput{})).must(t)
	resp, err := http.Get(e.srv.Endpoint() + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /health = %v, %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(e.srv.Endpoint() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`custos_requests_total{operation="ListKeys",code=""} 1`, `custos_request_duration_seconds_count{operation="ListKeys"} 1`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, b.String())
		}
	}
}
