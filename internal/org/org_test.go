package org

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/policy"
)

func TestCreateOrganization(t *testing.T) {
	f := newFixture(t)
	m := f.must(rootOf(mgmtAccount), "CreateOrganization", `{}`)
	o := m["Organization"].(map[string]any)
	id := o["Id"].(string)
	if !strings.HasPrefix(id, "o-") || !isLowerAlnum(id[2:], 10, 10) {
		t.Errorf("Organization.Id = %q, want o- and 10 lowercase letters or digits", id)
	}
	want := map[string]any{
		"Arn":                  "arn:aws:organizations::" + mgmtAccount + ":organization/" + id,
		"Id":                   id,
		"FeatureSet":           "ALL",
		"MasterAccountArn":     "arn:aws:organizations::" + mgmtAccount + ":account/" + id + "/" + mgmtAccount,
		"MasterAccountId":      mgmtAccount,
		"MasterAccountEmail":   mgmtAccount + "@custos.invalid",
		"AvailablePolicyTypes": []any{map[string]any{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}},
	}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("CreateOrganization mismatch (-want +got):\n%s", diff)
	}
	if got := f.must(rootOf(mgmtAccount), "DescribeOrganization", `{}`); !cmp.Equal(got["Organization"], o) {
		t.Errorf("DescribeOrganization = %v, want %v", got["Organization"], o)
	}

	roots := f.must(rootOf(mgmtAccount), "ListRoots", `{}`)
	root := str(roots, "Roots", 0, "Id")
	if !isRootID(root) {
		t.Fatalf("ListRoots = %v, want a root id", roots)
	}
	wantRoots := map[string]any{"Roots": []any{map[string]any{
		"Arn": "arn:aws:organizations::" + mgmtAccount + ":root/" + id + "/" + root, "Id": root, "Name": "Root", "PolicyTypes": []any{},
	}}}
	if diff := cmp.Diff(wantRoots, roots); diff != "" {
		t.Errorf("ListRoots mismatch (-want +got):\n%s", diff)
	}

	// FullAWSAccess exists but is attached to nothing until SCPs are enabled.
	pols := f.must(rootOf(mgmtAccount), "ListPolicies", `{"Filter":"SERVICE_CONTROL_POLICY"}`)
	wantPols := map[string]any{"Policies": []any{map[string]any{
		"Arn": "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess", "AwsManaged": true,
		"Description": "Allows access to every operation", "Id": "p-FullAWSAccess", "Name": "FullAWSAccess", "Type": "SERVICE_CONTROL_POLICY",
	}}}
	if diff := cmp.Diff(wantPols, pols); diff != "" {
		t.Errorf("ListPolicies mismatch (-want +got):\n%s", diff)
	}
	if got := f.must(rootOf(mgmtAccount), "ListPoliciesForTarget", `{"TargetId":"`+root+`","Filter":"SERVICE_CONTROL_POLICY"}`); len(get(got, "Policies").([]any)) != 0 {
		t.Errorf("ListPoliciesForTarget(root) before EnablePolicyType = %v, want none", got)
	}

	en := f.must(rootOf(mgmtAccount), "EnablePolicyType", `{"RootId":"`+root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	if got := get(en, "Root", "PolicyTypes"); !cmp.Equal(got, []any{map[string]any{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}}) {
		t.Errorf("EnablePolicyType: Root.PolicyTypes = %v, want SCP ENABLED", got)
	}
	for _, target := range []string{root, mgmtAccount} {
		got := f.must(rootOf(mgmtAccount), "ListPoliciesForTarget", `{"TargetId":"`+target+`","Filter":"SERVICE_CONTROL_POLICY"}`)
		if str(got, "Policies", 0, "Id") != "p-FullAWSAccess" {
			t.Errorf("ListPoliciesForTarget(%s) after EnablePolicyType = %v, want FullAWSAccess", target, got)
		}
	}

	// A second organization for the same account is refused.
	if _, err := f.call(rootOf(mgmtAccount), "CreateOrganization", `{}`); code(err) != "AlreadyInOrganizationException" {
		t.Errorf("CreateOrganization again = %v, want AlreadyInOrganizationException", err)
	}
}

