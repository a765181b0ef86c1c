package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/store"
)

// PolicyNames names the policies of a caller that CallerOf returns, in the
// order of its caller.Policies lists: Identity[i] names Policies.Identity[i],
// Session[i] names Policies.Session[i]. A managed policy is named by its
// ARN, an inline policy by its name, an inline session policy by
// "SessionPolicy".
type PolicyNames struct {
	Identity []string
	Boundary string // "" when there is no boundary
	Session  []string
}

// CallerOf returns the principal that arn names, as a caller of a request
// in region made now, with the policies that govern it: its identity
// policies, permissions boundary and session policies, compiled through the
// Service's cache of compiled documents, and the SCPs of its account from
// Config.SCPs (OrgID and OrgPaths are left empty: the caller of CallerOf
// fills them from Organizations). It is what a request of that principal
// would be decided with, for explaining decisions.
//
// arn may name an account root (arn:aws:iam::ACCT:root), a user, a role
// (then the caller is a session of the role named "SimulatedSession",
// without session policies) or an assumed-role session
// (arn:aws:sts::ACCT:assumed-role/ROLE/SESSION): the newest unexpired
// session of that name, with its session policies and tags, or if there is
// none, a new session of the role without session policies.
//
// The caller's SourceIP and Secure are left zero. It returns
// NotFoundException when arn does not name an existing principal, or an
// internal error when the store fails. Safe for concurrent use.
func (s *Service) CallerOf(ctx context.Context, arn, region string) (*caller.Caller, PolicyNames, error) {
	a, ok := parseARN(arn)
	if !ok || !isAccountID(a.Account) {
		return nil, PolicyNames{}, notPrincipal(arn)
	}
	acct := a.Account
	now := s.now()
	var (
		c  *caller.Caller
		pp principalPolicies
	)
	err := s.view(ctx, func(tx store.Tx) error {
		switch {
		case a.Service == "iam" && a.Resource == "root":
			if _, err := tx.GetAccount(acct); err != nil {
				if isNotFound(err) {
					return nil
				}
				return err
			}
			c = &caller.Caller{AccountID: acct, ARN: RootARN(acct), Type: TypeRoot, UserID: acct}
		case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
			_, _, name := pathAndName(a.Resource)
			u, _, ok, err := getDoc[userDoc](tx, kindUser, acct, name)
			if err != nil || !ok || u.ARN != arn {
				return err
			}
			c = userCaller(acct, u)
			pp, err = userPolicies(tx, acct, u)
			return err
		case a.Service == "iam" && strings.HasPrefix(a.Resource, "role/"):
			_, _, name := pathAndName(a.Resource)
			ro, _, ok, err := getDoc[roleDoc](tx, kindRole, acct, name)
			if err != nil || !ok || ro.ARN != arn {
				return err
			}
			c = roleCaller(acct, ro)
			pp, err = rolePolicies(tx, acct, ro)
			return err
		case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
			role, session, ok := strings.Cut(strings.TrimPrefix(a.Resource, "assumed-role/"), "/")
			if !ok || session == "" || strings.Contains(session, "/") {
				return nil
			}
			ro, _, found, err := getDoc[roleDoc](tx, kindRole, acct, role)
			if err != nil || !found {
				return err
			}
			c = roleCaller(acct, ro)
			c.ARN, c.SessionName, c.UserID = arn, session, ro.ID+":"+session
			if pp, err = rolePolicies(tx, acct, ro); err != nil {
				return err
			}
			id, sess, err := liveSession(tx, acct, ro, session, now)
			if err != nil || sess == nil {
				return err
			}
			c.AccessKeyID = id
			c.SessionIssued, c.SessionExpires = sess.Issued, sess.Expires
			c.Tags = tagMap(setTags(append([]tag(nil), ro.Tags...), sess.Tags))
			pp.session = sessionPolicies(sess)
		}
		return nil
	})
	if err != nil {
		return nil, PolicyNames{}, err
	}
	if c == nil {
		return nil, PolicyNames{}, notPrincipal(arn)
	}
	compiled, err := s.compileAll(pp)
	if err != nil {
		return nil, PolicyNames{}, err
	}
	c.Region, c.RequestTime = region, now
	c.Policies = &caller.Policies{Identity: compiled.Identity, Boundary: compiled.Boundary, Session: compiled.Session}
	if s.scps != nil {
		if c.Policies.SCPs, err = s.scps(ctx, acct); err != nil {
			return nil, PolicyNames{}, err
		}
	}
	var names PolicyNames
	for _, p := range pp.identity {
		names.Identity = append(names.Identity, p.name())
	}
	if pp.boundary != nil {
		names.Boundary = pp.boundary.name()
	}
	for _, p := range pp.session {
		names.Session = append(names.Session, p.name())
	}
	return c, names, nil
}

// name is how an explanation names a policy: a managed policy's ARN, else
// its id.
func (p sourced) name() string {
	if p.arn != "" {
		return p.arn
	}
	return p.id
}

// liveSession returns the newest session of role named session that has
// not expired at now, with its access key id; nil when there is none.
func liveSession(tx store.Tx, account string, role *roleDoc, session string, now time.Time) (string, *sessionDoc, error) {
	docs, err := tx.ListDocuments(kindSession, account, "", 0)
	if err != nil {
		return "", nil, err
	}
	var (
		bestID string
		best   *sessionDoc
	)
	for _, d := range docs {
		var sd sessionDoc
		if err := json.Unmarshal(d.Body, &sd); err != nil {
			return "", nil, fmt.Errorf("iam: decode %s %s/%s: %w", kindSession, account, d.Name, err)
		}
		if sd.RoleID != role.ID || sd.SessionName != session || !now.Before(sd.Expires) {
			continue
		}
		if best == nil || sd.Issued.After(best.Issued) {
			bestID, best = d.Name, &sd
		}
	}
	return bestID, best, nil
}

func notPrincipal(arn string) error {
	return awsproto.Errorf("NotFoundException", "PrincipalArn %s does not name an existing account root, user, role or assumed-role session.", arn)
}
