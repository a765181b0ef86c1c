package iam

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Managed policies and their versions.

// xmlPolicy is IAM's Policy shape.
type xmlPolicy struct {
	PolicyName                    string        `xml:"PolicyName"`
	PolicyID                      string        `xml:"PolicyId"`
	Arn                           string        `xml:"Arn"`
	Path                          string        `xml:"Path"`
	DefaultVersionID              string        `xml:"DefaultVersionId"`
	AttachmentCount               int           `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int           `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool          `xml:"IsAttachable"`
	Description                   string        `xml:"Description,omitempty"`
	CreateDate                    xmlTime       `xml:"CreateDate"`
	UpdateDate                    xmlTime       `xml:"UpdateDate"`
	Tags                          *list[xmlTag] `xml:"Tags,omitempty"`
}

func policyXML(p *policyDoc, full bool) xmlPolicy {
	x := xmlPolicy{
		PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN, Path: p.Path, DefaultVersionID: p.Default,
		AttachmentCount: p.Attachments, PermissionsBoundaryUsageCount: p.BoundaryUses, IsAttachable: true,
		CreateDate: xmlTime(p.Created), UpdateDate: xmlTime(p.Updated),
	}
	if full {
		x.Description = p.Description
		x.Tags = optList(xmlTags(p.Tags))
	}
	return x
}

// xmlPolicyVersion is IAM's PolicyVersion shape.
type xmlPolicyVersion struct {
	Document         string  `xml:"Document,omitempty"`
	VersionID        string  `xml:"VersionId"`
	IsDefaultVersion bool    `xml:"IsDefaultVersion"`
	CreateDate       xmlTime `xml:"CreateDate"`
}

func versionXML(p *policyDoc, v *policyVersion, withDoc bool) xmlPolicyVersion {
	x := xmlPolicyVersion{VersionID: v.ID, IsDefaultVersion: v.ID == p.Default, CreateDate: xmlTime(v.Created)}
	if withDoc {
		x.Document = urlEncode(v.Document)
	}
	return x
}

// checkIdentityDocument parses a managed or inline identity policy given
// in a request.
func checkIdentityDocument(doc string) error {
	_, err := parseInput(doc, policy.Identity)
	return err
}

// policyARNParam reads and validates the PolicyArn parameter.
func policyARNParam(v *awsproto.Validation, r *request) string {
	arn := r.get("PolicyArn")
	checkARNParam(v, arn, "policyArn")
	return arn
}

// loadPolicy returns the managed policy with this ARN in account, or
// NoSuchEntity with message notFound.
func loadPolicy(tx store.Tx, account, arn, notFound string) (*policyDoc, int64, error) {
	a, ok := parseARN(arn)
	if !ok || a.Service != "iam" || !strings.HasPrefix(a.Resource, "policy/") {
		return nil, 0, errInvalidInput("ARN %s is not valid.", arn)
	}
	if a.Account == account {
		_, _, name := pathAndName(a.Resource)
		p, ver, ok, err := getDoc[policyDoc](tx, kindPolicy, account, name)
		if err != nil {
			return nil, 0, err
		}
		if ok && p.ARN == arn {
			return p, ver, nil
		}
	}
	return nil, 0, errNoSuchEntity("%s", notFound)
}

func (s *Service) createPolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("PolicyName")
	checkName(&v, name, "policyName", 128)
	path := pathParam(&v, r)
	doc := r.get("PolicyDocument")
	checkDocument(&v, doc, "policyDocument")
	desc := r.get("Description")
	v.Length(desc, "description", 0, 1000)
	tags, err := tagsParam(&v, r, "Tags", "tags")
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn := entityARN(acct, "policy", path, name)
	err = s.authorize(ctx, r, "iam:CreatePolicy", arn, func(pc *policy.Context) {
		if len(tags) > 0 {
			requestTagKeys(tags)(pc)
		}
	})
	if err != nil {
		return nil, err
	}
	if documentSize(doc) > maxManagedPolicySize {
		return nil, errLimitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	if err := checkIdentityDocument(doc); err != nil {
		return nil, err
	}
	id, err := newID(s.rand, prefixPolicy)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	p := &policyDoc{Name: name, ID: id, Path: path, ARN: arn, Description: desc, Created: now, Updated: now,
		Default: "v1", Versions: []policyVersion{{ID: "v1", Document: doc, Created: now}}, NextVersion: 2, Tags: tags}
	err = s.update(ctx, func(tx store.Tx) error {
		if _, _, ok, err := getDoc[policyDoc](tx, kindPolicy, acct, name); err != nil || ok {
			if ok {
				return errEntityExists("A policy called %s already exists. Duplicate names are not allowed.", name)
			}
			return err
		}
		return putDoc(tx, kindPolicy, acct, name, 0, p, now)
	})
	if err != nil {
		return nil, err
	}
	x := policyXML(p, true)
	x.Description = ""
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{x}, nil
}

