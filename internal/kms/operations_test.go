package kms

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// call runs an operation through the table on a JSON body and returns the
// reply as JSON.
func call(t *testing.T, s *Service, c *Caller, name, body string) (map[string]jsontext.Value, error) {
	t.Helper()
	op, ok := LookupOperation(name)
	if !ok {
		t.Fatalf("LookupOperation(%q) not found", name)
	}
	out, err := s.Call(context.Background(), op, c, []byte(body))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("%s reply does not encode: %v", name, err)
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s reply %s is not a JSON object: %v", name, b, err)
	}
	return m, nil
}

// TestCallJSON drives the operations as the server does, with AWS SDK
// request bodies, and checks the reply members SDKs read.
func TestCallJSON(t *testing.T) {
	s, clk := newTestService(t)
	c := testCaller
	created, err := call(t, s, c, "CreateKey", `{"Description":"json","Tags":[{"TagKey":"team","TagValue":"a"}]}`)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	var meta KeyMetadata
	if err := json.Unmarshal(created["KeyMetadata"], &meta); err != nil {
		t.Fatalf("CreateKey KeyMetadata: %v", err)
	}
	if meta.KeyState != "Enabled" || meta.KeySpec != "SYMMETRIC_DEFAULT" || meta.KeyUsage != "ENCRYPT_DECRYPT" ||
		meta.Origin != "AWS_KMS" || meta.KeyManager != "CUSTOMER" ||
		meta.Arn != "arn:aws:kms:us-east-1:111122223333:key/"+meta.KeyId || meta.AWSAccountId != testAccount {
		t.Errorf("CreateKey KeyMetadata = %s", created["KeyMetadata"])
	}
	var raw struct{ CreationDate float64 }
	if err := json.Unmarshal(created["KeyMetadata"], &raw); err != nil || raw.CreationDate != float64(clk.Now().UnixMilli())/1000 {
		t.Errorf("CreationDate = %v, %v; want %v in epoch seconds", raw.CreationDate, err, clk.Now())
	}
	if strings.Contains(string(created["KeyMetadata"]), "DeletionDate") {
		t.Errorf("KeyMetadata of an enabled key has a DeletionDate: %s", created["KeyMetadata"])
	}
	id := meta.KeyId

	enc, err := call(t, s, c, "Encrypt", `{"KeyId":"`+id+`","Plaintext":"aGVsbG8=","EncryptionContext":{"a":"b"}}`)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if string(enc["KeyId"]) != `"`+meta.Arn+`"` || string(enc["EncryptionAlgorithm"]) != `"SYMMETRIC_DEFAULT"` {
		t.Errorf("Encrypt reply = %v", enc)
	}
	dec, err := call(t, s, c, "Decrypt", `{"CiphertextBlob":`+string(enc["CiphertextBlob"])+`,"EncryptionContext":{"a":"b"}}`)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if string(dec["Plaintext"]) != `"aGVsbG8="` || string(dec["KeyId"]) != `"`+meta.Arn+`"` {
		t.Errorf("Decrypt reply = %v", dec)
	}
	gdk, err := call(t, s, c, "GenerateDataKeyWithoutPlaintext", `{"KeyId":"`+id+`","KeySpec":"AES_256"}`)
	if err != nil {
		t.Fatalf("GenerateDataKeyWithoutPlaintext: %v", err)
	}
	if _, ok := gdk["Plaintext"]; ok {
		t.Errorf("GenerateDataKeyWithoutPlaintext reply has a Plaintext: %v", gdk)
	}
	rnd, err := call(t, s, c, "GenerateRandom", `{"NumberOfBytes":12}`)
	if err != nil {
		t.Fatalf("GenerateRandom: %v", err)
	}
	var b []byte
	if err := json.Unmarshal(rnd["Plaintext"], &b); err != nil || len(b) != 12 {
		t.Errorf("GenerateRandom Plaintext = %s (%d bytes), want 12 bytes", rnd["Plaintext"], len(b))
	}

	// Void operations answer {}.
	for _, tc := range []struct{ op, body string }{
		{"DisableKey", `{"KeyId":"` + id + `"}`},
		{"EnableKey", `{"KeyId":"` + id + `"}`},
		{"CreateAlias", `{"AliasName":"alias/json","TargetKeyId":"` + id + `"}`},
		{"TagResource", `{"KeyId":"` + id + `","Tags":[{"TagKey":"b","TagValue":"c"}]}`},
		{"UntagResource", `{"KeyId":"` + id + `","TagKeys":["b","missing"]}`},
		{"UpdateKeyDescription", `{"KeyId":"` + id + `","Description":""}`},
		{"EnableKeyRotation", `{"KeyId":"` + id + `"}`},
	} {
		out, err := call(t, s, c, tc.op, tc.body)
		if err != nil || len(out) != 0 {
			t.Errorf("%s(%s) = %v, %v; want {}", tc.op, tc.body, out, err)
		}
	}

	// The list operations read Limit and Marker from the same object.
	aliases, err := call(t, s, c, "ListAliases", `{"KeyId":"`+id+`","Limit":1}`)
	if err != nil {
		t.Fatalf("ListAliases: %v", err)
	}
	if !strings.Contains(string(aliases["Aliases"]), `"AliasName":"alias/json"`) || string(aliases["Truncated"]) != "false" {
		t.Errorf("ListAliases reply = %v", aliases)
	}
	if _, err := call(t, s, c, "ListAliases", `{"Limit":0}`); err == nil {
		t.Error("ListAliases({\"Limit\":0}) = nil error: Limit in the body is not read")
	}
	tags, err := call(t, s, c, "ListResourceTags", `{"KeyId":"`+id+`"}`)
	if err != nil || string(tags["Tags"]) != `[{"TagKey":"team","TagValue":"a"}]` {
		t.Errorf("ListResourceTags = %v, %v; want only team=a", tags, err)
	}
	pol, err := call(t, s, c, "GetKeyPolicy", `{"KeyId":"`+id+`","PolicyName":"default"}`)
	if err != nil {
		t.Fatalf("GetKeyPolicy: %v", err)
	}
	var policy string
	if err := json.Unmarshal(pol["Policy"], &policy); err != nil || policy != DefaultKeyPolicy(testAccount) {
		t.Errorf("GetKeyPolicy Policy = %s, want the default policy", pol["Policy"])
	}
	names, err := call(t, s, c, "ListKeyPolicies", `{"KeyId":"`+id+`"}`)
	if err != nil || string(names["PolicyNames"]) != `["default"]` {
		t.Errorf("ListKeyPolicies = %v, %v", names, err)
	}
	rot, err := call(t, s, c, "GetKeyRotationStatus", `{"KeyId":"`+id+`"}`)
	if err != nil || string(rot["KeyRotationEnabled"]) != "true" || string(rot["RotationPeriodInDays"]) != "365" {
		t.Errorf("GetKeyRotationStatus = %v, %v", rot, err)
	}
	if n := rot["NextRotationDate"]; n.Kind() != '0' {
		t.Errorf("NextRotationDate = %s, want epoch seconds", n)
	}
	sched, err := call(t, s, c, "ScheduleKeyDeletion", `{"KeyId":"`+id+`","PendingWindowInDays":7}`)
	if err != nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	if sched["DeletionDate"].Kind() != '0' || string(sched["KeyState"]) != `"PendingDeletion"` || string(sched["PendingWindowInDays"]) != "7" {
		t.Errorf("ScheduleKeyDeletion reply = %v", sched)
	}
	desc, err := call(t, s, c, "DescribeKey", `{"KeyId":"alias/json"}`)
	if err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
	var pending struct {
		DeletionDate                jsontext.Value
		PendingDeletionWindowInDays int
		Enabled                     bool
	}
	if err := json.Unmarshal(desc["KeyMetadata"], &pending); err != nil || pending.DeletionDate.Kind() != '0' ||
		pending.PendingDeletionWindowInDays != 7 || pending.Enabled {
		t.Errorf("DescribeKey of a key pending deletion = %s", desc["KeyMetadata"])
	}
}

