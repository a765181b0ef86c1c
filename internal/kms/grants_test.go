package kms

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

const (
	otherAccount = "444455556666"
	aliceARN     = "arn:aws:iam::" + testAccount + ":user/alice"
	bobARN       = "arn:aws:iam::" + testAccount + ":user/bob"
	roleARN      = "arn:aws:iam::" + testAccount + ":role/app"
	sessionARN   = "arn:aws:sts::" + testAccount + ":assumed-role/app/s1"
	otherRootARN = "arn:aws:iam::" + otherAccount + ":root"
	zeroGrantID  = "0000000000000000000000000000000000000000000000000000000000000000"
)

// userCaller is an IAM user of testAccount with these identity policies.
func userCaller(t testing.TB, arn string, identity ...string) *Caller {
	t.Helper()
	c := &Caller{AccountID: testAccount, ARN: arn, Type: caller.TypeIAMUser, UserName: arn[strings.LastIndex(arn, "/")+1:], Region: testRegion}
	if len(identity) > 0 {
		c.Policies = &caller.Policies{}
		for _, doc := range identity {
			p, err := policy.Parse(doc, policy.Identity)
			if err != nil {
				t.Fatalf("policy.Parse(%s): %v", doc, err)
			}
			c.Policies.Identity = append(c.Policies.Identity, p)
		}
	}
	return c
}

func sessionCaller() *Caller {
	return &Caller{AccountID: testAccount, ARN: sessionARN, Type: caller.TypeAssumedRole, RoleARN: roleARN, RoleName: "app", SessionName: "s1", Region: testRegion}
}

func rootCaller(account string) *Caller {
	return &Caller{AccountID: account, ARN: "arn:aws:iam::" + account + ":root", Type: caller.TypeRoot, UserID: account, Region: testRegion}
}

