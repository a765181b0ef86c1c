package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// newKMSClient returns an aws-sdk-go-v2 KMS client for endpoint with the
// test root credentials and no retries.
func newKMSClient(endpoint string) *kms.Client {
	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testAccessKeyID, testSecretKey, ""),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()},
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// errorCode returns the AWS error code of err, or err's text.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return err.Error()
}

// keySnapshot is what a client can see of one key.
type keySnapshot struct {
	KeyID, Arn, Description, KeyState, KeyUsage, KeySpec, Origin, KeyManager string
	Enabled                                                                  bool
	CreationDate, DeletionDate                                               string
	PendingDeletionWindowInDays                                              int32
	Tags                                                                     map[string]string
	TagsErr                                                                  string
	Policy                                                                   string
	PolicyErr                                                                string
	Rotation                                                                 string // "true", "false" or the error code
}

type aliasSnapshot struct {
	Name, Arn, Target string
}

// stateSnapshot is what a client can see of the whole account.
type stateSnapshot struct {
	Keys    map[string]keySnapshot
	Aliases []aliasSnapshot
}

func timeString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// snapshot lists every key and alias of the account with what describes
// them.
func snapshot(t *testing.T, ctx context.Context, c *kms.Client) stateSnapshot {
	t.Helper()
	s := stateSnapshot{Keys: make(map[string]keySnapshot)}
	var ids []string
	for p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{Limit: aws.Int32(100)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		for _, k := range page.Keys {
			ids = append(ids, aws.ToString(k.KeyId))
		}
	}
	for _, id := range ids {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		if err != nil {
			t.Fatalf("DescribeKey(%s): %v", id, err)
		}
		m := d.KeyMetadata
		ks := keySnapshot{
			KeyID: aws.ToString(m.KeyId), Arn: aws.ToString(m.Arn), Description: aws.ToString(m.Description),
			KeyState: string(m.KeyState), KeyUsage: string(m.KeyUsage), KeySpec: string(m.KeySpec),
			Origin: string(m.Origin), KeyManager: string(m.KeyManager), Enabled: m.Enabled,
			CreationDate: timeString(m.CreationDate), DeletionDate: timeString(m.DeletionDate),
			PendingDeletionWindowInDays: aws.ToInt32(m.PendingDeletionWindowInDays),
		}
		tags, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(id)})
		if err != nil {
			ks.TagsErr = errorCode(err)
		} else {
			ks.Tags = make(map[string]string)
			for _, tag := range tags.Tags {
				ks.Tags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
			}
		}
		pol, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(id), PolicyName: aws.String("default")})
		if err != nil {
			ks.PolicyErr = errorCode(err)
		} else {
			ks.Policy = aws.ToString(pol.Policy)
		}
		rot, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
		if err != nil {
			ks.Rotation = errorCode(err)
		} else {
			ks.Rotation = strconv.FormatBool(rot.KeyRotationEnabled)
		}
		s.Keys[id] = ks
	}
	for p := kms.NewListAliasesPaginator(c, &kms.ListAliasesInput{Limit: aws.Int32(100)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAliases: %v", err)
		}
		for _, a := range page.Aliases {
			s.Aliases = append(s.Aliases, aliasSnapshot{aws.ToString(a.AliasName), aws.ToString(a.AliasArn), aws.ToString(a.TargetKeyId)})
		}
	}
	sort.Slice(s.Aliases, func(i, j int) bool { return s.Aliases[i].Name < s.Aliases[j].Name })
	return s
}

// sealedItem is a ciphertext made before a restart and what decrypting it
// must give after.
type sealedItem struct {
	blob      []byte
	context   map[string]string
	plaintext []byte
	wantErr   string // error code Decrypt must return, or "" for success
}

// fixture is the state the restart tests build before stopping the server.
type fixture struct {
	tagged, withPolicy, disabled, pending string
	policy                                string
	items                                 []sealedItem
	canary                                []byte // a plaintext that must never reach the data folder
}

// customPolicy is a key policy that is not the default one, so that its
// survival is visible.
const customPolicy = `{"Version":"2012-10-17","Id":"e2e-restart","Statement":[{"Sid":"Root","Effect":"Allow",` +
	`"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`

