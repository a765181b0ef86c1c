package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Session durations of roles, in seconds.
const (
	defaultMaxSession = 3600
	minMaxSession     = 3600
	maxMaxSession     = 43200
)

// xmlRole is IAM's Role shape.
type xmlRole struct {
	Path                     string        `xml:"Path"`
	RoleName                 string        `xml:"RoleName"`
	RoleID                   string        `xml:"RoleId"`
	Arn                      string        `xml:"Arn"`
	CreateDate               xmlTime       `xml:"CreateDate"`
	AssumeRolePolicyDocument string        `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string        `xml:"Description,omitempty"`
	MaxSessionDuration       int           `xml:"MaxSessionDuration,omitempty"`
	PermissionsBoundary      *xmlBoundary  `xml:"PermissionsBoundary,omitempty"`
	Tags                     *list[xmlTag] `xml:"Tags,omitempty"`
	RoleLastUsed             *xmlLastUsed  `xml:"RoleLastUsed,omitempty"`
}

type xmlLastUsed struct{}

// roleXML renders a role; full adds what only CreateRole and GetRole
// return (boundary, tags).
func roleXML(r *roleDoc, full bool) xmlRole {
	x := xmlRole{
		Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN, CreateDate: xmlTime(r.Created),
		AssumeRolePolicyDocument: urlEncode(r.Trust), Description: r.Description, MaxSessionDuration: r.MaxSession,
	}
	if full {
		x.PermissionsBoundary = boundaryXML(r.Boundary)
		x.Tags = optList(xmlTags(r.Tags))
		x.RoleLastUsed = &xmlLastUsed{}
	}
	return x
}

func noSuchRole(name string) error {
	return errNoSuchEntity("The role with name %s cannot be found.", name)
}

// roleARN returns the ARN of role name: its own if it exists, else the one
// it would have with path "/".
func (s *Service) roleARN(ctx context.Context, account, name string) (string, error) {
	arn := entityARN(account, "role", "/", name)
	err := s.view(ctx, func(tx store.Tx) error {
		r, _, ok, err := getDoc[roleDoc](tx, kindRole, account, name)
		if ok {
			arn = r.ARN
		}
		return err
	})
	return arn, err
}

// checkTrustPolicy parses a trust policy given in a request and checks
// that the users, roles and sessions it names exist, as IAM does.
func (s *Service) checkTrustPolicy(ctx context.Context, doc string) error {
	if documentSize(doc) > maxTrustPolicySize {
		return errLimitExceeded("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	p, err := parseInput(doc, policy.Trust)
	if err != nil {
		return err
	}
	for _, st := range p.Statements() {
		for _, ps := range []*policy.Principals{st.Principal, st.NotPrincipal} {
			if ps == nil {
				continue
			}
			for _, a := range ps.AWS {
				if a == "*" || isAccountID(a) || strings.HasSuffix(a, ":root") {
					continue
				}
				ok, err := s.PrincipalExists(ctx, a)
				if err != nil {
					return err
				}
				if !ok {
					return errMalformedPolicy("Invalid principal in policy: \"AWS\":%q", a)
				}
			}
		}
	}
	return nil
}

func (s *Service) createRole(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("RoleName")
	checkName(&v, name, "roleName", 64)
	path := pathParam(&v, r)
	trust := r.get("AssumeRolePolicyDocument")
	checkDocument(&v, trust, "assumeRolePolicyDocument")
	desc := r.get("Description")
	v.Length(desc, "description", 0, 1000)
	maxSession := defaultMaxSession
	if r.has("MaxSessionDuration") {
		n, err := strconv.ParseInt(r.get("MaxSessionDuration"), 10, 64)
		if err != nil {
			return nil, errValidation("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must be a number", r.get("MaxSessionDuration"))
		}
		v.Range(n, "maxSessionDuration", minMaxSession, maxMaxSession)
		maxSession = int(n)
	}
	boundary := boundaryParam(&v, r, "PermissionsBoundary", "permissionsBoundary")
	tags, err := tagsParam(&v, r, "Tags", "tags")
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn := entityARN(acct, "role", path, name)
	err = s.authorize(ctx, r, "iam:CreateRole", arn, func(pc *policy.Context) {
		if len(tags) > 0 {
			requestTagKeys(tags)(pc)
		}
		if boundary != "" {
			pc.Set("iam:PermissionsBoundary", boundary)
		}
	})
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := s.authorize(ctx, r, "iam:TagRole", arn, requestTagKeys(tags)); err != nil {
			return nil, err
		}
	}
	if err := s.checkTrustPolicy(ctx, trust); err != nil {
		return nil, err
	}
	id, err := newID(s.rand, prefixRole)
	if err != nil {
		return nil, err
	}
	role := &roleDoc{Name: name, ID: id, Path: path, ARN: arn, Created: s.now().UTC(), Trust: trust,
		Description: desc, MaxSession: maxSession, Tags: tags, Boundary: boundary}
	err = s.update(ctx, func(tx store.Tx) error {
		if _, _, ok, err := getDoc[roleDoc](tx, kindRole, acct, name); err != nil || ok {
			if ok {
				return errEntityExists("Role with name %s already exists.", name)
			}
			return err
		}
		if boundary != "" {
			p, ver, err := checkBoundaryPolicy(tx, acct, boundary)
			if err != nil {
				return err
			}
			p.BoundaryUses++
			if err := putDoc(tx, kindPolicy, acct, p.Name, ver, p, s.now()); err != nil {
				return err
			}
		}
		return putDoc(tx, kindRole, acct, name, 0, role, s.now())
	})
	if err != nil {
		return nil, err
	}
	full := roleXML(role, true)
	full.RoleLastUsed = nil
	return struct {
		Role xmlRole `xml:"Role"`
	}{full}, nil
}

func (s *Service) getRole(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("RoleName")
	checkName(&v, name, "roleName", 64)
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn, err := s.roleARN(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:GetRole", arn, nil); err != nil {
		return nil, err
	}
	var role *roleDoc
	err = s.view(ctx, func(tx store.Tx) error {
		var ok bool
		var err error
		role, _, ok, err = getDoc[roleDoc](tx, kindRole, acct, name)
		if err == nil && !ok {
			err = noSuchRole(name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Role xmlRole `xml:"Role"`
	}{roleXML(role, true)}, nil
}

func (s *Service) listRoles(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	prefix := pathPrefixParam(&v, r)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	if err := s.authorize(ctx, r, "iam:ListRoles", entityARN(acct, "role", "/", ""), nil); err != nil {
		return nil, err
	}
	var roles []*roleDoc
	err = s.view(ctx, func(tx store.Tx) error {
		var err error
		roles, err = listDocs[roleDoc](tx, kindRole, acct)
		return err
	})
	if err != nil {
		return nil, err
	}
	roles = slices.DeleteFunc(roles, func(x *roleDoc) bool { return !strings.HasPrefix(x.Path, prefix) })
	out, truncated, marker := paginate(roles, func(x *roleDoc) string { return x.Name }, pg)
	items := make([]xmlRole, len(out))
	for i, x := range out {
		items[i] = roleXML(x, false)
	}
	return struct {
		Roles       list[xmlRole] `xml:"Roles"`
		IsTruncated bool          `xml:"IsTruncated"`
		Marker      string        `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}, nil
}

