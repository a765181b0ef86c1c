package org

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/custoskms/custos/internal/store"
)

// Every Organizations entity is a store.Document. An organization's entities
// are kept in the account of its management account; each account that
// belongs to an organization also has a membership document in its own
// account, so that the organization of any account is one read away.
//
// Document kinds, names and body members are persisted: they never change.
const (
	kindOrganization = "org/organization"  // name "organization": organizationRec
	kindAccount      = "org/account"       // name: account id; accountRec
	kindOU           = "org/ou"            // name: OU id; ouRec
	kindPolicy       = "org/policy"        // name: policy id; policyRec
	kindCreateStatus = "org/create-status" // name: car-... id; createStatusRec
	kindMembership   = "org/membership"    // in the member account, name "membership": membershipRec

	nameOrganization = "organization"
	nameMembership   = "membership"
)

// Persisted enumerations, spelled as AWS spells them.
const (
	featureSetAll  = "ALL"
	typeSCP        = "SERVICE_CONTROL_POLICY"
	statusEnabled  = "ENABLED"
	stateActive    = "ACTIVE"
	joinedCreated  = "CREATED"
	joinedInvited  = "INVITED"
	stateSucceeded = "SUCCEEDED"
	stateFailed    = "FAILED"
)

// The AWS-managed SCP every organization has.
const (
	fullAccessID          = "p-FullAWSAccess"
	fullAccessName        = "FullAWSAccess"
	fullAccessDescription = "Allows access to every operation"
	fullAccessARN         = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
	fullAccessContent     = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}`
)

// Quotas, as AWS sets them.
const (
	maxPolicyChars     = 5120 // characters in an SCP
	maxSCPsPerTarget   = 5
	maxPolicies        = 1000
	maxOUs             = 1000
	maxOUDepth         = 5 // OU levels under the root
	maxAccounts        = 10000
	rootName           = "Root"
	defaultMaxResults  = 20
	maxMaxResults      = 20
	managementEmailFmt = "%s@custos.invalid" // the management account's email: Custos accounts have none
)

type organizationRec struct {
	ID         string    `json:"id"` // o-...
	FeatureSet string    `json:"featureSet"`
	Management string    `json:"management"` // management account id
	Email      string    `json:"email"`      // management account email
	RootID     string    `json:"rootId"`     // r-...
	SCPEnabled bool      `json:"scpEnabled"` // SERVICE_CONTROL_POLICY enabled on the root
	Created    time.Time `json:"created"`
}

type accountRec struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Email  string    `json:"email"`
	Parent string    `json:"parent"` // r-... or ou-...
	Joined string    `json:"joined"` // CREATED or INVITED
	Since  time.Time `json:"since"`
	State  string    `json:"state"`
}

type ouRec struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

type policyRec struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Type        string   `json:"type"`
	Content     string   `json:"content"`
	AWSManaged  bool     `json:"awsManaged"`
	Targets     []string `json:"targets"` // ids of the roots, OUs and accounts it is attached to, sorted
}

type createStatusRec struct {
	ID            string    `json:"id"`
	AccountID     string    `json:"accountId"`
	AccountName   string    `json:"accountName"`
	State         string    `json:"state"`
	FailureReason string    `json:"failureReason"`
	Requested     time.Time `json:"requested"`
	Completed     time.Time `json:"completed"`
}

type membershipRec struct {
	Organization string `json:"organization"` // o-...
	Management   string `json:"management"`   // management account id
}

type docKey struct{ kind, name string }

// state is one organization loaded from the store in one transaction: an
// operation reads and changes it, then save writes what changed.
type state struct {
	org      organizationRec
	accounts map[string]*accountRec
	ous      map[string]*ouRec
	policies map[string]*policyRec

	versions map[docKey]int64    // versions of the documents loaded
	changed  map[docKey]struct{} // documents to write (or delete, when gone from the maps)
	members  map[string]bool     // accounts whose membership to write (true) or delete (false)
	extra    []store.Document    // other documents to insert
	gone     bool                // the organization is deleted
}

func decode(d store.Document, v any) error {
	if err := json.Unmarshal(d.Body, v); err != nil {
		return fmt.Errorf("org: decode %s %s/%s: %w", d.Kind, d.AccountID, d.Name, err)
	}
	return nil
}

func newState() *state {
	return &state{
		accounts: map[string]*accountRec{},
		ous:      map[string]*ouRec{},
		policies: map[string]*policyRec{},
		versions: map[docKey]int64{},
		changed:  map[docKey]struct{}{},
		members:  map[string]bool{},
	}
}

// membership returns the organization account belongs to; ok is false when
// it belongs to none.
func membership(tx store.Tx, account string) (m membershipRec, ok bool, err error) {
	d, err := tx.GetDocument(kindMembership, account, nameMembership)
	if errors.Is(err, store.ErrNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("org: membership of %s: %w", account, err)
	}
	return m, true, decode(d, &m)
}

// load reads the organization managed by account mgmt. It returns
// errNoOrganization if there is none.
func load(tx store.Tx, mgmt string) (*state, error) {
	st := newState()
	d, err := tx.GetDocument(kindOrganization, mgmt, nameOrganization)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoOrganization
	}
	if err != nil {
		return nil, fmt.Errorf("org: load organization: %w", err)
	}
	if err := decode(d, &st.org); err != nil {
		return nil, err
	}
	st.versions[docKey{kindOrganization, nameOrganization}] = d.Version
	for _, kind := range []string{kindAccount, kindOU, kindPolicy} {
		docs, err := tx.ListDocuments(kind, mgmt, "", 0)
		if err != nil {
			return nil, fmt.Errorf("org: load %s: %w", kind, err)
		}
		for _, d := range docs {
			st.versions[docKey{kind, d.Name}] = d.Version
			switch kind {
			case kindAccount:
				r := new(accountRec)
				err = decode(d, r)
				st.accounts[d.Name] = r
			case kindOU:
				r := new(ouRec)
				err = decode(d, r)
				st.ous[d.Name] = r
			case kindPolicy:
				r := new(policyRec)
				err = decode(d, r)
				st.policies[d.Name] = r
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// errNoOrganization reports that an organization is gone; operations turn
// it into AWSOrganizationsNotInUseException.
var errNoOrganization = errors.New("org: no organization")

func (st *state) touch(kind, name string) { st.changed[docKey{kind, name}] = struct{}{} }

// save writes every changed document, with optimistic concurrency on those
// that were loaded.
func (st *state) save(tx store.Tx, now time.Time) error {
	mgmt := st.org.Management
	keys := make([]docKey, 0, len(st.changed))
	for k := range st.changed {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b docKey) int {
		if a.kind != b.kind {
			return cmp.Compare(a.kind, b.kind)
		}
		return cmp.Compare(a.name, b.name)
	})
	for _, k := range keys {
		var v any
		switch k.kind {
		case kindOrganization:
			if !st.gone {
				v = &st.org
			}
		case kindAccount:
			if r := st.accounts[k.name]; r != nil {
				v = r
			}
		case kindOU:
			if r := st.ous[k.name]; r != nil {
				v = r
			}
		case kindPolicy:
			if r := st.policies[k.name]; r != nil {
				v = r
			}
		}
		if err := put(tx, mgmt, k, st.versions[k], v, now); err != nil {
			return err
		}
	}
	accounts := make([]string, 0, len(st.members))
	for a := range st.members {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts)
	for _, a := range accounts {
		var v any
		if st.members[a] {
			v = &membershipRec{Organization: st.org.ID, Management: mgmt}
		}
		if err := put(tx, a, docKey{kindMembership, nameMembership}, -1, v, now); err != nil {
			return err
		}
	}
	for _, d := range st.extra {
		if err := tx.InsertDocument(d); err != nil {
			return fmt.Errorf("org: insert %s %s: %w", d.Kind, d.Name, err)
		}
	}
	return nil
}

// put writes one document of account: v nil deletes it; version 0 inserts
// it; version -1 inserts or replaces whatever is there; otherwise it
// replaces the loaded version.
func put(tx store.Tx, account string, k docKey, version int64, v any, now time.Time) error {
	if v == nil {
		if version == 0 {
			return nil
		}
		err := tx.DeleteDocument(k.kind, account, k.name)
		if err != nil && !(version < 0 && errors.Is(err, store.ErrNotFound)) {
			return fmt.Errorf("org: delete %s %s/%s: %w", k.kind, account, k.name, err)
		}
		return nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("org: encode %s: %w", k.kind, err)
	}
	d := store.Document{Kind: k.kind, AccountID: account, Name: k.name, Body: body, Version: version, UpdatedAt: now}
	if version < 0 {
		old, err := tx.GetDocument(k.kind, account, k.name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			version = 0
		case err != nil:
			return fmt.Errorf("org: read %s %s/%s: %w", k.kind, account, k.name, err)
		default:
			d.Version = old.Version
			version = old.Version
		}
	}
	if version == 0 {
		err = tx.InsertDocument(d)
	} else {
		_, err = tx.UpdateDocument(d)
	}
	if err != nil {
		return fmt.Errorf("org: write %s %s/%s: %w", k.kind, account, k.name, err)
	}
	return nil
}

// parentOf returns the parent of an account or OU id, or "".
func (st *state) parentOf(id string) string {
	if a := st.accounts[id]; a != nil {
		return a.Parent
	}
	if o := st.ous[id]; o != nil {
		return o.Parent
	}
	return ""
}

// isContainer reports whether id is the root or an OU of the organization.
func (st *state) isContainer(id string) bool {
	return id == st.org.RootID || st.ous[id] != nil
}

// chain returns the containers from the root down to id's parent (the
// root first), for an account or OU id.
func (st *state) chain(id string) []string {
	var up []string
	for p := st.parentOf(id); p != ""; p = st.parentOf(p) {
		up = append(up, p)
		if p == st.org.RootID || len(up) > maxOUDepth+1 {
			break
		}
	}
	slices.Reverse(up)
	return up
}

// path returns the org path of the containers from the root down to and
// including container id: "o-.../r-.../ou-.../".
func (st *state) path(id string) string {
	p := st.org.ID + "/"
	for _, c := range st.chain(id) {
		p += c + "/"
	}
	return p + id + "/"
}

// depth returns how many OU levels container id is below the root (0 for
// the root).
func (st *state) depth(id string) int {
	return len(st.chain(id))
}

// attached returns the policies attached to target, sorted by id.
func (st *state) attached(target string) []*policyRec {
	var out []*policyRec
	for _, p := range st.policies {
		if _, ok := slices.BinarySearch(p.Targets, target); ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *policyRec) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// attach records that p is attached to target.
func (st *state) attach(p *policyRec, target string) {
	i, ok := slices.BinarySearch(p.Targets, target)
	if !ok {
		p.Targets = slices.Insert(p.Targets, i, target)
		st.touch(kindPolicy, p.ID)
	}
}

// detach records that p is no longer attached to target.
func (st *state) detach(p *policyRec, target string) {
	if i, ok := slices.BinarySearch(p.Targets, target); ok {
		p.Targets = slices.Delete(p.Targets, i, i+1)
		st.touch(kindPolicy, p.ID)
	}
}

// detachAll removes every attachment to target (which is going away).
func (st *state) detachAll(target string) {
	for _, p := range st.policies {
		st.detach(p, target)
	}
}

// ARNs, as AWS Organizations forms them.

func (st *state) orgARN() string {
	return "arn:aws:organizations::" + st.org.Management + ":organization/" + st.org.ID
}

func (st *state) accountARN(id string) string { return accountARN(st.org.Management, st.org.ID, id) }

func accountARN(mgmt, orgID, id string) string {
	return "arn:aws:organizations::" + mgmt + ":account/" + orgID + "/" + id
}

func (st *state) rootARN() string { return rootARN(st.org.Management, st.org.ID, st.org.RootID) }

func rootARN(mgmt, orgID, rootID string) string {
	return "arn:aws:organizations::" + mgmt + ":root/" + orgID + "/" + rootID
}

func (st *state) ouARN(id string) string { return ouARN(st.org.Management, st.org.ID, id) }

func ouARN(mgmt, orgID, id string) string {
	return "arn:aws:organizations::" + mgmt + ":ou/" + orgID + "/" + id
}

func (st *state) policyARN(id string) string { return policyARN(st.org.Management, st.org.ID, id) }

func policyARN(mgmt, orgID, id string) string {
	if id == fullAccessID {
		return fullAccessARN
	}
	return "arn:aws:organizations::" + mgmt + ":policy/" + orgID + "/service_control_policy/" + id
}

// targetARN returns the ARN of a root, OU or account id (by its form).
func targetARN(mgmt, orgID, id string) string {
	switch {
	case isRootID(id):
		return rootARN(mgmt, orgID, id)
	case isOUID(id):
		return ouARN(mgmt, orgID, id)
	}
	return accountARN(mgmt, orgID, id)
}

// Identifiers.

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	digits     = "0123456789"
)

// randomString returns n characters drawn uniformly from alphabet (at most
// 256 characters long).
func randomString(r io.Reader, alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("org: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("org: encode: %w", err)
	}
	return b, nil
}
