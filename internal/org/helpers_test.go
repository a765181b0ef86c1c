package org

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/iam"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store"
	"github.com/custoskms/custos/internal/store/sqlite"
)

const mgmtAccount = "111122223333"

// countingStore counts the transactions run on a store.
type countingStore struct {
	store.Store
	views, updates atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	c.views.Add(1)
	return c.Store.View(ctx, fn)
}

func (c *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

type fixture struct {
	t   testing.TB
	svc *Service
	st  *countingStore
	dir *iam.Directory
}

// newFixture returns a Service over a fresh SQLite store, with account
// mgmtAccount existing.
func newFixture(t testing.TB, configure ...func(*Config)) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "custos.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	root, err := keyring.NewRoot(make([]byte, 32))
	if err != nil {
		t.Fatalf("keyring.NewRoot: %v", err)
	}
	st := &countingStore{Store: db}
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	dir := iam.NewDirectory(st, root, rand.Reader, now)
	if _, err := dir.EnsureAccount(context.Background(), mgmtAccount); err != nil {
		t.Fatalf("EnsureAccount: %v", err)
	}
	cfg := Config{Store: st, Rand: rand.Reader, Now: now, Directory: dir}
	for _, f := range configure {
		f(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{t: t, svc: svc, st: st, dir: dir}
}

// rootOf returns the root principal of an account.
func rootOf(account string) *caller.Caller {
	return &caller.Caller{AccountID: account, ARN: "arn:aws:iam::" + account + ":root", Type: caller.TypeRoot, UserID: account}
}

// userOf returns an IAM user of an account.
func userOf(account, name string) *caller.Caller {
	return &caller.Caller{AccountID: account, ARN: "arn:aws:iam::" + account + ":user/" + name, Type: caller.TypeIAMUser, UserName: name}
}

// call serves op with a JSON body and returns the reply re-decoded as
// generic JSON, as a client would see it.
func (f *fixture) call(c *caller.Caller, op, body string) (map[string]any, error) {
	f.t.Helper()
	out, err := f.svc.Call(context.Background(), c, op, []byte(body))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		f.t.Fatalf("%s: encode reply: %v", op, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatalf("%s: decode reply: %v", op, err)
	}
	return m, nil
}

// must is call that fails the test on error.
func (f *fixture) must(c *caller.Caller, op, body string) map[string]any {
	f.t.Helper()
	m, err := f.call(c, op, body)
	if err != nil {
		f.t.Fatalf("%s(%s) = %v", op, body, err)
	}
	return m
}

// code returns the AWS error code of err, or "" for nil.
func code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := awsproto.As(err); ok {
		return e.Code
	}
	return "not an AWS error: " + err.Error()
}

// get walks a decoded reply: get(m, "Organization", "Id").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

// org is an organization made for a test: ids of its entities.
type org struct {
	id, root string
}

func (f *fixture) createOrg() org {
	f.t.Helper()
	m := f.must(rootOf(mgmtAccount), "CreateOrganization", `{"FeatureSet":"ALL"}`)
	roots := f.must(rootOf(mgmtAccount), "ListRoots", `{}`)
	return org{id: str(m, "Organization", "Id"), root: str(roots, "Roots", 0, "Id")}
}

// createAccount creates an account and returns its id.
func (f *fixture) createAccount(name string) string {
	f.t.Helper()
	m := f.must(rootOf(mgmtAccount), "CreateAccount", `{"AccountName":"`+name+`","Email":"`+name+`@example.com"}`)
	id := str(m, "CreateAccountStatus", "AccountId")
	if id == "" {
		f.t.Fatalf("CreateAccount(%s) = %v, want an account id", name, m)
	}
	return id
}

func (f *fixture) createOU(parent, name string) string {
	f.t.Helper()
	m := f.must(rootOf(mgmtAccount), "CreateOrganizationalUnit", `{"ParentId":"`+parent+`","Name":"`+name+`"}`)
	return str(m, "OrganizationalUnit", "Id")
}

func (f *fixture) createPolicy(name, content string) string {
	f.t.Helper()
	body, _ := json.Marshal(map[string]string{"Name": name, "Description": "test", "Type": "SERVICE_CONTROL_POLICY", "Content": content})
	m := f.must(rootOf(mgmtAccount), "CreatePolicy", string(body))
	return str(m, "Policy", "PolicySummary", "Id")
}

const denyDeletion = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}`