func notFoundPolicy(arn string) string { return "Policy " + arn + " was not found." }

func (s *Service) getPolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	arn := policyARNParam(&v, r)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:GetPolicy", arn, nil); err != nil {
		return nil, err
	}
	var p *policyDoc
	err := s.view(ctx, func(tx store.Tx) error {
		var err error
		p, _, err = loadPolicy(tx, r.c.AccountID, arn, notFoundPolicy(arn))
		return err
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{policyXML(p, true)}, nil
}

func (s *Service) listPolicies(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	scope := r.get("Scope")
	v.Enum(scope, "scope", "All", "AWS", "Local")
	usage := r.get("PolicyUsageFilter")
	v.Enum(usage, "policyUsageFilter", "PermissionsPolicy", "PermissionsBoundary")
	onlyAttached := r.get("OnlyAttached") == "true"
	prefix, pg, err := s.listParams(ctx, r, &v, "policy")
	if err != nil {
		return nil, err
	}
	var pols []*policyDoc
	if scope != "AWS" {
		if pols, err = loadAll[policyDoc](ctx, s, kindPolicy, r.c.AccountID); err != nil {
			return nil, err
		}
	}
	drop := func(p *policyDoc) bool {
		switch {
		case onlyAttached && p.Attachments == 0 && p.BoundaryUses == 0:
			return true
		case usage == "PermissionsPolicy" && onlyAttached && p.Attachments == 0:
			return true
		case usage == "PermissionsBoundary" && onlyAttached && p.BoundaryUses == 0:
			return true
		}
		return false
	}
	path := func(p *policyDoc) string { return p.Path }
	name := func(p *policyDoc) string { return p.Name }
	items, truncated, marker := pageOf(pols, prefix, pg, path, name, drop, func(p *policyDoc) xmlPolicy { return policyXML(p, false) })
	return struct {
		Policies    list[xmlPolicy] `xml:"Policies"`
		IsTruncated bool            `xml:"IsTruncated"`
		Marker      string          `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}, nil
}

func (s *Service) deletePolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	arn := policyARNParam(&v, r)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:DeletePolicy", arn, nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err := s.update(ctx, func(tx store.Tx) error {
		p, _, err := loadPolicy(tx, acct, arn, notFoundPolicy(arn))
		if err != nil {
			return err
		}
		if p.Attachments > 0 || p.BoundaryUses > 0 {
			return errDeleteConflict("Cannot delete a policy attached to entities.")
		}
		if len(p.Versions) > 1 {
			return errDeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		return tx.DeleteDocument(kindPolicy, acct, p.Name)
	})
	return nil, err
}

// versionIDParam reads and validates the VersionId parameter.
func versionIDParam(v *awsproto.Validation, r *request) string {
	id := r.get("VersionId")
	if id == "" {
		v.Required("versionId")
		return id
	}
	if !validVersionID(id) {
		v.Pattern(id, "versionId", reVersionID)
	}
	return id
}

func validVersionID(id string) bool {
	rest, ok := strings.CutPrefix(id, "v")
	if !ok || rest == "" || rest[0] < '1' || rest[0] > '9' {
		return false
	}
	num, suffix, _ := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(num); err != nil {
		return false
	}
	return allRunes(suffix, func(c rune) bool { return c < 128 && (isNameChar(c) && c != '_' && !strings.ContainsRune("+=,.@", c)) })
}

func (s *Service) createPolicyVersion(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	arn := policyARNParam(&v, r)
	doc := r.get("PolicyDocument")
	checkDocument(&v, doc, "policyDocument")
	setDefault := r.get("SetAsDefault") == "true"
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:CreatePolicyVersion", arn, nil); err != nil {
		return nil, err
	}
	if documentSize(doc) > maxManagedPolicySize {
		return nil, errLimitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	if err := checkIdentityDocument(doc); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	var out xmlPolicyVersion
	err := s.update(ctx, func(tx store.Tx) error {
		p, ver, err := loadPolicy(tx, acct, arn, notFoundPolicy(arn))
		if err != nil {
			return err
		}
		if len(p.Versions) >= maxPolicyVersions {
			return errLimitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		now := s.now().UTC()
		pv := policyVersion{ID: "v" + strconv.Itoa(p.NextVersion), Document: doc, Created: now}
		p.NextVersion++
		p.Versions = append(p.Versions, pv)
		if setDefault {
			p.Default = pv.ID
		}
		p.Updated = now
		out = versionXML(p, &pv, false)
		return putDoc(tx, kindPolicy, acct, p.Name, ver, p, now)
	})
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
	}{out}, nil
}

func notFoundVersion(arn, id string) string {
	return "Policy " + arn + " version " + id + " does not exist or is not attachable."
}

func (s *Service) getPolicyVersion(ctx context.Context, r *request) (any, error) {
	arn, id, err := s.versionParams(ctx, r)
	if err != nil {
		return nil, err
	}
	var out xmlPolicyVersion
	err = s.view(ctx, func(tx store.Tx) error {
		p, _, err := loadPolicy(tx, r.c.AccountID, arn, notFoundVersion(arn, id))
		if err != nil {
			return err
		}
		pv := p.version(id)
		if pv == nil {
			return errNoSuchEntity("%s", notFoundVersion(arn, id))
		}
		out = versionXML(p, pv, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
	}{out}, nil
}

func (s *Service) listPolicyVersions(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	arn := policyARNParam(&v, r)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:ListPolicyVersions", arn, nil); err != nil {
		return nil, err
	}
	var p *policyDoc
	err = s.view(ctx, func(tx store.Tx) error {
		var err error
		p, _, err = loadPolicy(tx, r.c.AccountID, arn, notFoundPolicy(arn))
		return err
	})
	if err != nil {
		return nil, err
	}
	// Newest first, as IAM lists them.
	versions := slices.Clone(p.Versions)
	slices.Reverse(versions)
	idx := make([]int, len(versions))
	for i := range idx {
		idx[i] = i
	}
	out, truncated, marker := paginate(idx, func(i int) string { return strconv.Itoa(100000 + i) }, pg)
	items := make([]xmlPolicyVersion, len(out))
	for i, j := range out {
		items[i] = versionXML(p, &versions[j], false)
	}
	return struct {
		Versions    list[xmlPolicyVersion] `xml:"Versions"`
		IsTruncated bool                   `xml:"IsTruncated"`
		Marker      string                 `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}, nil
}

// versionParams reads and validates PolicyArn and VersionId and
// authorizes r's action on the policy.
func (s *Service) versionParams(ctx context.Context, r *request) (arn, id string, err error) {
	var v awsproto.Validation
	arn = policyARNParam(&v, r)
	id = versionIDParam(&v, r)
	if err := v.Err(); err != nil {
		return "", "", err
	}
	return arn, id, s.authorize(ctx, r, "iam:"+r.action, arn, nil)
}

// editVersion serves DeletePolicyVersion and SetDefaultPolicyVersion:
// edit changes the policy, whose version id exists, before it is written
// back.
func (s *Service) editVersion(ctx context.Context, r *request, edit func(p *policyDoc, id string) error) error {
	arn, id, err := s.versionParams(ctx, r)
	if err != nil {
		return err
	}
	acct := r.c.AccountID
	return s.update(ctx, func(tx store.Tx) error {
		p, ver, err := loadPolicy(tx, acct, arn, notFoundVersion(arn, id))
		if err != nil {
			return err
		}
		if p.version(id) == nil {
			return errNoSuchEntity("%s", notFoundVersion(arn, id))
		}
		if err := edit(p, id); err != nil {
			return err
		}
		return putDoc(tx, kindPolicy, acct, p.Name, ver, p, s.now())
	})
}

func (s *Service) deletePolicyVersion(ctx context.Context, r *request) (any, error) {
	return nil, s.editVersion(ctx, r, func(p *policyDoc, id string) error {
		if id == p.Default {
			return errDeleteConflict("Cannot delete the default version of a policy.")
		}
		p.Versions = slices.DeleteFunc(p.Versions, func(pv policyVersion) bool { return pv.ID == id })
		return nil
	})
}

func (s *Service) setDefaultPolicyVersion(ctx context.Context, r *request) (any, error) {
	return nil, s.editVersion(ctx, r, func(p *policyDoc, id string) error {
		p.Default = id
		p.Updated = s.now().UTC()
		return nil
	})
}

// Users, roles and groups as holders of policies.

func (s *Service) attachPolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	arn := policyARNParam(&v, r)
	h, name, _, err := s.holderParams(ctx, r, &v, func(pc *policy.Context) { pc.Set("iam:PolicyARN", arn) })
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	return nil, s.update(ctx, func(tx store.Tx) error {
		doc, f, ver, err := loadHolder(tx, h, acct, name)
		if err != nil {
			return err
		}
		p, pver, err := loadPolicy(tx, acct, arn, "Policy "+arn+" does not exist or is not attachable.")
		if err != nil {
			return err
		}
		if slices.Contains(*f.attached, arn) {
			return nil
		}
		if len(*f.attached) >= maxAttached {
			return errLimitExceeded("Cannot exceed quota for PoliciesPer%s: %d", h.quotaNoun, maxAttached)
		}
		*f.attached = append(*f.attached, arn)
		p.Attachments++
		if err := putDoc(tx, kindPolicy, acct, p.Name, pver, p, s.now()); err != nil {
			return err
		}
		return putDoc(tx, h.kind, acct, name, ver, doc, s.now())
	})
}

