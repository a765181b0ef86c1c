package kms

// Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and
// RevokeGrant, grant tokens, and the grant check of the authorizer.
//
// Storage. A grant is a store.Document of kind "kms/grant" in the account
// that owns its key, named "<region>/<key id>/<grant id>", whose body is the
// JSON of grantRecord. A grant with a retiring principal also has an index
// document of kind "kms/retirable-grant" in the retiring principal's
// account, named "<retiring principal> <key ARN> <grant id>" (ARNs hold no
// spaces), for ListRetirableGrants. Retiring or revoking a grant marks its
// record retired (RetiredAt) and deletes its index document; a retired
// record is kept for grantTokenGrace, so that a token of that grant is
// refused even after a restart, and then deleted by a later change to the
// key's grants. Deleting a key deletes its grant records (deleteKeyGrants).
//
// Cache. The grants of a key are read once into a grantIndex (by grant id,
// by grantee principal, by account for grants to an account root, by name),
// kept per key ARN and dropped by every change to the key's grants made on
// this node, in the same call: a revocation takes effect for the next
// request on this node. The hot path (a grantee's Encrypt) costs a map
// lookup and a constraint check.
//
// Tokens. A grant token is self-contained: it names the key and the grant and
// carries the grant itself, authenticated with a per-account token key, so
// that a node that has not yet seen the grant can still authorize by it for
// grantTokenGrace after CreateGrant (AWS's eventual consistency), unless it
// knows the grant retired. Layout (then base64url without padding):
//
//	offset  size  field
//	0       1     format = 0x01
//	1       12    account that owns the key (ASCII digits)
//	13      n     JSON of tokenClaims (key ARN, grant id, issue time, 16-byte
//	              random nonce, the grant record unless the token would
//	              exceed 8192 characters)
//	13+n    32    HMAC-SHA256 under the account's token key of bytes 0..13+n
//
// The token key is 32 random bytes per account, kept wrapped under the root
// key in a document of kind "kms/grant-token-key" named "1" (additional
// data "custos/grant-token-key/v1", 0x00, account). Tokens are bearer
// credentials of a grant: they are never logged or recorded.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// Document kinds of grants; persisted, so they never change.
const (
	kindGrant         = "kms/grant"
	kindRetirable     = "kms/retirable-grant"
	kindGrantTokenKey = "kms/grant-token-key"
)

const (
	// maxGrantsPerKey is AWS's quota of grants on one key.
	maxGrantsPerKey = 50_000
	// grantTokenGrace is how long a token authorizes by the grant it
	// carries when this node does not know the grant, and how long a
	// retired grant's record is kept.
	grantTokenGrace = 5 * time.Minute
	// maxConstraintPairs and maxConstraintValue are AWS's bounds on an
	// encryption context constraint.
	maxConstraintPairs = 8
	maxConstraintValue = 384
	// grantTokenFormat is the first byte of a grant token; persisted in
	// clients' hands, so it never changes.
	grantTokenFormat = 0x01
	maxGrantToken    = 8192
)

// grantOps is a set of grant operations, one bit each.
type grantOps uint32

// grantOperations is AWS's GrantOperation enum, in the model's order; bit i
// of a grantOps is grantOperations[i].
var grantOperations = []string{
	"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
	"Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
	"GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
}

// opBit returns the bit of grant operation name, or 0.
func opBit(name string) grantOps {
	for i, op := range grantOperations {
		if op == name {
			return 1 << i
		}
	}
	return 0
}

func opsOf(names ...string) grantOps {
	var o grantOps
	for _, n := range names {
		o |= opBit(n)
	}
	return o
}

// names lists the operations of o in the enum's order.
func (o grantOps) names() []string {
	out := make([]string, 0, 4)
	for i, op := range grantOperations {
		if o&(1<<i) != 0 {
			out = append(out, op)
		}
	}
	return out
}

var (
	opCreateGrant = opBit("CreateGrant")
	opRetireGrant = opBit("RetireGrant")
	// unconstrainedOps are the grant operations an encryption context
	// constraint does not apply to.
	unconstrainedOps = opsOf("CreateGrant", "RetireGrant", "DescribeKey")
	// grantOpByAction maps the IAM action a request is authorized for to the
	// grant operation that can allow it. RetireGrant is decided by
	// RetireGrant itself: a grant lets its grantee retire that grant only.
	grantOpByAction = func() map[string]grantOps {
		m := make(map[string]grantOps, len(grantOperations))
		for _, op := range grantOperations {
			if op != "RetireGrant" {
				m["kms:"+op] = opBit(op)
			}
		}
		return m
	}()
)

// validGrantOps returns the grant operations a key of this spec and usage
// supports (AWS's "grant operations" table).
func validGrantOps(spec, usage string) grantOps {
	ops := opsOf("CreateGrant", "RetireGrant", "DescribeKey")
	switch {
	case spec == SpecSymmetricDefault:
		ops |= opsOf("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
			"GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext")
	case usage == UsageEncryptDecrypt:
		ops |= opsOf("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey")
	case usage == "SIGN_VERIFY":
		ops |= opsOf("Sign", "Verify", "GetPublicKey")
	case usage == "KEY_AGREEMENT":
		ops |= opsOf("DeriveSharedSecret", "GetPublicKey")
	case usage == "GENERATE_VERIFY_MAC":
		ops |= opsOf("GenerateMac", "VerifyMac")
	}
	return ops
}

// grantRecord is a grant as stored (the body of a "kms/grant" document) and
// as a token carries it. Field names are persisted.
type grantRecord struct {
	GrantID        string
	KeyARN         string
	Name           string `json:",omitempty"`
	Grantee        string
	Retiring       string `json:",omitempty"`
	IssuingAccount string
	Operations     []string
	// Equals and Subset are the encryption context constraints; nil when
	// absent (an empty Equals requires an empty context).
	Equals    map[string]string `json:",omitzero"`
	Subset    map[string]string `json:",omitzero"`
	CreatedAt int64             // Unix milliseconds
	RetiredAt int64             `json:",omitzero"` // Unix milliseconds; 0 while the grant lives
}

// grant is a grantRecord prepared for checks. Immutable once made.
type grant struct {
	rec    grantRecord
	ops    grantOps
	equals []ecPair // valid when rec.Equals != nil
	subset []ecPair // valid when rec.Subset != nil
}

// ecPair is one pair of an encryption context constraint. Constraint keys
// match case-insensitively, values exactly (AWS).
type ecPair struct{ key, value string }

func pairsOf(m map[string]string) []ecPair {
	if m == nil {
		return nil
	}
	out := make([]ecPair, 0, len(m))
	for k, v := range m {
		out = append(out, ecPair{k, v})
	}
	return out
}

func newGrant(rec grantRecord) *grant {
	return &grant{rec: rec, ops: opsOf(rec.Operations...), equals: pairsOf(rec.Equals), subset: pairsOf(rec.Subset)}
}

