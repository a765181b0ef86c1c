package org

import (
	"context"
	"fmt"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/store"
)

type createOrganizationInput struct {
	FeatureSet string
}

type organizationOutput struct {
	Organization *Organization
}

// createOrganization makes the caller's account the management account of
// a new organization with all features, its root, and the AWS-managed
// FullAWSAccess SCP. SCPs are not enabled until EnablePolicyType, as in AWS.
func (s *Service) createOrganization(ctx context.Context, c *caller.Caller, in *createOrganizationInput) (*organizationOutput, error) {
	switch in.FeatureSet {
	case "", featureSetAll:
	case "CONSOLIDATED_BILLING":
		return nil, awsproto.Errorf("InvalidInputException", "Custos supports only organizations with the ALL feature set.")
	default:
		return nil, invalidInput(reasonInvalidEnum, "FeatureSet")
	}
	if err := s.allow(ctx, c, "CreateOrganization"); err != nil {
		return nil, err
	}
	var out *Organization
	defer s.scp.invalidate()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, ok, err := membership(tx, c.AccountID); err != nil {
			return err
		} else if ok {
			return alreadyInOrganization()
		}
		orgID, err := randomString(s.rand, lowerAlnum, 10)
		if err != nil {
			return err
		}
		rootID, err := randomString(s.rand, lowerAlnum, 4)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		st := newState()
		st.org = organizationRec{
			ID:         "o-" + orgID,
			FeatureSet: featureSetAll,
			Management: c.AccountID,
			Email:      fmt.Sprintf(managementEmailFmt, c.AccountID),
			RootID:     "r-" + rootID,
			Created:    now,
		}
		st.touch(kindOrganization, nameOrganization)
		st.accounts[c.AccountID] = &accountRec{
			ID:     c.AccountID,
			Name:   c.AccountID,
			Email:  st.org.Email,
			Parent: st.org.RootID,
			Joined: joinedInvited,
			Since:  now,
			State:  stateActive,
		}
		st.touch(kindAccount, c.AccountID)
		st.members[c.AccountID] = true
		st.policies[fullAccessID] = fullAccess()
		st.touch(kindPolicy, fullAccessID)
		out = st.organizationOut()
		return st.save(tx, now)
	})
	if err != nil {
		return nil, err
	}
	return &organizationOutput{Organization: out}, nil
}

func fullAccess() *policyRec {
	return &policyRec{
		ID:          fullAccessID,
		Name:        fullAccessName,
		Description: fullAccessDescription,
		Type:        typeSCP,
		Content:     fullAccessContent,
		AWSManaged:  true,
	}
}

type emptyInput struct{}

type emptyOutput struct{}

// describeOrganization describes the organization of the caller's account;
// any account of the organization may call it.
func (s *Service) describeOrganization(ctx context.Context, c *caller.Caller, _ *emptyInput) (*organizationOutput, error) {
	m, err := s.membershipOf(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := s.allow(ctx, c, "DescribeOrganization"); err != nil {
		return nil, err
	}
	var out *Organization
	err = s.read(ctx, m, func(st *state) error {
		out = st.organizationOut()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &organizationOutput{Organization: out}, nil
}

// deleteOrganization deletes the organization when its management account
// is its only account.
func (s *Service) deleteOrganization(ctx context.Context, c *caller.Caller, _ *emptyInput) (*emptyOutput, error) {
	m, err := s.management(ctx, c, "DeleteOrganization", nil)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, m, func(tx store.Tx, st *state) error {
		if len(st.accounts) > 1 {
			return organizationNotEmpty()
		}
		statuses, err := tx.ListDocuments(kindCreateStatus, st.org.Management, "", 0)
		if err != nil {
			return fmt.Errorf("org: list create statuses: %w", err)
		}
		for _, d := range statuses {
			if err := tx.DeleteDocument(d.Kind, d.AccountID, d.Name); err != nil {
				return fmt.Errorf("org: delete create status: %w", err)
			}
		}
		for id := range st.accounts {
			delete(st.accounts, id)
			st.touch(kindAccount, id)
			st.members[id] = false
		}
		for id := range st.ous {
			delete(st.ous, id)
			st.touch(kindOU, id)
		}
		for id := range st.policies {
			delete(st.policies, id)
			st.touch(kindPolicy, id)
		}
		st.gone = true
		st.touch(kindOrganization, nameOrganization)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

type listInput struct {
	paging `json:",inline"`
}

type listRootsOutput struct {
	NextToken string `json:",omitempty"`
	Roots     []Root
}

func (s *Service) listRoots(ctx context.Context, c *caller.Caller, in *listInput) (*listRootsOutput, error) {
	m, err := s.management(ctx, c, "ListRoots", nil)
	if err != nil {
		return nil, err
	}
	out := &listRootsOutput{}
	err = s.read(ctx, m, func(st *state) error {
		out.Roots, out.NextToken, err = page([]Root{st.rootOut()}, func(r Root) string { return r.Id }, in.paging)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type policyTypeInput struct {
	PolicyType string
	RootId     string
}

type rootOutput struct {
	Root Root
}

func (in *policyTypeInput) check() error {
	var v checks
	v.id(in.RootId, "RootId", isRootID)
	v.policyType(in.PolicyType, "PolicyType", true)
	return v.err
}

// setPolicyType serves EnablePolicyType (enable) and DisablePolicyType:
// it checks in, authorizes action on the root, fails unless SCPs are
// available and are not already so, and switches them, having change
// update the policies.
func (s *Service) setPolicyType(ctx context.Context, c *caller.Caller, in *policyTypeInput, action string, enable bool, change func(st *state)) (*rootOutput, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, action, func(m *member) []string {
		return []string{rootARN(m.Management, m.Organization, in.RootId)}
	})
	if err != nil {
		return nil, err
	}
	out := &rootOutput{}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		switch {
		case in.RootId != st.org.RootID:
			return rootNotFound()
		case in.PolicyType != typeSCP:
			return policyTypeNotAvailable()
		case st.org.SCPEnabled && enable:
			return policyTypeAlreadyEnabled()
		case !st.org.SCPEnabled && !enable:
			return policyTypeNotEnabled()
		}
		st.org.SCPEnabled = enable
		st.touch(kindOrganization, nameOrganization)
		change(st)
		out.Root = st.rootOut()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// enablePolicyType enables SCPs on the root and, as AWS does, attaches
// FullAWSAccess to the root and to every OU and account.
func (s *Service) enablePolicyType(ctx context.Context, c *caller.Caller, in *policyTypeInput) (*rootOutput, error) {
	return s.setPolicyType(ctx, c, in, "EnablePolicyType", true, func(st *state) {
		full := st.policies[fullAccessID]
		if full == nil {
			full = fullAccess()
			st.policies[fullAccessID] = full
			st.touch(kindPolicy, fullAccessID)
		}
		st.attach(full, st.org.RootID)
		for id := range st.ous {
			st.attach(full, id)
		}
		for id := range st.accounts {
			st.attach(full, id)
		}
	})
}

// disablePolicyType disables SCPs on the root and, as AWS does, detaches
// every SCP from every entity (the policies remain).
func (s *Service) disablePolicyType(ctx context.Context, c *caller.Caller, in *policyTypeInput) (*rootOutput, error) {
	return s.setPolicyType(ctx, c, in, "DisablePolicyType", false, func(st *state) {
		for _, p := range st.policies {
			if len(p.Targets) > 0 {
				p.Targets = nil
				st.touch(kindPolicy, p.ID)
			}
		}
	})
}
