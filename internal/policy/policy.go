package policy

import (
	"fmt"
	"strings"
)

// Kind says where a document is used; validation differs by kind.
type Kind int

const (
	// KeyPolicy is the resource policy of a KMS key: every statement names a
	// Principal or NotPrincipal, and a Resource.
	KeyPolicy Kind = iota
	// Identity is an IAM identity policy (managed or inline, also permissions
	// boundaries and session policies): no Principal; Action and Resource
	// required; Sids alphanumeric and unique.
	Identity
	// SCP is an Organizations service control policy: no Principal. SCPs now
	// take the full IAM language (Condition, NotAction, Resource and
	// NotResource in Allow statements too), as the current Organizations "SCP
	// syntax" page documents; Resource may be omitted and then means "*".
	SCP
	// Trust is an IAM role trust policy: Principal or NotPrincipal required,
	// no Resource, and only sts: actions.
	Trust
)

func (k Kind) String() string {
	switch k {
	case KeyPolicy:
		return "KeyPolicy"
	case Identity:
		return "Identity"
	case SCP:
		return "SCP"
	case Trust:
		return "Trust"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Versions of the policy language.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// SyntaxError is the error Parse returns for a document it rejects. Message
// says what is wrong; where AWS's wording for the fault is known it is used
// word for word (for KMS key policies the text after
// "MalformedPolicyDocumentException: ", for IAM the text after
// "MalformedPolicyDocument: "). Callers choose the error code.
type SyntaxError struct {
	Message string
}

func (e *SyntaxError) Error() string { return "policy: " + e.Message }

// Policy is a parsed, validated policy document. It is immutable and safe for
// concurrent use.
type Policy struct {
	kind    Kind
	version string
	id      string
	stmts   []statement
}

// statement is the compiled form of one statement.
type statement struct {
	src          Statement
	deny         bool
	principal    *principalSet // nil when the statement has no principal element
	notPrincipal bool
	anyAction    bool // Action "*" (fast path)
	actions      []pattern
	notAction    bool
	resources    []arnPattern // nil with noResource
	noResource   bool         // no Resource element (trust policies; SCPs): matches every resource
	notResource  bool
	conds        []condition
}

// Statement is one statement as written in the document. Slices are copies:
// changing them does not change the policy.
type Statement struct {
	Sid          string
	Effect       string // "Allow" or "Deny"
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Condition    []Condition // in document order
}

// Principals is a Principal or NotPrincipal element as written. All is set for
// "Principal": "*".
type Principals struct {
	All           bool
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string
}

// Condition is one operator-key test of a Condition element.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLike"
	Key      string // as written
	Values   []string
}

// Kind returns the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Version returns the Version element, or "" when the document has none (the
// 2008-10-17 rules apply then: no policy variables).
func (p *Policy) Version() string { return p.version }

// ID returns the Id element, or "".
func (p *Policy) ID() string { return p.id }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.stmts) }

// Statements returns the statements as written, in document order.
func (p *Policy) Statements() []Statement {
	out := make([]Statement, len(p.stmts))
	for i := range p.stmts {
		out[i] = p.stmts[i].src.clone()
	}
	return out
}

// HasCondition reports whether any statement tests the condition key (case
// insensitive).
func (p *Policy) HasCondition(key string) bool {
	for i := range p.stmts {
		for j := range p.stmts[i].conds {
			if keyEqual(p.stmts[i].conds[j].key, key) {
				return true
			}
		}
	}
	return false
}

func (s Statement) clone() Statement {
	c := s
	c.Principal = s.Principal.clone()
	c.NotPrincipal = s.NotPrincipal.clone()
	c.Action = cloneStrings(s.Action)
	c.NotAction = cloneStrings(s.NotAction)
	c.Resource = cloneStrings(s.Resource)
	c.NotResource = cloneStrings(s.NotResource)
	if s.Condition != nil {
		c.Condition = make([]Condition, len(s.Condition))
		for i, cd := range s.Condition {
			cd.Values = cloneStrings(cd.Values)
			c.Condition[i] = cd
		}
	}
	return c
}

func (p *Principals) clone() *Principals {
	if p == nil {
		return nil
	}
	return &Principals{
		All:           p.All,
		AWS:           cloneStrings(p.AWS),
		Service:       cloneStrings(p.Service),
		Federated:     cloneStrings(p.Federated),
		CanonicalUser: cloneStrings(p.CanonicalUser),
	}
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

// effectName returns "Allow" or "Deny".
func (s *statement) effectName() string {
	if s.deny {
		return "Deny"
	}
	return "Allow"
}

// label names a statement in error messages: Statement[1] or
// Statement[1] (Sid "x").
func label(i int, sid string) string {
	if sid == "" {
		return fmt.Sprintf("Statement[%d]", i)
	}
	return fmt.Sprintf("Statement[%d] (Sid %q)", i, sid)
}

// validPartitions are the AWS partitions an ARN may name.
var validPartitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }
