package iam

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custoskms/custos/internal/awsproto"
)

// The regular expressions of AWS's IAM and STS models, as its validation
// messages print them.
const (
	reName       = `[\w+=,.@-]+`
	reSession    = `[\w+=,.@-]*`
	rePath       = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	rePathPrefix = `\u002F[\u0021-\u007E]*`
	reDocument   = `[\u0009\u000A\u000D\u0020-\u00FF]+`
	reTagKey     = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	reTagValue   = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	reAccessKey  = `[\w]+`
	reVersionID  = `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`
	reARN        = `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`
)

// Quotas of IAM, as AWS documents them.
const (
	maxPolicyDocument    = 131072 // characters of a policy document parameter
	maxManagedPolicySize = 6144   // characters of a managed policy, white space excluded
	maxUserInline        = 2048   // aggregate inline policy characters of a user
	maxRoleInline        = 10240
	maxGroupInline       = 5120
	maxTrustPolicySize   = 2048
	maxAttached          = 10 // managed policies attached to one user, role or group
	maxGroupsPerUser     = 10
	maxAccessKeys        = 2
	maxPolicyVersions    = 5
	maxTags              = 50
)

func isNameChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r))
}

func allRunes(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

// checkName validates an entity name (user, role, group, policy, inline
// policy): required, 1..max characters of [\w+=,.@-].
func checkName(v *awsproto.Validation, s, field string, max int) {
	if s == "" {
		v.Required(field)
		return
	}
	v.Length(s, field, 1, max)
	if !allRunes(s, isNameChar) {
		v.Pattern(s, field, reName)
	}
}

// checkOptionalName validates a name that may be absent.
func checkOptionalName(v *awsproto.Validation, r *request, param, field string, max int) string {
	s := r.get(param)
	if r.has(param) {
		if s == "" {
			v.Length(s, field, 1, max)
		} else {
			checkName(v, s, field, max)
		}
	}
	return s
}

// pathParam reads and validates a Path parameter; absent means "/".
func pathParam(v *awsproto.Validation, r *request) string {
	if !r.has("Path") {
		return "/"
	}
	p := r.get("Path")
	v.Length(p, "path", 1, 512)
	if p != "" && !validPath(p) {
		v.Pattern(p, "path", rePath)
	}
	return p
}

func validPath(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 3 || p[0] != '/' || p[len(p)-1] != '/' {
		return false
	}
	for i := 1; i < len(p)-1; i++ {
		if p[i] < 0x21 || p[i] > 0x7e {
			return false
		}
	}
	return true
}

// pathPrefixParam reads and validates a PathPrefix parameter; absent means
// "/".
func pathPrefixParam(v *awsproto.Validation, r *request) string {
	if !r.has("PathPrefix") {
		return "/"
	}
	p := r.get("PathPrefix")
	v.Length(p, "pathPrefix", 1, 512)
	ok := p != "" && p[0] == '/'
	for i := 1; ok && i < len(p); i++ {
		ok = p[i] >= 0x21 && p[i] <= 0x7e
	}
	if p != "" && !ok {
		v.Pattern(p, "pathPrefix", rePathPrefix)
	}
	return p
}

// checkDocument validates a policy document parameter: required,
// 1..131072 characters of tab, newline, return and U+0020..U+00FF.
func checkDocument(v *awsproto.Validation, s, field string) {
	if s == "" {
		v.Required(field)
		return
	}
	v.Length(s, field, 1, maxPolicyDocument)
	if !allRunes(s, func(r rune) bool { return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xff }) {
		v.Pattern(s, field, reDocument)
	}
}

// checkARNParam validates a required ARN parameter (20..2048 characters).
func checkARNParam(v *awsproto.Validation, s, field string) {
	if s == "" {
		v.Required(field)
		return
	}
	v.Length(s, field, 20, 2048)
	if !allRunes(s, func(r rune) bool { return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != utf8.RuneError }) {
		v.Pattern(s, field, reARN)
	}
}

// documentSize is a policy's size as IAM's quotas count it: characters
// other than white space.
func documentSize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func isTagKeyChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.In(r, unicode.Z) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r)
}

