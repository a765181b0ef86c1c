package server_test

// End-to-end tests of the audit trail: every request leaves exactly one
// record in CloudTrail's format, read back through CloudTrail's LookupEvents
// with the real SDK client; GetKeyLastUsage; service events; fail-closed
// writes; encryption-context hygiene.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/audit"
	"github.com/custoskms/custos/internal/server"
	"github.com/custoskms/custos/internal/sigv4"
)

// idRecorder is an HTTP client that remembers the x-amzn-RequestId header
// of the last reply.
type idRecorder struct {
	mu   sync.Mutex
	last string
}

func (r *idRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if resp != nil {
		r.mu.Lock()
		r.last = resp.Header.Get("x-amzn-RequestId")
		r.mu.Unlock()
	}
	return resp, err
}

// take returns the request id of the last reply and forgets it.
func (r *idRecorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.last
	r.last = ""
	return id
}

// recordingClient is client("us-east-1") with rec as its HTTP client.
func (e *env) recordingClient(rec *idRecorder, id, secret string) *kms.Client {
	return kms.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:  rec,
	}, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(e.srv.Endpoint())
	})
}

// trailClient returns an SDK CloudTrail client for the server, signing with
// the root credentials. It sends the X-Amz-Target the AWS CLI sends,
// "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";
// TestAuditLookupEventsSDKTarget covers the SDK's own shorter one.
func (e *env) trailClient() *cloudtrail.Client {
	return e.trailClientTarget(true)
}

func (e *env) trailClientTarget(cliTarget bool) *cloudtrail.Client {
	return cloudtrail.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *cloudtrail.Options) {
		o.BaseEndpoint = aws.String(e.srv.Endpoint())
		if !cliTarget {
			return
		}
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Build.Add(middleware.BuildMiddlewareFunc("CLITarget", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101."+req.Header.Get("X-Amz-Target"))
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
		})
	})
}

// TestAuditLookupEventsSDKTarget checks that LookupEvents answers the target
// aws-sdk-go-v2 sends, "CloudTrail_20131101.LookupEvents", as well as the
// AWS CLI's "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents".
func TestAuditLookupEventsSDKTarget(t *testing.T) {
	e := start(t)
	try(e.client("us-east-1").CreateKey(ctx, &kms.CreateKeyInput{})).must(t)
	for _, cli := range []bool{true, false} {
		out, err := e.trailClientTarget(cli).LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, "CreateKey")})
		if err != nil {
			t.Errorf("LookupEvents (CLI target %v): %v", cli, err)
			continue
		}
		if len(out.Events) != 1 {
			t.Errorf("LookupEvents (CLI target %v) = %d events, want the CreateKey", cli, len(out.Events))
		}
	}
}

// trailEvent is one record of the trail as it is on disk.
type trailEvent struct {
	seq uint64
	raw string         // the event's JSON as stored
	m   map[string]any // raw decoded
}

func (ev trailEvent) str(name string) string { s, _ := ev.m[name].(string); return s }

// readTrail reads every record of the trail of a data folder, in seq order,
// and checks that the seqs follow each other.
func readTrail(t *testing.T, dataDir string) []trailEvent {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dataDir, audit.DataSubdir, "segment-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(segs)
	var out []trailEvent
	for _, seg := range segs {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if line[len(line)-1] != '\n' {
				t.Fatalf("%s ends in an incomplete record %q", seg, line)
			}
			var rec struct {
				Seq   uint64          `json:"seq"`
				Event json.RawMessage `json:"event"`
			}
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("%s: record %q: %v", seg, line, err)
			}
			ev := trailEvent{seq: rec.Seq, raw: string(rec.Event)}
			if err := json.Unmarshal(rec.Event, &ev.m); err != nil {
				t.Fatalf("%s: event %q: %v", seg, rec.Event, err)
			}
			if n := len(out); n > 0 && out[n-1].seq+1 != ev.seq {
				t.Fatalf("%s: seq %d follows seq %d", seg, ev.seq, out[n-1].seq)
			}
			out = append(out, ev)
		}
	}
	return out
}

// wantEvent is what a test expects of one request's record.
type wantEvent struct {
	name     string
	errCode  string // "" on success
	readOnly bool
	keys     []string       // resources[].ARN, in order
	params   map[string]any // requestParameters, as JSON decodes them
	response any            // responseElements, as JSON decodes them; ignored when checkResponse is set
	// checkResponse, if set, checks responseElements instead of response.
	checkResponse func(t *testing.T, got any)
	decision      string // custosAuthorization.decision; "" when no authorizer decided
	reason        string // a substring of custosAuthorization.reason
}

// auditCall is a request a test made and what its record must be.
type auditCall struct {
	requestID string
	errorMsg  string // the error message the client got
	want      wantEvent
}

