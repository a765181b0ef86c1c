package iam

import (
	"context"
	"slices"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

// xmlGroup is IAM's Group shape.
type xmlGroup struct {
	Path       string  `xml:"Path"`
	GroupName  string  `xml:"GroupName"`
	GroupID    string  `xml:"GroupId"`
	Arn        string  `xml:"Arn"`
	CreateDate xmlTime `xml:"CreateDate"`
}

func groupXML(g *groupDoc) xmlGroup {
	return xmlGroup{Path: g.Path, GroupName: g.Name, GroupID: g.ID, Arn: g.ARN, CreateDate: xmlTime(g.Created)}
}

func (s *Service) createGroup(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("GroupName")
	checkName(&v, name, "groupName", 128)
	path := pathParam(&v, r)
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn := entityARN(acct, "group", path, name)
	if err := s.authorize(ctx, r, "iam:CreateGroup", arn, nil); err != nil {
		return nil, err
	}
	id, err := newID(s.rand, prefixGroup)
	if err != nil {
		return nil, err
	}
	g := &groupDoc{Name: name, ID: id, Path: path, ARN: arn, Created: s.now().UTC()}
	err = s.update(ctx, func(tx store.Tx) error {
		return s.insertEntity(tx, groupHolder(), acct, name, "", g)
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Group xmlGroup `xml:"Group"`
	}{groupXML(g)}, nil
}

func (s *Service) getGroup(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	h := groupHolder()
	name := h.nameParam(&v, r)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if _, err := s.access(ctx, r, &v, h, name, "iam:GetGroup", nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	var (
		g     *groupDoc
		users []*userDoc
	)
	err = s.view(ctx, func(tx store.Tx) error {
		var err error
		if g, _, err = loadEntity[groupDoc](tx, acct, name); err != nil {
			return err
		}
		users, err = loadNamed[userDoc](tx, acct, g.Users)
		return err
	})
	if err != nil {
		return nil, err
	}
	out, truncated, marker := paginate(users, func(u *userDoc) string { return u.Name }, pg)
	items := make([]xmlUser, len(out))
	for i, u := range out {
		items[i] = userXML(u, false)
	}
	return struct {
		Group       xmlGroup      `xml:"Group"`
		Users       list[xmlUser] `xml:"Users"`
		IsTruncated bool          `xml:"IsTruncated"`
		Marker      string        `xml:"Marker,omitempty"`
	}{groupXML(g), listOf(items), truncated, marker}, nil
}

func (s *Service) listGroups(ctx context.Context, r *request) (any, error) {
	items, truncated, marker, err := listEntities[groupDoc](ctx, s, r, groupXML)
	if err != nil {
		return nil, err
	}
	return groupsResult(items, truncated, marker), nil
}

// groupsPage renders the page pg of groups (ordered by name).
func groupsPage(groups []*groupDoc, pg page) any {
	items, truncated, marker := pageOf(groups, "", pg, func(*groupDoc) string { return "" },
		func(g *groupDoc) string { return g.Name }, nil, groupXML)
	return groupsResult(items, truncated, marker)
}

func groupsResult(items []xmlGroup, truncated bool, marker string) any {
	return struct {
		Groups      list[xmlGroup] `xml:"Groups"`
		IsTruncated bool           `xml:"IsTruncated"`
		Marker      string         `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}
}

func (s *Service) deleteGroup(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	h := groupHolder()
	name := h.nameParam(&v, r)
	if _, err := s.access(ctx, r, &v, h, name, "iam:DeleteGroup", nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err := s.update(ctx, func(tx store.Tx) error {
		g, _, err := loadEntity[groupDoc](tx, acct, name)
		if err != nil {
			return err
		}
		if len(g.Users) > 0 {
			return errDeleteConflict("Cannot delete entity, must remove users from group first.")
		}
		if err := policiesConflict(g.fields()); err != nil {
			return err
		}
		return tx.DeleteDocument(kindGroup, acct, name)
	})
	return nil, err
}

// changeMembership serves AddUserToGroup and RemoveUserFromGroup: it
// reads and validates GroupName and UserName, authorizes r's action on
// the group, and has edit change the group and the user (named group and
// user in the request), which are written back unless edit returns false or an error.
func (s *Service) changeMembership(ctx context.Context, r *request, edit func(g *groupDoc, u *userDoc, group, user string) (bool, error)) error {
	var v awsproto.Validation
	h := groupHolder()
	group := h.nameParam(&v, r)
	user := userHolder().nameParam(&v, r)
	if _, err := s.access(ctx, r, &v, h, group, "iam:"+r.action, nil); err != nil {
		return err
	}
	acct := r.c.AccountID
	return s.update(ctx, func(tx store.Tx) error {
		g, gver, err := loadEntity[groupDoc](tx, acct, group)
		if err != nil {
			return err
		}
		u, uver, err := loadEntity[userDoc](tx, acct, user)
		if err != nil {
			return err
		}
		if write, err := edit(g, u, group, user); !write || err != nil {
			return err
		}
		if err := putDoc(tx, kindUser, acct, user, uver, u, s.now()); err != nil {
			return err
		}
		return putDoc(tx, kindGroup, acct, group, gver, g, s.now())
	})
}

func (s *Service) addUserToGroup(ctx context.Context, r *request) (any, error) {
	return nil, s.changeMembership(ctx, r, func(g *groupDoc, u *userDoc, group, user string) (bool, error) {
		if slices.Contains(u.Groups, group) {
			return false, nil
		}
		if len(u.Groups) >= maxGroupsPerUser {
			return false, errLimitExceeded("Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)
		}
		u.Groups = append(u.Groups, group)
		if !slices.Contains(g.Users, user) {
			g.Users = append(g.Users, user)
		}
		return true, nil
	})
}

func (s *Service) removeUserFromGroup(ctx context.Context, r *request) (any, error) {
	return nil, s.changeMembership(ctx, r, func(g *groupDoc, u *userDoc, group, user string) (bool, error) {
		if !slices.Contains(u.Groups, group) {
			return false, errNoSuchEntity("User %s is not in group %s.", user, group)
		}
		u.Groups = slices.DeleteFunc(u.Groups, func(x string) bool { return x == group })
		g.Users = slices.DeleteFunc(g.Users, func(x string) bool { return x == user })
		return true, nil
	})
}

func (s *Service) listGroupsForUser(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	h := userHolder()
	name := h.nameParam(&v, r)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if _, err := s.access(ctx, r, &v, h, name, "iam:ListGroupsForUser", nil); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	var groups []*groupDoc
	err = s.view(ctx, func(tx store.Tx) error {
		u, _, err := loadEntity[userDoc](tx, acct, name)
		if err != nil {
			return err
		}
		groups, err = loadNamed[groupDoc](tx, acct, u.Groups)
		return err
	})
	if err != nil {
		return nil, err
	}
	return groupsPage(groups, pg), nil
}
