package kms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/store"
)

// keyRef names a key (or an alias, with id holding the alias name) within
// one account and region.
type keyRef struct{ account, region, id string }

func (r keyRef) arn() string { return keyARN(r.region, r.account, r.id) }

// liveKey is a key as the hot path uses it: its metadata and its key
// material, unwrapped and prepared. It is immutable once cached; any change to
// the key replaces it.
type liveKey struct {
	meta      store.Key
	policy    *policy.Policy                // the compiled key policy
	tags      []store.Tag                   // for aws:ResourceTag
	aliases   []string                      // alias names, for kms:ResourceAliases
	current   *keyring.Symmetric            // SYMMETRIC_DEFAULT keys
	materials map[string]*keyring.Symmetric // by material id
	asym      *keyring.Asymmetric           // asymmetric keys (RSA, ECC, ML-DSA)
	mac       *keyring.HMAC                 // HMAC keys
}

// keyCache holds live keys and alias targets. A load that raced with an
// invalidation is not cached: every change bumps gen, and put only stores
// what was loaded under the current gen.
type keyCache struct {
	mu      sync.RWMutex
	gen     uint64
	keys    map[keyRef]*liveKey
	aliases map[keyRef]string // alias name -> target key id
}

func newKeyCache() *keyCache {
	return &keyCache{keys: make(map[keyRef]*liveKey), aliases: make(map[keyRef]string)}
}

func (c *keyCache) key(r keyRef) (*liveKey, uint64) {
	c.mu.RLock()
	k, g := c.keys[r], c.gen
	c.mu.RUnlock()
	return k, g
}

func (c *keyCache) alias(r keyRef) (string, bool, uint64) {
	c.mu.RLock()
	id, ok := c.aliases[r]
	g := c.gen
	c.mu.RUnlock()
	return id, ok, g
}

func (c *keyCache) putKey(r keyRef, k *liveKey, gen uint64) {
	c.mu.Lock()
	if c.gen == gen && len(c.keys) < 100_000 {
		c.keys[r] = k
	}
	c.mu.Unlock()
}

func (c *keyCache) putAlias(r keyRef, id string, gen uint64) {
	c.mu.Lock()
	if c.gen == gen && len(c.aliases) < 100_000 {
		c.aliases[r] = id
	}
	c.mu.Unlock()
}

// invalidateKey forgets one key; invalidateAliases forgets every alias.
func (c *keyCache) invalidateKey(r keyRef) {
	c.mu.Lock()
	c.gen++
	delete(c.keys, r)
	c.mu.Unlock()
}

// invalidateAll forgets every key and alias.
func (c *keyCache) invalidateAll() {
	c.mu.Lock()
	c.gen++
	clear(c.keys)
	clear(c.aliases)
	c.mu.Unlock()
}

func (c *keyCache) invalidateAliases() {
	c.mu.Lock()
	c.gen++
	clear(c.aliases)
	c.mu.Unlock()
}

// errKeyNotFound is AWS's answer for a well-formed key that does not exist.
func errKeyNotFound(arn string) error {
	return awsproto.Errorf("NotFoundException", "Key '%s' does not exist", arn)
}

func errInvalidKeyID(id string) error {
	return awsproto.Errorf("NotFoundException", "Invalid keyId '%s'", id)
}

func errAliasNotFound(arn string) error {
	return awsproto.Errorf("NotFoundException", "Alias %s is not found.", arn)
}

// isKeyID reports whether s has the shape of a key id: a lowercase UUID, or
// "mrk-" and 32 lowercase hex digits.
func isKeyID(s string) bool {
	if len(s) == 36 && strings.HasPrefix(s, "mrk-") {
		return isHex(s[4:])
	}
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parsedARN is a KMS ARN split into its parts.
type parsedARN struct {
	region, account string
	resource        string // "key/<id>" or "alias/<name>"
}

// parseKMSARN splits arn:aws:kms:<region>:<account>:<resource>.
func parseKMSARN(s string) (parsedARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != Partition || parts[2] != "kms" ||
		!isRegion(parts[3]) || !isAccountID(parts[4]) {
		return parsedARN{}, false
	}
	return parsedARN{region: parts[3], account: parts[4], resource: parts[5]}, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isRegion reports whether s is a well-formed region name such as
// us-east-1 or us-gov-west-1.
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts) > 4 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			last := i == len(parts)-1
			if last && !(c >= '0' && c <= '9') || !last && !(c >= 'a' && c <= 'z') {
				return false
			}
		}
	}
	return true
}

// IsRegion reports whether s is a well-formed AWS region name.
func IsRegion(s string) bool { return isRegion(s) }

// keyLookup says which KeyId forms an operation accepts.
type keyLookup int

const (
	keyOnly   keyLookup = iota // key id or key ARN
	withAlias                  // also alias name or alias ARN
)

