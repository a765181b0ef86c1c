package iam_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/custoskms/custos/internal/server"
)

const (
	testAccount = "111122223333"
	rootKeyID   = "AKIDCUSTOSIAMTEST001"
	rootSecret  = "custos/iam/test/secret/key/000000000000"
)

var ctx = context.Background()

// clock is a server clock a test moves forward.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// env is a running server.
type env struct {
	t     *testing.T
	dir   string
	clock *clock
	srv   *server.Server
}

func start(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: &clock{}}
	e.open()
	return e
}

func (e *env) open() {
	e.t.Helper()
	srv, err := server.New(ctx, server.Config{
		DataDir:         e.dir,
		RootAccessKeyID: rootKeyID,
		RootSecretKey:   rootSecret,
		Now:             e.clock.Now,
		SweepInterval:   time.Hour,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		e.t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	e.srv = srv
	e.t.Cleanup(func() { srv.Close(context.Background()) })
}

// restart stops the server and starts a new one on the same data folder.
func (e *env) restart() {
	e.t.Helper()
	if err := e.srv.Close(ctx); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

// creds are static credentials.
type creds struct{ id, secret, token string }

var root = creds{rootKeyID, rootSecret, ""}

func (e *env) config(c creds) aws.Config {
	return aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider(c.id, c.secret, c.token),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func (e *env) iam(c creds) *iam.Client {
	return iam.NewFromConfig(e.config(c), func(o *iam.Options) { o.BaseEndpoint = aws.String(e.srv.Endpoint()) })
}

func (e *env) sts(c creds) *sts.Client {
	return sts.NewFromConfig(e.config(c), func(o *sts.Options) { o.BaseEndpoint = aws.String(e.srv.Endpoint()) })
}

// result lets a test unwrap a call's (value, error) in one expression:
// try(c.CreateUser(ctx, in)).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

// wantCode fails the test unless err is an API error with code, and its
// message contains each of contains.
func wantCode(t *testing.T, err error, code string, contains ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, c := range contains {
		if !strings.Contains(ae.ErrorMessage(), c) {
			t.Errorf("error message %q does not contain %q", ae.ErrorMessage(), c)
		}
	}
}

// newUser creates a user with an access key and returns its credentials.
func (e *env) newUser(name string) creds {
	e.t.Helper()
	c := e.iam(root)
	try(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})).must(e.t)
	out := try(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})).must(e.t)
	return creds{id: *out.AccessKey.AccessKeyId, secret: *out.AccessKey.SecretAccessKey}
}

func (e *env) putUserPolicy(user, name, doc string) {
	e.t.Helper()
	try(e.iam(root).PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})).must(e.t)
}

const allowCreateUser = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateUser","iam:GetUser"],"Resource":"*"}]}`

func TestUserKeyAndPolicies(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")

	id := try(e.sts(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	if got, want := aws.ToString(id.Arn), "arn:aws:iam::"+testAccount+":user/alice"; got != want {
		t.Errorf("GetCallerIdentity.Arn = %q, want %q", got, want)
	}
	if got := aws.ToString(id.UserId); !strings.HasPrefix(got, "AIDA") || len(got) != 21 {
		t.Errorf("GetCallerIdentity.UserId = %q, want AIDA + 17 characters", got)
	}
	if got := aws.ToString(id.Account); got != testAccount {
		t.Errorf("GetCallerIdentity.Account = %q, want %q", got, testAccount)
	}

	_, err := e.iam(alice).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})
	wantCode(t, err, "AccessDenied",
		"User: arn:aws:iam::"+testAccount+":user/alice is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+testAccount+":user/bob because no identity-based policy allows the iam:CreateUser action")

	e.putUserPolicy("alice", "create", allowCreateUser)
	out := try(e.iam(alice).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/team/")})).must(t)
	if got, want := aws.ToString(out.User.Arn), "arn:aws:iam::"+testAccount+":user/team/bob"; got != want {
		t.Errorf("CreateUser.Arn = %q, want %q", got, want)
	}
	me := try(e.iam(alice).GetUser(ctx, &iam.GetUserInput{})).must(t)
	if got := aws.ToString(me.User.UserName); got != "alice" {
		t.Errorf("GetUser().UserName = %q, want alice", got)
	}

	// An explicit deny wins.
	e.putUserPolicy("alice", "deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"arn:aws:iam::*:user/carol"}]}`)
	_, err = e.iam(alice).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")})
	wantCode(t, err, "AccessDenied", "with an explicit deny in", "identity-based policy")
}

// status returns the HTTP status of an API error.
func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestAccessKeyInactiveAndDeletedStopAtOnce(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")
	admin := e.iam(root)
	try(e.sts(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)

	try(admin.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(alice.id), Status: iamtypes.StatusTypeInactive})).must(t)
	_, err := e.sts(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
	if got := status(err); got != 403 {
		t.Errorf("inactive key: status %d, want 403", got)
	}
	keys := try(admin.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})).must(t)
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].Status != iamtypes.StatusTypeInactive {
		t.Errorf("ListAccessKeys = %+v, want one inactive key", keys.AccessKeyMetadata)
	}

	try(admin.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(alice.id), Status: iamtypes.StatusTypeActive})).must(t)
	try(e.sts(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)

	// A user is deleted only once its keys, policies and groups are gone.
	e.putUserPolicy("alice", "p", allowCreateUser)
	try(admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")})).must(t)
	try(admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("g"), UserName: aws.String("alice")})).must(t)
	steps := []struct {
		wantMsg string
		fix     func()
	}{
		{"must delete access keys first", func() {
			try(admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(alice.id)})).must(t)
		}},
		{"must delete policies first", func() {
			try(admin.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p")})).must(t)
		}},
		{"must remove users from group first", func() {
			try(admin.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("g"), UserName: aws.String("alice")})).must(t)
		}},
	}
	for _, st := range steps {
		_, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
		wantCode(t, err, "DeleteConflict", st.wantMsg)
		if got := status(err); got != 409 {
			t.Errorf("DeleteUser conflict: status %d, want 409", got)
		}
		st.fix()
	}
	// The deleted key stopped working when it was deleted.
	_, err = e.sts(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	try(admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})).must(t)
	_, err = admin.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	wantCode(t, err, "NoSuchEntity", "The user with name alice cannot be found.")
	if got := status(err); got != 404 {
		t.Errorf("GetUser of a deleted user: status %d, want 404", got)
	}
}

