package keyring

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"filippo.io/mldsa"
	mldsax509 "filippo.io/mldsa/x509"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

var asymmetricSpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
	"ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87"}

// testMaterials caches one generated key per spec for the whole test binary: RSA 4096 generation takes seconds.
var testMaterials sync.Map // spec -> Secret

func testAsymmetricMaterial(t testing.TB, spec string) Secret {
	t.Helper()
	if m, ok := testMaterials.Load(spec); ok {
		return m.(Secret)
	}
	m, err := GenerateAsymmetric(rand.Reader, spec)
	if err != nil {
		t.Fatalf("GenerateAsymmetric(%s): %v", spec, err)
	}
	actual, _ := testMaterials.LoadOrStore(spec, m)
	return actual.(Secret)
}

func testAsymmetric(t testing.TB, spec string) *Asymmetric {
	t.Helper()
	a, err := NewAsymmetric(spec, testAsymmetricMaterial(t, spec))
	if err != nil {
		t.Fatalf("NewAsymmetric(%s): %v", spec, err)
	}
	return a
}

// parseSecp256k1SPKIForTest decodes a secp256k1 SubjectPublicKeyInfo independently of the package's encoder.
func parseSecp256k1SPKIForTest(t testing.TB, der []byte) *secp256k1.PublicKey {
	t.Helper()
	var spki struct {
		Algorithm struct {
			Algorithm asn1.ObjectIdentifier
			Curve     asn1.ObjectIdentifier
		}
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &spki); err != nil || len(rest) != 0 {
		t.Fatalf("secp256k1 SPKI does not parse: %v", err)
	}
	if !spki.Algorithm.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}) || !spki.Algorithm.Curve.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 10}) {
		t.Fatalf("secp256k1 SPKI algorithm = %v %v", spki.Algorithm.Algorithm, spki.Algorithm.Curve)
	}
	pub, err := secp256k1.ParsePubKey(spki.PublicKey.Bytes)
	if err != nil {
		t.Fatalf("secp256k1.ParsePubKey: %v", err)
	}
	return pub
}

// mldsaMu computes μ = SHAKE256(SHAKE256(pk, 64) || 0x00 || len(ctx) || ctx || msg, 64) (FIPS 204 Algorithms 2, 7).
func mldsaMu(pk []byte, ctx string, msg []byte) []byte {
	tr := make([]byte, 64)
	h := sha3.NewSHAKE256()
	h.Write(pk)
	h.Read(tr)
	h = sha3.NewSHAKE256()
	h.Write(tr)
	h.Write([]byte{0, byte(len(ctx))})
	h.Write([]byte(ctx))
	h.Write(msg)
	mu := make([]byte, 64)
	h.Read(mu)
	return mu
}

// offlineVerify verifies a signature with other libraries than the package uses where it can (the standard library,
// decred's secp256k1, filippo.io/mldsa), from the DER public key alone.
func offlineVerify(t *testing.T, spec string, spki []byte, alg string, msg []byte, mt MessageType, sig []byte) error {
	t.Helper()
	if spec == "ECC_SECG_P256K1" {
		pub := parseSecp256k1SPKIForTest(t, spki)
		digest := msg
		if mt == Raw {
			sum := sha256.Sum256(msg)
			digest = sum[:]
		}
		s, err := k1ecdsa.ParseDERSignature(sig)
		if err != nil {
			return err
		}
		if !s.Verify(digest, pub) {
			return errors.New("secp256k1 signature does not verify")
		}
		return nil
	}
	key, err := mldsax509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatalf("ParsePKIXPublicKey(%s): %v", spec, err)
	}
	hashOf := func(h crypto.Hash) []byte {
		if mt == Digest {
			return msg
		}
		w := h.New()
		w.Write(msg)
		return w.Sum(nil)
	}
	p, _ := signingAlgorithmOf(alg)
	switch pub := key.(type) {
	case *rsa.PublicKey:
		if p.scheme == schemePSS {
			return rsa.VerifyPSS(pub, p.hash, hashOf(p.hash), sig, &rsa.PSSOptions{SaltLength: p.hash.Size()})
		}
		return rsa.VerifyPKCS1v15(pub, p.hash, hashOf(p.hash), sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, hashOf(p.hash), sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	case ed25519.PublicKey:
		if p.scheme == schemeEd25519 {
			if !ed25519.Verify(pub, msg, sig) {
				return errors.New("Ed25519 signature does not verify")
			}
			return nil
		}
		prehash := sha512.Sum512(msg) // KMS prehashes the digest once more
		return ed25519.VerifyWithOptions(pub, prehash[:], sig, &ed25519.Options{Hash: crypto.SHA512})
	case *mldsa.PublicKey:
		return mldsa.Verify(pub, msg, sig, nil)
	}
	t.Fatalf("unexpected public key type %T", key)
	return nil
}

