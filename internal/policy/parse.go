package policy

import (
	"fmt"
	"strings"
)

// Parse parses and validates a policy document of the given kind. The error is
// a *SyntaxError.
//
// Validation follows the AWS grammar: Version "2012-10-17" or "2008-10-17"
// (or none); Id a string; Statement an object or an array of objects, possibly
// empty for key policies; in a statement, only the elements Sid, Effect,
// Principal, NotPrincipal, Action, NotAction, Resource, NotResource and
// Condition, with Effect exactly "Allow" or "Deny", at most one of each
// Action/NotAction, Resource/NotResource, Principal/NotPrincipal pair, string or
// string-list values, actions "*" or "vendor:action", resources "*" or ARNs,
// known condition operators and vendor-prefixed condition keys. Kind-specific
// rules are described at each Kind.
func Parse(doc string, kind Kind) (*Policy, error) {
	if kind < KeyPolicy || kind > Trust {
		return nil, &SyntaxError{fmt.Sprintf("unknown policy kind %d", int(kind))}
	}
	root, err := parseJSON(doc)
	if err != nil {
		return nil, &SyntaxError{"The policy is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	p := &Policy{kind: kind}
	ps := parser{kind: kind, p: p}
	if err := ps.document(root); err != nil {
		return nil, err
	}
	return p, nil
}

type parser struct {
	kind Kind
	p    *Policy
}

func (ps *parser) iam() bool { return ps.kind != KeyPolicy }

func fail(format string, args ...any) error {
	return &SyntaxError{fmt.Sprintf(format, args...)}
}

func (ps *parser) document(root jsonValue) error {
	if root.kind != jsonObject {
		return fail("The policy must be a JSON object, not %s.", root.kind)
	}
	var stmts *jsonValue
	for i := range root.obj {
		m := &root.obj[i]
		switch m.name {
		case "Version":
			if m.value.kind != jsonString {
				return fail("Version must be a string, not %s.", m.value.kind)
			}
			if m.value.text != Version2012 && m.value.text != Version2008 {
				return fail("Version %q is not valid: use %q or %q.", m.value.text, Version2012, Version2008)
			}
			ps.p.version = m.value.text
		case "Id":
			if m.value.kind != jsonString {
				return fail("Id must be a string, not %s.", m.value.kind)
			}
			ps.p.id = m.value.text
		case "Statement":
			stmts = &m.value
		default:
			return fail("The policy contains an unknown element %q: only Version, Id and Statement are allowed at the top level.", m.name)
		}
	}
	if stmts == nil {
		return fail("The policy must contain a Statement element.")
	}
	var list []jsonValue
	switch stmts.kind {
	case jsonObject:
		list = []jsonValue{*stmts}
	case jsonArray:
		list = stmts.arr
	default:
		return fail("Statement must be an object or an array of objects, not %s.", stmts.kind)
	}
	if len(list) == 0 && ps.iam() {
		// IAM answers an empty statement list with its generic syntax error
		// (observed behaviour, as mirrored by AWS emulators); KMS accepts one.
		return fail("Syntax errors in policy. The Statement array is empty.")
	}
	vars := ps.p.version == Version2012
	sids := make(map[string]bool)
	ps.p.stmts = make([]statement, 0, len(list))
	for i := range list {
		st, err := ps.statement(i, &list[i], vars)
		if err != nil {
			return err
		}
		// UNCERTAIN: KMS is not known to reject duplicate Sids; IAM does.
		if st.src.Sid != "" && ps.iam() {
			if sids[st.src.Sid] {
				return fail("Statement IDs (SID) in a single policy must be unique.")
			}
			sids[st.src.Sid] = true
		}
		ps.p.stmts = append(ps.p.stmts, st)
	}
	return nil
}

func (ps *parser) statement(i int, v *jsonValue, vars bool) (statement, error) {
	var st statement
	if v.kind != jsonObject {
		return st, fail("Statement[%d] must be an object, not %s.", i, v.kind)
	}
	// The Sid comes first so that later messages can name the statement.
	for _, m := range v.obj {
		if m.name == "Sid" {
			if m.value.kind != jsonString {
				return st, fail("Statement[%d]: Sid must be a string, not %s.", i, m.value.kind)
			}
			st.src.Sid = m.value.text
		}
	}
	at := label(i, st.src.Sid)
	// Key policies use Sids like "Enable IAM User Permissions"; IAM does not
	// allow them. UNCERTAIN: SCPs are left free like key policies.
	if (ps.kind == Identity || ps.kind == Trust) && !isAlphanumeric(st.src.Sid) {
		return st, fail("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
	}
	seen := map[string]bool{}
	for _, m := range v.obj {
		seen[m.name] = true
		var err error
		switch m.name {
		case "Sid":
		case "Effect":
			if m.value.kind != jsonString {
				return st, fail("%s: Effect must be the string \"Allow\" or \"Deny\", not %s.", at, m.value.kind)
			}
			switch m.value.text {
			case "Allow":
			case "Deny":
				st.deny = true
			default:
				return st, fail("%s: Effect must be \"Allow\" or \"Deny\" (case-sensitive), not %q.", at, m.value.text)
			}
			st.src.Effect = m.value.text
		case "Principal", "NotPrincipal":
			var pr *Principals
			st.principal, pr, err = ps.principal(at, m.name, m.value)
			if m.name == "Principal" {
				st.src.Principal = pr
			} else {
				st.src.NotPrincipal, st.notPrincipal = pr, true
			}
		case "Action", "NotAction":
			err = ps.actions(&st, at, m.name, m.value)
		case "Resource", "NotResource":
			err = ps.resources(&st, at, m.name, m.value, vars)
		case "Condition":
			err = ps.conditions(&st, at, m.value, vars)
		default:
			err = fail("%s contains an unknown element %q.", at, m.name)
		}
		if err != nil {
			return st, err
		}
	}
	switch {
	case !seen["Effect"]:
		return st, fail("%s is missing required field Effect.", at)
	case seen["Action"] && seen["NotAction"]:
		return st, fail("%s has both Action and NotAction: use one.", at)
	case seen["Resource"] && seen["NotResource"]:
		return st, fail("%s has both Resource and NotResource: use one.", at)
	case seen["Principal"] && seen["NotPrincipal"]:
		return st, fail("%s has both Principal and NotPrincipal: use one.", at)
	case !seen["Action"] && !seen["NotAction"]:
		return st, fail("Policy statement must contain actions.")
	}
	hasPrincipal := seen["Principal"] || seen["NotPrincipal"]
	hasResource := seen["Resource"] || seen["NotResource"]
	switch ps.kind {
	case KeyPolicy:
		if !hasPrincipal {
			return st, fail("%s is missing required field Principal: every statement of a key policy names a Principal or NotPrincipal.", at)
		}
		if !hasResource {
			return st, fail("Policy statement must contain resources.")
		}
	case Identity, SCP:
		if hasPrincipal {
			return st, fail("Policy document should not specify a principal.")
		}
		if !hasResource {
			if ps.kind == Identity {
				return st, fail("Policy statement must contain resources.")
			}
			st.noResource = true
		}
	case Trust:
		if !hasPrincipal {
			return st, fail("Missing required field Principal")
		}
		if seen["Resource"] {
			return st, fail("Has prohibited field Resource")
		}
		if seen["NotResource"] {
			return st, fail("Has prohibited field NotResource")
		}
		st.noResource = true
		for _, a := range st.src.Action {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "sts:") {
				return st, fail("AssumeRole policy may only specify STS AssumeRole actions.")
			}
		}
	}
	return st, nil
}

func isAlphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// stringList reads an element whose value is a string or an array of strings.
func stringList(at, name string, v jsonValue) ([]string, error) {
	switch v.kind {
	case jsonString:
		return []string{v.text}, nil
	case jsonArray:
		out := make([]string, len(v.arr))
		for i, e := range v.arr {
			if e.kind != jsonString {
				return nil, fail("%s: %s must be a string or an array of strings; element %d is %s.", at, name, i, e.kind)
			}
			out[i] = e.text
		}
		return out, nil
	}
	return nil, fail("%s: %s must be a string or an array of strings, not %s.", at, name, v.kind)
}

func (ps *parser) actions(st *statement, at, name string, v jsonValue) error {
	list, err := stringList(at, name, v)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fail("Policy statement must contain actions.")
	}
	for _, a := range list {
		if msg := checkAction(a); msg != "" {
			return fail("%s", msg)
		}
		if a == "*" && name == "Action" {
			st.anyAction = true
		}
		st.actions = append(st.actions, compilePattern(a, true, false))
	}
	if name == "Action" {
		st.src.Action = list
	} else {
		st.src.NotAction, st.notAction = list, true
	}
	return nil
}

// checkAction validates an action string with IAM's rules and messages.
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	vendor, rest, found := strings.Cut(a, ":")
	switch {
	case !found:
		return "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	case strings.Contains(rest, ":"):
		return "Actions/Condition can contain only one colon."
	case !isVendor(vendor):
		return fmt.Sprintf("Vendor %s is not valid", vendor)
	}
	return ""
}

