package iam

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Limits of AssumeRole.
const (
	minSessionDuration   = 900
	chainedMaxDuration   = 3600
	maxSessionPolicy     = 2048 // characters of the inline session Policy
	maxSessionPolicyARNs = 10
	sessionSweepEvery    = 64             // AssumeRole calls between sweeps of expired sessions
	sessionRetention     = 24 * time.Hour // how long an expired session still answers ExpiredToken
)

func (s *Service) getCallerIdentity(ctx context.Context, r *request) (any, error) {
	c := r.c
	return struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}{c.ARN, c.UserID, c.AccountID}, nil
}

// xmlCredentials is STS's Credentials shape.
type xmlCredentials struct {
	AccessKeyID     string  `xml:"AccessKeyId"`
	SecretAccessKey string  `xml:"SecretAccessKey"`
	SessionToken    string  `xml:"SessionToken"`
	Expiration      xmlTime `xml:"Expiration"`
}

// assumeRoleInput is a validated AssumeRole request.
type assumeRoleInput struct {
	roleARN, session, policy, externalID, sourceIdentity string
	duration                                             int
	durationGiven                                        bool
	policyARNs                                           []string
	tags                                                 []tag
	transitive                                           []string
}

func assumeRoleParams(r *request) (assumeRoleInput, error) {
	var in assumeRoleInput
	var v awsproto.Validation
	in.roleARN = r.get("RoleArn")
	checkARNParam(&v, in.roleARN, "roleArn")
	in.session = r.get("RoleSessionName")
	if in.session == "" {
		v.Required("roleSessionName")
	} else {
		v.Length(in.session, "roleSessionName", 2, 64)
		if !allRunes(in.session, isNameChar) {
			v.Pattern(in.session, "roleSessionName", reSession)
		}
	}
	in.duration = defaultMaxSession
	if r.has("DurationSeconds") {
		n, err := strconv.ParseInt(r.get("DurationSeconds"), 10, 64)
		if err != nil {
			return in, errValidation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", r.get("DurationSeconds"))
		}
		v.Range(n, "durationSeconds", minSessionDuration, maxMaxSession)
		in.duration, in.durationGiven = int(n), true
	}
	if r.has("Policy") {
		in.policy = r.get("Policy")
		v.Length(in.policy, "policy", 1, maxSessionPolicy)
		if in.policy != "" && !allRunes(in.policy, func(c rune) bool { return c == '\t' || c == '\n' || c == '\r' || c >= 0x20 && c <= 0xff }) {
			v.Pattern(in.policy, "policy", reDocument)
		}
	}
	arns, err := awsproto.QueryStructs(r.form, "PolicyArns")
	if err != nil {
		return in, err
	}
	if len(arns) > maxSessionPolicyARNs {
		v.Add(awsproto.Quote(strconv.Itoa(len(arns))+" ARNs"), "policyArns", "Member must have length less than or equal to "+strconv.Itoa(maxSessionPolicyARNs))
	}
	for i, m := range arns {
		a := m.Get("arn")
		f := "policyArns." + strconv.Itoa(i+1) + ".member.arn"
		if a == "" {
			v.Required(f)
			continue
		}
		v.Length(a, f, 20, 2048)
		in.policyARNs = append(in.policyARNs, a)
	}
	if in.tags, err = tagsParam(&v, r, "Tags", "tags"); err != nil {
		return in, err
	}
	if in.transitive, err = awsproto.QueryList(r.form, "TransitiveTagKeys"); err != nil {
		return in, err
	}
	if len(in.transitive) > maxTags {
		v.Add(awsproto.Quote(strconv.Itoa(len(in.transitive))+" keys"), "transitiveTagKeys", "Member must have length less than or equal to "+strconv.Itoa(maxTags))
	}
	if r.has("ExternalId") {
		in.externalID = r.get("ExternalId")
		v.Length(in.externalID, "externalId", 2, 1224)
		if !allRunes(in.externalID, func(c rune) bool { return isNameChar(c) || c == ':' || c == '/' }) {
			v.Pattern(in.externalID, "externalId", `[\w+=,.@:\/-]*`)
		}
	}
	if r.has("SourceIdentity") {
		in.sourceIdentity = r.get("SourceIdentity")
		v.Length(in.sourceIdentity, "sourceIdentity", 2, 64)
		if !allRunes(in.sourceIdentity, isNameChar) {
			v.Pattern(in.sourceIdentity, "sourceIdentity", reSession)
		}
	}
	return in, v.Err()
}

