package server_test

// End-to-end tests of grants with the AWS SDK, as several principals: the
// account root that owns a key, IAM users made through the IAM API, and
// the root of a second account made with Organizations CreateAccount.

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	otypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
)

// grantPrincipal is a principal a grant test signs as.
type grantPrincipal struct {
	arn, id, secret string
}

func (e *env) grantKMS(p grantPrincipal) *kms.Client {
	return e.clientWith("us-east-1", p.id, p.secret)
}

func (e *env) grantIAM(p grantPrincipal) *iam.Client {
	return iam.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(p.id, p.secret, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *iam.Options) { o.BaseEndpoint = aws.String(e.srv.Endpoint()) })
}

// grantUser creates an IAM user (no policies) with an access key, as the
// principal admin.
func (e *env) grantUser(t *testing.T, admin grantPrincipal, name string) grantPrincipal {
	t.Helper()
	c := e.grantIAM(admin)
	u := try(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})).must(t).User
	k := try(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})).must(t).AccessKey
	return grantPrincipal{aws.ToString(u.Arn), aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey)}
}

// wantAPIError fails unless err is an API error with code.
func wantAPIError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s = %v, want %s", what, err, code)
	}
}

var grantRoot = grantPrincipal{"arn:aws:iam::" + testAccount + ":root", testKeyID, testSecret}

