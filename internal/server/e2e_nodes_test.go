package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/server"
)

// postgresSchema returns the URL of a fresh schema of the test database
// ($CUSTOS_TEST_POSTGRES_URL), dropped when the test ends.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CUSTOS_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatal("CUSTOS_TEST_POSTGRES_URL is not set (scripts/postgres start sets it)")
		}
		t.Skip("CUSTOS_TEST_POSTGRES_URL is not set; run scripts/postgres start")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "custos_nodes_" + hex.EncodeToString(b[:])
	exec := func(q string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestNodesShareOneDatabase runs three nodes on one PostgreSQL database:
// every node serves every key, and a change made on one node reaches the
// caches of the others within the notification bound.
func TestNodesShareOneDatabase(t *testing.T) {
	storeURL := postgresSchema(t)
	rootKey := make([]byte, 32)
	rand.Read(rootKey)
	var nodes []*env
	for i := 0; i < 3; i++ {
		e := &env{t: t, dir: t.TempDir(), clock: &fakeClock{}}
		// The nodes share the root key, as they share the database.
		if err := os.WriteFile(filepath.Join(e.dir, "root.key"), rootKey, 0o600); err != nil {
			t.Fatal(err)
		}
		e.srv = e.open(server.Config{
			DataDir: e.dir, StoreURL: storeURL, RootAccessKeyID: testKeyID, RootSecretKey: testSecret,
			Now: e.clock.Now, SweepInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		nodes = append(nodes, e)
	}
	a, b, c := nodes[0].client("us-east-1"), nodes[1].client("us-east-1"), nodes[2].client("us-east-1")

	key := try(a.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	blob := try(b.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyId, Plaintext: []byte("shared")})).must(t).CiphertextBlob
	if got := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})).must(t).Plaintext; string(got) != "shared" {
		t.Fatalf("node C decrypts %q, want the plaintext node B encrypted", got)
	}
	try(a.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/nodes"), TargetKeyId: key.KeyId})).must(t)
	try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/nodes"), Plaintext: []byte("x")})).must(t)

	// Node B has the key cached; DisableKey on node A must reach it.
	start := time.Now()
	try(a.DisableKey(ctx, &kms.DisableKeyInput{KeyId: key.KeyId})).must(t)
	var staleness time.Duration
	for {
		_, err := b.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyId, Plaintext: []byte("x")})
		if err != nil {
			wantErr[*types.DisabledException](t, err)
			staleness = time.Since(start)
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("node B still encrypts 10 s after DisableKey on node A")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("DisableKey on node A reached node B after %v", staleness)

	// A node that goes away leaves the others serving.
	if err := nodes[1].srv.Close(ctx); err != nil {
		t.Fatalf("Close node B: %v", err)
	}
	try(a.EnableKey(ctx, &kms.EnableKeyInput{KeyId: key.KeyId})).must(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node C does not serve the key again after EnableKey on node A: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
