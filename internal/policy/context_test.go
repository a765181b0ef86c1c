package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestContext(t *testing.T) {
	c := NewContext()
	c.Set("aws:SourceIp", "203.0.113.7")
	c.Set("aws:TagKeys", "a", "b")
	c.Set("aws:Empty")
	c.Set("kms:EncryptionContext:Straße", "x")
	c.SetBool("aws:SecureTransport", true)
	c.SetNumber("s3:max-keys", 42)
	c.SetTime("aws:CurrentTime", time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("x", 2*3600)))
	vals := []string{"v1", "v2"}
	c.Set("custom:list", vals...)
	vals[0] = "changed"

	tests := []struct {
		key     string
		want    []string
		present bool
	}{
		{"aws:SourceIp", []string{"203.0.113.7"}, true},
		{"AWS:SOURCEIP", []string{"203.0.113.7"}, true},
		{"aws:tagkeys", []string{"a", "b"}, true},
		{"aws:Empty", []string{}, true},
		{"kms:encryptioncontext:STRASSE", nil, false}, // simple folding only, as strings.EqualFold
		{"KMS:ENCRYPTIONCONTEXT:STRAßE", []string{"x"}, true},
		{"aws:SecureTransport", []string{"true"}, true},
		{"s3:max-keys", []string{"42"}, true},
		{"aws:CurrentTime", []string{"2024-05-01T12:00:00Z"}, true},
		{"custom:list", []string{"v1", "v2"}, true},
		{"aws:missing", nil, false},
	}
	for _, tc := range tests {
		got, ok := c.Get(tc.key)
		if ok != tc.present || !cmp.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("Get(%q) = %q, %t, want %q, %t", tc.key, got, ok, tc.want, tc.present)
		}
	}

	c.Set("AWS:SourceIP", "198.51.100.1")
	if got, _ := c.Get("aws:sourceip"); !cmp.Equal(got, []string{"198.51.100.1"}) {
		t.Errorf("after replacing, Get = %q", got)
	}
	if n := len(c.Keys()); n != 8 {
		t.Errorf("Keys() has %d keys, want 8: %q", n, c.Keys())
	}

	c.Reset()
	if _, ok := c.Get("aws:SourceIp"); ok || len(c.Keys()) != 0 {
		t.Errorf("after Reset the context is not empty: %q", c.Keys())
	}
	c.Set("k:v", "1")
	if got, ok := c.Get("k:v"); !ok || got[0] != "1" {
		t.Errorf("after Reset, Set/Get = %q, %t", got, ok)
	}

	var zero Context
	zero.Set("a:b", "c")
	if got, ok := zero.Get("A:B"); !ok || got[0] != "c" {
		t.Errorf("zero Context: Get = %q, %t", got, ok)
	}
	var nilCtx *Context
	if _, ok := nilCtx.Get("a:b"); ok {
		t.Errorf("nil Context has a key")
	}

	// Many keys outgrow the inline storage.
	big := NewContext()
	for i := 0; i < 100; i++ {
		big.Set("k:"+strings.Repeat("x", i), "v", "w")
	}
	if got, ok := big.Get("K:" + strings.Repeat("X", 99)); !ok || len(got) != 2 {
		t.Errorf("Get in a big context = %q, %t", got, ok)
	}
}