// isVendor reports whether s is a service prefix: letters, digits, '-' and
// '.', no wildcards.
func isVendor(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (ps *parser) resources(st *statement, at, name string, v jsonValue, vars bool) error {
	list, err := stringList(at, name, v)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fail("Policy statement must contain resources.")
	}
	for _, r := range list {
		if msg := checkResource(r); msg != "" {
			return fail("%s", msg)
		}
		st.resources = append(st.resources, compileARNPattern(r, vars))
	}
	if name == "Resource" {
		st.src.Resource = list
	} else {
		st.src.NotResource, st.notResource = list, true
	}
	return nil
}

// checkResource validates a Resource value: "*" or an ARN, with IAM's
// messages.
func checkResource(r string) string {
	if r == "*" {
		return ""
	}
	scheme, rest, found := strings.Cut(r, ":")
	if !found || scheme != "arn" {
		return fmt.Sprintf("Resource %s must be in ARN format or \"*\".", r)
	}
	partition, _, found := strings.Cut(rest, ":")
	if !found {
		return "Resource vendor must be fully qualified and cannot contain regexes."
	}
	if !validPartitions[partition] && !hasWildcard(partition) {
		return fmt.Sprintf("Partition %q is not valid for resource %q.", partition, r)
	}
	// IAM's legacy parser rejects an empty component before the resource part
	// of a short ARN ("arn:aws:s3::bucket").
	if strings.Count(r, ":") < 5 && strings.Contains(r, "::") {
		return "The policy failed legacy parsing"
	}
	return ""
}