func TestPagination(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	var ids []string
	for range 5 {
		ids = append(ids, createKey(t, s).KeyId)
	}
	for i, n := range []string{"alias/a", "alias/b", "alias/c", "alias/d", "alias/e"} {
		createAlias(t, s, n, ids[i%2])
	}
	if _, err := s.TagResource(ctx, c, &TagResourceInput{KeyId: ptr(ids[0]), Tags: tags(7)}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}

	var keys []string
	var marker *string
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("ListKeys does not end")
		}
		out, err := s.ListKeys(ctx, c, &ListInput{Limit: ptr(int64(2)), Marker: marker})
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		for _, k := range out.Keys {
			keys = append(keys, k.KeyId)
		}
		if !out.Truncated {
			if out.NextMarker != "" {
				t.Errorf("last ListKeys page has NextMarker %q", out.NextMarker)
			}
			break
		}
		if len(out.Keys) != 2 || out.NextMarker == "" {
			t.Errorf("truncated ListKeys page = %+v", out)
		}
		marker = ptr(out.NextMarker)
	}
	if len(keys) != 5 {
		t.Errorf("ListKeys pages gave %d keys %v, want 5", len(keys), keys)
	}

	var aliases []string
	marker = nil
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("ListAliases does not end")
		}
		out, err := s.ListAliases(ctx, c, &ListAliasesInput{ListInput: ListInput{Limit: ptr(int64(2)), Marker: marker}})
		if err != nil {
			t.Fatalf("ListAliases: %v", err)
		}
		for _, a := range out.Aliases {
			aliases = append(aliases, a.AliasName)
		}
		if !out.Truncated {
			break
		}
		marker = ptr(out.NextMarker)
	}
	if got := strings.Join(aliases, ","); got != "alias/a,alias/b,alias/c,alias/d,alias/e" {
		t.Errorf("ListAliases pages = %s", got)
	}
	byKey, err := s.ListAliases(ctx, c, &ListAliasesInput{KeyId: ptr(ids[1])})
	if err != nil || len(byKey.Aliases) != 2 || byKey.Aliases[0].AliasName != "alias/b" || byKey.Aliases[1].AliasName != "alias/d" {
		t.Errorf("ListAliases(KeyId) = %+v, %v; want alias/b, alias/d", byKey, err)
	}

	var tagKeys []string
	marker = nil
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("ListResourceTags does not end")
		}
		out, err := s.ListResourceTags(ctx, c, &ListResourceTagsInput{KeyId: ptr(ids[0]), ListInput: ListInput{Limit: ptr(int64(3)), Marker: marker}})
		if err != nil {
			t.Fatalf("ListResourceTags: %v", err)
		}
		for _, tg := range out.Tags {
			tagKeys = append(tagKeys, tg.TagKey)
		}
		if !out.Truncated {
			break
		}
		marker = ptr(out.NextMarker)
	}
	if len(tagKeys) != 7 {
		t.Errorf("ListResourceTags pages = %v, want 7 tags", tagKeys)
	}
	// A marker is opaque but must come from a previous reply; one for
	// another list is still well-formed and is accepted.
	if _, err := s.ListKeys(ctx, c, &ListInput{Marker: ptr(base64.RawURLEncoding.EncodeToString([]byte("zzz")))}); err != nil {
		t.Errorf("ListKeys with a well-formed marker: %v", err)
	}
}

