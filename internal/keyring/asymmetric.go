package keyring

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
	mldsax509 "filippo.io/mldsa/x509"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Errors of the asymmetric primitives. They are returned unwrapped and never say more than their text.
var (
	// ErrInvalidSignature is returned by [Asymmetric.Verify] for a signature that does not verify.
	ErrInvalidSignature = errors.New("keyring: invalid signature")
	// ErrAlgorithm is returned for an algorithm the key cannot use.
	ErrAlgorithm = errors.New("keyring: algorithm not valid for this key")
	// ErrMessage is returned for a message of the wrong type or length for the algorithm (a digest of the wrong
	// size, a DIGEST where only RAW is defined, ...).
	ErrMessage = errors.New("keyring: message not valid for this algorithm")
	// ErrPlaintextTooLong is returned by [Asymmetric.Encrypt] for a plaintext above [Asymmetric.MaxPlaintext].
	ErrPlaintextTooLong = errors.New("keyring: plaintext too long for this key and algorithm")
	// ErrInvalidPublicKey is returned by [Asymmetric.SharedSecret] for a peer key that is not a well-formed DER
	// SubjectPublicKeyInfo holding a valid point.
	ErrInvalidPublicKey = errors.New("keyring: invalid public key")
	// ErrPublicKeyMismatch is returned by [Asymmetric.SharedSecret] for a well-formed peer key of another key type or
	// curve than the private key.
	ErrPublicKeyMismatch = errors.New("keyring: public key does not match the key spec")
)

// MessageType says what the message given to [Asymmetric.Sign] and [Asymmetric.Verify] is.
type MessageType uint8

const (
	// Raw is the message itself; the signing algorithm hashes it (or, for ML-DSA and pure Ed25519, signs it as is).
	Raw MessageType = iota
	// Digest is a hash of the message, exactly as long as the algorithm's hash: the hashing step is skipped.
	// For ED25519_PH_SHA_512 the digest is still prehashed with SHA-512, as AWS KMS does.
	Digest
	// ExternalMu is ML-DSA's 64-byte message representative μ (FIPS 204, section 6.2).
	ExternalMu
)

// keyKind is the family of an asymmetric key spec.
type keyKind uint8

const (
	kindRSA keyKind = iota + 1
	kindECDSA
	kindSecp256k1
	kindEd25519
	kindMLDSA
)

// specInfo describes one asymmetric key spec.
type specInfo struct {
	kind  keyKind
	bits  int            // RSA modulus size
	curve elliptic.Curve // NIST curves
	ml    mldsa.Parameters
}

func asymmetricSpec(spec string) (specInfo, bool) {
	switch spec {
	case "RSA_2048":
		return specInfo{kind: kindRSA, bits: 2048}, true
	case "RSA_3072":
		return specInfo{kind: kindRSA, bits: 3072}, true
	case "RSA_4096":
		return specInfo{kind: kindRSA, bits: 4096}, true
	case "ECC_NIST_P256":
		return specInfo{kind: kindECDSA, curve: elliptic.P256()}, true
	case "ECC_NIST_P384":
		return specInfo{kind: kindECDSA, curve: elliptic.P384()}, true
	case "ECC_NIST_P521":
		return specInfo{kind: kindECDSA, curve: elliptic.P521()}, true
	case "ECC_SECG_P256K1":
		return specInfo{kind: kindSecp256k1}, true
	case "ECC_NIST_EDWARDS25519":
		return specInfo{kind: kindEd25519}, true
	case "ML_DSA_44":
		return specInfo{kind: kindMLDSA, ml: mldsa.MLDSA44()}, true
	case "ML_DSA_65":
		return specInfo{kind: kindMLDSA, ml: mldsa.MLDSA65()}, true
	case "ML_DSA_87":
		return specInfo{kind: kindMLDSA, ml: mldsa.MLDSA87()}, true
	}
	return specInfo{}, false
}

// IsAsymmetricSpec reports whether spec is an asymmetric key spec this package makes: RSA_2048, RSA_3072,
// RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, ECC_NIST_EDWARDS25519, ML_DSA_44,
// ML_DSA_65 or ML_DSA_87.
func IsAsymmetricSpec(spec string) bool {
	_, ok := asymmetricSpec(spec)
	return ok
}

