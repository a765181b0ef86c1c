package caller

import (
	"time"

	"github.com/custoskms/custos/internal/policy"
)

// PolicyPrincipal returns the caller as the policy language matches it.
func (c *Caller) PolicyPrincipal() policy.Principal {
	return policy.Principal{ARN: c.ARN, AccountID: c.AccountID, RoleARN: c.RoleARN}
}

// PolicyContext returns a context holding the global condition keys of the
// request: the principal's (aws:PrincipalArn, aws:PrincipalType,
// aws:PrincipalAccount, aws:userid, aws:username, aws:PrincipalTag/*,
// aws:PrincipalOrgID, aws:PrincipalOrgPaths, and for sessions
// aws:TokenIssueTime and aws:MultiFactorAuthPresent) and the request's
// (aws:RequestedRegion for region, aws:SourceIp, aws:CurrentTime,
// aws:EpochTime, aws:SecureTransport). now is used when the caller has no
// RequestTime. Services add their own keys to it.
func (c *Caller) PolicyContext(region string, now time.Time) *policy.Context {
	if !c.RequestTime.IsZero() {
		now = c.RequestTime
	}
	pc := policy.NewContext()
	if region != "" {
		pc.Set("aws:RequestedRegion", region)
	}
	if c.SourceIP != "" {
		pc.Set("aws:SourceIp", c.SourceIP)
	}
	pc.SetTime("aws:CurrentTime", now)
	pc.SetNumber("aws:EpochTime", now.Unix())
	pc.SetBool("aws:SecureTransport", c.Secure)
	// No AWS service calls on a principal's behalf here: present and false,
	// as AWS sets it for a principal's own calls.
	pc.SetBool("aws:ViaAWSService", false)
	c.SetPrincipalKeys(pc)
	return pc
}

// SetPrincipalKeys sets the condition keys that describe the principal
// alone (see PolicyContext), for simulations that supply the request's
// keys themselves.
func (c *Caller) SetPrincipalKeys(pc *policy.Context) {
	pc.Set("aws:PrincipalAccount", c.AccountID)
	pc.Set("aws:userid", c.UserID)
	pc.SetBool("aws:PrincipalIsAWSService", false)
	switch c.Type {
	case TypeRoot:
		pc.Set("aws:PrincipalArn", c.ARN)
		pc.Set("aws:PrincipalType", "Account")
	case TypeIAMUser:
		pc.Set("aws:PrincipalArn", c.ARN)
		pc.Set("aws:PrincipalType", "User")
		pc.Set("aws:username", c.UserName)
	case TypeAssumedRole:
		pc.Set("aws:PrincipalArn", c.RoleARN)
		pc.Set("aws:PrincipalType", "AssumedRole")
		pc.SetTime("aws:TokenIssueTime", c.SessionIssued)
		pc.SetBool("aws:MultiFactorAuthPresent", false)
	}
	for k, v := range c.Tags {
		pc.Set("aws:PrincipalTag/"+k, v)
	}
	if p := c.Policies; p != nil && p.OrgID != "" {
		pc.Set("aws:PrincipalOrgID", p.OrgID)
		pc.Set("aws:PrincipalOrgPaths", p.OrgPaths...)
	}
}
