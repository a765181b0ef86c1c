package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// opensslPath is the openssl that checks signatures offline.
const opensslPath = "/usr/bin/openssl"

// requireOpenSSL skips the test when openssl is missing, or fails it when CUSTOS_REQUIRE_TOOLS=1.
func requireOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(opensslPath); err != nil {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is required (CUSTOS_REQUIRE_TOOLS=1): %v", opensslPath, err)
		}
		t.Skipf("%s not installed: %v", opensslPath, err)
	}
}

// TestAWSCLISignOpenSSLVerify signs with an RSA and an ECC key through `aws kms sign` and verifies every signature
// with openssl, from the public key `aws kms get-public-key` returns and nothing else.
func TestAWSCLISignOpenSSLVerify(t *testing.T) {
	requireAWSCLI(t)
	requireOpenSSL(t)
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "data"))
	cli := newAWSCLI(t, p.endpoint, p.credsFile)
	work := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(work, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	message := []byte("signed by aws kms sign, verified by openssl\n")
	msgFile := write("message.txt", message)
	sum := sha256.Sum256(message)
	digestFile := write("digest.bin", sum[:])
	otherFile := write("other.txt", []byte("not the signed message\n"))

	pss := []string{"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"}
	type signing struct {
		alg, messageType string
		sigopts          []string // openssl dgst options for the padding
	}
	for _, tt := range []struct {
		spec     string
		signings []signing
	}{
		{"RSA_2048", []signing{{"RSASSA_PSS_SHA_256", "RAW", pss}, {"RSASSA_PKCS1_V1_5_SHA_256", "DIGEST", nil}}},
		{"ECC_NIST_P256", []signing{{"ECDSA_SHA_256", "RAW", nil}, {"ECDSA_SHA_256", "DIGEST", nil}}},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			var created keyMetadataOut
			decodeJSON(t, "create-key", cli.ok(t, "kms", "create-key", "--key-spec", tt.spec, "--key-usage", "SIGN_VERIFY"), &created)
			keyID := created.KeyMetadata.KeyID

			der := decodeB64(t, "get-public-key", cli.ok(t, "kms", "get-public-key", "--key-id", keyID, "--query", "PublicKey", "--output", "text"))
			pubFile := write(tt.spec+".pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

			var lastSig string
			for _, sg := range tt.signings {
				in := msgFile
				if sg.messageType == "DIGEST" {
					in = digestFile
				}
				sig := decodeB64(t, "sign", cli.ok(t, "kms", "sign", "--key-id", keyID, "--message", "fileb://"+in,
					"--message-type", sg.messageType, "--signing-algorithm", sg.alg, "--query", "Signature", "--output", "text"))
				sigFile := write(sg.alg+"."+sg.messageType+".sig", sig)
				verify := func(file string) (string, error) {
					args := append([]string{"dgst", "-sha256", "-verify", pubFile, "-signature", sigFile}, sg.sigopts...)
					out, err := exec.Command(opensslPath, append(args, file)...).CombinedOutput()
					return string(out), err
				}
				// openssl hashes the message itself: a DIGEST signature verifies over the original message.
				if out, err := verify(msgFile); err != nil || !strings.Contains(out, "Verified OK") {
					t.Errorf("openssl dgst -verify of the %s %s signature: %v\n%s", sg.alg, sg.messageType, err, out)
				}
				if out, err := verify(otherFile); err == nil {
					t.Errorf("openssl verified the %s %s signature over another message:\n%s", sg.alg, sg.messageType, out)
				}
				lastSig = sigFile
			}
			last := tt.signings[len(tt.signings)-1]
			valid := cli.ok(t, "kms", "verify", "--key-id", keyID, "--message", "fileb://"+digestFile, "--message-type", "DIGEST",
				"--signature", "fileb://"+lastSig, "--signing-algorithm", last.alg, "--query", "SignatureValid", "--output", "text")
			if strings.TrimSpace(valid) != "True" {
				t.Errorf("aws kms verify = %q, want True", valid)
			}
			sig, err := os.ReadFile(lastSig)
			if err != nil {
				t.Fatal(err)
			}
			bad := bytes.Clone(sig)
			bad[len(bad)-1] ^= 1
			badFile := write(tt.spec+".bad.sig", bad)
			cli.fails(t, "KMSInvalidSignatureException", "kms", "verify", "--key-id", keyID, "--message", "fileb://"+digestFile,
				"--message-type", "DIGEST", "--signature", "fileb://"+badFile, "--signing-algorithm", last.alg)
		})
	}
}