// allowAll is an identity policy allowing every KMS action.
const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`

type grantSpec struct {
	grantee, retiring string
	ops               []string
	eq, sub           map[string]string
	name              string
}

func (g grantSpec) input(keyID string) *CreateGrantInput {
	in := &CreateGrantInput{KeyId: ptr(keyID), GranteePrincipal: ptr(g.grantee), Operations: g.ops}
	if g.retiring != "" {
		in.RetiringPrincipal = ptr(g.retiring)
	}
	if g.eq != nil || g.sub != nil {
		in.Constraints = &GrantConstraints{EncryptionContextEquals: g.eq, EncryptionContextSubset: g.sub}
	}
	if g.name != "" {
		in.Name = ptr(g.name)
	}
	return in
}

func createGrant(t testing.TB, s *Service, keyID string, g grantSpec) *CreateGrantOutput {
	t.Helper()
	out, err := s.CreateGrant(context.Background(), testCaller, g.input(keyID))
	if err != nil {
		t.Fatalf("CreateGrant(%+v): %v", g, err)
	}
	if !isGrantID(out.GrantId) || out.GrantToken == "" {
		t.Fatalf("CreateGrant(%+v) = %+v, want a 64-hex grant id and a token", g, out)
	}
	return out
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := awsproto.As(err); ok {
		return e.Code
	}
	return err.Error()
}

func TestCreateGrantValidation(t *testing.T) {
	s, _ := newTestService(t)
	s.principalExists = func(_ context.Context, arn string) (bool, error) {
		return arn != "arn:aws:iam::"+testAccount+":user/nobody", nil
	}
	ctx := context.Background()
	key := createKey(t, s)
	arn := key.Arn
	nine := map[string]string{}
	for i := range 9 {
		nine[fmt.Sprint("k", i)] = "v"
	}
	enumSet := "[" + strings.Join(grantOperations, ", ") + "]"
	tests := []struct {
		name      string
		in        *CreateGrantInput
		code, msg string
	}{
		{"no grantee", &CreateGrantInput{KeyId: ptr(key.KeyId), Operations: []string{"Encrypt"}},
			"ValidationException", "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null"},
		{"no operations", &CreateGrantInput{KeyId: ptr(key.KeyId), GranteePrincipal: ptr(aliceARN)},
			"ValidationException", "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null"},
		{"unknown operation", grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "ScheduleKeyDeletion"}}.input(key.KeyId),
			"ValidationException", "1 validation error detected: Value '[Encrypt, ScheduleKeyDeletion]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: " + enumSet + "]"},
		{"bad grantee characters", grantSpec{grantee: "arn:aws:iam::1 2", ops: []string{"Encrypt"}}.input(key.KeyId),
			"ValidationException", `1 validation error detected: Value 'arn:aws:iam::1 2' at 'granteePrincipal' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\w+=,.@:/-]+$`},
		{"bad name", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, name: "a b"}.input(key.KeyId),
			"ValidationException", "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"},
		{"nine constraint pairs", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, sub: nine}.input(key.KeyId),
			"ValidationException", "1 validation error detected: Value at 'constraints.encryptionContextSubset' failed to satisfy constraint: Map must have at most 8 entries"},
		{"long constraint value", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, eq: map[string]string{"a": strings.Repeat("x", 385)}}.input(key.KeyId),
			"ValidationException", "1 validation error detected: Value at 'constraints.encryptionContextEquals' failed to satisfy constraint: Map value must have length less than or equal to 384"},
		{"only CreateGrant", grantSpec{grantee: aliceARN, ops: []string{"CreateGrant"}}.input(key.KeyId),
			"ValidationException", "Grants must not contain only the CreateGrant operation."},
		{"Sign on a symmetric key", grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "Sign", "GetPublicKey"}}.input(key.KeyId),
			"ValidationException", "Grant operations [Sign, GetPublicKey] are not valid for " + arn + ", whose KeySpec is SYMMETRIC_DEFAULT and KeyUsage ENCRYPT_DECRYPT."},
		{"alias", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}}.input("alias/x"),
			"NotFoundException", "Invalid keyId 'alias/x'"},
		{"unknown grantee", grantSpec{grantee: "arn:aws:iam::" + testAccount + ":user/nobody", ops: []string{"Encrypt"}}.input(key.KeyId),
			"InvalidArnException", "ARN does not refer to a valid principal: arn:aws:iam::" + testAccount + ":user/nobody"},
		{"grantee not an ARN", grantSpec{grantee: "alice", ops: []string{"Encrypt"}}.input(key.KeyId),
			"InvalidArnException", "ARN does not refer to a valid principal: alice"},
		{"unknown retiring principal", grantSpec{grantee: aliceARN, retiring: "arn:aws:iam::" + testAccount + ":user/nobody", ops: []string{"Encrypt"}}.input(key.KeyId),
			"InvalidArnException", "ARN does not refer to a valid principal: arn:aws:iam::" + testAccount + ":user/nobody"},
		{"dry run", func() *CreateGrantInput {
			in := grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}}.input(key.KeyId)
			in.DryRun = true
			return in
		}(), "DryRunOperationException", "The request would have succeeded, but the DryRun option is set."},
		{"bad grant token", func() *CreateGrantInput {
			in := grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}}.input(key.KeyId)
			in.GrantTokens = []string{"nonsense"}
			return in
		}(), "InvalidGrantTokenException", "The request was rejected because the specified grant token is not valid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *testCaller
			c.GrantTokens = tt.in.GrantTokens
			_, err := s.CreateGrant(ctx, &c, tt.in)
			wantErr(t, "CreateGrant", err, tt.code, tt.msg)
		})
	}
	// Nothing was created.
	out, err := s.ListGrants(ctx, testCaller, &ListGrantsInput{KeyId: ptr(key.KeyId)})
	if err != nil || len(out.Grants) != 0 {
		t.Errorf("ListGrants after failed CreateGrants = %+v, %v; want none", out, err)
	}
}

func TestCreateGrantKeyStates(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	key := createKey(t, s)
	if _, err := s.DisableKey(ctx, testCaller, &KeyIDInput{KeyId: ptr(key.KeyId)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateGrant(ctx, testCaller, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}}.input(key.KeyId))
	wantErr(t, "CreateGrant(disabled key)", err, "DisabledException", key.Arn+" is disabled.")
	if _, err := s.ScheduleKeyDeletion(ctx, testCaller, &ScheduleKeyDeletionInput{KeyId: ptr(key.KeyId)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateGrant(ctx, testCaller, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}}.input(key.KeyId))
	wantErr(t, "CreateGrant(key pending deletion)", err, "KMSInvalidStateException", key.Arn+" is pending deletion.")
}

// TestGrantAllows is the grant check of the authorizer: who a grant names,
// which operations, which encryption contexts.
func TestGrantAllows(t *testing.T) {
	ec := map[string]string{"Dept": "10", "app": "x"}
	tests := []struct {
		name    string
		grant   grantSpec
		keyPol  string // key policy, "" for the default
		caller  func(t *testing.T) *Caller
		op      string // Encrypt, GenerateDataKey or DescribeKey
		ec      map[string]string
		allowed bool
	}{
		{name: "grantee Encrypt", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt", allowed: true},
		{name: "another user", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, bobARN) }, op: "Encrypt"},
		{name: "operation not granted", grant: grantSpec{grantee: aliceARN, ops: []string{"Decrypt"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt"},
		{name: "GenerateDataKey", grant: grantSpec{grantee: aliceARN, ops: []string{"GenerateDataKey"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "GenerateDataKey", allowed: true},
		{name: "Equals matches", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, eq: map[string]string{"dept": "10", "APP": "x"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt", ec: ec, allowed: true},
		{name: "Equals value case", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, eq: map[string]string{"Dept": "10", "app": "X"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt", ec: ec},
		{name: "Equals extra pair", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, eq: map[string]string{"Dept": "10"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt", ec: ec},
		{name: "Equals empty context", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, eq: map[string]string{"Dept": "10"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt"},
		{name: "Subset matches", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, sub: map[string]string{"dept": "10"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt", ec: ec, allowed: true},
		{name: "Subset missing", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, sub: map[string]string{"dept": "11"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt", ec: ec},
		{name: "constraint does not apply to DescribeKey", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "DescribeKey"}, sub: map[string]string{"dept": "11"}},
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "DescribeKey", allowed: true},
		{name: "role grantee, session caller", grant: grantSpec{grantee: roleARN, ops: []string{"Encrypt"}},
			caller: func(*testing.T) *Caller { return sessionCaller() }, op: "Encrypt", allowed: true},
		{name: "session grantee", grant: grantSpec{grantee: sessionARN, ops: []string{"Encrypt"}},
			caller: func(*testing.T) *Caller { return sessionCaller() }, op: "Encrypt", allowed: true},
		{name: "other session of the role", grant: grantSpec{grantee: "arn:aws:sts::" + testAccount + ":assumed-role/app/s2", ops: []string{"Encrypt"}},
			caller: func(*testing.T) *Caller { return sessionCaller() }, op: "Encrypt"},
		{name: "account root grantee, user with IAM permission", grant: grantSpec{grantee: otherRootARN, ops: []string{"Encrypt"}},
			caller: func(t *testing.T) *Caller {
				c := userCaller(t, "arn:aws:iam::"+otherAccount+":user/carol", allowAll)
				c.AccountID = otherAccount
				return c
			}, op: "Encrypt", allowed: true},
		{name: "account root grantee, user without IAM permission", grant: grantSpec{grantee: otherRootARN, ops: []string{"Encrypt"}},
			caller: func(t *testing.T) *Caller {
				c := userCaller(t, "arn:aws:iam::"+otherAccount+":user/carol")
				c.AccountID = otherAccount
				return c
			}, op: "Encrypt"},
		{name: "cross-account root grantee", grant: grantSpec{grantee: otherRootARN, ops: []string{"Encrypt"}},
			caller: func(*testing.T) *Caller { return rootCaller(otherAccount) }, op: "Encrypt", allowed: true},
		{name: "explicit deny wins", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			keyPol: `{"Version":"2012-10-17","Statement":[
				{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
				{"Sid":"NoAlice","Effect":"Deny","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Encrypt","Resource":"*"}]}`,
			caller: func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, op: "Encrypt"},
		{name: "explicit deny in IAM wins", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			caller: func(t *testing.T) *Caller {
				return userCaller(t, aliceARN, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*"}]}`)
			}, op: "Encrypt"},
		{name: "SCP implicit deny wins", grant: grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			caller: func(t *testing.T) *Caller {
				c := userCaller(t, aliceARN)
				scp, err := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, policy.Identity)
				if err != nil {
					t.Fatal(err)
				}
				c.Policies = &caller.Policies{SCPs: [][]*policy.Policy{{scp}}}
				return c
			}, op: "Encrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestService(t)
			ctx := context.Background()
			in := &CreateKeyInput{}
			if tt.keyPol != "" {
				in.Policy = ptr(tt.keyPol)
				in.BypassPolicyLockoutSafetyCheck = true
			}
			k, err := s.CreateKey(ctx, testCaller, in)
			if err != nil {
				t.Fatal(err)
			}
			key := k.KeyMetadata
			g := createGrant(t, s, key.KeyId, tt.grant)
			c := tt.caller(t)
			c.Trail = &caller.Trail{}
			switch tt.op {
			case "Encrypt":
				_, err = s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(key.Arn), Plaintext: []byte("x"), EncryptionContext: tt.ec})
			case "GenerateDataKey":
				_, err = s.GenerateDataKey(ctx, c, &GenerateDataKeyInput{KeyId: ptr(key.Arn), KeySpec: "AES_256", EncryptionContext: tt.ec})
			case "DescribeKey":
				_, err = s.DescribeKey(ctx, c, &KeyIDInput{KeyId: ptr(key.Arn)})
			}
			if got := err == nil; got != tt.allowed {
				t.Fatalf("%s by %s = %v, want allowed %v", tt.op, c.ARN, err, tt.allowed)
			}
			if tt.allowed {
				if want := "grant " + g.GrantId; c.Trail.Decision != "Allow" || c.Trail.Reason != want {
					t.Errorf("trail = %s %q, want Allow %q", c.Trail.Decision, c.Trail.Reason, want)
				}
			} else if errCode(err) != "AccessDeniedException" {
				t.Errorf("%s by %s = %v, want AccessDeniedException", tt.op, c.ARN, err)
			}
		})
	}
}