func TestCrossAccount(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	otherCaller := &Caller{AccountID: "444455556666", ARN: "arn:aws:iam::444455556666:root", Type: "Root", Region: testRegion}
	out, err := s.CreateKey(ctx, otherCaller, &CreateKeyInput{})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	theirs := out.KeyMetadata
	enc, err := s.Encrypt(ctx, otherCaller, &EncryptInput{KeyId: ptr(theirs.KeyId), Plaintext: []byte("theirs")})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}

	// A bare key id names a key of the caller's own account.
	_, err = s.DescribeKey(ctx, testCaller, &KeyIDInput{KeyId: ptr(theirs.KeyId)})
	wantErr(t, "DescribeKey(their key id)", err, "NotFoundException", "Key 'arn:aws:kms:us-east-1:111122223333:key/"+theirs.KeyId+"' does not exist")
	// By ARN it is found, and the authorizer refuses.
	_, err = s.Encrypt(ctx, testCaller, &EncryptInput{KeyId: ptr(theirs.Arn), Plaintext: []byte("x")})
	wantErr(t, "Encrypt(their key ARN)", err, "AccessDeniedException",
		"User: arn:aws:iam::111122223333:root is not authorized to perform: kms:Encrypt on resource: "+theirs.Arn+
			" because no resource-based policy allows the kms:Encrypt action")
	_, err = s.Decrypt(ctx, testCaller, &DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantErr(t, "Decrypt(their ciphertext)", err, "AccessDeniedException",
		"User: arn:aws:iam::111122223333:root is not authorized to perform: kms:Decrypt on resource: "+theirs.Arn+
			" because no resource-based policy allows the kms:Decrypt action")
	// Lists show only the caller's account.
	keys, err := s.ListKeys(ctx, testCaller, &ListInput{})
	if err != nil || len(keys.Keys) != 0 {
		t.Errorf("ListKeys of an empty account = %+v, %v", keys, err)
	}
}

