package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
)

// maxCachedKeys bounds the signing-key cache; when a new key would exceed
// it, the whole cache is dropped.
const maxCachedKeys = 10000

// cacheKey identifies a derived signing key.
type cacheKey struct {
	accessKeyID, date, region, service string
}

// cacheEntry is a derived signing key together with a copy of the secret it
// was derived from, so that a changed secret is never served a stale key.
type cacheEntry struct {
	secret []byte
	key    [sha256.Size]byte
}

// keyCache caches derived signing keys. It is safe for concurrent use.
type keyCache struct {
	mu sync.RWMutex
	m  map[cacheKey]cacheEntry
}

// get returns the cached signing key for k if it was derived from secret.
func (c *keyCache) get(k cacheKey, secret []byte) ([sha256.Size]byte, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || subtle.ConstantTimeCompare(e.secret, secret) != 1 {
		return [sha256.Size]byte{}, false
	}
	return e.key, true
}

// put stores a signing key derived from secret, copying k's strings and the
// secret so that the cache pins no request memory.
func (c *keyCache) put(k cacheKey, secret []byte, key [sha256.Size]byte) {
	k = cacheKey{strings.Clone(k.accessKeyID), strings.Clone(k.date), strings.Clone(k.region), strings.Clone(k.service)}
	e := cacheEntry{secret: append([]byte(nil), secret...), key: key}
	c.mu.Lock()
	if _, ok := c.m[k]; !ok && len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[k] = e
	c.mu.Unlock()
}

// len returns the number of cached keys.
func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// deriveKey returns the SigV4 signing key
//
//	HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")
//
// using s.mac as working space (wiped by s.reset).
func (s *scratch) deriveKey(secret []byte, date, region, service string) [sha256.Size]byte {
	// "AWS4"+secret is built in s.mac, so no copy of the secret outlives
	// s.reset; hmacMsg reads its key before it reuses s.mac.
	s.mac = append(append(s.mac[:0], "AWS4"...), secret...)
	k := hmacMsg(s, s.mac, date)
	k = hmacMsg(s, k[:], region)
	k = hmacMsg(s, k[:], service)
	return hmacMsg(s, k[:], terminator)
}

// hmacMsg returns HMAC-SHA256(key, msg) (RFC 2104), using s.mac as working
// space; key may alias s.mac.
func hmacMsg[M string | []byte](s *scratch, key []byte, msg M) [sha256.Size]byte {
	var k [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		copy(k[:], sum[:])
	} else {
		copy(k[:], key)
	}
	b := s.mac[:0]
	for _, c := range k {
		b = append(b, c^0x36)
	}
	b = append(b, msg...)
	inner := sha256.Sum256(b)
	b = b[:0]
	for _, c := range k {
		b = append(b, c^0x5c)
	}
	b = append(b, inner[:]...)
	out := sha256.Sum256(b)
	clear(k[:])
	s.mac = b
	return out
}
