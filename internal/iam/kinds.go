package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// The calls on users, roles and groups share their logic: a holder row
// says how one kind is stored, named and reported missing, and the
// generic helpers below serve every kind from it.

// holder says which kind of entity (user, role or group) a call acts on.
type holder struct {
	kind      string // kindUser, kindRole, kindGroup
	noun      string // "user", "role", "group": the ARN resource type and the word in messages
	quotaNoun string // "User", "Role", "Group", as quota names spell it
	param     string // "UserName", ...
	field     string // "userName", ...
	nameMax   int    // longest name the entity calls accept
	inlineMax int    // aggregate inline policy size
	// find reads an entity of this kind; ok is false if there is none.
	find func(tx store.Tx, account, name string) (doc any, f holderFields, version int64, ok bool, err error)
}

func userHolder() holder {
	return holder{kindUser, "user", "User", "UserName", "userName", 128, maxUserInline, findEntity[userDoc]}
}

func roleHolder() holder {
	return holder{kindRole, "role", "Role", "RoleName", "roleName", 64, maxRoleInline, findEntity[roleDoc]}
}

func groupHolder() holder {
	return holder{kindGroup, "group", "Group", "GroupName", "groupName", 128, maxGroupInline, findEntity[groupDoc]}
}

// holderOf returns the entity kind an action names (AttachUserPolicy,
// ListRolePolicies, PutGroupPolicy, TagRole, ...).
func holderOf(action string) holder {
	switch {
	case strings.Contains(action, "Role"):
		return roleHolder()
	case strings.Contains(action, "Group"):
		return groupHolder()
	}
	return userHolder()
}

// noSuch returns the NoSuchEntity error for a missing entity name.
func (h holder) noSuch(name string) error {
	return errNoSuchEntity("The %s with name %s cannot be found.", h.noun, name)
}

// holderFields are the fields of a loaded user, role or group that the
// shared calls read or change, as pointers into the document.
type holderFields struct {
	name     string
	path     string
	arn      string
	inline   *map[string]string
	attached *[]string
	boundary *string // nil for groups
	tags     *[]tag  // nil for groups
}

// entityDoc is a stored user, role or group, as its pointer type.
type entityDoc[T any] interface {
	*T
	holder() holder
	fields() holderFields
}

func (*userDoc) holder() holder { return userHolder() }
func (u *userDoc) fields() holderFields {
	return holderFields{u.Name, u.Path, u.ARN, &u.Inline, &u.Attached, &u.Boundary, &u.Tags}
}

func (*roleDoc) holder() holder { return roleHolder() }
func (r *roleDoc) fields() holderFields {
	return holderFields{r.Name, r.Path, r.ARN, &r.Inline, &r.Attached, &r.Boundary, &r.Tags}
}

func (*groupDoc) holder() holder { return groupHolder() }
func (g *groupDoc) fields() holderFields {
	return holderFields{g.Name, g.Path, g.ARN, &g.Inline, &g.Attached, nil, nil}
}

// findEntity reads entity name of P's kind; ok is false if there is none.
// doc is the decoded document (a P) to write back with putDoc.
func findEntity[T any, P entityDoc[T]](tx store.Tx, account, name string) (doc any, f holderFields, version int64, ok bool, err error) {
	d, ver, ok, err := getDoc[T](tx, P(nil).holder().kind, account, name)
	if !ok {
		return nil, f, 0, false, err
	}
	return d, P(d).fields(), ver, true, nil
}

// loadEntity reads entity name of P's kind, or fails with NoSuchEntity.
func loadEntity[T any, P entityDoc[T]](tx store.Tx, account, name string) (P, int64, error) {
	h := P(nil).holder()
	d, ver, ok, err := getDoc[T](tx, h.kind, account, name)
	if err == nil && !ok {
		err = h.noSuch(name)
	}
	return d, ver, err
}

// loadNamed reads the entities of P's kind with these names (members of
// a group, groups of a user), ordered by name; missing ones are skipped.
func loadNamed[T any, P entityDoc[T]](tx store.Tx, account string, names []string) ([]P, error) {
	var out []P
	for _, n := range names {
		d, _, ok, err := getDoc[T](tx, P(nil).holder().kind, account, n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b P) int { return strings.Compare(a.fields().name, b.fields().name) })
	return out, nil
}

// loadHolder reads a user, role or group, or fails with NoSuchEntity. doc
// is the decoded document to write back with putDoc.
func loadHolder(tx store.Tx, h holder, account, name string) (doc any, f holderFields, version int64, err error) {
	doc, f, version, ok, err := h.find(tx, account, name)
	if err == nil && !ok {
		err = h.noSuch(name)
	}
	return doc, f, version, err
}

// holderARN returns the ARN of the entity: its own if it exists, else the
// one it would have with path "/" (what AWS authorizes against for an
// entity that does not exist).
func (s *Service) holderARN(ctx context.Context, h holder, account, name string) (string, error) {
	arn := entityARN(account, h.noun, "/", name)
	err := s.view(ctx, func(tx store.Tx) error {
		_, f, _, ok, err := h.find(tx, account, name)
		if ok {
			arn = f.arn
		}
		return err
	})
	return arn, err
}

// nameParam reads and validates the entity name parameter of h.
func (h holder) nameParam(v *awsproto.Validation, r *request) string {
	name := r.get(h.param)
	checkName(v, name, h.field, h.nameMax)
	return name
}

