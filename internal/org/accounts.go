package org

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/store"
)

type createAccountInput struct {
	AccountName            string
	Email                  string
	IamUserAccessToBilling string
	RoleName               string
	Tags                   []struct{ Key, Value string }
}

type createAccountOutput struct {
	CreateAccountStatus *CreateAccountStatus
}

func (in *createAccountInput) check() error {
	var v checks
	if v.required(in.Email, "Email") {
		v.text(in.Email, "Email", 6, 64)
		if !isEmail(in.Email) {
			v.fail(reasonInvalidPattern, "Email")
		}
	}
	if v.required(in.AccountName, "AccountName") {
		v.text(in.AccountName, "AccountName", 1, 50)
		if !isPrintableASCII(in.AccountName) {
			v.fail(reasonInvalidPattern, "AccountName")
		}
	}
	switch in.IamUserAccessToBilling {
	case "", "ALLOW", "DENY":
	default:
		v.fail(reasonInvalidEnum, "IamUserAccessToBilling")
	}
	if in.RoleName != "" {
		v.text(in.RoleName, "RoleName", 1, 64)
		for _, r := range in.RoleName {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' ||
				r == '+' || r == '=' || r == ',' || r == '.' || r == '@' || r == '-') {
				v.fail(reasonInvalidPattern, "RoleName")
				break
			}
		}
	}
	return v.err
}

// maxAccountIDTries bounds the search for an unused random account id.
const maxAccountIDTries = 20

// createAccount creates a new account in the organization's root at once,
// with root credentials of its own that the reply carries once (Custos
// extension CustosRootCredentials). An email address already used in the
// organization makes a FAILED request (EMAIL_ALREADY_EXISTS), as in AWS.
func (s *Service) createAccount(ctx context.Context, c *caller.Caller, in *createAccountInput) (*createAccountOutput, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	m, err := s.management(ctx, c, "CreateAccount", nil)
	if err != nil {
		return nil, err
	}
	requested := s.now().UTC()
	carID, err := randomString(s.rand, lowerAlnum, 32)
	if err != nil {
		return nil, err
	}
	status := &createStatusRec{ID: "car-" + carID, AccountName: in.AccountName, Requested: requested}

	// Refuse before creating an account that could not join.
	var refusal error
	err = s.read(ctx, m, func(st *state) error {
		refusal = st.canAdd(in.Email)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var id string
	var secret []byte
	var keyID string
	if refusal == nil {
		if id, err = s.newAccount(ctx); err != nil {
			return nil, err
		}
		var created bool
		keyID, secret, created, err = s.dir.RootCredentials(ctx, id)
		if err != nil {
			return nil, err
		}
		if !created {
			return nil, fmt.Errorf("org: new account %s already has root credentials", id)
		}
	}

	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		*status = createStatusRec{ID: status.ID, AccountName: in.AccountName, Requested: requested, Completed: s.now().UTC()}
		err := refusal
		if err == nil {
			err = st.canAdd(in.Email)
		}
		var reason string
		switch {
		case errors.Is(err, errEmailExists):
			reason = "EMAIL_ALREADY_EXISTS"
		case err != nil:
			return err
		}
		if reason != "" {
			status.State, status.FailureReason = stateFailed, reason
		} else {
			status.State, status.AccountID = stateSucceeded, id
			st.accounts[id] = &accountRec{
				ID:     id,
				Name:   in.AccountName,
				Email:  in.Email,
				Parent: st.org.RootID,
				Joined: joinedCreated,
				Since:  status.Completed,
				State:  stateActive,
			}
			st.touch(kindAccount, id)
			st.members[id] = true
			if full := st.policies[fullAccessID]; st.org.SCPEnabled && full != nil {
				st.attach(full, id)
			}
		}
		return st.addCreateStatus(status)
	})
	if err != nil {
		clear(secret)
		return nil, err
	}
	out := createStatusOut(status)
	if status.State == stateSucceeded {
		out.CustosRootCredentials = &RootCredential{AccessKeyId: keyID, SecretAccessKey: string(secret)}
		clear(secret)
	}
	return &createAccountOutput{CreateAccountStatus: out}, nil
}

var errEmailExists = errors.New("org: email address in use")

