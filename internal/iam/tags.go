package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Tags of users and roles: TagUser, TagRole, UntagUser, UntagRole,
// ListUserTags and ListRoleTags, on the entity their action names.

// tagNameMax is the longest entity name the tag calls accept (role names
// included).
const tagNameMax = 128

func (s *Service) tagEntity(ctx context.Context, r *request) (any, error) {
	return nil, s.changeTags(ctx, r, true)
}

func (s *Service) untagEntity(ctx context.Context, r *request) (any, error) {
	return nil, s.changeTags(ctx, r, false)
}

// changeTags serves TagUser, TagRole (add) and UntagUser, UntagRole.
func (s *Service) changeTags(ctx context.Context, r *request, add bool) error {
	h := holderOf(r.action)
	var v awsproto.Validation
	name := r.get(h.param)
	checkName(&v, name, h.field, tagNameMax)
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
	keysFn := func(pc *policy.Context) { pc.Set("aws:TagKeys", keys...) }
	if add {
		keysFn = requestTagKeys(tags)
	}
	arn, err := s.access(ctx, r, &v, h, name, "iam:"+r.action, keysFn)
	if err != nil {
		return err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		doc, f, ver, err := loadHolder(tx, h, acct, name)
		if err != nil {
			return err
		}
		if add {
			have := setTags(slices.Clone(*f.tags), tags)
			if len(have) > maxTags {
				return errLimitExceeded("The number of tags has reached the maximum limit.")
			}
			*f.tags = have
		} else {
			*f.tags = slices.DeleteFunc(slices.Clone(*f.tags), func(x tag) bool {
				return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, x.Key) })
			})
		}
		return putDoc(tx, h.kind, acct, name, ver, doc, s.now())
	})
	// Principal tags are cached with credentials: forget them.
	s.dir.forget(arn)
	return err
}

// listTags serves ListUserTags and ListRoleTags.
func (s *Service) listTags(ctx context.Context, r *request) (any, error) {
	h := holderOf(r.action)
	var v awsproto.Validation
	name := r.get(h.param)
	checkName(&v, name, h.field, tagNameMax)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if _, err := s.access(ctx, r, &v, h, name, "iam:"+r.action, nil); err != nil {
		return nil, err
	}
	var tags []tag
	err = s.view(ctx, func(tx store.Tx) error {
		_, f, _, err := loadHolder(tx, h, r.c.AccountID, name)
		if err == nil {
			tags = slices.Clone(*f.tags)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(tags, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
	out, truncated, marker := paginate(tags, func(x tag) string { return x.Key }, pg)
	return struct {
		Tags        list[xmlTag] `xml:"Tags"`
		IsTruncated bool         `xml:"IsTruncated"`
		Marker      string       `xml:"Marker,omitempty"`
	}{listOf(xmlTags(out)), truncated, marker}, nil
}