func (s *Service) deleteRole(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("RoleName")
	checkName(&v, name, "roleName", 64)
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn, err := s.roleARN(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:DeleteRole", arn, nil); err != nil {
		return nil, err
	}
	var sessions []string
	err = s.update(ctx, func(tx store.Tx) error {
		sessions = sessions[:0]
		role, _, ok, err := getDoc[roleDoc](tx, kindRole, acct, name)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchRole(name)
		}
		switch {
		case len(role.Inline) > 0:
			return errDeleteConflict("Cannot delete entity, must delete policies first.")
		case len(role.Attached) > 0:
			return errDeleteConflict("Cannot delete entity, must detach all policies first.")
		}
		if role.Boundary != "" {
			if err := s.adjustBoundaryUses(tx, acct, role.Boundary, -1); err != nil {
				return err
			}
		}
		// The role's sessions end with it.
		if sessions, err = deleteSessions(tx, acct, func(sd *sessionDoc) bool { return sd.RoleID == role.ID }); err != nil {
			return err
		}
		return tx.DeleteDocument(kindRole, acct, name)
	})
	for _, id := range sessions {
		s.dir.forgetKey(id)
	}
	s.dir.forget(arn)
	return nil, err
}

// deleteSessions deletes the sessions of account for which match is true,
// with their credentials, and returns their access key ids.
func deleteSessions(tx store.Tx, account string, match func(*sessionDoc) bool) ([]string, error) {
	docs, err := tx.ListDocuments(kindSession, account, "", 0)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, d := range docs {
		var sd sessionDoc
		if err := json.Unmarshal(d.Body, &sd); err != nil {
			return nil, fmt.Errorf("iam: decode session %s: %w", d.Name, err)
		}
		if !match(&sd) {
			continue
		}
		if err := tx.DeleteDocument(kindSession, account, d.Name); err != nil {
			return nil, err
		}
		if err := tx.DeleteCredential(d.Name); err != nil && !isNotFound(err) {
			return nil, err
		}
		ids = append(ids, d.Name)
	}
	return ids, nil
}

func (s *Service) updateAssumeRolePolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("RoleName")
	checkName(&v, name, "roleName", 64)
	doc := r.get("PolicyDocument")
	checkDocument(&v, doc, "policyDocument")
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn, err := s.roleARN(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:UpdateAssumeRolePolicy", arn, nil); err != nil {
		return nil, err
	}
	if err := s.checkTrustPolicy(ctx, doc); err != nil {
		return nil, err
	}
	err = s.update(ctx, func(tx store.Tx) error {
		role, ver, ok, err := getDoc[roleDoc](tx, kindRole, acct, name)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchRole(name)
		}
		role.Trust = doc
		return putDoc(tx, kindRole, acct, name, ver, role, s.now())
	})
	return nil, err
}

func (s *Service) tagRole(ctx context.Context, r *request) (any, error) {
	return nil, s.changeTags(ctx, r, kindRole, true)
}

func (s *Service) untagRole(ctx context.Context, r *request) (any, error) {
	return nil, s.changeTags(ctx, r, kindRole, false)
}

func (s *Service) listRoleTags(ctx context.Context, r *request) (any, error) {
	return s.listTags(ctx, r, kindRole)
}