// access fails with the validation errors gathered in v, if any, and
// else authorizes action on entity name of kind h with extra condition
// keys. It returns the entity's ARN (see holderARN).
func (s *Service) access(ctx context.Context, r *request, v *awsproto.Validation, h holder, name, action string, keys func(*policy.Context)) (string, error) {
	if err := v.Err(); err != nil {
		return "", err
	}
	arn, err := s.holderARN(ctx, h, r.c.AccountID, name)
	if err != nil {
		return "", err
	}
	return arn, s.authorize(ctx, r, action, arn, keys)
}

// holderParams reads and validates the entity name of a call on the
// entity its action names and authorizes the action on the entity with
// extra condition keys.
func (s *Service) holderParams(ctx context.Context, r *request, v *awsproto.Validation, keys func(*policy.Context)) (holder, string, string, error) {
	h := holderOf(r.action)
	name := h.nameParam(v, r)
	arn, err := s.access(ctx, r, v, h, name, "iam:"+r.action, keys)
	return h, name, arn, err
}

// insertEntity stores doc, the new entity name of kind h, failing with
// EntityAlreadyExists if there is one; a non-empty boundary is claimed
// (see claimBoundary).
func (s *Service) insertEntity(tx store.Tx, h holder, account, name, boundary string, doc any) error {
	if _, _, _, ok, err := h.find(tx, account, name); err != nil || ok {
		if ok {
			return errEntityExists("%s with name %s already exists.", h.quotaNoun, name)
		}
		return err
	}
	if boundary != "" {
		if err := s.claimBoundary(tx, account, boundary); err != nil {
			return err
		}
	}
	return putDoc(tx, h.kind, account, name, 0, doc, s.now())
}

// authorizeCreate authorizes r's action (a CreateUser or CreateRole) on
// arn, with the condition keys of the new entity's tags and boundary,
// and, when it has tags, iam:TagUser or iam:TagRole too.
func (s *Service) authorizeCreate(ctx context.Context, r *request, h holder, arn string, tags []tag, boundary string) error {
	err := s.authorize(ctx, r, "iam:"+r.action, arn, func(pc *policy.Context) {
		if len(tags) > 0 {
			requestTagKeys(tags)(pc)
		}
		if boundary != "" {
			pc.Set("iam:PermissionsBoundary", boundary)
		}
	})
	if err != nil || len(tags) == 0 {
		return err
	}
	return s.authorize(ctx, r, "iam:Tag"+h.quotaNoun, arn, requestTagKeys(tags))
}

// viewEntity reads entity name of P's kind, or fails with NoSuchEntity.
func viewEntity[T any, P entityDoc[T]](ctx context.Context, s *Service, account, name string) (P, error) {
	var d P
	err := s.view(ctx, func(tx store.Tx) error {
		var err error
		d, _, err = loadEntity[T, P](tx, account, name)
		return err
	})
	return d, err
}

// policiesConflict is the DeleteConflict of deleting an entity that still
// has inline or attached policies.
func policiesConflict(f holderFields) error {
	switch {
	case len(*f.inline) > 0:
		return errDeleteConflict("Cannot delete entity, must delete policies first.")
	case len(*f.attached) > 0:
		return errDeleteConflict("Cannot delete entity, must detach all policies first.")
	}
	return nil
}

// listParams reads PathPrefix and the paging parameters of a List call on
// every entity of ARN resource type typ, fails with the validation errors
// gathered in v, and authorizes the action.
func (s *Service) listParams(ctx context.Context, r *request, v *awsproto.Validation, typ string) (prefix string, pg page, err error) {
	prefix = pathPrefixParam(v, r)
	if pg, err = pageParams(v, r); err != nil {
		return "", pg, err
	}
	if err := v.Err(); err != nil {
		return "", pg, err
	}
	return prefix, pg, s.authorize(ctx, r, "iam:"+r.action, entityARN(r.c.AccountID, typ, "/", ""), nil)
}

// loadAll reads every document of a kind in the account, ordered by name.
func loadAll[T any](ctx context.Context, s *Service, kind, account string) ([]*T, error) {
	var docs []*T
	err := s.view(ctx, func(tx store.Tx) error {
		var err error
		docs, err = listDocs[T](tx, kind, account)
		return err
	})
	return docs, err
}

// pageOf keeps the documents of sorted whose path has prefix and that
// drop (if not nil) does not drop, and renders the page pg of them.
func pageOf[D, X any](sorted []D, prefix string, pg page, path, name func(D) string, drop func(D) bool, render func(D) X) (items []X, truncated bool, marker string) {
	sorted = slices.DeleteFunc(sorted, func(d D) bool {
		return !strings.HasPrefix(path(d), prefix) || drop != nil && drop(d)
	})
	out, truncated, marker := paginate(sorted, name, pg)
	items = make([]X, len(out))
	for i, d := range out {
		items[i] = render(d)
	}
	return items, truncated, marker
}

// listEntities serves the lookup of ListUsers, ListRoles and ListGroups:
// the page of the account's entities of P's kind under PathPrefix,
// rendered by render.
func listEntities[T any, P entityDoc[T], X any](ctx context.Context, s *Service, r *request, render func(*T) X) (items []X, truncated bool, marker string, err error) {
	var v awsproto.Validation
	h := P(nil).holder()
	prefix, pg, err := s.listParams(ctx, r, &v, h.noun)
	if err != nil {
		return nil, false, "", err
	}
	docs, err := loadAll[T](ctx, s, h.kind, r.c.AccountID)
	if err != nil {
		return nil, false, "", err
	}
	path := func(d *T) string { return P(d).fields().path }
	name := func(d *T) string { return P(d).fields().name }
	items, truncated, marker = pageOf(docs, prefix, pg, path, name, nil, render)
	return items, truncated, marker, nil
}