// GenerateAsymmetric returns new private key material for key spec spec (see [IsAsymmetricSpec]): the private key as
// PKCS #8 DER (RFC 5208; EC keys as RFC 5915 ECPrivateKey with the public key, Ed25519 as RFC 8410), except for
// ML-DSA, whose material is its 32-byte seed (FIPS 204 ξ).
//
// Ed25519, secp256k1 and ML-DSA keys are derived from bytes read from rand. RSA and NIST EC keys are made by the
// standard library, which since Go 1.26 always draws from the operating system's secure source and ignores rand.
// Errors: an unknown spec, or a failure to read rand.
func GenerateAsymmetric(rand io.Reader, spec string) (Secret, error) {
	info, ok := asymmetricSpec(spec)
	if !ok {
		return Secret{}, fmt.Errorf("keyring: unknown asymmetric key spec %q", spec)
	}
	var (
		der []byte
		err error
	)
	switch info.kind {
	case kindRSA:
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand, info.bits); err == nil {
			der, err = x509.MarshalPKCS8PrivateKey(k)
		}
	case kindECDSA:
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(info.curve, rand); err == nil {
			der, err = x509.MarshalPKCS8PrivateKey(k)
		}
	case kindSecp256k1:
		var k *secp256k1.PrivateKey
		if k, err = secp256k1.GeneratePrivateKeyFromRand(rand); err == nil {
			der, err = marshalSecp256k1PKCS8(k)
			k.Zero()
		}
	case kindEd25519, kindMLDSA:
		seed := make([]byte, 32) // ed25519.SeedSize == mldsa.PrivateKeySize
		if _, err = io.ReadFull(rand, seed); err != nil {
			clear(seed)
			break
		}
		if info.kind == kindMLDSA {
			return ownSecret(seed), nil
		}
		der, err = x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
		clear(seed)
	}
	if err != nil {
		return Secret{}, fmt.Errorf("keyring: generating %s key: %w", spec, err)
	}
	return ownSecret(der), nil
}

// Asymmetric is an asymmetric private key prepared for use: signing and verification, RSA-OAEP encryption and
// decryption, and ECDH. It is immutable and safe for concurrent use. Build it once per key with [NewAsymmetric] and
// cache it: building parses the key and derives its public half.
type Asymmetric struct {
	spec   string
	public []byte // DER SubjectPublicKeyInfo

	pub publicKey

	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ecdh *ecdh.PrivateKey
	k1   *secp256k1.PrivateKey
	ed   ed25519.PrivateKey
	ml   *mldsa.PrivateKey
}

// NewAsymmetric parses material made by [GenerateAsymmetric] for key spec spec. The material must be of that spec
// (an RSA key of the spec's size, an EC key on its curve, ...). The material is used at once; the caller may discard
// it afterwards. Errors never contain key material.
func NewAsymmetric(spec string, material Secret) (*Asymmetric, error) {
	info, ok := asymmetricSpec(spec)
	if !ok {
		return nil, fmt.Errorf("keyring: unknown asymmetric key spec %q", spec)
	}
	a := &Asymmetric{spec: spec}
	b := material.bytes()
	var pub any
	switch info.kind {
	case kindMLDSA:
		k, err := mldsa.NewPrivateKey(info.ml, b)
		if err != nil {
			return nil, fmt.Errorf("keyring: %s key material is not a valid seed", spec)
		}
		a.ml, a.pub.ml = k, k.PublicKey()
		pub = a.pub.ml
	case kindSecp256k1:
		k, err := parseSecp256k1PKCS8(b)
		if err != nil {
			return nil, err
		}
		a.k1, a.pub.k1 = k, k.PubKey()
		a.public = marshalSecp256k1SPKI(a.pub.k1)
		return a, nil
	default:
		key, err := x509.ParsePKCS8PrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("keyring: %s key material is not a valid PKCS #8 private key", spec)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			if info.kind != kindRSA || k.N.BitLen() != info.bits {
				return nil, fmt.Errorf("keyring: key material does not match key spec %s", spec)
			}
			a.rsa, a.pub.rsa, pub = k, &k.PublicKey, &k.PublicKey
		case *ecdsa.PrivateKey:
			if info.kind != kindECDSA || k.Curve != info.curve {
				return nil, fmt.Errorf("keyring: key material does not match key spec %s", spec)
			}
			if a.ecdh, err = k.ECDH(); err != nil {
				return nil, fmt.Errorf("keyring: %s key: %w", spec, err)
			}
			a.ec, a.pub.ec, pub = k, &k.PublicKey, &k.PublicKey
		case ed25519.PrivateKey:
			if info.kind != kindEd25519 {
				return nil, fmt.Errorf("keyring: key material does not match key spec %s", spec)
			}
			a.ed, a.pub.ed = k, k.Public().(ed25519.PublicKey)
			pub = a.pub.ed
		default:
			return nil, fmt.Errorf("keyring: key material does not match key spec %s", spec)
		}
	}
	der, err := mldsax509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("keyring: %s public key: %w", spec, err)
	}
	a.public = der
	return a, nil
}