func (s *Service) detachPolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	arn := policyARNParam(&v, r)
	h, name, _, err := s.holderParams(ctx, r, &v, func(pc *policy.Context) { pc.Set("iam:PolicyARN", arn) })
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	return nil, s.update(ctx, func(tx store.Tx) error {
		doc, f, ver, err := loadHolder(tx, h, acct, name)
		if err != nil {
			return err
		}
		if !slices.Contains(*f.attached, arn) {
			return errNoSuchEntity("%s", notFoundPolicy(arn))
		}
		*f.attached = slices.DeleteFunc(*f.attached, func(x string) bool { return x == arn })
		if p, pver, err := loadPolicy(tx, acct, arn, ""); err == nil {
			p.Attachments = max(0, p.Attachments-1)
			if err := putDoc(tx, kindPolicy, acct, p.Name, pver, p, s.now()); err != nil {
				return err
			}
		}
		return putDoc(tx, h.kind, acct, name, ver, doc, s.now())
	})
}

// xmlAttached is IAM's AttachedPolicy shape.
type xmlAttached struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

func (s *Service) listAttachedPolicies(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	prefix := pathPrefixParam(&v, r)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	h, name, _, err := s.holderParams(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	var items []xmlAttached
	err = s.view(ctx, func(tx store.Tx) error {
		_, f, _, err := loadHolder(tx, h, r.c.AccountID, name)
		if err != nil {
			return err
		}
		for _, arn := range *f.attached {
			a, _ := parseARN(arn)
			_, path, pname := pathAndName(a.Resource)
			if strings.HasPrefix(path, prefix) {
				items = append(items, xmlAttached{PolicyName: pname, PolicyArn: arn})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b xmlAttached) int { return strings.Compare(a.PolicyName, b.PolicyName) })
	out, truncated, marker := paginate(items, func(x xmlAttached) string { return x.PolicyName }, pg)
	return struct {
		AttachedPolicies list[xmlAttached] `xml:"AttachedPolicies"`
		IsTruncated      bool              `xml:"IsTruncated"`
		Marker           string            `xml:"Marker,omitempty"`
	}{listOf(out), truncated, marker}, nil
}

// Inline policies.

func inlinePolicyName(v *awsproto.Validation, r *request) string {
	name := r.get("PolicyName")
	checkName(v, name, "policyName", 128)
	return name
}

func (s *Service) putInlinePolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	pname := inlinePolicyName(&v, r)
	doc := r.get("PolicyDocument")
	checkDocument(&v, doc, "policyDocument")
	h, name, _, err := s.holderParams(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	if err := checkIdentityDocument(doc); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		d, f, ver, err := loadHolder(tx, h, acct, name)
		if err != nil {
			return err
		}
		size := documentSize(doc)
		for n, other := range *f.inline {
			if n != pname {
				size += documentSize(other)
			}
		}
		if size > h.inlineMax {
			return errLimitExceeded("Maximum policy size of %d bytes exceeded for %s %s", h.inlineMax, h.noun, name)
		}
		if *f.inline == nil {
			*f.inline = map[string]string{}
		}
		(*f.inline)[pname] = doc
		return putDoc(tx, h.kind, acct, name, ver, d, s.now())
	})
	return nil, err
}

func (s *Service) getInlinePolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	pname := inlinePolicyName(&v, r)
	h, name, _, err := s.holderParams(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	var doc string
	err = s.view(ctx, func(tx store.Tx) error {
		_, f, _, err := loadHolder(tx, h, r.c.AccountID, name)
		if err != nil {
			return err
		}
		d, ok := (*f.inline)[pname]
		if !ok {
			return errNoSuchEntity("The %s policy with name %s cannot be found.", h.noun, pname)
		}
		doc = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	type result struct {
		UserName       string `xml:"UserName,omitempty"`
		RoleName       string `xml:"RoleName,omitempty"`
		GroupName      string `xml:"GroupName,omitempty"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}
	res := result{PolicyName: pname, PolicyDocument: urlEncode(doc)}
	switch h.kind {
	case kindRole:
		res.RoleName = name
	case kindGroup:
		res.GroupName = name
	default:
		res.UserName = name
	}
	return res, nil
}

func (s *Service) deleteInlinePolicy(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	pname := inlinePolicyName(&v, r)
	h, name, _, err := s.holderParams(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		d, f, ver, err := loadHolder(tx, h, acct, name)
		if err != nil {
			return err
		}
		if _, ok := (*f.inline)[pname]; !ok {
			return errNoSuchEntity("The %s policy with name %s cannot be found.", h.noun, pname)
		}
		delete(*f.inline, pname)
		return putDoc(tx, h.kind, acct, name, ver, d, s.now())
	})
	return nil, err
}

func (s *Service) listInlinePolicies(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	h, name, _, err := s.holderParams(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	err = s.view(ctx, func(tx store.Tx) error {
		_, f, _, err := loadHolder(tx, h, r.c.AccountID, name)
		if err == nil {
			names = sortedKeys(*f.inline)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out, truncated, marker := paginate(names, func(n string) string { return n }, pg)
	return struct {
		PolicyNames list[string] `xml:"PolicyNames"`
		IsTruncated bool         `xml:"IsTruncated"`
		Marker      string       `xml:"Marker,omitempty"`
	}{listOf(out), truncated, marker}, nil
}

// Permissions boundaries.

func (s *Service) putBoundary(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	boundary := r.get("PermissionsBoundary")
	checkARNParam(&v, boundary, "permissionsBoundary")
	h, name, _, err := s.holderParams(ctx, r, &v, func(pc *policy.Context) { pc.Set("iam:PermissionsBoundary", boundary) })
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		d, f, ver, err := loadHolder(tx, h, acct, name)
		if err != nil {
			return err
		}
		if *f.boundary == boundary {
			return nil
		}
		if err := s.claimBoundary(tx, acct, boundary); err != nil {
			return err
		}
		if *f.boundary != "" {
			if err := s.adjustBoundaryUses(tx, acct, *f.boundary, -1); err != nil {
				return err
			}
		}
		*f.boundary = boundary
		return putDoc(tx, h.kind, acct, name, ver, d, s.now())
	})
	return nil, err
}

func (s *Service) deleteBoundary(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	h, name, _, err := s.holderParams(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		d, f, ver, err := loadHolder(tx, h, acct, name)
		if err != nil {
			return err
		}
		if *f.boundary == "" {
			return nil
		}
		if err := s.adjustBoundaryUses(tx, acct, *f.boundary, -1); err != nil {
			return err
		}
		*f.boundary = ""
		return putDoc(tx, h.kind, acct, name, ver, d, s.now())
	})
	return nil, err
}
