package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
)

const (
	testKeyID      = "1234abcd-12ab-34cd-56ef-1234567890ab"
	testMaterialID = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

// newDetReader returns a deterministic stream of bytes for tests.
func newDetReader(seed byte) io.Reader { return mrand.NewChaCha8([32]byte{seed}) }

func flipBit(b []byte, bit int) []byte {
	c := bytes.Clone(b)
	c[bit/8] ^= 1 << (bit % 8)
	return c
}

func testMaterial() Secret {
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0x40 + byte(i)
	}
	return NewSecret(b)
}

func testSymmetric(t testing.TB) *Symmetric {
	t.Helper()
	s, err := NewSymmetric(testKeyID, testMaterialID, testMaterial())
	if err != nil {
		t.Fatalf("NewSymmetric: %v", err)
	}
	return s
}

// TestFormatConstants pins the persisted formats: these values never change.
func TestFormatConstants(t *testing.T) {
	tests := []struct {
		name      string
		got, want any
	}{
		{"symmetric format byte", symFormat, 0x01},
		{"max key id length", maxKeyIDLen, 64},
		{"material id size", materialIDSize, 32},
		{"symmetric nonce size", symNonceSize, 32},
		{"symmetric tag size", symTagSize, 16},
		{"symmetric fixed header", symFixedHeader, 66},
		{"hkdf salt", symmetricSalt, "custos/v1/symmetric"},
		{"material size", materialSize, 32},
		{"derived key size", derivedKeySize, 32},
		{"derived iv size", derivedIVSize, 12},
		{"wrap format byte", wrapFormat, 0x01},
		{"wrap nonce size", wrapNonceSize, 12},
		{"wrap tag size", wrapTagSize, 16},
		{"root key size", rootKeySize, 32},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v (persisted formats never move)", tt.name, tt.got, tt.want)
		}
	}
}

// The known answer: material 40..5f, nonce 80..9f, key id testKeyID, material id testMaterialID, plaintext
// katPlaintext, context katContext. The blob was computed independently with Python's cryptography package (HKDF,
// AESGCM) following the layout documented on Symmetric.
const (
	katPlaintext = "Hello, Custos!"
	katBlob      = "01" + "24" + "31323334616263642d313261622d333463642d353665662d313233343536373839306162" +
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" +
		katCiphertext
	katCiphertext = "3bc64e7950f1694984d374d82c24fc6822777c61e82c786044d41e278fc4"
)

var katContext = map[string]string{"purpose": "test", "tenant": "a"}

func katNonce() []byte {
	n := make([]byte, 32)
	for i := range n {
		n[i] = 0x80 + byte(i)
	}
	return n
}

func TestKnownAnswer(t *testing.T) {
	s := testSymmetric(t)
	blob, err := s.Seal(bytes.NewReader(katNonce()), []byte(katPlaintext), katContext)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if got := hex.EncodeToString(blob); got != katBlob {
		t.Errorf("Seal(known inputs) =\n%s\nwant\n%s", got, katBlob)
	}
	pt, err := s.Open(blob, katContext)
	if err != nil || string(pt) != katPlaintext {
		t.Errorf("Open(known blob) = %q, %v; want %q", pt, err, katPlaintext)
	}
}

// TestDerivationMatchesSpec rebuilds a blob from the documented construction with crypto/hkdf directly, to check
// the pooled HMAC fast path against the specification.
func TestDerivationMatchesSpec(t *testing.T) {
	s := testSymmetric(t)
	r := newDetReader(7)
	for i := range 20 {
		nonce := make([]byte, 32)
		io.ReadFull(r, nonce)
		pt := make([]byte, i*37)
		io.ReadFull(r, pt)
		ec := map[string]string{"i": strings.Repeat("x", i)}

		got, err := s.Seal(bytes.NewReader(nonce), pt, ec)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}

		okm, err := hkdf.Key(sha256.New, testMaterial().Bytes(), []byte("custos/v1/symmetric"), string(nonce), 44)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := aes.NewCipher(okm[:32])
		aead, _ := cipher.NewGCM(block)
		raw, _ := hex.DecodeString(testMaterialID)
		header := append(append(append([]byte{0x01, byte(len(testKeyID))}, testKeyID...), raw...), nonce...)
		want := aead.Seal(bytes.Clone(header), okm[32:44], pt, AppendContext(bytes.Clone(header), ec))

		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: Seal = %x, want %x", i, got, want)
		}
	}
}

