package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	otypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/iam"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/org"
	"github.com/custoskms/custos/internal/seal"
	"github.com/custoskms/custos/internal/store"
	"github.com/custoskms/custos/internal/store/postgres"
	"github.com/custoskms/custos/internal/store/sqlite"
)

// orgRecorder is an HTTP client that keeps the body of the last reply, so
// that a test can read members the SDK does not know
// (CustosRootCredentials).
type orgRecorder struct {
	mu   sync.Mutex
	last []byte
}

func (r *orgRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.last = body
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (r *orgRecorder) lastBody() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// orgClient returns an Organizations client signing with id and secret,
// retries off, recording replies in rec (which may be nil).
func (e *env) orgClient(id, secret string, rec *orgRecorder) *organizations.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	if rec != nil {
		cfg.HTTPClient = rec
	}
	return organizations.NewFromConfig(cfg, func(o *organizations.Options) {
		o.BaseEndpoint = aws.String(e.srv.Endpoint())
	})
}

// orgAccount is an account made with CreateAccount, with the root
// credentials it came with.
type orgAccount struct {
	id, keyID, secret string
}

// createOrgAccount creates an account through the SDK and reads its root
// credentials from the reply.
func createOrgAccount(t *testing.T, c *organizations.Client, rec *orgRecorder, name string) orgAccount {
	t.Helper()
	out := try(c.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String(name),
		Email:       aws.String(name + "@example.com"),
	})).must(t)
	st := out.CreateAccountStatus
	if st.State != otypes.CreateAccountStateSucceeded || !strings.HasPrefix(aws.ToString(st.Id), "car-") || aws.ToString(st.AccountName) != name {
		t.Fatalf("CreateAccount(%s) status = %+v, want SUCCEEDED with a car- id", name, st)
	}
	var raw struct {
		CreateAccountStatus struct {
			AccountId             string
			CustosRootCredentials struct{ AccessKeyId, SecretAccessKey string }
		}
	}
	if err := json.Unmarshal(rec.lastBody(), &raw); err != nil {
		t.Fatalf("CreateAccount reply: %v", err)
	}
	a := orgAccount{
		id:     aws.ToString(st.AccountId),
		keyID:  raw.CreateAccountStatus.CustosRootCredentials.AccessKeyId,
		secret: raw.CreateAccountStatus.CustosRootCredentials.SecretAccessKey,
	}
	if raw.CreateAccountStatus.AccountId != a.id || !strings.HasPrefix(a.keyID, "AKIA") || len(a.secret) != 40 {
		t.Fatalf("CreateAccount(%s) CustosRootCredentials = %q/%d-character secret, want an AKIA key and a 40-character secret", name, a.keyID, len(a.secret))
	}
	return a
}

const orgDenyDeletion = `{"Version":"2012-10-17","Statement":[{"Sid":"NoDeletion","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}`

