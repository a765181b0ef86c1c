package org

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// parseSCP compiles an SCP document, or returns the
// MalformedPolicyDocumentException a client sees.
func parseSCP(content string) (*policy.Policy, error) {
	p, err := policy.Parse(content, policy.SCP)
	if err != nil {
		var se *policy.SyntaxError
		if errors.As(err, &se) {
			return nil, malformedPolicy(se.Message)
		}
		return nil, malformedPolicy("")
	}
	return p, nil
}

// SCPsOf returns, for a principal's account, the SCPs that apply at each
// level from the root down to the account (levels[0] the root's attached
// SCPs, then each OU's on the way down, and last the account's own), the
// id of its organization, and its org paths as aws:PrincipalOrgPaths gives
// them ("o-xxx/r-xxx/ou-xxx/.../": the path of the account's parent).
//
// levels is nil when the account is in no organization, when SCPs are not
// enabled on the root, or when it is the organization's management account
// (SCPs do not apply to it); orgID and paths are "" and nil only when the
// account is in no organization. An action is allowed by SCPs when, at
// every level, some policy allows it and none denies it.
//
// Results are computed once per account and cached (policies compiled once
// per organization) until any Organizations change made through this
// Service; a cached call reads nothing from the store and allocates
// nothing. Changes made by another process sharing the store are not seen
// until the next change here. The returned slices are shared: callers must
// not modify them. err reports a store failure or a stored policy that no
// longer compiles; callers should then deny. SCPsOf is safe for concurrent
// use.
func (s *Service) SCPsOf(ctx context.Context, accountID string) (levels [][]*policy.Policy, orgID string, paths []string, err error) {
	g := s.scp.cur.Load()
	if v, ok := g.accounts.Load(accountID); ok {
		e := v.(*scpEntry)
		return e.levels, e.orgID, e.paths, nil
	}
	e, err := s.scpEntry(ctx, g, accountID)
	if err != nil {
		return nil, "", nil, err
	}
	if g.size.Add(1) > maxCachedAccounts {
		s.scp.cur.CompareAndSwap(g, newSCPGen())
	} else {
		g.accounts.Store(accountID, e)
	}
	return e.levels, e.orgID, e.paths, nil
}

// maxCachedAccounts bounds the SCP cache.
const maxCachedAccounts = 100_000

type scpEntry struct {
	levels [][]*policy.Policy
	orgID  string
	paths  []string
}

// orgSnapshot is an organization as SCPsOf sees it, built once per cache
// generation.
type orgSnapshot struct {
	st       *state
	attached map[string][]*policy.Policy // target id → its compiled SCPs
}

// scpCache holds SCPsOf's results in generations: an invalidation starts a
// new, empty one. A result is stored in the generation that was current
// when its store read began, so a result read before a change never
// outlives the change.
type scpCache struct {
	cur atomic.Pointer[scpGen]
}

type scpGen struct {
	accounts sync.Map // account id → *scpEntry
	size     atomic.Int64

	mu   sync.Mutex
	orgs map[string]*orgSnapshot // by management account
}

func newSCPGen() *scpGen { return &scpGen{orgs: map[string]*orgSnapshot{}} }

func (c *scpCache) init() { c.cur.Store(newSCPGen()) }

// invalidate forgets every cached result.
func (c *scpCache) invalidate() { c.cur.Store(newSCPGen()) }

// Invalidate forgets every cached SCP: another node changed Organizations.
func (s *Service) Invalidate() { s.scp.invalidate() }

// scpEntry computes SCPsOf's result for an account from the store.
func (s *Service) scpEntry(ctx context.Context, g *scpGen, accountID string) (*scpEntry, error) {
	var m membershipRec
	var ok bool
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		m, ok, err = membership(tx, accountID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return &scpEntry{}, nil
	}
	snap, err := s.snapshot(ctx, g, m.Management)
	if err != nil {
		return nil, err
	}
	if snap == nil || snap.st.org.ID != m.Organization {
		return &scpEntry{}, nil
	}
	st := snap.st
	a := st.accounts[accountID]
	if a == nil {
		return &scpEntry{}, nil
	}
	e := &scpEntry{orgID: st.org.ID, paths: []string{st.path(a.Parent)}}
	if accountID == st.org.Management || !st.org.SCPEnabled {
		return e, nil
	}
	chain := append(st.chain(accountID), accountID)
	e.levels = make([][]*policy.Policy, len(chain))
	for i, id := range chain {
		e.levels[i] = snap.attached[id]
	}
	return e, nil
}

// snapshot returns the organization managed by mgmt with its SCPs
// compiled, from the cache or the store; nil if there is none.
func (s *Service) snapshot(ctx context.Context, g *scpGen, mgmt string) (*orgSnapshot, error) {
	g.mu.Lock()
	snap, ok := g.orgs[mgmt]
	g.mu.Unlock()
	if ok {
		return snap, nil
	}
	var st *state
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		st, err = load(tx, mgmt)
		return err
	})
	if errors.Is(err, errNoOrganization) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	snap = &orgSnapshot{st: st, attached: map[string][]*policy.Policy{}}
	ids := make([]string, 0, len(st.policies))
	for id := range st.policies {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := st.policies[id]
		if p.Type != typeSCP || len(p.Targets) == 0 {
			continue
		}
		compiled, err := policy.Parse(p.Content, policy.SCP)
		if err != nil {
			return nil, fmt.Errorf("org: stored SCP %s of %s no longer compiles: %w", p.ID, st.org.ID, err)
		}
		for _, t := range p.Targets {
			snap.attached[t] = append(snap.attached[t], compiled)
		}
	}
	g.mu.Lock()
	g.orgs[mgmt] = snap
	g.mu.Unlock()
	return snap, nil
}
