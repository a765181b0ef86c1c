package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// encryptOnlyPolicy is a key policy that lets the account root administer
// the key and user only encrypt with it.
func encryptOnlyPolicy(userARN string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"RootAdministers","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccountID + `:root"},` +
		`"Action":["kms:PutKeyPolicy","kms:GetKeyPolicy","kms:DescribeKey","kms:ScheduleKeyDeletion"],"Resource":"*"},` +
		`{"Sid":"EncryptOnly","Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"kms:Encrypt","Resource":"*"}]}`
}

// An encrypt-only user made with `aws iam`: encrypt succeeds, decrypt is
// denied with AWS's message, get-caller-identity names the user, and
// `custos explain` says why.
func TestAWSCLIEncryptOnlyUser(t *testing.T) {
	requireAWSCLI(t)
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "data"))
	cli := newAWSCLI(t, p.endpoint, p.credsFile)
	work := t.TempDir()

	// The user's ARN is known beforehand: independent calls run side by
	// side, since every start of the CLI costs seconds.
	userARN := "arn:aws:iam::" + testAccountID + ":user/writer"
	var user struct{ User struct{ Arn string } }
	decodeJSON(t, "iam create-user", cli.ok(t, "iam", "create-user", "--user-name", "writer"), &user)
	if user.User.Arn != userARN {
		t.Fatalf("create-user Arn = %q, want %q", user.User.Arn, userARN)
	}
	policyFile := filepath.Join(work, "policy.json")
	if err := os.WriteFile(policyFile, []byte(encryptOnlyPolicy(userARN)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := parallelCLI(t,
		cliCall{cli, []string{"iam", "create-access-key", "--user-name", "writer"}},
		cliCall{cli, []string{"kms", "create-key", "--policy", "file://" + policyFile}},
	)
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	decodeJSON(t, "iam create-access-key", out[0], &key)
	var created keyMetadataOut
	decodeJSON(t, "kms create-key", out[1], &created)
	keyID, keyARN := created.KeyMetadata.KeyID, created.KeyMetadata.Arn

	writer := newAWSCLI(t, p.endpoint, writeCredentialsFile(t, key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey))
	plainFile := filepath.Join(work, "plain.txt")
	if err := os.WriteFile(plainFile, []byte("audit log line"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = parallelCLI(t,
		cliCall{writer, []string{"sts", "get-caller-identity"}},
		cliCall{writer, []string{"kms", "encrypt", "--key-id", keyID, "--plaintext", "fileb://" + plainFile, "--query", "CiphertextBlob", "--output", "text"}},
	)
	var who struct{ Arn, Account string }
	decodeJSON(t, "sts get-caller-identity", out[0], &who)
	if who.Arn != userARN || who.Account != testAccountID {
		t.Errorf("get-caller-identity as the user = %+v, want %s in %s", who, userARN, testAccountID)
	}
	blob := decodeB64(t, "encrypt", out[1])
	blobFile := filepath.Join(work, "blob.bin")
	if err := os.WriteFile(blobFile, blob, 0o600); err != nil {
		t.Fatal(err)
	}
	msg := "User: " + userARN + " is not authorized to perform: kms:Decrypt on resource: " + keyARN + " because no resource-based policy allows the kms:Decrypt action"
	code, stdout, stderr := writer.run(t, "kms", "decrypt", "--ciphertext-blob", "fileb://"+blobFile)
	if code == 0 || stdout != "" || !strings.Contains(stderr, "An error occurred (AccessDeniedException) when calling the Decrypt operation") || !strings.HasSuffix(strings.TrimSpace(stderr), ": "+msg) {
		t.Errorf("aws kms decrypt as the user: exit status %d, stderr %q; want AccessDeniedException ending with AWS's message %q", code, stderr, msg)
	}

	code, stdout, stderr = runCustos(t, "explain", "--endpoint", p.endpoint, "--access-key-id", testAccessKeyID, "--secret-access-key", testSecretKey,
		"--principal", userARN, "--action", "kms:Decrypt", "--key-id", keyID)
	if code != 0 {
		t.Fatalf("custos explain: exit status %d\nstderr:\n%s", code, stderr)
	}
	for _, want := range []string{"Decision:  Deny", "Message:   " + msg, "EncryptOnly", "does not match Action"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("custos explain stdout does not contain %q:\n%s", want, stdout)
		}
	}
}

// `custos explain` against a server set up through the SDK: the table,
// --context, --condition, --json and its errors.
func TestExplainCommand(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "data"))
	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testAccessKeyID, testSecretKey, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	ic := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(p.endpoint) })
	kc := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(p.endpoint) })
	ctx := t.Context()
	u, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("fin")})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	userARN := aws.ToString(u.User.Arn)
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccountID + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"FinanceFromOffice","Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"kms:Encrypt","Resource":"*",` +
		`"Condition":{"StringEquals":{"kms:EncryptionContext:dept":"finance"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}]}`
	k, err := kc.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(policy)})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	keyID := aws.ToString(k.KeyMetadata.KeyId)
	base := []string{"explain", "--endpoint", p.endpoint, "--access-key-id", testAccessKeyID, "--secret-access-key", testSecretKey}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"allowed", []string{"--principal", userARN, "--action", "kms:Encrypt", "--key-id", keyID, "--context", "dept=finance", "--condition", "aws:SourceIp=10.1.2.3"}, 0,
			[]string{"Decision:  Allow", `allowed by KeyPolicy arn:aws:kms:us-east-1:` + testAccountID + `:key/` + keyID + ` statement "FinanceFromOffice"`, "yes (deciding)"}, nil},
		{"wrong department", []string{"--principal", userARN, "--action", "kms:Encrypt", "--key-id", keyID, "--context", "dept=hr", "--condition", "aws:SourceIp=10.1.2.3"}, 0,
			[]string{"Decision:  Deny", "because no identity-based policy allows the kms:Encrypt action", "kms:EncryptionContext:dept", `["hr"]`}, nil},
		{"outside the office", []string{"--principal", userARN, "--action", "kms:Encrypt", "--key-id", keyID, "--context", "dept=finance", "--condition", "aws:SourceIp=172.16.0.1"}, 0,
			[]string{"Decision:  Deny", "aws:SourceIp", "172.16.0.1"}, nil},
		{"several values of a key", []string{"--principal", userARN, "--action", "kms:Encrypt", "--key-id", keyID, "--context", "dept=finance", "--condition", "aws:SourceIp=172.16.0.1", "--condition", "aws:SourceIp=172.16.0.2"}, 0,
			[]string{"Decision:  Deny", `["172.16.0.1" "172.16.0.2"]`}, nil},
		{"json", []string{"--principal", userARN, "--action", "kms:ListKeys", "--json"}, 0,
			[]string{`"Decision": "Deny"`, `"Resource": "*"`}, nil},
		{"unknown principal", []string{"--principal", "arn:aws:iam::" + testAccountID + ":user/nobody", "--action", "kms:ListKeys"}, 1,
			nil, []string{"NotFoundException", "user/nobody"}},
		{"no principal", []string{"--action", "kms:Decrypt"}, 2, nil, []string{"--principal and --action are required"}},
		{"bad context", []string{"--principal", userARN, "--action", "kms:Decrypt", "--context", "novalue"}, 2, nil, []string{"want key=value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCustos(t, append(append([]string{}, base...), tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("custos explain %q exit status = %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.wantCode, stdout, stderr)
			}
			for _, s := range tc.wantStdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("custos explain %q stdout does not contain %q:\n%s", tc.args, s, stdout)
				}
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("custos explain %q stderr does not contain %q:\n%s", tc.args, s, stderr)
				}
			}
			if strings.Contains(stdout+stderr, testSecretKey) {
				t.Errorf("custos explain printed the secret access key")
			}
		})
	}

	// --json prints the server's reply.
	code, stdout, _ := runCustos(t, append(append([]string{}, base...), "--principal", userARN, "--action", "kms:Encrypt", "--key-id", keyID, "--json")...)
	var reply struct {
		Decision string
		Policies []struct{ Type, Id string }
	}
	if err := json.Unmarshal([]byte(stdout), &reply); code != 0 || err != nil || reply.Decision != "Deny" || len(reply.Policies) != 1 || reply.Policies[0].Type != "KeyPolicy" {
		t.Errorf("custos explain --json = %d %q (%v), want the reply with the key policy", code, stdout, err)
	}

	// Without credentials.
	code, _, stderr := runCustos(t, "explain", "--endpoint", p.endpoint, "--principal", userARN, "--action", "kms:Decrypt")
	if code != 2 || !strings.Contains(stderr, "credentials needed") {
		t.Errorf("custos explain without credentials = %d %q, want 2 and the credentials message", code, stderr)
	}
}

// cliCall is one run of the AWS CLI.
type cliCall struct {
	cli  *awsCLI
	args []string
}

// parallelCLI runs the calls at once and fails the test unless each exits
// 0; it returns their outputs in order.
func parallelCLI(t *testing.T, calls ...cliCall) []string {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	results := make([]result, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, stdout, stderr := c.cli.run(t, c.args...)
			results[i] = result{code, stdout, stderr}
		}()
	}
	wg.Wait()
	out := make([]string, len(calls))
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("aws %s: exit status %d, want 0\nstderr:\n%s", strings.Join(calls[i].args, " "), r.code, r.stderr)
		}
		out[i] = r.stdout
	}
	return out
}