func TestOrganizationLifecycle(t *testing.T) {
	e := start(t)
	rec := &orgRecorder{}
	c := e.orgClient(testKeyID, testSecret, rec)

	created := try(c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: otypes.OrganizationFeatureSetAll})).must(t)
	o := created.Organization
	orgID := aws.ToString(o.Id)
	if !strings.HasPrefix(orgID, "o-") || len(orgID) != 12 {
		t.Fatalf("Organization.Id = %q, want o- and 10 characters", orgID)
	}
	wantOrg := struct{ Arn, MasterArn, MasterID string }{
		"arn:aws:organizations::" + testAccount + ":organization/" + orgID,
		"arn:aws:organizations::" + testAccount + ":account/" + orgID + "/" + testAccount,
		testAccount,
	}
	if got := (struct{ Arn, MasterArn, MasterID string }{aws.ToString(o.Arn), aws.ToString(o.MasterAccountArn), aws.ToString(o.MasterAccountId)}); got != wantOrg {
		t.Errorf("CreateOrganization = %+v, want %+v", got, wantOrg)
	}
	if o.FeatureSet != otypes.OrganizationFeatureSetAll || aws.ToString(o.MasterAccountEmail) == "" {
		t.Errorf("CreateOrganization FeatureSet, MasterAccountEmail = %q, %q; want ALL and an email", o.FeatureSet, aws.ToString(o.MasterAccountEmail))
	}
	described := try(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).must(t)
	if aws.ToString(described.Organization.Id) != orgID || len(described.Organization.AvailablePolicyTypes) != 1 {
		t.Errorf("DescribeOrganization = %+v, want %s with one available policy type", described.Organization, orgID)
	}

	roots := try(c.ListRoots(ctx, &organizations.ListRootsInput{})).must(t)
	if len(roots.Roots) != 1 || len(roots.Roots[0].PolicyTypes) != 0 || aws.ToString(roots.Roots[0].Name) != "Root" {
		t.Fatalf("ListRoots = %+v, want one root named Root without policy types", roots.Roots)
	}
	root := aws.ToString(roots.Roots[0].Id)
	if want := "arn:aws:organizations::" + testAccount + ":root/" + orgID + "/" + root; aws.ToString(roots.Roots[0].Arn) != want {
		t.Errorf("Root.Arn = %q, want %q", aws.ToString(roots.Roots[0].Arn), want)
	}

	// SCPs are off until enabled; enabling attaches FullAWSAccess.
	_, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(root)})
	wantErr[*otypes.PolicyTypeNotEnabledException](t, err)
	enabled := try(c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: otypes.PolicyTypeServiceControlPolicy})).must(t)
	if diff := cmp.Diff([]otypes.PolicyTypeSummary{{Type: otypes.PolicyTypeServiceControlPolicy, Status: otypes.PolicyTypeStatusEnabled}}, enabled.Root.PolicyTypes, cmp.AllowUnexported(otypes.PolicyTypeSummary{})); diff != "" {
		t.Errorf("EnablePolicyType Root.PolicyTypes (-want +got):\n%s", diff)
	}

	// Accounts and OUs.
	dev := createOrgAccount(t, c, rec, "dev")
	status := try(c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{
		CreateAccountRequestId: aws.String(func() string {
			l := try(c.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{})).must(t)
			return aws.ToString(l.CreateAccountStatuses[0].Id)
		}()),
	})).must(t)
	if aws.ToString(status.CreateAccountStatus.AccountId) != dev.id || status.CreateAccountStatus.State != otypes.CreateAccountStateSucceeded {
		t.Errorf("DescribeCreateAccountStatus = %+v, want %s SUCCEEDED", status.CreateAccountStatus, dev.id)
	}
	if strings.Contains(string(rec.lastBody()), "CustosRootCredentials") {
		t.Errorf("DescribeCreateAccountStatus returned the root credentials again")
	}
	accounts := try(c.ListAccounts(ctx, &organizations.ListAccountsInput{})).must(t)
	var ids []string
	for _, a := range accounts.Accounts {
		ids = append(ids, aws.ToString(a.Id))
		if a.State != otypes.AccountStateActive || a.Status != otypes.AccountStatusActive || a.JoinedTimestamp == nil {
			t.Errorf("ListAccounts: %s State %q Status %q Joined %v, want ACTIVE and a time", aws.ToString(a.Id), a.State, a.Status, a.JoinedTimestamp)
		}
	}
	slices.Sort(ids)
	if want := sorted(testAccount, dev.id); !cmp.Equal(ids, want) {
		t.Errorf("ListAccounts = %v, want %v", ids, want)
	}

	ou := try(c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("workloads")})).must(t).OrganizationalUnit
	ouID := aws.ToString(ou.Id)
	if want := "arn:aws:organizations::" + testAccount + ":ou/" + orgID + "/" + ouID; aws.ToString(ou.Arn) != want || aws.ToString(ou.Name) != "workloads" {
		t.Errorf("CreateOrganizationalUnit = %+v, want Arn %q", ou, want)
	}
	ous := try(c.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(root)})).must(t)
	if len(ous.OrganizationalUnits) != 1 || aws.ToString(ous.OrganizationalUnits[0].Id) != ouID {
		t.Errorf("ListOrganizationalUnitsForParent(root) = %+v, want %s", ous.OrganizationalUnits, ouID)
	}
	try(c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(dev.id), SourceParentId: aws.String(root), DestinationParentId: aws.String(ouID)})).must(t)
	inOU := try(c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(ouID)})).must(t)
	if len(inOU.Accounts) != 1 || aws.ToString(inOU.Accounts[0].Id) != dev.id {
		t.Errorf("ListAccountsForParent(ou) = %+v, want %s", inOU.Accounts, dev.id)
	}
	if want := []string{orgID + "/" + root + "/" + ouID + "/" + dev.id + "/"}; !cmp.Equal(inOU.Accounts[0].Paths, want) {
		t.Errorf("Account.Paths = %v, want %v", inOU.Accounts[0].Paths, want)
	}
	parents := try(c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(dev.id)})).must(t)
	if len(parents.Parents) != 1 || aws.ToString(parents.Parents[0].Id) != ouID || parents.Parents[0].Type != otypes.ParentTypeOrganizationalUnit {
		t.Errorf("ListParents(dev) = %+v, want the OU", parents.Parents)
	}

	// Policies.
	p := try(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{
		Name: aws.String("no-deletion"), Description: aws.String("no key deletion"),
		Type: otypes.PolicyTypeServiceControlPolicy, Content: aws.String(orgDenyDeletion),
	})).must(t).Policy
	pid := aws.ToString(p.PolicySummary.Id)
	if want := "arn:aws:organizations::" + testAccount + ":policy/" + orgID + "/service_control_policy/" + pid; aws.ToString(p.PolicySummary.Arn) != want || p.PolicySummary.AwsManaged || aws.ToString(p.Content) != orgDenyDeletion {
		t.Errorf("CreatePolicy = %+v, want Arn %q, customer managed, the content", p.PolicySummary, want)
	}
	upd := try(c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(pid), Description: aws.String("updated")})).must(t).Policy
	if aws.ToString(upd.PolicySummary.Description) != "updated" || aws.ToString(upd.PolicySummary.Name) != "no-deletion" {
		t.Errorf("UpdatePolicy = %+v, want the new description and the old name", upd.PolicySummary)
	}
	if d := try(c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(pid)})).must(t).Policy; aws.ToString(d.PolicySummary.Description) != "updated" {
		t.Errorf("DescribePolicy = %+v, want the update", d.PolicySummary)
	}
	list := try(c.ListPolicies(ctx, &organizations.ListPoliciesInput{Filter: otypes.PolicyTypeServiceControlPolicy})).must(t)
	var names []string
	for _, s := range list.Policies {
		names = append(names, aws.ToString(s.Name))
	}
	slices.Sort(names)
	if !cmp.Equal(names, []string{"FullAWSAccess", "no-deletion"}) {
		t.Errorf("ListPolicies = %v, want FullAWSAccess and no-deletion", names)
	}

	try(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(pid), TargetId: aws.String(ouID)})).must(t)
	forOU := try(c.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(ouID), Filter: otypes.PolicyTypeServiceControlPolicy})).must(t)
	names = nil
	for _, s := range forOU.Policies {
		names = append(names, aws.ToString(s.Id))
	}
	want := []string{"p-FullAWSAccess", pid}
	slices.Sort(names)
	slices.Sort(want)
	if !cmp.Equal(names, want) {
		t.Errorf("ListPoliciesForTarget(ou) = %v, want FullAWSAccess and %s", names, pid)
	}
	targets := try(c.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(pid)})).must(t)
	if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].TargetId) != ouID || targets.Targets[0].Type != otypes.TargetTypeOrganizationalUnit || aws.ToString(targets.Targets[0].Name) != "workloads" {
		t.Errorf("ListTargetsForPolicy = %+v, want the OU", targets.Targets)
	}

	// SCPs as the authorizer will see them, read from the server's data.
	scps := openOrgService(t, e.dir, e.storeURL)
	checkSCPs := func(account string, wantLevels []int, wantPath string) {
		t.Helper()
		levels, gotOrg, paths, err := scps.SCPsOf(ctx, account)
		if err != nil {
			t.Fatalf("SCPsOf(%s) = %v", account, err)
		}
		var n []int
		for _, l := range levels {
			n = append(n, len(l))
		}
		if !cmp.Equal(n, wantLevels) || gotOrg != orgID || !cmp.Equal(paths, []string{wantPath}) {
			t.Errorf("SCPsOf(%s) = levels %v, %q, %v; want %v, %q, [%s]", account, n, gotOrg, paths, wantLevels, orgID, wantPath)
		}
	}
	checkSCPs(testAccount, nil, orgID+"/"+root+"/")
	checkSCPs(dev.id, []int{1, 2, 1}, orgID+"/"+root+"/"+ouID+"/")

	// Tear down in AWS's order.
	_, err = c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String(pid)})
	wantErr[*otypes.PolicyInUseException](t, err)
	try(c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(pid), TargetId: aws.String(ouID)})).must(t)
	try(c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String(pid)})).must(t)
	disabled := try(c.DisablePolicyType(ctx, &organizations.DisablePolicyTypeInput{RootId: aws.String(root), PolicyType: otypes.PolicyTypeServiceControlPolicy})).must(t)
	if len(disabled.Root.PolicyTypes) != 0 {
		t.Errorf("DisablePolicyType Root.PolicyTypes = %+v, want none", disabled.Root.PolicyTypes)
	}
	if n := len(try(c.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(root), Filter: otypes.PolicyTypeServiceControlPolicy})).must(t).Policies); n != 0 {
		t.Errorf("ListPoliciesForTarget(root) with SCPs disabled = %d policies, want 0", n)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// openOrgService opens a second Organizations service on a running server's
// data folder, to read SCPsOf from the state the API calls made.
func openOrgService(t *testing.T, dataDir, storeURL string) *org.Service {
	t.Helper()
	key, _, err := seal.OpenFile(dataDir)
	if err != nil {
		t.Fatalf("seal.OpenFile: %v", err)
	}
	root, err := keyring.NewRoot(key)
	if err != nil {
		t.Fatalf("keyring.NewRoot: %v", err)
	}
	var st store.Store
	if storeURL != "" {
		st, err = postgres.Open(context.Background(), storeURL)
	} else {
		st, err = sqlite.Open(context.Background(), filepath.Join(dataDir, "custos.db"))
	}
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := org.New(org.Config{Store: st, Rand: rand.Reader, Now: time.Now, Directory: iam.NewDirectory(st, root, rand.Reader, time.Now)})
	if err != nil {
		t.Fatalf("org.New: %v", err)
	}
	return svc
}

// A new account's root credentials work at once, on every API of the
// endpoint, for that account alone.
func TestOrganizationNewAccountCredentials(t *testing.T) {
	e := start(t)
	rec := &orgRecorder{}
	c := e.orgClient(testKeyID, testSecret, rec)
	try(c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})).must(t)
	a := createOrgAccount(t, c, rec, "team-a")

	k := e.clientWith("us-east-1", a.keyID, a.secret)
	key := try(k.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	if aws.ToString(key.AWSAccountId) != a.id {
		t.Errorf("CreateKey with the new root credentials: account %q, want %q", aws.ToString(key.AWSAccountId), a.id)
	}
	keys := try(k.ListKeys(ctx, &kms.ListKeysInput{})).must(t)
	if len(keys.Keys) != 1 || aws.ToString(keys.Keys[0].KeyId) != aws.ToString(key.KeyId) {
		t.Errorf("ListKeys in the new account = %d keys, want its one key", len(keys.Keys))
	}
	if n := len(try(e.client("us-east-1").ListKeys(ctx, &kms.ListKeysInput{})).must(t).Keys); n != 0 {
		t.Errorf("ListKeys in the management account = %d keys, want 0", n)
	}

	member := e.orgClient(a.keyID, a.secret, nil)
	d := try(member.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).must(t)
	if aws.ToString(d.Organization.MasterAccountId) != testAccount {
		t.Errorf("DescribeOrganization by the member: management %q, want %q", aws.ToString(d.Organization.MasterAccountId), testAccount)
	}
	_, err := member.ListAccounts(ctx, &organizations.ListAccountsInput{})
	wantErr[*otypes.AccessDeniedException](t, err)
	_, err = member.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	wantErr[*otypes.AlreadyInOrganizationException](t, err)
}

