package server_test

// End-to-end scenarios of authorization, each from the AWS guide
// "Encryption best practices for AWS Key Management Service": principals
// made through the IAM, STS and Organizations APIs, keys and key policies
// through KMS, every decision checked against AWS's text and against
// CustosService.Explain, and some against IAM's policy simulator.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	otypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/custoskms/custos/internal/server"
	"github.com/custoskms/custos/internal/sigv4"
)

// creds are the credentials a client signs with.
type creds struct{ id, secret, token string }

var rootCreds = creds{testKeyID, testSecret, ""}

func (e *env) awsConfig(region string, c creds) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(c.id, c.secret, c.token),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func (e *env) kmsAs(region string, c creds) *kms.Client {
	return kms.NewFromConfig(e.awsConfig(region, c), func(o *kms.Options) { o.BaseEndpoint = aws.String(e.srv.Endpoint()) })
}

func (e *env) iamAs(c creds) *iam.Client {
	return iam.NewFromConfig(e.awsConfig("us-east-1", c), func(o *iam.Options) { o.BaseEndpoint = aws.String(e.srv.Endpoint()) })
}

func (e *env) stsAs(c creds) *sts.Client {
	return sts.NewFromConfig(e.awsConfig("us-east-1", c), func(o *sts.Options) { o.BaseEndpoint = aws.String(e.srv.Endpoint()) })
}

// Policy documents.

type stmt map[string]any

func policyDoc(stmts ...stmt) string {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func allow(sid string, principal any, actions ...string) stmt {
	s := stmt{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"}
	if principal != nil {
		s["Principal"] = map[string]any{"AWS": principal}
	}
	return s
}

func deny(sid string, actions ...string) stmt {
	return stmt{"Sid": sid, "Effect": "Deny", "Action": actions, "Resource": "*"}
}

func (s stmt) when(op, key string, value any) stmt {
	s["Condition"] = map[string]any{op: map[string]any{key: value}}
	return s
}

func rootOf(account string) string { return "arn:aws:iam::" + account + ":root" }

// keyAdminActions are the console's "key administrators" actions.
var keyAdminActions = []string{
	"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
	"kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
}

// The root's management statement of keys whose policies do not delegate
// use to IAM.
func rootAdmin(account string) stmt {
	return allow("RootAdministers", rootOf(account), "kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion")
}

// IAM helpers.

// newUser creates a user with an access key and returns its ARN and
// credentials.
func newUser(t *testing.T, c *iam.Client, name string) (string, creds) {
	t.Helper()
	u := try(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})).must(t).User
	k := try(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})).must(t).AccessKey
	return aws.ToString(u.Arn), creds{aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey), ""}
}

func putUserPolicy(t *testing.T, c *iam.Client, user, name, doc string) {
	t.Helper()
	try(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})).must(t)
}

func newRole(t *testing.T, c *iam.Client, name, trust string) string {
	t.Helper()
	return aws.ToString(try(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})).must(t).Role.Arn)
}

func trustPolicy(principal string) string {
	return policyDoc(stmt{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "sts:AssumeRole"})
}

// assume assumes a role and returns the session's ARN and credentials.
func assume(t *testing.T, c *sts.Client, roleARN, session string, seconds int32) (string, creds) {
	t.Helper()
	out := try(c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session), DurationSeconds: aws.Int32(seconds)})).must(t)
	cr := out.Credentials
	return aws.ToString(out.AssumedRoleUser.Arn), creds{aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)}
}

func createKey(t *testing.T, c *kms.Client, policy string, bypass bool) (id, arn string) {
	t.Helper()
	in := &kms.CreateKeyInput{BypassPolicyLockoutSafetyCheck: bypass}
	if policy != "" {
		in.Policy = aws.String(policy)
	}
	m := try(c.CreateKey(ctx, in)).must(t).KeyMetadata
	return aws.ToString(m.KeyId), aws.ToString(m.Arn)
}

// deniedMessage is AWS's AccessDenied message.
func deniedMessage(principal, action, resource, reason string) string {
	return "User: " + principal + " is not authorized to perform: " + action + " on resource: " + resource + " " + reason
}

// wantDenied fails unless err is AccessDeniedException with exactly msg.
func wantDenied(t *testing.T, err error, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("error = %v, want AccessDeniedException %q", err, msg)
		return
	}
	if ae.ErrorCode() != "AccessDeniedException" || ae.ErrorMessage() != msg {
		t.Errorf("error = %s: %q\nwant AccessDeniedException: %q", ae.ErrorCode(), ae.ErrorMessage(), msg)
	}
}

// wantCode fails unless err is an API error with code.
func wantCode(t *testing.T, err error, code string, contains ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("error = %v, want %s", err, code)
		return
	}
	for _, c := range contains {
		if !strings.Contains(ae.ErrorMessage(), c) {
			t.Errorf("%s message %q does not contain %q", code, ae.ErrorMessage(), c)
		}
	}
}

// Explain.

// explainReq is a CustosService.Explain request.
type explainReq struct {
	PrincipalArn      string
	Action            string
	KeyId             string              `json:",omitempty"`
	Region            string              `json:",omitempty"`
	EncryptionContext map[string]string   `json:",omitempty"`
	ContextEntries    map[string][]string `json:",omitempty"`
}

// explainCall sends Explain signed with c for region us-east-1 and returns
// the HTTP status and body.
func (e *env) explainCall(t *testing.T, c creds, in any) (int, []byte) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.Endpoint()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", server.ExplainTarget)
	sigv4.Sign(req, body, c.id, []byte(c.secret), c.token, "us-east-1", "kms", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// explain explains in as c and fails the test unless the call succeeds.
func (e *env) explain(t *testing.T, c creds, in explainReq) server.ExplainOutput {
	t.Helper()
	status, body := e.explainCall(t, c, in)
	if status != http.StatusOK {
		t.Fatalf("Explain(%+v) = %d %s, want 200", in, status, body)
	}
	var out server.ExplainOutput
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("Explain reply %s: %v", body, err)
	}
	return out
}

