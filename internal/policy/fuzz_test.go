package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds returns real policy documents: those of the parser tests and of
// the corpus.
func fuzzSeeds(f *testing.F) []string {
	var seeds []string
	for _, d := range validDocs {
		seeds = append(seeds, d.doc)
	}
	paths, _ := filepath.Glob("testdata/cases/*.json")
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		var cf corpusFile
		if err := json.Unmarshal(data, &cf); err != nil {
			f.Fatal(err)
		}
		for _, p := range cf.Policies {
			seeds = append(seeds, string(p))
		}
		for i, c := range cf.Cases {
			if c.Policy != nil && c.Policy[0] == '{' && i%3 == 0 {
				seeds = append(seeds, string(c.Policy))
			}
		}
	}
	return seeds
}

var fuzzRequests = []*Request{
	{Principal: Principal{ARN: "arn:aws:iam::111122223333:user/alice"}, Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k"},
	{Principal: Principal{ARN: "arn:aws:sts::111122223333:assumed-role/R/s", RoleARN: "arn:aws:iam::111122223333:role/R"}, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/home/alice/x"},
	{Principal: Principal{Anonymous: true}, Action: "sts:AssumeRole", Resource: "*"},
	{Principal: Principal{Service: "cloudtrail.amazonaws.com"}, Action: "kms:GenerateDataKey", Resource: "*"},
}

func fuzzContext() *Context {
	ctx := NewContext()
	ctx.Set("aws:username", "alice")
	ctx.Set("aws:PrincipalTag/team", "blue")
	ctx.Set("aws:SourceIp", "203.0.113.7")
	ctx.Set("aws:CurrentTime", "2024-05-01T12:00:00Z")
	ctx.Set("aws:SecureTransport", "true")
	ctx.Set("aws:TagKeys", "a", "b")
	ctx.Set("kms:CallerAccount", "111122223333")
	return ctx
}

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxError, and that whatever it accepts evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint8(0))
	}
	f.Add(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username, 'a''b'}/${*}"}}`, uint8(1))
	f.Fuzz(func(t *testing.T, doc string, kind uint8) {
		p, err := Parse(doc, Kind(kind%4))
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse error %T, want *SyntaxError", err)
			}
			return
		}
		ctx := fuzzContext()
		for _, r := range fuzzRequests {
			rr := *r
			rr.Context = ctx
			d := p.Evaluate(&rr)
			ed, _ := p.Explain(&rr)
			if d.Allow != ed.Allow || d.Deny != ed.Deny || d.AccountAllow != ed.AccountAllow {
				t.Fatalf("Evaluate %+v and Explain %+v disagree", d, ed)
			}
		}
		_ = p.Statements()
	})
}

// FuzzEvaluate evaluates a fixed set of policies with fuzzed requests and
// condition values.
func FuzzEvaluate(f *testing.F) {
	f.Add("arn:aws:iam::111122223333:user/alice", "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k", "aws:SourceIp", "203.0.113.7", "")
	f.Add("arn:aws:sts::111122223333:assumed-role/R/s", "s3:GetObject", "arn:aws:s3:::b/home/alice/*", "aws:CurrentTime", "2024-13-01T00:00:00Z", "arn:aws:iam::111122223333:role/R")
	f.Add("arn:aws:iam::111122223333:root", "KMS:*", "*", "aws:TagKeys", "1e308", "")
	f.Add("", "", "", "", "", "")
	f.Add("arn:aws:iam::111122223333:user/a", "s3:Get?bject", "arn:aws:s3:::b/é/x", "aws:EpochTime", "99999999999999999999", "")
	docs := []struct {
		doc  string
		kind Kind
	}{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/R"]},"Action":"kms:*","Resource":"*"},
		  {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}}]}`, KeyPolicy},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:De*"],"Resource":["arn:aws:s3:::b/home/${aws:username}/*","arn:aws:kms:*:${aws:PrincipalAccount, '111122223333'}:key/*"],
		  "Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"ForAllValues:StringLike":{"aws:TagKeys":["a*","${aws:username}"]},"NumericLessThanIfExists":{"aws:EpochTime":"1e10"},
		  "ArnLike":{"aws:PrincipalArn":"arn:aws:*:*:111122223333:*"},"BinaryEquals":{"custom:b":"AAAA"},"Null":{"aws:TokenIssueTime":"true"},"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}}]}`, Identity},
	}
	var policies []*Policy
	for _, d := range docs {
		p, err := Parse(d.doc, d.kind)
		if err != nil {
			f.Fatal(err)
		}
		policies = append(policies, p)
	}
	f.Fuzz(func(t *testing.T, arn, action, resource, key, value, role string) {
		ctx := fuzzContext()
		if key != "" {
			ctx.Set(key, strings.Split(value, ",")...)
		}
		r := &Request{Principal: Principal{ARN: arn, RoleARN: role}, Action: action, Resource: resource, Context: ctx}
		for _, p := range policies {
			d := p.Evaluate(r)
			ed, traces := p.Explain(r)
			if d.Allow != ed.Allow || d.Deny != ed.Deny || d.AccountAllow != ed.AccountAllow || d.RoleAllow != ed.RoleAllow {
				t.Fatalf("Evaluate %+v and Explain %+v disagree", d, ed)
			}
			if len(traces) != p.Len() {
				t.Fatalf("Explain gave %d traces for %d statements", len(traces), p.Len())
			}
		}
		set := &Set{Resource: policies[0], Identity: policies[1:], ResourceAccountID: "111122223333", RequireResourceDelegation: true}
		res := set.Decide(r)
		if !res.Allowed && res.Reason == "" {
			t.Fatalf("denied without a reason: %+v", res)
		}
	})
}
