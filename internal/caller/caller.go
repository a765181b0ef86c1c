// Package caller describes who makes a request: the authenticated principal,
// the policies that govern it, and the facts of the request that policies
// and the audit trail read. The server builds a Caller once per request;
// every service reads it.
package caller

import (
	"time"
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

	// Policies is what IAM and Organizations say about this principal, for
	// authorizers; nil means "account root with no organization": allowed
	// everything in its own account.
	Policies any
}

// IsRoot reports whether the caller is its account's root.
func (c *Caller) IsRoot() bool { return c.Type == TypeRoot }
