package keyring

import (
	"bytes"
	"strings"
	"testing"
)

type fuzzSeed struct {
	pt   string
	k, v string
}

var fuzzSeeds = []fuzzSeed{
	{"", "k", "v"},
	{"a", "", ""},
	{"Hello, Custos!", "purpose", "test"},
	{strings.Repeat("x", 100), "aws:s3:arn", "arn:aws:s3:::bucket/object"},
}

// sealedSeeds returns real blobs made deterministically by testSymmetric.
func sealedSeeds(t testing.TB, s *Symmetric) [][]byte {
	r := newDetReader(9)
	var blobs [][]byte
	for _, sd := range fuzzSeeds {
		b, err := s.Seal(r, []byte(sd.pt), map[string]string{sd.k: sd.v})
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		blobs = append(blobs, b)
	}
	return blobs
}

func FuzzParseCiphertext(f *testing.F) {
	for _, b := range sealedSeeds(f, testSymmetric(f)) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 1, 'k'})
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := ParseCiphertext(blob)
		if err != nil {
			if err != ErrInvalidCiphertext || h != (Header{}) {
				t.Fatalf("ParseCiphertext(%x) = %+v, %v; want zero header, ErrInvalidCiphertext", blob, h, err)
			}
			return
		}
		n := len(h.KeyID)
		if blob[0] != 0x01 || int(blob[1]) != n || !validKeyID(h.KeyID) || string(blob[2:2+n]) != h.KeyID {
			t.Fatalf("ParseCiphertext(%x) key id %q does not match the blob", blob, h.KeyID)
		}
		if _, ok := parseMaterialID(h.MaterialID); !ok || len(blob) < 66+n+16 {
			t.Fatalf("ParseCiphertext(%x) = %+v for a malformed blob", blob, h)
		}
	})
}

func FuzzOpen(f *testing.F) {
	s := testSymmetric(f)
	blobs := sealedSeeds(f, s)
	for i, b := range blobs {
		f.Add(b, fuzzSeeds[i].k, fuzzSeeds[i].v)
	}
	f.Fuzz(func(t *testing.T, blob []byte, k, v string) {
		pt, err := s.Open(blob, map[string]string{k: v})
		if err != nil {
			if err != ErrInvalidCiphertext || pt != nil {
				t.Fatalf("Open = %q, %v; want nil, ErrInvalidCiphertext", pt, err)
			}
			return
		}
		for i, b := range blobs {
			sd := fuzzSeeds[i]
			if bytes.Equal(blob, b) && k == sd.k && v == sd.v {
				if string(pt) != sd.pt {
					t.Fatalf("Open(seed %d) = %q, want %q", i, pt, sd.pt)
				}
				return
			}
		}
		t.Fatalf("Open(%x, {%q: %q}) succeeded on input that was never sealed", blob, k, v)
	})
}
