package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
)

// Format constants of a wrapped blob. Persisted: never change them.
const (
	wrapFormat    = 0x01
	wrapNonceSize = 12
	wrapTagSize   = 16
	wrapOverhead  = 1 + wrapNonceSize + wrapTagSize
	rootKeySize   = 32
)

// Root wraps and unwraps key material under the 256-bit root key with AES-256-GCM. It is safe for concurrent use.
//
// Wrapped blob (format 1):
//
//	offset  size  field
//	0       1     format = 0x01
//	1       12    nonce (random)
//	13      ...   AES-256-GCM ciphertext of the key material || 16-byte tag
//
// The GCM additional data is the format byte followed by the caller's aad: format (1 byte) || aad. The aad binds the
// blob to its owner (for example key ARN and material id), so a wrapped blob moved to another owner fails to unwrap;
// the caller must encode it unambiguously (fixed-width or length-prefixed parts).
// A root key should wrap well under 2^32 blobs (random 96-bit nonces); one per key material version is far below.
type Root struct {
	aead cipher.AEAD
}

// NewRoot returns a Root for the given root key, which must be 32 bytes. The key is copied (expanded) at once; the
// caller may clear it afterwards.
func NewRoot(key []byte) (*Root, error) {
	if len(key) != rootKeySize {
		return nil, fmt.Errorf("keyring: root key is %d bytes, want %d", len(key), rootKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keyring: root key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: root key: %w", err)
	}
	return &Root{aead: aead}, nil
}

// Wrap encrypts plaintext (key material) under the root key, bound to aad, and returns the wrapped blob laid out as
// documented on [Root]. It reads 12 bytes from rand for the nonce; the only error is a failure to read them.
func (r *Root) Wrap(rand io.Reader, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+wrapNonceSize, wrapOverhead+len(plaintext))
	out[0] = wrapFormat
	nonce := out[1 : 1+wrapNonceSize]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("keyring: reading random nonce: %w", err)
	}
	return r.aead.Seal(out, nonce, plaintext, wrapAD(aad)), nil
}

// Unwrap decrypts a blob made by [Root.Wrap] with the same root key and aad and returns the key material. Any
// failure (wrong format, truncated, altered, wrong root key, wrong aad) returns [ErrUnwrap].
func (r *Root) Unwrap(wrapped, aad []byte) (Secret, error) {
	if len(wrapped) < wrapOverhead || wrapped[0] != wrapFormat {
		return Secret{}, ErrUnwrap
	}
	nonce := wrapped[1 : 1+wrapNonceSize]
	pt, err := r.aead.Open(nil, nonce, wrapped[1+wrapNonceSize:], wrapAD(aad))
	if err != nil {
		return Secret{}, ErrUnwrap
	}
	return ownSecret(pt), nil
}

// wrapAD returns the GCM additional data of a wrapped blob: format byte || aad.
func wrapAD(aad []byte) []byte {
	ad := make([]byte, 0, 1+len(aad))
	ad = append(ad, wrapFormat)
	return append(ad, aad...)
}