// eventShape is the part of a record compared exactly.
type eventShape struct {
	EventVersion, EventSource, EventName, AWSRegion, SourceIP, EventType, Recipient, Category string
	Identity                                                                                  any
	ErrorCode, ErrorMessage                                                                   string
	ReadOnly, Management                                                                      bool
	Params, Resources                                                                         any
	RequestID, Decision                                                                       string
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// checkEvent compares one record with what its request expects.
func checkEvent(t *testing.T, ev trailEvent, c auditCall, identity map[string]any, from, to time.Time) {
	t.Helper()
	w := c.want
	var res any
	if len(w.keys) > 0 {
		var rs []any
		for _, arn := range w.keys {
			rs = append(rs, map[string]any{"accountId": testAccount, "type": "AWS::KMS::Key", "ARN": arn})
		}
		res = rs
	}
	var params any
	if w.params != nil {
		params = w.params
	}
	want := eventShape{
		EventVersion: "1.11", EventSource: "kms.amazonaws.com", EventName: w.name, AWSRegion: "us-east-1",
		SourceIP: "127.0.0.1", EventType: "AwsApiCall", Recipient: testAccount, Category: "Management",
		Identity: identity, ErrorCode: w.errCode, ErrorMessage: c.errorMsg, ReadOnly: w.readOnly, Management: true,
		Params: params, Resources: res, RequestID: c.requestID, Decision: w.decision,
	}
	authz, _ := ev.m["custosAuthorization"].(map[string]any)
	decision, _ := authz["decision"].(string)
	ro, _ := ev.m["readOnly"].(bool)
	mgmt, _ := ev.m["managementEvent"].(bool)
	got := eventShape{
		EventVersion: ev.str("eventVersion"), EventSource: ev.str("eventSource"), EventName: ev.str("eventName"),
		AWSRegion: ev.str("awsRegion"), SourceIP: ev.str("sourceIPAddress"), EventType: ev.str("eventType"),
		Recipient: ev.str("recipientAccountId"), Category: ev.str("eventCategory"), Identity: ev.m["userIdentity"],
		ErrorCode: ev.str("errorCode"), ErrorMessage: ev.str("errorMessage"), ReadOnly: ro, Management: mgmt,
		Params: ev.m["requestParameters"], Resources: ev.m["resources"], RequestID: ev.str("requestID"), Decision: decision,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (request %s): record (-want +got):\n%s\nrecord: %s", w.name, c.requestID, diff, ev.raw)
	}
	if w.reason != "" {
		if r, _ := authz["reason"].(string); !strings.Contains(r, w.reason) {
			t.Errorf("%s: custosAuthorization.reason = %q, want it to contain %q", w.name, r, w.reason)
		}
	}
	if w.checkResponse != nil {
		w.checkResponse(t, ev.m["responseElements"])
	} else if diff := cmp.Diff(w.response, ev.m["responseElements"]); diff != "" {
		t.Errorf("%s: responseElements (-want +got):\n%s", w.name, diff)
	}
	if _, ok := ev.m["responseElements"]; !ok {
		t.Errorf("%s: the record has no responseElements member (CloudTrail writes null)", w.name)
	}
	if _, ok := ev.m["requestParameters"]; !ok {
		t.Errorf("%s: the record has no requestParameters member (CloudTrail writes null)", w.name)
	}
	if !uuidRE.MatchString(ev.str("eventID")) {
		t.Errorf("%s: eventID = %q, want a UUID", w.name, ev.str("eventID"))
	}
	ua := ev.str("userAgent")
	if !strings.HasPrefix(ua, "aws-sdk-go-v2/") {
		t.Errorf("%s: userAgent = %q, want the SDK's", w.name, ua)
	}
	ts := ev.str("eventTime")
	tm, err := time.Parse(time.RFC3339, ts)
	if err != nil || !strings.HasSuffix(ts, "Z") || strings.Contains(ts, ".") {
		t.Errorf("%s: eventTime = %q, want RFC 3339 UTC whole seconds", w.name, ts)
	} else if tm.Before(from.Truncate(time.Second)) || tm.After(to) {
		t.Errorf("%s: eventTime = %v, want between %v and %v", w.name, tm, from, to)
	}
	if w.errCode != "" {
		if msg := ev.str("errorMessage"); strings.Contains(msg, testSecret) {
			t.Errorf("%s: errorMessage %q holds the secret access key", w.name, msg)
		}
	}
}

// rootIdentity is the userIdentity of requests signed with the root
// credentials of start.
var rootIdentity = map[string]any{
	"type":        "Root",
	"principalId": testAccount,
	"arn":         "arn:aws:iam::" + testAccount + ":root",
	"accountId":   testAccount,
	"accessKeyId": testKeyID,
}

// lookupAll pages through LookupEvents with the SDK paginator, MaxResults
// per page, and returns every event.
func lookupAll(t *testing.T, ct *cloudtrail.Client, in *cloudtrail.LookupEventsInput) []cttypes.Event {
	t.Helper()
	var out []cttypes.Event
	p := cloudtrail.NewLookupEventsPaginator(ct, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var as []string
			for _, a := range in.LookupAttributes {
				as = append(as, string(a.AttributeKey)+"="+aws.ToString(a.AttributeValue))
			}
			t.Fatalf("LookupEvents(%s): %v", strings.Join(as, ", "), err)
		}
		if in.MaxResults != nil && len(page.Events) > int(*in.MaxResults) {
			t.Fatalf("LookupEvents returned %d events, more than MaxResults %d", len(page.Events), *in.MaxResults)
		}
		out = append(out, page.Events...)
	}
	return out
}

func attr(key cttypes.LookupAttributeKey, value string) []cttypes.LookupAttribute {
	return []cttypes.LookupAttribute{{AttributeKey: key, AttributeValue: aws.String(value)}}
}

func eventIDs(events []cttypes.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, aws.ToString(ev.EventId))
	}
	return out
}