// buildFixture creates keys in several states, aliases, tags and a policy,
// and 50 ciphertexts.
func buildFixture(t *testing.T, ctx context.Context, c *kms.Client) *fixture {
	t.Helper()
	f := &fixture{policy: customPolicy}
	newKey := func(desc string, in *kms.CreateKeyInput) string {
		t.Helper()
		in.Description = aws.String(desc)
		out, err := c.CreateKey(ctx, in)
		if err != nil {
			t.Fatalf("CreateKey(%s): %v", desc, err)
		}
		return aws.ToString(out.KeyMetadata.KeyId)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	f.tagged = newKey("tagged", &kms.CreateKeyInput{Tags: []types.Tag{
		{TagKey: aws.String("env"), TagValue: aws.String("prod")},
		{TagKey: aws.String("team"), TagValue: aws.String("a")},
	}})
	f.withPolicy = newKey("with policy", &kms.CreateKeyInput{Policy: aws.String(customPolicy)})
	f.disabled = newKey("disabled", &kms.CreateKeyInput{})
	f.pending = newKey("pending deletion", &kms.CreateKeyInput{})

	_, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(f.withPolicy),
		Tags: []types.Tag{{TagKey: aws.String("added"), TagValue: aws.String("later")}}})
	must("TagResource", err)
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(f.tagged)})
	must("EnableKeyRotation", err)
	for _, a := range []struct{ name, target string }{
		{"alias/restart-tagged", f.tagged},
		{"alias/restart-policy", f.withPolicy},
		{"alias/restart-disabled", f.disabled},
		{"alias/restart-moved", f.disabled},
	} {
		_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(a.name), TargetKeyId: aws.String(a.target)})
		must("CreateAlias "+a.name, err)
	}
	_, err = c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/restart-moved"), TargetKeyId: aws.String(f.tagged)})
	must("UpdateAlias", err)

	f.canary = []byte("custos-e2e-canary-plaintext-" + hex.EncodeToString(randomBytes(t, 16)))
	encrypt := func(keyID string, i int, plaintext []byte) sealedItem {
		t.Helper()
		ec := map[string]string{"purpose": "restart", "n": strconv.Itoa(i)}
		out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: plaintext, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("Encrypt #%d under %s: %v", i, keyID, err)
		}
		return sealedItem{blob: out.CiphertextBlob, context: ec, plaintext: plaintext}
	}
	for i := range 50 {
		keyID := f.tagged
		switch i % 3 {
		case 1:
			keyID = f.withPolicy
		case 2:
			keyID = "alias/restart-moved"
		}
		pt := randomBytes(t, 1+i*37%4000)
		if i == 0 {
			pt = f.canary
		}
		f.items = append(f.items, encrypt(keyID, i, pt))
	}
	// Ciphertexts under the keys about to leave Enabled: after the restart
	// they must be refused for the key's state, not as garbage.
	d := encrypt(f.disabled, 100, randomBytes(t, 64))
	d.wantErr = "DisabledException"
	p := encrypt(f.pending, 101, randomBytes(t, 64))
	p.wantErr = "KMSInvalidStateException"
	f.items = append(f.items, d, p)

	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(f.disabled)})
	must("DisableKey", err)
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(f.pending), PendingWindowInDays: aws.Int32(7)})
	must("ScheduleKeyDeletion", err)
	return f
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkFixture checks the fixture's own expectations on a snapshot (so a
// test that compares before and after also knows "before" was right).
func checkFixture(t *testing.T, f *fixture, s stateSnapshot) {
	t.Helper()
	want := map[string]struct {
		state   string
		enabled bool
	}{
		f.tagged: {"Enabled", true}, f.withPolicy: {"Enabled", true},
		f.disabled: {"Disabled", false}, f.pending: {"PendingDeletion", false},
	}
	for id, w := range want {
		k, ok := s.Keys[id]
		if !ok {
			t.Errorf("key %s missing", id)
			continue
		}
		if k.KeyState != w.state || k.Enabled != w.enabled {
			t.Errorf("key %s (%s): KeyState, Enabled = %s, %v, want %s, %v", id, k.Description, k.KeyState, k.Enabled, w.state, w.enabled)
		}
	}
	if got, want := s.Keys[f.tagged].Tags, map[string]string{"env": "prod", "team": "a"}; !cmp.Equal(got, want) {
		t.Errorf("tags of the tagged key = %v, want %v", got, want)
	}
	if got, want := s.Keys[f.withPolicy].Tags, map[string]string{"added": "later"}; !cmp.Equal(got, want) {
		t.Errorf("tags of the policy key = %v, want %v", got, want)
	}
	if got := s.Keys[f.withPolicy].Policy; got != f.policy {
		t.Errorf("GetKeyPolicy of the policy key = %q (err %q), want %q", got, s.Keys[f.withPolicy].PolicyErr, f.policy)
	}
	if got := s.Keys[f.tagged].Rotation; got != "true" {
		t.Errorf("GetKeyRotationStatus of the tagged key = %s, want true", got)
	}
	if k := s.Keys[f.pending]; k.DeletionDate == "" || k.PendingDeletionWindowInDays != 7 {
		t.Errorf("pending key: DeletionDate %q, PendingDeletionWindowInDays %d, want a date and 7", k.DeletionDate, k.PendingDeletionWindowInDays)
	}
	targets := make(map[string]string)
	for _, a := range s.Aliases {
		targets[a.Name] = a.Target
	}
	for name, target := range map[string]string{
		"alias/restart-tagged": f.tagged, "alias/restart-policy": f.withPolicy,
		"alias/restart-disabled": f.disabled, "alias/restart-moved": f.tagged,
	} {
		if targets[name] != target {
			t.Errorf("alias %s targets %q, want %q", name, targets[name], target)
		}
	}
}