// principal reads a Principal or NotPrincipal element.
func (ps *parser) principal(at, name string, v jsonValue) (*principalSet, *Principals, error) {
	set := &principalSet{}
	pr := &Principals{}
	if v.kind == jsonString {
		if v.text != "*" {
			return nil, nil, ps.invalidPrincipal(at, name, v.text)
		}
		set.all, pr.All = true, true
		return set, pr, nil
	}
	if v.kind != jsonObject {
		return nil, nil, fail("%s: %s must be \"*\" or an object, not %s.", at, name, v.kind)
	}
	if len(v.obj) == 0 {
		return nil, nil, ps.invalidPrincipal(at, name, "{}")
	}
	for _, m := range v.obj {
		list, err := stringList(at, name+"."+m.name, m.value)
		if err != nil {
			return nil, nil, err
		}
		switch m.name {
		case "AWS":
			pr.AWS = list
			for _, a := range list {
				if err := ps.awsPrincipal(set, at, name, a); err != nil {
					return nil, nil, err
				}
			}
		case "Service":
			pr.Service = list
			for _, s := range list {
				if s == "" {
					return nil, nil, ps.invalidPrincipal(at, name, `"Service":""`)
				}
				set.services = append(set.services, s)
			}
		case "Federated":
			pr.Federated = list
			for _, s := range list {
				if s == "" {
					return nil, nil, ps.invalidPrincipal(at, name, `"Federated":""`)
				}
				set.federated = append(set.federated, s)
			}
		case "CanonicalUser":
			pr.CanonicalUser = list
			for _, s := range list {
				if s == "" {
					return nil, nil, ps.invalidPrincipal(at, name, `"CanonicalUser":""`)
				}
			}
		default:
			return nil, nil, ps.invalidPrincipal(at, name, fmt.Sprintf("%q", m.name))
		}
	}
	return set, pr, nil
}

