package server

import (
	"context"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/policy"
)

// attachPolicies fills c.Policies from IAM (the caller's identity policies,
// boundary and session policies) and Organizations (the SCPs of its
// account). Both are cached: on the hot path this costs two map lookups.
// A root caller outside an organization gets nil.
func (s *Server) attachPolicies(ctx context.Context, c *caller.Caller) error {
	ip, err := s.iam.PoliciesOf(ctx, c)
	if err != nil {
		return err
	}
	levels, orgID, paths, err := s.org.SCPsOf(ctx, c.AccountID)
	if err != nil {
		return err
	}
	if len(ip.Identity) == 0 && ip.Boundary == nil && ip.Session == nil && levels == nil && orgID == "" && c.IsRoot() {
		return nil
	}
	c.Policies = &caller.Policies{
		Identity: ip.Identity,
		Boundary: ip.Boundary,
		Session:  ip.Session,
		SCPs:     levels,
		OrgID:    orgID,
		OrgPaths: paths,
	}
	return nil
}

// authorizeIdentity decides an action on a resource that has no resource
// policy (Organizations' resources) from the caller's identity policies,
// boundary, session policies and SCPs, as AWS does.
func authorizeIdentity(_ context.Context, c *caller.Caller, action, resource string) error {
	set := policy.Set{}
	if p := c.Policies; p != nil {
		set.SCPs, set.Identity, set.Boundary, set.Session = p.SCPs, p.Identity, p.Boundary, p.Session
	}
	req := policy.Request{
		Principal: policy.Principal{ARN: c.ARN, AccountID: c.AccountID, RoleARN: c.RoleARN},
		Action:    action,
		Resource:  resource,
		Context:   identityContext(c),
	}
	res := set.Decide(&req)
	if !res.Allowed {
		return awsproto.Errorf("AccessDeniedException", "%s", res.Message(c.ARN, action, resource))
	}
	return nil
}

// identityContext gathers the global condition keys of a request.
func identityContext(c *caller.Caller) *policy.Context {
	pc := policy.NewContext()
	pc.Set("aws:RequestedRegion", c.Region)
	if c.SourceIP != "" {
		pc.Set("aws:SourceIp", c.SourceIP)
	}
	pc.SetTime("aws:CurrentTime", c.RequestTime)
	pc.SetNumber("aws:EpochTime", c.RequestTime.Unix())
	pc.SetBool("aws:SecureTransport", c.Secure)
	pc.Set("aws:PrincipalAccount", c.AccountID)
	pc.Set("aws:userid", c.UserID)
	switch c.Type {
	case caller.TypeRoot:
		pc.Set("aws:PrincipalArn", c.ARN)
		pc.Set("aws:PrincipalType", "Account")
	case caller.TypeIAMUser:
		pc.Set("aws:PrincipalArn", c.ARN)
		pc.Set("aws:PrincipalType", "User")
		pc.Set("aws:username", c.UserName)
	case caller.TypeAssumedRole:
		pc.Set("aws:PrincipalArn", c.RoleARN)
		pc.Set("aws:PrincipalType", "AssumedRole")
	}
	for k, v := range c.Tags {
		pc.Set("aws:PrincipalTag/"+k, v)
	}
	if p := c.Policies; p != nil && p.OrgID != "" {
		pc.Set("aws:PrincipalOrgID", p.OrgID)
		pc.Set("aws:PrincipalOrgPaths", p.OrgPaths...)
	}
	return pc
}
