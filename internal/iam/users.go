package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// xmlBoundary is an entity's PermissionsBoundary element.
type xmlBoundary struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

func boundaryXML(arn string) *xmlBoundary {
	if arn == "" {
		return nil
	}
	return &xmlBoundary{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: arn}
}

// xmlUser is IAM's User shape.
type xmlUser struct {
	Path                string        `xml:"Path,omitempty"`
	UserName            string        `xml:"UserName,omitempty"`
	UserID              string        `xml:"UserId"`
	Arn                 string        `xml:"Arn"`
	CreateDate          xmlTime       `xml:"CreateDate"`
	PermissionsBoundary *xmlBoundary  `xml:"PermissionsBoundary,omitempty"`
	Tags                *list[xmlTag] `xml:"Tags,omitempty"`
}

// userXML renders a user; full adds what only CreateUser and GetUser
// return (boundary and tags).
func userXML(u *userDoc, full bool) xmlUser {
	x := xmlUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: xmlTime(u.Created)}
	if full {
		x.PermissionsBoundary = boundaryXML(u.Boundary)
		x.Tags = optList(xmlTags(u.Tags))
	}
	return x
}

// boundaryParam reads and validates an optional PermissionsBoundary ARN.
func boundaryParam(v *awsproto.Validation, r *request, param, field string) string {
	arn := r.get(param)
	if r.has(param) {
		checkARNParam(v, arn, field)
	}
	return arn
}

// checkBoundaryPolicy fails unless arn names an existing managed policy of
// the account that can be a permissions boundary.
func checkBoundaryPolicy(tx store.Tx, account, arn string) (*policyDoc, int64, error) {
	a, ok := parseARN(arn)
	if !ok || !strings.HasPrefix(a.Resource, "policy/") {
		return nil, 0, errInvalidInput("ARN %s is not valid.", arn)
	}
	if a.Account == "aws" {
		return nil, 0, errNoSuchEntity("Scope ARN: %s does not exist or is not attachable.", arn)
	}
	_, _, name := pathAndName(a.Resource)
	p, ver, ok, err := getDoc[policyDoc](tx, kindPolicy, account, name)
	if err != nil {
		return nil, 0, err
	}
	if !ok || p.ARN != arn {
		return nil, 0, errNoSuchEntity("Scope ARN: %s does not exist or is not attachable.", arn)
	}
	return p, ver, nil
}

// claimBoundary counts one more use of managed policy arn as a permissions
// boundary, failing unless it can be one (see checkBoundaryPolicy).
func (s *Service) claimBoundary(tx store.Tx, account, arn string) error {
	p, ver, err := checkBoundaryPolicy(tx, account, arn)
	if err != nil {
		return err
	}
	p.BoundaryUses++
	return putDoc(tx, kindPolicy, account, p.Name, ver, p, s.now())
}

func requestTagKeys(tags []tag) func(*policy.Context) {
	return func(ctx *policy.Context) {
		keys := make([]string, len(tags))
		for i, t := range tags {
			ctx.Set("aws:RequestTag/"+t.Key, t.Value)
			keys[i] = t.Key
		}
		ctx.Set("aws:TagKeys", keys...)
	}
}

func (s *Service) createUser(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("UserName")
	checkName(&v, name, "userName", 64)
	path := pathParam(&v, r)
	boundary := boundaryParam(&v, r, "PermissionsBoundary", "permissionsBoundary")
	tags, err := tagsParam(&v, r, "Tags", "tags")
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn := entityARN(acct, "user", path, name)
	h := userHolder()
	if err := s.authorizeCreate(ctx, r, h, arn, tags, boundary); err != nil {
		return nil, err
	}
	id, err := newID(s.rand, prefixUser)
	if err != nil {
		return nil, err
	}
	u := &userDoc{Name: name, ID: id, Path: path, ARN: arn, Created: s.now().UTC(), Tags: tags, Boundary: boundary}
	err = s.update(ctx, func(tx store.Tx) error {
		return s.insertEntity(tx, h, acct, name, boundary, u)
	})
	if err != nil {
		return nil, err
	}
	s.dir.forget(arn)
	return struct {
		User xmlUser `xml:"User"`
	}{userXML(u, true)}, nil
}

