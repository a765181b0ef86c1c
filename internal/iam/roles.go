package iam

import (
	"context"
	"encoding/json"
	"fmt"
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
	h := roleHolder()
	if err := s.authorizeCreate(ctx, r, h, arn, tags, boundary); err != nil {
		return nil, err
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
		return s.insertEntity(tx, h, acct, name, boundary, role)
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
	h := roleHolder()
	name := h.nameParam(&v, r)
	if _, err := s.access(ctx, r, &v, h, name, "iam:GetRole", nil); err != nil {
		return nil, err
	}
	role, err := viewEntity[roleDoc](ctx, s, r.c.AccountID, name)
	if err != nil {
		return nil, err
	}
	return struct {
		Role xmlRole `xml:"Role"`
	}{roleXML(role, true)}, nil
}

func (s *Service) listRoles(ctx context.Context, r *request) (any, error) {
	items, truncated, marker, err := listEntities[roleDoc](ctx, s, r, func(x *roleDoc) xmlRole { return roleXML(x, false) })
	if err != nil {
		return nil, err
	}
	return struct {
		Roles       list[xmlRole] `xml:"Roles"`
		IsTruncated bool          `xml:"IsTruncated"`
		Marker      string        `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}, nil
}

func (s *Service) deleteRole(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	h := roleHolder()
	name := h.nameParam(&v, r)
	arn, err := s.access(ctx, r, &v, h, name, "iam:DeleteRole", nil)
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	var sessions []string
	err = s.update(ctx, func(tx store.Tx) error {
		sessions = sessions[:0]
		role, _, err := loadEntity[roleDoc](tx, acct, name)
		if err != nil {
			return err
		}
		if err := policiesConflict(role.fields()); err != nil {
			return err
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
	h := roleHolder()
	name := h.nameParam(&v, r)
	doc := r.get("PolicyDocument")
	checkDocument(&v, doc, "policyDocument")
	if _, err := s.access(ctx, r, &v, h, name, "iam:UpdateAssumeRolePolicy", nil); err != nil {
		return nil, err
	}
	if err := s.checkTrustPolicy(ctx, doc); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err := s.update(ctx, func(tx store.Tx) error {
		role, ver, err := loadEntity[roleDoc](tx, acct, name)
		if err != nil {
			return err
		}
		role.Trust = doc
		return putDoc(tx, kindRole, acct, name, ver, role, s.now())
	})
	return nil, err
}