// TestGrantRevocation: retiring or revoking a grant takes effect for the
// next request.
func TestGrantRevocation(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	key := createKey(t, s)
	alice := userCaller(t, aliceARN)
	for _, how := range []string{"RevokeGrant", "RetireGrant by id", "RetireGrant by token"} {
		g := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, retiring: aliceARN, ops: []string{"Encrypt"}})
		enc := func() error {
			_, err := s.Encrypt(ctx, alice, &EncryptInput{KeyId: ptr(key.Arn), Plaintext: []byte("x")})
			return err
		}
		if err := enc(); err != nil {
			t.Fatalf("%s: Encrypt before = %v", how, err)
		}
		var err error
		switch how {
		case "RevokeGrant":
			_, err = s.RevokeGrant(ctx, testCaller, &RevokeGrantInput{KeyId: ptr(key.KeyId), GrantId: ptr(g.GrantId)})
		case "RetireGrant by id":
			_, err = s.RetireGrant(ctx, alice, &RetireGrantInput{KeyId: ptr(key.Arn), GrantId: ptr(g.GrantId)})
		default:
			_, err = s.RetireGrant(ctx, alice, &RetireGrantInput{GrantToken: ptr(g.GrantToken)})
		}
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if err := enc(); errCode(err) != "AccessDeniedException" {
			t.Errorf("%s: Encrypt after = %v, want AccessDeniedException", how, err)
		}
		// Nor does the token bring it back.
		withToken := *alice
		withToken.GrantTokens = []string{g.GrantToken}
		if _, err := s.Encrypt(ctx, &withToken, &EncryptInput{KeyId: ptr(key.Arn), Plaintext: []byte("x")}); errCode(err) != "AccessDeniedException" {
			t.Errorf("%s: Encrypt with the token after = %v, want AccessDeniedException", how, err)
		}
		_, err = s.RevokeGrant(ctx, testCaller, &RevokeGrantInput{KeyId: ptr(key.KeyId), GrantId: ptr(g.GrantId)})
		wantErr(t, how+": RevokeGrant again", err, "InvalidGrantIdException", "Invalid grantId '"+g.GrantId+"'")
	}
	_, err := s.RevokeGrant(ctx, testCaller, &RevokeGrantInput{KeyId: ptr(key.KeyId), GrantId: ptr("nope")})
	wantErr(t, "RevokeGrant(malformed id)", err, "InvalidGrantIdException", "Invalid grantId 'nope'")
	_, err = s.RetireGrant(ctx, testCaller, &RetireGrantInput{KeyId: ptr(key.KeyId)})
	wantErr(t, "RetireGrant(no grant id)", err, "ValidationException", "Grant token OR (grant ID, key ID) must be specified")
	_, err = s.RetireGrant(ctx, testCaller, &RetireGrantInput{GrantToken: ptr("AQ")})
	wantErr(t, "RetireGrant(bad token)", err, "InvalidGrantTokenException", "The request was rejected because the specified grant token is not valid.")
	// RevokeGrant needs kms:RevokeGrant.
	g := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}})
	_, err = s.RevokeGrant(ctx, alice, &RevokeGrantInput{KeyId: ptr(key.Arn), GrantId: ptr(g.GrantId)})
	wantErr(t, "RevokeGrant(by the grantee)", err, "AccessDeniedException",
		"User: "+aliceARN+" is not authorized to perform: kms:RevokeGrant on resource: "+key.Arn+" because no identity-based policy allows the kms:RevokeGrant action")
	_, err = s.RevokeGrant(ctx, testCaller, &RevokeGrantInput{KeyId: ptr(key.Arn), GrantId: ptr(g.GrantId), DryRun: true})
	wantErr(t, "RevokeGrant(DryRun)", err, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
}

