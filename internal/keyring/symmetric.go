package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"
)

// Format constants of a symmetric ciphertext blob. Persisted: never change them.
const (
	symFormat      = 0x01
	maxKeyIDLen    = 64
	materialIDSize = 32 // raw bytes; 64 hex characters as a string
	symNonceSize   = 32
	symTagSize     = 16
	symFixedHeader = 2 + materialIDSize + symNonceSize // 66; the header is symFixedHeader + len(key id) bytes
	symmetricSalt  = "custos/v1/symmetric"             // HKDF-Extract salt
	materialSize   = 32                                // AES-256 key material
	derivedKeySize = 32                                // per-ciphertext AES-256 key
	derivedIVSize  = 12                                // per-ciphertext GCM IV
)

// maxPooledAAD bounds the scratch buffer kept in a pool, so that one huge context does not pin memory.
const maxPooledAAD = 16 << 10

// NewMaterialID returns a new key material id: 64 lowercase hex characters encoding 32 bytes read from rand, the
// shape of an AWS KeyMaterialId. The only error is a failure to read rand.
func NewMaterialID(rand io.Reader) (string, error) {
	var b [materialIDSize]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("keyring: reading random material id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// NewSymmetricMaterial returns 32 bytes read from rand, to be used as AES-256 key material with [NewSymmetric]. The
// only error is a failure to read rand.
func NewSymmetricMaterial(rand io.Reader) (Secret, error) {
	b := make([]byte, materialSize)
	if _, err := io.ReadFull(rand, b); err != nil {
		clear(b)
		return Secret{}, fmt.Errorf("keyring: reading random key material: %w", err)
	}
	return ownSecret(b), nil
}

// Symmetric is one version of symmetric key material, prepared for [Symmetric.Seal] and [Symmetric.Open]. It is safe
// for concurrent use. Build it once per (key, material) with [NewSymmetric] and cache it: building does the HKDF
// extract step, and the per-call state it pools is reused by later calls.
//
// Ciphertext blob (format 1):
//
//	offset  size  field
//	0       1     format = 0x01
//	1       1     n = len(keyID), 1..64 (ASCII key id, e.g. a UUID or "mrk-" + 32 hex)
//	2       n     key id
//	2+n     32    material id (raw bytes; hex-encoded is the 64-char MaterialID)
//	34+n    32    nonce (random)
//	66+n    ...   AES-256-GCM ciphertext || 16-byte tag
//
// Bytes 0..66+n are the header. Each ciphertext is encrypted under its own key, derived with HKDF-SHA256 (RFC 5869):
//
//	PRK      = HKDF-Extract(salt = "custos/v1/symmetric", IKM = material)   (once, in NewSymmetric)
//	OKM      = HKDF-Expand(PRK, info = nonce, L = 44)                       (per ciphertext)
//	AES key  = OKM[0:32]
//	GCM IV   = OKM[32:44]
//	GCM AAD  = header || AppendContext(encryption context)
//
// So no material ever nears the 2^32 random-IV bound of GCM, and the header (key id, material id, nonce) and the
// encryption context are authenticated.
type Symmetric struct {
	keyID      string
	materialID string
	rawID      [materialIDSize]byte
	pool       sync.Pool // of *scratch, each holding an HMAC keyed with the PRK
}

// scratch is the per-call state of Seal and Open, pooled per Symmetric.
type scratch struct {
	mac hash.Hash // HMAC-SHA256 keyed with the PRK; Reset returns it to the keyed state
	ctr [1]byte
	okm [2 * sha256.Size]byte // HKDF-Expand output T(1) || T(2); only the first 44 bytes are used
	aad []byte
}

// NewSymmetric prepares the material of key keyID with material id materialID. keyID must be 1 to 64 printable ASCII
// characters (0x21..0x7e), materialID 64 lowercase hex characters (see [NewMaterialID]), material 32 bytes. The
// material is used at once; the caller may discard it afterwards.
func NewSymmetric(keyID, materialID string, material Secret) (*Symmetric, error) {
	if !validKeyID(keyID) {
		return nil, fmt.Errorf("keyring: invalid key id: want 1 to %d printable ASCII characters", maxKeyIDLen)
	}
	raw, ok := parseMaterialID(materialID)
	if !ok {
		return nil, fmt.Errorf("keyring: invalid material id: want %d lowercase hex characters", 2*materialIDSize)
	}
	if material.Len() != materialSize {
		return nil, fmt.Errorf("keyring: symmetric key material is %d bytes, want %d", material.Len(), materialSize)
	}
	prk, err := hkdf.Extract(sha256.New, material.bytes(), []byte(symmetricSalt))
	if err != nil {
		return nil, fmt.Errorf("keyring: hkdf extract: %w", err)
	}
	s := &Symmetric{keyID: keyID, materialID: materialID, rawID: raw}
	s.pool.New = func() any { return &scratch{mac: hmac.New(sha256.New, prk)} }
	return s, nil
}

// KeyID returns the key id given to [NewSymmetric].
func (s *Symmetric) KeyID() string { return s.keyID }

// MaterialID returns the material id given to [NewSymmetric] (64 lowercase hex characters).
func (s *Symmetric) MaterialID() string { return s.materialID }

// Seal encrypts plaintext under the material for the encryption context ec (nil and empty are the same) and returns
// the ciphertext blob laid out as documented on [Symmetric], 82+len(keyID)+len(plaintext) bytes, in a new slice. It
// reads 32 bytes from rand for the nonce. Errors are a failure to read rand, or of the cipher setup (none with the
// standard library outside FIPS 140-only mode).
func (s *Symmetric) Seal(rand io.Reader, plaintext []byte, ec map[string]string) ([]byte, error) {
	return s.AppendSeal(nil, rand, plaintext, ec)
}

// AppendSeal is [Symmetric.Seal] appending the blob to dst, so that a caller can reuse a buffer; it returns the
// extended slice, or dst unchanged on error. The spare capacity of dst must not overlap plaintext.
func (s *Symmetric) AppendSeal(dst []byte, rand io.Reader, plaintext []byte, ec map[string]string) ([]byte, error) {
	n := len(s.keyID)
	hl := symFixedHeader + n
	dst = slices.Grow(dst, hl+len(plaintext)+symTagSize)
	blob := dst[len(dst) : len(dst)+hl]
	blob[0] = symFormat
	blob[1] = byte(n)
	copy(blob[2:], s.keyID)
	copy(blob[2+n:], s.rawID[:])
	nonce := blob[2+n+materialIDSize:]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return dst, fmt.Errorf("keyring: reading random nonce: %w", err)
	}

	sc := s.pool.Get().(*scratch)
	defer s.release(sc)
	aead, err := sc.derive(nonce)
	if err != nil {
		return dst, err
	}
	sc.aad = AppendContext(append(sc.aad[:0], blob...), ec)
	return aead.Seal(dst[:len(dst)+hl], sc.okm[derivedKeySize:derivedKeySize+derivedIVSize], plaintext, sc.aad), nil
}

// Open decrypts a blob made by [Symmetric.Seal] with this material and the same encryption context ec (nil and empty
// are the same; map order does not matter) and returns the plaintext in a new slice, which the caller owns. Any
// mismatch (another key or material, another context, a malformed, altered or truncated blob) returns
// [ErrInvalidCiphertext].
func (s *Symmetric) Open(blob []byte, ec map[string]string) ([]byte, error) {
	pt, err := s.AppendOpen(nil, blob, ec)
	if err != nil {
		return nil, err
	}
	return pt, nil
}

// AppendOpen is [Symmetric.Open] appending the plaintext to dst, so that a caller can reuse a buffer; it returns the
// extended slice, or dst unchanged with [ErrInvalidCiphertext]. The spare capacity of dst must not overlap blob. A
// caller reusing a buffer that held secret plaintext should clear it when done.
func (s *Symmetric) AppendOpen(dst, blob []byte, ec map[string]string) ([]byte, error) {
	n, ok := splitHeader(blob)
	if !ok {
		return dst, ErrInvalidCiphertext
	}
	hl := symFixedHeader + n
	if string(blob[2:2+n]) != s.keyID || !bytes.Equal(blob[2+n:2+n+materialIDSize], s.rawID[:]) {
		return dst, ErrInvalidCiphertext
	}
	nonce := blob[2+n+materialIDSize : hl]

	sc := s.pool.Get().(*scratch)
	defer s.release(sc)
	aead, err := sc.derive(nonce)
	if err != nil {
		return dst, ErrInvalidCiphertext
	}
	sc.aad = AppendContext(append(sc.aad[:0], blob[:hl]...), ec)
	out, err := aead.Open(dst, sc.okm[derivedKeySize:derivedKeySize+derivedIVSize], blob[hl:], sc.aad)
	if err != nil {
		return dst, ErrInvalidCiphertext
	}
	return out, nil
}

// derive runs HKDF-Expand(PRK, info = nonce, L = 44) into sc.okm, and returns the AES-256-GCM AEAD keyed with
// okm[0:32], which it then clears. The IV stays in okm[32:44].
func (sc *scratch) derive(nonce []byte) (cipher.AEAD, error) {
	m := sc.mac
	m.Reset()
	m.Write(nonce)
	sc.ctr[0] = 1
	m.Write(sc.ctr[:])
	t1 := m.Sum(sc.okm[:0]) // T(1) = HMAC(PRK, info || 0x01), into okm[0:32]

	m.Reset()
	m.Write(t1)
	m.Write(nonce)
	sc.ctr[0] = 2
	m.Write(sc.ctr[:])
	m.Sum(sc.okm[sha256.Size:sha256.Size]) // T(2) = HMAC(PRK, T(1) || info || 0x02), into okm[32:64]

	block, err := aes.NewCipher(sc.okm[:derivedKeySize])
	clear(sc.okm[:derivedKeySize])
	if err != nil {
		return nil, fmt.Errorf("keyring: derived key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: derived key: %w", err)
	}
	return aead, nil
}

func (s *Symmetric) release(sc *scratch) {
	clear(sc.okm[:])
	if cap(sc.aad) > maxPooledAAD {
		sc.aad = nil
	}
	s.pool.Put(sc)
}

// Header is the clear part of a symmetric ciphertext blob.
type Header struct {
	KeyID      string // 1 to 64 printable ASCII characters
	MaterialID string // 64 lowercase hex characters
}

// ParseCiphertext parses the header of a symmetric ciphertext blob (layout on [Symmetric]) without any key, so that
// a caller can find which key and material to open it with. It checks the format byte, the key id (1 to 64 printable
// ASCII characters) and that the blob is long enough to hold the header and a GCM tag; it does not authenticate
// anything. Any malformed blob returns [ErrInvalidCiphertext]. It never panics.
func ParseCiphertext(blob []byte) (Header, error) {
	n, ok := splitHeader(blob)
	if !ok {
		return Header{}, ErrInvalidCiphertext
	}
	return Header{
		KeyID:      string(blob[2 : 2+n]),
		MaterialID: hex.EncodeToString(blob[2+n : 2+n+materialIDSize]),
	}, nil
}

// splitHeader checks the shape of a format 1 blob and returns the length of its key id.
func splitHeader(blob []byte) (n int, ok bool) {
	if len(blob) < 2 || blob[0] != symFormat {
		return 0, false
	}
	n = int(blob[1])
	if n < 1 || n > maxKeyIDLen || len(blob) < symFixedHeader+n+symTagSize || !validKeyID(blob[2:2+n]) {
		return 0, false
	}
	return n, true
}

// validKeyID reports whether id is 1 to 64 printable ASCII characters other than space.
func validKeyID[T string | []byte](id T) bool {
	if len(id) < 1 || len(id) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// parseMaterialID decodes a material id of 64 lowercase hex characters.
func parseMaterialID(id string) (raw [materialIDSize]byte, ok bool) {
	if len(id) != 2*materialIDSize {
		return raw, false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return raw, false
		}
	}
	if _, err := hex.Decode(raw[:], []byte(id)); err != nil {
		return raw, false
	}
	return raw, true
}