func TestExplain(t *testing.T) {
	p, err := Parse(`{"Version":"2012-10-17","Statement":[
	  {"Sid":"Admins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin"},"Action":"kms:*","Resource":"*"},
	  {"Sid":"Users","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
	   "Condition":{"StringEquals":{"kms:EncryptionContext:app":["billing","payroll"]}}},
	  {"Sid":"NoDelete","Effect":"Deny","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"},
	  {"Sid":"OtherKey","Effect":"Allow","Principal":"*","Action":"kms:*","NotResource":"arn:aws:kms:*:*:key/k"},
	  {"Sid":"Account","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:Decrypt","Resource":"*"}]}`, KeyPolicy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := NewContext()
	ctx.Set("kms:EncryptionContext:app", "hr")
	r := &Request{
		Principal: Principal{ARN: "arn:aws:iam::111122223333:user/alice"},
		Action:    "kms:Decrypt",
		Resource:  "arn:aws:kms:us-east-1:111122223333:key/k",
		Context:   ctx,
	}
	d, traces := p.Explain(r)
	wantDecision := Decision{AccountAllow: true, Matched: []StatementRef{{Index: 4, Effect: "Allow", Sid: "Account"}}}
	if diff := cmp.Diff(wantDecision, d); diff != "" {
		t.Errorf("Explain decision (-want +got):\n%s", diff)
	}
	want := []StatementTrace{
		{Index: 0, Sid: "Admins", Effect: "Allow", Reason: "principal arn:aws:iam::111122223333:user/alice does not match Principal"},
		{Index: 1, Sid: "Users", Effect: "Allow", Reason: `condition StringEquals on kms:EncryptionContext:app failed: request values ["hr"], policy values ["billing" "payroll"]`},
		{Index: 2, Sid: "NoDelete", Effect: "Deny", Reason: `action kms:Decrypt is listed in NotAction ["kms:Decrypt"]`},
		{Index: 3, Sid: "OtherKey", Effect: "Allow", Reason: `resource arn:aws:kms:us-east-1:111122223333:key/k is listed in NotResource ["arn:aws:kms:*:*:key/k"]`},
		{Index: 4, Sid: "Account", Effect: "Allow", Applied: true, Reason: "applied: the principal names the caller's account 111122223333 (delegation to IAM policies)"},
	}
	if diff := cmp.Diff(want, traces); diff != "" {
		t.Errorf("Explain traces (-want +got):\n%s", diff)
	}

	ctx.Set("kms:EncryptionContext:app")
	_, traces = p.Explain(r)
	if got, want := traces[1].Reason, `condition StringEquals on kms:EncryptionContext:app failed: the key is not in the request, policy values ["billing" "payroll"]`; got != want {
		t.Errorf("missing key reason = %q, want %q", got, want)
	}
}

func TestDecideDeciding(t *testing.T) {
	s := benchSet(t)
	r := benchRequest()
	res := s.Decide(r)
	want := []Source{{Type: SourceResource, Statement: StatementRef{Index: 2, Sid: "Allow use of the key", Effect: "Allow"}}}
	if diff := cmp.Diff(want, res.Deciding); diff != "" || !res.Allowed {
		t.Errorf("Decide = %+v; Deciding (-want +got):\n%s", res, diff)
	}

	r.Action = "kms:ScheduleKeyDeletion"
	res = s.Decide(r)
	want = []Source{{Type: SourceIdentity, Index: 1, Statement: StatementRef{Index: 1, Effect: "Deny"}}}
	if diff := cmp.Diff(want, res.Deciding); diff != "" || res.Allowed || !res.ExplicitDeny {
		t.Errorf("Decide = %+v; Deciding (-want +got):\n%s", res, diff)
	}
	msg := res.Message(r.Principal.ARN, r.Action, r.Resource)
	wantMsg := "User: arn:aws:sts::111122223333:assumed-role/App/s1 is not authorized to perform: kms:ScheduleKeyDeletion on resource: " +
		benchKey + " with an explicit deny in an identity-based policy"
	if msg != wantMsg {
		t.Errorf("Message = %q, want %q", msg, wantMsg)
	}

	// A delegated allow lists the key policy statement and the identity
	// statement.
	r = benchRequest()
	r.Principal = Principal{ARN: "arn:aws:iam::111122223333:user/alice"}
	res = s.Decide(r)
	want = []Source{
		{Type: SourceResource, Statement: StatementRef{Index: 0, Sid: "Enable IAM User Permissions", Effect: "Allow"}},
		{Type: SourceIdentity, Statement: StatementRef{Index: 0, Sid: "UseKeys", Effect: "Allow"}},
	}
	if diff := cmp.Diff(want, res.Deciding); diff != "" || !res.Allowed {
		t.Errorf("Decide = %+v; Deciding (-want +got):\n%s", res, diff)
	}
}
