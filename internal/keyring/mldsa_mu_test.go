package keyring

import (
	"crypto/rand"
	"fmt"
	"testing"

	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
)

// TestVerifyMLDSAMu cross-checks the package's verification from μ against filippo.io/mldsa: signatures of a message
// made by the library verify from the message's μ, signatures of a μ made by the library verify as signatures of the
// message, and any change to the signature or to μ fails.
func TestVerifyMLDSAMu(t *testing.T) {
	for _, params := range []mldsa.Parameters{mldsa.MLDSA44(), mldsa.MLDSA65(), mldsa.MLDSA87()} {
		for i := 0; i < 3; i++ {
			t.Run(fmt.Sprintf("%s/%d", params, i), func(t *testing.T) {
				seed := make([]byte, 32)
				seed[0] = byte(i)
				k, err := mldsa.NewPrivateKey(params, seed)
				if err != nil {
					t.Fatal(err)
				}
				pk := k.PublicKey().Bytes()
				msg := []byte(fmt.Sprintf("message %d", i))
				mu := mldsaMu(pk, "", msg)

				sig, err := k.Sign(rand.Reader, msg, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !verifyMLDSAMu(params, pk, mu, sig) {
					t.Errorf("verifyMLDSAMu(signature of the message) = false, want true")
				}
				muSig, err := k.Sign(rand.Reader, mu, mldsacrypto.MLDSAMu)
				if err != nil {
					t.Fatal(err)
				}
				if err := mldsa.Verify(k.PublicKey(), msg, muSig, nil); err != nil {
					t.Errorf("mldsa.Verify(signature of μ) = %v", err)
				}
				if !verifyMLDSAMu(params, pk, mu, muSig) {
					t.Errorf("verifyMLDSAMu(signature of μ) = false, want true")
				}
				for _, bit := range []int{0, 8 * 40, 8*len(sig) - 1 - 8*10, 8*len(sig) - 1} {
					if verifyMLDSAMu(params, pk, mu, flipBit(sig, bit)) {
						t.Errorf("verifyMLDSAMu(signature with bit %d flipped) = true", bit)
					}
				}
				if verifyMLDSAMu(params, pk, flipBit(mu, 7), sig) {
					t.Errorf("verifyMLDSAMu(altered μ) = true")
				}
				if verifyMLDSAMu(params, flipBit(pk, 8*40), mu, sig) {
					t.Errorf("verifyMLDSAMu(altered public key) = true")
				}
				if verifyMLDSAMu(params, pk, mu, sig[1:]) || verifyMLDSAMu(params, pk, mu[1:], sig) || verifyMLDSAMu(params, pk[1:], mu, sig) {
					t.Errorf("verifyMLDSAMu accepted a wrong length")
				}
			})
		}
	}
}

func TestMLDSAArithmetic(t *testing.T) {
	// NTT and its inverse are inverses.
	var p poly
	for i := range p {
		p[i] = uint32(i*7919) % mlQ
	}
	if got := invNTT(ntt(p)); got != p {
		t.Errorf("invNTT(ntt(p)) != p")
	}
	// Multiplying by x (the polynomial 0, 1, 0, ...) in the NTT domain shifts with a sign flip (x^256 = -1).
	var x poly
	x[1] = 1
	xHat, pHat := ntt(x), ntt(p)
	var prod poly
	for i := range prod {
		prod[i] = mulMod(xHat[i], pHat[i])
	}
	got := invNTT(prod)
	if got[0] != (mlQ-p[mlN-1])%mlQ || got[1] != p[0] || got[255] != p[254] {
		t.Errorf("x·p = %v..., want a negacyclic shift", got[:3])
	}
	// decompose: r = r1·2γ2 + r0 (mod q) for every r near the edges.
	for _, gamma2 := range []int32{(mlQ - 1) / 88, (mlQ - 1) / 32} {
		for _, r := range []uint32{0, 1, uint32(gamma2), uint32(gamma2) + 1, mlQ - 2, mlQ - 1, mlQ / 2} {
			r1, r0 := decompose(r, gamma2)
			if r0 <= -gamma2-1 || r0 > gamma2 || (int64(r1)*2*int64(gamma2)+int64(r0)-int64(r))%mlQ != 0 {
				t.Errorf("decompose(%d, %d) = %d, %d", r, gamma2, r1, r0)
			}
		}
	}
}
