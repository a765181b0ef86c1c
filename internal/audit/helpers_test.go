package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const (
	testAccount = "111122223333"
	testRegion  = "us-east-1"
)

// testScope is what the caller of the test events sees.
var testScope = Scope{AccountID: testAccount, Region: testRegion}

// testKey returns a fixed signing key (seed byte b), for tests only.
func testKey(b byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	return ed25519.NewKeyFromSeed(seed)
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func keyARN(n int) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%08d-1234-4abc-8def-0123456789ab", testRegion, testAccount, n)
}

// testEvent returns a realistic KMS event of about 1 KB: operation name, on
// key n, by the access key akid.
func testEvent(name string, n int, akid string) *Event {
	arn := keyARN(n)
	return &Event{
		UserIdentity: UserIdentity{
			Type:        "IAMUser",
			PrincipalID: "AIDAEXAMPLEPRINCIPAL",
			ARN:         "arn:aws:iam::" + testAccount + ":user/alice",
			AccountID:   testAccount,
			AccessKeyID: akid,
			UserName:    "alice",
		},
		EventName:       name,
		AWSRegion:       testRegion,
		SourceIPAddress: "192.0.2.10",
		UserAgent:       "aws-sdk-go-v2/1.48.0 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux md/GOARCH#amd64 api/kms#1.62.6 m/E",
		RequestParameters: map[string]any{
			"keyId":               arn,
			"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
			"encryptionContext":   map[string]string{"Department": "Finance", "Project": "Ledger-2026"},
		},
		RequestID: "c1a5d6a3-2b7e-4a8e-9b1f-0f7d3c2a1b00",
		ReadOnly:  true,
		Resources: []Resource{{AccountID: testAccount, Type: ResourceTypeKey, ARN: arn}},
		Authorization: &Authorization{
			Decision:   "Allow",
			Reason:     "key policy statement Enable IAM User Permissions allows the account; IAM policy allows kms:Encrypt",
			Statements: []string{"key-policy:Enable IAM User Permissions", "iam:arn:aws:iam::111122223333:policy/kms-users"},
		},
	}
}

// openTest opens a trail in a new temporary folder.
func openTest(t testing.TB, opts Options) (*Log, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit")
	l := openAt(t, dir, opts)
	return l, dir
}

func openAt(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	if opts.SigningKey == nil {
		opts.SigningKey = testKey(1)
	}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	return l
}

func appendN(t testing.TB, l *Log, n int, name string) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := l.Append(context.Background(), testEvent(name, i%5, "AKIAEXAMPLE0000000001")); err != nil {
			t.Fatalf("Append #%d = %v", i, err)
		}
	}
}

func mustVerify(t testing.TB, dir string, want Status) Report {
	t.Helper()
	r, err := Verify(dir, testKey(1).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatalf("Verify(%q) error = %v", dir, err)
	}
	if r.Status != want {
		t.Fatalf("Verify(%q) = %v, want %v; problems %v, torn %v", dir, r.Status, want, r.Problems, r.Torn)
	}
	return r
}

// copyDir copies the regular files of src into a new folder.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(dir, n.name))
	}
	return out
}