// TestAuditEveryOperation makes every core KMS operation succeed and fail
// and checks that each request left exactly one record, in order, shaped
// like CloudTrail's KMS events; then reads them back through LookupEvents.
func TestAuditEveryOperation(t *testing.T) {
	e := start(t)
	rec := &idRecorder{}
	c := e.recordingClient(rec, testKeyID, testSecret)
	before := len(readTrail(t, e.dir))
	from := time.Now()
	var calls []auditCall
	// done records a call's outcome: its error must be an errCode error (or
	// nil), and its record is checked later.
	done := func(err error, w wantEvent) {
		t.Helper()
		id := rec.take()
		if id == "" {
			t.Fatalf("%s: the reply had no x-amzn-RequestId", w.name)
		}
		if w.errCode == "" && err != nil {
			t.Fatalf("%s: unexpected error: %v", w.name, err)
		}
		if w.errCode != "" && (err == nil || !strings.Contains(err.Error(), w.errCode)) {
			t.Fatalf("%s: error = %v, want %s", w.name, err, w.errCode)
		}
		var ae smithy.APIError
		msg := ""
		if errors.As(err, &ae) {
			msg = ae.ErrorMessage()
		}
		calls = append(calls, auditCall{requestID: id, errorMsg: msg, want: w})
	}
	canary := []byte("CANARY-plaintext-7f3a9c1e-do-not-log")
	ec := map[string]string{"Department": "Engineering"}
	ecJSON := map[string]any{"Department": "Engineering"}

	// CreateKey.
	created, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("audit e2e"), Tags: []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	id, arn := aws.ToString(created.KeyMetadata.KeyId), aws.ToString(created.KeyMetadata.Arn)
	done(nil, wantEvent{name: "CreateKey", keys: []string{arn}, decision: "Allow",
		params: map[string]any{"description": "audit e2e", "tags": []any{map[string]any{"tagKey": "team", "tagValue": "a"}}},
		checkResponse: func(t *testing.T, got any) {
			md, _ := got.(map[string]any)["keyMetadata"].(map[string]any)
			for k, want := range map[string]any{"keyId": id, "arn": arn, "keyState": "Enabled", "enabled": true, "description": "audit e2e",
				"keyUsage": "ENCRYPT_DECRYPT", "keySpec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS", "keyManager": "CUSTOMER"} {
				if md[k] != want {
					t.Errorf("CreateKey: responseElements.keyMetadata.%s = %v, want %v (responseElements %v)", k, md[k], want, got)
				}
			}
		}})
	k2 := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	id2, arn2 := aws.ToString(k2.KeyId), aws.ToString(k2.Arn)
	done(nil, wantEvent{name: "CreateKey", keys: []string{arn2}, decision: "Allow", params: map[string]any{},
		checkResponse: func(t *testing.T, got any) {
			if md, _ := got.(map[string]any)["keyMetadata"].(map[string]any); md["arn"] != arn2 {
				t.Errorf("CreateKey: responseElements = %v, want keyMetadata of %s", got, arn2)
			}
		}})
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(strings.Repeat("d", 8193))})
	done(err, wantEvent{name: "CreateKey", errCode: "ValidationException", params: map[string]any{"description": strings.Repeat("d", 8193)}})

	// Key state and metadata.
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "DescribeKey", readOnly: true, keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}})
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/does-not-exist")})
	done(err, wantEvent{name: "DescribeKey", errCode: "NotFoundException", readOnly: true, params: map[string]any{"keyId": "alias/does-not-exist"}})
	_, err = c.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(10)})
	done(err, wantEvent{name: "ListKeys", readOnly: true, decision: "Allow", params: map[string]any{"limit": 10.0}})
	_, err = c.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(5000)})
	done(err, wantEvent{name: "ListKeys", errCode: "ValidationException", readOnly: true, params: map[string]any{"limit": 5000.0}})
	_, err = c.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: aws.String(id), Description: aws.String("renamed")})
	done(err, wantEvent{name: "UpdateKeyDescription", keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "description": "renamed"}, response: map[string]any{"keyId": arn}})
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "DisableKey", keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}, response: map[string]any{"keyId": arn}})
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: canary})
	done(err, wantEvent{name: "Encrypt", errCode: "DisabledException", readOnly: true, keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}})
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "EnableKey", keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}, response: map[string]any{"keyId": arn}})
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")})
	done(err, wantEvent{name: "EnableKey", errCode: "NotFoundException", params: map[string]any{"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}})

	// Cryptographic operations: parameters without plaintexts or
	// ciphertexts, responseElements null, read-only as CloudTrail marks them.
	enc := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: canary, EncryptionContext: ec})).must(t)
	done(nil, wantEvent{name: "Encrypt", readOnly: true, keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "encryptionContext": ecJSON, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}})
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: canary, EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
	done(err, wantEvent{name: "Encrypt", errCode: "InvalidKeyUsageException", readOnly: true, keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "encryptionAlgorithm": "RSAES_OAEP_SHA_256"}})
	dec := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})).must(t)
	if !bytes.Equal(dec.Plaintext, canary) {
		t.Fatalf("Decrypt = %q, want the canary", dec.Plaintext)
	}
	done(nil, wantEvent{name: "Decrypt", readOnly: true, keys: []string{arn}, decision: "Allow",
		params: map[string]any{"encryptionContext": ecJSON, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}})
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	done(err, wantEvent{name: "Decrypt", errCode: "InvalidCiphertextException", readOnly: true, keys: []string{arn}, decision: "Allow",
		params: map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}})
	reenc := try(c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: aws.String(id2)})).must(t)
	done(nil, wantEvent{name: "ReEncrypt", readOnly: true, keys: []string{arn, arn2}, decision: "Allow",
		params: map[string]any{"sourceEncryptionContext": ecJSON, "destinationKeyId": id2}})
	gdk := try(c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})).must(t)
	done(nil, wantEvent{name: "GenerateDataKey", readOnly: true, keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "keySpec": "AES_256", "encryptionContext": ecJSON}})
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "GenerateDataKey", errCode: "ValidationException", readOnly: true, params: map[string]any{"keyId": id}})
	gdkw := try(c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: aws.String(id), NumberOfBytes: aws.Int32(32)})).must(t)
	done(nil, wantEvent{name: "GenerateDataKeyWithoutPlaintext", readOnly: true, keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "numberOfBytes": 32.0}})
	random := try(c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)})).must(t)
	done(nil, wantEvent{name: "GenerateRandom", readOnly: true, decision: "Allow", params: map[string]any{"numberOfBytes": 32.0}})
	_, err = c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(2000)})
	done(err, wantEvent{name: "GenerateRandom", errCode: "ValidationException", readOnly: true, params: map[string]any{"numberOfBytes": 2000.0}})
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/does-not-exist"), Plaintext: canary})
	done(err, wantEvent{name: "Encrypt", errCode: "NotFoundException", readOnly: true,
		params: map[string]any{"keyId": "alias/does-not-exist", "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}})

	// Aliases.
	const alias = "alias/audit-e2e"
	aliasARN := "arn:aws:kms:us-east-1:" + testAccount + ":" + alias
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)})
	done(err, wantEvent{name: "CreateAlias", keys: []string{arn, aliasARN}, decision: "Allow",
		params: map[string]any{"aliasName": alias, "targetKeyId": id}, response: map[string]any{"keyId": arn}})
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/reserved"), TargetKeyId: aws.String(id)})
	done(err, wantEvent{name: "CreateAlias", errCode: "InvalidAliasNameException", params: map[string]any{"aliasName": "alias/aws/reserved", "targetKeyId": id}})
	_, err = c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id2)})
	done(err, wantEvent{name: "UpdateAlias", keys: []string{arn, arn2, aliasARN}, decision: "Allow",
		params: map[string]any{"aliasName": alias, "targetKeyId": id2}, response: map[string]any{"keyId": arn2}})
	_, err = c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: aws.String(id2)})
	done(err, wantEvent{name: "ListAliases", readOnly: true, decision: "Allow", params: map[string]any{"keyId": id2}})
	_, err = c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(alias)})
	done(err, wantEvent{name: "DeleteAlias", keys: []string{arn2, aliasARN}, decision: "Allow",
		params: map[string]any{"aliasName": alias}, response: map[string]any{"keyId": arn2}})
	_, err = c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(alias)})
	done(err, wantEvent{name: "DeleteAlias", errCode: "NotFoundException", decision: "Allow", params: map[string]any{"aliasName": alias}})

	// Tags.
	_, err = c.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(id), Tags: []types.Tag{{TagKey: aws.String("env"), TagValue: aws.String("test")}}})
	done(err, wantEvent{name: "TagResource", keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "tags": []any{map[string]any{"tagKey": "env", "tagValue": "test"}}}, response: map[string]any{"keyId": arn}})
	_, err = c.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(id), Tags: []types.Tag{{TagKey: aws.String("aws:x"), TagValue: aws.String("v")}}})
	done(err, wantEvent{name: "TagResource", errCode: "TagException",
		params: map[string]any{"keyId": id, "tags": []any{map[string]any{"tagKey": "aws:x", "tagValue": "v"}}}})
	_, err = c.UntagResource(ctx, &kms.UntagResourceInput{KeyId: aws.String(id), TagKeys: []string{"env"}})
	done(err, wantEvent{name: "UntagResource", keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "tagKeys": []any{"env"}}, response: map[string]any{"keyId": arn}})
	_, err = c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "ListResourceTags", readOnly: true, keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}})

	// Key policies.
	_, err = c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(id), PolicyName: aws.String("default")})
	done(err, wantEvent{name: "GetKeyPolicy", readOnly: true, keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id, "policyName": "default"}})
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"}]}`
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(id), PolicyName: aws.String("default"), Policy: aws.String(doc)})
	done(err, wantEvent{name: "PutKeyPolicy", keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "policyName": "default", "policy": doc}, response: map[string]any{"keyId": arn}})
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(id), Policy: aws.String("{not json")})
	done(err, wantEvent{name: "PutKeyPolicy", errCode: "MalformedPolicyDocumentException", keys: []string{arn}, decision: "Allow",
		params: map[string]any{"keyId": id, "policy": "{not json"}})
	_, err = c.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "ListKeyPolicies", readOnly: true, keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}})

	// Rotation.
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "EnableKeyRotation", keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}, response: map[string]any{"keyId": arn}})
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id), RotationPeriodInDays: aws.Int32(10)})
	done(err, wantEvent{name: "EnableKeyRotation", errCode: "ValidationException", params: map[string]any{"keyId": id, "rotationPeriodInDays": 10.0}})
	_, err = c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "GetKeyRotationStatus", readOnly: true, keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}})
	_, err = c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "DisableKeyRotation", keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}, response: map[string]any{"keyId": arn}})

	// Deletion.
	sched := try(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id2), PendingWindowInDays: aws.Int32(7)})).must(t)
	done(nil, wantEvent{name: "ScheduleKeyDeletion", keys: []string{arn2}, decision: "Allow",
		params: map[string]any{"keyId": id2, "pendingWindowInDays": 7.0},
		checkResponse: func(t *testing.T, got any) {
			m, _ := got.(map[string]any)
			if m["keyId"] != arn2 || m["keyState"] != "PendingDeletion" || m["pendingWindowInDays"] != 7.0 || m["deletionDate"] == nil {
				t.Errorf("ScheduleKeyDeletion: responseElements = %v, want keyId %s, keyState PendingDeletion, pendingWindowInDays 7 and a deletionDate (reply said %v)", got, arn2, sched.DeletionDate)
			}
		}})
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(3)})
	done(err, wantEvent{name: "ScheduleKeyDeletion", errCode: "ValidationException", params: map[string]any{"keyId": id, "pendingWindowInDays": 3.0}})
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id2)})
	done(err, wantEvent{name: "CancelKeyDeletion", keys: []string{arn2}, decision: "Allow", params: map[string]any{"keyId": id2}, response: map[string]any{"keyId": arn2}})
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})
	done(err, wantEvent{name: "CancelKeyDeletion", errCode: "KMSInvalidStateException", keys: []string{arn}, decision: "Allow", params: map[string]any{"keyId": id}})

	// AccessDenied by a key policy that denies: recorded with the reason.
	denyDoc := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"All","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"NoEncrypt","Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*"}]}`
	denied := try(c.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(denyDoc)})).must(t).KeyMetadata
	dID, dARN := aws.ToString(denied.KeyId), aws.ToString(denied.Arn)
	done(nil, wantEvent{name: "CreateKey", keys: []string{dARN}, decision: "Allow", params: map[string]any{"policy": denyDoc},
		checkResponse: func(t *testing.T, got any) {}})
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(dID), Plaintext: canary, EncryptionContext: ec})
	done(err, wantEvent{name: "Encrypt", errCode: "AccessDeniedException", readOnly: true, keys: []string{dARN}, decision: "Deny", reason: "explicit deny",
		params: map[string]any{"keyId": dID, "encryptionContext": ecJSON, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}})

	// Durable before answered: the last reply's record is already on disk.
	to := time.Now().Add(time.Second)
	events := readTrail(t, e.dir)[before:]
	if len(events) != len(calls) {
		for _, ev := range events {
			t.Logf("record: %s", ev.raw)
		}
		t.Fatalf("the trail holds %d new records for %d requests, want exactly one each", len(events), len(calls))
	}
	seen := map[string]bool{}
	for i, ev := range events {
		checkEvent(t, ev, calls[i], rootIdentity, from, to)
		if seen[ev.str("eventID")] {
			t.Errorf("eventID %s appears twice", ev.str("eventID"))
		}
		seen[ev.str("eventID")] = true
	}

	// A request that fails authentication is recorded too, with the access
	// key id it claimed.
	const bogusKey = "AKIDBOGUSAUDIT000001"
	_, err = e.recordingClient(rec, bogusKey, "wrong-secret-0000000000000000000000000").ListKeys(ctx, &kms.ListKeysInput{})
	if err == nil {
		t.Fatal("ListKeys with an unknown access key succeeded")
	}
	unauthID := rec.take()

	ct := e.trailClient()
	t.Run("LookupEvents", func(t *testing.T) {
		all := readTrail(t, e.dir)
		byID := map[string]trailEvent{}
		for _, ev := range all {
			byID[ev.str("eventID")] = ev
		}
		// EventName: every CreateKey, newest first, each as recorded.
		got := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, "CreateKey")})
		var want []string
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].str("eventName") == "CreateKey" {
				want = append(want, all[i].str("eventID"))
			}
		}
		if diff := cmp.Diff(want, eventIDs(got)); diff != "" {
			t.Errorf("LookupEvents(EventName=CreateKey) event ids (-want +got):\n%s", diff)
		}
		for _, ev := range got {
			disk := byID[aws.ToString(ev.EventId)]
			if aws.ToString(ev.CloudTrailEvent) != disk.raw {
				t.Errorf("LookupEvents CloudTrailEvent = %s, want the record %s", aws.ToString(ev.CloudTrailEvent), disk.raw)
			}
			tm, _ := time.Parse(time.RFC3339, disk.str("eventTime"))
			shape := []string{aws.ToString(ev.EventName), aws.ToString(ev.EventSource), aws.ToString(ev.ReadOnly), aws.ToString(ev.AccessKeyId), aws.ToString(ev.Username)}
			if diff := cmp.Diff([]string{"CreateKey", "kms.amazonaws.com", "false", testKeyID, "root"}, shape); diff != "" {
				t.Errorf("LookupEvents event fields (-want +got):\n%s", diff)
			}
			if !aws.ToTime(ev.EventTime).Equal(tm) {
				t.Errorf("LookupEvents EventTime = %v, want %v", aws.ToTime(ev.EventTime), tm)
			}
			if disk.str("errorCode") == "" && (len(ev.Resources) != 1 || aws.ToString(ev.Resources[0].ResourceType) != "AWS::KMS::Key" || !strings.Contains(aws.ToString(ev.Resources[0].ResourceName), ":key/")) {
				t.Errorf("LookupEvents Resources = %+v, want the created key", ev.Resources)
			}
		}

		// ResourceName: by key id and by ARN, the events whose resources
		// name the key, or whose requestParameters.keyId is that name.
		for _, name := range []string{id, arn} {
			var want []string
			for i := len(all) - 1; i >= 0; i-- {
				ev := all[i]
				named := false
				rs, _ := ev.m["resources"].([]any)
				for _, r := range rs {
					named = named || r.(map[string]any)["ARN"] == arn
				}
				if p, _ := ev.m["requestParameters"].(map[string]any); p["keyId"] == name {
					named = true
				}
				if named {
					want = append(want, ev.str("eventID"))
				}
			}
			got := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, name)})
			if diff := cmp.Diff(want, eventIDs(got)); diff != "" {
				t.Errorf("LookupEvents(ResourceName=%s) (-want +got):\n%s", name, diff)
			}
		}

		// EventId: exactly that event.
		target := events[len(events)-1]
		got = lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventId, target.str("eventID"))})
		if len(got) != 1 || aws.ToString(got[0].CloudTrailEvent) != target.raw {
			t.Errorf("LookupEvents(EventId=%s) = %d events, want exactly the record %s", target.str("eventID"), len(got), target.raw)
		}

		// AccessKeyId: the failed authentication alone.
		got = lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyAccessKeyId, bogusKey)})
		if len(got) != 1 {
			t.Fatalf("LookupEvents(AccessKeyId=%s) = %d events, want 1", bogusKey, len(got))
		}
		var unauth map[string]any
		json.Unmarshal([]byte(aws.ToString(got[0].CloudTrailEvent)), &unauth)
		if unauth["requestID"] != unauthID || unauth["errorCode"] == nil || unauth["eventName"] != "ListKeys" ||
			unauth["userIdentity"].(map[string]any)["accessKeyId"] != bogusKey {
			t.Errorf("the record of a request with an unknown access key = %v, want ListKeys, requestID %s, an errorCode and accessKeyId %s", unauth, unauthID, bogusKey)
		}
		// AccessKeyId of root: every request of this test.
		got = lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyAccessKeyId, testKeyID), MaxResults: aws.Int32(50)})
		gotIDs := eventIDs(got)
		for _, ev := range events {
			if !slices.Contains(gotIDs, ev.str("eventID")) {
				t.Errorf("LookupEvents(AccessKeyId=%s) misses %s %s", testKeyID, ev.str("eventName"), ev.str("eventID"))
			}
		}

		// ReadOnly: the two sets split the requests of this test.
		ro := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyReadOnly, "true")})
		rw := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyReadOnly, "false")})
		roIDs, rwIDs := eventIDs(ro), eventIDs(rw)
		for i, ev := range events {
			inRO, inRW := slices.Contains(roIDs, ev.str("eventID")), slices.Contains(rwIDs, ev.str("eventID"))
			if inRO != calls[i].want.readOnly || inRW == calls[i].want.readOnly {
				t.Errorf("%s: in ReadOnly=true lookup %v, in ReadOnly=false lookup %v; want readOnly %v", ev.str("eventName"), inRO, inRW, calls[i].want.readOnly)
			}
		}
		for _, ev := range ro {
			if aws.ToString(ev.ReadOnly) != "true" {
				t.Errorf("LookupEvents(ReadOnly=true) returned %s with ReadOnly %q", aws.ToString(ev.EventName), aws.ToString(ev.ReadOnly))
			}
		}

		// Paging: MaxResults 3 with NextToken gives the same events as one
		// page, in the same order, none twice.
		onePage := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, id), MaxResults: aws.Int32(50)})
		paged := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, id), MaxResults: aws.Int32(3)})
		if len(onePage) < 7 {
			t.Fatalf("LookupEvents(ResourceName=%s) = %d events, want enough to page", id, len(onePage))
		}
		if diff := cmp.Diff(eventIDs(onePage), eventIDs(paged)); diff != "" {
			t.Errorf("paged LookupEvents (-one page +pages of 3):\n%s", diff)
		}
		first, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(3)})
		if err != nil || len(first.Events) != 3 || first.NextToken == nil {
			t.Fatalf("LookupEvents(MaxResults=3) = %v, %v; want 3 events and a NextToken", first, err)
		}
		// A token only continues the query that made it.
		_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: first.NextToken, LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, "Encrypt")})
		wantErr[*cttypes.InvalidNextTokenException](t, err)
		_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)})
		wantErr[*cttypes.InvalidMaxResultsException](t, err)
		_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: append(attr(cttypes.LookupAttributeKeyEventName, "Encrypt"), attr(cttypes.LookupAttributeKeyReadOnly, "true")...)})
		wantErr[*cttypes.InvalidLookupAttributesException](t, err)

		// StartTime and EndTime.
		now := time.Now()
		window := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, id),
			StartTime: aws.Time(from.Add(-time.Second)), EndTime: aws.Time(now.Add(time.Second))})
		if diff := cmp.Diff(eventIDs(onePage), eventIDs(window)); diff != "" {
			t.Errorf("LookupEvents in [start of test, now] (-all +window):\n%s", diff)
		}
		for _, w := range []struct {
			name       string
			start, end time.Time
		}{
			{"future", now.Add(time.Hour), now.Add(2 * time.Hour)},
			{"past", from.Add(-2 * time.Hour), from.Add(-time.Hour)},
		} {
			got := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, id), StartTime: aws.Time(w.start), EndTime: aws.Time(w.end)})
			if len(got) != 0 {
				t.Errorf("LookupEvents in the %s window = %d events, want 0", w.name, len(got))
			}
		}
		_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Hour))})
		wantErr[*cttypes.InvalidTimeRangeException](t, err)

		// LookupEvents is audited too, as a CloudTrail event.
		lookups := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, "LookupEvents"), MaxResults: aws.Int32(1)})
		if len(lookups) == 0 || aws.ToString(lookups[0].EventSource) != "cloudtrail.amazonaws.com" || aws.ToString(lookups[0].ReadOnly) != "true" {
			t.Errorf("LookupEvents(EventName=LookupEvents) = %+v, want records of the lookups from cloudtrail.amazonaws.com", lookups)
		}
	})

	// Nothing secret reached the trail or its export: not the plaintext, not
	// the data key, not a ciphertext, not the secret access key.
	if err := e.srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	secrets := map[string][]byte{"the plaintext": canary, "the secret access key": []byte(testSecret)}
	for name, b := range map[string][]byte{"the plaintext": canary, "the ciphertext": enc.CiphertextBlob, "the data key": gdk.Plaintext,
		"the data key ciphertext": gdk.CiphertextBlob, "the data key without plaintext": gdkw.CiphertextBlob,
		"the re-encrypted ciphertext": reenc.CiphertextBlob, "the random bytes": random.Plaintext} {
		secrets[name+" (base64)"] = []byte(base64.StdEncoding.EncodeToString(b))
	}
	secrets["the data key"] = gdk.Plaintext
	exported := 0
	for _, root := range []string{filepath.Join(e.dir, audit.DataSubdir), filepath.Join(e.dir, "audit-export")} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(path, ".gz") {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if data, err = io.ReadAll(zr); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if bytes.Contains(data, []byte(events[0].str("eventID"))) {
					exported++
				}
			}
			for name, s := range secrets {
				if bytes.Contains(data, s) {
					t.Errorf("%s holds %s", path, name)
				}
			}
			return nil
		})
	}
	if exported == 0 {
		t.Errorf("no CloudTrail file under %s holds the records of this test", filepath.Join(e.dir, "audit-export"))
	}
}

