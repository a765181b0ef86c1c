package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsCLIPath is the AWS CLI v2 the end-to-end tests drive: Debian's
// package, not whatever `aws` comes first on PATH.
const awsCLIPath = "/usr/bin/aws"

// requireAWSCLI skips the test when the AWS CLI is missing, or fails it
// when CUSTOS_REQUIRE_TOOLS=1 (as in CI).
func requireAWSCLI(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(awsCLIPath); err != nil {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is required (CUSTOS_REQUIRE_TOOLS=1): %v", awsCLIPath, err)
		}
		t.Skipf("%s not installed: %v", awsCLIPath, err)
	}
}

// awsCLI runs the AWS CLI against one server with a clean environment.
type awsCLI struct {
	endpoint  string
	credsFile string // shared-credentials file with profile "custos"
	home      string
	extra     []string // arguments added to every call, e.g. --no-verify-ssl
}

func newAWSCLI(t *testing.T, endpoint, credsFile string) *awsCLI {
	return &awsCLI{endpoint: endpoint, credsFile: credsFile, home: t.TempDir()}
}

// run runs `aws <args> --endpoint-url E --region us-east-1 --output json`
// (a later --output in args wins) and returns the exit status and output.
func (c *awsCLI) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	full := append([]string{}, args...)
	full = append(full, "--endpoint-url", c.endpoint, "--region", testRegion)
	if !hasArg(args, "--output") {
		full = append(full, "--output", "json")
	}
	full = append(full, c.extra...)
	cmd := exec.Command(awsCLIPath, full...)
	cmd.Env = cleanEnv(
		"HOME="+c.home,
		"AWS_SHARED_CREDENTIALS_FILE="+c.credsFile,
		"AWS_PROFILE=custos",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_REGION="+testRegion,
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	)
	cmd.Dir = c.home
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws %q: %v", args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("aws %q did not exit within 30s; stderr:\n%s", args, errOut.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errOut.String()
	}
	t.Fatalf("aws %q: %v", args, err)
	return -1, "", ""
}

// ok runs the CLI and fails the test unless it exits 0; it returns stdout.
func (c *awsCLI) ok(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := c.run(t, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit status %d, want 0\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// fails runs the CLI and fails the test unless it exits non-zero with
// wantErr in stderr.
func (c *awsCLI) fails(t *testing.T, wantErr string, args ...string) {
	t.Helper()
	code, stdout, stderr := c.run(t, args...)
	if code == 0 {
		t.Errorf("aws %s: exit status 0, want non-zero with %s\nstdout:\n%s", strings.Join(args, " "), wantErr, stdout)
		return
	}
	if !strings.Contains(stderr, wantErr) {
		t.Errorf("aws %s: stderr = %q, want it to contain %q", strings.Join(args, " "), stderr, wantErr)
	}
}

func hasArg(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}

// keyMetadataOut is the part of create-key's and describe-key's output the
// tests read.
type keyMetadataOut struct {
	KeyMetadata struct {
		KeyID    string `json:"KeyId"`
		Arn      string `json:"Arn"`
		KeyState string `json:"KeyState"`
	} `json:"KeyMetadata"`
}

func decodeJSON(t *testing.T, what, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%s: output %q is not the expected JSON: %v", what, s, err)
	}
}

// decodeB64 decodes the CLI's --output text rendering of a blob.
func decodeB64(t *testing.T, what, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("%s: output %q is not base64: %v", what, s, err)
	}
	return b
}