// agrees checks that Explain, asked as explainer about in, gives the
// decision and message of a live request that ended with err, and returns
// the explanation.
func (e *env) agrees(t *testing.T, explainer creds, in explainReq, live error) server.ExplainOutput {
	t.Helper()
	out := e.explain(t, explainer, in)
	want, msg := "Allow", ""
	if live != nil {
		want = "Deny"
		var ae smithy.APIError
		if errors.As(live, &ae) {
			msg = ae.ErrorMessage()
		}
	}
	if out.Decision != want || out.Message != msg {
		t.Errorf("Explain(%s %s on %s) = %s %q, want %s %q as the live request", in.PrincipalArn, in.Action, in.KeyId, out.Decision, out.Message, want, msg)
	}
	if out.AuditReason == "" || out.Reason == "" {
		t.Errorf("Explain(%s %s) Reason = %q, AuditReason = %q; want both", in.PrincipalArn, in.Action, out.Reason, out.AuditReason)
	}
	return out
}

// deciding lists the deciding statements of an explanation as
// "Type Id Sid".
func deciding(out server.ExplainOutput) []string {
	var ds []string
	for _, p := range out.Policies {
		for _, s := range p.Statements {
			if s.Deciding {
				ds = append(ds, p.Type+" "+p.Id+" "+s.Sid)
			}
		}
	}
	return ds
}

func wantDeciding(t *testing.T, out server.ExplainOutput, want ...string) {
	t.Helper()
	got := deciding(out)
	if !slices.Equal(got, want) {
		t.Errorf("Explain(%s %s) deciding statements = %q, want %q\nreason: %s", out.PrincipalArn, out.Action, got, want, out.Reason)
	}
}

// statementReason returns the Reason of the statement with sid.
func statementReason(out server.ExplainOutput, sid string) string {
	for _, p := range out.Policies {
		for _, s := range p.Statements {
			if s.Sid == sid {
				return s.Reason
			}
		}
	}
	return ""
}

// Simulation.

// simulate runs SimulatePrincipalPolicy for source on one action and
// resource with a key policy, and returns the decision.
func simulate(t *testing.T, c *iam.Client, source, action, resource, keyPolicy string, entries ...iamtypes.ContextEntry) string {
	t.Helper()
	out := try(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(source),
		ActionNames:     []string{action},
		ResourceArns:    []string{resource},
		ResourcePolicy:  aws.String(keyPolicy),
		ContextEntries:  entries,
	})).must(t)
	if len(out.EvaluationResults) != 1 {
		t.Fatalf("SimulatePrincipalPolicy: %d results, want 1", len(out.EvaluationResults))
	}
	return string(out.EvaluationResults[0].EvalDecision)
}

func wantSimulated(t *testing.T, got, want, what string) {
	t.Helper()
	if got != want {
		t.Errorf("simulation of %s = %s, want %s (the live decision)", what, got, want)
	}
}

func keyPolicyOf(t *testing.T, c *kms.Client, keyID string) string {
	t.Helper()
	return aws.ToString(try(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default")})).must(t).Policy)
}

// (a) Separation of duties: a key administrator role manages the key but
// cannot use it.
func TestAuthzKeyAdministrator(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)
	aliceARN, alice := newUser(t, admin, "alice")
	roleARN := newRole(t, admin, "KeyAdmin", trustPolicy(aliceARN))
	root := e.kmsAs("us-east-1", rootCreds)
	policy := policyDoc(
		allow("Enable IAM User Permissions", rootOf(testAccount), "kms:*"),
		allow("Allow access for Key Administrators", roleARN, keyAdminActions...),
	)
	keyID, keyARN := createKey(t, root, policy, false)
	blob := try(root.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("payroll")})).must(t).CiphertextBlob

	sessionARN, session := assume(t, e.stsAs(alice), roleARN, "admin", 3600)
	k := e.kmsAs("us-east-1", session)
	id := aws.String(keyID)
	try(k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})).must(t)
	try(k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: id, PolicyName: aws.String("default"), Policy: aws.String(policy)})).must(t)
	try(k.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id})).must(t)
	try(k.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})).must(t)
	try(k.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []kmstypes.Tag{{TagKey: aws.String("owner"), TagValue: aws.String("security")}}})).must(t)
	try(k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)})).must(t)
	try(k.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id})).must(t)
	try(k.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})).must(t)

	_, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
	wantDenied(t, err, deniedMessage(sessionARN, "kms:Encrypt", keyARN, "because no identity-based policy allows the kms:Encrypt action"))
	out := e.agrees(t, rootCreds, explainReq{PrincipalArn: sessionARN, Action: "kms:Encrypt", KeyId: keyID}, err)
	if r := statementReason(out, "Allow access for Key Administrators"); !strings.Contains(r, "does not match Action") {
		t.Errorf("Explain: the administrators' statement's reason = %q, want the action mismatch", r)
	}
	_, err = k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	wantDenied(t, err, deniedMessage(sessionARN, "kms:Decrypt", keyARN, "because no identity-based policy allows the kms:Decrypt action"))
	e.agrees(t, rootCreds, explainReq{PrincipalArn: sessionARN, Action: "kms:Decrypt", KeyId: keyARN}, err)

	out = e.agrees(t, rootCreds, explainReq{PrincipalArn: roleARN, Action: "kms:DisableKey", KeyId: keyID}, nil)
	wantDeciding(t, out, "KeyPolicy "+keyARN+" Allow access for Key Administrators")
	if want := `allowed by KeyPolicy ` + keyARN + ` statement "Allow access for Key Administrators"`; out.Reason != want {
		t.Errorf("Explain(role DisableKey) Reason = %q, want %q", out.Reason, want)
	}
}

