package kms

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// maxTagsPerKey is AWS's limit of tags on one resource.
const maxTagsPerKey = 50

// validateTags checks the members of a Tags list.
func validateTags(v *awsproto.Validation, tags []Tag) {
	for i, t := range tags {
		field := "tags." + strconv.Itoa(i+1) + ".member."
		v.Length(t.TagKey, field+"tagKey", 1, 128)
		v.Length(t.TagValue, field+"tagValue", 0, 256)
	}
}

// tagErr applies AWS's semantic tag rules to a request's tags.
func tagErr(tags []Tag) error {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.TagKey), "aws:") {
			return awsproto.Errorf("TagException", "Tags beginning with aws: are reserved.")
		}
		if seen[t.TagKey] {
			return awsproto.Errorf("TagException", "Duplicate tag keys")
		}
		seen[t.TagKey] = true
	}
	if len(tags) > maxTagsPerKey {
		return awsproto.Errorf("TagException", "Too many tags")
	}
	return nil
}

// requestTags adds aws:RequestTag/* and aws:TagKeys for the tags of a
// request.
func requestTags(tags []Tag) func(*policy.Context) {
	return func(pc *policy.Context) {
		if len(tags) == 0 {
			return
		}
		keys := make([]string, len(tags))
		for i, t := range tags {
			pc.Set("aws:RequestTag/"+t.TagKey, t.TagValue)
			keys[i] = t.TagKey
		}
		pc.Set("aws:TagKeys", keys...)
	}
}

func storeTags(tags []Tag) []store.Tag {
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.TagKey, Value: t.TagValue}
	}
	return out
}

// TagResourceInput is TagResource's request.
type TagResourceInput struct {
	KeyId *string
	Tags  []Tag
}

// TagResource adds or replaces tags on a key.
func (s *Service) TagResource(ctx context.Context, c *Caller, in *TagResourceInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.Tags == nil {
		v.Required("tags")
	}
	validateTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := tagErr(in.Tags); err != nil {
		return nil, err
	}
	_, err := s.change(ctx, c, "TagResource", *in.KeyId, "kms:TagResource", useModify, requestTags(in.Tags), func(tx store.Tx, k *store.Key) error {
		have, err := tx.Tags(k.ARN)
		if err != nil {
			return err
		}
		keys := make(map[string]bool, len(have)+len(in.Tags))
		for _, t := range have {
			keys[t.Key] = true
		}
		for _, t := range in.Tags {
			keys[t.TagKey] = true
		}
		if len(keys) > maxTagsPerKey {
			return awsproto.Errorf("TagException", "Too many tags")
		}
		return tx.PutTags(k.ARN, storeTags(in.Tags))
	})
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// UntagResourceInput is UntagResource's request.
type UntagResourceInput struct {
	KeyId   *string
	TagKeys []string
}

// UntagResource removes tags from a key; keys it does not have are ignored.
func (s *Service) UntagResource(ctx context.Context, c *Caller, in *UntagResourceInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.TagKeys == nil {
		v.Required("tagKeys")
	}
	for i, k := range in.TagKeys {
		v.Length(k, "tagKeys."+strconv.Itoa(i+1)+".member", 1, 128)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	_, err := s.change(ctx, c, "UntagResource", *in.KeyId, "kms:UntagResource", useModify, func(pc *policy.Context) { pc.Set("aws:TagKeys", in.TagKeys...) }, func(tx store.Tx, k *store.Key) error {
		return tx.DeleteTags(k.ARN, in.TagKeys)
	})
	if err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// ListResourceTagsInput is ListResourceTags' request.
type ListResourceTagsInput struct {
	KeyId *string
	ListInput
}

// ListResourceTagsOutput is ListResourceTags' reply.
type ListResourceTagsOutput struct {
	Tags       []Tag
	NextMarker string `json:",omitempty"`
	Truncated  bool
}

// ListResourceTags lists a key's tags, ordered by key.
func (s *Service) ListResourceTags(ctx context.Context, c *Caller, in *ListResourceTagsInput) (*ListResourceTagsOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	in.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	limit, after, err := in.page(50)
	if err != nil {
		return nil, err
	}
	k, err := s.key(ctx, c, *in.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:ListResourceTags", key: k}); err != nil {
		return nil, err
	}
	var tags []store.Tag
	err = s.view(ctx, "ListResourceTags", func(tx store.Tx) error {
		var err error
		tags, err = tx.Tags(k.meta.ARN)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	i := sort.Search(len(tags), func(i int) bool { return tags[i].Key > after })
	tags = tags[i:]
	out := &ListResourceTagsOutput{Tags: []Tag{}}
	if len(tags) > limit {
		tags = tags[:limit]
		out.Truncated = true
		out.NextMarker = encodeMarker(tags[len(tags)-1].Key)
	}
	for _, t := range tags {
		out.Tags = append(out.Tags, Tag{TagKey: t.Key, TagValue: t.Value})
	}
	return out, nil
}