// TestRetireGrantWho: who may retire a grant.
func TestRetireGrantWho(t *testing.T) {
	tests := []struct {
		name    string
		grant   grantSpec
		caller  func(t *testing.T) *Caller
		allowed bool
	}{
		{"retiring principal, not the grantee", grantSpec{grantee: aliceARN, retiring: bobARN, ops: []string{"Encrypt"}},
			func(t *testing.T) *Caller { return userCaller(t, bobARN) }, true},
		{"grantee without RetireGrant", grantSpec{grantee: aliceARN, retiring: bobARN, ops: []string{"Encrypt"}},
			func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, false},
		{"grantee with RetireGrant", grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "RetireGrant"}},
			func(t *testing.T) *Caller { return userCaller(t, aliceARN) }, true},
		{"session of the retiring role", grantSpec{grantee: aliceARN, retiring: roleARN, ops: []string{"Encrypt"}},
			func(*testing.T) *Caller { return sessionCaller() }, true},
		{"the key's account root", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			func(*testing.T) *Caller { return rootCaller(testAccount) }, true},
		{"a user of the account with kms:RetireGrant", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			func(t *testing.T) *Caller { return userCaller(t, bobARN, allowAll) }, true},
		{"a user of the account without permission", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			func(t *testing.T) *Caller { return userCaller(t, bobARN) }, false},
		{"another account", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}},
			func(*testing.T) *Caller { return rootCaller(otherAccount) }, false},
		{"explicit deny wins over the retiring principal", grantSpec{grantee: aliceARN, retiring: bobARN, ops: []string{"Encrypt"}},
			func(t *testing.T) *Caller {
				return userCaller(t, bobARN, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}]}`)
			}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestService(t)
			ctx := context.Background()
			key := createKey(t, s)
			g := createGrant(t, s, key.KeyId, tt.grant)
			c := tt.caller(t)
			c.Trail = &caller.Trail{}
			_, err := s.RetireGrant(ctx, c, &RetireGrantInput{KeyId: ptr(key.Arn), GrantId: ptr(g.GrantId)})
			if got := err == nil; got != tt.allowed {
				t.Fatalf("RetireGrant by %s = %v, want allowed %v", c.ARN, err, tt.allowed)
			}
			if !tt.allowed {
				if errCode(err) != "AccessDeniedException" {
					t.Errorf("RetireGrant by %s = %v, want AccessDeniedException", c.ARN, err)
				}
				if c.Trail.Decision != "Deny" {
					t.Errorf("trail decision = %q, want Deny", c.Trail.Decision)
				}
				return
			}
			if c.Trail.Decision != "Allow" || !strings.Contains(c.Trail.Reason, g.GrantId) {
				t.Errorf("trail = %s %q, want Allow naming %s", c.Trail.Decision, c.Trail.Reason, g.GrantId)
			}
		})
	}
}

func TestGrantTokens(t *testing.T) {
	s, clk := newTestService(t)
	ctx := context.Background()
	key := createKey(t, s)
	other := createKey(t, s)
	g := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "Decrypt"}, sub: map[string]string{"a": "1"}})
	alice := userCaller(t, aliceARN)
	alice.GrantTokens = []string{g.GrantToken}
	encrypt := func(keyID string, c *Caller) error {
		_, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: ptr(keyID), Plaintext: []byte("x"), EncryptionContext: map[string]string{"a": "1"}})
		return err
	}
	if err := encrypt(key.Arn, alice); err != nil {
		t.Fatalf("Encrypt with the token = %v", err)
	}
	// A valid token of another key's grant does no harm and no good.
	if err := encrypt(other.Arn, alice); errCode(err) != "AccessDeniedException" {
		t.Errorf("Encrypt(other key) with the token = %v, want AccessDeniedException", err)
	}
	// Tampering with any byte makes the token invalid.
	raw, err := base64.RawURLEncoding.DecodeString(g.GrantToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 5, 20, len(raw) - 1} {
		bad := slices.Clone(raw)
		bad[i] ^= 1
		c := *alice
		c.GrantTokens = []string{base64.RawURLEncoding.EncodeToString(bad)}
		wantErr(t, fmt.Sprintf("Encrypt(token with byte %d flipped)", i), encrypt(key.Arn, &c),
			"InvalidGrantTokenException", "The request was rejected because the specified grant token is not valid.")
	}
	// Every CreateGrant returns a new token; all of them work.
	again := createGrant(t, s, key.KeyId, grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, name: "n"})
	retry := createGrant(t, s, key.KeyId, grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, name: "n"})
	if again.GrantId != retry.GrantId || again.GrantToken == retry.GrantToken {
		t.Errorf("CreateGrant retried with a Name = %s/%s, want the same id and another token", retry.GrantId, again.GrantId)
	}

	// A grant this node does not know yet (made by another node, say) is
	// honored through its token for grantTokenGrace.
	rec, err := s.openGrantToken(ctx, g.GrantToken)
	if err != nil {
		t.Fatal(err)
	}
	hidden := *rec.Grant
	hidden.GrantID = strings.Repeat("ab", 32)
	hidden.Grantee = "arn:aws:iam::" + testAccount + ":user/carol"
	tk, _, err := s.grantTokenKey(ctx, testAccount, false)
	if err != nil {
		t.Fatal(err)
	}
	unseen, err := s.newGrantToken(tk, testAccount, &hidden, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	carol := userCaller(t, hidden.Grantee)
	carol.GrantTokens = []string{unseen}
	carol.Trail = &caller.Trail{}
	if err := encrypt(key.Arn, carol); err != nil {
		t.Fatalf("Encrypt with the token of an unseen grant = %v", err)
	}
	if want := "grant " + hidden.GrantID + " (through a grant token)"; carol.Trail.Reason != want {
		t.Errorf("trail reason = %q, want %q", carol.Trail.Reason, want)
	}
	// Not for anyone else.
	dave := userCaller(t, "arn:aws:iam::"+testAccount+":user/dave")
	dave.GrantTokens = []string{unseen}
	if err := encrypt(key.Arn, dave); errCode(err) != "AccessDeniedException" {
		t.Errorf("Encrypt by another user with the token of an unseen grant = %v, want AccessDeniedException", err)
	}
	clk.Advance(grantTokenGrace + time.Second)
	if err := encrypt(key.Arn, carol); errCode(err) != "AccessDeniedException" {
		t.Errorf("Encrypt with the token of an unseen grant after the grace = %v, want AccessDeniedException", err)
	}
	// The grant itself does not age.
	if err := encrypt(key.Arn, alice); err != nil {
		t.Errorf("Encrypt by the grant after the grace = %v", err)
	}
}

// TestGrantTokenThroughCall: the GrantTokens of a request reach the
// authorizer through the operation table, and the trail records neither
// them nor the token CreateGrant returns.
func TestGrantTokenThroughCall(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	key := createKey(t, s)
	op, _ := LookupOperation("CreateGrant")
	c := *testCaller
	c.Trail = &caller.Trail{}
	out, err := s.Call(ctx, op, &c, []byte(`{"KeyId":"`+key.KeyId+`","GranteePrincipal":"`+aliceARN+`","Operations":["Encrypt"]}`))
	if err != nil {
		t.Fatal(err)
	}
	g := out.(*CreateGrantOutput)
	if diff := cmp.Diff(map[string]any{"grantId": g.GrantId}, c.Trail.Response); diff != "" {
		t.Errorf("CreateGrant trail response (-want +got):\n%s", diff)
	}
	body, _ := json.Marshal(map[string]any{"KeyId": key.Arn, "Plaintext": []byte("x"), "GrantTokens": []string{g.GrantToken}})
	enc, _ := LookupOperation("Encrypt")
	alice := userCaller(t, aliceARN)
	alice.Trail = &caller.Trail{}
	if _, err := s.Call(ctx, enc, alice, body); err != nil {
		t.Fatalf("Encrypt with GrantTokens through Call = %v", err)
	}
	if fmt.Sprint(alice.Trail.Params) == "" || strings.Contains(fmt.Sprint(alice.Trail.Params), g.GrantToken) {
		t.Errorf("trail params %v hold the grant token", alice.Trail.Params)
	}
	retire, _ := LookupOperation("RetireGrant")
	alice.Trail = &caller.Trail{}
	body, _ = json.Marshal(map[string]any{"GrantToken": g.GrantToken, "DryRun": true})
	_, err = s.Call(ctx, retire, &c, body)
	wantErr(t, "RetireGrant(DryRun)", err, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	if strings.Contains(fmt.Sprint(c.Trail.Params), g.GrantToken) {
		t.Errorf("RetireGrant trail params %v hold the grant token", c.Trail.Params)
	}
	bad, _ := json.Marshal(map[string]any{"KeyId": key.Arn, "Plaintext": []byte("x"), "GrantTokens": []string{"bad"}})
	_, err = s.Call(ctx, enc, testCaller, bad)
	wantErr(t, "Encrypt(bad token)", err, "InvalidGrantTokenException", "The request was rejected because the specified grant token is not valid.")
	testCaller.GrantTokens = nil
}

// TestGrantNarrowing: a grantee with CreateGrant creates only equal or
// narrower grants.
func TestGrantNarrowing(t *testing.T) {
	parent := grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "Decrypt", "CreateGrant"}, sub: map[string]string{"app": "x"}}
	tests := []struct {
		name    string
		parent  grantSpec
		child   grantSpec
		allowed bool
	}{
		{"equal", parent, grantSpec{grantee: bobARN, ops: []string{"Encrypt", "Decrypt", "CreateGrant"}, sub: map[string]string{"APP": "x"}}, true},
		{"fewer operations, stricter subset", parent, grantSpec{grantee: bobARN, ops: []string{"Decrypt"}, sub: map[string]string{"app": "x", "b": "2"}}, true},
		{"equals within the subset", parent, grantSpec{grantee: bobARN, ops: []string{"Decrypt"}, eq: map[string]string{"app": "x"}}, true},
		{"more operations", parent, grantSpec{grantee: bobARN, ops: []string{"Encrypt", "GenerateDataKey"}, sub: map[string]string{"app": "x"}}, false},
		{"no constraint", parent, grantSpec{grantee: bobARN, ops: []string{"Encrypt"}}, false},
		{"other constraint", parent, grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, sub: map[string]string{"app": "y"}}, false},
		{"equals parent, subset child", grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "CreateGrant"}, eq: map[string]string{"a": "1"}},
			grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, sub: map[string]string{"a": "1"}}, false},
		{"equals parent, same equals", grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "CreateGrant"}, eq: map[string]string{"a": "1"}},
			grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, eq: map[string]string{"A": "1"}}, true},
		{"parent without CreateGrant", grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "Decrypt"}},
			grantSpec{grantee: bobARN, ops: []string{"Encrypt"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestService(t)
			key := createKey(t, s)
			createGrant(t, s, key.KeyId, tt.parent)
			alice := userCaller(t, aliceARN)
			_, err := s.CreateGrant(context.Background(), alice, tt.child.input(key.Arn))
			if got := err == nil; got != tt.allowed {
				t.Fatalf("CreateGrant(%+v) by the grantee = %v, want allowed %v", tt.child, err, tt.allowed)
			}
			if !tt.allowed && errCode(err) != "AccessDeniedException" {
				t.Errorf("CreateGrant(%+v) = %v, want AccessDeniedException", tt.child, err)
			}
		})
	}
}

func TestCreateGrantName(t *testing.T) {
	s, _ := newTestService(t)
	key := createKey(t, s)
	a := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "Decrypt"}, name: "app"})
	b := createGrant(t, s, key.Arn, grantSpec{grantee: aliceARN, ops: []string{"Decrypt", "Encrypt"}, name: "app"})
	if a.GrantId != b.GrantId {
		t.Errorf("CreateGrant retried with Name = %s, want %s", b.GrantId, a.GrantId)
	}
	c := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, name: "app"})
	d := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt", "Decrypt"}})
	if c.GrantId == a.GrantId || d.GrantId == a.GrantId {
		t.Errorf("CreateGrant with other parameters or without Name returned the named grant %s", a.GrantId)
	}
	out, err := s.ListGrants(context.Background(), testCaller, &ListGrantsInput{KeyId: ptr(key.KeyId)})
	if err != nil || len(out.Grants) != 3 {
		t.Errorf("ListGrants = %+v, %v; want 3 grants", out, err)
	}
}

func TestGrantLimit(t *testing.T) {
	s, _ := newTestService(t)
	s.grants.limit = 2
	key := createKey(t, s)
	createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}})
	g := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}})
	_, err := s.CreateGrant(context.Background(), testCaller, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}}.input(key.KeyId))
	wantErr(t, "CreateGrant(third)", err, "LimitExceededException", "The grant limit of 2 for key "+key.Arn+" has been reached.")
	// A retired grant does not count.
	if _, err := s.RevokeGrant(context.Background(), testCaller, &RevokeGrantInput{KeyId: ptr(key.KeyId), GrantId: ptr(g.GrantId)}); err != nil {
		t.Fatal(err)
	}
	createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}})
}

func TestListGrants(t *testing.T) {
	s, clk := newTestService(t)
	ctx := context.Background()
	key := createKey(t, s)
	var ids []string
	for i, grantee := range []string{aliceARN, bobARN, aliceARN} {
		g := createGrant(t, s, key.KeyId, grantSpec{grantee: grantee, retiring: bobARN, ops: []string{"Decrypt", "Encrypt"}, eq: map[string]string{"n": fmt.Sprint(i)}, name: fmt.Sprint("g", i)})
		ids = append(ids, g.GrantId)
	}
	slices.Sort(ids)
	var got []string
	in := &ListGrantsInput{KeyId: ptr(key.Arn), ListInput: ListInput{Limit: ptr(int64(2))}}
	for range 3 {
		out, err := s.ListGrants(ctx, testCaller, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Grants {
			got = append(got, e.GrantId)
		}
		if !out.Truncated {
			break
		}
		in.Marker = ptr(out.NextMarker)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("ListGrants pages = %v, want %v", got, ids)
	}
	out, err := s.ListGrants(ctx, testCaller, &ListGrantsInput{KeyId: ptr(key.KeyId), GranteePrincipal: ptr(bobARN)})
	if err != nil || len(out.Grants) != 1 {
		t.Fatalf("ListGrants(grantee bob) = %+v, %v; want one", out, err)
	}
	e := out.Grants[0]
	want := GrantListEntry{
		KeyId: key.Arn, GrantId: e.GrantId, Name: "g1", CreationDate: awsproto.Time{Time: clk.Now().Truncate(time.Millisecond)},
		GranteePrincipal: bobARN, RetiringPrincipal: bobARN, IssuingAccount: "arn:aws:iam::" + testAccount + ":root",
		Operations: []string{"Decrypt", "Encrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"n": "1"}},
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("ListGrants entry (-want +got):\n%s", diff)
	}
	one, err := s.ListGrants(ctx, testCaller, &ListGrantsInput{KeyId: ptr(key.KeyId), GrantId: ptr(ids[1])})
	if err != nil || len(one.Grants) != 1 || one.Grants[0].GrantId != ids[1] {
		t.Errorf("ListGrants(GrantId) = %+v, %v", one, err)
	}
	_, err = s.ListGrants(ctx, testCaller, &ListGrantsInput{KeyId: ptr(key.KeyId), GrantId: ptr(zeroGrantID)})
	wantErr(t, "ListGrants(unknown GrantId)", err, "InvalidGrantIdException", "Invalid grantId '"+zeroGrantID+"'")
	_, err = s.ListGrants(ctx, userCaller(t, aliceARN), &ListGrantsInput{KeyId: ptr(key.Arn)})
	wantErr(t, "ListGrants(by alice)", err, "AccessDeniedException",
		"User: "+aliceARN+" is not authorized to perform: kms:ListGrants on resource: "+key.Arn+" because no identity-based policy allows the kms:ListGrants action")

	// ListRetirableGrants: across keys, only for principals of the caller's
	// account.
	key2 := createKey(t, s)
	createGrant(t, s, key2.KeyId, grantSpec{grantee: aliceARN, retiring: bobARN, ops: []string{"Encrypt"}})
	createGrant(t, s, key2.KeyId, grantSpec{grantee: aliceARN, retiring: aliceARN, ops: []string{"Encrypt"}})
	var retirable []string
	rin := &ListRetirableGrantsInput{RetiringPrincipal: ptr(bobARN), ListInput: ListInput{Limit: ptr(int64(3))}}
	for range 3 {
		out, err := s.ListRetirableGrants(ctx, testCaller, rin)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Grants {
			retirable = append(retirable, e.KeyId+" "+e.GrantId)
		}
		if !out.Truncated {
			break
		}
		rin.Marker = ptr(out.NextMarker)
	}
	if len(retirable) != 4 || !slices.IsSorted(retirable) {
		t.Errorf("ListRetirableGrants(bob) = %v, want 4 grants in order", retirable)
	}
	if _, err := s.RevokeGrant(ctx, testCaller, &RevokeGrantInput{KeyId: ptr(key.KeyId), GrantId: ptr(ids[0])}); err != nil {
		t.Fatal(err)
	}
	out, err = s.ListRetirableGrants(ctx, testCaller, &ListRetirableGrantsInput{RetiringPrincipal: ptr(bobARN)})
	if err != nil || len(out.Grants) != 3 {
		t.Errorf("ListRetirableGrants(bob) after a revocation = %d grants, %v; want 3", len(out.Grants), err)
	}
	out, err = s.ListRetirableGrants(ctx, rootCaller(otherAccount), &ListRetirableGrantsInput{RetiringPrincipal: ptr(bobARN)})
	if err != nil || len(out.Grants) != 0 {
		t.Errorf("ListRetirableGrants(bob) by another account = %+v, %v; want none", out, err)
	}
}

// TestGrantConditionKeys: the grant condition keys reach the policies of
// CreateGrant.
func TestGrantConditionKeys(t *testing.T) {
	keyPolicy := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"AliceGrants","Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:CreateGrant","Resource":"*",
		 "Condition":{"ForAllValues:StringEquals":{"kms:GrantOperations":["Encrypt","Decrypt"]},
		              "StringEquals":{"kms:GranteePrincipal":"` + bobARN + `","kms:EncryptionContext:app":"x"},
		              "ForAnyValue:StringEquals":{"kms:GrantConstraintType":"EncryptionContextEquals"},
		              "Bool":{"kms:GrantIsForAWSResource":"false"}}}]}`
	tests := []struct {
		name    string
		child   grantSpec
		allowed bool
	}{
		{"within the conditions", grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, eq: map[string]string{"app": "x"}}, true},
		{"another operation", grantSpec{grantee: bobARN, ops: []string{"Encrypt", "DescribeKey"}, eq: map[string]string{"app": "x"}}, false},
		{"another grantee", grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, eq: map[string]string{"app": "x"}}, false},
		{"subset constraint", grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, sub: map[string]string{"app": "x"}}, false},
		{"other context", grantSpec{grantee: bobARN, ops: []string{"Encrypt"}, eq: map[string]string{"app": "y"}}, false},
	}
	s, _ := newTestService(t)
	k, err := s.CreateKey(context.Background(), testCaller, &CreateKeyInput{Policy: ptr(keyPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateGrant(context.Background(), userCaller(t, aliceARN), tt.child.input(k.KeyMetadata.Arn))
			if got := err == nil; got != tt.allowed {
				t.Errorf("CreateGrant(%+v) = %v, want allowed %v", tt.child, err, tt.allowed)
			}
		})
	}
}