// TestAuditKeyLastUsage checks GetKeyLastUsage against the trail.
func TestAuditKeyLastUsage(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	ct := e.trailClient()
	k := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	fresh := try(c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: k.KeyId})).must(t)
	if u := fresh.KeyLastUsage; u != nil && (u.Operation != "" || u.Timestamp != nil || u.CloudTrailEventId != nil || u.KmsRequestId != nil) {
		t.Errorf("GetKeyLastUsage of a fresh key: KeyLastUsage = %+v, want empty", *u)
	}
	if aws.ToString(fresh.KeyId) != aws.ToString(k.KeyId) || !aws.ToTime(fresh.KeyCreationDate).Equal(aws.ToTime(k.CreationDate)) {
		t.Errorf("GetKeyLastUsage: KeyId %q, KeyCreationDate %v; want %q, %v", aws.ToString(fresh.KeyId), fresh.KeyCreationDate, aws.ToString(k.KeyId), k.CreationDate)
	}
	// A failed use is no use.
	_, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: bytes.Repeat([]byte{1}, 200)})
	if err == nil {
		t.Fatal("Decrypt of garbage succeeded")
	}
	if u := try(c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: k.KeyId})).must(t).KeyLastUsage; u != nil && u.Operation != "" {
		t.Errorf("after a failed Decrypt: KeyLastUsage.Operation = %q, want none", u.Operation)
	}

	encOut := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})).must(t)
	encRequestID, _ := awsmiddleware.GetRequestIDMetadata(encOut.ResultMetadata)
	got := try(c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: k.Arn})).must(t)
	evs := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, aws.ToString(k.KeyId))})
	var encEvent *cttypes.Event
	for i := range evs {
		if aws.ToString(evs[i].EventName) == "Encrypt" {
			encEvent = &evs[i]
			break
		}
	}
	if encEvent == nil {
		t.Fatalf("LookupEvents finds no Encrypt of %s", aws.ToString(k.KeyId))
	}
	u := got.KeyLastUsage
	if u == nil {
		t.Fatal("GetKeyLastUsage after Encrypt: no KeyLastUsage")
	}
	if u.Operation != "Encrypt" || aws.ToString(u.CloudTrailEventId) != aws.ToString(encEvent.EventId) || !aws.ToTime(u.Timestamp).Equal(aws.ToTime(encEvent.EventTime)) {
		t.Errorf("GetKeyLastUsage = {%s %s %v}, want {Encrypt %s %v} as LookupEvents has it",
			u.Operation, aws.ToString(u.CloudTrailEventId), aws.ToTime(u.Timestamp), aws.ToString(encEvent.EventId), aws.ToTime(encEvent.EventTime))
	}
	if u.KmsRequestId != nil && aws.ToString(u.KmsRequestId) != encRequestID {
		t.Errorf("GetKeyLastUsage KmsRequestId = %q, want the Encrypt's %q", aws.ToString(u.KmsRequestId), encRequestID)
	}
	if d := time.Since(aws.ToTime(u.Timestamp)); d < 0 || d > time.Minute {
		t.Errorf("GetKeyLastUsage Timestamp = %v, not now", u.Timestamp)
	}
	// Still known after a restart: it is read back from the trail.
	e.srv.Close(ctx)
	e.srv = e.open(server.Config{DataDir: e.dir, RootAccessKeyID: testKeyID, RootSecretKey: testSecret, Now: e.clock.Now, SweepInterval: time.Hour})
	c = e.client("us-east-1")
	again := try(c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: k.KeyId})).must(t).KeyLastUsage
	if again == nil || again.Operation != "Encrypt" || aws.ToString(again.CloudTrailEventId) != aws.ToString(encEvent.EventId) {
		t.Errorf("GetKeyLastUsage after restart = %+v, want the same Encrypt", again)
	}
}

