package iam

import (
	"context"
	"crypto/rand"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store/sqlite"
)

const acct = "111122223333"

// newService returns a Service over a fresh SQLite store, with the account
// created.
func newService(t testing.TB) *Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	root, err := keyring.NewRoot(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := NewDirectory(st, root, rand.Reader, time.Now)
	if _, err := dir.EnsureAccount(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	s, err := NewService(Config{Store: st, Root: root, Rand: rand.Reader, Now: time.Now, Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var rootCaller = &caller.Caller{AccountID: acct, ARN: RootARN(acct), Type: TypeRoot, UserID: acct}

// call serves an IAM action as the root and fails the test on error.
func call(t testing.TB, s *Service, action string, kv ...string) any {
	t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	out, err := s.IAM(context.Background(), rootCaller, action, form)
	if err != nil {
		t.Fatalf("%s(%v): %v", action, kv, err)
	}
	return out
}

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

func TestPoliciesOfCache(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	call(t, s, "CreateUser", "UserName", "alice")
	call(t, s, "PutUserPolicy", "UserName", "alice", "PolicyName", "p", "PolicyDocument", allowAll)
	call(t, s, "CreateGroup", "GroupName", "g")
	call(t, s, "PutGroupPolicy", "GroupName", "g", "PolicyName", "gp", "PolicyDocument", allowAll)
	call(t, s, "AddUserToGroup", "GroupName", "g", "UserName", "alice")
	c := &caller.Caller{AccountID: acct, ARN: entityARN(acct, "user", "/", "alice"), Type: TypeIAMUser, UserName: "alice"}

	p1, err := s.PoliciesOf(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Identity) != 2 || p1.Boundary != nil || p1.Session != nil {
		t.Fatalf("PoliciesOf(alice) = %+v, want 2 identity policies", p1)
	}
	p2, _ := s.PoliciesOf(ctx, c)
	if p1 != p2 {
		t.Errorf("PoliciesOf twice returned different values; want the cached one")
	}
	if n := testing.AllocsPerRun(100, func() { s.PoliciesOf(ctx, c) }); n != 0 {
		t.Errorf("PoliciesOf cache hit allocates %v times, want 0", n)
	}

	// Any IAM change invalidates.
	call(t, s, "DeleteGroupPolicy", "GroupName", "g", "PolicyName", "gp")
	p3, _ := s.PoliciesOf(ctx, c)
	if len(p3.Identity) != 1 {
		t.Errorf("PoliciesOf after DeleteGroupPolicy = %d policies, want 1", len(p3.Identity))
	}
	if root, _ := s.PoliciesOf(ctx, rootCaller); len(root.Identity) != 0 {
		t.Errorf("PoliciesOf(root) = %+v, want none", root)
	}
}

func BenchmarkPoliciesOfHit(b *testing.B) {
	s := newService(b)
	call(b, s, "CreateUser", "UserName", "alice")
	call(b, s, "PutUserPolicy", "UserName", "alice", "PolicyName", "p", "PolicyDocument", allowAll)
	c := &caller.Caller{AccountID: acct, ARN: entityARN(acct, "user", "/", "alice"), Type: TypeIAMUser, UserName: "alice"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.PoliciesOf(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrincipalExists(t *testing.T) {
	s := newService(t)
	call(t, s, "CreateUser", "UserName", "alice", "Path", "/team/")
	call(t, s, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}`)
	call(t, s, "CreateGroup", "GroupName", "g")
	tests := []struct {
		arn  string
		want bool
	}{
		{"*", true},
		{"111122223333", true},
		{"arn:aws:iam::111122223333:root", true},
		{"arn:aws:iam::999999999999:root", false},
		{"arn:aws:iam::111122223333:user/team/alice", true},
		{"arn:aws:iam::111122223333:user/alice", false}, // wrong path
		{"arn:aws:iam::111122223333:user/bob", false},
		{"arn:aws:iam::111122223333:role/r", true},
		{"arn:aws:sts::111122223333:assumed-role/r/any-session", true},
		{"arn:aws:sts::111122223333:assumed-role/nope/s", false},
		{"arn:aws:iam::111122223333:group/g", false},
		{"arn:aws:iam::1111:root", false},
		{"not an arn", false},
	}
	for _, tc := range tests {
		got, err := s.PrincipalExists(context.Background(), tc.arn)
		if err != nil || got != tc.want {
			t.Errorf("PrincipalExists(%q) = %v, %v; want %v", tc.arn, got, err, tc.want)
		}
	}
}

func TestAuthorizeMessages(t *testing.T) {
	s := newService(t)
	call(t, s, "CreateUser", "UserName", "alice")
	call(t, s, "PutUserPolicy", "UserName", "alice", "PolicyName", "p", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`)
	alice := &caller.Caller{AccountID: acct, ARN: entityARN(acct, "user", "/", "alice"), Type: TypeIAMUser, UserName: "alice", UserID: "AIDAEXAMPLE"}
	_, err := s.IAM(context.Background(), alice, "ListUsers", url.Values{})
	e, ok := awsproto.As(err)
	if !ok || e.Code != "AccessDenied" || e.Status != 403 {
		t.Fatalf("ListUsers over plain HTTP = %v, want AccessDenied (403)", err)
	}
	secure := *alice
	secure.Secure = true
	if _, err := s.IAM(context.Background(), &secure, "ListUsers", url.Values{}); err != nil {
		t.Errorf("ListUsers over TLS = %v, want allowed", err)
	}

	// SCPs apply, to the root too.
	scp, err := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"}]}`, policy.SCP)
	if err != nil {
		t.Fatal(err)
	}
	s.scps = func(context.Context, string) ([][]*policy.Policy, error) { return [][]*policy.Policy{{scp}}, nil }
	_, err = s.IAM(context.Background(), rootCaller, "CreateUser", url.Values{"UserName": {"bob"}})
	if e, ok := awsproto.As(err); !ok || e.Code != "AccessDenied" || !strings.Contains(e.Message, "service control policy") {
		t.Errorf("CreateUser under a denying SCP = %v, want AccessDenied by a service control policy", err)
	}
}

func TestURLEncode(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": "b"}`, "%7B%22a%22%3A%20%22b%22%7D"},
		{"x-y_z.~", "x-y_z.~"},
		{"a/b+c\n", "a%2Fb%2Bc%0A"},
		{"é", "%C3%A9"},
	}
	for _, tc := range tests {
		if got := urlEncode(tc.in); got != tc.want {
			t.Errorf("urlEncode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if dec, err := url.PathUnescape(urlEncode(tc.in)); err != nil || dec != tc.in {
			t.Errorf("PathUnescape(urlEncode(%q)) = %q, %v", tc.in, dec, err)
		}
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	var got []string
	pg := page{max: 2}
	for i := 0; i < 10; i++ {
		out, more, marker := paginate(items, id, pg)
		got = append(got, out...)
		if !more {
			break
		}
		var v awsproto.Validation
		next, err := pageParams(&v, &request{form: url.Values{"Marker": {marker}, "MaxItems": {"2"}}})
		if err != nil || v.Err() != nil {
			t.Fatalf("pageParams(%q) = %v %v", marker, err, v.Err())
		}
		pg = next
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("paging by 2 = %v, want every item once", got)
	}
}

func TestGlobFold(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"kms:*", "kms:Decrypt", true},
		{"KMS:decrypt", "kms:Decrypt", true},
		{"kms:Re*", "kms:ReEncryptFrom", true},
		{"kms:?ecrypt", "kms:Decrypt", true},
		{"kms:*crypt", "kms:Decrypt", true},
		{"kms:*crypt", "kms:DecryptX", false},
		{"iam:*", "kms:Decrypt", false},
		{"*", "", true},
	}
	for _, tc := range tests {
		if got := globFold(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globFold(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestValidators(t *testing.T) {
	paths := map[string]bool{"/": true, "/a/": true, "/a/b/": true, "a/": false, "/a": false, "//": false, "/a b/": false}
	for p, want := range paths {
		if got := validPath(p); got != want {
			t.Errorf("validPath(%q) = %v, want %v", p, got, want)
		}
	}
	versions := map[string]bool{"v1": true, "v12": true, "v1.2-a": true, "v0": false, "1": false, "v": false, "vx": false}
	for v, want := range versions {
		if got := validVersionID(v); got != want {
			t.Errorf("validVersionID(%q) = %v, want %v", v, got, want)
		}
	}
	splits := []struct{ in, typ, path, name string }{
		{"user/alice", "user", "/", "alice"},
		{"user/a/b/alice", "user", "/a/b/", "alice"},
		{"root", "root", "", ""},
	}
	for _, tc := range splits {
		typ, path, name := pathAndName(tc.in)
		if typ != tc.typ || path != tc.path || name != tc.name {
			t.Errorf("pathAndName(%q) = %q %q %q, want %q %q %q", tc.in, typ, path, name, tc.typ, tc.path, tc.name)
		}
	}
	if got := documentSize("{ \"a\" :\n 1 }"); got != 7 {
		t.Errorf("documentSize = %d, want 7", got)
	}
}

func TestNewIDs(t *testing.T) {
	for _, prefix := range []string{prefixUser, prefixRole, prefixGroup, prefixPolicy} {
		id, err := newID(rand.Reader, prefix)
		if err != nil || len(id) != 21 || !strings.HasPrefix(id, prefix) || strings.ToUpper(id) != id {
			t.Errorf("newID(%s) = %q, %v; want %s and 17 upper-case characters", prefix, id, err, prefix)
		}
	}
	id, secret, err := newKeyPair(rand.Reader, prefixSession)
	if err != nil || len(id) != 20 || !strings.HasPrefix(id, "ASIA") || len(secret) != 40 {
		t.Errorf("newKeyPair(ASIA) = %q, %d-byte secret, %v", id, len(secret), err)
	}
}

func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::111122223333:user/a/b/c", "arn:aws:sts::111122223333:assumed-role/r/s", "arn:aws:iam::111122223333:root",
		"arn:aws:iam::aws:policy/AdministratorAccess", "arn::::", "", "*", "111122223333",
	} {
		f.Add(s)
	}
	s := newService(f)
	f.Fuzz(func(t *testing.T, arn string) {
		a, ok := parseARN(arn)
		if ok {
			typ, path, name := pathAndName(a.Resource)
			if path != "" && (path[0] != '/' || path[len(path)-1] != '/') {
				t.Errorf("pathAndName(%q) path %q", a.Resource, path)
			}
			_ = typ + name
		}
		if _, err := s.PrincipalExists(context.Background(), arn); err != nil {
			t.Errorf("PrincipalExists(%q) = %v", arn, err)
		}
	})
}

// FuzzIAMRequest sends arbitrary forms to the IAM and STS actions: no
// panic, and every failure is an AWS error, never an internal one.
func FuzzIAMRequest(f *testing.F) {
	seeds := []struct{ action, body string }{
		{"CreateUser", "UserName=alice&Path=%2Fa%2F&Tags.member.1.Key=k&Tags.member.1.Value=v"},
		{"CreateRole", "RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=4000"},
		{"PutUserPolicy", "UserName=alice&PolicyName=p&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%7D"},
		{"SimulateCustomPolicy", "PolicyInputList.member.1=%7B%7D&ActionNames.member.1=kms%3ADecrypt&ContextEntries.member.1.ContextKeyName=aws%3AX&ContextEntries.member.1.ContextKeyValues.member.1=1"},
		{"ListUsers", "MaxItems=0&Marker=%25"},
		{"CreatePolicyVersion", "PolicyArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fp&PolicyDocument=x"},
		{"AssumeRole", "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&RoleSessionName=ab&PolicyArns.member.1.arn=x"},
	}
	for _, s := range seeds {
		f.Add(s.action, s.body)
	}
	s := newService(f)
	call(f, s, "CreateUser", "UserName", "alice")
	f.Fuzz(func(t *testing.T, action, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		serve := s.IAM
		if action == "AssumeRole" || action == "GetCallerIdentity" {
			serve = s.STS
		}
		alice := &caller.Caller{AccountID: acct, ARN: entityARN(acct, "user", "/", "alice"), Type: TypeIAMUser, UserName: "alice"}
		for _, c := range []*caller.Caller{rootCaller, alice} {
			_, err := serve(context.Background(), c, action, form)
			if e, ok := awsproto.As(err); err != nil && (!ok || e.Status >= 500) {
				t.Errorf("%s(%q) = %v, want an AWS client error", action, body, err)
			}
		}
	})
}