func TestGroupPolicies(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")
	admin := e.iam(root)
	try(admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("readers"), Path: aws.String("/org/")})).must(t)
	try(admin.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("readers"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`)})).must(t)

	_, err := e.iam(alice).ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied", "iam:ListUsers on resource: arn:aws:iam::"+testAccount+":user/ because no identity-based policy allows")

	try(admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("readers"), UserName: aws.String("alice")})).must(t)
	users := try(e.iam(alice).ListUsers(ctx, &iam.ListUsersInput{})).must(t)
	if len(users.Users) != 1 || aws.ToString(users.Users[0].UserName) != "alice" {
		t.Errorf("ListUsers = %+v, want alice", users.Users)
	}
	groups := try(e.iam(alice).ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("alice")})).must(t)
	if len(groups.Groups) != 1 || aws.ToString(groups.Groups[0].Arn) != "arn:aws:iam::"+testAccount+":group/org/readers" ||
		!strings.HasPrefix(aws.ToString(groups.Groups[0].GroupId), "AGPA") {
		t.Errorf("ListGroupsForUser = %+v", groups.Groups)
	}

	// A managed policy attached to the group applies too.
	pol := try(admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("get"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetGroup","Resource":"*"}]}`)})).must(t)
	_, err = e.iam(alice).GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("readers")})
	wantCode(t, err, "AccessDenied")
	try(admin.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("readers"), PolicyArn: pol.Policy.Arn})).must(t)
	g := try(e.iam(alice).GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("readers")})).must(t)
	if len(g.Users) != 1 {
		t.Errorf("GetGroup.Users = %+v, want alice", g.Users)
	}

	try(admin.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("readers"), UserName: aws.String("alice")})).must(t)
	_, err = e.iam(alice).ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")
	_, err = admin.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("readers")})
	wantCode(t, err, "DeleteConflict", "must delete policies first")
}