// signCase is one signing algorithm and message type for a spec.
type signCase struct {
	alg string
	mt  MessageType
}

func signCases(spec string) []signCase {
	var out []signCase
	for _, alg := range SigningAlgorithms(spec) {
		for _, mt := range []MessageType{Raw, Digest, ExternalMu} {
			if AcceptsMessageType(alg, mt) {
				out = append(out, signCase{alg, mt})
			}
		}
	}
	return out
}

func messageFor(alg string, mt MessageType, raw []byte) []byte {
	switch mt {
	case Digest:
		switch DigestSize(alg) {
		case 32:
			s := sha256.Sum256(raw)
			return s[:]
		case 48:
			s := sha512.Sum384(raw)
			return s[:]
		}
		s := sha512.Sum512(raw)
		return s[:]
	case ExternalMu:
		return bytes.Repeat([]byte{0x5a}, 64)
	}
	return raw
}

func TestGenerateAsymmetric(t *testing.T) {
	for _, spec := range asymmetricSpecs {
		t.Run(spec, func(t *testing.T) {
			m := testAsymmetricMaterial(t, spec)
			a := testAsymmetric(t, spec)
			if a.Spec() != spec {
				t.Errorf("Spec() = %q, want %q", a.Spec(), spec)
			}
			spki := a.PublicKey()
			switch {
			case strings.HasPrefix(spec, "ML_DSA"):
				if m.Len() != mldsa.PrivateKeySize {
					t.Errorf("ML-DSA material is %d bytes, want the %d-byte seed", m.Len(), mldsa.PrivateKeySize)
				}
				k, err := mldsa.NewPrivateKey(asymmetricSpecInfo(spec).ml, m.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				pub, err := mldsax509.ParsePKIXPublicKey(spki)
				if err != nil || !k.PublicKey().Equal(pub) {
					t.Errorf("PublicKey() = %x (%v), want the seed's public key", spki, err)
				}
			case spec == "ECC_SECG_P256K1":
				pub := parseSecp256k1SPKIForTest(t, spki)
				if !pub.IsEqual(a.k1.PubKey()) {
					t.Errorf("PublicKey() is not the private key's")
				}
			default:
				key, err := x509.ParsePKCS8PrivateKey(m.Bytes())
				if err != nil {
					t.Fatalf("material is not PKCS #8: %v", err)
				}
				pub, err := x509.ParsePKIXPublicKey(spki)
				if err != nil {
					t.Fatalf("x509.ParsePKIXPublicKey: %v", err)
				}
				if !key.(interface{ Public() crypto.PublicKey }).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
					t.Errorf("PublicKey() is not the private key's")
				}
			}
			spki[0] ^= 0xff
			if bytes.Equal(spki, a.PublicKey()) {
				t.Errorf("PublicKey() returned the internal slice")
			}
		})
	}
}

func asymmetricSpecInfo(spec string) specInfo {
	info, _ := asymmetricSpec(spec)
	return info
}