func (s *Service) getUser(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := checkOptionalName(&v, r, "UserName", "userName", 128)
	if err := v.Err(); err != nil {
		return nil, err
	}
	type result struct {
		User xmlUser `xml:"User"`
	}
	c := r.c
	if name == "" {
		switch c.Type {
		case TypeRoot:
			if err := s.authorize(ctx, r, "iam:GetUser", c.ARN, nil); err != nil {
				return nil, err
			}
			var created xmlTime
			err := s.view(ctx, func(tx store.Tx) error {
				a, err := tx.GetAccount(c.AccountID)
				created = xmlTime(a.CreatedAt)
				return err
			})
			if err != nil {
				return nil, err
			}
			return result{xmlUser{UserID: c.AccountID, Arn: c.ARN, CreateDate: created}}, nil
		case TypeIAMUser:
			name = c.UserName
		default:
			return nil, errValidation("Must specify userName when calling with non-User credentials")
		}
	}
	if _, err := s.access(ctx, r, &v, userHolder(), name, "iam:GetUser", nil); err != nil {
		return nil, err
	}
	u, err := viewEntity[userDoc](ctx, s, c.AccountID, name)
	if err != nil {
		return nil, err
	}
	return result{userXML(u, true)}, nil
}

func (s *Service) listUsers(ctx context.Context, r *request) (any, error) {
	items, truncated, marker, err := listEntities[userDoc](ctx, s, r, func(u *userDoc) xmlUser { return userXML(u, false) })
	if err != nil {
		return nil, err
	}
	return struct {
		Users       list[xmlUser] `xml:"Users"`
		IsTruncated bool          `xml:"IsTruncated"`
		Marker      string        `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}, nil
}

func (s *Service) deleteUser(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	h := userHolder()
	name := h.nameParam(&v, r)
	arn, err := s.access(ctx, r, &v, h, name, "iam:DeleteUser", nil)
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		u, _, err := loadEntity[userDoc](tx, acct, name)
		if err != nil {
			return err
		}
		creds, err := tx.ListCredentials(acct)
		if err != nil {
			return err
		}
		for _, c := range creds {
			if c.PrincipalARN == u.ARN {
				return errDeleteConflict("Cannot delete entity, must delete access keys first.")
			}
		}
		if err := policiesConflict(u.fields()); err != nil {
			return err
		}
		if len(u.Groups) > 0 {
			return errDeleteConflict("Cannot delete entity, must remove users from group first.")
		}
		if u.Boundary != "" {
			if err := s.adjustBoundaryUses(tx, acct, u.Boundary, -1); err != nil {
				return err
			}
		}
		return tx.DeleteDocument(kindUser, acct, name)
	})
	if err != nil {
		return nil, err
	}
	s.dir.forget(arn)
	return nil, nil
}

// adjustBoundaryUses adds delta to the boundary use count of a managed
// policy (missing policies are ignored).
func (s *Service) adjustBoundaryUses(tx store.Tx, account, arn string, delta int) error {
	a, ok := parseARN(arn)
	if !ok {
		return nil
	}
	_, _, name := pathAndName(a.Resource)
	p, ver, ok, err := getDoc[policyDoc](tx, kindPolicy, account, name)
	if err != nil || !ok || p.ARN != arn {
		return err
	}
	p.BoundaryUses = max(0, p.BoundaryUses+delta)
	return putDoc(tx, kindPolicy, account, name, ver, p, s.now())
}

// Access keys. Changing keys changes no policies: these calls leave the
// compiled-policy cache alone and forget only the key in the Directory.

// xmlAccessKey is IAM's AccessKey and AccessKeyMetadata shapes.
type xmlAccessKey struct {
	UserName        string  `xml:"UserName,omitempty"`
	AccessKeyID     string  `xml:"AccessKeyId"`
	Status          string  `xml:"Status"`
	SecretAccessKey string  `xml:"SecretAccessKey,omitempty"`
	CreateDate      xmlTime `xml:"CreateDate"`
}

// keyOwner is the principal whose access keys a call manages.
type keyOwner struct {
	name string // user name; "" for the root
	arn  string
}

// keyOwnerOf returns the user named by the UserName parameter, or the
// caller when there is none (a user itself, or the root). A role session
// must name a user, as in AWS.
func (s *Service) keyOwnerOf(ctx context.Context, r *request, v *awsproto.Validation) (keyOwner, error) {
	name := checkOptionalName(v, r, "UserName", "userName", 128)
	if err := v.Err(); err != nil {
		return keyOwner{}, err
	}
	c := r.c
	if name == "" {
		switch c.Type {
		case TypeRoot:
			return keyOwner{arn: c.ARN}, nil
		case TypeIAMUser:
			name = c.UserName
		default:
			return keyOwner{}, errValidation("Must specify userName when calling with non-User credentials")
		}
	}
	arn, err := s.holderARN(ctx, userHolder(), c.AccountID, name)
	return keyOwner{name: name, arn: arn}, err
}

// ownerExists fails with NoSuchEntity unless the owner exists.
func ownerExists(tx store.Tx, account string, o keyOwner) error {
	if o.name == "" {
		return nil
	}
	u, _, ok, err := getDoc[userDoc](tx, kindUser, account, o.name)
	if err != nil {
		return err
	}
	if !ok || u.ARN != o.arn {
		return userHolder().noSuch(o.name)
	}
	return nil
}

func (s *Service) createAccessKey(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	o, err := s.keyOwnerOf(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:CreateAccessKey", o.arn, nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	id, secret, err := NewAccessKey(s.rand)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	cred, err := s.dir.newCredential(acct, o.arn, id, secret)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := ownerExists(tx, acct, o); err != nil {
			return err
		}
		creds, err := tx.ListCredentials(acct)
		if err != nil {
			return err
		}
		n := 0
		for _, c := range creds {
			if c.PrincipalARN == o.arn {
				n++
			}
		}
		if n >= maxAccessKeys {
			return errLimitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeys)
		}
		return tx.InsertCredential(cred)
	})
	if err != nil {
		return nil, err
	}
	s.dir.forgetKey(id)
	return struct {
		AccessKey xmlAccessKey `xml:"AccessKey"`
	}{xmlAccessKey{UserName: o.name, AccessKeyID: id, Status: statusActive, SecretAccessKey: string(secret), CreateDate: xmlTime(cred.CreatedAt)}}, nil
}

func (s *Service) listAccessKeys(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	o, err := s.keyOwnerOf(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:ListAccessKeys", o.arn, nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	var keys []store.Credential
	err = s.view(ctx, func(tx store.Tx) error {
		if err := ownerExists(tx, acct, o); err != nil {
			return err
		}
		creds, err := tx.ListCredentials(acct)
		for _, c := range creds {
			if c.PrincipalARN == o.arn {
				keys = append(keys, c)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out, truncated, marker := paginate(keys, func(c store.Credential) string { return c.AccessKeyID }, pg)
	meta := make([]xmlAccessKey, len(out))
	for i, c := range out {
		meta[i] = xmlAccessKey{UserName: o.name, AccessKeyID: c.AccessKeyID, Status: c.Status, CreateDate: xmlTime(c.CreatedAt)}
	}
	return struct {
		AccessKeyMetadata list[xmlAccessKey] `xml:"AccessKeyMetadata"`
		IsTruncated       bool               `xml:"IsTruncated"`
		Marker            string             `xml:"Marker,omitempty"`
	}{listOf(meta), truncated, marker}, nil
}

// accessKeyParam reads and validates the AccessKeyId parameter.
func accessKeyParam(v *awsproto.Validation, r *request) string {
	id := r.get("AccessKeyId")
	if id == "" {
		v.Required("accessKeyId")
		return id
	}
	v.Length(id, "accessKeyId", 16, 128)
	if !allRunes(id, func(c rune) bool { return isNameChar(c) && !strings.ContainsRune("+=,.@-", c) }) {
		v.Pattern(id, "accessKeyId", reAccessKey)
	}
	return id
}

// ownedKey returns the credential id of owner o, or NoSuchEntity.
func ownedKey(tx store.Tx, account, id string, o keyOwner) (store.Credential, error) {
	c, err := tx.GetCredential(id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (c.AccountID != account || c.PrincipalARN != o.arn) {
		return c, errNoSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	return c, err
}

func (s *Service) updateAccessKey(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	id := accessKeyParam(&v, r)
	status := r.get("Status")
	if status == "" {
		v.Required("status")
	}
	v.Enum(status, "status", statusActive, statusInactive)
	o, err := s.keyOwnerOf(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:UpdateAccessKey", o.arn, nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := ownerExists(tx, acct, o); err != nil {
			return err
		}
		c, err := ownedKey(tx, acct, id, o)
		if err != nil {
			return err
		}
		c.Status = status
		return tx.UpdateCredential(c)
	})
	s.dir.forgetKey(id)
	return nil, err
}

func (s *Service) deleteAccessKey(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	id := accessKeyParam(&v, r)
	o, err := s.keyOwnerOf(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:DeleteAccessKey", o.arn, nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := ownerExists(tx, acct, o); err != nil {
			return err
		}
		if _, err := ownedKey(tx, acct, id, o); err != nil {
			return err
		}
		return tx.DeleteCredential(id)
	})
	s.dir.forgetKey(id)
	return nil, err
}
