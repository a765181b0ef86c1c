package org

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/store"
)

type createOUInput struct {
	Name     string
	ParentId string
	Tags     []struct{ Key, Value string }
}

type ouOutput struct {
	OrganizationalUnit OrganizationalUnit
}

// ousIn returns the OUs whose parent is parent, sorted by id.
func (st *state) ousIn(parent string) []*ouRec {
	var out []*ouRec
	for _, o := range st.ous {
		if o.Parent == parent {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *ouRec) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// nameTaken reports whether another OU than self under parent is named name.
func (st *state) nameTaken(parent, name, self string) bool {
	for _, o := range st.ous {
		if o.Parent == parent && o.Name == name && o.ID != self {
			return true
		}
	}
	return false
}

// createOrganizationalUnit creates an OU under a root or OU; when SCPs are
// enabled it starts with FullAWSAccess attached, as in AWS.
func (s *Service) createOrganizationalUnit(ctx context.Context, c *caller.Caller, in *createOUInput) (*ouOutput, error) {
	var v checks
	v.text(in.Name, "Name", 1, 128)
	v.id(in.ParentId, "ParentId", isContainerID)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "CreateOrganizationalUnit", func(m *member) []string {
		return []string{containerARN(m, in.ParentId)}
	})
	if err != nil {
		return nil, err
	}
	out := &ouOutput{}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		switch {
		case !st.isContainer(in.ParentId):
			return parentNotFound()
		case st.nameTaken(in.ParentId, in.Name, ""):
			return duplicateOU()
		case st.depth(in.ParentId)+1 > maxOUDepth:
			return constraint(reasonOUDepth)
		case len(st.ous) >= maxOUs:
			return constraint(reasonOUNumber)
		}
		suffix, err := randomString(s.rand, lowerAlnum, 8)
		if err != nil {
			return err
		}
		o := &ouRec{ID: "ou-" + strings.TrimPrefix(st.org.RootID, "r-") + "-" + suffix, Name: in.Name, Parent: in.ParentId}
		if st.ous[o.ID] != nil {
			return constraint(reasonOUNumber) // a collision of 36^8 ids: treat as a transient refusal
		}
		st.ous[o.ID] = o
		st.touch(kindOU, o.ID)
		if full := st.policies[fullAccessID]; st.org.SCPEnabled && full != nil {
			st.attach(full, o.ID)
		}
		out.OrganizationalUnit = st.ouOut(o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type ouInput struct {
	OrganizationalUnitId string
}

func (in *ouInput) check() error {
	var v checks
	v.id(in.OrganizationalUnitId, "OrganizationalUnitId", isOUID)
	return v.err
}

func (s *Service) describeOrganizationalUnit(ctx context.Context, c *caller.Caller, in *ouInput) (*ouOutput, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, "DescribeOrganizationalUnit", func(m *member) []string {
		return []string{ouARN(m.Management, m.Organization, in.OrganizationalUnitId)}
	})
	if err != nil {
		return nil, err
	}
	out := &ouOutput{}
	err = s.read(ctx, m, func(st *state) error {
		o := st.ous[in.OrganizationalUnitId]
		if o == nil {
			return ouNotFound()
		}
		out.OrganizationalUnit = st.ouOut(o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type updateOUInput struct {
	Name                 string
	OrganizationalUnitId string
}

func (s *Service) updateOrganizationalUnit(ctx context.Context, c *caller.Caller, in *updateOUInput) (*ouOutput, error) {
	var v checks
	v.id(in.OrganizationalUnitId, "OrganizationalUnitId", isOUID)
	if in.Name != "" {
		v.text(in.Name, "Name", 1, 128)
	}
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "UpdateOrganizationalUnit", func(m *member) []string {
		return []string{ouARN(m.Management, m.Organization, in.OrganizationalUnitId)}
	})
	if err != nil {
		return nil, err
	}
	out := &ouOutput{}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		o := st.ous[in.OrganizationalUnitId]
		switch {
		case o == nil:
			return ouNotFound()
		case in.Name != "" && st.nameTaken(o.Parent, in.Name, o.ID):
			return duplicateOU()
		case in.Name != "" && in.Name != o.Name:
			o.Name = in.Name
			st.touch(kindOU, o.ID)
		}
		out.OrganizationalUnit = st.ouOut(o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteOrganizationalUnit deletes an OU that holds no account and no OU.
func (s *Service) deleteOrganizationalUnit(ctx context.Context, c *caller.Caller, in *ouInput) (*emptyOutput, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, "DeleteOrganizationalUnit", func(m *member) []string {
		return []string{ouARN(m.Management, m.Organization, in.OrganizationalUnitId)}
	})
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		id := in.OrganizationalUnitId
		switch {
		case st.ous[id] == nil:
			return ouNotFound()
		case len(st.accountsIn(id)) > 0 || len(st.ousIn(id)) > 0:
			return ouNotEmpty()
		}
		delete(st.ous, id)
		st.touch(kindOU, id)
		st.detachAll(id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

type ousOutput struct {
	NextToken           string `json:",omitempty"`
	OrganizationalUnits []OrganizationalUnit
}

func (s *Service) listOrganizationalUnitsForParent(ctx context.Context, c *caller.Caller, in *parentInput) (*ousOutput, error) {
	var v checks
	v.id(in.ParentId, "ParentId", isContainerID)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "ListOrganizationalUnitsForParent", func(m *member) []string {
		return []string{containerARN(m, in.ParentId)}
	})
	if err != nil {
		return nil, err
	}
	out := &ousOutput{}
	err = s.read(ctx, m, func(st *state) error {
		if !st.isContainer(in.ParentId) {
			return parentNotFound()
		}
		got, next, err := page(st.ousIn(in.ParentId), func(o *ouRec) string { return o.ID }, in.paging)
		if err != nil {
			return err
		}
		out.NextToken = next
		out.OrganizationalUnits = []OrganizationalUnit{}
		for _, o := range got {
			out.OrganizationalUnits = append(out.OrganizationalUnits, st.ouOut(o))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