func TestSealOpen(t *testing.T) {
	s := testSymmetric(t)
	tests := []struct {
		name   string
		pt     []byte
		ec     map[string]string
		openEC map[string]string
	}{
		{"empty plaintext nil context", nil, nil, nil},
		{"nil context opens with empty", []byte("x"), nil, map[string]string{}},
		{"empty context opens with nil", []byte("x"), map[string]string{}, nil},
		{"4 KiB", bytes.Repeat([]byte("a"), 4096), map[string]string{"k": "v"}, map[string]string{"k": "v"}},
		{"many pairs", []byte("data"), manyPairs(30, false), manyPairs(30, true)},
	}
	for _, tt := range tests {
		blob, err := s.Seal(rand.Reader, tt.pt, tt.ec)
		if err != nil {
			t.Fatalf("%s: Seal: %v", tt.name, err)
		}
		if got, want := len(blob), 66+len(testKeyID)+len(tt.pt)+16; got != want {
			t.Errorf("%s: len(Seal()) = %d, want %d", tt.name, got, want)
		}
		got, err := s.Open(blob, tt.openEC)
		if err != nil || !bytes.Equal(got, tt.pt) {
			t.Errorf("%s: Open(Seal(p)) = %q, %v; want p", tt.name, got, err)
		}
		h, err := ParseCiphertext(blob)
		if err != nil || h.KeyID != testKeyID || h.MaterialID != testMaterialID {
			t.Errorf("%s: ParseCiphertext = %+v, %v; want %s, %s", tt.name, h, err, testKeyID, testMaterialID)
		}
	}
}

// manyPairs builds the same map, inserting in forward or reverse order.
func manyPairs(n int, reverse bool) map[string]string {
	m := make(map[string]string)
	for i := range n {
		if reverse {
			i = n - 1 - i
		}
		m[strings.Repeat("k", i+1)] = strings.Repeat("v", n-i)
	}
	return m
}

func TestAppendSealOpen(t *testing.T) {
	s := testSymmetric(t)
	ec := map[string]string{"k": "v"}
	want, err := s.Seal(newDetReader(4), []byte("payload"), ec)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	got, err := s.AppendSeal(bytes.Clone(prefix), newDetReader(4), []byte("payload"), ec)
	if err != nil || !bytes.Equal(got, append(bytes.Clone(prefix), want...)) {
		t.Fatalf("AppendSeal(%q, ...) = %x, %v; want prefix || %x", prefix, got, err, want)
	}
	pt, err := s.AppendOpen(bytes.Clone(prefix), want, ec)
	if err != nil || string(pt) != "prefixpayload" {
		t.Errorf("AppendOpen(%q, blob) = %q, %v; want %q", prefix, pt, err, "prefixpayload")
	}
	buf := make([]byte, 3, 64)
	if pt, err := s.AppendOpen(buf, flipBit(want, 600), ec); err != ErrInvalidCiphertext || len(pt) != 3 {
		t.Errorf("AppendOpen(buf, bad blob) = %q, %v; want buf unchanged, ErrInvalidCiphertext", pt, err)
	}
	if got, err := s.AppendSeal(bytes.Clone(prefix), bytes.NewReader(nil), []byte("x"), nil); err == nil || string(got) != "prefix" {
		t.Errorf("AppendSeal with a failing reader = %q, %v; want %q, error", got, err, prefix)
	}
}

func TestSealNoncesDiffer(t *testing.T) {
	s := testSymmetric(t)
	a, _ := s.Seal(rand.Reader, []byte("same"), nil)
	b, _ := s.Seal(rand.Reader, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Errorf("two Seals of the same plaintext gave the same blob")
	}
}

func TestSealReadError(t *testing.T) {
	s := testSymmetric(t)
	if _, err := s.Seal(bytes.NewReader(make([]byte, 31)), []byte("x"), nil); err == nil {
		t.Errorf("Seal with a short reader = nil error, want error")
	}
}

