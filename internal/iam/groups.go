package iam

import (
	"context"
	"slices"
	"strings"

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

func noSuchGroup(name string) error {
	return errNoSuchEntity("The group with name %s cannot be found.", name)
}

// groupARN returns the ARN of group name: its own if it exists, else the
// one it would have with path "/".
func (s *Service) groupARN(ctx context.Context, account, name string) (string, error) {
	arn := entityARN(account, "group", "/", name)
	err := s.view(ctx, func(tx store.Tx) error {
		g, _, ok, err := getDoc[groupDoc](tx, kindGroup, account, name)
		if ok {
			arn = g.ARN
		}
		return err
	})
	return arn, err
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
		if _, _, ok, err := getDoc[groupDoc](tx, kindGroup, acct, name); err != nil || ok {
			if ok {
				return errEntityExists("Group with name %s already exists.", name)
			}
			return err
		}
		return putDoc(tx, kindGroup, acct, name, 0, g, s.now())
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
	name := r.get("GroupName")
	checkName(&v, name, "groupName", 128)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn, err := s.groupARN(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:GetGroup", arn, nil); err != nil {
		return nil, err
	}
	var (
		g     *groupDoc
		users []*userDoc
	)
	err = s.view(ctx, func(tx store.Tx) error {
		var ok bool
		var err error
		if g, _, ok, err = getDoc[groupDoc](tx, kindGroup, acct, name); err != nil || !ok {
			if err == nil {
				err = noSuchGroup(name)
			}
			return err
		}
		for _, un := range g.Users {
			u, _, ok, err := getDoc[userDoc](tx, kindUser, acct, un)
			if err != nil {
				return err
			}
			if ok {
				users = append(users, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(users, func(a, b *userDoc) int { return strings.Compare(a.Name, b.Name) })
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
	var v awsproto.Validation
	prefix := pathPrefixParam(&v, r)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	if err := s.authorize(ctx, r, "iam:ListGroups", entityARN(acct, "group", "/", ""), nil); err != nil {
		return nil, err
	}
	var groups []*groupDoc
	err = s.view(ctx, func(tx store.Tx) error {
		var err error
		groups, err = listDocs[groupDoc](tx, kindGroup, acct)
		return err
	})
	if err != nil {
		return nil, err
	}
	groups = slices.DeleteFunc(groups, func(g *groupDoc) bool { return !strings.HasPrefix(g.Path, prefix) })
	return groupsPage(groups, pg), nil
}

func groupsPage(groups []*groupDoc, pg page) any {
	out, truncated, marker := paginate(groups, func(g *groupDoc) string { return g.Name }, pg)
	items := make([]xmlGroup, len(out))
	for i, g := range out {
		items[i] = groupXML(g)
	}
	return struct {
		Groups      list[xmlGroup] `xml:"Groups"`
		IsTruncated bool           `xml:"IsTruncated"`
		Marker      string         `xml:"Marker,omitempty"`
	}{listOf(items), truncated, marker}
}

func (s *Service) deleteGroup(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("GroupName")
	checkName(&v, name, "groupName", 128)
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn, err := s.groupARN(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:DeleteGroup", arn, nil); err != nil {
		return nil, err
	}
	err = s.update(ctx, func(tx store.Tx) error {
		g, _, ok, err := getDoc[groupDoc](tx, kindGroup, acct, name)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchGroup(name)
		}
		switch {
		case len(g.Users) > 0:
			return errDeleteConflict("Cannot delete entity, must remove users from group first.")
		case len(g.Inline) > 0:
			return errDeleteConflict("Cannot delete entity, must delete policies first.")
		case len(g.Attached) > 0:
			return errDeleteConflict("Cannot delete entity, must detach all policies first.")
		}
		return tx.DeleteDocument(kindGroup, acct, name)
	})
	return nil, err
}

// membership reads and validates GroupName and UserName, and authorizes
// action on the group.
func (s *Service) membership(ctx context.Context, r *request, action string) (group, user string, err error) {
	var v awsproto.Validation
	group = r.get("GroupName")
	checkName(&v, group, "groupName", 128)
	user = r.get("UserName")
	checkName(&v, user, "userName", 128)
	if err := v.Err(); err != nil {
		return "", "", err
	}
	arn, err := s.groupARN(ctx, r.c.AccountID, group)
	if err != nil {
		return "", "", err
	}
	return group, user, s.authorize(ctx, r, action, arn, nil)
}

func (s *Service) addUserToGroup(ctx context.Context, r *request) (any, error) {
	group, user, err := s.membership(ctx, r, "iam:AddUserToGroup")
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		g, gver, ok, err := getDoc[groupDoc](tx, kindGroup, acct, group)
		if err != nil || !ok {
			if err == nil {
				err = noSuchGroup(group)
			}
			return err
		}
		u, uver, ok, err := getDoc[userDoc](tx, kindUser, acct, user)
		if err != nil || !ok {
			if err == nil {
				err = noSuchUser(user)
			}
			return err
		}
		if slices.Contains(u.Groups, group) {
			return nil
		}
		if len(u.Groups) >= maxGroupsPerUser {
			return errLimitExceeded("Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)
		}
		u.Groups = append(u.Groups, group)
		if !slices.Contains(g.Users, user) {
			g.Users = append(g.Users, user)
		}
		if err := putDoc(tx, kindUser, acct, user, uver, u, s.now()); err != nil {
			return err
		}
		return putDoc(tx, kindGroup, acct, group, gver, g, s.now())
	})
	return nil, err
}

func (s *Service) removeUserFromGroup(ctx context.Context, r *request) (any, error) {
	group, user, err := s.membership(ctx, r, "iam:RemoveUserFromGroup")
	if err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	err = s.update(ctx, func(tx store.Tx) error {
		g, gver, ok, err := getDoc[groupDoc](tx, kindGroup, acct, group)
		if err != nil || !ok {
			if err == nil {
				err = noSuchGroup(group)
			}
			return err
		}
		u, uver, ok, err := getDoc[userDoc](tx, kindUser, acct, user)
		if err != nil || !ok {
			if err == nil {
				err = noSuchUser(user)
			}
			return err
		}
		if !slices.Contains(u.Groups, group) {
			return errNoSuchEntity("User %s is not in group %s.", user, group)
		}
		u.Groups = slices.DeleteFunc(u.Groups, func(x string) bool { return x == group })
		g.Users = slices.DeleteFunc(g.Users, func(x string) bool { return x == user })
		if err := putDoc(tx, kindUser, acct, user, uver, u, s.now()); err != nil {
			return err
		}
		return putDoc(tx, kindGroup, acct, group, gver, g, s.now())
	})
	return nil, err
}

func (s *Service) listGroupsForUser(ctx context.Context, r *request) (any, error) {
	var v awsproto.Validation
	name := r.get("UserName")
	checkName(&v, name, "userName", 128)
	pg, err := pageParams(&v, r)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acct := r.c.AccountID
	arn, err := s.userARN(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "iam:ListGroupsForUser", arn, nil); err != nil {
		return nil, err
	}
	var groups []*groupDoc
	err = s.view(ctx, func(tx store.Tx) error {
		u, _, ok, err := getDoc[userDoc](tx, kindUser, acct, name)
		if err != nil || !ok {
			if err == nil {
				err = noSuchUser(name)
			}
			return err
		}
		for _, gn := range u.Groups {
			g, _, ok, err := getDoc[groupDoc](tx, kindGroup, acct, gn)
			if err != nil {
				return err
			}
			if ok {
				groups = append(groups, g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(groups, func(a, b *groupDoc) int { return strings.Compare(a.Name, b.Name) })
	return groupsPage(groups, pg), nil
}
