package org

import (
	"context"
	"slices"
	"testing"

	"github.com/custoskms/custos/internal/awsproto"
)

// FuzzCall sends arbitrary request bodies to every operation of an
// organization with SCPs enabled. Whatever the body, the reply is a value
// or a client error (never a panic, never an internal fault).
func FuzzCall(f *testing.F) {
	ops := make([]string, 0, len(operations))
	for op := range operations {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	seeds := []struct{ op, body string }{
		{"CreateOrganization", `{"FeatureSet":"ALL"}`},
		{"DescribeOrganization", `{}`},
		{"ListRoots", `{"MaxResults":1}`},
		{"EnablePolicyType", `{"RootId":"r-ab12","PolicyType":"SERVICE_CONTROL_POLICY"}`},
		{"CreateAccount", `{"AccountName":"fuzz","Email":"fuzz@example.com"}`},
		{"DescribeCreateAccountStatus", `{"CreateAccountRequestId":"car-0123456789abcdef"}`},
		{"ListAccounts", `{"NextToken":"MTIz","MaxResults":20}`},
		{"ListAccountsForParent", `{"ParentId":"ou-ab12-abcdefgh"}`},
		{"MoveAccount", `{"AccountId":"111122223333","SourceParentId":"r-ab12","DestinationParentId":"ou-ab12-abcdefgh"}`},
		{"ListParents", `{"ChildId":"111122223333"}`},
		{"ListChildren", `{"ParentId":"r-ab12","ChildType":"ORGANIZATIONAL_UNIT"}`},
		{"CreateOrganizationalUnit", `{"ParentId":"r-ab12","Name":"x"}`},
		{"CreatePolicy", `{"Name":"p","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"kms:*\"}}"}`},
		{"UpdatePolicy", `{"PolicyId":"p-abcdefgh","Content":"{}"}`},
		{"AttachPolicy", `{"PolicyId":"p-FullAWSAccess","TargetId":"111122223333"}`},
		{"DetachPolicy", `{"PolicyId":"p-FullAWSAccess","TargetId":"111122223333"}`},
		{"ListPoliciesForTarget", `{"TargetId":"111122223333","Filter":"SERVICE_CONTROL_POLICY"}`},
		{"ListTargetsForPolicy", `{"PolicyId":"p-FullAWSAccess"}`},
		{"ListPolicies", `{"Filter":"TAG_POLICY"}`},
		{"DeleteOrganization", `null`},
		{"ListAccounts", `{"MaxResults":"x"}`},
		{"DescribeAccount", `[`},
	}
	for _, s := range seeds {
		f.Add(uint8(slices.Index(ops, s.op)), []byte(s.body))
	}
	fx := newFixture(f)
	o := fx.createOrg()
	fx.must(rootOf(mgmtAccount), "EnablePolicyType", `{"RootId":"`+o.root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	f.Fuzz(func(t *testing.T, i uint8, body []byte) {
		op := ops[int(i)%len(ops)]
		out, err := fx.svc.Call(context.Background(), rootOf(mgmtAccount), op, body)
		if err != nil {
			e, ok := awsproto.As(err)
			if !ok || e.Code == "ServiceException" || e.Status >= 500 {
				t.Fatalf("%s(%q) = %v, want a client error", op, body, err)
			}
			return
		}
		if out == nil {
			t.Fatalf("%s(%q) = nil reply and nil error", op, body)
		}
	})
}

// BenchmarkSCPsOfCached measures the hot path: an account in a nested OU,
// its result cached.
func BenchmarkSCPsOfCached(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	if _, _, _, err := e.svc.SCPsOf(ctx, e.a2); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if levels, _, _, _ := e.svc.SCPsOf(ctx, e.a2); len(levels) != 4 {
				b.Fatalf("SCPsOf = %d levels, want 4", len(levels))
			}
		}
	})
}