// (b) An encrypt-only principal cannot decrypt; (k) the message without
// any resource-based policy allowing; (l) the simulator agrees.
func TestAuthzEncryptOnly(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)
	writerARN, writer := newUser(t, admin, "writer")
	root := e.kmsAs("us-east-1", rootCreds)
	policy := policyDoc(rootAdmin(testAccount), allow("EncryptOnly", writerARN, "kms:Encrypt"))
	keyID, keyARN := createKey(t, root, policy, false)

	w := e.kmsAs("us-east-1", writer)
	blob := try(w.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("log line")})).must(t).CiphertextBlob
	out := e.agrees(t, rootCreds, explainReq{PrincipalArn: writerARN, Action: "kms:Encrypt", KeyId: keyID}, nil)
	wantDeciding(t, out, "KeyPolicy "+keyARN+" EncryptOnly")

	_, err := w.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	wantDenied(t, err, deniedMessage(writerARN, "kms:Decrypt", keyARN, "because no resource-based policy allows the kms:Decrypt action"))
	out = e.agrees(t, rootCreds, explainReq{PrincipalArn: writerARN, Action: "kms:Decrypt", KeyId: keyID}, err)
	wantDeciding(t, out)
	if out.Reason != "because no resource-based policy allows the kms:Decrypt action" {
		t.Errorf("Explain(Decrypt) Reason = %q", out.Reason)
	}
	_, err = w.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: kmstypes.DataKeySpecAes256})
	wantDenied(t, err, deniedMessage(writerARN, "kms:GenerateDataKey", keyARN, "because no resource-based policy allows the kms:GenerateDataKey action"))
	// The root's statement delegates DescribeKey to IAM, which allows the
	// writer nothing.
	_, err = w.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	wantDenied(t, err, deniedMessage(writerARN, "kms:DescribeKey", keyARN, "because no identity-based policy allows the kms:DescribeKey action"))

	wantSimulated(t, simulate(t, admin, writerARN, "kms:Encrypt", keyARN, policy), "allowed", "writer kms:Encrypt")
	wantSimulated(t, simulate(t, admin, writerARN, "kms:Decrypt", keyARN, policy), "implicitDeny", "writer kms:Decrypt")
}

// (f) kms:* in a key policy gives a user everything; (c) an IAM Deny
// works with no key-policy statement about it.
func TestAuthzStarAndIAMDeny(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)
	frankARN, frank := newUser(t, admin, "frank")
	root := e.kmsAs("us-east-1", rootCreds)
	policy := policyDoc(rootAdmin(testAccount), allow("FrankAll", frankARN, "kms:*"))
	keyID, keyARN := createKey(t, root, policy, false)
	id := aws.String(keyID)

	f := e.kmsAs("us-east-1", frank)
	blob := try(f.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("p")})).must(t).CiphertextBlob
	try(f.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})).must(t)
	try(f.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})).must(t)
	try(f.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id})).must(t)
	try(f.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})).must(t)
	try(f.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: id})).must(t)
	try(f.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: id, PolicyName: aws.String("default"), Policy: aws.String(policy)})).must(t)
	// An alias needs IAM's permission for the alias too.
	aliasReq := &kms.CreateAliasInput{AliasName: aws.String("alias/frank"), TargetKeyId: id}
	_, err := f.CreateAlias(ctx, aliasReq)
	aliasARN := "arn:aws:kms:us-east-1:" + testAccount + ":alias/frank"
	wantDenied(t, err, deniedMessage(frankARN, "kms:CreateAlias", aliasARN, "because no identity-based policy allows the kms:CreateAlias action"))
	e.agrees(t, rootCreds, explainReq{PrincipalArn: frankARN, Action: "kms:CreateAlias", KeyId: "alias/frank"}, err)
	putUserPolicy(t, admin, "frank", "Aliases", policyDoc(stmt{"Sid": "Aliases", "Effect": "Allow", "Action": "kms:CreateAlias", "Resource": "arn:aws:kms:*:" + testAccount + ":alias/*"}))
	try(f.CreateAlias(ctx, aliasReq)).must(t)
	try(f.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)})).must(t)
	try(f.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id})).must(t)
	try(f.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})).must(t)
	out := e.agrees(t, rootCreds, explainReq{PrincipalArn: frankARN, Action: "kms:ScheduleKeyDeletion", KeyId: "alias/frank"}, nil)
	wantDeciding(t, out, "KeyPolicy "+keyARN+" FrankAll")
	wantSimulated(t, simulate(t, admin, frankARN, "kms:Decrypt", keyARN, policy), "allowed", "frank kms:Decrypt")

	putUserPolicy(t, admin, "frank", "DenyDecrypt", policyDoc(deny("NoDecrypt", "kms:Decrypt")))
	_, err = f.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	wantDenied(t, err, deniedMessage(frankARN, "kms:Decrypt", keyARN, "with an explicit deny in an identity-based policy"))
	out = e.agrees(t, rootCreds, explainReq{PrincipalArn: frankARN, Action: "kms:Decrypt", KeyId: keyARN}, err)
	wantDeciding(t, out, "IdentityPolicy DenyDecrypt NoDecrypt")
	try(f.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("p")})).must(t)
	wantSimulated(t, simulate(t, admin, frankARN, "kms:Decrypt", keyARN, policy), "explicitDeny", "frank kms:Decrypt after the IAM deny")
	wantSimulated(t, simulate(t, admin, frankARN, "kms:Encrypt", keyARN, policy), "allowed", "frank kms:Encrypt after the IAM deny")
}