// checkDecrypts decrypts every fixture ciphertext.
func checkDecrypts(t *testing.T, ctx context.Context, c *kms.Client, f *fixture) {
	t.Helper()
	for i, it := range f.items {
		out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: it.blob, EncryptionContext: it.context})
		switch {
		case it.wantErr != "":
			if err == nil || errorCode(err) != it.wantErr {
				t.Errorf("Decrypt(item %d) error = %v, want %s", i, err, it.wantErr)
			}
		case err != nil:
			t.Errorf("Decrypt(item %d): %v", i, err)
		case !bytes.Equal(out.Plaintext, it.plaintext):
			t.Errorf("Decrypt(item %d) gave a different plaintext (%d bytes, want %d)", i, len(out.Plaintext), len(it.plaintext))
		}
	}
}

// checkDataDir checks file modes in the data folder and that no file but
// credentials and root.key holds the secret access key or a plaintext.
func checkDataDir(t *testing.T, dir string, plaintexts ...[]byte) {
	t.Helper()
	for _, name := range []string{"credentials", "root.key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("data folder: %v", err)
			continue
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s mode = %v, want -rw-------", name, mode)
		}
	}
	secret := []byte(testSecretKey)
	scanned := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path == filepath.Join(dir, "credentials") || path == filepath.Join(dir, "root.key") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		rel, _ := filepath.Rel(dir, path)
		if bytes.Contains(b, secret) {
			t.Errorf("data folder file %s contains the secret access key", rel)
		}
		for i, p := range plaintexts {
			if bytes.Contains(b, p) {
				t.Errorf("data folder file %s contains plaintext #%d", rel, i)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("walk data folder: %v", err)
	}
	if scanned == 0 {
		t.Errorf("data folder %s: no file besides credentials and root.key was scanned", dir)
	}
}

func TestRestartGraceful(t *testing.T) {
	testRestart(t, syscall.SIGTERM)
}

func TestRestartAfterKill(t *testing.T) {
	testRestart(t, syscall.SIGKILL)
}

