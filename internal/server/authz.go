package server

import (
	"context"
	"time"

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
		Principal: c.PolicyPrincipal(),
		Action:    action,
		Resource:  resource,
		Context:   c.PolicyContext(c.Region, time.Now()),
	}
	res := set.Decide(&req)
	if !res.Allowed {
		return awsproto.Errorf("AccessDeniedException", "%s", res.Message(c.ARN, action, resource))
	}
	return nil
}
