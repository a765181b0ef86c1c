package org

import (
	"cmp"
	"context"
	"slices"
	"unicode/utf8"

	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/store"
)

type createPolicyInput struct {
	Content     string
	Description *string
	Name        string
	Type        string
	Tags        []struct{ Key, Value string }
}

type policyOutput struct {
	Policy *Policy
}

// checkContent checks an SCP document: its size, then its grammar.
func checkContent(content string) error {
	if utf8.RuneCountInString(content) > maxPolicyChars {
		return constraint(reasonPolicyContent)
	}
	_, err := parseSCP(content)
	return err
}

// createPolicy creates a customer-managed SCP.
func (s *Service) createPolicy(ctx context.Context, c *caller.Caller, in *createPolicyInput) (*policyOutput, error) {
	var v checks
	v.text(in.Content, "Content", 1, 1_000_000)
	if in.Description == nil {
		v.fail(reasonInputRequired, "Description")
	} else {
		v.text(*in.Description, "Description", 0, 512)
	}
	v.text(in.Name, "Name", 1, 128)
	v.policyType(in.Type, "Type", true)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "CreatePolicy", nil)
	if err != nil {
		return nil, err
	}
	if in.Type != typeSCP {
		return nil, policyTypeNotAvailable()
	}
	if err := checkContent(in.Content); err != nil {
		return nil, err
	}
	out := &policyOutput{}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		if st.customerPolicies() >= maxPolicies {
			return constraint(reasonPolicyNumber)
		}
		if st.policyNamed(in.Type, in.Name, "") {
			return duplicatePolicy()
		}
		suffix, err := randomString(s.rand, lowerAlnum, 8)
		if err != nil {
			return err
		}
		p := &policyRec{ID: "p-" + suffix, Name: in.Name, Description: *in.Description, Type: in.Type, Content: in.Content}
		if st.policies[p.ID] != nil {
			return constraint(reasonPolicyNumber) // a collision of 36^8 ids: treat as a transient refusal
		}
		st.policies[p.ID] = p
		st.touch(kindPolicy, p.ID)
		out.Policy = st.policyOut(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (st *state) customerPolicies() int {
	n := 0
	for _, p := range st.policies {
		if !p.AWSManaged {
			n++
		}
	}
	return n
}

// policyNamed reports whether a policy other than self of type typ is named
// name.
func (st *state) policyNamed(typ, name, self string) bool {
	for _, p := range st.policies {
		if p.Type == typ && p.Name == name && p.ID != self {
			return true
		}
	}
	return false
}

type updatePolicyInput struct {
	Content     *string
	Description *string
	Name        *string
	PolicyId    string
}

// updatePolicy changes the name, description or content of a
// customer-managed policy.
func (s *Service) updatePolicy(ctx context.Context, c *caller.Caller, in *updatePolicyInput) (*policyOutput, error) {
	var v checks
	v.id(in.PolicyId, "PolicyId", isPolicyID)
	if in.Content != nil {
		v.text(*in.Content, "Content", 1, 1_000_000)
	}
	if in.Description != nil {
		v.text(*in.Description, "Description", 0, 512)
	}
	if in.Name != nil {
		v.text(*in.Name, "Name", 1, 128)
	}
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "UpdatePolicy", func(m *member) []string {
		return []string{policyARN(m.Management, m.Organization, in.PolicyId)}
	})
	if err != nil {
		return nil, err
	}
	if in.Content != nil {
		if err := checkContent(*in.Content); err != nil {
			return nil, err
		}
	}
	out := &policyOutput{}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		p := st.policies[in.PolicyId]
		switch {
		case p == nil:
			return policyNotFound()
		case p.AWSManaged:
			return invalidInput(reasonImmutablePolicy, "PolicyId")
		case in.Name != nil && st.policyNamed(p.Type, *in.Name, p.ID):
			return duplicatePolicy()
		}
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.Content != nil {
			p.Content = *in.Content
		}
		st.touch(kindPolicy, p.ID)
		out.Policy = st.policyOut(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type policyIDInput struct {
	PolicyId string
}

func (in *policyIDInput) check() error {
	var v checks
	v.id(in.PolicyId, "PolicyId", isPolicyID)
	return v.err
}

func policyResource(in *policyIDInput) func(m *member) []string {
	return func(m *member) []string { return []string{policyARN(m.Management, m.Organization, in.PolicyId)} }
}

// deletePolicy deletes a customer-managed policy that is attached to
// nothing.
func (s *Service) deletePolicy(ctx context.Context, c *caller.Caller, in *policyIDInput) (*emptyOutput, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, "DeletePolicy", policyResource(in))
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		p := st.policies[in.PolicyId]
		switch {
		case p == nil:
			return policyNotFound()
		case p.AWSManaged:
			return invalidInput(reasonImmutablePolicy, "PolicyId")
		case len(p.Targets) > 0:
			return policyInUse()
		}
		delete(st.policies, p.ID)
		st.touch(kindPolicy, p.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

func (s *Service) describePolicy(ctx context.Context, c *caller.Caller, in *policyIDInput) (*policyOutput, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, "DescribePolicy", policyResource(in))
	if err != nil {
		return nil, err
	}
	out := &policyOutput{}
	err = s.read(ctx, m, func(st *state) error {
		p := st.policies[in.PolicyId]
		if p == nil {
			return policyNotFound()
		}
		out.Policy = st.policyOut(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type listPoliciesInput struct {
	paging `json:",inline"`
	Filter string
}

type policiesOutput struct {
	NextToken string `json:",omitempty"`
	Policies  []PolicySummary
}

func (st *state) policiesPage(ps []*policyRec, typ string, p paging) (*policiesOutput, error) {
	ps = slices.DeleteFunc(ps, func(r *policyRec) bool { return r.Type != typ })
	slices.SortFunc(ps, func(a, b *policyRec) int { return cmp.Compare(a.ID, b.ID) })
	got, next, err := page(ps, func(r *policyRec) string { return r.ID }, p)
	if err != nil {
		return nil, err
	}
	out := &policiesOutput{NextToken: next, Policies: []PolicySummary{}}
	for _, r := range got {
		out.Policies = append(out.Policies, st.policySummary(r))
	}
	return out, nil
}

func (s *Service) listPolicies(ctx context.Context, c *caller.Caller, in *listPoliciesInput) (*policiesOutput, error) {
	var v checks
	v.policyType(in.Filter, "Filter", true)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "ListPolicies", nil)
	if err != nil {
		return nil, err
	}
	var out *policiesOutput
	err = s.read(ctx, m, func(st *state) error {
		all := make([]*policyRec, 0, len(st.policies))
		for _, p := range st.policies {
			all = append(all, p)
		}
		out, err = st.policiesPage(all, in.Filter, in.paging)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type attachInput struct {
	PolicyId string
	TargetId string
}

func isTargetID(s string) bool { return isRootID(s) || isOUID(s) || isAccountID(s) }

func (in *attachInput) check() error {
	var v checks
	v.id(in.PolicyId, "PolicyId", isPolicyID)
	if v.required(in.TargetId, "TargetId") && !isTargetID(in.TargetId) {
		v.fail(reasonInvalidTargetID, "TargetId")
	}
	return v.err
}

func (in *attachInput) resources(m *member) []string {
	return []string{
		policyARN(m.Management, m.Organization, in.PolicyId),
		targetARN(m.Management, m.Organization, in.TargetId),
	}
}

// isTarget reports whether id is the root, an OU or an account of the
// organization.
func (st *state) isTarget(id string) bool {
	return st.isContainer(id) || st.accounts[id] != nil
}

// changeAttachment serves AttachPolicy and DetachPolicy: it checks in,
// authorizes action, fails unless the policy and the target exist and
// SCPs are enabled, and has change attach or detach the policy; attached
// says whether it is attached to the target now.
func (s *Service) changeAttachment(ctx context.Context, c *caller.Caller, in *attachInput, action string, change func(st *state, p *policyRec, attached bool) error) (*emptyOutput, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, action, in.resources)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		p := st.policies[in.PolicyId]
		switch {
		case p == nil:
			return policyNotFound()
		case !st.isTarget(in.TargetId):
			return targetNotFound()
		case !st.org.SCPEnabled:
			return policyTypeNotEnabled()
		}
		_, attached := slices.BinarySearch(p.Targets, in.TargetId)
		return change(st, p, attached)
	})
	if err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

// attachPolicy attaches an SCP to the root, an OU or an account.
func (s *Service) attachPolicy(ctx context.Context, c *caller.Caller, in *attachInput) (*emptyOutput, error) {
	return s.changeAttachment(ctx, c, in, "AttachPolicy", func(st *state, p *policyRec, attached bool) error {
		if attached {
			return duplicatePolicyAttachment()
		}
		if len(st.attached(in.TargetId)) >= maxSCPsPerTarget {
			return constraint(reasonMaxAttachments)
		}
		st.attach(p, in.TargetId)
		return nil
	})
}

// detachPolicy detaches an SCP from a target, unless it is the target's
// last one: every root, OU and account keeps at least one SCP, as in AWS.
func (s *Service) detachPolicy(ctx context.Context, c *caller.Caller, in *attachInput) (*emptyOutput, error) {
	return s.changeAttachment(ctx, c, in, "DetachPolicy", func(st *state, p *policyRec, attached bool) error {
		if !attached {
			return policyNotAttached()
		}
		if len(st.attached(in.TargetId)) <= 1 {
			return constraint(reasonMinAttachments)
		}
		st.detach(p, in.TargetId)
		return nil
	})
}

type policiesForTargetInput struct {
	paging   `json:",inline"`
	Filter   string
	TargetId string
}

func (s *Service) listPoliciesForTarget(ctx context.Context, c *caller.Caller, in *policiesForTargetInput) (*policiesOutput, error) {
	var v checks
	if v.required(in.TargetId, "TargetId") && !isTargetID(in.TargetId) {
		v.fail(reasonInvalidTargetID, "TargetId")
	}
	v.policyType(in.Filter, "Filter", true)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "ListPoliciesForTarget", func(m *member) []string {
		return []string{targetARN(m.Management, m.Organization, in.TargetId)}
	})
	if err != nil {
		return nil, err
	}
	var out *policiesOutput
	err = s.read(ctx, m, func(st *state) error {
		if !st.isTarget(in.TargetId) {
			return targetNotFound()
		}
		out, err = st.policiesPage(st.attached(in.TargetId), in.Filter, in.paging)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type targetsForPolicyInput struct {
	paging   `json:",inline"`
	PolicyId string
}

type targetsOutput struct {
	NextToken string `json:",omitempty"`
	Targets   []PolicyTargetSummary
}

func (s *Service) listTargetsForPolicy(ctx context.Context, c *caller.Caller, in *targetsForPolicyInput) (*targetsOutput, error) {
	idIn := &policyIDInput{PolicyId: in.PolicyId}
	if err := idIn.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, "ListTargetsForPolicy", policyResource(idIn))
	if err != nil {
		return nil, err
	}
	out := &targetsOutput{}
	err = s.read(ctx, m, func(st *state) error {
		p := st.policies[in.PolicyId]
		if p == nil {
			return policyNotFound()
		}
		got, next, err := page(p.Targets, func(id string) string { return id }, in.paging)
		if err != nil {
			return err
		}
		out.NextToken = next
		out.Targets = []PolicyTargetSummary{}
		for _, id := range got {
			out.Targets = append(out.Targets, st.targetOut(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