func TestOpenRejects(t *testing.T) {
	s := testSymmetric(t)
	ec := map[string]string{"ab": "c"}
	blob, err := s.Seal(newDetReader(1), []byte("secret data"), ec)
	if err != nil {
		t.Fatal(err)
	}
	otherMaterial, _ := NewSymmetric(testKeyID, testMaterialID, NewSecret(bytes.Repeat([]byte{1}, 32)))
	otherID, _ := NewSymmetric(testKeyID, strings.Repeat("ab", 32), testMaterial())
	otherKey, _ := NewSymmetric("mrk-1234abcd12ab34cd56ef1234567890ab", testMaterialID, testMaterial())
	// The same material and key under another material id: the blob names the id, so Open refuses it.
	tests := []struct {
		name string
		s    *Symmetric
		blob []byte
		ec   map[string]string
	}{
		{"wrong context value", s, blob, map[string]string{"ab": "d"}},
		{"shifted context", s, blob, map[string]string{"a": "bc"}},
		{"nil context", s, blob, nil},
		{"extra pair", s, blob, map[string]string{"ab": "c", "x": "y"}},
		{"wrong material", otherMaterial, blob, ec},
		{"wrong material id", otherID, blob, ec},
		{"wrong key id", otherKey, blob, ec},
		{"material id rewritten", otherID, withMaterialID(t, blob, strings.Repeat("ab", 32)), ec},
		{"empty", s, nil, ec},
		{"header only", s, blob[:66+len(testKeyID)], ec},
		{"one byte short", s, blob[:len(blob)-1], ec},
		{"one byte long", s, append(bytes.Clone(blob), 0), ec},
	}
	for _, tt := range tests {
		if pt, err := tt.s.Open(tt.blob, tt.ec); !errors.Is(err, ErrInvalidCiphertext) || pt != nil {
			t.Errorf("%s: Open = %q, %v; want nil, ErrInvalidCiphertext", tt.name, pt, err)
		}
	}
	for n := range len(blob) {
		if pt, err := s.Open(blob[:n], ec); err != ErrInvalidCiphertext {
			t.Errorf("Open(blob[:%d]) = %q, %v; want ErrInvalidCiphertext", n, pt, err)
		}
	}
}

func withMaterialID(t *testing.T, blob []byte, id string) []byte {
	raw, err := hex.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(blob)
	copy(b[2+int(b[1]):], raw)
	return b
}

func TestOpenEveryBitFlip(t *testing.T) {
	s := testSymmetric(t)
	ec := map[string]string{"k": "v"}
	blob, err := s.Seal(newDetReader(2), []byte("short"), ec)
	if err != nil {
		t.Fatal(err)
	}
	for bit := range 8 * len(blob) {
		if pt, err := s.Open(flipBit(blob, bit), ec); err != ErrInvalidCiphertext {
			t.Errorf("Open(blob with bit %d flipped) = %q, %v; want ErrInvalidCiphertext", bit, pt, err)
		}
	}
}

func TestNewSymmetricRejects(t *testing.T) {
	tests := []struct {
		name, keyID, materialID string
		material                Secret
	}{
		{"empty key id", "", testMaterialID, testMaterial()},
		{"key id too long", strings.Repeat("a", 65), testMaterialID, testMaterial()},
		{"key id with space", "a b", testMaterialID, testMaterial()},
		{"key id non-ascii", "clé", testMaterialID, testMaterial()},
		{"material id short", testKeyID, testMaterialID[:62], testMaterial()},
		{"material id uppercase", testKeyID, strings.ToUpper(testMaterialID), testMaterial()},
		{"material id not hex", testKeyID, strings.Repeat("g", 64), testMaterial()},
		{"material short", testKeyID, testMaterialID, NewSecret(make([]byte, 16))},
		{"material empty", testKeyID, testMaterialID, Secret{}},
	}
	for _, tt := range tests {
		if _, err := NewSymmetric(tt.keyID, tt.materialID, tt.material); err == nil {
			t.Errorf("%s: NewSymmetric(%q, %q, ...) = nil error, want error", tt.name, tt.keyID, tt.materialID)
		} else if strings.Contains(err.Error(), "@ABC") {
			t.Errorf("%s: error %q contains key material", tt.name, err)
		}
	}
	s, err := NewSymmetric(strings.Repeat("~", 64), testMaterialID, testMaterial())
	if err != nil {
		t.Fatalf("NewSymmetric(64-char key id) = %v, want success", err)
	}
	if s.KeyID() != strings.Repeat("~", 64) || s.MaterialID() != testMaterialID {
		t.Errorf("KeyID(), MaterialID() = %q, %q", s.KeyID(), s.MaterialID())
	}
}

