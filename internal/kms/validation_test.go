package kms

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custoskms/custos/internal/awsproto"
)

// validation1 is AWS's message for one constraint violation.
func validation1(detail string) string { return "1 validation error detected: " + detail }

func nullAt(field string) string {
	return "Value null at '" + field + "' failed to satisfy constraint: Member must not be null"
}

func tooLong(value, field string, max int) string {
	return "Value '" + value + "' at '" + field + "' failed to satisfy constraint: Member must have length less than or equal to " + strconv.Itoa(max)
}

func tooShort(value, field string, min int) string {
	return "Value '" + value + "' at '" + field + "' failed to satisfy constraint: Member must have length greater than or equal to " + strconv.Itoa(min)
}

func valueBelow(n int, field string, min int) string {
	return fmt.Sprintf("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", n, field, min)
}

func valueAbove(n int, field string, max int) string {
	return fmt.Sprintf("Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", n, field, max)
}

func tags(n int) []Tag {
	out := make([]Tag, n)
	for i := range out {
		out[i] = Tag{TagKey: "k" + strconv.Itoa(i), TagValue: "v"}
	}
	return out
}

// TestValidation calls the operations directly with requests AWS refuses,
// and checks the exact AWS error code and message.
func TestValidation(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	key := createKey(t, s)
	id, arn := key.KeyId, key.Arn
	other := createKey(t, s)
	createAlias(t, s, "alias/exists", id)
	ct := encrypt(t, s, id, []byte("hello"), nil)

	const missing = "0b9c8a9e-1f2d-4c3b-9a8e-7d6c5b4a3f2e"
	missingARN := "arn:aws:kms:us-east-1:111122223333:key/" + missing
	long := strings.Repeat("a", 2049)
	secret := strings.Repeat("S", 4097)
	desc := strings.Repeat("d", 8193)
	longTagKey := strings.Repeat("t", 129)
	longAlias := "alias/" + strings.Repeat("a", 251)
	aliasPrefixMsg := `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`
	badMarker := "The marker that specifies where pagination should next begin is not valid."
	fullTagKey := createKey(t, s)
	if _, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(fullTagKey.KeyId), Tags: tags(50)}); err != nil {
		t.Fatalf("TagResource(50 tags): %v", err)
	}

	tests := []struct {
		name     string
		call     func() error
		code     string
		msg      string
		anyOrder bool   // msg lists several violations, in any order
		secret   string // must not appear in the message
	}{
		// A missing KeyId.
		{name: "Encrypt missing KeyId", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{Plaintext: []byte("hello")})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "DescribeKey missing KeyId", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "EnableKey missing KeyId", call: func() error {
			_, err := s.EnableKey(ctx, c, &KeyIDInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "DisableKey missing KeyId", call: func() error {
			_, err := s.DisableKey(ctx, c, &KeyIDInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "ScheduleKeyDeletion missing KeyId", call: func() error {
			_, err := s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{PendingWindowInDays: ptr(int64(7))})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "CancelKeyDeletion missing KeyId", call: func() error {
			_, err := s.CancelKeyDeletion(ctx, c, &KeyIDInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "GenerateDataKey missing KeyId", call: func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeySpec: "AES_256"})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "GetKeyRotationStatus missing KeyId", call: func() error {
			_, err := s.GetKeyRotationStatus(ctx, c, &KeyIDInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "ListResourceTags missing KeyId", call: func() error {
			_, err := s.ListResourceTags(ctx, c, &ListResourceTagsInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "GetKeyPolicy missing KeyId", call: func() error {
			_, err := s.GetKeyPolicy(ctx, c, &KeyPolicyInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyId"))},
		{name: "Sign missing KeyId", call: func() error {
			_, err := s.Sign(ctx, c, &MessageInput{})
			return err
		}, code: "ValidationException", msg: "3 validation errors detected: " + nullAt("keyId") + "; " + nullAt("message") + "; " + nullAt("signingAlgorithm")},
		{name: "ReEncrypt missing DestinationKeyId", call: func() error {
			_, err := s.ReEncrypt(ctx, c, &ReEncryptInput{CiphertextBlob: ct})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("destinationKeyId"))},
		{name: "CreateAlias missing TargetKeyId", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/new")})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("targetKeyId"))},

		// KeyId length.
		{name: "Encrypt KeyId too long", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(long), Plaintext: []byte("hello")})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(long, "keyId", 2048))},
		{name: "DescribeKey KeyId too long", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr(long)})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(long, "keyId", 2048))},
		{name: "Decrypt KeyId too long", call: func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, KeyId: ptr(long)})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(long, "keyId", 2048))},
		{name: "ListAliases KeyId too long", call: func() error {
			_, err := s.ListAliases(ctx, c, &ListAliasesInput{KeyId: ptr(long)})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(long, "keyId", 2048))},
		{name: "Encrypt KeyId empty", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(""), Plaintext: []byte("hello")})
			return err
		}, code: "ValidationException", msg: validation1(tooShort("", "keyId", 1))},

		// Plaintext: a sensitive member, never echoed.
		{name: "Encrypt empty Plaintext", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte{}})
			return err
		}, code: "ValidationException", msg: validation1("Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1")},
		{name: "Encrypt oversized Plaintext", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte(secret)})
			return err
		}, code: "ValidationException", msg: validation1("Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"), secret: "SSSS"},
		{name: "Encrypt missing Plaintext", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("plaintext"))},
		{name: "Encrypt validation before key lookup", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(missing), Plaintext: []byte{}})
			return err
		}, code: "ValidationException", msg: validation1("Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1")},

		// CiphertextBlob.
		{name: "Decrypt missing CiphertextBlob", call: func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("ciphertextBlob"))},
		{name: "Decrypt oversized CiphertextBlob", call: func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: []byte(strings.Repeat("S", 6145))})
			return err
		}, code: "ValidationException", msg: validation1("Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144"), secret: "SSSS"},
		{name: "Decrypt garbage", call: func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: []byte("not a ciphertext at all")})
			return err
		}, code: "InvalidCiphertextException", msg: ""},
		{name: "Decrypt truncated ciphertext", call: func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct[:len(ct)-1]})
			return err
		}, code: "InvalidCiphertextException", msg: ""},

		// NumberOfBytes and KeySpec.
		{name: "GenerateDataKey NumberOfBytes 0", call: func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), NumberOfBytes: ptr(int64(0))})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(0, "numberOfBytes", 1))},
		{name: "GenerateDataKey NumberOfBytes 1025", call: func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), NumberOfBytes: ptr(int64(1025))})
			return err
		}, code: "ValidationException", msg: validation1(valueAbove(1025, "numberOfBytes", 1024))},
		{name: "GenerateDataKeyWithoutPlaintext NumberOfBytes 0", call: func() error {
			_, err := s.GenerateDataKeyWithoutPlaintext(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), NumberOfBytes: ptr(int64(0))})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(0, "numberOfBytes", 1))},
		{name: "GenerateDataKey both KeySpec and NumberOfBytes", call: func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), KeySpec: "AES_256", NumberOfBytes: ptr(int64(32))})
			return err
		}, code: "ValidationException", msg: "Please specify either number of bytes or key spec."},
		{name: "GenerateDataKey neither KeySpec nor NumberOfBytes", call: func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: "Please specify either number of bytes or key spec."},
		{name: "GenerateDataKey KeySpec AES_512", call: func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(id), KeySpec: "AES_512"})
			return err
		}, code: "ValidationException", msg: validation1("Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]")},
		{name: "GenerateRandom NumberOfBytes 0", call: func() error {
			_, err := s.GenerateRandom(ctx, c, &GenerateRandomInput{NumberOfBytes: ptr(int64(0))})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(0, "numberOfBytes", 1))},
		{name: "GenerateRandom NumberOfBytes 1025", call: func() error {
			_, err := s.GenerateRandom(ctx, c, &GenerateRandomInput{NumberOfBytes: ptr(int64(1025))})
			return err
		}, code: "ValidationException", msg: validation1(valueAbove(1025, "numberOfBytes", 1024))},
		{name: "GenerateRandom missing NumberOfBytes", call: func() error {
			_, err := s.GenerateRandom(ctx, c, &GenerateRandomInput{})
			return err
		}, code: "ValidationException", msg: "NumberOfBytes is required."},

		// Enumerations and algorithms.
		{name: "Encrypt bad EncryptionAlgorithm", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte("x"), EncryptionAlgorithm: "AES"})
			return err
		}, code: "ValidationException", msg: validation1("Value 'AES' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]")},
		{name: "Encrypt RSA algorithm on a symmetric key", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte("x"), EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
			return err
		}, code: "InvalidKeyUsageException", msg: "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT."},
		{name: "Decrypt bad DryRunModifiers", call: func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, DryRunModifiers: []string{"IGNORE"}})
			return err
		}, code: "ValidationException", msg: validation1("Value 'IGNORE' at 'dryRunModifiers' failed to satisfy constraint: Member must satisfy enum value set: [IGNORE_CIPHERTEXT]")},
		{name: "CreateKey bad KeyUsage", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{KeyUsage: "ENCRYPT"})
			return err
		}, code: "ValidationException", msg: validation1("Value 'ENCRYPT' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT]")},
		{name: "CreateKey bad KeySpec", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{KeySpec: "AES_256"})
			return err
		}, code: "ValidationException", msg: validation1("Value 'AES_256' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [" + strings.Join(keySpecs, ", ") + "]")},
		{name: "CreateKey KeySpec and CustomerMasterKeySpec", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{KeySpec: "SYMMETRIC_DEFAULT", CustomerMasterKeySpec: "SYMMETRIC_DEFAULT"})
			return err
		}, code: "ValidationException", msg: "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead."},
		{name: "CreateKey asymmetric without KeyUsage", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{KeySpec: "RSA_2048"})
			return err
		}, code: "ValidationException", msg: "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."},
		{name: "CreateKey incompatible KeyUsage", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{KeySpec: "RSA_2048", KeyUsage: "KEY_AGREEMENT"})
			return err
		}, code: "ValidationException", msg: "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"},
		{name: "CreateKey symmetric with SIGN_VERIFY", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{KeyUsage: "SIGN_VERIFY"})
			return err
		}, code: "ValidationException", msg: "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT"},

		// PendingWindowInDays and RotationPeriodInDays.
		{name: "ScheduleKeyDeletion PendingWindowInDays 6", call: func() error {
			_, err := s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{KeyId: ptr(id), PendingWindowInDays: ptr(int64(6))})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(6, "pendingWindowInDays", 7))},
		{name: "ScheduleKeyDeletion PendingWindowInDays 31", call: func() error {
			_, err := s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{KeyId: ptr(id), PendingWindowInDays: ptr(int64(31))})
			return err
		}, code: "ValidationException", msg: validation1(valueAbove(31, "pendingWindowInDays", 30))},
		{name: "EnableKeyRotation period 89", call: func() error {
			_, err := s.EnableKeyRotation(ctx, c, &EnableKeyRotationInput{KeyId: ptr(id), RotationPeriodInDays: ptr(int64(89))})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(89, "rotationPeriodInDays", 90))},
		{name: "EnableKeyRotation period 2561", call: func() error {
			_, err := s.EnableKeyRotation(ctx, c, &EnableKeyRotationInput{KeyId: ptr(id), RotationPeriodInDays: ptr(int64(2561))})
			return err
		}, code: "ValidationException", msg: validation1(valueAbove(2561, "rotationPeriodInDays", 2560))},

		// Description.
		{name: "CreateKey Description 8193 chars", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{Description: desc})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(desc, "description", 8192))},
		{name: "UpdateKeyDescription Description 8193 chars", call: func() error {
			_, err := s.UpdateKeyDescription(ctx, c, &UpdateKeyDescriptionInput{KeyId: ptr(id), Description: ptr(desc)})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(desc, "description", 8192))},
		{name: "UpdateKeyDescription missing Description", call: func() error {
			_, err := s.UpdateKeyDescription(ctx, c, &UpdateKeyDescriptionInput{KeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("description"))},

		// Alias names.
		{name: "CreateAlias without alias/ prefix", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("foo"), TargetKeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: aliasPrefixMsg},
		{name: "CreateAlias bare alias/", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/"), TargetKeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: aliasPrefixMsg},
		{name: "UpdateAlias without alias/ prefix", call: func() error {
			_, err := s.UpdateAlias(ctx, c, &AliasInput{AliasName: ptr("foo"), TargetKeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: aliasPrefixMsg},
		{name: "DeleteAlias without alias/ prefix", call: func() error {
			_, err := s.DeleteAlias(ctx, c, &DeleteAliasInput{AliasName: ptr("foo")})
			return err
		}, code: "ValidationException", msg: aliasPrefixMsg},
		{name: "CreateAlias reserved alias/aws/", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/aws/x"), TargetKeyId: ptr(id)})
			return err
		}, code: "InvalidAliasNameException", msg: "Alias must not begin with 'alias/aws/'; that prefix is reserved for AWS managed keys."},
		{name: "CreateAlias bad characters", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/bad name"), TargetKeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1("Value 'alias/bad name' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")},
		{name: "CreateAlias name 257 chars", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr(longAlias), TargetKeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(longAlias, "aliasName", 256))},
		{name: "CreateAlias missing AliasName", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{TargetKeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("aliasName"))},
		{name: "DeleteAlias missing AliasName", call: func() error {
			_, err := s.DeleteAlias(ctx, c, &DeleteAliasInput{})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("aliasName"))},
		{name: "CreateAlias existing name", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/exists"), TargetKeyId: ptr(other.KeyId)})
			return err
		}, code: "AlreadyExistsException", msg: "An alias with the name arn:aws:kms:us-east-1:111122223333:alias/exists already exists"},

		// Tags.
		{name: "TagResource aws: prefix", call: func() error {
			_, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(id), Tags: []Tag{{TagKey: "aws:owner", TagValue: "x"}}})
			return err
		}, code: "TagException", msg: "Tags beginning with aws: are reserved."},
		{name: "CreateKey aws: prefix tag", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{Tags: []Tag{{TagKey: "aws:owner", TagValue: "x"}}})
			return err
		}, code: "TagException", msg: "Tags beginning with aws: are reserved."},
		{name: "TagResource duplicate keys", call: func() error {
			_, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(id), Tags: []Tag{{"a", "1"}, {"a", "2"}}})
			return err
		}, code: "TagException", msg: "Duplicate tag keys"},
		{name: "TagResource 51 tags", call: func() error {
			_, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(id), Tags: tags(51)})
			return err
		}, code: "TagException", msg: "Too many tags"},
		{name: "CreateKey 51 tags", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{Tags: tags(51)})
			return err
		}, code: "TagException", msg: "Too many tags"},
		{name: "TagResource 51st tag on a key with 50", call: func() error {
			_, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(fullTagKey.KeyId), Tags: []Tag{{"one-more", "x"}}})
			return err
		}, code: "TagException", msg: "Too many tags"},
		{name: "TagResource 129-char tag key", call: func() error {
			_, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(id), Tags: []Tag{{TagKey: longTagKey, TagValue: "x"}}})
			return err
		}, code: "ValidationException", msg: validation1(tooLong(longTagKey, "tags.1.member.tagKey", 128))},
		{name: "TagResource empty tag key", call: func() error {
			_, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(id), Tags: []Tag{{"ok", "x"}, {"", "x"}}})
			return err
		}, code: "ValidationException", msg: validation1(tooShort("", "tags.2.member.tagKey", 1))},
		{name: "TagResource missing Tags", call: func() error {
			_, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("tags"))},
		{name: "UntagResource missing TagKeys", call: func() error {
			_, err := s.UntagResource(ctx, c, &UntagResourceInput{KeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("tagKeys"))},

		// Paging.
		{name: "ListKeys Limit 0", call: func() error {
			_, err := s.ListKeys(ctx, c, &ListInput{Limit: ptr(int64(0))})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(0, "limit", 1))},
		{name: "ListKeys Limit 1001", call: func() error {
			_, err := s.ListKeys(ctx, c, &ListInput{Limit: ptr(int64(1001))})
			return err
		}, code: "ValidationException", msg: validation1(valueAbove(1001, "limit", 1000))},
		{name: "ListAliases Limit 0", call: func() error {
			_, err := s.ListAliases(ctx, c, &ListAliasesInput{ListInput: ListInput{Limit: ptr(int64(0))}})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(0, "limit", 1))},
		{name: "ListResourceTags Limit 1001", call: func() error {
			_, err := s.ListResourceTags(ctx, c, &ListResourceTagsInput{KeyId: ptr(id), ListInput: ListInput{Limit: ptr(int64(1001))}})
			return err
		}, code: "ValidationException", msg: validation1(valueAbove(1001, "limit", 1000))},
		{name: "ListKeyPolicies Limit 0", call: func() error {
			_, err := s.ListKeyPolicies(ctx, c, &ListKeyPoliciesInput{KeyId: ptr(id), ListInput: ListInput{Limit: ptr(int64(0))}})
			return err
		}, code: "ValidationException", msg: validation1(valueBelow(0, "limit", 1))},
		{name: "ListKeys bad Marker", call: func() error {
			_, err := s.ListKeys(ctx, c, &ListInput{Marker: ptr("!!!not-a-marker")})
			return err
		}, code: "InvalidMarkerException", msg: badMarker},
		{name: "ListAliases bad Marker", call: func() error {
			_, err := s.ListAliases(ctx, c, &ListAliasesInput{ListInput: ListInput{Marker: ptr("@@")}})
			return err
		}, code: "InvalidMarkerException", msg: badMarker},
		{name: "ListResourceTags bad Marker", call: func() error {
			_, err := s.ListResourceTags(ctx, c, &ListResourceTagsInput{KeyId: ptr(id), ListInput: ListInput{Marker: ptr("%%")}})
			return err
		}, code: "InvalidMarkerException", msg: badMarker},
		{name: "ListKeys empty Marker", call: func() error {
			_, err := s.ListKeys(ctx, c, &ListInput{Marker: ptr("")})
			return err
		}, code: "ValidationException", msg: validation1(tooShort("", "marker", 1))},

		// Key policies.
		{name: "GetKeyPolicy PolicyName other", call: func() error {
			_, err := s.GetKeyPolicy(ctx, c, &KeyPolicyInput{KeyId: ptr(id), PolicyName: ptr("other")})
			return err
		}, code: "NotFoundException", msg: "No such policy exists"},
		{name: "PutKeyPolicy PolicyName other", call: func() error {
			_, err := s.PutKeyPolicy(ctx, c, &PutKeyPolicyInput{KeyId: ptr(id), PolicyName: ptr("other"), Policy: ptr(DefaultKeyPolicy(testAccount))})
			return err
		}, code: "NotFoundException", msg: "No such policy exists"},
		{name: "GetKeyPolicy PolicyName bad characters", call: func() error {
			_, err := s.GetKeyPolicy(ctx, c, &KeyPolicyInput{KeyId: ptr(id), PolicyName: ptr("a b")})
			return err
		}, code: "ValidationException", msg: validation1(`Value 'a b' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w]+`)},
		{name: "PutKeyPolicy malformed JSON", call: func() error {
			_, err := s.PutKeyPolicy(ctx, c, &PutKeyPolicyInput{KeyId: ptr(id), Policy: ptr(`{"Version":"2012-10-17","Statement":[`)})
			return err
		}, code: "MalformedPolicyDocumentException", msg: "The policy is not valid JSON: EOF"},
		{name: "PutKeyPolicy not an object", call: func() error {
			_, err := s.PutKeyPolicy(ctx, c, &PutKeyPolicyInput{KeyId: ptr(id), Policy: ptr(`[]`)})
			return err
		}, code: "MalformedPolicyDocumentException", msg: "The policy must be a JSON object, not an array."},
		{name: "PutKeyPolicy without Statement", call: func() error {
			_, err := s.PutKeyPolicy(ctx, c, &PutKeyPolicyInput{KeyId: ptr(id), Policy: ptr(`{"Version":"2012-10-17"}`)})
			return err
		}, code: "MalformedPolicyDocumentException", msg: "The policy must contain a Statement element."},
		{name: "PutKeyPolicy over 32 KB", call: func() error {
			p := `{"Version":"2012-10-17","Statement":[],"Padding":"` + strings.Repeat("x", 32<<10) + `"}`
			_, err := s.PutKeyPolicy(ctx, c, &PutKeyPolicyInput{KeyId: ptr(id), Policy: ptr(p)})
			return err
		}, code: "LimitExceededException", msg: "Policy size exceeds the limit of 32768 bytes."},
		{name: "PutKeyPolicy missing Policy", call: func() error {
			_, err := s.PutKeyPolicy(ctx, c, &PutKeyPolicyInput{KeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("policy"))},
		{name: "CreateKey malformed policy", call: func() error {
			_, err := s.CreateKey(ctx, c, &CreateKeyInput{Policy: ptr("not json")})
			return err
		}, code: "MalformedPolicyDocumentException", msg: "The policy is not valid JSON: invalid character 'o' in literal null (expecting 'u')"},

		// Several violations at once.
		{name: "Encrypt two violations", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{})
			return err
		}, code: "ValidationException", msg: "2 validation errors detected: " + nullAt("keyId") + "; " + nullAt("plaintext"), anyOrder: true},
		{name: "ListKeys two violations", call: func() error {
			_, err := s.ListKeys(ctx, c, &ListInput{Limit: ptr(int64(0)), Marker: ptr("")})
			return err
		}, code: "ValidationException", msg: "2 validation errors detected: " + valueBelow(0, "limit", 1) + "; " + tooShort("", "marker", 1), anyOrder: true},
		{name: "GenerateDataKey three violations", call: func() error {
			_, err := s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeySpec: "AES_512", NumberOfBytes: ptr(int64(2000))})
			return err
		}, code: "ValidationException", msg: "3 validation errors detected: " + nullAt("keyId") + "; " +
			"Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]; " +
			valueAbove(2000, "numberOfBytes", 1024), anyOrder: true},
		{name: "CreateAlias two violations", call: func() error {
			_, err := s.CreateAlias(ctx, c, &AliasInput{})
			return err
		}, code: "ValidationException", msg: "2 validation errors detected: " + nullAt("aliasName") + "; " + nullAt("targetKeyId"), anyOrder: true},

		// Key identifiers.
		{name: "DescribeKey invalid key id", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr("x")})
			return err
		}, code: "NotFoundException", msg: "Invalid keyId 'x'"},
		{name: "Encrypt invalid key id", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr("1234"), Plaintext: []byte("x")})
			return err
		}, code: "NotFoundException", msg: "Invalid keyId '1234'"},
		{name: "DescribeKey ARN in another region", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr("arn:aws:kms:us-west-2:111122223333:key/" + id)})
			return err
		}, code: "NotFoundException", msg: "Invalid arn us-west-2"},
		{name: "Encrypt ARN in another region", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr("arn:aws:kms:eu-west-1:111122223333:key/" + id), Plaintext: []byte("x")})
			return err
		}, code: "NotFoundException", msg: "Invalid arn eu-west-1"},
		{name: "DescribeKey malformed ARN", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr("arn:aws:kms:us-east-1:1111:key/" + id)})
			return err
		}, code: "NotFoundException", msg: "Invalid arn arn:aws:kms:us-east-1:1111:key/" + id},
		{name: "DescribeKey key not found", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr(missing)})
			return err
		}, code: "NotFoundException", msg: "Key '" + missingARN + "' does not exist"},
		{name: "DescribeKey key ARN not found", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr(missingARN)})
			return err
		}, code: "NotFoundException", msg: "Key '" + missingARN + "' does not exist"},
		{name: "Encrypt key not found", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(missing), Plaintext: []byte("x")})
			return err
		}, code: "NotFoundException", msg: "Key '" + missingARN + "' does not exist"},
		{name: "EnableKey key not found", call: func() error {
			_, err := s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr(missing)})
			return err
		}, code: "NotFoundException", msg: "Key '" + missingARN + "' does not exist"},
		{name: "ListAliases key not found", call: func() error {
			_, err := s.ListAliases(ctx, c, &ListAliasesInput{KeyId: ptr(missing)})
			return err
		}, code: "NotFoundException", msg: "Key '" + missingARN + "' does not exist"},
		{name: "DescribeKey alias not found", call: func() error {
			_, err := s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr("alias/x")})
			return err
		}, code: "NotFoundException", msg: "Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found."},
		{name: "Encrypt alias ARN not found", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr("arn:aws:kms:us-east-1:111122223333:alias/x"), Plaintext: []byte("x")})
			return err
		}, code: "NotFoundException", msg: "Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found."},
		{name: "DeleteAlias not found", call: func() error {
			_, err := s.DeleteAlias(ctx, c, &DeleteAliasInput{AliasName: ptr("alias/x")})
			return err
		}, code: "NotFoundException", msg: "Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found."},
		{name: "UpdateAlias not found", call: func() error {
			_, err := s.UpdateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/x"), TargetKeyId: ptr(id)})
			return err
		}, code: "NotFoundException", msg: "Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found."},
		{name: "EnableKey does not take an alias", call: func() error {
			_, err := s.EnableKey(ctx, c, &KeyIDInput{KeyId: ptr("alias/exists")})
			return err
		}, code: "NotFoundException", msg: "Invalid keyId 'alias/exists'"},
		{name: "Decrypt KeyId naming another key", call: func() error {
			_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: ct, KeyId: ptr(other.KeyId)})
			return err
		}, code: "IncorrectKeyException", msg: "The key ID in the request does not identify a CMK that can perform this operation."},

		// Grant tokens.
		{name: "Encrypt 11 grant tokens", call: func() error {
			_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(id), Plaintext: []byte("x"), GrantTokens: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")})
			return err
		}, code: "ValidationException", msg: validation1("Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10")},

		// Operations of other key types, on a symmetric key.
		{name: "Sign on a symmetric key", call: func() error {
			_, err := s.Sign(ctx, c, &MessageInput{KeyId: ptr(id), Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"})
			return err
		}, code: "InvalidKeyUsageException", msg: arn + " key usage is ENCRYPT_DECRYPT which is not valid for Sign."},
		{name: "GenerateMac on a symmetric key", call: func() error {
			_, err := s.GenerateMac(ctx, c, &MessageInput{KeyId: ptr(id), Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256"})
			return err
		}, code: "InvalidKeyUsageException", msg: arn + " key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."},
		{name: "GenerateDataKeyPair bad KeyPairSpec", call: func() error {
			_, err := s.GenerateDataKeyPair(ctx, c, &DataKeyPairInput{KeyId: ptr(id), KeyPairSpec: ptr("RSA_1024")})
			return err
		}, code: "ValidationException", msg: validation1("Value 'RSA_1024' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: [" + strings.Join(dataKeyPairSpecs, ", ") + "]")},
		{name: "GenerateDataKeyPair missing KeyPairSpec", call: func() error {
			_, err := s.GenerateDataKeyPair(ctx, c, &DataKeyPairInput{KeyId: ptr(id)})
			return err
		}, code: "ValidationException", msg: validation1(nullAt("keyPairSpec"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !tt.anyOrder {
				wantErr(t, tt.name, err, tt.code, tt.msg)
			} else {
				wantViolations(t, tt.name, err, tt.msg)
			}
			if e, ok := awsproto.As(err); ok && tt.secret != "" && strings.Contains(e.Message, tt.secret) {
				t.Errorf("%s: message echoes the sensitive member: %.80q...", tt.name, e.Message)
			}
		})
	}
	t.Logf("%d validation cases", len(tests))
}

// wantViolations checks a ValidationException listing several violations,
// in any order.
func wantViolations(t *testing.T, what string, err error, want string) {
	t.Helper()
	e, ok := awsproto.As(err)
	if !ok || e.Code != "ValidationException" {
		t.Errorf("%s = %v, want ValidationException: %q", what, err, want)
		return
	}
	split := func(m string) (string, []string) {
		head, rest, _ := strings.Cut(m, ": ")
		parts := strings.Split(rest, "; ")
		slices.Sort(parts)
		return head, parts
	}
	gotHead, gotParts := split(e.Message)
	wantHead, wantParts := split(want)
	if gotHead != wantHead || !slices.Equal(gotParts, wantParts) {
		t.Errorf("%s = %q\nwant (in any order) %q", what, e.Message, want)
	}
}