func (g *grant) retired() bool { return g.rec.RetiredAt != 0 }

// hasPair reports whether ec holds key k (case-insensitively) with value v.
func hasPair(ec map[string]string, k, v string) bool {
	if x, ok := ec[k]; ok && x == v {
		return true
	}
	for ek, ev := range ec {
		if ev == v && strings.EqualFold(ek, k) {
			return true
		}
	}
	return false
}

func holdsAll(ec map[string]string, pairs []ecPair) bool {
	for _, p := range pairs {
		if !hasPair(ec, p.key, p.value) {
			return false
		}
	}
	return true
}

// contextHolds reports whether a request's encryption context meets g's
// constraints.
func (g *grant) contextHolds(ec map[string]string) bool {
	if g.rec.Equals != nil && (len(ec) != len(g.equals) || !holdsAll(ec, g.equals)) {
		return false
	}
	return g.rec.Subset == nil || holdsAll(ec, g.subset)
}

// covers reports whether a new grant with operations ops and constraints
// eq and sub (nil when absent) is equal to or narrower than g: its
// operations are among g's and every encryption context it allows, g
// allows too.
func (g *grant) covers(ops grantOps, eq, sub map[string]string) bool {
	if ops&^g.ops != 0 {
		return false
	}
	if g.rec.Equals != nil && (eq == nil || len(eq) != len(g.equals) || !holdsAll(eq, g.equals)) {
		return false
	}
	if g.rec.Subset != nil {
		if eq != nil {
			return holdsAll(eq, g.subset)
		}
		return sub != nil && holdsAll(sub, g.subset)
	}
	return true
}

// sameAs reports whether g was made with exactly these parameters, for
// CreateGrant's Name idempotency.
func (g *grant) sameAs(r *grantRecord) bool {
	return g.rec.Grantee == r.Grantee && g.rec.Retiring == r.Retiring && slices.Equal(g.rec.Operations, r.Operations) &&
		sameMap(g.rec.Equals, r.Equals) && sameMap(g.rec.Subset, r.Subset)
}

func sameMap(a, b map[string]string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if x, ok := b[k]; !ok || x != v {
			return false
		}
	}
	return true
}

// grantIndex is every grant of one key, as read from the store. Immutable
// once built; a change replaces it.
type grantIndex struct {
	all       []*grant // by grant id, retired ones included
	byID      map[string]*grant
	byGrantee map[string][]*grant // live grants by grantee principal
	roots     map[string][]*grant // live grants to an account's root, by that account
	byName    map[string][]*grant // live grants by Name
	live      int
}

func newGrantIndex(recs []grantRecord) *grantIndex {
	x := &grantIndex{
		all:       make([]*grant, 0, len(recs)),
		byID:      make(map[string]*grant, len(recs)),
		byGrantee: make(map[string][]*grant),
		roots:     make(map[string][]*grant),
		byName:    make(map[string][]*grant),
	}
	for _, r := range recs {
		g := newGrant(r)
		x.all = append(x.all, g)
		x.byID[r.GrantID] = g
		if g.retired() {
			continue
		}
		x.live++
		x.byGrantee[r.Grantee] = append(x.byGrantee[r.Grantee], g)
		if acct, ok := rootAccountOf(r.Grantee); ok {
			x.roots[acct] = append(x.roots[acct], g)
		}
		if r.Name != "" {
			x.byName[r.Name] = append(x.byName[r.Name], g)
		}
	}
	return x
}

// tokenKey is an account's grant-token key. It never prints.
type tokenKey struct{ b []byte }

func (tokenKey) String() string { return "kms.tokenKey(REDACTED)" }

// grantCache holds grant indexes by key ARN, decoded grant tokens and token
// keys. A load that raced with a change is not kept: every change bumps the
// key's generation and put keeps only what was loaded under the current one.
// The zero value is ready to use; safe for concurrent use.
type grantCache struct {
	mu      sync.RWMutex
	limit   int    // grants per key; 0 means maxGrantsPerKey (tests lower it)
	epoch   uint64 // bumped when every index is forgotten at once
	gens    map[string]uint64
	indexes map[string]*grantIndex
	tokens  map[string]*tokenClaims // verified tokens
	keys    map[string]tokenKey     // token keys by account
}

const (
	maxCachedIndexes = 100_000
	maxCachedTokens  = 4096
)

// grantGen is the version of one key's grants in the cache: a load stores
// its index only if neither changed meanwhile.
type grantGen struct{ key, epoch uint64 }

func (c *grantCache) index(arn string) (*grantIndex, grantGen) {
	c.mu.RLock()
	x, g := c.indexes[arn], grantGen{c.gens[arn], c.epoch}
	c.mu.RUnlock()
	return x, g
}

func (c *grantCache) putIndex(arn string, x *grantIndex, gen grantGen) {
	c.mu.Lock()
	if (grantGen{c.gens[arn], c.epoch}) == gen && len(c.indexes) < maxCachedIndexes {
		if c.indexes == nil {
			c.indexes = make(map[string]*grantIndex)
		}
		c.indexes[arn] = x
	}
	c.mu.Unlock()
}

// invalidate forgets the grants of key arn.
func (c *grantCache) invalidate(arn string) {
	c.mu.Lock()
	if c.gens == nil {
		c.gens = make(map[string]uint64)
	}
	c.gens[arn]++
	delete(c.indexes, arn)
	c.mu.Unlock()
}

// invalidateAll forgets the grants of every key and the verified tokens.
func (c *grantCache) invalidateAll() {
	c.mu.Lock()
	c.epoch++
	clear(c.indexes)
	clear(c.tokens)
	c.mu.Unlock()
}

func (c *grantCache) perKeyLimit() int {
	if c.limit > 0 {
		return c.limit
	}
	return maxGrantsPerKey
}

func (c *grantCache) token(t string) *tokenClaims {
	c.mu.RLock()
	tc := c.tokens[t]
	c.mu.RUnlock()
	return tc
}

func (c *grantCache) putToken(t string, tc *tokenClaims) {
	c.mu.Lock()
	if len(c.tokens) >= maxCachedTokens {
		clear(c.tokens)
	}
	if c.tokens == nil {
		c.tokens = make(map[string]*tokenClaims)
	}
	c.tokens[t] = tc
	c.mu.Unlock()
}

func (c *grantCache) tokenKey(account string) (tokenKey, bool) {
	c.mu.RLock()
	k, ok := c.keys[account]
	c.mu.RUnlock()
	return k, ok
}

func (c *grantCache) putTokenKey(account string, k tokenKey) {
	c.mu.Lock()
	if c.keys == nil {
		c.keys = make(map[string]tokenKey)
	}
	c.keys[account] = k
	c.mu.Unlock()
}

// grantDocName is the name of a grant's document in its key's account.
func grantDocName(region, keyID, grantID string) string { return region + "/" + keyID + "/" + grantID }

func retirableDocName(retiring, keyARN, grantID string) string {
	return retiring + " " + keyARN + " " + grantID
}