// Spec returns the key spec given to [NewAsymmetric].
func (a *Asymmetric) Spec() string { return a.spec }

// PublicKey returns the public key as a DER SubjectPublicKeyInfo (RFC 5280; EC keys as an uncompressed point with a
// named curve, RFC 5480; Ed25519 per RFC 8410; ML-DSA per RFC 9881), in a new slice.
func (a *Asymmetric) PublicKey() []byte { return append([]byte(nil), a.public...) }

// signingAlgorithm describes one signing algorithm.
type signingAlgorithm struct {
	scheme signingScheme
	hash   crypto.Hash // the message hash, or the Ed25519ph prehash; 0 for pure Ed25519 and ML-DSA
}

type signingScheme uint8

const (
	schemePSS signingScheme = iota + 1
	schemePKCS1
	schemeECDSA
	schemeEd25519
	schemeEd25519ph
	schemeMLDSA
)

func signingAlgorithmOf(name string) (signingAlgorithm, bool) {
	switch name {
	case "RSASSA_PSS_SHA_256":
		return signingAlgorithm{schemePSS, crypto.SHA256}, true
	case "RSASSA_PSS_SHA_384":
		return signingAlgorithm{schemePSS, crypto.SHA384}, true
	case "RSASSA_PSS_SHA_512":
		return signingAlgorithm{schemePSS, crypto.SHA512}, true
	case "RSASSA_PKCS1_V1_5_SHA_256":
		return signingAlgorithm{schemePKCS1, crypto.SHA256}, true
	case "RSASSA_PKCS1_V1_5_SHA_384":
		return signingAlgorithm{schemePKCS1, crypto.SHA384}, true
	case "RSASSA_PKCS1_V1_5_SHA_512":
		return signingAlgorithm{schemePKCS1, crypto.SHA512}, true
	case "ECDSA_SHA_256":
		return signingAlgorithm{schemeECDSA, crypto.SHA256}, true
	case "ECDSA_SHA_384":
		return signingAlgorithm{schemeECDSA, crypto.SHA384}, true
	case "ECDSA_SHA_512":
		return signingAlgorithm{schemeECDSA, crypto.SHA512}, true
	case "ED25519_SHA_512":
		return signingAlgorithm{schemeEd25519, 0}, true
	case "ED25519_PH_SHA_512":
		return signingAlgorithm{schemeEd25519ph, crypto.SHA512}, true
	case "ML_DSA_SHAKE_256":
		return signingAlgorithm{schemeMLDSA, 0}, true
	}
	return signingAlgorithm{}, false
}

// SigningAlgorithms returns the signing algorithms key spec spec can use, in AWS KMS's order (nil for a spec that
// cannot sign or is unknown).
func SigningAlgorithms(spec string) []string {
	info, _ := asymmetricSpec(spec)
	switch info.kind {
	case kindRSA:
		return []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
			"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}
	case kindECDSA:
		switch info.curve {
		case elliptic.P256():
			return []string{"ECDSA_SHA_256"}
		case elliptic.P384():
			return []string{"ECDSA_SHA_384"}
		}
		return []string{"ECDSA_SHA_512"}
	case kindSecp256k1:
		return []string{"ECDSA_SHA_256"}
	case kindEd25519:
		return []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}
	case kindMLDSA:
		return []string{"ML_DSA_SHAKE_256"}
	}
	return nil
}