// awsPrincipal reads one "AWS" principal value: "*", a 12-digit account ID
// (meaning arn:aws:iam::ID:root), the root, a user or a role of an account, or
// an assumed-role or federated-user session. AWS allows no other wildcard.
func (ps *parser) awsPrincipal(set *principalSet, at, name, a string) error {
	if a == "*" {
		set.awsAll = true
		return nil
	}
	if isAccountID(a) {
		set.roots = append(set.roots, a)
		return nil
	}
	c, ok := arnParts(a)
	if !ok || c[0] != "arn" || !validPartitions[c[1]] || c[3] != "" || !isAccountID(c[4]) || hasWildcard(a) {
		return ps.invalidPrincipal(at, name, fmt.Sprintf(`"AWS":%q`, a))
	}
	switch c[2] {
	case "iam":
		switch {
		case c[5] == "root":
			set.roots = append(set.roots, c[4])
			return nil
		case hasNamedPath(c[5], "user/"), hasNamedPath(c[5], "role/"):
			set.arns = append(set.arns, a)
			return nil
		}
	case "sts":
		if r, ok := strings.CutPrefix(c[5], "assumed-role/"); ok {
			role, session, found := strings.Cut(r, "/")
			if found && role != "" && session != "" {
				set.arns = append(set.arns, a)
				return nil
			}
		}
		if hasNamedPath(c[5], "federated-user/") {
			set.arns = append(set.arns, a)
			return nil
		}
	}
	return ps.invalidPrincipal(at, name, fmt.Sprintf(`"AWS":%q`, a))
}

// hasNamedPath reports whether res is prefix followed by an optional path and a
// non-empty name ("user/name", "user/path/name").
func hasNamedPath(res, prefix string) bool {
	rest, ok := strings.CutPrefix(res, prefix)
	return ok && rest != "" && !strings.HasSuffix(rest, "/")
}

func (ps *parser) invalidPrincipal(at, name, what string) error {
	if ps.kind == KeyPolicy {
		return fail("Policy contains a statement with one or more invalid principals.")
	}
	return fail("Invalid principal in policy: %s", what)
}

func isAccountID(s string) bool { return len(s) == 12 && isDigits(s) }

// conditions reads a Condition element: {operator: {key: value | [values]}}.
func (ps *parser) conditions(st *statement, at string, v jsonValue, vars bool) error {
	if v.kind != jsonObject {
		return fail("%s: Condition must be an object, not %s.", at, v.kind)
	}
	for _, opm := range v.obj {
		proto, ok := parseOperator(opm.name)
		if !ok {
			return fail("Invalid Condition type : %s", opm.name)
		}
		if opm.value.kind != jsonObject {
			return fail("%s: the value of condition operator %s must be an object of keys and values, not %s.", at, opm.name, opm.value.kind)
		}
		for _, km := range opm.value.obj {
			if !strings.Contains(km.name, ":") || strings.HasPrefix(km.name, ":") {
				return fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
			}
			values, err := conditionValues(at, opm.name, km.name, km.value)
			if err != nil {
				return err
			}
			c := proto
			c.key = km.name
			c.values = make([]condValue, len(values))
			for i, s := range values {
				c.values[i] = c.compileValue(s, vars)
				if isDateClass(c.class) && !c.values[i].ok {
					return fail("%s: %s value %q of %s is not a date: use ISO 8601 (2006-01-02T15:04:05Z) or epoch seconds.", at, opm.name, s, km.name)
				}
			}
			st.conds = append(st.conds, c)
			st.src.Condition = append(st.src.Condition, Condition{Operator: opm.name, Key: km.name, Values: values})
		}
	}
	return nil
}

func isDateClass(c opClass) bool { return c >= opDateEquals && c <= opDateGreaterThanEquals }

// conditionValues reads the value of one condition key: a string, number or
// boolean, or an array of them. JSON numbers and booleans stand for their text.
func conditionValues(at, op, key string, v jsonValue) ([]string, error) {
	scalar := func(e jsonValue) (string, bool) {
		switch e.kind {
		case jsonString, jsonNumber, jsonBool:
			return e.text, true
		}
		return "", false
	}
	if s, ok := scalar(v); ok {
		return []string{s}, nil
	}
	if v.kind != jsonArray {
		return nil, fail("%s: the value of %s in %s must be a string, number, boolean or an array of them, not %s.", at, key, op, v.kind)
	}
	out := make([]string, len(v.arr))
	for i, e := range v.arr {
		s, ok := scalar(e)
		if !ok {
			return nil, fail("%s: the values of %s in %s must be strings, numbers or booleans; element %d is %s.", at, key, op, i, e.kind)
		}
		out[i] = s
	}
	return out, nil
}
