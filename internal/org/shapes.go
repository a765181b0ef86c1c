package org

import (
	"github.com/custoskms/custos/internal/awsproto"
)

// The response shapes of AWS Organizations.

// Organization is AWS's Organization.
type Organization struct {
	Arn                  string
	AvailablePolicyTypes []PolicyTypeSummary
	FeatureSet           string
	Id                   string
	MasterAccountArn     string
	MasterAccountEmail   string
	MasterAccountId      string
}

// PolicyTypeSummary is AWS's PolicyTypeSummary.
type PolicyTypeSummary struct {
	Status string
	Type   string
}

// Root is AWS's Root.
type Root struct {
	Arn         string
	Id          string
	Name        string
	PolicyTypes []PolicyTypeSummary
}

// Account is AWS's Account.
type Account struct {
	Arn             string
	Email           string
	Id              string
	JoinedMethod    string
	JoinedTimestamp awsproto.Time
	Name            string
	Paths           []string
	State           string
	Status          string
}

// OrganizationalUnit is AWS's OrganizationalUnit.
type OrganizationalUnit struct {
	Arn  string
	Id   string
	Name string
	Path string
}

// PolicySummary is AWS's PolicySummary.
type PolicySummary struct {
	Arn         string
	AwsManaged  bool
	Description string
	Id          string
	Name        string
	Type        string
}

// Policy is AWS's Policy.
type Policy struct {
	Content       string
	PolicySummary PolicySummary
}

// PolicyTargetSummary is AWS's PolicyTargetSummary.
type PolicyTargetSummary struct {
	Arn      string
	Name     string
	TargetId string
	Type     string
}

// Parent is AWS's Parent; Child is AWS's Child.
type (
	Parent struct{ Id, Type string }
	Child  struct{ Id, Type string }
)

// CreateAccountStatus is AWS's CreateAccountStatus, with the Custos
// extension CustosRootCredentials: the new account's root credentials,
// present only in the reply to CreateAccount.
type CreateAccountStatus struct {
	AccountId             string          `json:",omitempty"`
	AccountName           string          `json:",omitempty"`
	CompletedTimestamp    *awsproto.Time  `json:",omitzero"`
	FailureReason         string          `json:",omitempty"`
	Id                    string          `json:",omitempty"`
	RequestedTimestamp    *awsproto.Time  `json:",omitzero"`
	State                 string          `json:",omitempty"`
	CustosRootCredentials *RootCredential `json:",omitzero"`
}

// RootCredential is an access key of an account's root.
type RootCredential struct {
	AccessKeyId     string
	SecretAccessKey string
}

func policyTypes(enabled bool) []PolicyTypeSummary {
	if !enabled {
		return []PolicyTypeSummary{}
	}
	return []PolicyTypeSummary{{Status: statusEnabled, Type: typeSCP}}
}

func (st *state) organizationOut() *Organization {
	return &Organization{
		Arn:                  st.orgARN(),
		AvailablePolicyTypes: []PolicyTypeSummary{{Status: statusEnabled, Type: typeSCP}},
		FeatureSet:           st.org.FeatureSet,
		Id:                   st.org.ID,
		MasterAccountArn:     st.accountARN(st.org.Management),
		MasterAccountEmail:   st.org.Email,
		MasterAccountId:      st.org.Management,
	}
}

func (st *state) rootOut() Root {
	return Root{Arn: st.rootARN(), Id: st.org.RootID, Name: rootName, PolicyTypes: policyTypes(st.org.SCPEnabled)}
}

func (st *state) accountOut(a *accountRec) Account {
	return Account{
		Arn:             st.accountARN(a.ID),
		Email:           a.Email,
		Id:              a.ID,
		JoinedMethod:    a.Joined,
		JoinedTimestamp: awsproto.Time{Time: a.Since},
		Name:            a.Name,
		Paths:           []string{st.path(a.ID)},
		State:           a.State,
		Status:          a.State,
	}
}

func (st *state) ouOut(o *ouRec) OrganizationalUnit {
	return OrganizationalUnit{Arn: st.ouARN(o.ID), Id: o.ID, Name: o.Name, Path: st.path(o.ID)}
}

func (st *state) policySummary(p *policyRec) PolicySummary {
	return PolicySummary{
		Arn:         st.policyARN(p.ID),
		AwsManaged:  p.AWSManaged,
		Description: p.Description,
		Id:          p.ID,
		Name:        p.Name,
		Type:        p.Type,
	}
}

func (st *state) policyOut(p *policyRec) *Policy {
	return &Policy{Content: p.Content, PolicySummary: st.policySummary(p)}
}

// targetOut describes a root, OU or account id.
func (st *state) targetOut(id string) PolicyTargetSummary {
	switch {
	case id == st.org.RootID:
		return PolicyTargetSummary{Arn: st.rootARN(), Name: rootName, TargetId: id, Type: "ROOT"}
	case st.ous[id] != nil:
		return PolicyTargetSummary{Arn: st.ouARN(id), Name: st.ous[id].Name, TargetId: id, Type: "ORGANIZATIONAL_UNIT"}
	}
	name := ""
	if a := st.accounts[id]; a != nil {
		name = a.Name
	}
	return PolicyTargetSummary{Arn: st.accountARN(id), Name: name, TargetId: id, Type: "ACCOUNT"}
}

func createStatusOut(r *createStatusRec) *CreateAccountStatus {
	out := &CreateAccountStatus{
		AccountId:          r.AccountID,
		AccountName:        r.AccountName,
		FailureReason:      r.FailureReason,
		Id:                 r.ID,
		RequestedTimestamp: awsproto.TimePtr(r.Requested),
		CompletedTimestamp: awsproto.TimePtr(r.Completed),
		State:              r.State,
	}
	return out
}