func TestCreateAccount(t *testing.T) {
	f := newFixture(t)
	o := f.createOrg()
	m := f.must(rootOf(mgmtAccount), "CreateAccount", `{"AccountName":"Dev","Email":"dev@example.com"}`)
	st := m["CreateAccountStatus"].(map[string]any)
	id := str(st, "AccountId")
	if !isAccountID(id) || str(st, "State") != "SUCCEEDED" || str(st, "AccountName") != "Dev" || !isCreateStatusID(str(st, "Id")) {
		t.Fatalf("CreateAccount = %v, want a SUCCEEDED status with a car- id and an account id", st)
	}
	key, secret := str(st, "CustosRootCredentials", "AccessKeyId"), str(st, "CustosRootCredentials", "SecretAccessKey")
	gotSecret, p, ok, err := f.dir.Lookup(context.Background(), key)
	if err != nil || !ok || string(gotSecret) != secret || p.AccountID != id || p.Type != caller.TypeRoot {
		t.Errorf("Lookup(new root key) = %v, %+v, %v, %v; want the new account's root with the returned secret", ok, p, err, string(gotSecret) == secret)
	}

	d := f.must(rootOf(mgmtAccount), "DescribeCreateAccountStatus", `{"CreateAccountRequestId":"`+str(st, "Id")+`"}`)
	if get(d, "CreateAccountStatus", "CustosRootCredentials") != nil {
		t.Errorf("DescribeCreateAccountStatus returned the root credentials again: %v", d)
	}
	if str(d, "CreateAccountStatus", "AccountId") != id || str(d, "CreateAccountStatus", "State") != "SUCCEEDED" {
		t.Errorf("DescribeCreateAccountStatus = %v, want account %s SUCCEEDED", d, id)
	}

	a := f.must(rootOf(mgmtAccount), "DescribeAccount", `{"AccountId":"`+id+`"}`)
	want := map[string]any{
		"Arn": "arn:aws:organizations::" + mgmtAccount + ":account/" + o.id + "/" + id, "Email": "dev@example.com", "Id": id,
		"JoinedMethod": "CREATED", "JoinedTimestamp": get(a, "Account", "JoinedTimestamp"), "Name": "Dev",
		"Paths": []any{o.id + "/" + o.root + "/" + id + "/"}, "State": "ACTIVE", "Status": "ACTIVE",
	}
	if diff := cmp.Diff(want, a["Account"]); diff != "" {
		t.Errorf("DescribeAccount mismatch (-want +got):\n%s", diff)
	}

	// The same email again fails as AWS fails it: a FAILED request.
	m = f.must(rootOf(mgmtAccount), "CreateAccount", `{"AccountName":"Dev2","Email":"DEV@example.com"}`)
	if s := m["CreateAccountStatus"].(map[string]any); s["State"] != "FAILED" || s["FailureReason"] != "EMAIL_ALREADY_EXISTS" || s["AccountId"] != nil || s["CustosRootCredentials"] != nil {
		t.Errorf("CreateAccount(same email) = %v, want FAILED EMAIL_ALREADY_EXISTS without account", s)
	}
	l := f.must(rootOf(mgmtAccount), "ListCreateAccountStatus", `{"States":["FAILED"]}`)
	if n := len(get(l, "CreateAccountStatuses").([]any)); n != 1 {
		t.Errorf("ListCreateAccountStatus(FAILED) = %v, want 1 status", l)
	}

	// The new account is a member: it may describe its organization but
	// not manage it.
	if got := f.must(rootOf(id), "DescribeOrganization", `{}`); str(got, "Organization", "Id") != o.id {
		t.Errorf("DescribeOrganization by member = %v, want %s", got, o.id)
	}
	if _, err := f.call(rootOf(id), "ListAccounts", `{}`); code(err) != "AccessDeniedException" {
		t.Errorf("ListAccounts by member = %v, want AccessDeniedException", err)
	}
	if _, err := f.call(rootOf(id), "CreateOrganization", `{}`); code(err) != "AlreadyInOrganizationException" {
		t.Errorf("CreateOrganization by member = %v, want AlreadyInOrganizationException", err)
	}
}

// env builds an organization with SCPs enabled: account a1 in the root,
// OU ou1 with OU ou2 inside holding account a2, and policy deny attached
// to ou1.
type env struct {
	*fixture
	org
	a1, a2, ou1, ou2, deny string
}