// CanSign reports whether the key can sign with algorithm alg (an AWS KMS SigningAlgorithmSpec name).
func (a *Asymmetric) CanSign(alg string) bool {
	for _, x := range SigningAlgorithms(a.spec) {
		if x == alg {
			return true
		}
	}
	return false
}

// DigestSize returns the digest length a [Digest] message must have for signing algorithm alg, or 0 if alg takes no
// digest.
func DigestSize(alg string) int {
	p, ok := signingAlgorithmOf(alg)
	if !ok || p.hash == 0 {
		return 0
	}
	return p.hash.Size()
}

// AcceptsMessageType reports whether signing algorithm alg takes messages of type mt: RSA and ECDSA algorithms take
// Raw and Digest, ED25519_SHA_512 only Raw, ED25519_PH_SHA_512 only Digest, ML_DSA_SHAKE_256 Raw and ExternalMu.
func AcceptsMessageType(alg string, mt MessageType) bool {
	p, ok := signingAlgorithmOf(alg)
	if !ok {
		return false
	}
	switch p.scheme {
	case schemeEd25519:
		return mt == Raw
	case schemeEd25519ph:
		return mt == Digest
	case schemeMLDSA:
		return mt == Raw || mt == ExternalMu
	}
	return mt == Raw || mt == Digest
}

// representative returns what the primitive signs for message msg of type mt under algorithm p: the hash of a Raw
// message, a Digest as is (after checking its length), or for Ed25519ph the SHA-512 prehash of the digest.
func representative(p signingAlgorithm, msg []byte, mt MessageType) ([]byte, error) {
	switch mt {
	case Raw:
		h := p.hash.New()
		h.Write(msg)
		return h.Sum(nil), nil
	case Digest:
		if len(msg) != p.hash.Size() {
			return nil, ErrMessage
		}
		if p.scheme == schemeEd25519ph {
			sum := sha512.Sum512(msg)
			return sum[:], nil
		}
		return msg, nil
	}
	return nil, ErrMessage
}