// grantIndexOf returns the grants of key k, from the cache or the store.
func (s *Service) grantIndexOf(ctx context.Context, k *store.Key) (*grantIndex, error) {
	x, gen := s.grants.index(k.ARN)
	if x != nil {
		return x, nil
	}
	var recs []grantRecord
	err := s.store.View(ctx, func(tx store.Tx) error {
		recs = recs[:0]
		return eachGrantDoc(tx, k, func(d store.Document) error {
			var r grantRecord
			if err := json.Unmarshal(d.Body, &r); err != nil {
				return errors.New("kms: stored grant " + d.Name + ": " + err.Error())
			}
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		return nil, s.internal("LoadGrants", err)
	}
	x = newGrantIndex(recs)
	s.grants.putIndex(k.ARN, x, gen)
	return x, nil
}

// eachGrantDoc calls fn with every grant document of key k, in grant id
// order.
func eachGrantDoc(tx store.Tx, k *store.Key, fn func(store.Document) error) error {
	prefix := grantDocName(k.Region, k.ID, "")
	after := prefix
	for {
		docs, err := tx.ListDocuments(kindGrant, k.AccountID, after, 1000)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if !strings.HasPrefix(d.Name, prefix) {
				return nil
			}
			if err := fn(d); err != nil {
				return err
			}
		}
		if len(docs) < 1000 {
			return nil
		}
		after = docs[len(docs)-1].Name
	}
}

// deleteKeyGrants deletes every grant of key k and their retirable-grant
// index documents, in tx; the sweep calls it when it deletes the key.
func (s *Service) deleteKeyGrants(tx store.Tx, k store.Key) error {
	var names []string
	var retiring []string
	err := eachGrantDoc(tx, &k, func(d store.Document) error {
		names = append(names, d.Name)
		var r grantRecord
		if json.Unmarshal(d.Body, &r) == nil && r.Retiring != "" && r.RetiredAt == 0 {
			if acct, ok := principalAccount(r.Retiring); ok {
				retiring = append(retiring, acct, retirableDocName(r.Retiring, r.KeyARN, r.GrantID))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := tx.DeleteDocument(kindGrant, k.AccountID, n); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	for i := 0; i < len(retiring); i += 2 {
		if err := tx.DeleteDocument(kindRetirable, retiring[i], retiring[i+1]); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	// Forgetting early is harmless if the transaction then fails.
	s.grants.invalidate(k.ARN)
	return nil
}

// Principals.

// principalPattern is the model's pattern of GranteePrincipal and
// RetiringPrincipal.
const principalPattern = `^[\w+=,.@:/-]+$`

func validPrincipalChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@:/-", c) >= 0) {
			return false
		}
	}
	return true
}

func validatePrincipal(v *awsproto.Validation, field string, p *string, required bool) {
	if p == nil {
		if required {
			v.Required(field)
		}
		return
	}
	v.Length(*p, field, 1, 256)
	if *p != "" && !validPrincipalChars(*p) {
		v.Pattern(*p, field, principalPattern)
	}
}

// principalAccount returns the account of an IAM or STS principal ARN:
// arn:aws:iam::ACCT:root|user/...|role/..., arn:aws:sts::ACCT:assumed-role/R/S
// or federated-user/N.
func principalAccount(p string) (string, bool) {
	parts := strings.SplitN(p, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != Partition || parts[3] != "" || !isAccountID(parts[4]) {
		return "", false
	}
	res := parts[5]
	switch parts[2] {
	case "iam":
		if res == "root" || strings.HasPrefix(res, "user/") && len(res) > 5 || strings.HasPrefix(res, "role/") && len(res) > 5 {
			return parts[4], true
		}
	case "sts":
		if r, ok := strings.CutPrefix(res, "assumed-role/"); ok {
			role, session, ok := strings.Cut(r, "/")
			if ok && role != "" && session != "" {
				return parts[4], true
			}
		}
		if n, ok := strings.CutPrefix(res, "federated-user/"); ok && n != "" {
			return parts[4], true
		}
	}
	return "", false
}

// rootAccountOf returns the account when p is an account root ARN.
func rootAccountOf(p string) (string, bool) {
	const pre, suf = "arn:" + Partition + ":iam::", ":root"
	if len(p) == len(pre)+12+len(suf) && strings.HasPrefix(p, pre) && strings.HasSuffix(p, suf) && isAccountID(p[len(pre):len(pre)+12]) {
		return p[len(pre) : len(pre)+12], true
	}
	return "", false
}

func isServicePrincipal(p string) bool {
	return strings.HasSuffix(p, ".amazonaws.com") && !strings.HasPrefix(p, "arn:")
}

// checkPrincipal returns InvalidArnException unless p names a principal
// that can be a grantee or retiring principal: an existing IAM or STS
// principal (federated users are not checked), or an AWS service principal.
func (s *Service) checkPrincipal(ctx context.Context, p string) error {
	invalid := awsproto.Errorf("InvalidArnException", "ARN does not refer to a valid principal: %s", p)
	if isServicePrincipal(p) {
		return nil
	}
	if _, ok := principalAccount(p); !ok {
		return invalid
	}
	if s.principalExists == nil || strings.Contains(p, ":federated-user/") {
		return nil
	}
	ok, err := s.principalExists(ctx, p)
	if err != nil {
		return s.internal("CreateGrant", err)
	}
	if !ok {
		return invalid
	}
	return nil
}

// principalMatch says how a principal named in a grant matches a caller.
type principalMatch int

const (
	noMatch      principalMatch = iota
	exactMatch                  // the caller, or the role of the caller's session
	accountMatch                // the root of the caller's account, the caller not being it: IAM policies must allow
)

func matchPrincipal(c *Caller, p string) principalMatch {
	switch {
	case p == "":
		return noMatch
	case p == c.ARN || c.RoleARN != "" && p == c.RoleARN:
		return exactMatch
	}
	if acct, ok := rootAccountOf(p); ok && acct == c.AccountID && !c.IsRoot() {
		return accountMatch
	}
	return noMatch
}

// identityAllows reports whether the caller's own policies (identity
// policies within the boundary and session policies, under the SCPs) allow
// a's action on a's key: how an account root named in a grant delegates to
// the account's principals, as a key policy naming the account does.
func (s *Service) identityAllows(c *Caller, a *access) bool {
	p := c.Policies
	if p == nil {
		return false
	}
	set := policy.Set{SCPs: p.SCPs, Identity: p.Identity, Boundary: p.Boundary, Session: p.Session}
	req := policy.Request{
		Principal: c.PolicyPrincipal(),
		Action:    a.action,
		Resource:  a.key.meta.ARN,
	}
	if needsContext(&set) {
		req.Context = s.requestContext(c, *a)
	}
	return set.Decide(&req).Allowed
}

// The grant check of the authorizer.

// scpDenial starts the reason of an implicit denial by the SCPs, which
// grants do not override.
var scpDenial = "because no " + policy.SourceSCP.String()

// grantMayAllow reports whether a grant may allow a request that the
// policies did not: an action on a key's own resource, not denied
// explicitly or by the SCPs.
func grantMayAllow(res *policy.Result, a *access) bool {
	return a.key != nil && a.resource == "" && !res.ExplicitDeny && !strings.HasPrefix(res.Reason, scpDenial)
}

// grantFor returns the grant of key a.key that allows caller c the action
// of a (with its encryption context, or a.grantFits for CreateGrant), and
// whether it was found through a grant token only; nil when none does.
func (s *Service) grantFor(ctx context.Context, c *Caller, a *access, tokens []*tokenClaims) (*grant, bool, error) {
	op := grantOpByAction[a.action]
	if op == 0 {
		return nil, false, nil
	}
	x, err := s.grantIndexOf(ctx, &a.key.meta)
	if err != nil {
		return nil, false, err
	}
	fits := func(g *grant) bool {
		switch {
		case g.ops&op == 0:
			return false
		case a.grantFits != nil:
			return a.grantFits(g)
		case op&unconstrainedOps != 0:
			return true
		}
		return g.contextHolds(a.ec)
	}
	for _, g := range x.byGrantee[c.ARN] {
		if fits(g) {
			return g, false, nil
		}
	}
	if c.RoleARN != "" {
		for _, g := range x.byGrantee[c.RoleARN] {
			if fits(g) {
				return g, false, nil
			}
		}
	}
	delegated := -1 // not yet known
	allowsByAccount := func() bool {
		if delegated < 0 {
			delegated = 0
			if s.identityAllows(c, a) {
				delegated = 1
			}
		}
		return delegated == 1
	}
	if !c.IsRoot() {
		for _, g := range x.roots[c.AccountID] {
			if fits(g) && allowsByAccount() {
				return g, false, nil
			}
		}
	}
	// Grants this node does not know yet, carried by fresh tokens.
	now := s.now().UnixMilli()
	for _, tc := range tokens {
		g := tc.g
		if g == nil || tc.KeyARN != a.key.meta.ARN || x.byID[tc.GrantID] != nil || now-tc.Issued > grantTokenGrace.Milliseconds() {
			continue
		}
		switch matchPrincipal(c, g.rec.Grantee) {
		case exactMatch:
			if fits(g) {
				return g, true, nil
			}
		case accountMatch:
			if fits(g) && allowsByAccount() {
				return g, true, nil
			}
		}
	}
	return nil, false, nil
}

func grantReason(g *grant, viaToken bool) string {
	if viaToken {
		return "grant " + g.rec.GrantID + " (through a grant token)"
	}
	return "grant " + g.rec.GrantID
}

// Grant tokens.

// tokenClaims is what a grant token says. Field names are persisted in
// tokens.
type tokenClaims struct {
	KeyARN  string       `json:"k"`
	GrantID string       `json:"g"`
	Issued  int64        `json:"t"` // Unix milliseconds
	Nonce   []byte       `json:"n"`
	Grant   *grantRecord `json:"d,omitempty"`

	g *grant // Grant, prepared
}

func errInvalidGrantToken() error {
	return awsproto.Errorf("InvalidGrantTokenException", "The request was rejected because the specified grant token is not valid.")
}

func tokenKeyAAD(account string) []byte {
	return []byte("custos/grant-token-key/v1\x00" + account)
}

// tokenKeyDoc is the body of a "kms/grant-token-key" document.
type tokenKeyDoc struct {
	Wrapped []byte
}

// grantTokenKey returns account's token key, creating it when create is
// set; ok is false when the account has none (and create is not set).
func (s *Service) grantTokenKey(ctx context.Context, account string, create bool) (tokenKey, bool, error) {
	if k, ok := s.grants.tokenKey(account); ok {
		return k, true, nil
	}
	var fresh, freshDoc []byte
	if create {
		fresh = make([]byte, 32)
		if _, err := io.ReadFull(s.rand, fresh); err != nil {
			return tokenKey{}, false, err
		}
		wrapped, err := s.root.Wrap(s.rand, fresh, tokenKeyAAD(account))
		if err != nil {
			return tokenKey{}, false, err
		}
		if freshDoc, err = json.Marshal(tokenKeyDoc{Wrapped: wrapped}); err != nil {
			return tokenKey{}, false, err
		}
	}
	// stored is the body of the account's key document, nil when there is
	// none; with create, a new one (freshDoc) is stored unless another node
	// did first.
	var stored []byte
	find := func(tx store.Tx) error {
		stored = nil
		d, err := tx.GetDocument(kindGrantTokenKey, account, "1")
		if errors.Is(err, store.ErrNotFound) {
			if !create {
				return nil
			}
			return tx.InsertDocument(store.Document{Kind: kindGrantTokenKey, AccountID: account, Name: "1", Body: freshDoc, UpdatedAt: s.now().UTC()})
		}
		stored = d.Body
		return err
	}
	var err error
	if create {
		err = s.store.Update(ctx, find)
	} else {
		err = s.store.View(ctx, find)
	}
	if err != nil {
		return tokenKey{}, false, err
	}
	key := fresh
	switch {
	case stored != nil:
		clear(fresh)
		var doc tokenKeyDoc
		if err := json.Unmarshal(stored, &doc); err != nil {
			return tokenKey{}, false, errors.New("kms: stored grant token key: " + err.Error())
		}
		secret, err := s.root.Unwrap(doc.Wrapped, tokenKeyAAD(account))
		if err != nil {
			return tokenKey{}, false, errors.New("kms: grant token key of " + account + ": " + err.Error())
		}
		key = secret.Bytes()
	case !create:
		return tokenKey{}, false, nil
	}
	k := tokenKey{b: key}
	s.grants.putTokenKey(account, k)
	return k, true, nil
}

// newGrantToken returns a new token for grant r of key arn in account.
func (s *Service) newGrantToken(k tokenKey, account string, r *grantRecord, now time.Time) (string, error) {
	tc := tokenClaims{KeyARN: r.KeyARN, GrantID: r.GrantID, Issued: now.UnixMilli(), Nonce: make([]byte, 16), Grant: r}
	if _, err := io.ReadFull(s.rand, tc.Nonce); err != nil {
		return "", err
	}
	tok, err := sealGrantToken(k, account, &tc)
	if err != nil {
		return "", err
	}
	if len(tok) > maxGrantToken {
		tc.Grant = nil
		return sealGrantToken(k, account, &tc)
	}
	return tok, nil
}

func sealGrantToken(k tokenKey, account string, tc *tokenClaims) (string, error) {
	claims, err := json.Marshal(tc)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 0, 1+12+len(claims)+sha256.Size)
	raw = append(raw, grantTokenFormat)
	raw = append(raw, account...)
	raw = append(raw, claims...)
	m := hmac.New(sha256.New, k.b)
	m.Write(raw)
	raw = m.Sum(raw)
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// splitGrantToken decodes a token's outer layout: it returns the account,
// the signed bytes, the claims and the MAC, or false for anything
// malformed. It does not check the MAC.
func splitGrantToken(tok string) (account string, signed, claims, mac []byte, ok bool) {
	if len(tok) == 0 || len(tok) > maxGrantToken {
		return "", nil, nil, nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < 1+12+2+sha256.Size || raw[0] != grantTokenFormat || !isAccountID(string(raw[1:13])) {
		return "", nil, nil, nil, false
	}
	n := len(raw) - sha256.Size
	return string(raw[1:13]), raw[:n], raw[13:n], raw[n:], true
}

// openGrantToken verifies a token and returns its claims. Any failure is
// InvalidGrantTokenException; store failures are internal errors.
func (s *Service) openGrantToken(ctx context.Context, tok string) (*tokenClaims, error) {
	if tc := s.grants.token(tok); tc != nil {
		return tc, nil
	}
	account, signed, claims, mac, ok := splitGrantToken(tok)
	if !ok {
		return nil, errInvalidGrantToken()
	}
	k, ok, err := s.grantTokenKey(ctx, account, false)
	if err != nil {
		return nil, s.internal("GrantToken", err)
	}
	if !ok {
		return nil, errInvalidGrantToken()
	}
	m := hmac.New(sha256.New, k.b)
	m.Write(signed)
	if !hmac.Equal(m.Sum(nil), mac) {
		return nil, errInvalidGrantToken()
	}
	tc := new(tokenClaims)
	if err := json.Unmarshal(claims, tc); err != nil || !isGrantID(tc.GrantID) {
		return nil, errInvalidGrantToken()
	}
	if a, ok := parseKMSARN(tc.KeyARN); !ok || a.account != account || !strings.HasPrefix(a.resource, "key/") {
		return nil, errInvalidGrantToken()
	}
	if tc.Grant != nil {
		if tc.Grant.GrantID != tc.GrantID || tc.Grant.KeyARN != tc.KeyARN {
			return nil, errInvalidGrantToken()
		}
		tc.g = newGrant(*tc.Grant)
	}
	s.grants.putToken(tok, tc)
	return tc, nil
}

// grantTokenClaims verifies every token of a request.
func (s *Service) grantTokenClaims(ctx context.Context, tokens []string) ([]*tokenClaims, error) {
	out := make([]*tokenClaims, 0, len(tokens))
	for _, t := range tokens {
		tc, err := s.openGrantToken(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	return out, nil
}

// isGrantID reports whether s has the shape of a grant id: 64 lowercase hex
// digits.
func isGrantID(s string) bool { return len(s) == 64 && isHex(s) }

func errInvalidGrantID(id string) error {
	return awsproto.Errorf("InvalidGrantIdException", "Invalid grantId '%s'", id)
}

// grantTokensOf returns the GrantTokens member of a decoded input, or nil.
func grantTokensOf(in any) []string {
	switch in := in.(type) {
	case *EncryptInput:
		return in.GrantTokens
	case *DecryptInput:
		return in.GrantTokens
	case *GenerateDataKeyInput:
		return in.GrantTokens
	}
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	v = v.Elem()
	i := grantTokensField(v.Type())
	if i < 0 {
		return nil
	}
	return *v.Field(i).Addr().Interface().(*[]string)
}

var grantTokenFields sync.Map // reflect.Type -> int: the GrantTokens field, or -1

func grantTokensField(t reflect.Type) int {
	if i, ok := grantTokenFields.Load(t); ok {
		return i.(int)
	}
	i := -1
	if f, ok := t.FieldByName("GrantTokens"); ok && len(f.Index) == 1 && f.Type == reflect.TypeFor[[]string]() {
		i = f.Index[0]
	}
	grantTokenFields.Store(t, i)
	return i
}

// The operations.

// GrantConstraints are the encryption context constraints of a grant.
type GrantConstraints struct {
	EncryptionContextSubset map[string]string `json:",omitzero"`
	EncryptionContextEquals map[string]string `json:",omitzero"`
}

// CreateGrantInput is CreateGrant's request.
type CreateGrantInput struct {
	KeyId             *string
	GranteePrincipal  *string
	RetiringPrincipal *string
	Operations        []string
	Constraints       *GrantConstraints
	GrantTokens       []string
	Name              *string
	DryRun            bool
}

// CreateGrantOutput is CreateGrant's reply.
type CreateGrantOutput struct {
	GrantToken string
	GrantId    string
}

// withoutGrantToken makes CreateGrant's row record only the grant id of its
// reply in the audit trail, as CloudTrail does: the token is a credential.
func withoutGrantToken(op *Operation) *Operation {
	inner := op.handle
	op.handle = func(s *Service, ctx context.Context, c *Caller, body []byte) (any, error) {
		out, err := inner(s, ctx, c, body)
		if o, ok := out.(*CreateGrantOutput); ok && err == nil && c.Trail != nil {
			c.Trail.Response = map[string]any{"grantId": o.GrantId}
		}
		return out, err
	}
	return op
}

func validateConstraint(v *awsproto.Validation, field string, m map[string]string) {
	if len(m) > maxConstraintPairs {
		v.Add("", field, "Map must have at most 8 entries")
	}
	for _, x := range m {
		if len(x) > maxConstraintValue && len([]rune(x)) > maxConstraintValue {
			v.Add("", field, "Map value must have length less than or equal to 384")
			return
		}
	}
}

// constraintContext returns what a new grant's constraints eq and sub
// (nil when absent) give CreateGrant's policies: the encryption context of
// kms:EncryptionContext:<key> (both constraints' pairs) and the values of
// kms:GrantConstraintType.
func constraintContext(eq, sub map[string]string) (map[string]string, []string) {
	var types []string
	if eq != nil {
		types = append(types, "EncryptionContextEquals")
	}
	if sub != nil {
		types = append(types, "EncryptionContextSubset")
	}
	switch {
	case sub == nil:
		return eq, types
	case eq == nil:
		return sub, types
	}
	ec := make(map[string]string, len(eq)+len(sub))
	for k, x := range sub {
		ec[k] = x
	}
	for k, x := range eq {
		ec[k] = x
	}
	return ec, types
}

// createGrantState is the key-state rule of CreateGrant: that of the
// cryptographic operations, except that an unavailable key is fine.
func createGrantState(k *store.Key) error {
	if k.State == StateUnavailable {
		return nil
	}
	return checkState(k, useCrypto)
}

func (s *Service) newGrantID() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// CreateGrant gives a principal the use of a key for some operations. A
// principal whose permission comes from a grant that includes CreateGrant
// can create only grants equal to or narrower than that grant. With a Name,
// a retry with the same parameters returns the existing grant's id (with a
// new token).
func (s *Service) CreateGrant(ctx context.Context, c *Caller, in *CreateGrantInput) (*CreateGrantOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	validatePrincipal(&v, "granteePrincipal", in.GranteePrincipal, true)
	validatePrincipal(&v, "retiringPrincipal", in.RetiringPrincipal, false)
	var ops grantOps
	switch {
	case in.Operations == nil:
		v.Required("operations")
	case len(in.Operations) == 0:
		v.Add("'[]'", "operations", "Member must have length greater than or equal to 1")
	}
	for _, op := range in.Operations {
		bit := opBit(op)
		if bit == 0 {
			v.Add(awsproto.Quote("["+strings.Join(in.Operations, ", ")+"]"), "operations",
				"Member must satisfy constraint: [Member must satisfy enum value set: ["+strings.Join(grantOperations, ", ")+"]]")
			break
		}
		ops |= bit
	}
	if in.Name != nil {
		v.Length(*in.Name, "name", 1, 256)
		if *in.Name != "" && !validAliasChars(*in.Name) {
			v.Pattern(*in.Name, "name", `^[a-zA-Z0-9:/_-]+$`)
		}
	}
	var eq, sub map[string]string
	if in.Constraints != nil {
		eq, sub = in.Constraints.EncryptionContextEquals, in.Constraints.EncryptionContextSubset
		validateConstraint(&v, "constraints.encryptionContextEquals", eq)
		validateConstraint(&v, "constraints.encryptionContextSubset", sub)
	}
	validateGrantTokens(&v, in.GrantTokens)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if ops == opCreateGrant {
		return nil, awsproto.Errorf("ValidationException", "Grants must not contain only the CreateGrant operation.")
	}
	ref, err := s.refOf(ctx, c, *in.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	grantee, retiring := *in.GranteePrincipal, ""
	if in.RetiringPrincipal != nil {
		retiring = *in.RetiringPrincipal
	}
	opNames := ops.names()
	constraintEC, types := constraintContext(eq, sub)
	err = s.authorize(ctx, c, access{
		action: "kms:CreateGrant",
		key:    k,
		ec:     constraintEC,
		extra: func(pc *policy.Context) {
			pc.Set("kms:GrantOperations", opNames...)
			pc.Set("kms:GranteePrincipal", grantee)
			if retiring != "" {
				pc.Set("kms:RetiringPrincipal", retiring)
			}
			if len(types) > 0 {
				pc.Set("kms:GrantConstraintType", types...)
			}
			pc.SetBool("kms:GrantIsForAWSResource", false)
		},
		grantFits: func(g *grant) bool { return g.ops&opCreateGrant != 0 && g.covers(ops, eq, sub) },
	})
	if err != nil {
		return nil, err
	}
	if err := createGrantState(&k.meta); err != nil {
		return nil, err
	}
	if bad := ops &^ validGrantOps(k.meta.KeySpec, k.meta.KeyUsage); bad != 0 {
		return nil, awsproto.Errorf("ValidationException", "Grant operations [%s] are not valid for %s, whose KeySpec is %s and KeyUsage %s.",
			strings.Join(bad.names(), ", "), k.meta.ARN, k.meta.KeySpec, k.meta.KeyUsage)
	}
	if (eq != nil || sub != nil) && k.meta.KeySpec != SpecSymmetricDefault {
		return nil, awsproto.Errorf("ValidationException", "Encryption context grant constraints are valid only for symmetric encryption KMS keys; %s has KeySpec %s.", k.meta.ARN, k.meta.KeySpec)
	}
	if err := s.checkPrincipal(ctx, grantee); err != nil {
		return nil, err
	}
	if retiring != "" {
		if err := s.checkPrincipal(ctx, retiring); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	rec := grantRecord{
		KeyARN:         k.meta.ARN,
		Grantee:        grantee,
		Retiring:       retiring,
		IssuingAccount: c.AccountID,
		Operations:     opNames,
		Equals:         eq,
		Subset:         sub,
		CreatedAt:      now.UnixMilli(),
	}
	if in.Name != nil {
		rec.Name = *in.Name
	}
	x, err := s.grantIndexOf(ctx, &k.meta)
	if err != nil {
		return nil, err
	}
	tk, _, err := s.grantTokenKey(ctx, k.meta.AccountID, true)
	if err != nil {
		return nil, s.internal("CreateGrant", err)
	}
	for _, g := range x.byName[rec.Name] {
		if rec.Name != "" && g.sameAs(&rec) {
			tok, err := s.newGrantToken(tk, k.meta.AccountID, &g.rec, now)
			if err != nil {
				return nil, s.internal("CreateGrant", err)
			}
			return &CreateGrantOutput{GrantToken: tok, GrantId: g.rec.GrantID}, nil
		}
	}
	if x.live >= s.grants.perKeyLimit() {
		return nil, awsproto.Errorf("LimitExceededException", "The grant limit of %d for key %s has been reached.", s.grants.perKeyLimit(), k.meta.ARN)
	}
	if rec.GrantID, err = s.newGrantID(); err != nil {
		return nil, s.internal("CreateGrant", err)
	}
	body, err := json.Marshal(&rec)
	if err != nil {
		return nil, s.internal("CreateGrant", err)
	}
	err = s.update(ctx, "CreateGrant", func(tx store.Tx) error {
		if err := tx.InsertDocument(store.Document{Kind: kindGrant, AccountID: k.meta.AccountID, Name: grantDocName(k.meta.Region, k.meta.ID, rec.GrantID), Body: body, UpdatedAt: now}); err != nil {
			return err
		}
		if err := insertRetirable(tx, &rec, now); err != nil {
			return err
		}
		return purgeRetired(tx, &k.meta, x, now)
	})
	s.grants.invalidate(k.meta.ARN)
	if err != nil {
		return nil, err
	}
	tok, err := s.newGrantToken(tk, k.meta.AccountID, &rec, now)
	if err != nil {
		return nil, s.internal("CreateGrant", err)
	}
	return &CreateGrantOutput{GrantToken: tok, GrantId: rec.GrantID}, nil
}

func insertRetirable(tx store.Tx, r *grantRecord, now time.Time) error {
	if r.Retiring == "" {
		return nil
	}
	acct, ok := principalAccount(r.Retiring)
	if !ok {
		return nil
	}
	return tx.InsertDocument(store.Document{Kind: kindRetirable, AccountID: acct, Name: retirableDocName(r.Retiring, r.KeyARN, r.GrantID), Body: []byte("{}"), UpdatedAt: now})
}

// purgeRetired deletes (at most 100 of) the records of grants of key k
// retired longer than grantTokenGrace ago, in tx.
func purgeRetired(tx store.Tx, k *store.Key, x *grantIndex, now time.Time) error {
	n := 0
	for _, g := range x.all {
		if !g.retired() || now.UnixMilli()-g.rec.RetiredAt <= grantTokenGrace.Milliseconds() {
			continue
		}
		if err := tx.DeleteDocument(kindGrant, k.AccountID, grantDocName(k.Region, k.ID, g.rec.GrantID)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if n++; n == 100 {
			break
		}
	}
	return nil
}

// retire marks grant g of key k retired and forgets the key's grants.
func (s *Service) retire(ctx context.Context, op string, k *store.Key, x *grantIndex, g *grant) error {
	now := s.now().UTC().Truncate(time.Millisecond)
	rec := g.rec
	rec.RetiredAt = now.UnixMilli()
	body, err := json.Marshal(&rec)
	if err != nil {
		return s.internal(op, err)
	}
	name := grantDocName(k.Region, k.ID, rec.GrantID)
	err = s.update(ctx, op, func(tx store.Tx) error {
		d, err := tx.GetDocument(kindGrant, k.AccountID, name)
		if errors.Is(err, store.ErrNotFound) {
			return errInvalidGrantID(rec.GrantID)
		}
		if err != nil {
			return err
		}
		d.Body, d.UpdatedAt = body, now
		if _, err := tx.UpdateDocument(d); err != nil {
			return err
		}
		if acct, ok := principalAccount(rec.Retiring); ok {
			if err := tx.DeleteDocument(kindRetirable, acct, retirableDocName(rec.Retiring, rec.KeyARN, rec.GrantID)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return purgeRetired(tx, k, x, now)
	})
	s.grants.invalidate(k.ARN)
	return err
}

// GrantListEntry is one grant in ListGrants and ListRetirableGrants.
type GrantListEntry struct {
	KeyId             string
	GrantId           string
	Name              string `json:",omitempty"`
	CreationDate      awsproto.Time
	GranteePrincipal  string
	RetiringPrincipal string `json:",omitempty"`
	IssuingAccount    string
	Operations        []string
	Constraints       *GrantConstraints `json:",omitempty"`
}

func entryOf(r *grantRecord) GrantListEntry {
	e := GrantListEntry{
		KeyId:             r.KeyARN,
		GrantId:           r.GrantID,
		Name:              r.Name,
		CreationDate:      awsproto.Time{Time: time.UnixMilli(r.CreatedAt).UTC()},
		GranteePrincipal:  r.Grantee,
		RetiringPrincipal: r.Retiring,
		IssuingAccount:    "arn:" + Partition + ":iam::" + r.IssuingAccount + ":root",
		Operations:        r.Operations,
	}
	if r.Equals != nil || r.Subset != nil {
		e.Constraints = &GrantConstraints{EncryptionContextEquals: r.Equals, EncryptionContextSubset: r.Subset}
	}
	return e
}

// ListGrantsInput is ListGrants' request.
type ListGrantsInput struct {
	KeyId            *string
	GrantId          *string
	GranteePrincipal *string
	ListInput
}

// ListGrantsOutput is the reply of ListGrants and ListRetirableGrants.
type ListGrantsOutput struct {
	Grants     []GrantListEntry
	NextMarker string `json:",omitempty"`
	Truncated  bool
}

// ListGrants lists the live grants of a key, in grant id order, optionally
// only one grant or those of one grantee.
func (s *Service) ListGrants(ctx context.Context, c *Caller, in *ListGrantsInput) (*ListGrantsOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.GrantId != nil {
		v.Length(*in.GrantId, "grantId", 1, 128)
	}
	validatePrincipal(&v, "granteePrincipal", in.GranteePrincipal, false)
	in.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	limit, after, err := in.page(50)
	if err != nil {
		return nil, err
	}
	ref, err := s.refOf(ctx, c, *in.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:ListGrants", key: k, extra: grantIsForAWSResource}); err != nil {
		return nil, err
	}
	x, err := s.grantIndexOf(ctx, &k.meta)
	if err != nil {
		return nil, err
	}
	if in.GrantId != nil {
		if g := x.byID[*in.GrantId]; !isGrantID(*in.GrantId) || g == nil || g.retired() {
			return nil, errInvalidGrantID(*in.GrantId)
		}
	}
	out := &ListGrantsOutput{Grants: []GrantListEntry{}}
	start, _ := slices.BinarySearchFunc(x.all, after, func(g *grant, id string) int { return strings.Compare(g.rec.GrantID, id) })
	for _, g := range x.all[start:] {
		if g.retired() || g.rec.GrantID <= after ||
			in.GrantId != nil && g.rec.GrantID != *in.GrantId ||
			in.GranteePrincipal != nil && g.rec.Grantee != *in.GranteePrincipal {
			continue
		}
		if len(out.Grants) == limit {
			out.Truncated = true
			out.NextMarker = encodeMarker(out.Grants[limit-1].GrantId)
			break
		}
		out.Grants = append(out.Grants, entryOf(&g.rec))
	}
	return out, nil
}

func grantIsForAWSResource(pc *policy.Context) { pc.SetBool("kms:GrantIsForAWSResource", false) }

// ListRetirableGrantsInput is ListRetirableGrants' request.
type ListRetirableGrantsInput struct {
	RetiringPrincipal *string
	ListInput
}

// ListRetirableGrants lists the live grants, on keys of any account, whose
// retiring principal is the one given, which must be of the caller's
// account (grants retirable by principals of other accounts are not
// listed).
func (s *Service) ListRetirableGrants(ctx context.Context, c *Caller, in *ListRetirableGrantsInput) (*ListGrantsOutput, error) {
	var v awsproto.Validation
	validatePrincipal(&v, "retiringPrincipal", in.RetiringPrincipal, true)
	in.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	limit, after, err := in.page(50)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:ListRetirableGrants"}); err != nil {
		return nil, err
	}
	out := &ListGrantsOutput{Grants: []GrantListEntry{}}
	p := *in.RetiringPrincipal
	acct, ok := principalAccount(p)
	if !ok || acct != c.AccountID {
		return out, nil
	}
	prefix := p + " "
	if after == "" {
		after = prefix
	} else if !strings.HasPrefix(after, prefix) {
		return nil, awsproto.Errorf("InvalidMarkerException", "The marker that specifies where pagination should next begin is not valid.")
	}
	err = s.view(ctx, "ListRetirableGrants", func(tx store.Tx) error {
		out.Grants, out.Truncated, out.NextMarker = out.Grants[:0], false, ""
		for cursor := after; ; {
			docs, err := tx.ListDocuments(kindRetirable, acct, cursor, limit+1)
			if err != nil {
				return err
			}
			for _, d := range docs {
				if !strings.HasPrefix(d.Name, prefix) {
					return nil
				}
				cursor = d.Name
				r, ok, err := retirableGrant(tx, d.Name[len(prefix):])
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if len(out.Grants) == limit {
					out.Truncated = true
					out.NextMarker = encodeMarker(last(out.Grants, prefix))
					return nil
				}
				out.Grants = append(out.Grants, entryOf(&r))
			}
			if len(docs) < limit+1 {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// last returns the retirable-grant document name of the last entry.
func last(list []GrantListEntry, prefix string) string {
	e := list[len(list)-1]
	return prefix + e.KeyId + " " + e.GrantId
}

// retirableGrant reads the grant a retirable-grant index entry ("<key ARN>
// <grant id>") names; ok is false when it is gone or retired.
func retirableGrant(tx store.Tx, entry string) (grantRecord, bool, error) {
	keyARN, grantID, ok := strings.Cut(entry, " ")
	a, okARN := parseKMSARN(keyARN)
	keyID, okKey := strings.CutPrefix(a.resource, "key/")
	if !ok || !okARN || !okKey {
		return grantRecord{}, false, nil
	}
	d, err := tx.GetDocument(kindGrant, a.account, grantDocName(a.region, keyID, grantID))
	if errors.Is(err, store.ErrNotFound) {
		return grantRecord{}, false, nil
	}
	if err != nil {
		return grantRecord{}, false, err
	}
	var r grantRecord
	if err := json.Unmarshal(d.Body, &r); err != nil {
		return grantRecord{}, false, errors.New("kms: stored grant " + d.Name + ": " + err.Error())
	}
	return r, r.RetiredAt == 0, nil
}

// RetireGrantInput is RetireGrant's request.
type RetireGrantInput struct {
	GrantToken *string
	KeyId      *string
	GrantId    *string
	DryRun     bool
}

// trailParams records RetireGrant's request without its grant token.
func (in *RetireGrantInput) trailParams() map[string]any {
	m := make(map[string]any, 3)
	if in.KeyId != nil {
		m["keyId"] = *in.KeyId
	}
	if in.GrantId != nil {
		m["grantId"] = *in.GrantId
	}
	if in.DryRun {
		m["dryRun"] = true
	}
	return m
}

// RetireGrant deletes a grant, named by its token or by key and grant id.
// It is allowed to the grant's retiring principal, to its grantee when the
// grant includes RetireGrant, and to the account that owns the key or
// issued the grant (its root, or its principals whose policies allow
// kms:RetireGrant); an explicit deny of kms:RetireGrant in the policies
// wins.
func (s *Service) RetireGrant(ctx context.Context, c *Caller, in *RetireGrantInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	if in.GrantToken != nil {
		v.Length(*in.GrantToken, "grantToken", 1, maxGrantToken)
	}
	if in.KeyId != nil {
		v.Length(*in.KeyId, "keyId", 1, 2048)
	}
	if in.GrantId != nil {
		v.Length(*in.GrantId, "grantId", 1, 128)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var keyID, grantID string
	byToken := in.GrantToken != nil
	switch {
	case byToken:
		tc, err := s.openGrantToken(ctx, *in.GrantToken)
		if err != nil {
			return nil, err
		}
		keyID, grantID = tc.KeyARN, tc.GrantID
	case in.KeyId != nil && in.GrantId != nil:
		keyID, grantID = *in.KeyId, *in.GrantId
	default:
		return nil, awsproto.Errorf("ValidationException", "Grant token OR (grant ID, key ID) must be specified")
	}
	ref, err := s.refOf(ctx, c, keyID, keyOnly)
	if err != nil {
		return nil, err
	}
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !isGrantID(grantID) {
		return nil, errInvalidGrantID(grantID)
	}
	x, err := s.grantIndexOf(ctx, &k.meta)
	if err != nil {
		return nil, err
	}
	g := x.byID[grantID]
	if g == nil || g.retired() {
		if byToken {
			return nil, awsproto.Errorf("NotFoundException", "Grant '%s' does not exist", grantID)
		}
		return nil, errInvalidGrantID(grantID)
	}
	if err := s.authorizeRetire(ctx, c, k, g); err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	if err := s.retire(ctx, "RetireGrant", &k.meta, x, g); err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}

// authorizeRetire decides whether c may retire grant g of key k, and
// records the decision in c's trail.
func (s *Service) authorizeRetire(ctx context.Context, c *Caller, k *liveKey, g *grant) error {
	a := access{action: "kms:RetireGrant", key: k}
	res, _ := s.decide(c, a)
	// matches reports whether p names the caller, or its account's root
	// and the caller's IAM policies allow kms:RetireGrant.
	matches := func(p string) bool {
		switch matchPrincipal(c, p) {
		case exactMatch:
			return true
		case accountMatch:
			return s.identityAllows(c, &a)
		}
		return false
	}
	reason := ""
	switch {
	case res.ExplicitDeny:
	case matches(g.rec.Retiring):
		reason = "retiring principal of grant " + g.rec.GrantID
	case g.ops&opRetireGrant != 0 && matches(g.rec.Grantee):
		reason = "grantee of grant " + g.rec.GrantID + ", which includes RetireGrant"
	case (c.AccountID == k.meta.AccountID || c.AccountID == g.rec.IssuingAccount) && (c.IsRoot() || res.Allowed):
		reason = "account " + c.AccountID + ", which owns the key or issued grant " + g.rec.GrantID
	}
	if t := c.Trail; t != nil {
		t.Resources = appendUnique(t.Resources, k.meta.ARN)
		t.Decision, t.Reason = "Allow", reason
		if reason == "" {
			t.Decision, t.Reason = "Deny", "not the retiring principal, a grantee allowed to retire, or the account of grant "+g.rec.GrantID
			if res.ExplicitDeny {
				t.Reason = strings.TrimPrefix(res.Reason, "with ")
			}
		}
	}
	if reason == "" {
		msg := "User: " + c.ARN + " is not authorized to perform: kms:RetireGrant on resource: " + k.meta.ARN
		if res.ExplicitDeny {
			msg += " " + res.Reason
		}
		return awsproto.Errorf("AccessDeniedException", "%s", msg)
	}
	return nil
}

// RevokeGrantInput is RevokeGrant's request.
type RevokeGrantInput struct {
	KeyId   *string
	GrantId *string
	DryRun  bool
}

// RevokeGrant deletes a grant of a key; kms:RevokeGrant in the key policy
// (and IAM policies) decides who may.
func (s *Service) RevokeGrant(ctx context.Context, c *Caller, in *RevokeGrantInput) (*EmptyOutput, error) {
	var v awsproto.Validation
	validateKeyID(&v, "keyId", in.KeyId)
	if in.GrantId == nil {
		v.Required("grantId")
	} else {
		v.Length(*in.GrantId, "grantId", 1, 128)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ref, err := s.refOf(ctx, c, *in.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	k, err := s.keyByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, access{action: "kms:RevokeGrant", key: k, extra: grantIsForAWSResource}); err != nil {
		return nil, err
	}
	x, err := s.grantIndexOf(ctx, &k.meta)
	if err != nil {
		return nil, err
	}
	g := x.byID[*in.GrantId]
	if !isGrantID(*in.GrantId) || g == nil || g.retired() {
		return nil, errInvalidGrantID(*in.GrantId)
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	if err := s.retire(ctx, "RevokeGrant", &k.meta, x, g); err != nil {
		return nil, err
	}
	return &EmptyOutput{}, nil
}
