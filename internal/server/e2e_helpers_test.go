package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/custoskms/custos/internal/server"
)

const (
	testAccount = "111122223333"
	testKeyID   = "AKIDCUSTOSTEST000001"
	testSecret  = "custos/test/secret/key/0000000000000000"
)

// fakeClock is a clock a test moves forward; it starts at the wall clock.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// env is a running server and what a test needs to talk to it.
type env struct {
	t        *testing.T
	srv      *server.Server
	dir      string
	clock    *fakeClock
	storeURL string // the PostgreSQL schema of this test when CUSTOS_E2E_STORE=postgres
}

// start runs a server on 127.0.0.1 with fixed root credentials.
func start(t *testing.T, configure ...func(*server.Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: &fakeClock{}}
	if os.Getenv("CUSTOS_E2E_STORE") == "postgres" {
		e.storeURL = postgresSchema(t)
	}
	cfg := server.Config{
		DataDir:         e.dir,
		RootAccessKeyID: testKeyID,
		RootSecretKey:   testSecret,
		Now:             e.clock.Now,
		SweepInterval:   time.Hour,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range configure {
		f(&cfg)
	}
	e.srv = e.open(cfg)
	return e
}

// open starts a server on cfg; a test's servers all use its store.
func (e *env) open(cfg server.Config) *server.Server {
	e.t.Helper()
	if cfg.StoreURL == "" {
		cfg.StoreURL = e.storeURL
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		e.t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	e.t.Cleanup(func() { srv.Close(context.Background()) })
	return srv
}

// client returns an SDK client for region, signing with the root
// credentials, retries off so that every error reaches the test.
func (e *env) client(region string) *kms.Client {
	return e.clientWith(region, testKeyID, testSecret)
}

func (e *env) clientWith(region, id, secret string) *kms.Client {
	return kms.NewFromConfig(aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(e.srv.Endpoint())
	})
}

// wantErr fails the test unless err is (or wraps) an E, and returns it.
func wantErr[E error](t *testing.T, err error, contains ...string) E {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("error = %v, want %T", err, target)
	}
	for _, c := range contains {
		if !strings.Contains(target.Error(), c) {
			t.Errorf("error %q does not contain %q", target.Error(), c)
		}
	}
	return target
}

// result lets a test unwrap a call's (value, error) in one expression:
// try(c.CreateKey(ctx, in)).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

var ctx = context.Background()

// rawPost sends a hand-made request (unsigned unless sign is set).
func rawPost(t *testing.T, endpoint, target, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