func newEnv(t testing.TB, configure ...func(*Config)) *env {
	f := newFixture(t, configure...)
	e := &env{fixture: f, org: f.createOrg()}
	f.must(rootOf(mgmtAccount), "EnablePolicyType", `{"RootId":"`+e.root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	e.a1 = f.createAccount("a1")
	e.a2 = f.createAccount("a2")
	e.ou1 = f.createOU(e.root, "ou1")
	e.ou2 = f.createOU(e.ou1, "ou2")
	f.must(rootOf(mgmtAccount), "MoveAccount", `{"AccountId":"`+e.a2+`","SourceParentId":"`+e.root+`","DestinationParentId":"`+e.ou2+`"}`)
	e.deny = f.createPolicy("deny-deletion", denyDeletion)
	f.must(rootOf(mgmtAccount), "AttachPolicy", `{"PolicyId":"`+e.deny+`","TargetId":"`+e.ou1+`"}`)
	return e
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	mg := rootOf(mgmtAccount)
	const loner = "999988887777"
	tests := []struct {
		name string
		c    *caller.Caller
		op   string
		body string
		want string
	}{
		{"unknown operation", mg, "InviteAccountToOrganization", `{}`, "UnknownOperationException"},
		{"bad JSON", mg, "ListAccounts", `{"MaxResults":"x"}`, "SerializationException"},
		{"no organization", rootOf(loner), "DescribeOrganization", `{}`, "AWSOrganizationsNotInUseException"},
		{"no organization, management op", rootOf(loner), "ListAccounts", `{}`, "AWSOrganizationsNotInUseException"},
		{"member manages", rootOf(e.a1), "ListRoots", `{}`, "AccessDeniedException"},
		{"member creates policy", rootOf(e.a1), "CreatePolicy", `{"Name":"x","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{}"}`, "AccessDeniedException"},
		{"consolidated billing", rootOf(loner), "CreateOrganization", `{"FeatureSet":"CONSOLIDATED_BILLING"}`, "InvalidInputException"},
		{"bad feature set", rootOf(loner), "CreateOrganization", `{"FeatureSet":"SOME"}`, "InvalidInputException"},

		{"account not found", mg, "DescribeAccount", `{"AccountId":"000000000000"}`, "AccountNotFoundException"},
		{"account id pattern", mg, "DescribeAccount", `{"AccountId":"12"}`, "InvalidInputException"},
		{"account id missing", mg, "DescribeAccount", `{}`, "InvalidInputException"},
		{"create account no email", mg, "CreateAccount", `{"AccountName":"x"}`, "InvalidInputException"},
		{"create account bad email", mg, "CreateAccount", `{"AccountName":"x","Email":"not-an-email"}`, "InvalidInputException"},
		{"create account long name", mg, "CreateAccount", `{"AccountName":"` + strings.Repeat("n", 51) + `","Email":"n@example.com"}`, "InvalidInputException"},
		{"create status not found", mg, "DescribeCreateAccountStatus", `{"CreateAccountRequestId":"car-0123456789abcdef"}`, "CreateAccountStatusNotFoundException"},

		{"OU not found", mg, "DescribeOrganizationalUnit", `{"OrganizationalUnitId":"ou-abcd-abcdefgh"}`, "OrganizationalUnitNotFoundException"},
		{"OU id pattern", mg, "DescribeOrganizationalUnit", `{"OrganizationalUnitId":"ou-x"}`, "InvalidInputException"},
		{"OU parent not found", mg, "CreateOrganizationalUnit", `{"ParentId":"ou-abcd-abcdefgh","Name":"x"}`, "ParentNotFoundException"},
		{"OU root not found", mg, "CreateOrganizationalUnit", `{"ParentId":"r-zzzz","Name":"x"}`, "ParentNotFoundException"},
		{"OU duplicate", mg, "CreateOrganizationalUnit", `{"ParentId":"` + e.root + `","Name":"ou1"}`, "DuplicateOrganizationalUnitException"},
		{"OU rename duplicate", mg, "UpdateOrganizationalUnit", `{"OrganizationalUnitId":"` + e.ou1 + `","Name":"ou1"}`, ""},
		{"OU not empty", mg, "DeleteOrganizationalUnit", `{"OrganizationalUnitId":"` + e.ou1 + `"}`, "OrganizationalUnitNotEmptyException"},
		{"OU no name", mg, "CreateOrganizationalUnit", `{"ParentId":"` + e.root + `"}`, "InvalidInputException"},
		{"list for parent not found", mg, "ListAccountsForParent", `{"ParentId":"ou-abcd-abcdefgh"}`, "ParentNotFoundException"},
		{"list OUs bad parent", mg, "ListOrganizationalUnitsForParent", `{"ParentId":"111122223333"}`, "InvalidInputException"},
		{"parents of unknown", mg, "ListParents", `{"ChildId":"000000000000"}`, "ChildNotFoundException"},
		{"children bad type", mg, "ListChildren", `{"ParentId":"` + e.root + `","ChildType":"ROOT"}`, "InvalidInputException"},

		{"move unknown account", mg, "MoveAccount", `{"AccountId":"000000000000","SourceParentId":"` + e.root + `","DestinationParentId":"` + e.ou1 + `"}`, "AccountNotFoundException"},
		{"move wrong source", mg, "MoveAccount", `{"AccountId":"` + e.a1 + `","SourceParentId":"` + e.ou1 + `","DestinationParentId":"` + e.ou2 + `"}`, "SourceParentNotFoundException"},
		{"move unknown source", mg, "MoveAccount", `{"AccountId":"` + e.a1 + `","SourceParentId":"ou-abcd-abcdefgh","DestinationParentId":"` + e.ou2 + `"}`, "SourceParentNotFoundException"},
		{"move unknown destination", mg, "MoveAccount", `{"AccountId":"` + e.a1 + `","SourceParentId":"` + e.root + `","DestinationParentId":"ou-abcd-abcdefgh"}`, "DestinationParentNotFoundException"},
		{"move to same parent", mg, "MoveAccount", `{"AccountId":"` + e.a1 + `","SourceParentId":"` + e.root + `","DestinationParentId":"` + e.root + `"}`, "DuplicateAccountException"},

		{"policy not found", mg, "DescribePolicy", `{"PolicyId":"p-00000000"}`, "PolicyNotFoundException"},
		{"policy id pattern", mg, "DescribePolicy", `{"PolicyId":"p-1"}`, "InvalidInputException"},
		{"policy malformed", mg, "CreatePolicy", `{"Name":"m","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{\"Statement\":[]"}`, "MalformedPolicyDocumentException"},
		{"policy with principal", mg, "CreatePolicy", `{"Name":"m","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`, "MalformedPolicyDocumentException"},
		{"policy too large", mg, "CreatePolicy", `{"Name":"big","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"` + strings.Repeat("a", 5100) + `\",\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`, "ConstraintViolationException"},
		{"policy no description", mg, "CreatePolicy", `{"Name":"m","Type":"SERVICE_CONTROL_POLICY","Content":"{}"}`, "InvalidInputException"},
		{"policy bad type", mg, "CreatePolicy", `{"Name":"m","Description":"","Type":"NOPE","Content":"{}"}`, "InvalidInputException"},
		{"policy other type", mg, "CreatePolicy", `{"Name":"m","Description":"","Type":"TAG_POLICY","Content":"{}"}`, "PolicyTypeNotAvailableForOrganizationException"},
		{"policy duplicate name", mg, "CreatePolicy", `{"Name":"deny-deletion","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":` + quote(denyDeletion) + `}`, "DuplicatePolicyException"},
		{"policy in use", mg, "DeletePolicy", `{"PolicyId":"` + e.deny + `"}`, "PolicyInUseException"},
		{"AWS-managed delete", mg, "DeletePolicy", `{"PolicyId":"p-FullAWSAccess"}`, "InvalidInputException"},
		{"AWS-managed update", mg, "UpdatePolicy", `{"PolicyId":"p-FullAWSAccess","Name":"x"}`, "InvalidInputException"},
		{"update malformed", mg, "UpdatePolicy", `{"PolicyId":"` + e.deny + `","Content":"[]"}`, "MalformedPolicyDocumentException"},
		{"list policies no filter", mg, "ListPolicies", `{}`, "InvalidInputException"},
		{"list policies bad max", mg, "ListPolicies", `{"Filter":"SERVICE_CONTROL_POLICY","MaxResults":21}`, "InvalidInputException"},
		{"list policies bad token", mg, "ListPolicies", `{"Filter":"SERVICE_CONTROL_POLICY","NextToken":"!!"}`, "InvalidInputException"},

		{"attach duplicate", mg, "AttachPolicy", `{"PolicyId":"` + e.deny + `","TargetId":"` + e.ou1 + `"}`, "DuplicatePolicyAttachmentException"},
		{"attach unknown target", mg, "AttachPolicy", `{"PolicyId":"` + e.deny + `","TargetId":"ou-abcd-abcdefgh"}`, "TargetNotFoundException"},
		{"attach unknown account", mg, "AttachPolicy", `{"PolicyId":"` + e.deny + `","TargetId":"000000000000"}`, "TargetNotFoundException"},
		{"attach bad target", mg, "AttachPolicy", `{"PolicyId":"` + e.deny + `","TargetId":"x-1"}`, "InvalidInputException"},
		{"attach unknown policy", mg, "AttachPolicy", `{"PolicyId":"p-00000000","TargetId":"` + e.ou1 + `"}`, "PolicyNotFoundException"},
		{"detach not attached", mg, "DetachPolicy", `{"PolicyId":"` + e.deny + `","TargetId":"` + e.ou2 + `"}`, "PolicyNotAttachedException"},
		{"detach last SCP", mg, "DetachPolicy", `{"PolicyId":"p-FullAWSAccess","TargetId":"` + e.a1 + `"}`, "ConstraintViolationException"},
		{"enable again", mg, "EnablePolicyType", `{"RootId":"` + e.root + `","PolicyType":"SERVICE_CONTROL_POLICY"}`, "PolicyTypeAlreadyEnabledException"},
		{"enable unknown root", mg, "EnablePolicyType", `{"RootId":"r-zzzz","PolicyType":"SERVICE_CONTROL_POLICY"}`, "RootNotFoundException"},
		{"enable tag policies", mg, "EnablePolicyType", `{"RootId":"` + e.root + `","PolicyType":"TAG_POLICY"}`, "PolicyTypeNotAvailableForOrganizationException"},
		{"enable bad type", mg, "EnablePolicyType", `{"RootId":"` + e.root + `","PolicyType":"X"}`, "InvalidInputException"},
		{"targets of unknown policy", mg, "ListTargetsForPolicy", `{"PolicyId":"p-00000000"}`, "PolicyNotFoundException"},
		{"policies for unknown target", mg, "ListPoliciesForTarget", `{"TargetId":"000000000000","Filter":"SERVICE_CONTROL_POLICY"}`, "TargetNotFoundException"},
		{"delete non-empty organization", mg, "DeleteOrganization", `{}`, "OrganizationNotEmptyException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.call(tt.c, tt.op, tt.body)
			if got := code(err); got != tt.want {
				t.Errorf("%s(%s) = %v, want %q", tt.op, tt.body, err, tt.want)
			}
		})
	}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// The SCP attachment rules of AWS: at most five per target, the last one
// stays, and disabling SCPs detaches them all.
func TestAttachmentRules(t *testing.T) {
	e := newEnv(t)
	mg := rootOf(mgmtAccount)
	var ids []string
	for _, n := range []string{"p1", "p2", "p3", "p4"} {
		id := e.createPolicy(n, denyDeletion)
		ids = append(ids, id)
		e.must(mg, "AttachPolicy", `{"PolicyId":"`+id+`","TargetId":"`+e.a1+`"}`)
	}
	extra := e.createPolicy("p5", denyDeletion)
	if _, err := e.call(mg, "AttachPolicy", `{"PolicyId":"`+extra+`","TargetId":"`+e.a1+`"}`); code(err) != "ConstraintViolationException" {
		t.Errorf("AttachPolicy(sixth SCP) = %v, want ConstraintViolationException", err)
	}
	// Replace FullAWSAccess (allow-list strategy), then the last one stays.
	e.must(mg, "DetachPolicy", `{"PolicyId":"p-FullAWSAccess","TargetId":"`+e.a1+`"}`)
	for _, id := range ids[:3] {
		e.must(mg, "DetachPolicy", `{"PolicyId":"`+id+`","TargetId":"`+e.a1+`"}`)
	}
	if _, err := e.call(mg, "DetachPolicy", `{"PolicyId":"`+ids[3]+`","TargetId":"`+e.a1+`"}`); code(err) != "ConstraintViolationException" {
		t.Errorf("DetachPolicy(last SCP) = %v, want ConstraintViolationException", err)
	}
	targets := e.must(mg, "ListTargetsForPolicy", `{"PolicyId":"`+ids[3]+`"}`)
	want := []any{map[string]any{"Arn": "arn:aws:organizations::" + mgmtAccount + ":account/" + e.id + "/" + e.a1, "Name": "a1", "TargetId": e.a1, "Type": "ACCOUNT"}}
	if diff := cmp.Diff(want, targets["Targets"]); diff != "" {
		t.Errorf("ListTargetsForPolicy mismatch (-want +got):\n%s", diff)
	}

	// Disabling detaches every SCP; enabling again attaches FullAWSAccess
	// alone everywhere.
	e.must(mg, "DisablePolicyType", `{"RootId":"`+e.root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	if _, err := e.call(mg, "AttachPolicy", `{"PolicyId":"`+extra+`","TargetId":"`+e.a1+`"}`); code(err) != "PolicyTypeNotEnabledException" {
		t.Errorf("AttachPolicy with SCPs disabled = %v, want PolicyTypeNotEnabledException", err)
	}
	if _, err := e.call(mg, "DisablePolicyType", `{"RootId":"`+e.root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`); code(err) != "PolicyTypeNotEnabledException" {
		t.Errorf("DisablePolicyType again = %v, want PolicyTypeNotEnabledException", err)
	}
	e.must(mg, "DeletePolicy", `{"PolicyId":"`+e.deny+`"}`) // no longer in use
	e.must(mg, "EnablePolicyType", `{"RootId":"`+e.root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	for _, target := range []string{e.root, e.ou1, e.ou2, e.a1, e.a2, mgmtAccount} {
		got := e.must(mg, "ListPoliciesForTarget", `{"TargetId":"`+target+`","Filter":"SERVICE_CONTROL_POLICY"}`)
		if ps := get(got, "Policies").([]any); len(ps) != 1 || str(ps[0], "Id") != "p-FullAWSAccess" {
			t.Errorf("ListPoliciesForTarget(%s) after re-enabling = %v, want FullAWSAccess alone", target, got)
		}
	}
}

func TestOrganizationalUnits(t *testing.T) {
	e := newEnv(t)
	mg := rootOf(mgmtAccount)
	ou := e.must(mg, "DescribeOrganizationalUnit", `{"OrganizationalUnitId":"`+e.ou2+`"}`)
	want := map[string]any{
		"Arn":  "arn:aws:organizations::" + mgmtAccount + ":ou/" + e.id + "/" + e.ou2,
		"Id":   e.ou2,
		"Name": "ou2",
		"Path": e.id + "/" + e.root + "/" + e.ou1 + "/" + e.ou2 + "/",
	}
	if diff := cmp.Diff(want, ou["OrganizationalUnit"]); diff != "" {
		t.Errorf("DescribeOrganizationalUnit mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(e.ou1, "ou-"+strings.TrimPrefix(e.root, "r-")+"-") {
		t.Errorf("OU id %q does not carry the root id %q", e.ou1, e.root)
	}
	parents := e.must(mg, "ListParents", `{"ChildId":"`+e.a2+`"}`)
	if diff := cmp.Diff([]any{map[string]any{"Id": e.ou2, "Type": "ORGANIZATIONAL_UNIT"}}, parents["Parents"]); diff != "" {
		t.Errorf("ListParents(a2) mismatch (-want +got):\n%s", diff)
	}
	parents = e.must(mg, "ListParents", `{"ChildId":"`+e.ou1+`"}`)
	if diff := cmp.Diff([]any{map[string]any{"Id": e.root, "Type": "ROOT"}}, parents["Parents"]); diff != "" {
		t.Errorf("ListParents(ou1) mismatch (-want +got):\n%s", diff)
	}
	children := e.must(mg, "ListChildren", `{"ParentId":"`+e.ou2+`","ChildType":"ACCOUNT"}`)
	if diff := cmp.Diff([]any{map[string]any{"Id": e.a2, "Type": "ACCOUNT"}}, children["Children"]); diff != "" {
		t.Errorf("ListChildren(ou2) mismatch (-want +got):\n%s", diff)
	}

	// Depth: five levels of OUs under the root, not six.
	parent := e.ou2
	for i := 3; i <= 5; i++ {
		parent = e.createOU(parent, "level")
	}
	if _, err := e.call(mg, "CreateOrganizationalUnit", `{"ParentId":"`+parent+`","Name":"too-deep"}`); code(err) != "ConstraintViolationException" {
		t.Errorf("CreateOrganizationalUnit(sixth level) = %v, want ConstraintViolationException", err)
	}

	// Paging: three OUs under the root, two per page.
	e.createOU(e.root, "ou-b")
	e.createOU(e.root, "ou-c")
	var seen []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatalf("ListOrganizationalUnitsForParent does not end")
		}
		body := `{"ParentId":"` + e.root + `","MaxResults":2`
		if token != "" {
			body += `,"NextToken":"` + token + `"`
		}
		got := e.must(mg, "ListOrganizationalUnitsForParent", body+"}")
		for _, o := range get(got, "OrganizationalUnits").([]any) {
			seen = append(seen, str(o, "Name"))
		}
		if token = str(got, "NextToken"); token == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("ListOrganizationalUnitsForParent pages gave %v, want 3 OUs", seen)
	}

	// Rename, then delete an empty OU (its attachments go with it).
	e.must(mg, "UpdateOrganizationalUnit", `{"OrganizationalUnitId":"`+e.ou2+`","Name":"renamed"}`)
	e.must(mg, "MoveAccount", `{"AccountId":"`+e.a2+`","SourceParentId":"`+e.ou2+`","DestinationParentId":"`+e.root+`"}`)
	lone := e.createOU(e.root, "lone")
	e.must(mg, "AttachPolicy", `{"PolicyId":"`+e.deny+`","TargetId":"`+lone+`"}`)
	e.must(mg, "DeleteOrganizationalUnit", `{"OrganizationalUnitId":"`+lone+`"}`)
	targets := e.must(mg, "ListTargetsForPolicy", `{"PolicyId":"`+e.deny+`"}`)
	if ts := get(targets, "Targets").([]any); len(ts) != 1 || str(ts[0], "TargetId") != e.ou1 {
		t.Errorf("ListTargetsForPolicy after deleting an OU = %v, want ou1 alone", targets)
	}
}

func TestSCPsOf(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		account string
		levels  []int // number of SCPs at each level; nil for none
		path    string
	}{
		{"management", mgmtAccount, nil, e.id + "/" + e.root + "/"},
		{"account in root", e.a1, []int{1, 1}, e.id + "/" + e.root + "/"},
		{"account in nested OU", e.a2, []int{1, 2, 1, 1}, e.id + "/" + e.root + "/" + e.ou1 + "/" + e.ou2 + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			levels, orgID, paths, err := e.svc.SCPsOf(ctx, tt.account)
			if err != nil {
				t.Fatalf("SCPsOf(%s) = %v", tt.account, err)
			}
			var n []int
			for _, l := range levels {
				n = append(n, len(l))
			}
			if !cmp.Equal(n, tt.levels) || orgID != e.id || !cmp.Equal(paths, []string{tt.path}) {
				t.Errorf("SCPsOf(%s) = levels %v, %q, %q; want levels %v, %q, %q", tt.account, n, orgID, paths, tt.levels, e.id, tt.path)
			}
		})
	}

	// The deny policy sits at ou1's level for a2: a request for
	// kms:ScheduleKeyDeletion is denied there, and allowed for a1.
	decide := func(account string) bool {
		levels, _, _, err := e.svc.SCPsOf(ctx, account)
		if err != nil {
			t.Fatalf("SCPsOf(%s) = %v", account, err)
		}
		set := &policy.Set{SCPs: levels}
		r := &policy.Request{
			Principal: policy.Principal{AccountID: account, ARN: "arn:aws:iam::" + account + ":root"},
			Action:    "kms:ScheduleKeyDeletion",
			Resource:  "arn:aws:kms:us-east-1:" + account + ":key/1234abcd-12ab-34cd-56ef-1234567890ab",
		}
		return set.Decide(r).Allowed
	}
	if decide(e.a2) {
		t.Errorf("SCPs allow kms:ScheduleKeyDeletion to a2 under ou1's deny")
	}
	if !decide(e.a1) {
		t.Errorf("SCPs deny kms:ScheduleKeyDeletion to a1 in the root")
	}

	// Accounts in no organization, and organizations without SCPs.
	levels, orgID, paths, err := e.svc.SCPsOf(ctx, "999988887777")
	if levels != nil || orgID != "" || paths != nil || err != nil {
		t.Errorf("SCPsOf(not a member) = %v, %q, %v, %v; want nothing", levels, orgID, paths, err)
	}
	e.must(rootOf(mgmtAccount), "DisablePolicyType", `{"RootId":"`+e.root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	levels, orgID, paths, err = e.svc.SCPsOf(ctx, e.a2)
	if levels != nil || orgID != e.id || len(paths) != 1 || err != nil {
		t.Errorf("SCPsOf(a2) with SCPs disabled = %v, %q, %v, %v; want no levels, the org and its path", levels, orgID, paths, err)
	}
}

func TestSCPsOfCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	levels, _, _, err := e.svc.SCPsOf(ctx, e.a2)
	if err != nil || len(levels) != 4 || len(levels[1]) != 2 {
		t.Fatalf("SCPsOf(a2) = %v, %v; want 4 levels with 2 SCPs on ou1", levels, err)
	}

	// Cached: no store transaction, no allocation.
	views := e.st.views.Load()
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, _, err := e.svc.SCPsOf(ctx, e.a2); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("cached SCPsOf allocates %v times per call, want 0", allocs)
	}
	if got := e.st.views.Load() - views; got != 0 {
		t.Errorf("cached SCPsOf ran %d store transactions, want 0", got)
	}

	// A second account of the same organization reuses its compiled
	// policies: one store read (its membership).
	views = e.st.views.Load()
	if _, _, _, err := e.svc.SCPsOf(ctx, e.a1); err != nil {
		t.Fatal(err)
	}
	if got := e.st.views.Load() - views; got != 1 {
		t.Errorf("SCPsOf(second account) ran %d store transactions, want 1", got)
	}

	// Any change invalidates: detaching the deny leaves FullAWSAccess alone
	// on ou1; moving a2 to the root shortens its levels.
	e.must(rootOf(mgmtAccount), "DetachPolicy", `{"PolicyId":"`+e.deny+`","TargetId":"`+e.ou1+`"}`)
	if levels, _, _, _ := e.svc.SCPsOf(ctx, e.a2); len(levels) != 4 || len(levels[1]) != 1 {
		t.Errorf("SCPsOf(a2) after DetachPolicy = %d levels, want 4 with 1 SCP on ou1", len(levels))
	}
	e.must(rootOf(mgmtAccount), "MoveAccount", `{"AccountId":"`+e.a2+`","SourceParentId":"`+e.ou2+`","DestinationParentId":"`+e.root+`"}`)
	levels, _, paths, _ := e.svc.SCPsOf(ctx, e.a2)
	if len(levels) != 2 || !cmp.Equal(paths, []string{e.id + "/" + e.root + "/"}) {
		t.Errorf("SCPsOf(a2) after MoveAccount = %d levels, paths %v; want 2 levels in the root", len(levels), paths)
	}
	// A failed change invalidates too, harmlessly.
	e.call(rootOf(mgmtAccount), "AttachPolicy", `{"PolicyId":"p-00000000","TargetId":"`+e.a2+`"}`)
	if levels, _, _, _ := e.svc.SCPsOf(ctx, e.a2); len(levels) != 2 {
		t.Errorf("SCPsOf(a2) after a failed change = %d levels, want 2", len(levels))
	}
}