func TestOrganizationErrors(t *testing.T) {
	e := start(t)
	rec := &orgRecorder{}
	c := e.orgClient(testKeyID, testSecret, rec)

	_, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantErr[*otypes.AWSOrganizationsNotInUseException](t, err, "not a member of an organization")
	_, err = c.ListRoots(ctx, &organizations.ListRootsInput{})
	wantErr[*otypes.AWSOrganizationsNotInUseException](t, err)

	try(c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})).must(t)
	_, err = c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	wantErr[*otypes.AlreadyInOrganizationException](t, err)
	root := aws.ToString(try(c.ListRoots(ctx, &organizations.ListRootsInput{})).must(t).Roots[0].Id)
	try(c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: otypes.PolicyTypeServiceControlPolicy})).must(t)
	_, err = c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: otypes.PolicyTypeServiceControlPolicy})
	wantErr[*otypes.PolicyTypeAlreadyEnabledException](t, err)
	a := createOrgAccount(t, c, rec, "errors")
	ou := aws.ToString(try(c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("ou")})).must(t).OrganizationalUnit.Id)

	policyInput := func(name, content string) *organizations.CreatePolicyInput {
		return &organizations.CreatePolicyInput{Name: aws.String(name), Description: aws.String(""), Type: otypes.PolicyTypeServiceControlPolicy, Content: aws.String(content)}
	}
	_, err = c.CreatePolicy(ctx, policyInput("bad", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`))
	wantErr[*otypes.MalformedPolicyDocumentException](t, err, "Effect")
	_, err = c.CreatePolicy(ctx, policyInput("big", `{"Version":"2012-10-17","Statement":[{"Sid":"`+strings.Repeat("A", 5100)+`","Effect":"Deny","Action":"*","Resource":"*"}]}`))
	wantErr[*otypes.ConstraintViolationException](t, err, "POLICY_CONTENT_LIMIT_EXCEEDED")
	pid := aws.ToString(try(c.CreatePolicy(ctx, policyInput("deny", orgDenyDeletion))).must(t).Policy.PolicySummary.Id)
	_, err = c.CreatePolicy(ctx, policyInput("deny", orgDenyDeletion))
	wantErr[*otypes.DuplicatePolicyException](t, err)
	_, err = c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-00000000")})
	wantErr[*otypes.PolicyNotFoundException](t, err)
	_, err = c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("nope")})
	wantErr[*otypes.InvalidInputException](t, err)

	try(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(pid), TargetId: aws.String(a.id)})).must(t)
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(pid), TargetId: aws.String(a.id)})
	wantErr[*otypes.DuplicatePolicyAttachmentException](t, err)
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(pid), TargetId: aws.String("000000000000")})
	wantErr[*otypes.TargetNotFoundException](t, err)
	_, err = c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(pid), TargetId: aws.String(ou)})
	wantErr[*otypes.PolicyNotAttachedException](t, err)
	_, err = c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(ou)})
	wantErr[*otypes.ConstraintViolationException](t, err, "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
	_, err = c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String("p-FullAWSAccess")})
	wantErr[*otypes.InvalidInputException](t, err)

	_, err = c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(a.id), SourceParentId: aws.String(ou), DestinationParentId: aws.String(root)})
	wantErr[*otypes.SourceParentNotFoundException](t, err)
	_, err = c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(a.id), SourceParentId: aws.String(root), DestinationParentId: aws.String("ou-zzzz-zzzzzzzz")})
	wantErr[*otypes.DestinationParentNotFoundException](t, err)
	_, err = c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String("000000000000"), SourceParentId: aws.String(root), DestinationParentId: aws.String(ou)})
	wantErr[*otypes.AccountNotFoundException](t, err)
	_, err = c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("ou")})
	wantErr[*otypes.DuplicateOrganizationalUnitException](t, err)
	_, err = c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-zzzz-zzzzzzzz")})
	wantErr[*otypes.ParentNotFoundException](t, err)
	_, err = c.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String("ou-zzzz-zzzzzzzz")})
	wantErr[*otypes.OrganizationalUnitNotFoundException](t, err)
	_, err = c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("000000000000")})
	wantErr[*otypes.AccountNotFoundException](t, err)

	// Paging through the SDK's paginator.
	for _, n := range []string{"p1", "p2", "p3"} {
		try(c.CreatePolicy(ctx, policyInput(n, orgDenyDeletion))).must(t)
	}
	var all []string
	pages := organizations.NewListPoliciesPaginator(c, &organizations.ListPoliciesInput{Filter: otypes.PolicyTypeServiceControlPolicy, MaxResults: aws.Int32(2)})
	for pages.HasMorePages() {
		for _, p := range try(pages.NextPage(ctx)).must(t).Policies {
			all = append(all, aws.ToString(p.Name))
		}
	}
	if len(all) != 5 {
		t.Errorf("ListPolicies pages = %v, want 5 policies", all)
	}
}