// (d) An IAM Allow does nothing until the key policy delegates to the
// account.
func TestAuthzDelegation(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)
	daveARN, dave := newUser(t, admin, "dave")
	putUserPolicy(t, admin, "dave", "UseKeys", policyDoc(allow("UseKeys", nil, "kms:Encrypt", "kms:Decrypt")))
	ownerARN, owner := newUser(t, admin, "owner")
	root := e.kmsAs("us-east-1", rootCreds)
	only := policyDoc(allow("OwnerAll", ownerARN, "kms:*"))
	_, err := root.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(only)})
	wantCode(t, err, "MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.")
	keyID, keyARN := createKey(t, root, only, true)
	id := aws.String(keyID)

	d := e.kmsAs("us-east-1", dave)
	_, err = d.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
	wantDenied(t, err, deniedMessage(daveARN, "kms:Encrypt", keyARN, "because no resource-based policy allows the kms:Encrypt action"))
	out := e.agrees(t, rootCreds, explainReq{PrincipalArn: daveARN, Action: "kms:Encrypt", KeyId: keyID}, err)
	if r := statementReason(out, "UseKeys"); !strings.HasPrefix(r, "applied") {
		t.Errorf("Explain: dave's IAM statement reason = %q, want it applied (and ineffective)", r)
	}
	wantSimulated(t, simulate(t, admin, daveARN, "kms:Encrypt", keyARN, only), "implicitDeny", "dave kms:Encrypt before delegation")
	// The root itself is bound by the key policy.
	_, err = root.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})
	wantDenied(t, err, deniedMessage(rootOf(testAccount), "kms:DescribeKey", keyARN, "because no resource-based policy allows the kms:DescribeKey action"))

	delegating := policyDoc(allow("OwnerAll", ownerARN, "kms:*"), allow("Enable IAM User Permissions", rootOf(testAccount), "kms:*"))
	try(e.kmsAs("us-east-1", owner).PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: id, PolicyName: aws.String("default"), Policy: aws.String(delegating)})).must(t)
	blob := try(d.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})).must(t).CiphertextBlob
	try(d.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})).must(t)
	out = e.agrees(t, rootCreds, explainReq{PrincipalArn: daveARN, Action: "kms:Encrypt", KeyId: keyID}, nil)
	wantDeciding(t, out, "KeyPolicy "+keyARN+" Enable IAM User Permissions", "IdentityPolicy UseKeys UseKeys")
	wantSimulated(t, simulate(t, admin, daveARN, "kms:Encrypt", keyARN, delegating), "allowed", "dave kms:Encrypt after delegation")
	// Still only what IAM allows.
	_, err = d.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})
	wantDenied(t, err, deniedMessage(daveARN, "kms:DescribeKey", keyARN, "because no identity-based policy allows the kms:DescribeKey action"))
	e.agrees(t, rootCreds, explainReq{PrincipalArn: daveARN, Action: "kms:DescribeKey", KeyId: keyID}, err)
}

// orgSetup creates an organization managed by the test account and one
// member account, and returns the management client and the member.
func orgSetup(t *testing.T, e *env, enableSCPs bool) (*organizations.Client, string, orgAccount) {
	t.Helper()
	rec := &orgRecorder{}
	oc := e.orgClient(testKeyID, testSecret, rec)
	try(oc.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: otypes.OrganizationFeatureSetAll})).must(t)
	rootID := aws.ToString(try(oc.ListRoots(ctx, &organizations.ListRootsInput{})).must(t).Roots[0].Id)
	if enableSCPs {
		try(oc.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(rootID), PolicyType: otypes.PolicyTypeServiceControlPolicy})).must(t)
	}
	return oc, rootID, createOrgAccount(t, oc, rec, "dev")
}