// Sign signs message msg of type mt with signing algorithm alg (an AWS KMS SigningAlgorithmSpec name the key can
// use, see [SigningAlgorithms]) and returns the signature in a new slice:
//
//   - RSASSA_PSS_*: RSASSA-PSS (RFC 8017) with MGF1 over the same hash and a salt as long as the hash.
//   - RSASSA_PKCS1_V1_5_*: RSASSA-PKCS1-v1_5 (RFC 8017).
//   - ECDSA_*: an ASN.1 DER Ecdsa-Sig-Value (RFC 3279): randomized on NIST curves, RFC 6979 deterministic with a low
//     S on secp256k1.
//   - ED25519_SHA_512: pure Ed25519 (RFC 8032) of a Raw message; ED25519_PH_SHA_512: Ed25519ph of a 64-byte Digest,
//     which is prehashed again with SHA-512, as AWS KMS does.
//   - ML_DSA_SHAKE_256: hedged ML-DSA (FIPS 204) with an empty context of a Raw message, or of a 64-byte ExternalMu.
//
// The standard library and filippo.io/mldsa draw signing randomness from the operating system whatever rand is. It
// returns [ErrAlgorithm] for an algorithm the key cannot use and [ErrMessage] for a message type or digest length the
// algorithm does not take.
func (a *Asymmetric) Sign(rand io.Reader, alg string, msg []byte, mt MessageType) ([]byte, error) {
	p, ok := signingAlgorithmOf(alg)
	if !ok || !a.CanSign(alg) {
		return nil, ErrAlgorithm
	}
	if !AcceptsMessageType(alg, mt) {
		return nil, ErrMessage
	}
	switch p.scheme {
	case schemeEd25519:
		return ed25519.Sign(a.ed, msg), nil
	case schemeMLDSA:
		var opts crypto.SignerOpts
		if mt == ExternalMu {
			if len(msg) != muSize {
				return nil, ErrMessage
			}
			opts = mldsacrypto.MLDSAMu
		}
		sig, err := a.ml.Sign(rand, msg, opts)
		if err != nil {
			return nil, fmt.Errorf("keyring: ML-DSA signing: %w", err)
		}
		return sig, nil
	}
	digest, err := representative(p, msg, mt)
	if err != nil {
		return nil, err
	}
	var sig []byte
	switch p.scheme {
	case schemePSS:
		sig, err = rsa.SignPSS(rand, a.rsa, p.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case schemePKCS1:
		sig, err = rsa.SignPKCS1v15(rand, a.rsa, p.hash, digest)
	case schemeECDSA:
		if a.k1 != nil {
			return signSecp256k1(a.k1, digest), nil
		}
		sig, err = ecdsa.SignASN1(rand, a.ec, digest)
	case schemeEd25519ph:
		sig, err = a.ed.Sign(nil, digest, &ed25519.Options{Hash: crypto.SHA512})
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: signing with %s: %w", alg, err)
	}
	return sig, nil
}

// Verify checks signature sig of message msg of type mt under signing algorithm alg, as made by [Asymmetric.Sign]
// or by any correct implementation from the public key alone. It returns nil for a valid signature and
// [ErrInvalidSignature] for any other (malformed, wrong length, wrong key or message), and, like Sign,
// [ErrAlgorithm] or [ErrMessage] for a request the algorithm does not take. ECDSA signatures must be DER; a high S
// is accepted. RSASSA-PSS signatures must use a salt as long as the hash.
func (a *Asymmetric) Verify(alg string, msg []byte, mt MessageType, sig []byte) error {
	p, ok := signingAlgorithmOf(alg)
	if !ok || !a.CanSign(alg) {
		return ErrAlgorithm
	}
	if !AcceptsMessageType(alg, mt) {
		return ErrMessage
	}
	return a.pub.verify(p, msg, mt, sig)
}

// publicKey is the public half of an asymmetric key, as signature verification uses it; exactly one field is set.
type publicKey struct {
	rsa *rsa.PublicKey
	ec  *ecdsa.PublicKey
	k1  *secp256k1.PublicKey
	ed  ed25519.PublicKey
	ml  *mldsa.PublicKey
}

// verify checks a signature whose algorithm and message type the caller has checked against the key.
func (pub publicKey) verify(p signingAlgorithm, msg []byte, mt MessageType, sig []byte) error {
	var valid bool
	switch p.scheme {
	case schemeEd25519:
		valid = len(sig) == ed25519.SignatureSize && ed25519.Verify(pub.ed, msg, sig)
	case schemeMLDSA:
		if mt == ExternalMu {
			if len(msg) != muSize {
				return ErrMessage
			}
			valid = verifyMLDSAMu(pub.ml.Parameters(), pub.ml.Bytes(), msg, sig)
		} else {
			valid = mldsa.Verify(pub.ml, msg, sig, nil) == nil
		}
	default:
		digest, err := representative(p, msg, mt)
		if err != nil {
			return err
		}
		switch p.scheme {
		case schemePSS:
			valid = rsa.VerifyPSS(pub.rsa, p.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		case schemePKCS1:
			valid = rsa.VerifyPKCS1v15(pub.rsa, p.hash, digest, sig) == nil
		case schemeECDSA:
			if pub.k1 != nil {
				valid = verifySecp256k1(pub.k1, digest, sig)
			} else {
				valid = ecdsa.VerifyASN1(pub.ec, digest, sig)
			}
		case schemeEd25519ph:
			valid = ed25519.VerifyWithOptions(pub.ed, digest, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
		}
	}
	if !valid {
		return ErrInvalidSignature
	}
	return nil
}

// EncryptionAlgorithms returns the encryption algorithms key spec spec can use, in AWS KMS's order: RSAES_OAEP_SHA_1
// and RSAES_OAEP_SHA_256 for RSA specs, nil otherwise.
func EncryptionAlgorithms(spec string) []string {
	if info, _ := asymmetricSpec(spec); info.kind == kindRSA {
		return []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
	}
	return nil
}

func oaepHash(alg string) (func() hash.Hash, int, bool) {
	switch alg {
	case "RSAES_OAEP_SHA_1":
		return sha1.New, sha1.Size, true
	case "RSAES_OAEP_SHA_256":
		return sha256.New, sha256.Size, true
	}
	return nil, 0, false
}

// MaxPlaintext returns the longest plaintext [Asymmetric.Encrypt] takes with encryption algorithm alg: k - 2·hLen - 2
// bytes for a k-byte modulus (RFC 8017, 7.1.1), e.g. 214 and 190 bytes for RSA_2048 with RSAES_OAEP_SHA_1 and
// RSAES_OAEP_SHA_256. It returns 0 for an algorithm the key cannot use.
func (a *Asymmetric) MaxPlaintext(alg string) int {
	_, hLen, ok := oaepHash(alg)
	if !ok || a.rsa == nil {
		return 0
	}
	return a.rsa.Size() - 2*hLen - 2
}

// Encrypt encrypts plaintext with RSAES-OAEP (RFC 8017) under the public key, with encryption algorithm alg
// (RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256: SHA-1 or SHA-256 for both the label hash and MGF1, empty label). The
// ciphertext, as long as the modulus, is standard and decrypts with any RSA-OAEP implementation. It returns
// [ErrAlgorithm] for a key that is not RSA or another algorithm, and [ErrPlaintextTooLong] above
// [Asymmetric.MaxPlaintext].
func (a *Asymmetric) Encrypt(rand io.Reader, alg string, plaintext []byte) ([]byte, error) {
	newHash, _, ok := oaepHash(alg)
	if !ok || a.rsa == nil {
		return nil, ErrAlgorithm
	}
	if len(plaintext) > a.MaxPlaintext(alg) {
		return nil, ErrPlaintextTooLong
	}
	ct, err := rsa.EncryptOAEP(newHash(), rand, &a.rsa.PublicKey, plaintext, nil)
	if err != nil {
		return nil, fmt.Errorf("keyring: RSA-OAEP encryption: %w", err)
	}
	return ct, nil
}

// Decrypt decrypts an RSAES-OAEP ciphertext made under the public key with encryption algorithm alg (see
// [Asymmetric.Encrypt]), by this package or any other implementation, and returns the plaintext in a new slice. Any
// ciphertext that does not decrypt returns [ErrInvalidCiphertext]; an algorithm the key cannot use, [ErrAlgorithm].
func (a *Asymmetric) Decrypt(alg string, ciphertext []byte) ([]byte, error) {
	newHash, _, ok := oaepHash(alg)
	if !ok || a.rsa == nil {
		return nil, ErrAlgorithm
	}
	pt, err := rsa.DecryptOAEP(newHash(), nil, a.rsa, ciphertext, nil)
	if err != nil {
		return nil, ErrInvalidCiphertext
	}
	return pt, nil
}

// SharedSecret computes the ECDH shared secret (SP 800-56A "Z": the x-coordinate of the shared point, as long as a
// field element) of the private key, which must be a NIST EC key, and the peer's public key given as a DER
// SubjectPublicKeyInfo. It returns the secret in a new slice, which the caller should clear when done;
// [ErrInvalidPublicKey] for a peer key that does not parse or is not a valid point; [ErrPublicKeyMismatch] for a
// peer key of another type or curve; [ErrAlgorithm] for a private key that is not a NIST EC key.
func (a *Asymmetric) SharedSecret(peerSPKI []byte) ([]byte, error) {
	if a.ecdh == nil {
		return nil, ErrAlgorithm
	}
	pub, err := mldsax509.ParsePKIXPublicKey(peerSPKI)
	if err != nil {
		if isSecp256k1SPKI(peerSPKI) {
			return nil, ErrPublicKeyMismatch
		}
		return nil, ErrInvalidPublicKey
	}
	ep, ok := pub.(*ecdsa.PublicKey)
	if !ok || ep.Curve != a.ec.Curve {
		return nil, ErrPublicKeyMismatch
	}
	peer, err := ep.ECDH()
	if err != nil {
		return nil, ErrInvalidPublicKey
	}
	z, err := a.ecdh.ECDH(peer)
	if err != nil {
		return nil, ErrInvalidPublicKey
	}
	return z, nil
}