// tagsParam reads and validates a list of tags named param ("Tags"); field
// is the member name in messages ("tags"). Two keys that differ only in
// case are InvalidInput, as in IAM.
func tagsParam(v *awsproto.Validation, r *request, param, field string) ([]tag, error) {
	qt, err := awsproto.QueryTags(r.form, param)
	if err != nil {
		return nil, err
	}
	if len(qt) > maxTags {
		v.Add(awsproto.Quote(strconv.Itoa(len(qt))+" tags"), field, "Member must have length less than or equal to "+strconv.Itoa(maxTags))
		return nil, nil
	}
	tags := make([]tag, 0, len(qt))
	for i, t := range qt {
		prefix := field + "." + strconv.Itoa(i+1) + ".member."
		if t.Key == "" {
			if _, ok := r.form[param+".member."+strconv.Itoa(i+1)+".Key"]; !ok {
				v.Required(prefix + "key")
				continue
			}
		}
		v.Length(t.Key, prefix+"key", 1, 128)
		if !allRunes(t.Key, isTagKeyChar) {
			v.Pattern(t.Key, prefix+"key", reTagKey)
		}
		v.Length(t.Value, prefix+"value", 0, 256)
		if !allRunes(t.Value, isTagKeyChar) {
			v.Pattern(t.Value, prefix+"value", reTagValue)
		}
		tags = append(tags, tag{Key: t.Key, Value: t.Value})
	}
	for i := range tags {
		for j := i + 1; j < len(tags); j++ {
			if strings.EqualFold(tags[i].Key, tags[j].Key) {
				return nil, errInvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
	}
	return tags, nil
}

// tagKeysParam reads and validates a list of tag keys (UntagUser,
// UntagRole).
func tagKeysParam(v *awsproto.Validation, r *request) ([]string, error) {
	keys, err := awsproto.QueryList(r.form, "TagKeys")
	if err != nil {
		return nil, err
	}
	if keys == nil {
		v.Required("tagKeys")
	}
	if len(keys) > maxTags {
		v.Add(awsproto.Quote(strconv.Itoa(len(keys))+" keys"), "tagKeys", "Member must have length less than or equal to "+strconv.Itoa(maxTags))
	}
	for _, k := range keys {
		v.Length(k, "tagKeys.member", 1, 128)
		if !allRunes(k, isTagKeyChar) {
			v.Pattern(k, "tagKeys.member", reTagKey)
		}
	}
	return keys, nil
}

// page is the paging of one List call.
type page struct {
	max   int
	after string // return items whose sort key is greater
}

// pageParams reads MaxItems (1..1000, default 100) and Marker.
func pageParams(v *awsproto.Validation, r *request) (page, error) {
	p := page{max: 100}
	if r.has("MaxItems") {
		n, err := strconv.ParseInt(r.get("MaxItems"), 10, 32)
		if err != nil {
			return p, errValidation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be a number", r.get("MaxItems"))
		}
		v.Range(n, "maxItems", 1, 1000)
		p.max = int(n)
	}
	if r.has("Marker") {
		m := r.get("Marker")
		v.Length(m, "marker", 1, 320)
		if m != "" {
			b, err := base64.RawURLEncoding.DecodeString(m)
			if err != nil {
				return p, errInvalidInput("Invalid Marker.")
			}
			p.after = string(b)
		}
	}
	return p, nil
}

// paginate returns the items of sorted (ordered by key) after p.after, at
// most p.max, whether more remain, and the marker of the next page.
func paginate[T any](sorted []T, key func(T) string, p page) (out []T, truncated bool, marker string) {
	i := 0
	if p.after != "" {
		for i < len(sorted) && key(sorted[i]) <= p.after {
			i++
		}
	}
	out = sorted[i:]
	if len(out) > p.max {
		out = out[:p.max]
		return out, true, base64.RawURLEncoding.EncodeToString([]byte(key(out[len(out)-1])))
	}
	return out, false, ""
}

// urlEncode escapes a policy document as IAM returns documents: every
// byte but the unreserved characters of RFC 3986 percent-encoded.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