// (e) An SCP stops everyone but one role from ScheduleKeyDeletion, the
// member account's root included; the management account is not
// restricted.
func TestAuthzSCP(t *testing.T) {
	e := start(t)
	oc, _, dev := orgSetup(t, e, true)
	scp := policyDoc(stmt{
		"Sid": "OnlyKeyDeleterDeletes", "Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
		"Condition": map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": "arn:aws:iam::*:role/KeyDeleter"}},
	})
	p := try(oc.CreatePolicy(ctx, &organizations.CreatePolicyInput{
		Name: aws.String("only-key-deleter"), Description: aws.String("key deletion by KeyDeleter only"),
		Type: otypes.PolicyTypeServiceControlPolicy, Content: aws.String(scp),
	})).must(t).Policy.PolicySummary
	try(oc.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p.Id, TargetId: aws.String(dev.id)})).must(t)

	devRoot := creds{dev.keyID, dev.secret, ""}
	devIAM := e.iamAs(devRoot)
	opsARN, ops := newUser(t, devIAM, "ops")
	putUserPolicy(t, devIAM, "ops", "Operator", policyDoc(allow("All", nil, "kms:*", "sts:AssumeRole")))
	deleterARN := newRole(t, devIAM, "KeyDeleter", trustPolicy(opsARN))
	try(devIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("KeyDeleter"), PolicyName: aws.String("Keys"), PolicyDocument: aws.String(policyDoc(allow("All", nil, "kms:*")))})).must(t)

	devKMS := e.kmsAs("us-east-1", devRoot)
	keyID, keyARN := createKey(t, devKMS, "", false)
	id := aws.String(keyID)
	scheduled := &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)}

	o := e.kmsAs("us-east-1", ops)
	try(o.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})).must(t)
	_, err := o.ScheduleKeyDeletion(ctx, scheduled)
	wantDenied(t, err, deniedMessage(opsARN, "kms:ScheduleKeyDeletion", keyARN, "with an explicit deny in a service control policy"))
	out := e.agrees(t, devRoot, explainReq{PrincipalArn: opsARN, Action: "kms:ScheduleKeyDeletion", KeyId: keyID}, err)
	wantDeciding(t, out, "ServiceControlPolicy "+aws.ToString(p.Arn)+" OnlyKeyDeleterDeletes")
	if r := statementReason(out, "OnlyKeyDeleterDeletes"); !strings.HasPrefix(r, "applied") {
		t.Errorf("Explain: the SCP statement's reason = %q, want applied", r)
	}
	var scps []string
	for _, pe := range out.Policies {
		if pe.Type == "ServiceControlPolicy" {
			scps = append(scps, pe.Id)
		}
	}
	fullAccess := aws.ToString(try(oc.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-FullAWSAccess")})).must(t).Policy.PolicySummary.Arn)
	slices.Sort(scps)
	if want := sorted(fullAccess, fullAccess, aws.ToString(p.Arn)); !slices.Equal(scps, want) {
		t.Errorf("Explain SCPs = %q, want the root's and the account's (%q)", scps, want)
	}
	wantSimulated(t, simulate(t, devIAM, opsARN, "kms:ScheduleKeyDeletion", keyARN, keyPolicyOf(t, devKMS, keyID)), "explicitDeny", "ops kms:ScheduleKeyDeletion")

	_, err = devKMS.ScheduleKeyDeletion(ctx, scheduled)
	wantDenied(t, err, deniedMessage(rootOf(dev.id), "kms:ScheduleKeyDeletion", keyARN, "with an explicit deny in a service control policy"))
	e.agrees(t, devRoot, explainReq{PrincipalArn: rootOf(dev.id), Action: "kms:ScheduleKeyDeletion", KeyId: keyID}, err)

	sessionARN, session := assume(t, e.stsAs(ops), deleterARN, "cleanup", 900)
	d := e.kmsAs("us-east-1", session)
	try(d.ScheduleKeyDeletion(ctx, scheduled)).must(t)
	try(d.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id})).must(t)
	e.agrees(t, devRoot, explainReq{PrincipalArn: sessionARN, Action: "kms:ScheduleKeyDeletion", KeyId: keyID}, nil)

	// The management account is not restricted.
	mgmt := e.kmsAs("us-east-1", rootCreds)
	mgmtKey, _ := createKey(t, mgmt, "", false)
	try(mgmt.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(mgmtKey), PendingWindowInDays: aws.Int32(7)})).must(t)
	out = e.agrees(t, rootCreds, explainReq{PrincipalArn: rootOf(testAccount), Action: "kms:CancelKeyDeletion", KeyId: mgmtKey}, nil)
	for _, pe := range out.Policies {
		if pe.Type == "ServiceControlPolicy" {
			t.Errorf("Explain for the management account lists SCP %s, want none", pe.Id)
		}
	}
}

// (g) Conditions on aws:RequestedRegion and kms:EncryptionContext:*.
func TestAuthzConditions(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)

	// aws:RequestedRegion in an IAM policy.
	regARN, reg := newUser(t, admin, "regional")
	putUserPolicy(t, admin, "regional", "EuropeOnly", policyDoc(allow("CreateInEurope", nil, "kms:CreateKey").when("StringEquals", "aws:RequestedRegion", "eu-west-1")))
	try(e.kmsAs("eu-west-1", reg).CreateKey(ctx, &kms.CreateKeyInput{})).must(t)
	_, err := e.kmsAs("us-east-1", reg).CreateKey(ctx, &kms.CreateKeyInput{})
	wantDenied(t, err, deniedMessage(regARN, "kms:CreateKey", "*", "because no identity-based policy allows the kms:CreateKey action"))
	out := e.agrees(t, rootCreds, explainReq{PrincipalArn: regARN, Action: "kms:CreateKey"}, err)
	if r := statementReason(out, "CreateInEurope"); !strings.Contains(r, "aws:RequestedRegion") || !strings.Contains(r, "us-east-1") {
		t.Errorf("Explain: the region statement's reason = %q, want the condition and the value compared", r)
	}
	out = e.agrees(t, rootCreds, explainReq{PrincipalArn: regARN, Action: "kms:CreateKey", Region: "eu-west-1"}, nil)
	wantDeciding(t, out, "IdentityPolicy EuropeOnly CreateInEurope")
	out = e.explain(t, rootCreds, explainReq{PrincipalArn: regARN, Action: "kms:CreateKey", ContextEntries: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}})
	if out.Decision != "Allow" {
		t.Errorf("Explain(CreateKey, aws:RequestedRegion overridden to eu-west-1) = %s, want Allow", out.Decision)
	}

	// aws:ViaAWSService is false for a principal's own calls: a key policy
	// that allows decryption only through AWS services denies it.
	root := e.kmsAs("us-east-1", rootCreds)
	viaOnly := policyDoc(
		allow("Enable IAM User Permissions", rootOf(testAccount), "kms:*"),
		stmt{"Sid": "OnlyViaServices", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": map[string]any{"Bool": map[string]any{"aws:ViaAWSService": "false"}}},
	)
	viaKey, viaARN := createKey(t, root, viaOnly, false)
	blob := try(root.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(viaKey), Plaintext: []byte("x")})).must(t).CiphertextBlob
	_, err = root.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	wantDenied(t, err, deniedMessage(rootOf(testAccount), "kms:Decrypt", viaARN, "with an explicit deny in a resource-based policy"))
	out = e.agrees(t, rootCreds, explainReq{PrincipalArn: rootOf(testAccount), Action: "kms:Decrypt", KeyId: viaKey}, err)
	wantDeciding(t, out, "KeyPolicy "+viaARN+" OnlyViaServices")

	// kms:EncryptionContext:dept in a key policy.
	finARN, fin := newUser(t, admin, "fin")
	policy := policyDoc(rootAdmin(testAccount), allow("FinanceOnly", finARN, "kms:Encrypt").when("StringEquals", "kms:EncryptionContext:dept", "finance"))
	keyID, keyARN := createKey(t, root, policy, false)
	f := e.kmsAs("us-east-1", fin)
	for _, tc := range []struct {
		name string
		ec   map[string]string
		ok   bool
	}{
		{"finance", map[string]string{"dept": "finance"}, true},
		{"finance and more", map[string]string{"dept": "finance", "team": "ap"}, true},
		{"hr", map[string]string{"dept": "hr"}, false},
		{"case differs", map[string]string{"dept": "Finance"}, false},
		{"no context", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("x"), EncryptionContext: tc.ec})
			if tc.ok && err != nil {
				t.Fatalf("Encrypt with %v: %v", tc.ec, err)
			}
			if !tc.ok {
				wantDenied(t, err, deniedMessage(finARN, "kms:Encrypt", keyARN, "because no resource-based policy allows the kms:Encrypt action"))
			}
			out := e.agrees(t, rootCreds, explainReq{PrincipalArn: finARN, Action: "kms:Encrypt", KeyId: keyID, EncryptionContext: tc.ec}, err)
			if r := statementReason(out, "FinanceOnly"); !tc.ok && !strings.Contains(r, "kms:EncryptionContext:dept") {
				t.Errorf("Explain: FinanceOnly reason = %q, want the failed condition", r)
			}
			decision := "implicitDeny"
			if tc.ok {
				decision = "allowed"
			}
			var entries []iamtypes.ContextEntry
			for k, v := range tc.ec {
				entries = append(entries, iamtypes.ContextEntry{ContextKeyName: aws.String("kms:EncryptionContext:" + k), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{v}})
			}
			sim := try(admin.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
				PolicyInputList: []string{policyDoc(allow("None", nil, "kms:ListKeys"))},
				ActionNames:     []string{"kms:Encrypt"},
				ResourceArns:    []string{keyARN},
				ResourcePolicy:  aws.String(policy),
				CallerArn:       aws.String(finARN),
				ContextEntries:  entries,
			})).must(t)
			wantSimulated(t, string(sim.EvaluationResults[0].EvalDecision), decision, "fin kms:Encrypt with "+tc.name)
		})
	}
}