// canAdd reports whether an account with email may join: errEmailExists
// or a ConstraintViolationException if not.
func (st *state) canAdd(email string) error {
	if len(st.accounts) >= maxAccounts {
		return constraint(reasonAccountNumber)
	}
	for _, a := range st.accounts {
		if equalFoldASCII(a.Email, email) {
			return errEmailExists
		}
	}
	return nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (st *state) addCreateStatus(r *createStatusRec) error {
	body, err := jsonMarshal(r)
	if err != nil {
		return err
	}
	st.extra = append(st.extra, store.Document{Kind: kindCreateStatus, AccountID: st.org.Management, Name: r.ID, Body: body, UpdatedAt: r.Completed})
	return nil
}

// newAccount creates an account with a random unused 12-digit id.
func (s *Service) newAccount(ctx context.Context) (string, error) {
	for range maxAccountIDTries {
		id, err := randomString(s.rand, digits, 12)
		if err != nil {
			return "", err
		}
		created, err := s.dir.EnsureAccount(ctx, id)
		if err != nil {
			return "", err
		}
		if created {
			return id, nil
		}
	}
	return "", errors.New("org: no unused account id found")
}

type createStatusInput struct {
	CreateAccountRequestId string
}

func (s *Service) describeCreateAccountStatus(ctx context.Context, c *caller.Caller, in *createStatusInput) (*createAccountOutput, error) {
	var v checks
	v.id(in.CreateAccountRequestId, "CreateAccountRequestId", isCreateStatusID)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "DescribeCreateAccountStatus", nil)
	if err != nil {
		return nil, err
	}
	var r createStatusRec
	err = s.store.View(ctx, func(tx store.Tx) error {
		d, err := tx.GetDocument(kindCreateStatus, m.Management, in.CreateAccountRequestId)
		if errors.Is(err, store.ErrNotFound) {
			return createAccountStatusNotFound()
		}
		if err != nil {
			return fmt.Errorf("org: read create status: %w", err)
		}
		return decode(d, &r)
	})
	if err != nil {
		return nil, err
	}
	return &createAccountOutput{CreateAccountStatus: createStatusOut(&r)}, nil
}

type listCreateStatusInput struct {
	paging `json:",inline"`
	States []string
}

type listCreateStatusOutput struct {
	CreateAccountStatuses []*CreateAccountStatus
	NextToken             string `json:",omitempty"`
}

