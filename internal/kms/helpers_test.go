package kms

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store/sqlite"
)

const (
	testAccount = "111122223333"
	testRegion  = "us-east-1"
)

// testCaller is the account root of testAccount, calling in testRegion.
var testCaller = &Caller{
	AccountID: testAccount,
	ARN:       "arn:aws:iam::" + testAccount + ":root",
	Type:      "Root",
	UserID:    testAccount,
	Region:    testRegion,
	SourceIP:  "192.0.2.1",
	Secure:    true,
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestService returns a Service over a fresh SQLite store in a temporary
// folder, with a fake clock starting at 2026-01-02T03:04:05.678Z.
func newTestService(t testing.TB) (*Service, *fakeClock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "custos.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	root, err := keyring.NewRoot(make([]byte, 32))
	if err != nil {
		t.Fatalf("keyring.NewRoot: %v", err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)}
	s, err := New(Config{Store: st, Root: root, Rand: rand.Reader, Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, clk
}

func ptr[T any](v T) *T { return &v }

// createKey creates a symmetric key for testCaller and returns its metadata.
func createKey(t testing.TB, s *Service) *KeyMetadata {
	t.Helper()
	out, err := s.CreateKey(context.Background(), testCaller, &CreateKeyInput{Description: "test key"})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return out.KeyMetadata
}

func createAlias(t testing.TB, s *Service, name, keyID string) {
	t.Helper()
	if _, err := s.CreateAlias(context.Background(), testCaller, &AliasInput{AliasName: ptr(name), TargetKeyId: ptr(keyID)}); err != nil {
		t.Fatalf("CreateAlias(%s, %s): %v", name, keyID, err)
	}
}

func encrypt(t testing.TB, s *Service, keyID string, pt []byte, ec map[string]string) []byte {
	t.Helper()
	out, err := s.Encrypt(context.Background(), testCaller, &EncryptInput{KeyId: ptr(keyID), Plaintext: pt, EncryptionContext: ec})
	if err != nil {
		t.Fatalf("Encrypt(%s): %v", keyID, err)
	}
	return out.CiphertextBlob
}

func describe(t testing.TB, s *Service, keyID string) *KeyMetadata {
	t.Helper()
	out, err := s.DescribeKey(context.Background(), testCaller, &KeyIDInput{KeyId: ptr(keyID)})
	if err != nil {
		t.Fatalf("DescribeKey(%s): %v", keyID, err)
	}
	return out.KeyMetadata
}

// wantErr checks that err is the AWS error code with message msg.
func wantErr(t testing.TB, what string, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = nil error, want %s: %s", what, code, msg)
		return
	}
	e, ok := awsproto.As(err)
	if !ok {
		t.Errorf("%s = %v (%T), want *awsproto.Error %s", what, err, err, code)
		return
	}
	if e.Code != code || e.Message != msg {
		t.Errorf("%s = %s: %q\nwant %s: %q", what, e.Code, e.Message, code, msg)
	}
	if e.Status != 400 {
		t.Errorf("%s status = %d, want 400", what, e.Status)
	}
}