func TestPermissionsBoundary(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")
	admin := e.iam(root)
	e.putUserPolicy("alice", "all", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	b := try(admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("read-only"), Path: aws.String("/boundaries/"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`)})).must(t)
	try(e.iam(alice).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})).must(t)

	try(admin.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("alice"), PermissionsBoundary: b.Policy.Arn})).must(t)
	_, err := e.iam(alice).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")})
	wantCode(t, err, "AccessDenied", "because no permissions boundary allows the iam:CreateUser action")
	try(e.iam(alice).ListUsers(ctx, &iam.ListUsersInput{})).must(t)
	u := try(admin.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})).must(t)
	if u.User.PermissionsBoundary == nil || aws.ToString(u.User.PermissionsBoundary.PermissionsBoundaryArn) != aws.ToString(b.Policy.Arn) {
		t.Errorf("GetUser.PermissionsBoundary = %+v, want %s", u.User.PermissionsBoundary, aws.ToString(b.Policy.Arn))
	}

	_, err = admin.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: b.Policy.Arn})
	wantCode(t, err, "DeleteConflict", "Cannot delete a policy attached to entities.")

	try(admin.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: aws.String("alice")})).must(t)
	try(e.iam(alice).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")})).must(t)
	try(admin.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: b.Policy.Arn})).must(t)
}

const trustAlice = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

func (e *env) assume(c creds, in *sts.AssumeRoleInput) (creds, *sts.AssumeRoleOutput) {
	e.t.Helper()
	out := try(e.sts(c).AssumeRole(ctx, in)).must(e.t)
	return creds{*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken}, out
}

func TestAssumeRole(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")
	bob := e.newUser("bob")
	admin := e.iam(root)
	role := try(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ops"), Path: aws.String("/svc/"),
		AssumeRolePolicyDocument: aws.String(trustAlice), MaxSessionDuration: aws.Int32(7200)})).must(t)
	roleARN := "arn:aws:iam::" + testAccount + ":role/svc/ops"
	if got := aws.ToString(role.Role.Arn); got != roleARN {
		t.Errorf("CreateRole.Arn = %q, want %q", got, roleARN)
	}
	try(admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("ops"), PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:ListRoles"],"Resource":"*"}]}`)})).must(t)

	sess, out := e.assume(alice, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")})
	if !strings.HasPrefix(sess.id, "ASIA") || len(sess.id) != 20 {
		t.Errorf("AccessKeyId = %q, want ASIA + 16 characters", sess.id)
	}
	wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/ops/s1"
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != wantARN {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, wantARN)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.AssumedRoleId), aws.ToString(role.Role.RoleId)+":s1"; got != want {
		t.Errorf("AssumedRoleId = %q, want %q", got, want)
	}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 55*time.Minute || d > 61*time.Minute {
		t.Errorf("Expiration in %v, want one hour", d)
	}
	id := try(e.sts(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	if aws.ToString(id.Arn) != wantARN || aws.ToString(id.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("GetCallerIdentity = %s %s, want %s", aws.ToString(id.Arn), aws.ToString(id.UserId), wantARN)
	}
	try(e.iam(sess).ListRoles(ctx, &iam.ListRolesInput{})).must(t)
	_, err := e.iam(sess).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	wantCode(t, err, "AccessDenied", "User: "+wantARN+" is not authorized to perform: iam:CreateUser")

	// A session policy narrows the session.
	narrow, _ := e.assume(alice, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("narrow"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`)})
	try(e.iam(narrow).ListUsers(ctx, &iam.ListUsersInput{})).must(t)
	_, err = e.iam(narrow).ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "AccessDenied", "because no session policy allows the iam:ListRoles action")

	// Not trusted.
	_, err = e.sts(bob).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2")})
	wantCode(t, err, "AccessDenied", "User: arn:aws:iam::"+testAccount+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+roleARN)
	_, err = e.sts(root).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2")})
	wantCode(t, err, "AccessDenied", "Roles may not be assumed by root accounts.")
	_, err = e.sts(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/nope"), RoleSessionName: aws.String("s2")})
	wantCode(t, err, "AccessDenied")

	// Durations.
	_, err = e.sts(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2"), DurationSeconds: aws.Int32(7201)})
	wantCode(t, err, "ValidationError", "exceeds the MaxSessionDuration set for this role")
	_, out = e.assume(alice, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2"), DurationSeconds: aws.Int32(7200)})
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 115*time.Minute {
		t.Errorf("Expiration in %v, want two hours", d)
	}

	// A trust policy naming the account delegates to the caller's own
	// policies.
	try(admin.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("ops"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/b*"}}}]}`)})).must(t)
	_, err = e.sts(bob).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2")})
	wantCode(t, err, "AccessDenied")
	e.putUserPolicy("bob", "assume", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/svc/*"}]}`)
	e.assume(bob, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2")})
	e.putUserPolicy("alice", "assume", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	_, err = e.sts(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2")})
	wantCode(t, err, "AccessDenied") // the condition on aws:PrincipalArn

	// Deleting the role ends its sessions at once.
	try(admin.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("ops"), PolicyName: aws.String("list")})).must(t)
	try(admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("ops")})).must(t)
	_, err = e.sts(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

func TestSessionTags(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")
	admin := e.iam(root)
	roleARN := "arn:aws:iam::" + testAccount + ":role/tagged"
	try(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("tagged"), AssumeRolePolicyDocument: aws.String(trustAlice),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("red")}}})).must(t)
	try(admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("tagged"), PolicyName: aws.String("blue"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}`)})).must(t)

	red, _ := e.assume(alice, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("red")})
	_, err := e.iam(red).ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")

	blue, out := e.assume(alice, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("blue"),
		Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}})
	if out.PackedPolicySize == nil {
		t.Errorf("AssumeRole with tags: no PackedPolicySize")
	}
	try(e.iam(blue).ListUsers(ctx, &iam.ListUsersInput{})).must(t)

	// Role tags apply to sessions at once.
	try(admin.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("tagged"), Tags: []iamtypes.Tag{{Key: aws.String("Team"), Value: aws.String("blue")}}})).must(t)
	try(e.iam(red).ListUsers(ctx, &iam.ListUsersInput{})).must(t)
	tags := try(admin.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("tagged")})).must(t)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "Team" || aws.ToString(tags.Tags[0].Value) != "blue" {
		t.Errorf("ListRoleTags = %+v, want one tag Team=blue (keys are case-insensitive)", tags.Tags)
	}
}

func TestUserTagsAreLive(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")
	admin := e.iam(root)
	e.putUserPolicy("alice", "abac", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/dept":"${aws:username}"}}}]}`)
	_, err := e.iam(alice).ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "AccessDenied")
	try(admin.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{{Key: aws.String("dept"), Value: aws.String("alice")}}})).must(t)
	try(e.iam(alice).ListRoles(ctx, &iam.ListRolesInput{})).must(t)
	try(admin.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"DEPT"}})).must(t)
	_, err = e.iam(alice).ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "AccessDenied")
	tags := try(admin.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")})).must(t)
	if len(tags.Tags) != 0 {
		t.Errorf("ListUserTags = %+v, want none", tags.Tags)
	}
}

func TestSessionExpiresAndSurvivesRestart(t *testing.T) {
	e := start(t)
	alice := e.newUser("alice")
	roleARN := "arn:aws:iam::" + testAccount + ":role/r"
	try(e.iam(root).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustAlice)})).must(t)
	short, _ := e.assume(alice, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900)})
	long, _ := e.assume(alice, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("long")})

	e.restart()
	for _, c := range []creds{short, long} {
		try(e.sts(c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	}
	bad := long
	bad.token = long.token[:len(long.token)-4] + "AAAA"
	_, err := e.sts(bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	noToken := long
	noToken.token = ""
	_, err = e.sts(noToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")

	e.clock.Advance(901 * time.Second)
	_, err = e.sts(short).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredTokenException", "The security token included in the request is expired")
	try(e.sts(long).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	e.clock.Advance(time.Hour)
	_, err = e.sts(long).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredTokenException")
}

func TestManagedPolicies(t *testing.T) {
	e := start(t)
	e.newUser("alice")
	admin := e.iam(root)
	doc1 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`
	doc2 := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}`
	p := try(admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), Path: aws.String("/a/"), PolicyDocument: aws.String(doc1), Description: aws.String("d")})).must(t)
	arn := aws.ToString(p.Policy.Arn)
	if arn != "arn:aws:iam::"+testAccount+":policy/a/p" || aws.ToString(p.Policy.DefaultVersionId) != "v1" || !strings.HasPrefix(aws.ToString(p.Policy.PolicyId), "ANPA") {
		t.Errorf("CreatePolicy = %+v", p.Policy)
	}
	_, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(doc1)})
	wantCode(t, err, "EntityAlreadyExists", "A policy called p already exists. Duplicate names are not allowed.")

	v2 := try(admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, PolicyDocument: aws.String(doc2), SetAsDefault: true})).must(t)
	if aws.ToString(v2.PolicyVersion.VersionId) != "v2" || !v2.PolicyVersion.IsDefaultVersion {
		t.Errorf("CreatePolicyVersion = %+v, want default v2", v2.PolicyVersion)
	}
	got := try(admin.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: p.Policy.Arn, VersionId: aws.String("v2")})).must(t)
	dec, err := url.QueryUnescape(aws.ToString(got.PolicyVersion.Document))
	if err != nil || dec != doc2 {
		t.Errorf("GetPolicyVersion.Document = %q (decoded %q), want the URL-encoded document", aws.ToString(got.PolicyVersion.Document), dec)
	}
	for i := 3; i <= 5; i++ {
		try(admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, PolicyDocument: aws.String(doc1)})).must(t)
	}
	_, err = admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, PolicyDocument: aws.String(doc1)})
	wantCode(t, err, "LimitExceeded", "A managed policy can have up to 5 versions")
	if got := status(err); got != 409 {
		t.Errorf("LimitExceeded status %d, want 409", got)
	}
	versions := try(admin.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: p.Policy.Arn})).must(t)
	if len(versions.Versions) != 5 || aws.ToString(versions.Versions[0].VersionId) != "v5" {
		t.Errorf("ListPolicyVersions = %d versions, first %s; want 5, newest first", len(versions.Versions), aws.ToString(versions.Versions[0].VersionId))
	}

	try(admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: p.Policy.Arn})).must(t)
	att := try(admin.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("alice")})).must(t)
	if len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "p" {
		t.Errorf("ListAttachedUserPolicies = %+v", att.AttachedPolicies)
	}
	gp := try(admin.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Policy.Arn})).must(t)
	if aws.ToInt32(gp.Policy.AttachmentCount) != 1 || aws.ToString(gp.Policy.Description) != "d" || aws.ToString(gp.Policy.DefaultVersionId) != "v2" {
		t.Errorf("GetPolicy = %+v", gp.Policy)
	}
	for _, tc := range []struct {
		in   iam.ListPoliciesInput
		want int
	}{
		{iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal}, 1},
		{iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeAws}, 0},
		{iam.ListPoliciesInput{OnlyAttached: true}, 1},
		{iam.ListPoliciesInput{PathPrefix: aws.String("/b/")}, 0},
	} {
		out := try(admin.ListPolicies(ctx, &tc.in)).must(t)
		if len(out.Policies) != tc.want {
			t.Errorf("ListPolicies(%+v) = %d policies, want %d", tc.in, len(out.Policies), tc.want)
		}
	}

	_, err = admin.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Policy.Arn})
	wantCode(t, err, "DeleteConflict", "Cannot delete a policy attached to entities.")
	try(admin.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: p.Policy.Arn})).must(t)
	_, err = admin.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: p.Policy.Arn})
	wantCode(t, err, "NoSuchEntity", "Policy "+arn+" was not found.")
	_, err = admin.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Policy.Arn})
	wantCode(t, err, "DeleteConflict", "This policy has more than one version.")
	_, err = admin.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Policy.Arn, VersionId: aws.String("v2")})
	wantCode(t, err, "DeleteConflict", "Cannot delete the default version of a policy.")
	for _, v := range []string{"v1", "v3", "v4", "v5"} {
		try(admin.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Policy.Arn, VersionId: aws.String(v)})).must(t)
	}
	try(admin.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Policy.Arn})).must(t)
	_, err = admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: p.Policy.Arn})
	wantCode(t, err, "NoSuchEntity", "Policy "+arn+" does not exist or is not attachable.")
}

func TestInlinePolicies(t *testing.T) {
	e := start(t)
	e.newUser("alice")
	admin := e.iam(root)
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"iam:Get*\", \"Resource\": \"*\"}]\n}"
	e.putUserPolicy("alice", "b", doc)
	e.putUserPolicy("alice", "a", doc)
	got := try(admin.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("b")})).must(t)
	raw := aws.ToString(got.PolicyDocument)
	if strings.ContainsAny(raw, "{}\" :") {
		t.Errorf("GetUserPolicy.PolicyDocument = %q, want it URL-encoded", raw)
	}
	if dec, _ := url.QueryUnescape(raw); dec != doc {
		t.Errorf("GetUserPolicy.PolicyDocument decodes to %q, want %q", dec, doc)
	}
	names := try(admin.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("alice")})).must(t)
	if strings.Join(names.PolicyNames, ",") != "a,b" {
		t.Errorf("ListUserPolicies = %v, want [a b]", names.PolicyNames)
	}
	page := try(admin.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("alice"), MaxItems: aws.Int32(1)})).must(t)
	if !page.IsTruncated || len(page.PolicyNames) != 1 || page.Marker == nil {
		t.Fatalf("ListUserPolicies(MaxItems 1) = %+v, want one name and a marker", page)
	}
	page = try(admin.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("alice"), Marker: page.Marker})).must(t)
	if page.IsTruncated || strings.Join(page.PolicyNames, ",") != "b" {
		t.Errorf("ListUserPolicies(Marker) = %+v, want [b]", page.PolicyNames)
	}
	_, err := admin.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("zz")})
	wantCode(t, err, "NoSuchEntity", "The user policy with name zz cannot be found.")

	try(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustAlice)})).must(t)
	try(admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)})).must(t)
	rp := try(admin.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p")})).must(t)
	if aws.ToString(rp.RoleName) != "r" {
		t.Errorf("GetRolePolicy.RoleName = %q", aws.ToString(rp.RoleName))
	}
	role := try(admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})).must(t)
	if dec, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument)); dec != trustAlice {
		t.Errorf("GetRole.AssumeRolePolicyDocument decodes to %q", dec)
	}
	if aws.ToInt32(role.Role.MaxSessionDuration) != 3600 {
		t.Errorf("GetRole.MaxSessionDuration = %d, want 3600", aws.ToInt32(role.Role.MaxSessionDuration))
	}
	_, err = admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	wantCode(t, err, "DeleteConflict", "must delete policies first")
}

// A key policy that lets the account's IAM policies decide, and names bob.
const keyPolicy = `{"Version":"2012-10-17","Id":"key-policy","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"Bob decrypts for app","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEquals":{"kms:EncryptionContext:app":"payroll"}}}]}`

// A key policy that does not delegate to IAM.
const closedKeyPolicy = `{"Version":"2012-10-17","Statement":[
 {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:*","Resource":"*"}]}`

func TestSimulateCustomPolicy(t *testing.T) {
	e := start(t)
	e.newUser("alice")
	e.newUser("bob")
	e.newUser("admin")
	admin := e.iam(root)
	keyARN := "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	allowDecrypt := `{"Version":"2012-10-17","Statement":[{"Sid":"Decrypt","Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*"}]}`
	denyDecrypt := `{"Version":"2012-10-17","Statement":[{"Sid":"NoDecrypt","Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`
	nothing := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	user := func(n string) *string { return aws.String("arn:aws:iam::111122223333:user/" + n) }
	ctxApp := func(v string) []iamtypes.ContextEntry {
		return []iamtypes.ContextEntry{{ContextKeyName: aws.String("kms:EncryptionContext:app"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{v}}}
	}
	tests := []struct {
		name     string
		policies []string
		resource string
		caller   *string
		entries  []iamtypes.ContextEntry
		action   string
		want     iamtypes.PolicyEvaluationDecisionType
		wantID   string
	}{
		{"IAM allow with a delegating key policy", []string{allowDecrypt}, keyPolicy, user("alice"), nil, "kms:Decrypt", iamtypes.PolicyEvaluationDecisionTypeAllowed, "PolicyInputList.1"},
		{"IAM allow without delegation", []string{allowDecrypt}, closedKeyPolicy, user("alice"), nil, "kms:Decrypt", iamtypes.PolicyEvaluationDecisionTypeImplicitDeny, ""},
		{"key policy names the caller", []string{nothing}, closedKeyPolicy, user("admin"), nil, "kms:ScheduleKeyDeletion", iamtypes.PolicyEvaluationDecisionTypeAllowed, "ResourcePolicy"},
		{"IAM deny wins", []string{denyDecrypt}, closedKeyPolicy, user("admin"), nil, "kms:Decrypt", iamtypes.PolicyEvaluationDecisionTypeExplicitDeny, "PolicyInputList.1"},
		{"condition met", []string{nothing}, keyPolicy, user("bob"), ctxApp("payroll"), "kms:Decrypt", iamtypes.PolicyEvaluationDecisionTypeAllowed, "ResourcePolicy"},
		{"condition not met", []string{nothing}, keyPolicy, user("bob"), ctxApp("hr"), "kms:Decrypt", iamtypes.PolicyEvaluationDecisionTypeImplicitDeny, ""},
		{"identity only", []string{allowDecrypt}, "", nil, nil, "kms:Encrypt", iamtypes.PolicyEvaluationDecisionTypeAllowed, "PolicyInputList.1"},
		{"IAM-only action ignores the key policy", []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}`}, closedKeyPolicy, user("alice"), nil, "kms:CreateKey", iamtypes.PolicyEvaluationDecisionTypeAllowed, "PolicyInputList.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &iam.SimulateCustomPolicyInput{PolicyInputList: tc.policies, ActionNames: []string{tc.action}, ResourceArns: []string{keyARN},
				CallerArn: tc.caller, ContextEntries: tc.entries}
			if tc.resource != "" {
				in.ResourcePolicy = aws.String(tc.resource)
			}
			out := try(admin.SimulateCustomPolicy(ctx, in)).must(t)
			if len(out.EvaluationResults) != 1 {
				t.Fatalf("SimulateCustomPolicy: %d results, want 1", len(out.EvaluationResults))
			}
			r := out.EvaluationResults[0]
			if r.EvalDecision != tc.want || aws.ToString(r.EvalActionName) != tc.action || aws.ToString(r.EvalResourceName) != keyARN {
				t.Errorf("SimulateCustomPolicy = %s %s %s, want %s", aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName), r.EvalDecision, tc.want)
			}
			var ids []string
			for _, m := range r.MatchedStatements {
				ids = append(ids, aws.ToString(m.SourcePolicyId))
			}
			if tc.wantID != "" && !slices.Contains(ids, tc.wantID) {
				t.Errorf("MatchedStatements = %v, want %s among them", ids, tc.wantID)
			}
			if len(r.ResourceSpecificResults) != 1 || r.ResourceSpecificResults[0].EvalResourceDecision != tc.want {
				t.Errorf("ResourceSpecificResults = %+v", r.ResourceSpecificResults)
			}
		})
	}

	// A condition key nobody supplied is reported missing.
	out := try(admin.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{nothing}, ActionNames: []string{"kms:Decrypt"},
		ResourcePolicy: aws.String(keyPolicy), CallerArn: user("bob")})).must(t)
	if r := out.EvaluationResults[0]; r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny || !slices.Contains(r.MissingContextValues, "kms:EncryptionContext:app") {
		t.Errorf("SimulateCustomPolicy without context = %s, missing %v; want implicitDeny, kms:EncryptionContext:app missing", r.EvalDecision, r.MissingContextValues)
	}
	_, err := admin.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{nothing}, ActionNames: []string{"kms:Decrypt"}, ResourcePolicy: aws.String(keyPolicy)})
	wantCode(t, err, "InvalidInput", "CallerArn")
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	e := start(t)
	e.newUser("alice")
	admin := e.iam(root)
	e.putUserPolicy("alice", "kms-use", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}`)
	b := try(admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("encrypt-only"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`)})).must(t)
	try(admin.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("alice"), PermissionsBoundary: b.Policy.Arn})).must(t)

	out := try(admin.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::111122223333:user/alice"),
		ActionNames:     []string{"kms:Encrypt", "kms:Decrypt"},
		ResourcePolicy:  aws.String(keyPolicy),
	})).must(t)
	want := map[string]iamtypes.PolicyEvaluationDecisionType{"kms:Encrypt": "allowed", "kms:Decrypt": "implicitDeny"}
	for _, r := range out.EvaluationResults {
		if r.EvalDecision != want[aws.ToString(r.EvalActionName)] {
			t.Errorf("SimulatePrincipalPolicy(%s) = %s, want %s", aws.ToString(r.EvalActionName), r.EvalDecision, want[aws.ToString(r.EvalActionName)])
		}
		if r.PermissionsBoundaryDecisionDetail == nil {
			t.Errorf("SimulatePrincipalPolicy(%s): no PermissionsBoundaryDecisionDetail", aws.ToString(r.EvalActionName))
		}
		if aws.ToString(r.EvalActionName) == "kms:Encrypt" {
			var ids []string
			for _, m := range r.MatchedStatements {
				ids = append(ids, aws.ToString(m.SourcePolicyId)+"/"+string(m.SourcePolicyType))
			}
			if !slices.Contains(ids, "kms-use/user") || !slices.Contains(ids, "encrypt-only/user-managed") {
				t.Errorf("MatchedStatements = %v, want kms-use/user and encrypt-only/user-managed", ids)
			}
		}
	}
	if len(out.EvaluationResults) != 2 {
		t.Errorf("SimulatePrincipalPolicy: %d results, want 2", len(out.EvaluationResults))
	}

	// Only a principal allowed iam:SimulatePrincipalPolicy may simulate.
	alice := creds{}
	keys := try(admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})).must(t)
	alice.id, alice.secret = *keys.AccessKey.AccessKeyId, *keys.AccessKey.SecretAccessKey
	_, err := e.iam(alice).SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::111122223333:user/alice"), ActionNames: []string{"kms:Encrypt"}})
	wantCode(t, err, "AccessDenied", "iam:SimulatePrincipalPolicy")
}

func TestValidationAndErrors(t *testing.T) {
	e := start(t)
	admin := e.iam(root)
	alice := e.newUser("alice")
	try(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustAlice)})).must(t)
	roleARN := aws.String("arn:aws:iam::111122223333:role/r")
	tests := []struct {
		name       string
		call       func() error
		code       string
		httpStatus int
		msg        string
	}{
		{"user name pattern", func() error {
			_, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bad name")})
			return err
		}, "ValidationError", 400, `Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"user name length", func() error {
			_, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(strings.Repeat("a", 65))})
			return err
		}, "ValidationError", 400, "Member must have length less than or equal to 64"},
		{"path pattern", func() error {
			_, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u"), Path: aws.String("nopath")})
			return err
		}, "ValidationError", 400, "at 'path' failed to satisfy constraint"},
		{"duplicate user", func() error {
			_, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
			return err
		}, "EntityAlreadyExists", 409, "User with name alice already exists."},
		{"duplicate tag keys", func() error {
			_, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("t"), Tags: []iamtypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("A"), Value: aws.String("2")}}})
			return err
		}, "InvalidInput", 400, "Duplicate tag keys found."},
		{"unknown user", func() error {
			_, err := admin.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
			return err
		}, "NoSuchEntity", 404, "The user with name nobody cannot be found."},
		{"unknown role", func() error {
			_, err := admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nobody")})
			return err
		}, "NoSuchEntity", 404, "The role with name nobody cannot be found."},
		{"third access key", func() error {
			admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
			_, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
			return err
		}, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"},
		{"unknown access key", func() error {
			_, err := admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA")})
			return err
		}, "NoSuchEntity", 404, "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found."},
		{"max session duration", func() error {
			_, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r2"), AssumeRolePolicyDocument: aws.String(trustAlice), MaxSessionDuration: aws.Int32(100)})
			return err
		}, "ValidationError", 400, "Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"},
		{"trust policy with a Resource", func() error {
			_, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r2"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Resource":"*"}]}`)})
			return err
		}, "MalformedPolicyDocument", 400, ""},
		{"trust policy naming an unknown user", func() error {
			_, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r2"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/ghost"},"Action":"sts:AssumeRole"}]}`)})
			return err
		}, "MalformedPolicyDocument", 400, `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/ghost"`},
		{"identity policy with a Principal", func() error {
			_, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:GetUser","Resource":"*"}]}`)})
			return err
		}, "MalformedPolicyDocument", 400, ""},
		{"policy not JSON", func() error {
			_, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":`)})
			return err
		}, "MalformedPolicyDocument", 400, ""},
		{"inline policies too large", func() error {
			big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::111122223333:user/` + strings.Repeat("x", 2000) + `"}]}`
			_, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("big"), PolicyDocument: aws.String(big)})
			return err
		}, "LimitExceeded", 409, "Maximum policy size of 2048 bytes exceeded for user alice"},
		{"bad version id", func() error {
			_, err := admin.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::111122223333:policy/p"), VersionId: aws.String("x1")})
			return err
		}, "ValidationError", 400, "at 'versionId'"},
		{"unknown policy", func() error {
			_, err := admin.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::111122223333:policy/nope")})
			return err
		}, "NoSuchEntity", 404, "Policy arn:aws:iam::111122223333:policy/nope was not found."},
		{"session name too short", func() error {
			_, err := e.sts(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("a")})
			return err
		}, "ValidationError", 400, "Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"duration too short", func() error {
			_, err := e.sts(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("ab"), DurationSeconds: aws.Int32(899)})
			return err
		}, "ValidationError", 400, "at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"malformed session policy", func() error {
			_, err := e.sts(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("ab"), Policy: aws.String(`{"Statement":"nope"}`)})
			return err
		}, "MalformedPolicyDocument", 400, ""},
		{"session credentials cannot omit the user name", func() error {
			s, _ := e.assume(alice, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("ab")})
			_, err := e.iam(s).GetUser(ctx, &iam.GetUserInput{})
			return err
		}, "ValidationError", 400, "Must specify userName when calling with non-User credentials"},
		{"unknown action", func() error {
			_, err := admin.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
			return err
		}, "InvalidAction", 400, "GetAccountSummary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantCode(t, err, tc.code, tc.msg)
			if got := status(err); got != tc.httpStatus {
				t.Errorf("status = %d, want %d", got, tc.httpStatus)
			}
		})
	}
}

func TestRootGetUserAndOwnKeys(t *testing.T) {
	e := start(t)
	u := try(e.iam(root).GetUser(ctx, &iam.GetUserInput{})).must(t)
	if aws.ToString(u.User.Arn) != "arn:aws:iam::111122223333:root" || aws.ToString(u.User.UserId) != testAccount {
		t.Errorf("GetUser() as root = %+v", u.User)
	}
	alice := e.newUser("alice")
	e.putUserPolicy("alice", "self", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*AccessKey*"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}`)
	k := try(e.iam(alice).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})).must(t)
	if aws.ToString(k.AccessKey.UserName) != "alice" || len(aws.ToString(k.AccessKey.SecretAccessKey)) != 40 {
		t.Errorf("CreateAccessKey() as alice = %+v", k.AccessKey)
	}
	second := creds{id: *k.AccessKey.AccessKeyId, secret: *k.AccessKey.SecretAccessKey}
	try(e.sts(second).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	keys := try(e.iam(second).ListAccessKeys(ctx, &iam.ListAccessKeysInput{})).must(t)
	if len(keys.AccessKeyMetadata) != 2 {
		t.Errorf("ListAccessKeys() = %d keys, want 2", len(keys.AccessKeyMetadata))
	}
	for _, m := range keys.AccessKeyMetadata {
		if m.AccessKeyId == nil || m.CreateDate == nil {
			t.Errorf("AccessKeyMetadata = %+v", m)
		}
	}
	_, err := e.iam(alice).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("someone")})
	wantCode(t, err, "AccessDenied")
}