// testRestart builds the fixture, stops the server with sig right after the
// last acknowledged write, restarts it on the same data folder and checks
// that everything is as before.
func testRestart(t *testing.T, sig syscall.Signal) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	p := startServer(t, dir)
	c := newKMSClient(p.endpoint)
	f := buildFixture(t, ctx, c)
	before := snapshot(t, ctx, c)
	checkFixture(t, f, before)
	// One last write, then the signal with no pause.
	last, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("last write")})
	if err != nil {
		t.Fatalf("CreateKey(last write): %v", err)
	}
	p.stop(t, sig)
	lastID := aws.ToString(last.KeyMetadata.KeyId)

	plaintexts := [][]byte{f.canary}
	for _, it := range f.items {
		if len(it.plaintext) >= 16 {
			plaintexts = append(plaintexts, it.plaintext)
		}
	}
	checkDataDir(t, dir, plaintexts...)

	p2 := startServer(t, dir)
	c2 := newKMSClient(p2.endpoint)
	after := snapshot(t, ctx, c2)
	if _, ok := after.Keys[lastID]; !ok {
		t.Errorf("after %v and restart: the key of the last acknowledged write (%s) is missing", sig, lastID)
	}
	delete(after.Keys, lastID)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("after %v and restart, the account differs (-before +after):\n%s", sig, diff)
	}
	checkFixture(t, f, after)
	checkDecrypts(t, ctx, c2, f)
	p2.stop(t, syscall.SIGTERM)
	checkDataDir(t, dir, plaintexts...)
}

// ackedWrites records the writes the server acknowledged.
type ackedWrites struct {
	mu      sync.Mutex
	keys    []string
	aliases map[string]string            // alias name -> target key id
	tags    map[string]map[string]string // key id -> tag key -> value
}

// TestKillDuringWrites kills the server while a client writes in a loop
// and checks that every acknowledged write survives the restart.
func TestKillDuringWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	p := startServer(t, dir)
	c := newKMSClient(p.endpoint)

	acked := &ackedWrites{aliases: make(map[string]string), tags: make(map[string]map[string]string)}
	const writers = 2
	var wg sync.WaitGroup
	progress := make(chan struct{}, 1000)
	stopWriting := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopWriting:
					return
				default:
				}
				out, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(fmt.Sprintf("loop %d/%d", w, i))})
				if err != nil {
					return // the server is gone
				}
				id := aws.ToString(out.KeyMetadata.KeyId)
				acked.mu.Lock()
				acked.keys = append(acked.keys, id)
				acked.mu.Unlock()
				select {
				case progress <- struct{}{}:
				default:
				}

				alias := fmt.Sprintf("alias/loop-%d-%d", w, i)
				if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)}); err != nil {
					return
				}
				acked.mu.Lock()
				acked.aliases[alias] = id
				acked.mu.Unlock()

				val := strconv.Itoa(i)
				if _, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(id),
					Tags: []types.Tag{{TagKey: aws.String("n"), TagValue: aws.String(val)}}}); err != nil {
					return
				}
				acked.mu.Lock()
				acked.tags[id] = map[string]string{"n": val}
				acked.mu.Unlock()
			}
		}()
	}
	// Let the writers make some progress, then kill the server mid-loop.
	deadline := time.After(10 * time.Second)
	for n := 0; n < 30; n++ {
		select {
		case <-progress:
		case <-deadline:
			t.Fatalf("writers made only %d keys in 10s", n)
		}
	}
	p.stop(t, syscall.SIGKILL)
	close(stopWriting)
	wg.Wait()

	acked.mu.Lock()
	defer acked.mu.Unlock()
	t.Logf("acknowledged before SIGKILL: %d keys, %d aliases, %d tag writes", len(acked.keys), len(acked.aliases), len(acked.tags))

	p2 := startServer(t, dir)
	c2 := newKMSClient(p2.endpoint)
	after := snapshot(t, ctx, c2)
	for _, id := range acked.keys {
		k, ok := after.Keys[id]
		if !ok {
			t.Errorf("acknowledged CreateKey %s is missing after SIGKILL and restart", id)
			continue
		}
		if k.KeyState != "Enabled" {
			t.Errorf("key %s KeyState = %s after restart, want Enabled", id, k.KeyState)
		}
		if want, ok := acked.tags[id]; ok && !cmp.Equal(k.Tags, want) {
			t.Errorf("key %s tags = %v after restart, want the acknowledged %v", id, k.Tags, want)
		}
	}
	targets := make(map[string]string)
	for _, a := range after.Aliases {
		targets[a.Name] = a.Target
	}
	for name, id := range acked.aliases {
		if targets[name] != id {
			t.Errorf("acknowledged alias %s targets %q after restart, want %s", name, targets[name], id)
		}
	}
	// The restarted server takes writes.
	if _, err := c2.CreateKey(ctx, &kms.CreateKeyInput{}); err != nil {
		t.Errorf("CreateKey after restart: %v", err)
	}
}