func TestGenerateAsymmetricErrors(t *testing.T) {
	if _, err := GenerateAsymmetric(rand.Reader, "SYMMETRIC_DEFAULT"); err == nil {
		t.Errorf("GenerateAsymmetric(SYMMETRIC_DEFAULT) = nil error")
	}
	for _, spec := range []string{"ECC_NIST_EDWARDS25519", "ML_DSA_44", "ECC_SECG_P256K1"} {
		if _, err := GenerateAsymmetric(strings.NewReader("short"), spec); err == nil {
			t.Errorf("GenerateAsymmetric(%s) with a failing reader = nil error", spec)
		}
	}
	// Seed-derived specs are deterministic in rand.
	for _, spec := range []string{"ECC_NIST_EDWARDS25519", "ML_DSA_65", "ECC_SECG_P256K1"} {
		a, err1 := GenerateAsymmetric(newDetReader(3), spec)
		b, err2 := GenerateAsymmetric(newDetReader(3), spec)
		if err1 != nil || err2 != nil || !a.Equal(b) {
			t.Errorf("GenerateAsymmetric(%s) from the same reader differs (%v, %v)", spec, err1, err2)
		}
	}
}

func TestNewAsymmetricMismatch(t *testing.T) {
	tests := []struct {
		name, spec string
		material   Secret
	}{
		{"RSA 2048 as 3072", "RSA_3072", testAsymmetricMaterial(t, "RSA_2048")},
		{"P-256 as P-384", "ECC_NIST_P384", testAsymmetricMaterial(t, "ECC_NIST_P256")},
		{"P-256 as RSA", "RSA_2048", testAsymmetricMaterial(t, "ECC_NIST_P256")},
		{"Ed25519 as P-256", "ECC_NIST_P256", testAsymmetricMaterial(t, "ECC_NIST_EDWARDS25519")},
		{"P-256 as secp256k1", "ECC_SECG_P256K1", testAsymmetricMaterial(t, "ECC_NIST_P256")},
		{"secp256k1 as P-256", "ECC_NIST_P256", testAsymmetricMaterial(t, "ECC_SECG_P256K1")},
		{"seed as P-256", "ECC_NIST_P256", testAsymmetricMaterial(t, "ML_DSA_44")},
		{"P-256 as ML-DSA", "ML_DSA_44", testAsymmetricMaterial(t, "ECC_NIST_P256")},
		{"garbage", "ECC_NIST_EDWARDS25519", NewSecret([]byte("not a key"))},
		{"unknown spec", "HMAC_256", testAsymmetricMaterial(t, "ECC_NIST_P256")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAsymmetric(tt.spec, tt.material)
			if err == nil {
				t.Fatalf("NewAsymmetric(%s) = %v, want an error", tt.spec, a)
			}
			if m := tt.material.Bytes(); len(m) > 8 && strings.Contains(err.Error(), hex.EncodeToString(m[:8])) {
				t.Errorf("error %q contains key material", err)
			}
		})
	}
}

// TestSignInterop signs with every algorithm and message type of every spec and verifies each signature offline,
// from the DER public key alone, with other libraries; then with the package's own Verify.
func TestSignInterop(t *testing.T) {
	raw := []byte("Custos signs this message")
	for _, spec := range asymmetricSpecs {
		a := testAsymmetric(t, spec)
		for _, c := range signCases(spec) {
			t.Run(fmt.Sprintf("%s/%s/%d", spec, c.alg, c.mt), func(t *testing.T) {
				msg := messageFor(c.alg, c.mt, raw)
				sig, err := a.Sign(rand.Reader, c.alg, msg, c.mt)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				if c.mt == ExternalMu {
					// Sign μ computed from raw: the signature must then verify as a signature of raw.
					msg = mldsaMu(a.pub.ml.Bytes(), "", raw)
					if sig, err = a.Sign(rand.Reader, c.alg, msg, c.mt); err != nil {
						t.Fatalf("Sign: %v", err)
					}
					if err := offlineVerify(t, spec, a.PublicKey(), c.alg, raw, Raw, sig); err != nil {
						t.Errorf("offline Verify of raw message = %v", err)
					}
				} else if err := offlineVerify(t, spec, a.PublicKey(), c.alg, msg, c.mt, sig); err != nil {
					t.Errorf("offline Verify = %v", err)
				}
				if err := a.Verify(c.alg, msg, c.mt, sig); err != nil {
					t.Errorf("Verify = %v, want nil", err)
				}
				if err := a.Verify(c.alg, msg, c.mt, flipBit(sig, 8*len(sig)/2)); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("Verify(altered signature) = %v, want ErrInvalidSignature", err)
				}
				if err := a.Verify(c.alg, flipBit(msg, 3), c.mt, sig); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("Verify(altered message) = %v, want ErrInvalidSignature", err)
				}
				if err := a.Verify(c.alg, msg, c.mt, sig[:len(sig)-1]); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("Verify(truncated signature) = %v, want ErrInvalidSignature", err)
				}
				if err := a.Verify(c.alg, msg, c.mt, nil); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("Verify(empty signature) = %v, want ErrInvalidSignature", err)
				}
			})
		}
	}
}