// refOf turns a KeyId parameter into the key it names, resolving aliases
// when allowed. It reads the store only when the caches are cold.
func (s *Service) refOf(ctx context.Context, c *Caller, keyID string, l keyLookup) (keyRef, error) {
	switch {
	case strings.HasPrefix(keyID, "arn:"):
		a, ok := parseKMSARN(keyID)
		if !ok {
			return keyRef{}, awsproto.Errorf("NotFoundException", "Invalid arn %s", keyID)
		}
		if a.region != c.Region {
			return keyRef{}, awsproto.Errorf("NotFoundException", "Invalid arn %s", a.region)
		}
		if id, ok := strings.CutPrefix(a.resource, "key/"); ok && isKeyID(id) {
			return keyRef{a.account, a.region, id}, nil
		}
		if strings.HasPrefix(a.resource, "alias/") && l == withAlias {
			return s.aliasTarget(ctx, keyRef{a.account, a.region, a.resource})
		}
		return keyRef{}, awsproto.Errorf("NotFoundException", "Invalid arn %s", keyID)
	case strings.HasPrefix(keyID, "alias/"):
		if l != withAlias {
			return keyRef{}, errInvalidKeyID(keyID)
		}
		return s.aliasTarget(ctx, keyRef{c.AccountID, c.Region, keyID})
	case isKeyID(keyID):
		return keyRef{c.AccountID, c.Region, keyID}, nil
	}
	return keyRef{}, errInvalidKeyID(keyID)
}

func (s *Service) aliasTarget(ctx context.Context, alias keyRef) (keyRef, error) {
	id, ok, gen := s.keys.alias(alias)
	if !ok {
		var a store.Alias
		err := s.store.View(ctx, func(tx store.Tx) error {
			var err error
			a, err = tx.GetAlias(alias.account, alias.region, alias.id)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return keyRef{}, errAliasNotFound(aliasARN(alias.region, alias.account, alias.id))
		}
		if err != nil {
			return keyRef{}, s.internal("ResolveAlias", err)
		}
		id = a.TargetKeyID
		s.keys.putAlias(alias, id, gen)
	}
	return keyRef{alias.account, alias.region, id}, nil
}

// key returns the live key a KeyId names.
func (s *Service) key(ctx context.Context, c *Caller, keyID string, l keyLookup) (*liveKey, error) {
	ref, err := s.refOf(ctx, c, keyID, l)
	if err != nil {
		return nil, err
	}
	return s.keyByRef(ctx, ref)
}

func (s *Service) keyByRef(ctx context.Context, ref keyRef) (*liveKey, error) {
	k, gen := s.keys.key(ref)
	if k != nil {
		return k, nil
	}
	arn := ref.arn()
	var (
		meta    store.Key
		mats    []store.Material
		tags    []store.Tag
		aliases []store.Alias
	)
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if meta, err = tx.GetKey(arn); err != nil {
			return err
		}
		if mats, err = tx.Materials(arn); err != nil {
			return err
		}
		if tags, err = tx.Tags(arn); err != nil {
			return err
		}
		aliases, err = tx.ListAliases(ref.account, ref.region, ref.id, "", maxAliasesPerKey+1)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errKeyNotFound(arn)
	}
	if err != nil {
		return nil, s.internal("LoadKey", err)
	}
	k, err = s.prepare(meta, mats)
	if err != nil {
		return nil, s.internal("LoadKey", err)
	}
	k.tags = tags
	for _, a := range aliases {
		k.aliases = append(k.aliases, a.Name)
	}
	s.keys.putKey(ref, k, gen)
	return k, nil
}

// prepare unwraps a key's material under the root key and prepares it for its spec: every version of symmetric
// material, or the one private key of an asymmetric key, or the one secret of an HMAC key.
func (s *Service) prepare(meta store.Key, mats []store.Material) (*liveKey, error) {
	pol, err := policy.Parse(meta.Policy, policy.KeyPolicy)
	if err != nil {
		return nil, fmt.Errorf("kms: stored policy of %s: %w", meta.ARN, err)
	}
	k := &liveKey{meta: meta, policy: pol, materials: make(map[string]*keyring.Symmetric, len(mats))}
	for _, m := range mats {
		secret, err := s.root.Unwrap(m.Wrapped, wrapAAD(meta.ARN, m.ID))
		if err != nil {
			return nil, err
		}
		switch spec := meta.KeySpec; {
		case keyring.IsHMACSpec(spec):
			if k.mac, err = keyring.NewHMAC(spec, secret); err != nil {
				return nil, err
			}
		case keyring.IsAsymmetricSpec(spec):
			if k.asym, err = keyring.NewAsymmetric(spec, secret); err != nil {
				return nil, err
			}
		default:
			sym, err := keyring.NewSymmetric(blobKeyRef(meta.AccountID, meta.ID), m.ID, secret)
			if err != nil {
				return nil, err
			}
			k.materials[m.ID] = sym
			if m.ID == meta.CurrentMaterialID {
				k.current = sym
			}
		}
	}
	return k, nil
}
