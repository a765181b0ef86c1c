package keyring

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/mldsa"
	mldsax509 "filippo.io/mldsa/x509"
)

// The Wycheproof vectors (github.com/c2sp/wycheproof, testvectors_v1) are read from the module cache, where go.mod's
// requirement puts them; `go list -m` finds the folder. Groups with parameters Custos does not offer (other curves,
// hashes, salt lengths, key sizes, truncated MACs, ML-DSA contexts) are skipped.

var wycheproofDir = sync.OnceValues(func() (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goCmd, "list", "-m", "-f", "{{.Dir}}", "github.com/c2sp/wycheproof").Output()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "testvectors_v1")
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
})

// wycheproofTest is the union of the test case fields the files below use.
type wycheproofTest struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Msg     hexBytes `json:"msg"`
	Sig     hexBytes `json:"sig"`
	Ct      hexBytes `json:"ct"`
	Label   hexBytes `json:"label"`
	Key     hexBytes `json:"key"`
	Tag     hexBytes `json:"tag"`
	Public  hexBytes `json:"public"`
	Private hexBytes `json:"private"`
	Shared  hexBytes `json:"shared"`
	Mu      hexBytes `json:"mu"`
	Ctx     hexBytes `json:"ctx"`
	Result  string   `json:"result"` // valid, invalid or acceptable
}

type wycheproofGroup struct {
	Type            string           `json:"type"`
	Sha             string           `json:"sha"`
	MgfSha          string           `json:"mgfSha"`
	SLen            int              `json:"sLen"`
	KeySize         int              `json:"keySize"`
	TagSize         int              `json:"tagSize"`
	Curve           string           `json:"curve"`
	Encoding        string           `json:"encoding"`
	PublicKeyDer    hexBytes         `json:"publicKeyDer"`
	PublicKey       json.RawMessage  `json:"publicKey"`
	PrivateKeyPkcs8 hexBytes         `json:"privateKeyPkcs8"`
	PrivateSeed     hexBytes         `json:"privateSeed"`
	Tests           []wycheproofTest `json:"tests"`
}

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

// vectorsDir returns the folder of the vector files, skipping the test when it cannot be found (failing it when
// CUSTOS_REQUIRE_TOOLS=1).
func vectorsDir(t *testing.T) string {
	t.Helper()
	dir, err := wycheproofDir()
	if err != nil {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("Wycheproof vectors not found (CUSTOS_REQUIRE_TOOLS=1): %v", err)
		}
		t.Skipf("Wycheproof vectors not found: %v", err)
	}
	return dir
}