// TestVerifyForeignSignatures verifies signatures made outside the package with the same private key.
func TestVerifyForeignSignatures(t *testing.T) {
	msg := []byte("signed elsewhere")
	d256 := sha256.Sum256(msg)
	for _, spec := range []string{"RSA_2048", "ECC_NIST_P256", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ECC_SECG_P256K1"} {
		a := testAsymmetric(t, spec)
		var alg string
		var sig []byte
		var err error
		switch spec {
		case "RSA_2048":
			alg = "RSASSA_PSS_SHA_256"
			sig, err = rsa.SignPSS(rand.Reader, a.rsa, crypto.SHA256, d256[:], &rsa.PSSOptions{SaltLength: 32})
		case "ECC_NIST_P256":
			alg = "ECDSA_SHA_256"
			sig, err = ecdsa.SignASN1(rand.Reader, a.ec, d256[:])
		case "ECC_NIST_EDWARDS25519":
			alg = "ED25519_SHA_512"
			sig = ed25519.Sign(a.ed, msg)
		case "ML_DSA_44":
			alg = "ML_DSA_SHAKE_256"
			sig, err = a.ml.SignDeterministic(msg, nil)
		case "ECC_SECG_P256K1":
			alg = "ECDSA_SHA_256"
			// A high S (N - s) is as valid as the low S decred makes.
			s := k1ecdsa.Sign(a.k1, d256[:])
			r, sv := s.R(), s.S()
			sv.Negate()
			sig = k1ecdsa.NewSignature(&r, &sv).Serialize()
		}
		if err != nil {
			t.Fatalf("%s: signing: %v", spec, err)
		}
		if err := a.Verify(alg, msg, Raw, sig); err != nil {
			t.Errorf("%s: Verify(foreign %s signature) = %v, want nil", spec, alg, err)
		}
	}
}

func TestSignErrors(t *testing.T) {
	tests := []struct {
		name, spec, alg string
		msg             []byte
		mt              MessageType
		want            error
	}{
		{"RSA with ECDSA", "RSA_2048", "ECDSA_SHA_256", []byte("m"), Raw, ErrAlgorithm},
		{"P-256 with SHA-384", "ECC_NIST_P256", "ECDSA_SHA_384", []byte("m"), Raw, ErrAlgorithm},
		{"unknown algorithm", "ECC_NIST_P256", "SM2DSA", []byte("m"), Raw, ErrAlgorithm},
		{"short digest", "ECC_NIST_P256", "ECDSA_SHA_256", make([]byte, 31), Digest, ErrMessage},
		{"long digest", "RSA_2048", "RSASSA_PSS_SHA_512", make([]byte, 65), Digest, ErrMessage},
		{"ECDSA external mu", "ECC_NIST_P384", "ECDSA_SHA_384", make([]byte, 64), ExternalMu, ErrMessage},
		{"Ed25519 digest", "ECC_NIST_EDWARDS25519", "ED25519_SHA_512", make([]byte, 64), Digest, ErrMessage},
		{"Ed25519ph raw", "ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", []byte("m"), Raw, ErrMessage},
		{"Ed25519ph short digest", "ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", make([]byte, 32), Digest, ErrMessage},
		{"ML-DSA digest", "ML_DSA_65", "ML_DSA_SHAKE_256", make([]byte, 64), Digest, ErrMessage},
		{"ML-DSA short mu", "ML_DSA_65", "ML_DSA_SHAKE_256", make([]byte, 32), ExternalMu, ErrMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testAsymmetric(t, tt.spec)
			if _, err := a.Sign(rand.Reader, tt.alg, tt.msg, tt.mt); !errors.Is(err, tt.want) {
				t.Errorf("Sign(%s) = %v, want %v", tt.alg, err, tt.want)
			}
			if err := a.Verify(tt.alg, tt.msg, tt.mt, make([]byte, 64)); !errors.Is(err, tt.want) {
				t.Errorf("Verify(%s) = %v, want %v", tt.alg, err, tt.want)
			}
		})
	}
}