// (h) Cross-account use needs both halves; (g) kms:CallerAccount.
func TestAuthzCrossAccount(t *testing.T) {
	e := start(t)
	_, _, b := orgSetup(t, e, false)
	bRoot := creds{b.keyID, b.secret, ""}
	bIAM := e.iamAs(bRoot)
	bobARN, bob := newUser(t, bIAM, "bob")
	useA := policyDoc(stmt{"Sid": "UseKeysOfA", "Effect": "Allow", "Action": []string{"kms:Encrypt", "kms:Decrypt"}, "Resource": "arn:aws:kms:*:" + testAccount + ":key/*"})

	root := e.kmsAs("us-east-1", rootCreds)
	keyID, keyARN := createKey(t, root, "", false)
	bk := e.kmsAs("us-east-1", bob)
	encrypt := func(keyID string) error {
		_, err := bk.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("x")})
		return err
	}

	// Only B's IAM policy.
	putUserPolicy(t, bIAM, "bob", "UseKeysOfA", useA)
	err := encrypt(keyARN)
	wantDenied(t, err, deniedMessage(bobARN, "kms:Encrypt", keyARN, "because no resource-based policy allows the kms:Encrypt action"))
	out := e.agrees(t, bRoot, explainReq{PrincipalArn: bobARN, Action: "kms:Encrypt", KeyId: keyARN}, err)
	for _, p := range out.Policies {
		if p.Type == "KeyPolicy" && len(p.Statements) != 0 {
			t.Errorf("Explain in account B shows the statements of account A's key policy")
		}
	}

	// Only the key policy.
	try(bIAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("UseKeysOfA")})).must(t)
	shared := policyDoc(
		allow("Enable IAM User Permissions", rootOf(testAccount), "kms:*"),
		allow("AllowAccountB", rootOf(b.id), "kms:Encrypt", "kms:Decrypt").when("StringEquals", "kms:CallerAccount", b.id),
	)
	try(root.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default"), Policy: aws.String(shared)})).must(t)
	err = encrypt(keyARN)
	wantDenied(t, err, deniedMessage(bobARN, "kms:Encrypt", keyARN, "because no identity-based policy allows the kms:Encrypt action"))
	e.agrees(t, bRoot, explainReq{PrincipalArn: bobARN, Action: "kms:Encrypt", KeyId: keyARN}, err)

	// Both.
	putUserPolicy(t, bIAM, "bob", "UseKeysOfA", useA)
	if err := encrypt(keyARN); err != nil {
		t.Fatalf("Encrypt across accounts with both halves: %v", err)
	}
	e.agrees(t, bRoot, explainReq{PrincipalArn: bobARN, Action: "kms:Encrypt", KeyId: keyARN}, nil)
	blob := try(bk.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})).must(t).CiphertextBlob
	try(bk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})).must(t)
	// The bare key id names a key of the caller's own account.
	wantCode(t, encrypt(keyID), "NotFoundException")
	// Account A cannot explain B's principals.
	if status, body := e.explainCall(t, rootCreds, explainReq{PrincipalArn: bobARN, Action: "kms:Encrypt", KeyId: keyARN}); status < 400 || !strings.Contains(string(body), "AccessDeniedException") {
		t.Errorf("Explain of another account's principal = %d %s, want AccessDeniedException", status, body)
	}

	// kms:CallerAccount: a Principal "*" statement limited to account A.
	carolARN, carol := newUser(t, e.iamAs(rootCreds), "carol")
	local := policyDoc(rootAdmin(testAccount), allow("SameAccountOnly", "*", "kms:Encrypt").when("StringEquals", "kms:CallerAccount", testAccount))
	_, localARN := createKey(t, root, local, false)
	try(e.kmsAs("us-east-1", carol).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(localARN), Plaintext: []byte("x")})).must(t)
	e.agrees(t, rootCreds, explainReq{PrincipalArn: carolARN, Action: "kms:Encrypt", KeyId: localARN}, nil)
	putUserPolicy(t, bIAM, "bob", "UseKeysOfA", policyDoc(allow("All", nil, "kms:*")))
	err = encrypt(localARN)
	wantDenied(t, err, deniedMessage(bobARN, "kms:Encrypt", localARN, "because no resource-based policy allows the kms:Encrypt action"))
	e.agrees(t, bRoot, explainReq{PrincipalArn: bobARN, Action: "kms:Encrypt", KeyId: localARN}, err)
}