// loadWycheproof returns the groups of one vector file (see vectorsDir).
func loadWycheproof(t *testing.T, name string) []wycheproofGroup {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir(t), name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	var file struct {
		TestGroups []wycheproofGroup `json:"testGroups"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return file.TestGroups
}

// vectorStride is how many vectors of the slow files each run takes one of: all of them, except under the race
// detector (see raceEnabled).
func vectorStride() int {
	if raceEnabled {
		return 5
	}
	return 1
}

// checkResult compares an outcome with a vector's expected result; "acceptable" accepts both.
func checkResult(t *testing.T, file string, tc wycheproofTest, ok bool, err error) {
	t.Helper()
	switch {
	case tc.Result == "valid" && !ok:
		t.Errorf("%s #%d (%s, %v): rejected a valid vector: %v", file, tc.TcID, tc.Comment, tc.Flags, err)
	case tc.Result == "invalid" && ok:
		t.Errorf("%s #%d (%s, %v): accepted an invalid vector", file, tc.TcID, tc.Comment, tc.Flags)
	}
}

var sigHashes = map[string]string{"SHA-256": "256", "SHA-384": "384", "SHA-512": "512"}

// runSignatureVectors verifies every vector of a signature file with the package's verification code, for the
// signing algorithm alg (the hash suffix is taken from each group's "sha").
func runSignatureVectors(t *testing.T, file, algPrefix string, parse func(g wycheproofGroup) (publicKey, bool)) {
	n := 0
	for _, g := range loadWycheproof(t, file) {
		suffix, ok := sigHashes[g.Sha]
		if algPrefix == "ED25519" {
			suffix, ok = "", true
		}
		if !ok || (g.MgfSha != "" && g.MgfSha != g.Sha) || (g.Type == "RsassaPssVerify" && g.SLen != shaSize(g.Sha)) {
			continue
		}
		alg := algPrefix + suffix
		if algPrefix == "ED25519" {
			alg = "ED25519_SHA_512"
		}
		pub, ok := parse(g)
		if !ok {
			continue
		}
		p, _ := signingAlgorithmOf(alg)
		for i, tc := range g.Tests {
			if i%vectorStride() != 0 && strings.Contains(file, "secp521r1") {
				continue
			}
			err := pub.verify(p, tc.Msg, Raw, tc.Sig)
			if err != nil && !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("%s #%d: verify = %v", file, tc.TcID, err)
			}
			checkResult(t, file, tc, err == nil, err)
			n++
		}
	}
	if n == 0 {
		t.Errorf("%s: no vector ran", file)
	}
}

func shaSize(name string) int {
	switch name {
	case "SHA-256":
		return 32
	case "SHA-384":
		return 48
	case "SHA-512":
		return 64
	}
	return 0
}

func parsePKIX(g wycheproofGroup) (any, bool) {
	k, err := mldsax509.ParsePKIXPublicKey(g.PublicKeyDer)
	return k, err == nil
}

func TestWycheproofECDSA(t *testing.T) {
	t.Parallel()
	nist := func(curve elliptic.Curve) func(g wycheproofGroup) (publicKey, bool) {
		return func(g wycheproofGroup) (publicKey, bool) {
			k, ok := parsePKIX(g)
			ec, isEC := k.(*ecdsa.PublicKey)
			return publicKey{ec: ec}, ok && isEC && ec.Curve == curve
		}
	}
	for file, parse := range map[string]func(wycheproofGroup) (publicKey, bool){
		"ecdsa_secp256r1_sha256_test.json": nist(elliptic.P256()),
		"ecdsa_secp384r1_sha384_test.json": nist(elliptic.P384()),
		"ecdsa_secp521r1_sha512_test.json": nist(elliptic.P521()),
		"ecdsa_secp256k1_sha256_test.json": func(g wycheproofGroup) (publicKey, bool) {
			if !isSecp256k1SPKI(g.PublicKeyDer) {
				return publicKey{}, false
			}
			return publicKey{k1: parseSecp256k1SPKIForTest(t, g.PublicKeyDer)}, true
		},
	} {
		t.Run(file, func(t *testing.T) { runSignatureVectors(t, file, "ECDSA_SHA_", parse) })
	}
}

func rsaKey(g wycheproofGroup) (publicKey, bool) {
	k, ok := parsePKIX(g)
	r, isRSA := k.(*rsa.PublicKey)
	if !ok || !isRSA {
		return publicKey{}, false
	}
	switch r.N.BitLen() {
	case 2048, 3072, 4096:
		return publicKey{rsa: r}, true
	}
	return publicKey{}, false
}

func TestWycheproofRSASignatures(t *testing.T) {
	t.Parallel()
	for _, size := range []string{"2048", "3072", "4096"} {
		for _, sha := range []string{"256", "384", "512"} {
			file := "rsa_signature_" + size + "_sha" + sha + "_test.json"
			if _, err := os.Stat(filepath.Join(vectorsDir(t), file)); err != nil {
				continue
			}
			t.Run(file, func(t *testing.T) { runSignatureVectors(t, file, "RSASSA_PKCS1_V1_5_SHA_", rsaKey) })
		}
	}
	for _, file := range []string{"rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_2048_sha384_mgf1_48_test.json",
		"rsa_pss_3072_sha256_mgf1_32_test.json", "rsa_pss_4096_sha256_mgf1_32_test.json",
		"rsa_pss_4096_sha384_mgf1_48_test.json", "rsa_pss_4096_sha512_mgf1_64_test.json"} {
		t.Run(file, func(t *testing.T) { runSignatureVectors(t, file, "RSASSA_PSS_SHA_", rsaKey) })
	}
}

func TestWycheproofEd25519(t *testing.T) {
	t.Parallel()
	runSignatureVectors(t, "ed25519_test.json", "ED25519", func(g wycheproofGroup) (publicKey, bool) {
		k, ok := parsePKIX(g)
		ed, isEd := k.(ed25519.PublicKey)
		return publicKey{ed: ed}, ok && isEd
	})
}

func TestWycheproofRSAOAEP(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"rsa_oaep_2048_sha1_mgf1sha1_test.json", "rsa_oaep_2048_sha256_mgf1sha256_test.json",
		"rsa_oaep_3072_sha256_mgf1sha256_test.json", "rsa_oaep_4096_sha256_mgf1sha256_test.json"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			n := 0
			for _, g := range loadWycheproof(t, file) {
				alg := map[string]string{"SHA-1": "RSAES_OAEP_SHA_1", "SHA-256": "RSAES_OAEP_SHA_256"}[g.Sha]
				spec := map[int]string{2048: "RSA_2048", 3072: "RSA_3072", 4096: "RSA_4096"}[g.KeySize]
				if alg == "" || spec == "" || g.MgfSha != g.Sha {
					continue
				}
				a, err := NewAsymmetric(spec, NewSecret(g.PrivateKeyPkcs8))
				if err != nil {
					t.Fatalf("NewAsymmetric(%s): %v", spec, err)
				}
				for _, tc := range g.Tests {
					if len(tc.Label) > 0 {
						continue // KMS uses no label
					}
					pt, err := a.Decrypt(alg, tc.Ct)
					if err != nil && !errors.Is(err, ErrInvalidCiphertext) {
						t.Fatalf("#%d: Decrypt = %v", tc.TcID, err)
					}
					ok := err == nil && bytes.Equal(pt, tc.Msg)
					checkResult(t, file, tc, ok, err)
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s: no vector ran", file)
			}
		})
	}
}

func TestWycheproofECDH(t *testing.T) {
	t.Parallel()
	for file, spec := range map[string]string{"ecdh_secp256r1_test.json": "ECC_NIST_P256",
		"ecdh_secp384r1_test.json": "ECC_NIST_P384", "ecdh_secp521r1_test.json": "ECC_NIST_P521"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			info := asymmetricSpecInfo(spec)
			size := (info.curve.Params().BitSize + 7) / 8
			n := 0
			for _, g := range loadWycheproof(t, file) {
				if g.Encoding != "asn" {
					continue
				}
				keys := map[string]*Asymmetric{} // many vectors share a private key
				for i, tc := range g.Tests {
					if i%vectorStride() != 0 {
						continue
					}
					d := new(big.Int).SetBytes(tc.Private)
					if d.Sign() == 0 || d.BitLen() > 8*size {
						continue
					}
					a := keys[d.String()]
					if a == nil {
						priv, err := ecdsa.ParseRawPrivateKey(info.curve, d.FillBytes(make([]byte, size)))
						if err != nil {
							continue // a scalar out of range: not a private key Custos could hold
						}
						der, err := x509.MarshalPKCS8PrivateKey(priv)
						if err != nil {
							t.Fatal(err)
						}
						if a, err = NewAsymmetric(spec, NewSecret(der)); err != nil {
							t.Fatalf("#%d: NewAsymmetric: %v", tc.TcID, err)
						}
						keys[d.String()] = a
					}
					z, err := a.SharedSecret(tc.Public)
					if err != nil && !errors.Is(err, ErrInvalidPublicKey) && !errors.Is(err, ErrPublicKeyMismatch) {
						t.Fatalf("#%d: SharedSecret = %v", tc.TcID, err)
					}
					checkResult(t, file, tc, err == nil && bytes.Equal(z, tc.Shared), err)
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s: no vector ran", file)
			}
		})
	}
}

var mldsaSpecs = map[string]string{"44": "ML_DSA_44", "65": "ML_DSA_65", "87": "ML_DSA_87"}

func TestWycheproofMLDSAVerify(t *testing.T) {
	t.Parallel()
	for size, spec := range mldsaSpecs {
		file := "mldsa_" + size + "_verify_test.json"
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			params := asymmetricSpecInfo(spec).ml
			n := 0
			for _, g := range loadWycheproof(t, file) {
				var pkHex string
				if json.Unmarshal(g.PublicKey, &pkHex) != nil {
					continue
				}
				pkBytes, _ := hex.DecodeString(pkHex)
				pk, pkErr := mldsa.NewPublicKey(params, pkBytes)
				for _, tc := range g.Tests {
					if len(tc.Ctx) > 255 {
						continue // no μ exists for a context too long to encode; mldsa.Verify rejects it
					}
					// μ-based verification runs on every vector, contexts included.
					okMu := pkErr == nil && verifyMLDSAMu(params, pkBytes, mldsaMu(pkBytes, string(tc.Ctx), tc.Msg), tc.Sig)
					checkResult(t, file+" (from μ)", tc, okMu, nil)
					n++
					if len(tc.Ctx) > 0 || pkErr != nil {
						continue // Custos signs RAW messages with an empty context
					}
					err := publicKey{ml: pk}.verify(signingAlgorithm{scheme: schemeMLDSA}, tc.Msg, Raw, tc.Sig)
					checkResult(t, file, tc, err == nil, err)
				}
			}
			if n == 0 {
				t.Errorf("%s: no vector ran", file)
			}
		})
	}
}

// TestWycheproofMLDSASign derives keys from Wycheproof seeds, checks the public key and μ, verifies the vectors'
// signatures from the message and from μ, and checks that the package's own ExternalMu signatures verify.
func TestWycheproofMLDSASign(t *testing.T) {
	t.Parallel()
	for size, spec := range mldsaSpecs {
		file := "mldsa_" + size + "_sign_seed_test.json"
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			n := 0
			for _, g := range loadWycheproof(t, file) {
				a, err := NewAsymmetric(spec, NewSecret(g.PrivateSeed))
				if err != nil {
					continue // malformed seeds are not Custos material
				}
				var pkHex string
				json.Unmarshal(g.PublicKey, &pkHex)
				if got := hex.EncodeToString(a.pub.ml.Bytes()); pkHex != "" && got != pkHex {
					t.Fatalf("public key from seed %x differs", g.PrivateSeed)
				}
				for _, tc := range g.Tests {
					if tc.Result != "valid" || len(tc.Sig) == 0 {
						continue
					}
					// "Internal" vectors give μ and no message.
					internal := slices.Contains(tc.Flags, "Internal")
					mu := tc.Mu
					if !internal {
						mu = mldsaMu(a.pub.ml.Bytes(), string(tc.Ctx), tc.Msg)
						if len(tc.Mu) > 0 && !bytes.Equal(mu, tc.Mu) {
							t.Errorf("#%d: μ = %x, want %x", tc.TcID, mu, tc.Mu)
						}
					}
					if err := a.Verify("ML_DSA_SHAKE_256", mu, ExternalMu, tc.Sig); err != nil {
						t.Errorf("#%d: Verify(ExternalMu) = %v", tc.TcID, err)
					}
					if !internal && len(tc.Ctx) == 0 {
						if err := a.Verify("ML_DSA_SHAKE_256", tc.Msg, Raw, tc.Sig); err != nil {
							t.Errorf("#%d: Verify(Raw) = %v", tc.TcID, err)
						}
					}
					sig, err := a.Sign(nil, "ML_DSA_SHAKE_256", mu, ExternalMu)
					if err != nil {
						t.Fatalf("#%d: Sign(ExternalMu): %v", tc.TcID, err)
					}
					if err := a.Verify("ML_DSA_SHAKE_256", mu, ExternalMu, sig); err != nil {
						t.Errorf("#%d: Verify(our signature of μ) = %v", tc.TcID, err)
					}
					if !internal {
						if err := mldsa.Verify(a.pub.ml, tc.Msg, sig, &mldsa.Options{Context: string(tc.Ctx)}); err != nil {
							t.Errorf("#%d: mldsa.Verify(our signature of μ) = %v", tc.TcID, err)
						}
					}
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s: no vector ran", file)
			}
		})
	}
}