func TestNewMaterial(t *testing.T) {
	id, err := NewMaterialID(newDetReader(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parseMaterialID(id); !ok {
		t.Errorf("NewMaterialID() = %q, want 64 lowercase hex", id)
	}
	m, err := NewSymmetricMaterial(rand.Reader)
	if err != nil || m.Len() != 32 {
		t.Errorf("NewSymmetricMaterial() = len %d, %v; want 32 bytes", m.Len(), err)
	}
	if _, err := NewMaterialID(bytes.NewReader(nil)); err == nil {
		t.Errorf("NewMaterialID(empty reader) = nil error, want error")
	}
	if _, err := NewSymmetricMaterial(bytes.NewReader(nil)); err == nil {
		t.Errorf("NewSymmetricMaterial(empty reader) = nil error, want error")
	}
}

func TestParseCiphertext(t *testing.T) {
	header := func(format byte, keyID string) []byte {
		b := append([]byte{format, byte(len(keyID))}, keyID...)
		return append(b, make([]byte, 64)...)
	}
	tag := make([]byte, 16)
	valid := append(header(1, "k"), tag...)
	tests := []struct {
		name string
		blob []byte
		want Header // zero: want ErrInvalidCiphertext
	}{
		{"nil", nil, Header{}},
		{"format only", []byte{1}, Header{}},
		{"format 0", append(header(0, "k"), tag...), Header{}},
		{"format 2", append(header(2, "k"), tag...), Header{}},
		{"key id length 0", append([]byte{1, 0}, make([]byte, 80)...), Header{}},
		{"key id length 65", append(header(1, strings.Repeat("a", 65)), tag...), Header{}},
		{"key id length 255", append([]byte{1, 255}, make([]byte, 400)...), Header{}},
		{"key id length beyond blob", []byte{1, 10, 'a'}, Header{}},
		{"no tag", header(1, "k"), Header{}},
		{"tag one byte short", valid[:len(valid)-1], Header{}},
		{"space in key id", append(header(1, "a b"), tag...), Header{}},
		{"control byte in key id", append(header(1, "a\x00"), tag...), Header{}},
		{"high byte in key id", append(header(1, "a\xff"), tag...), Header{}},
		{"minimal valid", valid, Header{KeyID: "k", MaterialID: strings.Repeat("0", 64)}},
		{"longest key id", append(header(1, strings.Repeat("~", 64)), tag...), Header{KeyID: strings.Repeat("~", 64), MaterialID: strings.Repeat("0", 64)}},
	}
	for _, tt := range tests {
		got, err := ParseCiphertext(tt.blob)
		if tt.want == (Header{}) {
			if err != ErrInvalidCiphertext {
				t.Errorf("%s: ParseCiphertext(%x) = %+v, %v; want ErrInvalidCiphertext", tt.name, tt.blob, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseCiphertext(%x) = %+v, %v; want %+v", tt.name, tt.blob, got, err, tt.want)
		}
	}
}

func TestSymmetricConcurrent(t *testing.T) {
	s := testSymmetric(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ec := map[string]string{"g": string(rune('a' + g))}
			for i := range 200 {
				pt := bytes.Repeat([]byte{byte(g)}, i)
				blob, err := s.Seal(rand.Reader, pt, ec)
				if err != nil {
					t.Errorf("Seal: %v", err)
					return
				}
				got, err := s.Open(blob, ec)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("Open(Seal(p)) = %v, %v; want p", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

var benchContext = map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/object", "purpose": "bench"}

func BenchmarkSeal4K(b *testing.B) {
	s := testSymmetric(b)
	pt := make([]byte, 4096)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(rand.Reader, pt, benchContext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen4K(b *testing.B) {
	s := testSymmetric(b)
	blob, err := s.Seal(rand.Reader, make([]byte, 4096), benchContext)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(blob, benchContext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendSeal4K and BenchmarkAppendOpen4K reuse the output buffer, as a server encoding the result at once
// can; the difference from BenchmarkSeal4K is the cost of allocating (and collecting) the output.
func BenchmarkAppendSeal4K(b *testing.B) {
	s := testSymmetric(b)
	pt := make([]byte, 4096)
	buf := make([]byte, 0, 8192)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendSeal(buf[:0], rand.Reader, pt, benchContext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendOpen4K(b *testing.B) {
	s := testSymmetric(b)
	blob, err := s.Seal(rand.Reader, make([]byte, 4096), benchContext)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 8192)
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendOpen(buf[:0], blob, benchContext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewSymmetric(b *testing.B) {
	m := testMaterial()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewSymmetric(testKeyID, testMaterialID, m); err != nil {
			b.Fatal(err)
		}
	}
}