func (s *Service) assumeRole(ctx context.Context, r *request) (any, error) {
	in, err := assumeRoleParams(r)
	if err != nil {
		return nil, err
	}
	c := r.c
	if c.Type == TypeRoot {
		return nil, errAccessDenied("Roles may not be assumed by root accounts.")
	}
	denied := errAccessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.ARN, in.roleARN)
	a, ok := parseARN(in.roleARN)
	if !ok || a.Service != "iam" || !isAccountID(a.Account) || !strings.HasPrefix(a.Resource, "role/") {
		return nil, errValidation("%s is invalid", in.roleARN)
	}
	roleAcct := a.Account
	_, _, roleName := pathAndName(a.Resource)

	if in.policy != "" {
		if _, err := policy.Parse(in.policy, policy.Identity); err != nil {
			var se *policy.SyntaxError
			if errors.As(err, &se) {
				return nil, errMalformedPolicy("%s", se.Message)
			}
			return nil, err
		}
	}

	var (
		role       *roleDoc
		policyDocs []string
	)
	err = s.view(ctx, func(tx store.Tx) error {
		var err error
		role, _, ok, err = getDoc[roleDoc](tx, kindRole, roleAcct, roleName)
		if err != nil || !ok || role.ARN != in.roleARN {
			role = nil
			return err
		}
		for _, arn := range in.policyARNs {
			p, err := managedPolicy(tx, roleAcct, arn)
			if err != nil {
				return err
			}
			if p == nil {
				return errMalformedPolicy("Policy %s does not exist or is not attachable.", arn)
			}
			policyDocs = append(policyDocs, p.defaultDocument())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if role == nil {
		return nil, denied
	}

	// The trust policy decides, with the caller's own policies when it
	// delegates to the caller's account (and always across accounts).
	trust, err := s.compile(role.Trust, policy.Trust)
	if err != nil {
		return nil, err
	}
	set, err := s.setFor(ctx, c)
	if err != nil {
		return nil, err
	}
	set.Resource, set.ResourceAccountID, set.RequireResourceDelegation = trust, roleAcct, true
	pc := s.requestContext(c, c.Region)
	pc.Set("aws:ResourceAccount", roleAcct)
	pc.Set("sts:RoleSessionName", in.session)
	if in.externalID != "" {
		pc.Set("sts:ExternalId", in.externalID)
	}
	if in.sourceIdentity != "" {
		pc.Set("sts:SourceIdentity", in.sourceIdentity)
	}
	if len(in.tags) > 0 {
		requestTagKeys(in.tags)(pc)
	}
	if in.transitive != nil {
		pc.Set("sts:TransitiveTagKeys", in.transitive...)
	}
	req := policy.Request{Principal: c.PolicyPrincipal(), Action: "sts:AssumeRole", Resource: role.ARN, Context: pc}
	if res := set.Decide(&req); !res.Allowed {
		return nil, denied
	}
	if len(in.tags) > 0 || in.transitive != nil {
		req.Action = "sts:TagSession"
		if res := set.Decide(&req); !res.Allowed {
			return nil, errAccessDenied("User: %s is not authorized to perform: sts:TagSession on resource: %s", c.ARN, role.ARN)
		}
	}
	if in.sourceIdentity != "" {
		req.Action = "sts:SetSourceIdentity"
		if res := set.Decide(&req); !res.Allowed {
			return nil, errAccessDenied("User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s", c.ARN, role.ARN)
		}
	}

	chained := c.Type == TypeAssumedRole
	switch {
	case chained && in.duration > chainedMaxDuration:
		return nil, errValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case in.duration > role.MaxSession:
		return nil, errValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	for i, t := range in.tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, errValidation("1 validation error detected: Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: Member must not start with aws:", t.Key, i+1)
		}
	}
	packed := packedSize(in.policy, in.tags)
	if packed > 100 {
		return nil, withStatus(awsproto.Errorf("PackedPolicyTooLarge", "Packed size of consumed provided policies exceeds 100%% of allowed value."), http.StatusBadRequest)
	}

	id, secret, err := newKeyPair(s.rand, prefixSession)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	token, err := newSessionToken(s.rand)
	if err != nil {
		return nil, err
	}
	wrappedToken, err := s.root.Wrap(s.rand, []byte(token), tokenAAD(id))
	if err != nil {
		return nil, fmt.Errorf("iam: wrap session token: %w", err)
	}
	sessionARN := assumedRoleARN(roleAcct, role.Name, in.session)
	cred, err := s.dir.newCredential(roleAcct, sessionARN, id, secret)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sess := &sessionDoc{
		RoleName: role.Name, RoleID: role.ID, RoleARN: role.ARN, SessionName: in.session,
		Issued: now, Expires: now.Add(time.Duration(in.duration) * time.Second), Token: wrappedToken,
		Policy: in.policy, PolicyARNs: in.policyARNs, PolicyDocs: policyDocs, Tags: in.tags,
		Transitive: in.transitive, Chained: chained, SourceAcct: c.AccountID, SourceARN: c.ARN,
	}
	if chained {
		// The transitive session tags of the calling session carry over, and
		// stay transitive.
		if err := s.inheritTags(ctx, c.AccountID, c.AccessKeyID, sess); err != nil {
			return nil, err
		}
	}
	sweep := s.assumeCount.Add(1)%sessionSweepEvery == 0
	var swept []string
	// A new session changes no principal's policies: the policy cache stays.
	err = s.store.Update(ctx, func(tx store.Tx) error {
		swept = nil
		if sweep {
			cutoff := now.Add(-sessionRetention)
			ids, err := deleteSessions(tx, roleAcct, func(sd *sessionDoc) bool { return sd.Expires.Before(cutoff) })
			if err != nil {
				return err
			}
			swept = ids
		}
		if err := putDoc(tx, kindSession, roleAcct, id, 0, sess, now); err != nil {
			return err
		}
		return tx.InsertCredential(cred)
	})
	for _, k := range swept {
		s.dir.forgetKey(k)
	}
	if err != nil {
		return nil, err
	}
	s.dir.forgetKey(id)

	type assumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	res := struct {
		Credentials      xmlCredentials  `xml:"Credentials"`
		AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
		PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
		SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
	}{
		Credentials:     xmlCredentials{AccessKeyID: id, SecretAccessKey: string(secret), SessionToken: token, Expiration: xmlTime(sess.Expires)},
		AssumedRoleUser: assumedRoleUser{AssumedRoleID: role.ID + ":" + in.session, Arn: sessionARN},
		SourceIdentity:  in.sourceIdentity,
	}
	if in.policy != "" || len(in.tags) > 0 {
		res.PackedPolicySize = &packed
	}
	return res, nil
}

// inheritTags gives sess the transitive session tags of the calling
// session (account, accessKeyID): tags set on sess itself win, and the
// inherited keys stay transitive.
func (s *Service) inheritTags(ctx context.Context, account, accessKeyID string, sess *sessionDoc) error {
	return s.view(ctx, func(tx store.Tx) error {
		parent, _, ok, err := getDoc[sessionDoc](tx, kindSession, account, accessKeyID)
		if err != nil || !ok {
			return err
		}
		var inherited []tag
		for _, k := range parent.Transitive {
			if i := tagIndex(parent.Tags, k); i >= 0 && tagIndex(sess.Tags, k) < 0 {
				inherited = append(inherited, parent.Tags[i])
				sess.Transitive = append(sess.Transitive, parent.Tags[i].Key)
			}
		}
		sess.Tags = append(inherited, sess.Tags...)
		return nil
	})
}

// packedSize is the size of the session policy and tags as a percentage
// of what a session may carry (AWS's PackedPolicySize).
func packedSize(pol string, tags []tag) int {
	n := documentSize(pol)
	for _, t := range tags {
		n += len(t.Key) + len(t.Value)
	}
	if n == 0 {
		return 0
	}
	return (n*100 + 2*maxSessionPolicy - 1) / (2 * maxSessionPolicy)
}

// newSessionToken returns a random session token: 96 random bytes in
// base64 (128 characters).
func newSessionToken(rnd io.Reader) (string, error) {
	var b [96]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("iam: random: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}