// TestAuditServiceEvents checks that keys deleted and rotated by the
// service itself are recorded as AwsServiceEvents.
func TestAuditServiceEvents(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	ct := e.trailClient()
	doomed := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	rotating := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	try(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: doomed.KeyId, PendingWindowInDays: aws.Int32(7)})).must(t)
	try(c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: rotating.KeyId, RotationPeriodInDays: aws.Int32(90)})).must(t)

	e.clock.Advance(7*24*time.Hour + time.Minute)
	deleted, _, err := e.srv.KMS().Sweep(ctx)
	if err != nil || deleted != 1 {
		t.Fatalf("Sweep after 7 days = %d deleted, %v; want 1", deleted, err)
	}
	e.clock.Advance(90 * 24 * time.Hour)
	if _, rotated, err := e.srv.KMS().Sweep(ctx); err != nil || rotated != 1 {
		t.Fatalf("Sweep after 97 days = %d rotated, %v; want 1", rotated, err)
	}

	for _, tc := range []struct{ name, arn string }{{"DeleteKey", aws.ToString(doomed.Arn)}, {"RotateKey", aws.ToString(rotating.Arn)}} {
		evs := lookupAll(t, ct, &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, tc.name)})
		if len(evs) != 1 {
			t.Fatalf("LookupEvents(EventName=%s) = %d events, want 1", tc.name, len(evs))
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(evs[0].CloudTrailEvent)), &m); err != nil {
			t.Fatal(err)
		}
		got := map[string]any{
			"eventType": m["eventType"], "eventSource": m["eventSource"], "userIdentity": m["userIdentity"],
			"resources": m["resources"], "recipientAccountId": m["recipientAccountId"], "awsRegion": m["awsRegion"],
			"sourceIPAddress": m["sourceIPAddress"], "userAgent": m["userAgent"], "readOnly": m["readOnly"],
			"managementEvent": m["managementEvent"], "errorCode": m["errorCode"], "requestID": m["requestID"],
		}
		want := map[string]any{
			"eventType": "AwsServiceEvent", "eventSource": "kms.amazonaws.com",
			"userIdentity":       map[string]any{"accountId": testAccount, "invokedBy": "kms.amazonaws.com"},
			"resources":          []any{map[string]any{"accountId": testAccount, "type": "AWS::KMS::Key", "ARN": tc.arn}},
			"recipientAccountId": testAccount, "awsRegion": "us-east-1", "sourceIPAddress": "kms.amazonaws.com",
			"userAgent": "kms.amazonaws.com", "readOnly": false, "managementEvent": true, "errorCode": nil, "requestID": nil,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s service event (-want +got):\n%s\nevent: %s", tc.name, diff, aws.ToString(evs[0].CloudTrailEvent))
		}
	}
	// Service events do not count as use of a key.
	if u := try(c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: rotating.KeyId})).must(t).KeyLastUsage; u != nil && u.Operation != "" {
		t.Errorf("GetKeyLastUsage after an automatic rotation = %q, want none", u.Operation)
	}
}

