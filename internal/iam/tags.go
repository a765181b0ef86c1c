package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// tagTarget names the user or role a tag call acts on.
type tagTarget struct {
	kind    string // kindUser or kindRole
	noun    string // "user" or "role"
	param   string // "UserName" or "RoleName"
	field   string // "userName" or "roleName"
	actions [3]string
}

func tagTargetOf(kind string) tagTarget {
	if kind == kindRole {
		return tagTarget{kind, "role", "RoleName", "roleName", [3]string{"iam:TagRole", "iam:UntagRole", "iam:ListRoleTags"}}
	}
	return tagTarget{kind, "user", "UserName", "userName", [3]string{"iam:TagUser", "iam:UntagUser", "iam:ListUserTags"}}
}

// entityTags reads the tags and ARN of a user or role; ok is false if it
// does not exist.
func entityTags(tx store.Tx, kind, account, name string) (tags []tag, arn string, ok bool, err error) {
	if kind == kindRole {
		r, _, ok, err := getDoc[roleDoc](tx, kindRole, account, name)
		if !ok {
			return nil, "", ok, err
		}
		return r.Tags, r.ARN, true, err
	}
	u, _, ok, err := getDoc[userDoc](tx, kindUser, account, name)
	if !ok {
		return nil, "", ok, err
	}
	return u.Tags, u.ARN, true, err
}

// entityARNOf returns the ARN of a user or role, or the one it would have
// with path "/".
func (s *Service) entityARNOf(ctx context.Context, kind, account, name string) (string, error) {
	if kind == kindRole {
		return s.roleARN(ctx, account, name)
	}
	return s.userARN(ctx, account, name)
}

func noSuchEntity(t tagTarget, name string) error {
	return errNoSuchEntity("The %s with name %s cannot be found.", t.noun, name)
}

// changeTags serves TagUser, TagRole (add) and UntagUser, UntagRole.
func (s *Service) changeTags(ctx context.Context, r *request, kind string, add bool) error {
	t := tagTargetOf(kind)
	var v awsproto.Validation
	name := r.get(t.param)
	checkName(&v, name, t.field, 128)
	var (
		tags []tag
		keys []string
		err  error
	)
	if add {
		tags, err = tagsParam(&v, r, "Tags", "tags")
		if err == nil && tags == nil && !r.has("Tags") {
			v.Required("tags")
		}
	} else {
		keys, err = tagKeysParam(&v, r)
	}
	if err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	acct := r.c.AccountID
	arn, err := s.entityARNOf(ctx, kind, acct, name)
	if err != nil {
		return err
	}
	action, keysFn := t.actions[1], func(pc *policy.Context) { pc.Set("aws:TagKeys", keys...) }
	if add {
		action, keysFn = t.actions[0], requestTagKeys(tags)
	}
	if err := s.authorize(ctx, r, action, arn, keysFn); err != nil {
		return err
	}
	err = s.update(ctx, func(tx store.Tx) error {
		change := func(have []tag) ([]tag, error) {
			if add {
				have = setTags(slices.Clone(have), tags)
				if len(have) > maxTags {
					return nil, errLimitExceeded("The number of tags has reached the maximum limit.")
				}
				return have, nil
			}
			return slices.DeleteFunc(slices.Clone(have), func(x tag) bool {
				return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, x.Key) })
			}), nil
		}
		if kind == kindRole {
			d, ver, ok, err := getDoc[roleDoc](tx, kindRole, acct, name)
			if err != nil || !ok {
				if err == nil {
					err = noSuchEntity(t, name)
				}
				return err
			}
			if d.Tags, err = change(d.Tags); err != nil {
				return err
			}
			return putDoc(tx, kindRole, acct, name, ver, d, s.now())
		}
		d, ver, ok, err := getDoc[userDoc](tx, kindUser, acct, name)
		if err != nil || !ok {
			if err == nil {
				err = noSuchEntity(t, name)
			}
			return err
		}
		if d.Tags, err = change(d.Tags); err != nil {
			return err
		}
		return putDoc(tx, kindUser, acct, name, ver, d, s.now())
	})
	// Principal tags are cached with credentials: forget them.
	s.dir.forget(arn)
	return err
}

// listTags serves ListUserTags and ListRoleTags.
func (s *Service) listTags(ctx context.Context, r *request, kind string) (any, error) {
	t := tagTargetOf(kind)
	var v awsproto.Validation
	name := r.get(t.param)
	checkName(&v, name, t.field, 128)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn, err := s.entityARNOf(ctx, kind, acct, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, t.actions[2], arn, nil); err != nil {
		return nil, err
	}
	var tags []tag
	err = s.view(ctx, func(tx store.Tx) error {
		var ok bool
		var err error
		tags, _, ok, err = entityTags(tx, kind, acct, name)
		if err == nil && !ok {
			err = noSuchEntity(t, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	tags = slices.Clone(tags)
	slices.SortFunc(tags, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
	out, truncated, marker := paginate(tags, func(x tag) string { return x.Key }, pg)
	return struct {
		Tags        list[xmlTag] `xml:"Tags"`
		IsTruncated bool         `xml:"IsTruncated"`
		Marker      string       `xml:"Marker,omitempty"`
	}{listOf(xmlTags(out)), truncated, marker}, nil
}
