package keyring

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

const redacted = "keyring.Secret(REDACTED)"

var errMarshalSecret = errors.New("keyring: a Secret cannot be marshaled")

// Secret holds secret bytes, such as key material or a data key. The zero value is empty.
//
// A Secret never reveals its bytes by accident: String, GoString and Format (every fmt verb) give
// "keyring.Secret(REDACTED)", LogValue gives the same to log/slog, and MarshalJSON and MarshalText fail. The bytes are
// copied on the way in ([NewSecret]) and on the way out ([Secret.Bytes]), so no caller can alter a Secret, and
// [Secret.Equal] compares in constant time. A Secret is immutable and safe for concurrent use; copying it is cheap
// and shares the bytes.
type Secret struct {
	// The bytes sit two pointers deep so that fmt, when it prints a struct holding a Secret in an unexported field
	// (where it cannot call Format, and where a bad verb makes it print one pointer level as a value), shows an
	// address instead of the bytes.
	v *secretValue
}

type secretValue struct{ b *[]byte }

// NewSecret returns a Secret holding a copy of b. The caller may clear b afterwards.
func NewSecret(b []byte) Secret {
	return ownSecret(bytes.Clone(b))
}

// ownSecret returns a Secret that takes ownership of b, which the caller must not use afterwards.
func ownSecret(b []byte) Secret {
	if len(b) == 0 {
		return Secret{}
	}
	return Secret{v: &secretValue{b: &b}}
}

// bytes returns the secret bytes without copying them, for use inside this package only. Never modify the result.
func (s Secret) bytes() []byte {
	if s.v == nil {
		return nil
	}
	return *s.v.b
}

// Bytes returns a copy of the secret bytes (nil for an empty Secret). The caller owns the copy and should clear it
// when done.
func (s Secret) Bytes() []byte { return bytes.Clone(s.bytes()) }

// Len returns the number of secret bytes.
func (s Secret) Len() int { return len(s.bytes()) }

// Equal reports whether s and o hold the same bytes. The time taken depends on the lengths only, not on the contents.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare(s.bytes(), o.bytes()) == 1
}

// String returns "keyring.Secret(REDACTED)".
func (s Secret) String() string { return redacted }

// GoString returns "keyring.Secret(REDACTED)".
func (s Secret) GoString() string { return redacted }

// Format writes "keyring.Secret(REDACTED)" for every verb and flag, so that %x, %q and friends reveal nothing.
func (s Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue returns "keyring.Secret(REDACTED)" as a string value for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON always fails: a Secret must be converted deliberately (for example base64 of [Secret.Bytes]) where it
// is meant to leave the process, never by accident.
func (s Secret) MarshalJSON() ([]byte, error) { return nil, errMarshalSecret }

// MarshalText always fails, for the same reason as [Secret.MarshalJSON].
func (s Secret) MarshalText() ([]byte, error) { return nil, errMarshalSecret }
