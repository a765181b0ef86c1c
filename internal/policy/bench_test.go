package policy

import (
	"testing"
)

// A typical key policy: the console's five statements with three conditions.
const benchKeyPolicy = `{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/KeyAdmin"]},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
                "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
                "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
     "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/App", "arn:aws:iam::444455556666:root"]},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*",
     "Condition": {"StringEquals": {"kms:EncryptionContext:app": "billing"}}},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/App"]},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    {"Sid": "Deny outside the network", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}}}
  ]
}`

var benchIdentity = []string{
	`{"Version":"2012-10-17","Statement":[{"Sid":"UseKeys","Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt","kms:GenerateDataKey*"],"Resource":"arn:aws:kms:us-east-1:111122223333:key/*"},{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::app-*/*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:DescribeKey","kms:List*"],"Resource":"*"},{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}`,
}

const benchKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func benchSet(tb testing.TB) *Set {
	tb.Helper()
	kp, err := Parse(benchKeyPolicy, KeyPolicy)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Set{Resource: kp, ResourceAccountID: "111122223333", RequireResourceDelegation: true}
	for _, d := range benchIdentity {
		p, err := Parse(d, Identity)
		if err != nil {
			tb.Fatal(err)
		}
		s.Identity = append(s.Identity, p)
	}
	return s
}

// benchContext builds the context of a Decrypt call: 15 keys.
func benchContext() *Context {
	c := NewContext()
	fillContext(c)
	return c
}

func fillContext(c *Context) {
	c.Set("aws:PrincipalArn", "arn:aws:iam::111122223333:role/App")
	c.Set("aws:PrincipalAccount", "111122223333")
	c.Set("aws:PrincipalType", "AssumedRole")
	c.Set("aws:userid", "AROAEXAMPLEID:s1")
	c.Set("aws:SourceIp", "203.0.113.7")
	c.SetBool("aws:SecureTransport", true)
	c.Set("aws:CurrentTime", "2024-05-01T12:00:00Z")
	c.Set("aws:EpochTime", "1714564800")
	c.Set("aws:RequestedRegion", "us-east-1")
	c.Set("kms:CallerAccount", "111122223333")
	c.Set("kms:EncryptionContext:app", "billing")
	c.Set("kms:EncryptionContextKeys", "app", "tenant")
	c.Set("kms:KeySpec", "SYMMETRIC_DEFAULT")
	c.Set("kms:KeyUsage", "ENCRYPT_DECRYPT")
	c.Set("kms:KeyOrigin", "AWS_KMS")
}

func benchRequest() *Request {
	return &Request{
		Principal: Principal{ARN: "arn:aws:sts::111122223333:assumed-role/App/s1", RoleARN: "arn:aws:iam::111122223333:role/App"},
		Action:    "kms:Decrypt",
		Resource:  benchKey,
		Context:   benchContext(),
	}
}

// BenchmarkDecide decides a Decrypt by an application role against the key
// policy and two identity policies, with a prebuilt context.
func BenchmarkDecide(b *testing.B) {
	s := benchSet(b)
	r := benchRequest()
	if res := s.Decide(r); !res.Allowed {
		b.Fatalf("Decide = %+v, want allowed", res)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Decide(r)
	}
}

// BenchmarkDecideWithContext also builds the request context, as a server
// does for every call.
func BenchmarkDecideWithContext(b *testing.B) {
	s := benchSet(b)
	r := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		r.Context = benchContext()
		s.Decide(r)
	}
}

func BenchmarkDecideDenied(b *testing.B) {
	s := benchSet(b)
	r := benchRequest()
	r.Action = "kms:ScheduleKeyDeletion"
	b.ReportAllocs()
	for b.Loop() {
		s.Decide(r)
	}
}

func BenchmarkEvaluateNoMatch(b *testing.B) {
	s := benchSet(b)
	r := benchRequest()
	r.Principal = Principal{ARN: "arn:aws:iam::999999999999:user/x"}
	r.Context.Set("aws:SourceIp", "203.0.113.9")
	b.ReportAllocs()
	for b.Loop() {
		s.Resource.Evaluate(r)
	}
}

func BenchmarkContext(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchContext()
	}
}

// BenchmarkContextReuse fills a reused Context, as with a sync.Pool.
func BenchmarkContextReuse(b *testing.B) {
	c := NewContext()
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		fillContext(c)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchKeyPolicy, KeyPolicy); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	s := benchSet(t)
	r := benchRequest()
	r.Principal = Principal{ARN: "arn:aws:iam::999999999999:user/x"}
	if n := testing.AllocsPerRun(100, func() { s.Resource.Evaluate(r) }); n != 0 {
		t.Errorf("Evaluate with no statement applying: %v allocations, want 0", n)
	}
	r = benchRequest()
	if n := testing.AllocsPerRun(100, func() { s.Decide(r) }); n > 2 {
		t.Errorf("Decide (allowed): %v allocations, want at most 2", n)
	}
	if n := testing.AllocsPerRun(100, func() { benchContext() }); n > 1 {
		t.Errorf("building a 15-key context: %v allocations, want at most 1", n)
	}
}
