package keyring

import (
	"bytes"
	"errors"
	"testing"
)

func testRoot(t *testing.T, seed byte) *Root {
	t.Helper()
	r, err := NewRoot(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatalf("NewRoot: %v", err)
	}
	return r
}

func TestRootWrapUnwrap(t *testing.T) {
	r := testRoot(t, 1)
	material := []byte("0123456789abcdef0123456789abcdef")
	aad := []byte("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab/material-1")
	wrapped, err := r.Wrap(newDetReader(1), material, aad)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if got, want := len(wrapped), 1+12+len(material)+16; got != want {
		t.Errorf("len(Wrap()) = %d, want %d", got, want)
	}
	if wrapped[0] != 0x01 {
		t.Errorf("Wrap()[0] = %#x, want 0x01", wrapped[0])
	}
	if bytes.Contains(wrapped, material) {
		t.Errorf("Wrap() contains the plaintext")
	}
	got, err := r.Unwrap(wrapped, aad)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !got.Equal(NewSecret(material)) {
		t.Errorf("Unwrap(Wrap(m)) != m")
	}

	tests := []struct {
		name    string
		root    *Root
		wrapped []byte
		aad     []byte
	}{
		{"wrong aad", r, wrapped, append(bytes.Clone(aad), 'x')},
		{"nil aad", r, wrapped, nil},
		{"wrong root key", testRoot(t, 2), wrapped, aad},
		{"empty", r, nil, aad},
		{"truncated", r, wrapped[:len(wrapped)-1], aad},
		{"only overhead", r, wrapped[:29], aad},
		{"wrong format", r, append([]byte{0x02}, wrapped[1:]...), aad},
		{"flipped nonce", r, flipBit(wrapped, 8*3), aad},
		{"flipped tag", r, flipBit(wrapped, 8*len(wrapped)-1), aad},
	}
	for _, tt := range tests {
		if s, err := tt.root.Unwrap(tt.wrapped, tt.aad); !errors.Is(err, ErrUnwrap) || s.Len() != 0 {
			t.Errorf("%s: Unwrap = %v (len %d), want ErrUnwrap", tt.name, err, s.Len())
		}
	}
}

func TestRootEmptyPlaintext(t *testing.T) {
	r := testRoot(t, 1)
	w, err := r.Wrap(newDetReader(1), nil, []byte("a"))
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if s, err := r.Unwrap(w, []byte("a")); err != nil || s.Len() != 0 {
		t.Errorf("Unwrap(Wrap(nil)) = len %d, %v; want len 0, nil", s.Len(), err)
	}
}

func TestNewRootKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewRoot(make([]byte, n)); err == nil {
			t.Errorf("NewRoot(%d bytes) = nil error, want error", n)
		}
	}
}

func TestRootWrapReadError(t *testing.T) {
	if _, err := testRoot(t, 1).Wrap(bytes.NewReader(make([]byte, 5)), []byte("m"), nil); err == nil {
		t.Errorf("Wrap with a short reader = nil error, want error")
	}
}