// A cache fill that read the store before a change must not be kept.
func TestSCPsOfStaleFill(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	g := e.svc.scp.cur.Load()
	entry, err := e.svc.scpEntry(ctx, g, e.a1)
	if err != nil || len(entry.levels) != 2 {
		t.Fatalf("scpEntry(a1) = %v, %v", entry, err)
	}
	e.must(rootOf(mgmtAccount), "MoveAccount", `{"AccountId":"`+e.a1+`","SourceParentId":"`+e.root+`","DestinationParentId":"`+e.ou1+`"}`)
	if e.svc.scp.cur.Load() == g {
		t.Errorf("the cache generation survived a change")
	}
	if levels, _, _, _ := e.svc.SCPsOf(ctx, e.a1); len(levels) != 3 {
		t.Errorf("SCPsOf(a1) after moving it into ou1 = %d levels, want 3", len(levels))
	}
}

func TestAuthorizeHook(t *testing.T) {
	type ask struct{ action, resource string }
	var asked []ask
	deny := false
	e := newEnv(t, func(c *Config) {
		c.Authorize = func(_ context.Context, c *caller.Caller, action, resource string) error {
			asked = append(asked, ask{action, resource})
			if deny {
				return awsproto.Errorf("AccessDeniedException", "User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, resource)
			}
			return nil
		}
	})
	asked = nil
	user := userOf(mgmtAccount, "admin")
	e.must(user, "AttachPolicy", `{"PolicyId":"`+e.deny+`","TargetId":"`+e.a1+`"}`)
	want := []ask{
		{"organizations:AttachPolicy", "arn:aws:organizations::" + mgmtAccount + ":policy/" + e.id + "/service_control_policy/" + e.deny},
		{"organizations:AttachPolicy", "arn:aws:organizations::" + mgmtAccount + ":account/" + e.id + "/" + e.a1},
	}
	if diff := cmp.Diff(want, asked, cmp.AllowUnexported(ask{})); diff != "" {
		t.Errorf("Authorize calls mismatch (-want +got):\n%s", diff)
	}

	asked = nil
	e.must(rootOf(mgmtAccount), "ListAccounts", `{}`)
	if len(asked) != 0 {
		t.Errorf("Authorize asked about the account root: %v", asked)
	}
	e.must(userOf(e.a1, "reader"), "DescribeOrganization", `{}`)
	if diff := cmp.Diff([]ask{{"organizations:DescribeOrganization", "*"}}, asked, cmp.AllowUnexported(ask{})); diff != "" {
		t.Errorf("Authorize calls for a member's user mismatch (-want +got):\n%s", diff)
	}

	deny = true
	_, err := e.call(user, "ListAccounts", `{}`)
	if code(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "organizations:ListAccounts") {
		t.Errorf("ListAccounts denied by the hook = %v, want its AccessDeniedException", err)
	}
	// A member's user is refused for not being in the management account,
	// before any policy is asked about.
	asked = nil
	if _, err := e.call(userOf(e.a1, "reader"), "ListAccounts", `{}`); code(err) != "AccessDeniedException" || len(asked) != 0 {
		t.Errorf("ListAccounts by a member's user = %v (asked %v), want AccessDeniedException without asking", err, asked)
	}
}

func TestDeleteOrganization(t *testing.T) {
	f := newFixture(t)
	o := f.createOrg()
	f.createOU(o.root, "ou")
	f.createPolicy("p", denyDeletion)
	f.must(rootOf(mgmtAccount), "DeleteOrganization", `{}`)
	if _, err := f.call(rootOf(mgmtAccount), "DescribeOrganization", `{}`); code(err) != "AWSOrganizationsNotInUseException" {
		t.Errorf("DescribeOrganization after DeleteOrganization = %v, want AWSOrganizationsNotInUseException", err)
	}
	if levels, orgID, _, err := f.svc.SCPsOf(context.Background(), mgmtAccount); levels != nil || orgID != "" || err != nil {
		t.Errorf("SCPsOf after DeleteOrganization = %v, %q, %v; want nothing", levels, orgID, err)
	}
	o2 := f.createOrg()
	if o2.id == o.id {
		t.Errorf("a new organization reused id %s", o.id)
	}
	if got := f.must(rootOf(mgmtAccount), "ListOrganizationalUnitsForParent", `{"ParentId":"`+o2.root+`"}`); len(get(got, "OrganizationalUnits").([]any)) != 0 {
		t.Errorf("the new organization has the old OUs: %v", got)
	}
}

// Internal failures reach the client as ServiceException, never with their
// text.
func TestInternalError(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.svc.Call(ctx, rootOf(mgmtAccount), "DescribeOrganization", nil)
	e, ok := awsproto.As(err)
	if !ok || e.Code != "ServiceException" || e.Status != 500 {
		t.Errorf("Call with a canceled context = %v, want a 500 ServiceException", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("the client error wraps the internal cause")
	}
}