// TestGrantsGoWithKey: deleting a key deletes its grants.
func TestGrantsGoWithKey(t *testing.T) {
	s, clk := newTestService(t)
	ctx := context.Background()
	key := createKey(t, s)
	keep := createKey(t, s)
	for range 3 {
		createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, retiring: bobARN, ops: []string{"Encrypt"}})
	}
	createGrant(t, s, keep.KeyId, grantSpec{grantee: aliceARN, retiring: bobARN, ops: []string{"Encrypt"}})
	if _, err := s.ScheduleKeyDeletion(ctx, testCaller, &ScheduleKeyDeletionInput{KeyId: ptr(key.KeyId), PendingWindowInDays: ptr(int64(7))}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(8 * 24 * time.Hour)
	if deleted, _, err := s.Sweep(ctx); err != nil || deleted != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 key deleted", deleted, err)
	}
	var docs []store.Document
	err := s.store.View(ctx, func(tx store.Tx) error {
		for _, kind := range []string{kindGrant, kindRetirable} {
			for _, acct := range []string{testAccount} {
				d, err := tx.ListDocuments(kind, acct, "", 0)
				if err != nil {
					return err
				}
				docs = append(docs, d...)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Errorf("grant documents after the key's deletion = %d, want 2 (the other key's grant and its index)", len(docs))
	}
	for _, d := range docs {
		if strings.Contains(d.Name, key.KeyId) {
			t.Errorf("document %s %s of the deleted key remains", d.Kind, d.Name)
		}
	}
}

// TestCrossAccountGrantsBothWays: a grant for another account's principal,
// used with the key ARN; and another account creating, listing and
// revoking grants on a key whose policy allows it.
func TestCrossAccountGrantsBothWays(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	keyPolicy := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"Other","Effect":"Allow","Principal":{"AWS":"` + otherRootARN + `"},"Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*"}]}`
	k, err := s.CreateKey(ctx, testCaller, &CreateKeyInput{Policy: ptr(keyPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	key := k.KeyMetadata
	them := rootCaller(otherAccount)
	if _, err := s.Encrypt(ctx, them, &EncryptInput{KeyId: ptr(key.Arn), Plaintext: []byte("x")}); errCode(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt by the other account before a grant = %v, want AccessDeniedException", err)
	}
	// The other account grants itself Encrypt: its account issues the grant.
	g, err := s.CreateGrant(ctx, them, grantSpec{grantee: otherRootARN, ops: []string{"Encrypt", "DescribeKey"}}.input(key.Arn))
	if err != nil {
		t.Fatalf("CreateGrant by the other account = %v", err)
	}
	if _, err := s.Encrypt(ctx, them, &EncryptInput{KeyId: ptr(key.Arn), Plaintext: []byte("x")}); err != nil {
		t.Errorf("Encrypt by the other account with its grant = %v", err)
	}
	out, err := s.ListGrants(ctx, them, &ListGrantsInput{KeyId: ptr(key.Arn)})
	if err != nil || len(out.Grants) != 1 || out.Grants[0].IssuingAccount != otherRootARN {
		t.Errorf("ListGrants by the other account = %+v, %v; want its grant, issued by %s", out, err, otherRootARN)
	}
	if _, err := s.RevokeGrant(ctx, them, &RevokeGrantInput{KeyId: ptr(key.Arn), GrantId: ptr(g.GrantId)}); err != nil {
		t.Fatalf("RevokeGrant by the other account = %v", err)
	}
	if _, err := s.DescribeKey(ctx, them, &KeyIDInput{KeyId: ptr(key.Arn)}); errCode(err) != "AccessDeniedException" {
		t.Errorf("DescribeKey by the other account after revocation = %v, want AccessDeniedException", err)
	}
}

// FuzzGrantToken: no token, however made, panics the parser or passes for
// valid unless it is one CreateGrant issued.
func FuzzGrantToken(f *testing.F) {
	s, _ := newTestService(f)
	key := createKey(f, s)
	g := createGrant(f, s, key.KeyId, grantSpec{grantee: aliceARN, ops: []string{"Encrypt"}, sub: map[string]string{"a": "b"}})
	f.Add(g.GrantToken)
	f.Add("")
	f.Add("AQ")
	f.Add(base64.RawURLEncoding.EncodeToString(append([]byte("\x01111122223333{}"), make([]byte, 32)...)))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tok string) {
		tc, err := s.openGrantToken(ctx, tok)
		if err != nil {
			if code := errCode(err); code != "InvalidGrantTokenException" {
				t.Fatalf("openGrantToken(%q) = %v, want InvalidGrantTokenException", tok, err)
			}
			return
		}
		if tok != g.GrantToken || tc.GrantID != g.GrantId {
			t.Fatalf("openGrantToken(%q) accepted a token CreateGrant did not issue: %+v", tok, tc)
		}
	})
}

// BenchmarkGrantDecision measures the authorizer's decision on Encrypt for
// a key with 1,000 grants: for the key's account root (allowed by the key
// policy, no grant consulted), and for a grantee allowed by one of the
// grants (constraint checked); and the same without grants as the base.
func BenchmarkGrantDecision(b *testing.B) {
	ctx := context.Background()
	ec := map[string]string{"app": "x", "tenant": "42"}
	for _, n := range []int{0, 1000} {
		s, _ := newTestService(b)
		key := createKey(b, s)
		k, err := s.key(ctx, testCaller, key.KeyId, keyOnly)
		if err != nil {
			b.Fatal(err)
		}
		recs := make([]grantRecord, 0, n)
		for i := range n {
			recs = append(recs, grantRecord{
				GrantID: fmt.Sprintf("%064x", i), KeyARN: key.Arn, Grantee: fmt.Sprintf("arn:aws:iam::%s:user/u%d", testAccount, i),
				IssuingAccount: testAccount, Operations: []string{"Decrypt", "Encrypt"}, Subset: map[string]string{"tenant": fmt.Sprint(i % 100)},
			})
		}
		_, gen := s.grants.index(key.Arn)
		s.grants.putIndex(key.Arn, newGrantIndex(recs), gen)
		root := *testCaller
		grantee := userCaller(b, fmt.Sprintf("arn:aws:iam::%s:user/u%d", testAccount, 542))
		a := access{action: "kms:Encrypt", key: k, ec: ec, algorithm: AlgSymmetricDefault}
		b.Run(fmt.Sprintf("grants=%d/policy", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.authorize(ctx, &root, a); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("grants=%d/grantee", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				err := s.authorize(ctx, grantee, a)
				if n > 0 && err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGrantOpsByKeyType: the grant operations and constraints a key's type
// allows, and a grant used for an asymmetric key's operation. Requests go
// through the operation table, as JSON.
func TestGrantOpsByKeyType(t *testing.T) {
	tests := []struct {
		spec, usage string
		valid       []string
		invalid     []string
		use         string // a request body template for the grantee, %s the key ARN
		useOp       string
	}{
		{spec: "SYMMETRIC_DEFAULT", usage: "ENCRYPT_DECRYPT", valid: []string{"Encrypt", "GenerateDataKeyPair", "ReEncryptTo", "DescribeKey"},
			invalid: []string{"GetPublicKey", "Sign", "GenerateMac", "DeriveSharedSecret"}},
		{spec: "RSA_2048", usage: "ENCRYPT_DECRYPT", valid: []string{"Encrypt", "Decrypt", "GetPublicKey", "ReEncryptFrom"},
			invalid: []string{"GenerateDataKey", "Sign"}},
		{spec: "ECC_NIST_P256", usage: "SIGN_VERIFY", valid: []string{"Sign", "Verify", "GetPublicKey", "RetireGrant"},
			invalid: []string{"Encrypt", "GenerateMac"},
			use:     `{"KeyId":"%s","Message":"aGVsbG8=","MessageType":"RAW","SigningAlgorithm":"ECDSA_SHA_256"}`, useOp: "Sign"},
		{spec: "ECC_NIST_P256", usage: "KEY_AGREEMENT", valid: []string{"DeriveSharedSecret", "GetPublicKey"},
			invalid: []string{"Sign", "Encrypt"}},
		{spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC", valid: []string{"GenerateMac", "VerifyMac"},
			invalid: []string{"GetPublicKey", "Encrypt"},
			use:     `{"KeyId":"%s","Message":"aGVsbG8=","MacAlgorithm":"HMAC_SHA_256"}`, useOp: "GenerateMac"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.usage, func(t *testing.T) {
			s, _ := newTestService(t)
			ctx := context.Background()
			k, err := s.CreateKey(ctx, testCaller, &CreateKeyInput{KeySpec: tt.spec, KeyUsage: tt.usage})
			if errCode(err) == "UnsupportedOperationException" {
				t.Skipf("CreateKey(%s): %v", tt.spec, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			key := k.KeyMetadata
			g := createGrant(t, s, key.KeyId, grantSpec{grantee: aliceARN, ops: tt.valid})
			_, err = s.CreateGrant(ctx, testCaller, grantSpec{grantee: aliceARN, ops: tt.invalid}.input(key.KeyId))
			wantErr(t, "CreateGrant(invalid operations)", err, "ValidationException",
				"Grant operations ["+strings.Join(opsOf(tt.invalid...).names(), ", ")+"] are not valid for "+key.Arn+", whose KeySpec is "+tt.spec+" and KeyUsage "+tt.usage+".")
			_, err = s.CreateGrant(ctx, testCaller, grantSpec{grantee: aliceARN, ops: tt.valid, sub: map[string]string{"a": "b"}}.input(key.KeyId))
			if tt.spec == SpecSymmetricDefault {
				if err != nil {
					t.Errorf("CreateGrant(constraint on a symmetric key) = %v", err)
				}
			} else {
				wantErr(t, "CreateGrant(constraint)", err, "ValidationException",
					"Encryption context grant constraints are valid only for symmetric encryption KMS keys; "+key.Arn+" has KeySpec "+tt.spec+".")
			}
			if tt.use == "" {
				return
			}
			op, _ := LookupOperation(tt.useOp)
			alice := userCaller(t, aliceARN)
			alice.Trail = &caller.Trail{}
			if _, err := s.Call(ctx, op, alice, []byte(fmt.Sprintf(tt.use, key.Arn))); err != nil {
				t.Fatalf("%s by the grantee = %v", tt.useOp, err)
			}
			if want := "grant " + g.GrantId; alice.Trail.Reason != want {
				t.Errorf("%s trail reason = %q, want %q", tt.useOp, alice.Trail.Reason, want)
			}
			_, err = s.Call(ctx, op, userCaller(t, bobARN), []byte(fmt.Sprintf(tt.use, key.Arn)))
			if errCode(err) != "AccessDeniedException" {
				t.Errorf("%s by another user = %v, want AccessDeniedException", tt.useOp, err)
			}
		})
	}
}
