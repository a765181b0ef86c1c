// Package keyring holds all handling of key material in Custos: generating it, wrapping it under the root key
// ([Root]), and the symmetric ciphertext format ([Symmetric], [ParseCiphertext], [AppendContext]).
//
// The package is pure: it does no I/O, reads no clock and keeps no global state. Randomness is always passed in as an
// io.Reader (crypto/rand.Reader in production, a deterministic reader in tests); it must not be nil.
//
// Secret bytes travel in a [Secret], which never prints and is compared in constant time. Errors never contain key
// material or plaintext.
//
// Every persisted format starts with a format byte. Persisted formats never change: a new layout gets a new format
// byte, and the constants of existing ones are pinned by tests.
package keyring

import "errors"

// ErrInvalidCiphertext is returned, unwrapped, by [ParseCiphertext] and [Symmetric.Open] for any blob that is
// malformed or does not authenticate (wrong key, wrong material, wrong encryption context, altered or truncated).
// It deliberately does not say which.
var ErrInvalidCiphertext = errors.New("keyring: invalid ciphertext")

// ErrUnwrap is returned, unwrapped, by [Root.Unwrap] for any wrapped blob that is malformed or does not authenticate
// under the root key and the given additional data.
var ErrUnwrap = errors.New("keyring: cannot unwrap key material")