// TestAuditFailClosed makes the trail's file unwritable (a file-size limit
// at its current size: every write fails with EFBIG, as on a full disk) and
// checks that requests then fail with KMSInternalException, that nothing
// succeeded unrecorded, and that a restart resumes an intact trail.
func TestAuditFailClosed(t *testing.T) {
	logs := &logBuffer{}
	e := start(t, func(cfg *server.Config) { cfg.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	c := e.client("us-east-1")
	k := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	blob := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("before")})).must(t).CiphertextBlob
	before := readTrail(t, e.dir)

	segs, _ := filepath.Glob(filepath.Join(e.dir, audit.DataSubdir, "segment-*.jsonl"))
	slices.Sort(segs)
	fi, err := os.Stat(segs[len(segs)-1])
	if err != nil {
		t.Fatal(err)
	}
	// Go ignores SIGXFSZ, so a write past the limit fails with EFBIG.
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	limit := old
	limit.Cur = uint64(fi.Size())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Skipf("cannot limit the file size: %v", err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatalf("restore RLIMIT_FSIZE: %v", err)
			}
		}
	}
	defer restore()

	calls := []struct {
		name string
		call func() error
	}{
		{"Encrypt", func() error {
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("during")})
			return err
		}},
		{"Decrypt", func() error { _, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob}); return err }},
		{"GenerateDataKey", func() error {
			_, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256})
			return err
		}},
		{"DescribeKey", func() error { _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId}); return err }},
	}
	for _, tc := range calls {
		err := tc.call()
		wantErr[*types.KMSInternalException](t, err)
	}
	restore()
	if !strings.Contains(logs.String(), "file too large") {
		t.Errorf("server log = %q, want the trail's write failure (EFBIG)", logs.String())
	}
	// The trail stays failed until restart: nothing is answered unrecorded.
	for _, tc := range calls {
		err := tc.call()
		wantErr[*types.KMSInternalException](t, err)
	}
	if after := readTrail(t, e.dir); len(after) != len(before) {
		t.Errorf("the trail holds %d records after the failed writes, want the %d from before", len(after), len(before))
	}

	// Restart: the trail is intact and takes records again.
	e.srv.Close(ctx)
	e.srv = e.open(server.Config{DataDir: e.dir, RootAccessKeyID: testKeyID, RootSecretKey: testSecret, Now: e.clock.Now, SweepInterval: time.Hour})
	c = e.client("us-east-1")
	try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("after")})).must(t)
	after := readTrail(t, e.dir)
	if len(after) != len(before)+1 || after[len(after)-1].str("eventName") != "Encrypt" || after[len(after)-1].str("errorCode") != "" {
		t.Errorf("after restart the trail holds %d records (last %s), want %d ending in the successful Encrypt", len(after), after[len(after)-1].raw, len(before)+1)
	}
	e.srv.Close(ctx)
	pub, err := os.ReadFile(filepath.Join(e.dir, audit.DataSubdir, audit.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.ParsePublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Verify(filepath.Join(e.dir, audit.DataSubdir), key)
	if err != nil || r.Status != audit.Intact {
		var b strings.Builder
		r.WriteText(&b)
		t.Errorf("Verify after the failure and restart = %v, %v, want intact\n%s", r.Status, err, b.String())
	}
}

// TestAuditClientHangsUp sends CreateKeys and closes each connection at
// once: a request the server carried out is recorded even though its
// client is gone, and every key that exists has its CreateKey record.
func TestAuditClientHangsUp(t *testing.T) {
	e := start(t)
	addr := strings.TrimPrefix(e.srv.Endpoint(), "http://")
	const n = 100
	for range n {
		req, err := http.NewRequest(http.MethodPost, e.srv.Endpoint()+"/", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "TrentService.CreateKey")
		sigv4.Sign(req, []byte("{}"), testKeyID, []byte(testSecret), "", "us-east-1", "kms", time.Now())
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := req.Write(conn); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	// Close waits for the requests in flight; reopen to count the keys.
	e.srv.Close(ctx)
	e.srv = e.open(server.Config{DataDir: e.dir, RootAccessKeyID: testKeyID, RootSecretKey: testSecret, Now: e.clock.Now, SweepInterval: time.Hour})
	keys := 0
	p := kms.NewListKeysPaginator(e.client("us-east-1"), &kms.ListKeysInput{})
	for p.HasMorePages() {
		keys += len(try(p.NextPage(ctx)).must(t).Keys)
	}
	recorded, succeeded := 0, 0
	for _, ev := range readTrail(t, e.dir) {
		if ev.str("eventName") == "CreateKey" {
			recorded++
			if ev.str("errorCode") == "" {
				succeeded++
			}
		}
	}
	t.Logf("%d requests sent and abandoned: %d keys made, %d CreateKey records", n, keys, recorded)
	if succeeded != keys || recorded > n {
		t.Errorf("%d keys exist but the trail records %d successful CreateKeys (of %d records for %d requests)", keys, succeeded, recorded, n)
	}
}

// logBuffer is a slog handler's output that tests read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAuditContextHygiene checks the findings about sensitive-looking
// encryption contexts, and their refusal when configured.
func TestAuditContextHygiene(t *testing.T) {
	const email = "alice.jones@example.com"
	sensitive := map[string]string{"owner": email, "purpose": "billing"}
	lastEvent := func(t *testing.T, e *env) trailEvent {
		t.Helper()
		evs := readTrail(t, e.dir)
		return evs[len(evs)-1]
	}

	t.Run("default records a finding", func(t *testing.T) {
		logs := &logBuffer{}
		e := start(t, func(cfg *server.Config) { cfg.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
		c := e.client("us-east-1")
		k := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
		try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: sensitive})).must(t)
		ev := lastEvent(t, e)
		if diff := cmp.Diff([]any{map[string]any{"key": "owner", "kind": "email"}}, ev.m["custosFindings"]); diff != "" {
			t.Errorf("custosFindings (-want +got):\n%s\nrecord: %s", diff, ev.raw)
		}
		if f, _ := json.Marshal(ev.m["custosFindings"]); strings.Contains(string(f), "alice") {
			t.Errorf("custosFindings %s repeat the value", f)
		}
		if !strings.Contains(logs.String(), "owner") || !strings.Contains(logs.String(), "email") {
			t.Errorf("server log = %q, want a warning naming the key and the kind", logs.String())
		}
		if strings.Contains(logs.String(), "alice") {
			t.Errorf("server log %q repeats the value", logs.String())
		}
		// A harmless context has no finding.
		try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"purpose": "billing"}})).must(t)
		if ev := lastEvent(t, e); ev.m["custosFindings"] != nil {
			t.Errorf("custosFindings of a harmless context = %v, want none", ev.m["custosFindings"])
		}
	})

	t.Run("RejectSensitiveContext refuses", func(t *testing.T) {
		e := start(t, func(cfg *server.Config) { cfg.RejectSensitiveContext = true })
		c := e.client("us-east-1")
		k := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
		blob := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"purpose": "billing"}})).must(t).CiphertextBlob
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"Encrypt", func() error {
				_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: sensitive})
				return err
			}},
			{"Decrypt", func() error {
				_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: sensitive})
				return err
			}},
			{"GenerateDataKey", func() error {
				_, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256, EncryptionContext: sensitive})
				return err
			}},
			{"ReEncrypt", func() error {
				_, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: blob, SourceEncryptionContext: map[string]string{"purpose": "billing"},
					DestinationKeyId: k.KeyId, DestinationEncryptionContext: sensitive})
				return err
			}},
		} {
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "'owner'") {
				t.Errorf("%s: error = %v, want a ValidationException naming the key 'owner'", tc.name, err)
			} else if strings.Contains(ae.ErrorMessage(), "alice") {
				t.Errorf("%s: error %q repeats the value", tc.name, ae.ErrorMessage())
			}
			ev := lastEvent(t, e)
			if ev.str("eventName") != tc.name || ev.str("errorCode") != "ValidationException" || strings.Contains(ev.str("errorMessage"), "alice") {
				t.Errorf("%s: record = %s, want the refused %s without the value", tc.name, ev.raw, tc.name)
			}
			if diff := cmp.Diff([]any{map[string]any{"key": "owner", "kind": "email"}}, ev.m["custosFindings"]); diff != "" {
				t.Errorf("%s: custosFindings (-want +got):\n%s", tc.name, diff)
			}
			// The refused value is kept out of the trail.
			if strings.Contains(ev.raw, "alice") {
				t.Errorf("%s: the record of a refused request holds the refused value: %s", tc.name, ev.raw)
			}
		}
		// A harmless context is served.
		try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"purpose": "billing"}})).must(t)
	})
}