func TestGrantsEndToEnd(t *testing.T) {
	e := start(t)
	root := e.grantKMS(grantRoot)
	alice := e.grantUser(t, grantRoot, "alice")
	bob := e.grantUser(t, grantRoot, "bob")
	ak, bk := e.grantKMS(alice), e.grantKMS(bob)
	key := try(root.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	keyARN := aws.ToString(key.Arn)
	app := map[string]string{"app": "payroll"}

	encrypt := func(c *kms.Client, ec map[string]string, tokens ...string) (*kms.EncryptOutput, error) {
		return c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("salary"), EncryptionContext: ec, GrantTokens: tokens})
	}
	_, err := encrypt(ak, app)
	wantAPIError(t, "Encrypt by alice before any grant", err, "AccessDeniedException")

	// A grant for alice, retirable by bob, used at once through its token.
	g := try(root.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId:             key.KeyId,
		GranteePrincipal:  aws.String(alice.arn),
		RetiringPrincipal: aws.String(bob.arn),
		Operations:        []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt, kmstypes.GrantOperationDecrypt},
		Constraints:       &kmstypes.GrantConstraints{EncryptionContextSubset: app},
		Name:              aws.String("payroll"),
	})).must(t)
	if len(aws.ToString(g.GrantId)) != 64 || aws.ToString(g.GrantToken) == "" {
		t.Fatalf("CreateGrant = %q, %q; want a 64-character grant id and a token", aws.ToString(g.GrantId), aws.ToString(g.GrantToken))
	}
	enc := try(encrypt(ak, app, aws.ToString(g.GrantToken))).must(t)
	// Only with a matching encryption context.
	_, err = encrypt(ak, map[string]string{"app": "other"})
	wantAPIError(t, "Encrypt by alice with another context", err, "AccessDeniedException")
	_, err = encrypt(ak, nil)
	wantAPIError(t, "Encrypt by alice without a context", err, "AccessDeniedException")
	// Decrypt, which the grant includes; not GenerateDataKey, which it does not.
	dec := try(ak.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: app})).must(t)
	if string(dec.Plaintext) != "salary" {
		t.Errorf("Decrypt = %q, want salary", dec.Plaintext)
	}
	_, err = ak.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyARN), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: app})
	wantAPIError(t, "GenerateDataKey by alice", err, "AccessDeniedException")
	// Grants do not let their grantee manage them; the retiring principal
	// cannot use the key.
	_, err = ak.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(keyARN)})
	wantAPIError(t, "ListGrants by alice", err, "AccessDeniedException")
	_, err = encrypt(bk, app)
	wantAPIError(t, "Encrypt by bob", err, "AccessDeniedException")
	// A bad token is refused outright.
	_, err = encrypt(ak, app, "not-a-token")
	var bad *kmstypes.InvalidGrantTokenException
	if !errors.As(err, &bad) {
		t.Errorf("Encrypt with a bad token = %v, want InvalidGrantTokenException", err)
	}

	// The owner lists the grant; a retry with the same Name returns it.
	list := try(root.ListGrants(ctx, &kms.ListGrantsInput{KeyId: key.KeyId})).must(t)
	if len(list.Grants) != 1 {
		t.Fatalf("ListGrants = %d grants, want 1", len(list.Grants))
	}
	ge := list.Grants[0]
	if aws.ToString(ge.GrantId) != aws.ToString(g.GrantId) || aws.ToString(ge.KeyId) != keyARN || aws.ToString(ge.GranteePrincipal) != alice.arn ||
		aws.ToString(ge.RetiringPrincipal) != bob.arn || aws.ToString(ge.IssuingAccount) != grantRoot.arn || aws.ToString(ge.Name) != "payroll" ||
		len(ge.Operations) != 2 || ge.Constraints == nil || ge.Constraints.EncryptionContextSubset["app"] != "payroll" || ge.CreationDate == nil {
		t.Errorf("ListGrants entry = %+v", ge)
	}
	retry := try(root.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(keyARN), GranteePrincipal: aws.String(alice.arn), RetiringPrincipal: aws.String(bob.arn),
		Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationEncrypt},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: app}, Name: aws.String("payroll"),
	})).must(t)
	if aws.ToString(retry.GrantId) != aws.ToString(g.GrantId) || aws.ToString(retry.GrantToken) == aws.ToString(g.GrantToken) {
		t.Errorf("CreateGrant retried = %s, want %s with a new token", aws.ToString(retry.GrantId), aws.ToString(g.GrantId))
	}
	retirable := try(root.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String(bob.arn)})).must(t)
	if len(retirable.Grants) != 1 || aws.ToString(retirable.Grants[0].GrantId) != aws.ToString(g.GrantId) {
		t.Errorf("ListRetirableGrants(bob) = %+v, want the grant", retirable.Grants)
	}

	// Bob, the retiring principal and not the grantee, retires it: alice
	// loses the key at once, token or not.
	try(bk.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: aws.String(keyARN), GrantId: g.GrantId})).must(t)
	_, err = encrypt(ak, app)
	wantAPIError(t, "Encrypt by alice after RetireGrant", err, "AccessDeniedException")
	_, err = encrypt(ak, app, aws.ToString(g.GrantToken))
	wantAPIError(t, "Encrypt by alice with the token after RetireGrant", err, "AccessDeniedException")

	// A second grant, revoked by the owner.
	g2 := try(root.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: key.KeyId, GranteePrincipal: aws.String(alice.arn), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextEquals: app},
	})).must(t)
	try(encrypt(ak, app)).must(t)
	_, err = encrypt(ak, map[string]string{"app": "payroll", "extra": "1"})
	wantAPIError(t, "Encrypt by alice beyond an Equals constraint", err, "AccessDeniedException")
	_, err = bk.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: aws.String(keyARN), GrantId: g2.GrantId})
	wantAPIError(t, "RetireGrant by bob of a grant he does not retire", err, "AccessDeniedException")
	try(root.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: key.KeyId, GrantId: g2.GrantId})).must(t)
	_, err = encrypt(ak, app)
	wantAPIError(t, "Encrypt by alice after RevokeGrant", err, "AccessDeniedException")
	_, err = root.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: key.KeyId, GrantId: g2.GrantId})
	var badID *kmstypes.InvalidGrantIdException
	if !errors.As(err, &badID) {
		t.Errorf("RevokeGrant again = %v, want InvalidGrantIdException", err)
	}

	// A grant that tries to widen itself: alice may create grants only
	// within her own.
	try(root.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: key.KeyId, GranteePrincipal: aws.String(alice.arn),
		Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt, kmstypes.GrantOperationCreateGrant},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: app},
	})).must(t)
	_, err = ak.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(keyARN), GranteePrincipal: aws.String(alice.arn),
		Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt, kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationCreateGrant},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: app},
	})
	wantAPIError(t, "CreateGrant by alice adding Decrypt", err, "AccessDeniedException")
	_, err = ak.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(keyARN), GranteePrincipal: aws.String(bob.arn), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt},
	})
	wantAPIError(t, "CreateGrant by alice dropping the constraint", err, "AccessDeniedException")
	narrower := try(ak.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(keyARN), GranteePrincipal: aws.String(bob.arn), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextEquals: app},
	})).must(t)
	try(encrypt(bk, app, aws.ToString(narrower.GrantToken))).must(t)

	// Operations the key does not support.
	_, err = root.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: key.KeyId, GranteePrincipal: aws.String(alice.arn), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationSign},
	})
	wantAPIError(t, "CreateGrant(Sign on a symmetric key)", err, "ValidationException")
}