func (s *Service) listCreateAccountStatus(ctx context.Context, c *caller.Caller, in *listCreateStatusInput) (*listCreateStatusOutput, error) {
	for _, st := range in.States {
		switch st {
		case "IN_PROGRESS", stateSucceeded, stateFailed:
		default:
			return nil, invalidInput(reasonInvalidEnum, "States")
		}
	}
	m, err := s.management(ctx, c, "ListCreateAccountStatus", nil)
	if err != nil {
		return nil, err
	}
	var all []*createStatusRec
	err = s.store.View(ctx, func(tx store.Tx) error {
		if _, err := load(tx, m.Management); err != nil {
			return err
		}
		docs, err := tx.ListDocuments(kindCreateStatus, m.Management, "", 0)
		if err != nil {
			return fmt.Errorf("org: list create statuses: %w", err)
		}
		for _, d := range docs {
			r := new(createStatusRec)
			if err := decode(d, r); err != nil {
				return err
			}
			if len(in.States) == 0 || slices.Contains(in.States, r.State) {
				all = append(all, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	got, next, err := page(all, func(r *createStatusRec) string { return r.ID }, in.paging)
	if err != nil {
		return nil, err
	}
	out := &listCreateStatusOutput{CreateAccountStatuses: []*CreateAccountStatus{}, NextToken: next}
	for _, r := range got {
		out.CreateAccountStatuses = append(out.CreateAccountStatuses, createStatusOut(r))
	}
	return out, nil
}

type accountInput struct {
	AccountId string
}

type accountOutput struct {
	Account Account
}

func (s *Service) describeAccount(ctx context.Context, c *caller.Caller, in *accountInput) (*accountOutput, error) {
	var v checks
	v.id(in.AccountId, "AccountId", isAccountID)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "DescribeAccount", func(m *member) []string {
		return []string{accountARN(m.Management, m.Organization, in.AccountId)}
	})
	if err != nil {
		return nil, err
	}
	out := &accountOutput{}
	err = s.read(ctx, m, func(st *state) error {
		a := st.accounts[in.AccountId]
		if a == nil {
			return accountNotFound()
		}
		out.Account = st.accountOut(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type accountsOutput struct {
	Accounts  []Account
	NextToken string `json:",omitempty"`
}

// accountsIn returns the accounts whose parent is parent ("" for all),
// sorted by id.
func (st *state) accountsIn(parent string) []*accountRec {
	var out []*accountRec
	for _, a := range st.accounts {
		if parent == "" || a.Parent == parent {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *accountRec) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (st *state) accountsPage(parent string, p paging) (*accountsOutput, error) {
	got, next, err := page(st.accountsIn(parent), func(a *accountRec) string { return a.ID }, p)
	if err != nil {
		return nil, err
	}
	out := &accountsOutput{Accounts: []Account{}, NextToken: next}
	for _, a := range got {
		out.Accounts = append(out.Accounts, st.accountOut(a))
	}
	return out, nil
}

func (s *Service) listAccounts(ctx context.Context, c *caller.Caller, in *listInput) (*accountsOutput, error) {
	m, err := s.management(ctx, c, "ListAccounts", nil)
	if err != nil {
		return nil, err
	}
	var out *accountsOutput
	err = s.read(ctx, m, func(st *state) error {
		out, err = st.accountsPage("", in.paging)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type parentInput struct {
	paging   `json:",inline"`
	ParentId string
}

func isContainerID(s string) bool { return isRootID(s) || isOUID(s) }

func containerARN(m *member, id string) string {
	if isRootID(id) {
		return rootARN(m.Management, m.Organization, id)
	}
	return ouARN(m.Management, m.Organization, id)
}

func (s *Service) listAccountsForParent(ctx context.Context, c *caller.Caller, in *parentInput) (*accountsOutput, error) {
	var v checks
	v.id(in.ParentId, "ParentId", isContainerID)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "ListAccountsForParent", func(m *member) []string {
		return []string{containerARN(m, in.ParentId)}
	})
	if err != nil {
		return nil, err
	}
	var out *accountsOutput
	err = s.read(ctx, m, func(st *state) error {
		if !st.isContainer(in.ParentId) {
			return parentNotFound()
		}
		out, err = st.accountsPage(in.ParentId, in.paging)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type moveAccountInput struct {
	AccountId           string
	DestinationParentId string
	SourceParentId      string
}

// moveAccount moves an account from its parent, which SourceParentId must
// name, to another root or OU. Its own SCP attachments stay.
func (s *Service) moveAccount(ctx context.Context, c *caller.Caller, in *moveAccountInput) (*emptyOutput, error) {
	var v checks
	v.id(in.AccountId, "AccountId", isAccountID)
	v.id(in.SourceParentId, "SourceParentId", isContainerID)
	v.id(in.DestinationParentId, "DestinationParentId", isContainerID)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "MoveAccount", func(m *member) []string {
		return []string{
			accountARN(m.Management, m.Organization, in.AccountId),
			containerARN(m, in.SourceParentId),
			containerARN(m, in.DestinationParentId),
		}
	})
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, m, func(_ store.Tx, st *state) error {
		a := st.accounts[in.AccountId]
		switch {
		case a == nil:
			return accountNotFound()
		case !st.isContainer(in.SourceParentId) || a.Parent != in.SourceParentId:
			return awsproto.Errorf("SourceParentNotFoundException", "We can't find a source root or OU with the ParentId that you specified.")
		case !st.isContainer(in.DestinationParentId):
			return awsproto.Errorf("DestinationParentNotFoundException", "We can't find the destination container (a root or OU) with the ParentId that you specified.")
		case a.Parent == in.DestinationParentId:
			return duplicateAccount()
		}
		a.Parent = in.DestinationParentId
		st.touch(kindAccount, a.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

type childInput struct {
	paging  `json:",inline"`
	ChildId string
}

type parentsOutput struct {
	NextToken string `json:",omitempty"`
	Parents   []Parent
}

func containerType(id string) string {
	if isRootID(id) {
		return "ROOT"
	}
	return "ORGANIZATIONAL_UNIT"
}

func (s *Service) listParents(ctx context.Context, c *caller.Caller, in *childInput) (*parentsOutput, error) {
	var v checks
	v.id(in.ChildId, "ChildId", func(id string) bool { return isAccountID(id) || isOUID(id) })
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "ListParents", func(m *member) []string {
		if isOUID(in.ChildId) {
			return []string{ouARN(m.Management, m.Organization, in.ChildId)}
		}
		return []string{accountARN(m.Management, m.Organization, in.ChildId)}
	})
	if err != nil {
		return nil, err
	}
	out := &parentsOutput{}
	err = s.read(ctx, m, func(st *state) error {
		p := st.parentOf(in.ChildId)
		if p == "" {
			return childNotFound()
		}
		out.Parents, out.NextToken, err = page([]Parent{{Id: p, Type: containerType(p)}}, func(p Parent) string { return p.Id }, in.paging)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type childrenInput struct {
	paging    `json:",inline"`
	ChildType string
	ParentId  string
}

type childrenOutput struct {
	Children  []Child
	NextToken string `json:",omitempty"`
}

func (s *Service) listChildren(ctx context.Context, c *caller.Caller, in *childrenInput) (*childrenOutput, error) {
	var v checks
	if v.required(in.ChildType, "ChildType") && in.ChildType != "ACCOUNT" && in.ChildType != "ORGANIZATIONAL_UNIT" {
		v.fail(reasonInvalidEnum, "ChildType")
	}
	v.id(in.ParentId, "ParentId", isContainerID)
	if v.err != nil {
		return nil, v.err
	}
	m, err := s.management(ctx, c, "ListChildren", func(m *member) []string {
		return []string{containerARN(m, in.ParentId)}
	})
	if err != nil {
		return nil, err
	}
	out := &childrenOutput{}
	err = s.read(ctx, m, func(st *state) error {
		if !st.isContainer(in.ParentId) {
			return parentNotFound()
		}
		var all []Child
		if in.ChildType == "ACCOUNT" {
			for _, a := range st.accountsIn(in.ParentId) {
				all = append(all, Child{Id: a.ID, Type: in.ChildType})
			}
		} else {
			for _, o := range st.ousIn(in.ParentId) {
				all = append(all, Child{Id: o.ID, Type: in.ChildType})
			}
		}
		out.Children, out.NextToken, err = page(all, func(c Child) string { return c.Id }, in.paging)
		if out.Children == nil {
			out.Children = []Child{}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