func TestRSAOAEPInterop(t *testing.T) {
	wantMax := map[string][2]int{"RSA_2048": {214, 190}, "RSA_3072": {342, 318}, "RSA_4096": {470, 446}}
	for _, spec := range []string{"RSA_2048", "RSA_3072", "RSA_4096"} {
		a := testAsymmetric(t, spec)
		priv, err := x509.ParsePKCS8PrivateKey(testAsymmetricMaterial(t, spec).Bytes())
		if err != nil {
			t.Fatal(err)
		}
		pubAny, err := x509.ParsePKIXPublicKey(a.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		pub := pubAny.(*rsa.PublicKey)
		for i, alg := range EncryptionAlgorithms(spec) {
			t.Run(spec+"/"+alg, func(t *testing.T) {
				newHash := sha1.New
				if alg == "RSAES_OAEP_SHA_256" {
					newHash = sha256.New
				}
				max := a.MaxPlaintext(alg)
				if max != wantMax[spec][i] {
					t.Errorf("MaxPlaintext(%s) = %d, want %d", alg, max, wantMax[spec][i])
				}
				pt := bytes.Repeat([]byte{0xa5}, max)
				ct, err := a.Encrypt(rand.Reader, alg, pt)
				if err != nil {
					t.Fatalf("Encrypt: %v", err)
				}
				got, err := rsa.DecryptOAEP(newHash(), nil, priv.(*rsa.PrivateKey), ct, nil)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("offline DecryptOAEP = %v, want the plaintext", err)
				}
				offline, err := rsa.EncryptOAEP(newHash(), rand.Reader, pub, []byte("from outside"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := a.Decrypt(alg, offline); err != nil || string(got) != "from outside" {
					t.Errorf("Decrypt(offline ciphertext) = %q, %v", got, err)
				}
				if _, err := a.Encrypt(rand.Reader, alg, append(pt, 0)); !errors.Is(err, ErrPlaintextTooLong) {
					t.Errorf("Encrypt(%d bytes) = %v, want ErrPlaintextTooLong", max+1, err)
				}
				if _, err := a.Decrypt(alg, flipBit(ct, 100)); !errors.Is(err, ErrInvalidCiphertext) {
					t.Errorf("Decrypt(altered) = %v, want ErrInvalidCiphertext", err)
				}
				if _, err := a.Decrypt(alg, ct[1:]); !errors.Is(err, ErrInvalidCiphertext) {
					t.Errorf("Decrypt(truncated) = %v, want ErrInvalidCiphertext", err)
				}
				other := "RSAES_OAEP_SHA_1"
				if alg == other {
					other = "RSAES_OAEP_SHA_256"
				}
				if _, err := a.Decrypt(other, ct); !errors.Is(err, ErrInvalidCiphertext) {
					t.Errorf("Decrypt(%s ciphertext as %s) = %v, want ErrInvalidCiphertext", alg, other, err)
				}
			})
		}
	}
	ec := testAsymmetric(t, "ECC_NIST_P256")
	if _, err := ec.Encrypt(rand.Reader, "RSAES_OAEP_SHA_256", []byte("x")); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("Encrypt with an EC key = %v, want ErrAlgorithm", err)
	}
	if _, err := testAsymmetric(t, "RSA_2048").Encrypt(rand.Reader, "SYMMETRIC_DEFAULT", []byte("x")); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("Encrypt(SYMMETRIC_DEFAULT) = %v, want ErrAlgorithm", err)
	}
}