// TestGrantsCrossAccount: a grant on a key of this account for the root of
// another account, which uses it with the key ARN; and the other way: a key
// of the other account granted to a user of this one.
func TestGrantsCrossAccount(t *testing.T) {
	e := start(t)
	rec := &orgRecorder{}
	oc := e.orgClient(testKeyID, testSecret, rec)
	try(oc.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: otypes.OrganizationFeatureSetAll})).must(t)
	dev := createOrgAccount(t, oc, rec, "grantee")
	devRoot := grantPrincipal{"arn:aws:iam::" + dev.id + ":root", dev.keyID, dev.secret}
	root, them := e.grantKMS(grantRoot), e.grantKMS(devRoot)

	key := try(root.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	keyARN := aws.ToString(key.Arn)
	_, err := them.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	wantAPIError(t, "Encrypt by the other account before a grant", err, "AccessDeniedException")
	g := try(root.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: key.KeyId, GranteePrincipal: aws.String(devRoot.arn),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt, kmstypes.GrantOperationDescribeKey, kmstypes.GrantOperationRetireGrant},
	})).must(t)
	enc := try(them.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x"), GrantTokens: []string{aws.ToString(g.GrantToken)}})).must(t)
	if aws.ToString(enc.KeyId) != keyARN {
		t.Errorf("Encrypt KeyId = %s, want %s", aws.ToString(enc.KeyId), keyARN)
	}
	desc := try(them.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyARN)})).must(t)
	if aws.ToString(desc.KeyMetadata.AWSAccountId) != testAccount {
		t.Errorf("DescribeKey by the other account = %s, want the key of %s", aws.ToString(desc.KeyMetadata.AWSAccountId), testAccount)
	}
	_, err = them.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantAPIError(t, "Decrypt by the other account (not granted)", err, "AccessDeniedException")
	// A bare key id names a key of the caller's own account.
	_, err = them.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyId, Plaintext: []byte("x")})
	wantAPIError(t, "Encrypt by key id from the other account", err, "NotFoundException")
	// The grantee retires the grant, which includes RetireGrant.
	try(them.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken})).must(t)
	_, err = them.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	wantAPIError(t, "Encrypt by the other account after retiring", err, "AccessDeniedException")

	// The other way: the other account's key, granted to a user of this
	// account.
	alice := e.grantUser(t, grantRoot, "alice")
	theirKey := try(them.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata
	try(them.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: theirKey.KeyId, GranteePrincipal: aws.String(alice.arn), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationGenerateDataKey},
	})).must(t)
	dk := try(e.grantKMS(alice).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: theirKey.Arn, NumberOfBytes: aws.Int32(32)})).must(t)
	if aws.ToString(dk.KeyId) != aws.ToString(theirKey.Arn) || len(dk.Plaintext) != 32 {
		t.Errorf("GenerateDataKey by alice on the other account's key = %s, %d bytes", aws.ToString(dk.KeyId), len(dk.Plaintext))
	}
	list := try(them.ListGrants(ctx, &kms.ListGrantsInput{KeyId: theirKey.KeyId})).must(t)
	if len(list.Grants) != 1 || aws.ToString(list.Grants[0].IssuingAccount) != devRoot.arn || aws.ToString(list.Grants[0].GranteePrincipal) != alice.arn {
		t.Errorf("ListGrants of the other account's key = %+v", list.Grants)
	}
}