// (i) AssumeRole with a trust policy, and a session that expires.
func TestAuthzAssumeRoleExpiry(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)
	ritaARN, rita := newUser(t, admin, "rita")
	malloryARN, mallory := newUser(t, admin, "mallory")
	putUserPolicy(t, admin, "mallory", "Assume", policyDoc(allow("Assume", nil, "sts:AssumeRole")))
	roleARN := newRole(t, admin, "Reader", trustPolicy(ritaARN))
	root := e.kmsAs("us-east-1", rootCreds)
	keyID, keyARN := createKey(t, root, policyDoc(rootAdmin(testAccount), allow("ReaderUses", roleARN, "kms:Encrypt", "kms:Decrypt")), false)

	_, err := e.stsAs(mallory).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("mallory")})
	wantCode(t, err, "AccessDenied", "User: "+malloryARN+" is not authorized to perform: sts:AssumeRole on resource: "+roleARN)

	sessionARN, session := assume(t, e.stsAs(rita), roleARN, "reading", 900)
	if want := "arn:aws:sts::" + testAccount + ":assumed-role/Reader/reading"; sessionARN != want {
		t.Errorf("AssumeRole ARN = %q, want %q", sessionARN, want)
	}
	if got := aws.ToString(try(e.stsAs(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t).Arn); got != sessionARN {
		t.Errorf("GetCallerIdentity = %q, want %q", got, sessionARN)
	}
	k := e.kmsAs("us-east-1", session)
	try(k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("x")})).must(t)
	out := e.agrees(t, rootCreds, explainReq{PrincipalArn: sessionARN, Action: "kms:Encrypt", KeyId: keyID}, nil)
	wantDeciding(t, out, "KeyPolicy "+keyARN+" ReaderUses")
	_, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	wantDenied(t, err, deniedMessage(sessionARN, "kms:DescribeKey", keyARN, "because no identity-based policy allows the kms:DescribeKey action"))

	e.clock.Advance(16 * time.Minute)
	_, err = k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("x")})
	wantCode(t, err, "ExpiredTokenException", "The security token included in the request is expired")
	_, err = e.stsAs(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredTokenException")
}

// (j) The key-policy lockout check, its bypass, and principals that must
// exist.
func TestAuthzKeyPolicyRules(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)
	soloARN, _ := newUser(t, admin, "solo")
	root := e.kmsAs("us-east-1", rootCreds)
	keyID, keyARN := createKey(t, root, "", false)
	put := func(policy string, bypass bool) error {
		_, err := root.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default"), Policy: aws.String(policy), BypassPolicyLockoutSafetyCheck: bypass})
		return err
	}
	ghost := policyDoc(rootAdmin(testAccount), allow("Ghost", "arn:aws:iam::"+testAccount+":user/ghost", "kms:Encrypt"))
	err := put(ghost, false)
	wantCode(t, err, "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals.")
	var mp *kmstypes.MalformedPolicyDocumentException
	if !errors.As(err, &mp) || mp.ErrorMessage() != "Policy contains a statement with one or more invalid principals." {
		t.Errorf("PutKeyPolicy naming a missing user = %v, want exactly AWS's message", err)
	}
	_, err = root.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(ghost)})
	wantCode(t, err, "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals.")

	soloOnly := policyDoc(allow("SoloAll", soloARN, "kms:*"))
	err = put(soloOnly, false)
	if !errors.As(err, &mp) || mp.ErrorMessage() != "The new key policy will not allow you to update the key policy in the future." {
		t.Errorf("PutKeyPolicy locking the caller out = %v, want MalformedPolicyDocumentException with AWS's message", err)
	}
	if got := keyPolicyOf(t, root, keyID); strings.Contains(got, "SoloAll") {
		t.Errorf("the refused policy was stored")
	}
	if err := put(soloOnly, true); err != nil {
		t.Fatalf("PutKeyPolicy with BypassPolicyLockoutSafetyCheck: %v", err)
	}
	_, err = root.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default")})
	wantDenied(t, err, deniedMessage(rootOf(testAccount), "kms:GetKeyPolicy", keyARN, "because no resource-based policy allows the kms:GetKeyPolicy action"))
	out := e.explain(t, rootCreds, explainReq{PrincipalArn: rootOf(testAccount), Action: "kms:PutKeyPolicy", KeyId: keyID})
	if want := deniedMessage(rootOf(testAccount), "kms:PutKeyPolicy", keyARN, "because no resource-based policy allows the kms:PutKeyPolicy action"); out.Decision != "Deny" || out.Message != want {
		t.Errorf("Explain(root PutKeyPolicy after the bypass) = %s %q, want Deny %q", out.Decision, out.Message, want)
	}
	e.agrees(t, rootCreds, explainReq{PrincipalArn: soloARN, Action: "kms:PutKeyPolicy", KeyId: keyID}, nil)
}

