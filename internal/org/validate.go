package org

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// The identifier forms of AWS Organizations:
//
//	organization  o-[a-z0-9]{10,32}
//	root          r-[0-9a-z]{4,32}
//	OU            ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}
//	account       \d{12}
//	policy        p-[0-9a-zA-Z_]{8,128}
//	create status car-[a-z0-9]{8,32}

func isLowerAlnum(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func isRootID(s string) bool {
	rest, ok := strings.CutPrefix(s, "r-")
	return ok && isLowerAlnum(rest, 4, 32)
}

func isOUID(s string) bool {
	rest, ok := strings.CutPrefix(s, "ou-")
	if !ok {
		return false
	}
	a, b, ok := strings.Cut(rest, "-")
	return ok && isLowerAlnum(a, 4, 32) && isLowerAlnum(b, 8, 32)
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isPolicyID(s string) bool {
	rest, ok := strings.CutPrefix(s, "p-")
	if !ok || len(rest) < 8 || len(rest) > 128 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isCreateStatusID(s string) bool {
	rest, ok := strings.CutPrefix(s, "car-")
	return ok && isLowerAlnum(rest, 8, 32)
}

// checks collects the first violation of a request's members, as AWS
// reports one InvalidInputException at a time.
type checks struct{ err error }

func (c *checks) fail(reason, field string) {
	if c.err == nil {
		c.err = invalidInput(reason, field)
	}
}

// required checks that a required member is present.
func (c *checks) required(s, field string) bool {
	if s == "" {
		c.fail(reasonInputRequired, field)
		return false
	}
	return true
}

// id checks a required identifier member against its form.
func (c *checks) id(s, field string, valid func(string) bool) {
	if c.required(s, field) && !valid(s) {
		c.fail(reasonInvalidPattern, field)
	}
}

// text checks the length in characters of a member.
func (c *checks) text(s, field string, min, max int) {
	switch n := utf8.RuneCountInString(s); {
	case n < min && n == 0 && min > 0:
		c.fail(reasonInputRequired, field)
	case n < min:
		c.fail(reasonMinLength, field)
	case n > max:
		c.fail(reasonMaxLength, field)
	}
}

// policyType checks a policy type member; required says whether it must be
// present.
func (c *checks) policyType(s, field string, required bool) {
	if s == "" {
		if required {
			c.fail(reasonInputRequired, field)
		}
		return
	}
	switch s {
	case typeSCP, "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY",
		"CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2", "SECURITYHUB_POLICY", "INSPECTOR_POLICY",
		"UPGRADE_ROLLOUT_POLICY", "BEDROCK_POLICY", "S3_POLICY", "NETWORK_SECURITY_DIRECTOR_POLICY", "GUARDDUTY_POLICY":
	default:
		c.fail(reasonInvalidPolicyType, field)
	}
}

// isEmail reports whether s has AWS's form of an email address:
// [^\s@]+@[^\s@]+\.[^\s@]+
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.ContainsAny(domain, "@") || strings.ContainsFunc(s, isSpace) {
		return false
	}
	i := strings.LastIndexByte(domain, '.')
	return i > 0 && i < len(domain)-1
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// isPrintableASCII reports whether s is made of characters U+0020 to U+007E.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// paging is the MaxResults and NextToken of a List operation.
type paging struct {
	MaxResults *int32
	NextToken  string
}

// page returns the page of items (sorted by key) that p asks for and the
// token of the next page ("" when it is the last). The token is the key of
// the page's last item, base64url: it stays valid while items change.
func page[T any](items []T, key func(T) string, p paging) ([]T, string, error) {
	limit := defaultMaxResults
	if p.MaxResults != nil {
		switch n := *p.MaxResults; {
		case n < 1:
			return nil, "", invalidInput(reasonMinValue, "MaxResults")
		case n > maxMaxResults:
			return nil, "", invalidInput(reasonMaxValue, "MaxResults")
		default:
			limit = int(n)
		}
	}
	start := 0
	if p.NextToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(p.NextToken)
		if err != nil || len(after) == 0 {
			return nil, "", invalidInput(reasonNextToken, "NextToken")
		}
		for start < len(items) && key(items[start]) <= string(after) {
			start++
		}
	}
	items = items[start:]
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1]))), nil
}
