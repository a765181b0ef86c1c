package server_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/custoskms/custos/internal/pgtest"
	"github.com/custoskms/custos/internal/server"
)

// postgresSchema returns the URL of a fresh schema of the test database.
func postgresSchema(t *testing.T) string { return pgtest.Schema(t, "custos_e2e_") }

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
	enc := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/nodes"), Plaintext: []byte("x")})).must(t)

	// Every node sees the audit records of every node: node A finds the
	// Encrypt node B served and the one node C served, and knows node C's
	// as the key's last use.
	encID, _ := awsmiddleware.GetRequestIDMetadata(enc.ResultMetadata)
	start := time.Now()
	for {
		evs := lookupAll(t, nodes[0].trailClient(), &cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, aws.ToString(key.KeyId))})
		var names []string
		for _, ev := range evs {
			names = append(names, aws.ToString(ev.EventName))
		}
		// Event times are whole seconds, so records of one second on
		// several nodes come in the index's order, not the calls' order.
		slices.Sort(names)
		if slices.Equal(names, []string{"CreateAlias", "CreateKey", "Decrypt", "Encrypt", "Encrypt"}) {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("node A's LookupEvents(ResourceName=key) = %v 10 s on, want the records of all three nodes", names)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("node C's record reached node A's LookupEvents after %v", time.Since(start))
	used := try(a.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: key.KeyId})).must(t).KeyLastUsage
	if used == nil || aws.ToString(used.KmsRequestId) != encID || string(used.Operation) != "Encrypt" {
		t.Errorf("node A's GetKeyLastUsage = %+v, want node C's Encrypt, request %s", used, encID)
	}

	// Node B has the key cached; DisableKey on node A must reach it.
	start = time.Now()
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

// TestNodeWithAnotherRootKey: a node whose root key is not the one the
// shared store's secrets are wrapped under refuses to start, naming the
// file to copy, instead of failing every request.
func TestNodeWithAnotherRootKey(t *testing.T) {
	storeURL := postgresSchema(t)
	first := &env{t: t, dir: t.TempDir(), clock: &fakeClock{}}
	first.srv = first.open(server.Config{DataDir: first.dir, StoreURL: storeURL, RootAccessKeyID: testKeyID, RootSecretKey: testSecret, Now: first.clock.Now})
	try(first.client("us-east-1").CreateKey(ctx, &kms.CreateKeyInput{})).must(t)

	dir := t.TempDir() // a fresh node: its own, new, root key
	srv, err := server.New(ctx, server.Config{DataDir: dir, StoreURL: storeURL, RootAccessKeyID: testKeyID, RootSecretKey: testSecret})
	if err == nil {
		srv.Close(ctx)
		t.Fatal("a node with another root key started")
	}
	if want := filepath.Join(dir, "root.key"); !strings.Contains(err.Error(), "root key is not the one") || !strings.Contains(err.Error(), want) {
		t.Errorf("New with another root key = %v, want an error that names %s", err, want)
	}

	// With the first node's root key copied, it starts and serves.
	key, err := os.ReadFile(filepath.Join(first.dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	second := &env{t: t, dir: t.TempDir(), clock: &fakeClock{}}
	if err := os.WriteFile(filepath.Join(second.dir, "root.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	second.srv = second.open(server.Config{DataDir: second.dir, StoreURL: storeURL, RootAccessKeyID: testKeyID, RootSecretKey: testSecret, Now: second.clock.Now})
	try(second.client("us-east-1").ListKeys(ctx, &kms.ListKeysInput{})).must(t)
}