func TestSharedSecret(t *testing.T) {
	curves := map[string]ecdh.Curve{"ECC_NIST_P256": ecdh.P256(), "ECC_NIST_P384": ecdh.P384(), "ECC_NIST_P521": ecdh.P521()}
	for spec, curve := range curves {
		t.Run(spec, func(t *testing.T) {
			a := testAsymmetric(t, spec)
			peer, err := curve.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			peerDER, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.SharedSecret(peerDER)
			if err != nil {
				t.Fatalf("SharedSecret: %v", err)
			}
			ours, err := x509.ParsePKIXPublicKey(a.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			ourECDH, err := ours.(*ecdsa.PublicKey).ECDH()
			if err != nil {
				t.Fatal(err)
			}
			want, err := peer.ECDH(ourECDH)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("SharedSecret = %x, want %x (computed offline)", got, want)
			}
		})
	}
	a := testAsymmetric(t, "ECC_NIST_P256")
	tests := []struct {
		name string
		der  []byte
		want error
	}{
		{"P-384 peer", testAsymmetric(t, "ECC_NIST_P384").PublicKey(), ErrPublicKeyMismatch},
		{"secp256k1 peer", testAsymmetric(t, "ECC_SECG_P256K1").PublicKey(), ErrPublicKeyMismatch},
		{"RSA peer", testAsymmetric(t, "RSA_2048").PublicKey(), ErrPublicKeyMismatch},
		{"Ed25519 peer", testAsymmetric(t, "ECC_NIST_EDWARDS25519").PublicKey(), ErrPublicKeyMismatch},
		{"truncated", a.PublicKey()[:40], ErrInvalidPublicKey},
		{"trailing data", append(a.PublicKey(), 0), ErrInvalidPublicKey},
		{"point off the curve", flipBit(a.PublicKey(), 8*(len(a.PublicKey())-1)), ErrInvalidPublicKey},
		{"garbage", []byte("not DER"), ErrInvalidPublicKey},
		{"empty", nil, ErrInvalidPublicKey},
	}
	for _, tt := range tests {
		if _, err := a.SharedSecret(tt.der); !errors.Is(err, tt.want) {
			t.Errorf("SharedSecret(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := testAsymmetric(t, "RSA_2048").SharedSecret(a.PublicKey()); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("SharedSecret with an RSA key = %v, want ErrAlgorithm", err)
	}
}

// TestSecp256k1Encoding pins the DER shapes of secp256k1 keys, which this package encodes itself.
func TestSecp256k1Encoding(t *testing.T) {
	k := secp256k1.PrivKeyFromBytes(bytes.Repeat([]byte{0x11}, 32))
	der, err := marshalSecp256k1PKCS8(k)
	if err != nil {
		t.Fatal(err)
	}
	// PrivateKeyInfo { 0, { id-ecPublicKey, secp256k1 }, OCTET STRING { ECPrivateKey { 1, key, [1] public } } }
	wantPrefix := "308184020100301006072a8648ce3d020106052b8104000a046d306b0201010420" + strings.Repeat("11", 32) + "a144034200"
	if got := hex.EncodeToString(der); !strings.HasPrefix(got, wantPrefix) {
		t.Errorf("PKCS #8 = %s, want prefix %s", got, wantPrefix)
	}
	back, err := parseSecp256k1PKCS8(der)
	if err != nil || !back.PubKey().IsEqual(k.PubKey()) {
		t.Errorf("parseSecp256k1PKCS8 round trip = %v", err)
	}
	spki := marshalSecp256k1SPKI(k.PubKey())
	// The same prefix as the secp256k1 keys of Wycheproof's ecdsa_secp256k1_sha256_test.json.
	if got := hex.EncodeToString(spki); !strings.HasPrefix(got, "3056301006072a8648ce3d020106052b8104000a03420004") || len(spki) != 88 {
		t.Errorf("SPKI = %s", got)
	}
	for _, bad := range [][]byte{der[:len(der)-1], append(bytes.Clone(der), 0), {}, testAsymmetricMaterial(t, "ECC_NIST_P256").Bytes()} {
		if _, err := parseSecp256k1PKCS8(bad); err == nil {
			t.Errorf("parseSecp256k1PKCS8(%x) = nil error", bad)
		}
	}
	zero, _ := asn1.Marshal(ecPrivateKey{Version: 1, PrivateKey: make([]byte, 32)})
	zeroDER, _ := asn1.Marshal(pkcs8Info{Algorithm: secp256k1Algorithm(), PrivateKey: zero})
	if _, err := parseSecp256k1PKCS8(zeroDER); err == nil {
		t.Errorf("parseSecp256k1PKCS8(zero scalar) = nil error")
	}
}

func TestSigningAlgorithmsTable(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{"RSA_3072", "RSASSA_PKCS1_V1_5_SHA_256 RSASSA_PKCS1_V1_5_SHA_384 RSASSA_PKCS1_V1_5_SHA_512 RSASSA_PSS_SHA_256 RSASSA_PSS_SHA_384 RSASSA_PSS_SHA_512"},
		{"ECC_NIST_P256", "ECDSA_SHA_256"},
		{"ECC_NIST_P384", "ECDSA_SHA_384"},
		{"ECC_NIST_P521", "ECDSA_SHA_512"},
		{"ECC_SECG_P256K1", "ECDSA_SHA_256"},
		{"ECC_NIST_EDWARDS25519", "ED25519_SHA_512 ED25519_PH_SHA_512"},
		{"ML_DSA_87", "ML_DSA_SHAKE_256"},
		{"HMAC_256", ""},
		{"SYMMETRIC_DEFAULT", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(SigningAlgorithms(tt.spec), " "); got != tt.want {
			t.Errorf("SigningAlgorithms(%s) = %q, want %q", tt.spec, got, tt.want)
		}
	}
	for alg, want := range map[string]int{"ECDSA_SHA_256": 32, "RSASSA_PSS_SHA_384": 48, "ED25519_PH_SHA_512": 64, "ED25519_SHA_512": 0, "ML_DSA_SHAKE_256": 0, "SM2DSA": 0} {
		if got := DigestSize(alg); got != want {
			t.Errorf("DigestSize(%s) = %d, want %d", alg, got, want)
		}
	}
}

// TestECDSASignaturesAreRandomized checks that NIST ECDSA signatures do not repeat (secp256k1's are deterministic).
func TestECDSASignaturesAreRandomized(t *testing.T) {
	a := testAsymmetric(t, "ECC_NIST_P256")
	s1, _ := a.Sign(rand.Reader, "ECDSA_SHA_256", []byte("m"), Raw)
	s2, _ := a.Sign(rand.Reader, "ECDSA_SHA_256", []byte("m"), Raw)
	if bytes.Equal(s1, s2) {
		t.Errorf("two P-256 signatures of one message are equal")
	}
}

func FuzzAsymmetricVerify(f *testing.F) {
	specs := []string{"ECC_NIST_P256", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "RSA_2048"}
	keys := make([]*Asymmetric, len(specs))
	for i, spec := range specs {
		keys[i] = testAsymmetric(f, spec)
		for _, c := range signCases(spec) {
			msg := messageFor(c.alg, c.mt, []byte("seed"))
			sig, err := keys[i].Sign(rand.Reader, c.alg, msg, c.mt)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), c.alg, uint8(c.mt), msg, sig)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, alg string, mt uint8, msg, sig []byte) {
		a := keys[int(which)%len(keys)]
		err := a.Verify(alg, msg, MessageType(mt%3), sig)
		if err != nil && !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrAlgorithm) && !errors.Is(err, ErrMessage) {
			t.Fatalf("Verify(%s) = %v, want nil or a package error", alg, err)
		}
	})
}

func FuzzSharedSecret(f *testing.F) {
	a := testAsymmetric(f, "ECC_NIST_P256")
	f.Add(a.PublicKey())
	f.Add(testAsymmetric(f, "ECC_NIST_P384").PublicKey())
	f.Add(testAsymmetric(f, "ECC_SECG_P256K1").PublicKey())
	f.Add(testAsymmetric(f, "ECC_NIST_EDWARDS25519").PublicKey())
	f.Fuzz(func(t *testing.T, der []byte) {
		z, err := a.SharedSecret(der)
		if err == nil && len(z) != 32 {
			t.Fatalf("SharedSecret = %d bytes, want 32", len(z))
		}
		if err != nil && !errors.Is(err, ErrInvalidPublicKey) && !errors.Is(err, ErrPublicKeyMismatch) {
			t.Fatalf("SharedSecret = %v", err)
		}
	})
}