// TestAliasStates: UpdateAlias may move an alias away from a key pending
// deletion but not onto one ([10]); DeleteAlias works in every state.
func TestAliasStates(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	c := testCaller
	k1, k2 := createKey(t, s), createKey(t, s)
	createAlias(t, s, "alias/move", k1.KeyId)
	createAlias(t, s, "alias/gone", k1.KeyId)
	if _, err := s.ScheduleKeyDeletion(ctx, c, &ScheduleKeyDeletionInput{KeyId: ptr(k1.KeyId)}); err != nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	if _, err := s.UpdateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/move"), TargetKeyId: ptr(k2.KeyId)}); err != nil {
		t.Errorf("UpdateAlias away from a key pending deletion: %v", err)
	}
	_, err := s.UpdateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/move"), TargetKeyId: ptr(k1.KeyId)})
	wantErr(t, "UpdateAlias onto a key pending deletion", err, "KMSInvalidStateException", k1.Arn+" is pending deletion.")
	if _, err := s.DeleteAlias(ctx, c, &DeleteAliasInput{AliasName: ptr("alias/gone")}); err != nil {
		t.Errorf("DeleteAlias of a key pending deletion: %v", err)
	}
	_, err = s.EnableKeyRotation(ctx, c, &EnableKeyRotationInput{KeyId: ptr(k1.KeyId)})
	wantErr(t, "EnableKeyRotation on a key pending deletion", err, "KMSInvalidStateException", k1.Arn+" is pending deletion.")
	if _, err := s.GetKeyRotationStatus(ctx, c, &KeyIDInput{KeyId: ptr(k1.KeyId)}); err != nil {
		t.Errorf("GetKeyRotationStatus on a key pending deletion: %v", err)
	}
	if _, err := s.PutKeyPolicy(ctx, c, &PutKeyPolicyInput{KeyId: ptr(k1.KeyId), Policy: ptr(DefaultKeyPolicy(testAccount))}); err != nil {
		t.Errorf("PutKeyPolicy on a key pending deletion: %v", err)
	}
	// 50 aliases per key.
	for i := range 49 { // alias/move is the 50th
		createAlias(t, s, "alias/many-"+strings.Repeat("x", i), k2.KeyId)
	}
	_, err = s.CreateAlias(ctx, c, &AliasInput{AliasName: ptr("alias/one-too-many"), TargetKeyId: ptr(k2.KeyId)})
	wantErr(t, "CreateAlias 51st", err, "LimitExceededException", "The number of aliases for key "+k2.Arn+" would exceed the limit of 50.")
}