// The Explain endpoint: who may call it, and its errors.
func TestExplainEndpoint(t *testing.T) {
	e := start(t)
	admin := e.iamAs(rootCreds)
	auditorARN, auditor := newUser(t, admin, "auditor")
	_, nobody := newUser(t, admin, "nobody")
	putUserPolicy(t, admin, "auditor", "Explain", policyDoc(allow("Explain", nil, "custos:Explain")))
	keyID, keyARN := createKey(t, e.kmsAs("us-east-1", rootCreds), "", false)

	out := e.explain(t, auditor, explainReq{PrincipalArn: auditorARN, Action: "kms:decrypt", KeyId: keyID, ContextEntries: map[string][]string{"aws:SourceIp": {"10.0.0.1"}}})
	if out.Decision != "Deny" || out.Action != "kms:Decrypt" || out.Resource != keyARN {
		t.Errorf("Explain(auditor kms:decrypt) = %s %s on %s, want Deny kms:Decrypt on %s", out.Decision, out.Action, out.Resource, keyARN)
	}
	if want := deniedMessage(auditorARN, "kms:Decrypt", keyARN, "because no identity-based policy allows the kms:Decrypt action"); out.Message != want {
		t.Errorf("Explain Message = %q, want %q", out.Message, want)
	}
	if len(out.Policies) != 2 || out.Policies[0].Type != "KeyPolicy" || out.Policies[1].Type != "IdentityPolicy" || out.Policies[1].Id != "Explain" {
		t.Errorf("Explain Policies = %+v, want the key policy and the identity policy Explain", out.Policies)
	}

	for _, tc := range []struct {
		name     string
		as       creds
		in       any
		wantCode string
		wantMsg  string
	}{
		{"not allowed", nobody, explainReq{PrincipalArn: auditorARN, Action: "kms:Decrypt", KeyId: keyID}, "AccessDeniedException", "is not authorized to perform: custos:Explain on resource: " + auditorARN},
		{"no principal", rootCreds, map[string]string{"Action": "kms:Decrypt"}, "ValidationException", "principalArn"},
		{"no action", rootCreds, map[string]string{"PrincipalArn": auditorARN}, "ValidationException", "action"},
		{"unknown principal", rootCreds, explainReq{PrincipalArn: "arn:aws:iam::" + testAccount + ":user/nobody-here", Action: "kms:Decrypt", KeyId: keyID}, "NotFoundException", "does not name an existing"},
		{"not kms", rootCreds, explainReq{PrincipalArn: auditorARN, Action: "s3:GetObject"}, "ValidationException", "not a KMS action"},
		{"no key", rootCreds, explainReq{PrincipalArn: auditorARN, Action: "kms:Decrypt"}, "ValidationException", "KeyId is required"},
		{"missing key", rootCreds, explainReq{PrincipalArn: auditorARN, Action: "kms:Decrypt", KeyId: "11111111-2222-3333-4444-555555555555"}, "NotFoundException", "does not exist"},
		{"bad region", rootCreds, explainReq{PrincipalArn: auditorARN, Action: "kms:ListKeys", Region: "moon"}, "ValidationException", "region"},
		{"bad json", rootCreds, json.RawMessage(`{"PrincipalArn": 7}`), "SerializationException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.explainCall(t, tc.as, tc.in)
			var reply struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			json.Unmarshal(body, &reply)
			if status < 400 || reply.Type != tc.wantCode || !strings.Contains(reply.Message, tc.wantMsg) {
				t.Errorf("Explain = %d %s, want %s containing %q", status, body, tc.wantCode, tc.wantMsg)
			}
		})
	}

	// Signed for another service, the target is refused.
	body := `{"PrincipalArn":"` + auditorARN + `","Action":"kms:Decrypt"}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.Endpoint()+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", server.ExplainTarget)
	sigv4.Sign(req, []byte(body), testKeyID, []byte(testSecret), "", "us-east-1", "organizations", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "InvalidSignatureException") {
		t.Errorf("Explain signed for organizations = %d %s, want InvalidSignatureException", resp.StatusCode, b)
	}
}

// TestExplainKeyState: Explain names the key's state and the error the
// state gives an authorized call, as the live call gives it.
func TestExplainKeyState(t *testing.T) {
	e := start(t)
	c := e.kmsAs("us-east-1", rootCreds)
	root := "arn:aws:iam::" + testAccount + ":root"
	keyID, keyARN := createKey(t, c, "", false)
	explain := func(action string) server.ExplainOutput {
		return e.explain(t, rootCreds, explainReq{PrincipalArn: root, Action: action, KeyId: keyID})
	}
	check := func(state string, cases map[string]func() error) {
		t.Helper()
		for action, call := range cases {
			out := explain(action)
			want := ""
			if err := call(); err != nil {
				var ae smithy.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("%s on a %s key: %v", action, state, err)
				}
				want = ae.ErrorCode() + ": " + ae.ErrorMessage()
			}
			if out.Decision != "Allow" || out.KeyState != state || out.StateError != want {
				t.Errorf("Explain(%s) on a %s key = %s, KeyState %q, StateError %q; want Allow, %q, %q (the live call's)",
					action, state, out.Decision, out.KeyState, out.StateError, state, want)
			}
		}
	}
	encrypt := func() error {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("x")})
		return err
	}
	describe := func() error {
		_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
		return err
	}
	check("Enabled", map[string]func() error{"kms:Encrypt": encrypt, "kms:DescribeKey": describe})

	try(c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyID)})).must(t)
	check("Disabled", map[string]func() error{"kms:Encrypt": encrypt, "kms:DescribeKey": describe,
		"kms:EnableKeyRotation": func() error {
			_, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(keyID)})
			return err
		}})

	try(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(7)})).must(t)
	check("PendingDeletion", map[string]func() error{"kms:Encrypt": encrypt, "kms:DescribeKey": describe,
		"kms:TagResource": func() error {
			_, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(keyID), Tags: []types.Tag{{TagKey: aws.String("a"), TagValue: aws.String("b")}}})
			return err
		}})
	if out := explain("kms:Encrypt"); !strings.Contains(out.StateError, keyARN) {
		t.Errorf("Explain(kms:Encrypt) StateError = %q, want the key's ARN in it", out.StateError)
	}
}
