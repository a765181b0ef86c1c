package keyring

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"sync"
)

// hmacSpec returns the hash and the key size in bytes of an HMAC key spec: as AWS KMS, the key is as long as the
// hash output (HMAC_224: 28 bytes, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64).
func hmacSpec(spec string) (func() hash.Hash, int, string, bool) {
	switch spec {
	case "HMAC_224":
		return sha256.New224, sha256.Size224, "HMAC_SHA_224", true
	case "HMAC_256":
		return sha256.New, sha256.Size, "HMAC_SHA_256", true
	case "HMAC_384":
		return sha512.New384, sha512.Size384, "HMAC_SHA_384", true
	case "HMAC_512":
		return sha512.New, sha512.Size, "HMAC_SHA_512", true
	}
	return nil, 0, "", false
}

// IsHMACSpec reports whether spec is HMAC_224, HMAC_256, HMAC_384 or HMAC_512.
func IsHMACSpec(spec string) bool {
	_, _, _, ok := hmacSpec(spec)
	return ok
}

// MacAlgorithm returns the one MAC algorithm (AWS KMS MacAlgorithmSpec) of HMAC key spec spec, e.g. HMAC_SHA_256
// for HMAC_256, or "" for another spec.
func MacAlgorithm(spec string) string {
	_, _, alg, _ := hmacSpec(spec)
	return alg
}

// NewHMACMaterial returns a new HMAC key for key spec spec: as many bytes read from rand as the hash output. Errors:
// an unknown spec, or a failure to read rand.
func NewHMACMaterial(rand io.Reader, spec string) (Secret, error) {
	_, size, _, ok := hmacSpec(spec)
	if !ok {
		return Secret{}, fmt.Errorf("keyring: unknown HMAC key spec %q", spec)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(rand, b); err != nil {
		clear(b)
		return Secret{}, fmt.Errorf("keyring: reading random HMAC key: %w", err)
	}
	return ownSecret(b), nil
}

// HMAC is an HMAC key (RFC 2104) prepared for [HMAC.Sum] and [HMAC.Verify]. It is immutable and safe for concurrent
// use; build it once per key with [NewHMAC] and cache it, as it pools the keyed hash states.
type HMAC struct {
	spec string
	size int
	pool sync.Pool // of hash.Hash, keyed; Reset returns one to the keyed state
}

// NewHMAC prepares material, which must be as long as [NewHMACMaterial] makes it for spec. The material is used at
// once; the caller may discard it afterwards.
func NewHMAC(spec string, material Secret) (*HMAC, error) {
	newHash, size, _, ok := hmacSpec(spec)
	if !ok {
		return nil, fmt.Errorf("keyring: unknown HMAC key spec %q", spec)
	}
	if material.Len() != size {
		return nil, fmt.Errorf("keyring: %s key material is %d bytes, want %d", spec, material.Len(), size)
	}
	key := material.Bytes()
	h := &HMAC{spec: spec, size: size}
	h.pool.New = func() any { return hmac.New(newHash, key) }
	return h, nil
}

// Spec returns the key spec given to [NewHMAC].
func (h *HMAC) Spec() string { return h.spec }

// Sum returns the HMAC of msg in a new slice, as long as the hash output.
func (h *HMAC) Sum(msg []byte) []byte {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	out := m.Sum(make([]byte, 0, h.size))
	h.pool.Put(m)
	return out
}

// Verify reports whether mac is the HMAC of msg, comparing in constant time (the time depends on the lengths only).
func (h *HMAC) Verify(msg, mac []byte) bool {
	return hmac.Equal(h.Sum(msg), mac)
}
