package keyring

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
	"testing"
)

func TestHMAC(t *testing.T) {
	tests := []struct {
		spec, alg string
		size      int
		newHash   func() hash.Hash
	}{
		{"HMAC_224", "HMAC_SHA_224", 28, sha256.New224},
		{"HMAC_256", "HMAC_SHA_256", 32, sha256.New},
		{"HMAC_384", "HMAC_SHA_384", 48, sha512.New384},
		{"HMAC_512", "HMAC_SHA_512", 64, sha512.New},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			if !IsHMACSpec(tt.spec) || MacAlgorithm(tt.spec) != tt.alg {
				t.Errorf("IsHMACSpec, MacAlgorithm(%s) = %v, %q, want true, %q", tt.spec, IsHMACSpec(tt.spec), MacAlgorithm(tt.spec), tt.alg)
			}
			m, err := NewHMACMaterial(rand.Reader, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if m.Len() != tt.size {
				t.Errorf("NewHMACMaterial(%s) = %d bytes, want %d", tt.spec, m.Len(), tt.size)
			}
			h, err := NewHMAC(tt.spec, m)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("message to authenticate")
			ref := hmac.New(tt.newHash, m.Bytes())
			ref.Write(msg)
			want := ref.Sum(nil)
			for i := 0; i < 3; i++ { // pooled states are reset between uses
				if got := h.Sum(msg); !bytes.Equal(got, want) {
					t.Fatalf("Sum = %x, want %x (crypto/hmac)", got, want)
				}
			}
			if !h.Verify(msg, want) {
				t.Errorf("Verify(correct MAC) = false")
			}
			for _, bad := range [][]byte{flipBit(want, 0), want[:len(want)-1], nil, append(bytes.Clone(want), 0)} {
				if h.Verify(msg, bad) {
					t.Errorf("Verify(%x) = true", bad)
				}
			}
			if h.Verify([]byte("other"), want) {
				t.Errorf("Verify(other message) = true")
			}
			if _, err := NewHMAC(tt.spec, NewSecret(make([]byte, tt.size+1))); err == nil {
				t.Errorf("NewHMAC(%d-byte material) = nil error", tt.size+1)
			}
		})
	}
	for _, spec := range []string{"SYMMETRIC_DEFAULT", "HMAC_1024", ""} {
		if IsHMACSpec(spec) || MacAlgorithm(spec) != "" {
			t.Errorf("IsHMACSpec(%q) = true", spec)
		}
		if _, err := NewHMACMaterial(rand.Reader, spec); err == nil {
			t.Errorf("NewHMACMaterial(%q) = nil error", spec)
		}
		if _, err := NewHMAC(spec, NewSecret(make([]byte, 32))); err == nil {
			t.Errorf("NewHMAC(%q) = nil error", spec)
		}
	}
	if _, err := NewHMACMaterial(strings.NewReader("short"), "HMAC_256"); err == nil {
		t.Errorf("NewHMACMaterial with a failing reader = nil error")
	}
}

func TestWycheproofHMAC(t *testing.T) {
	t.Parallel()
	for file, spec := range map[string]string{"hmac_sha224_test.json": "HMAC_224", "hmac_sha256_test.json": "HMAC_256",
		"hmac_sha384_test.json": "HMAC_384", "hmac_sha512_test.json": "HMAC_512"} {
		t.Run(file, func(t *testing.T) {
			_, size, _, _ := hmacSpec(spec)
			n := 0
			for _, g := range loadWycheproof(t, file) {
				if g.KeySize != 8*size || g.TagSize != 8*size {
					continue // Custos keys are as long as the hash, its MACs untruncated
				}
				for _, tc := range g.Tests {
					h, err := NewHMAC(spec, NewSecret(tc.Key))
					if err != nil {
						t.Fatalf("#%d: NewHMAC: %v", tc.TcID, err)
					}
					ok := h.Verify(tc.Msg, tc.Tag)
					if ok != bytes.Equal(h.Sum(tc.Msg), tc.Tag) {
						t.Errorf("#%d: Verify and Sum disagree", tc.TcID)
					}
					checkResult(t, file, tc, ok, nil)
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s: no vector ran", file)
			}
		})
	}
}
