// Package caller describes who makes a request: the authenticated principal,
// the policies that govern it, and the facts of the request that policies
// and the audit trail read. The server builds a Caller once per request;
// every service reads it.
package caller

import (
	"time"

	"github.com/custoskms/custos/internal/policy"
)

// Principal types, as CloudTrail's userIdentity.type spells them.
const (
	TypeRoot        = "Root"
	TypeIAMUser     = "IAMUser"
	TypeAssumedRole = "AssumedRole"
)

// Caller is the authenticated principal of one request.
type Caller struct {
	AccountID   string // the principal's account
	ARN         string // arn:aws:iam::A:root, arn:aws:iam::A:user/path/name, arn:aws:sts::A:assumed-role/R/S
	Type        string // TypeRoot, TypeIAMUser, TypeAssumedRole
	UserID      string // CloudTrail's principalId: the account id, AIDA..., or AROA...:session
	UserName    string // IAM user name; "" otherwise
	AccessKeyID string

	// For an assumed-role session.
	RoleARN        string // arn:aws:iam::A:role/path/name
	RoleName       string
	SessionName    string
	SessionExpires time.Time
	SessionIssued  time.Time

	Tags map[string]string // principal tags (aws:PrincipalTag/*): the user's or role's, overridden by session tags

	// The request.
	Region      string // the SigV4 scope region: the region the request is served in
	SourceIP    string
	UserAgent   string
	Secure      bool      // arrived over TLS
	RequestTime time.Time // when the request was received
	// GrantTokens are the grant tokens the request carries (the KMS
	// GrantTokens member), for authorizers; nil when it carries none. They
	// are bearer credentials: never log or record them.
	GrantTokens []string

	// Policies are what IAM and Organizations say about this principal, for
	// authorizers; nil means no identity policies and no organization.
	Policies *Policies

	// Trail collects what the audit record of the request needs to know
	// from the services that served it; nil when nothing records it.
	Trail *Trail
}

// Policies are the policies that govern a caller, apart from those of the
// resource it acts on.
type Policies struct {
	Identity []*policy.Policy   // the user's (and its groups') or the role's policies
	Boundary *policy.Policy     // the permissions boundary, or nil
	Session  []*policy.Policy   // the session policies of an assumed-role session, or nil
	SCPs     [][]*policy.Policy // one slice per organization level; nil outside an organization or for its management account
	OrgID    string             // aws:PrincipalOrgID
	OrgPaths []string           // aws:PrincipalOrgPaths
}

// Trail is what services report about a request for its audit record.
type Trail struct {
	Resources []string // ARNs of the keys the request acted on
	Decision  string   // "Allow" or "Deny", when an authorizer decided
	Reason    string   // why: the deciding statements or the denial reason

	// Params are the request's parameters as CloudTrail records them
	// (camelCase names; never plaintexts, ciphertexts or secrets), and
	// Response the reply's elements it records (nil for most operations).
	Params   map[string]any
	Response any
	// EncryptionContext is the request's encryption context, for the
	// hygiene check.
	EncryptionContext map[string]string
}

// IsRoot reports whether the caller is its account's root.
func (c *Caller) IsRoot() bool { return c.Type == TypeRoot }