// writeCredentials writes a shared-credentials file with profile custos.
func writeCredentialsFile(t *testing.T, id, secret string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials")
	body := "[custos]\naws_access_key_id = " + id + "\naws_secret_access_key = " + secret + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAWSCLI(t *testing.T) {
	requireAWSCLI(t)
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "data"))
	cli := newAWSCLI(t, p.endpoint, p.credsFile)
	work := t.TempDir()

	// create-key
	var created keyMetadataOut
	decodeJSON(t, "create-key", cli.ok(t, "kms", "create-key", "--description", "cli"), &created)
	keyID, arn := created.KeyMetadata.KeyID, created.KeyMetadata.Arn
	if keyID == "" {
		t.Fatalf("create-key: empty KeyMetadata.KeyId")
	}
	if want := ":us-east-1:" + testAccountID + ":key/"; !strings.Contains(arn, want) || !strings.HasSuffix(arn, "/"+keyID) {
		t.Errorf("create-key: Arn = %q, want it to contain %q and end in the key id %s", arn, want, keyID)
	}
	if created.KeyMetadata.KeyState != "Enabled" {
		t.Errorf("create-key: KeyState = %q, want Enabled", created.KeyMetadata.KeyState)
	}

	// encrypt / decrypt round trip through files
	plaintext := make([]byte, 3000)
	rand.Read(plaintext)
	plainFile := filepath.Join(work, "plain.bin")
	if err := os.WriteFile(plainFile, plaintext, 0o600); err != nil {
		t.Fatal(err)
	}
	const encCtx = "purpose=test,team=a"
	blob := decodeB64(t, "encrypt", cli.ok(t, "kms", "encrypt", "--key-id", keyID,
		"--plaintext", "fileb://"+plainFile, "--encryption-context", encCtx,
		"--query", "CiphertextBlob", "--output", "text"))
	if bytes.Contains(blob, plaintext) {
		t.Fatalf("encrypt: the ciphertext blob contains the plaintext")
	}
	blobFile := filepath.Join(work, "blob.bin")
	if err := os.WriteFile(blobFile, blob, 0o600); err != nil {
		t.Fatal(err)
	}
	got := decodeB64(t, "decrypt", cli.ok(t, "kms", "decrypt", "--ciphertext-blob", "fileb://"+blobFile,
		"--encryption-context", encCtx, "--query", "Plaintext", "--output", "text"))
	if !bytes.Equal(got, plaintext) {
		t.Errorf("decrypt: plaintext differs from what was encrypted (%d bytes, want %d)", len(got), len(plaintext))
	}
	cli.fails(t, "InvalidCiphertextException", "kms", "decrypt", "--ciphertext-blob", "fileb://"+blobFile,
		"--encryption-context", "purpose=test,team=b")
	cli.fails(t, "InvalidCiphertextException", "kms", "decrypt", "--ciphertext-blob", "fileb://"+blobFile)

	// aliases
	cli.ok(t, "kms", "create-alias", "--alias-name", "alias/cli-test", "--target-key-id", keyID)
	var described keyMetadataOut
	decodeJSON(t, "describe-key", cli.ok(t, "kms", "describe-key", "--key-id", "alias/cli-test"), &described)
	if described.KeyMetadata.KeyID != keyID {
		t.Errorf("describe-key alias/cli-test: KeyId = %q, want %q", described.KeyMetadata.KeyID, keyID)
	}
	var aliases struct {
		Aliases []struct {
			AliasName   string `json:"AliasName"`
			AliasArn    string `json:"AliasArn"`
			TargetKeyID string `json:"TargetKeyId"`
		} `json:"Aliases"`
	}
	decodeJSON(t, "list-aliases", cli.ok(t, "kms", "list-aliases"), &aliases)
	found := false
	for _, a := range aliases.Aliases {
		if a.AliasName == "alias/cli-test" {
			found = true
			if a.TargetKeyID != keyID {
				t.Errorf("list-aliases: alias/cli-test TargetKeyId = %q, want %q", a.TargetKeyID, keyID)
			}
			if want := "arn:aws:kms:us-east-1:" + testAccountID + ":alias/cli-test"; a.AliasArn != want {
				t.Errorf("list-aliases: alias/cli-test AliasArn = %q, want %q", a.AliasArn, want)
			}
		}
	}
	if !found {
		t.Errorf("list-aliases: no alias/cli-test in %+v", aliases.Aliases)
	}

	// key policy from a file, and tags
	policyFile, err := filepath.Abs(filepath.Join("testdata", "key-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	cli.ok(t, "kms", "put-key-policy", "--key-id", arn, "--policy-name", "default", "--policy", "file://"+policyFile)
	gotPolicy := cli.ok(t, "kms", "get-key-policy", "--key-id", keyID, "--policy-name", "default", "--query", "Policy", "--output", "text")
	if strings.TrimSpace(gotPolicy) != strings.TrimSpace(string(policy)) {
		t.Errorf("get-key-policy = %q, want the policy put from %s:\n%s", gotPolicy, policyFile, policy)
	}
	cli.ok(t, "kms", "tag-resource", "--key-id", keyID, "--tags", "TagKey=team,TagValue=a", "TagKey=env,TagValue=test")
	var tags struct {
		Tags []struct {
			TagKey   string `json:"TagKey"`
			TagValue string `json:"TagValue"`
		} `json:"Tags"`
	}
	decodeJSON(t, "list-resource-tags", cli.ok(t, "kms", "list-resource-tags", "--key-id", keyID), &tags)
	gotTags := make(map[string]string)
	for _, tag := range tags.Tags {
		gotTags[tag.TagKey] = tag.TagValue
	}
	if want := map[string]string{"team": "a", "env": "test"}; !maps.Equal(gotTags, want) {
		t.Errorf("list-resource-tags = %v, want %v", gotTags, want)
	}

	// authentication failures
	wrongSecret := newAWSCLI(t, p.endpoint, writeCredentialsFile(t, testAccessKeyID, strings.Repeat("x", 40)))
	wrongSecret.fails(t, "InvalidSignatureException", "kms", "list-keys")
	unknownKey := newAWSCLI(t, p.endpoint, writeCredentialsFile(t, "AKIDUNKNOWN000000000", testSecretKey))
	unknownKey.fails(t, "UnrecognizedClientException", "kms", "list-keys")
}

func TestAWSCLIOverTLS(t *testing.T) {
	requireAWSCLI(t)
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "data"), "--tls-self-signed")
	if !strings.HasPrefix(p.endpoint, "https://127.0.0.1:") {
		t.Fatalf("endpoint with --tls-self-signed = %q, want https://127.0.0.1:PORT", p.endpoint)
	}
	p.waitStdout(t, "TLS SHA-256 fingerprint: ")
	cli := newAWSCLI(t, p.endpoint, p.credsFile)
	// Without --no-verify-ssl the self-signed certificate is refused.
	if code, _, stderr := cli.run(t, "kms", "list-keys"); code == 0 {
		t.Errorf("aws kms list-keys over self-signed TLS without --no-verify-ssl: exit status 0, want a certificate error")
	} else if !strings.Contains(strings.ToLower(stderr), "certificate") && !strings.Contains(stderr, "SSL") {
		t.Errorf("aws kms list-keys without --no-verify-ssl: stderr = %q, want a certificate error", stderr)
	}
	cli.extra = []string{"--no-verify-ssl"}
	var keys struct {
		Keys []struct {
			KeyID string `json:"KeyId"`
		} `json:"Keys"`
	}
	decodeJSON(t, "list-keys", cli.ok(t, "kms", "list-keys"), &keys)
}
