package keyring

import (
	"bytes"
	"crypto/sha3"

	"filippo.io/mldsa"
)

// filippo.io/mldsa signs an external μ but verifies only whole messages, so verification from μ (FIPS 204,
// Algorithm 8, ML-DSA.Verify_internal, with μ given instead of computed from the message) is written out here,
// directly from the standard. It works on public data only and need not be constant time.

// muSize is the length of ML-DSA's message representative μ.
const muSize = 64

const (
	mlQ     = 8380417 // the field modulus q
	mlD     = 13      // dropped bits of t
	mlN     = 256     // coefficients per polynomial
	mlZeta  = 1753    // 512th root of unity mod q
	mlNInv  = 8347681 // 256⁻¹ mod q
	mlRhoSz = 32      // bytes of the seed ρ in a public key
	mlT1Sz  = 320     // bytes of one packed t1 polynomial (256 × 10 bits)
)

// mlParams are the FIPS 204 parameters verification needs.
type mlParams struct {
	k, l   int
	tau    int   // ±1 coefficients of c
	lambda int   // collision strength; c̃ is λ/4 bytes
	gamma1 int32 // coefficient range of y
	gamma2 int32 // low-order rounding range
	beta   int32 // τ·η
	omega  int   // maximum number of 1s in the hint
	zBits  int   // bits per packed coefficient of z
	w1Bits int   // bits per packed coefficient of w1
	sigLen int   // encoded signature length
	pkLen  int   // encoded public key length
}

func mlParamsOf(p mldsa.Parameters) (mlParams, bool) {
	switch p {
	case mldsa.MLDSA44():
		return mlParams{k: 4, l: 4, tau: 39, lambda: 128, gamma1: 1 << 17, gamma2: (mlQ - 1) / 88, beta: 78, omega: 80,
			zBits: 18, w1Bits: 6, sigLen: 2420, pkLen: 1312}, true
	case mldsa.MLDSA65():
		return mlParams{k: 6, l: 5, tau: 49, lambda: 192, gamma1: 1 << 19, gamma2: (mlQ - 1) / 32, beta: 196, omega: 55,
			zBits: 20, w1Bits: 4, sigLen: 3309, pkLen: 1952}, true
	case mldsa.MLDSA87():
		return mlParams{k: 8, l: 7, tau: 60, lambda: 256, gamma1: 1 << 19, gamma2: (mlQ - 1) / 32, beta: 120, omega: 75,
			zBits: 20, w1Bits: 4, sigLen: 4627, pkLen: 2592}, true
	}
	return mlParams{}, false
}

// poly is a polynomial with coefficients in [0, q).
type poly [mlN]uint32

// mlZetas holds ζ^BitRev8(m) mod q for m = 0..255 (FIPS 204, Appendix B). Computed once, never written after.
var mlZetas = func() (z [mlN]uint32) {
	for m := range z {
		rev := 0
		for b := 0; b < 8; b++ {
			rev |= (m >> b & 1) << (7 - b)
		}
		z[m] = powMod(mlZeta, rev)
	}
	return z
}()

func powMod(b uint64, e int) uint32 {
	r := uint64(1)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = r * b % mlQ
		}
		b = b * b % mlQ
	}
	return uint32(r)
}

func mulMod(a, b uint32) uint32 { return uint32(uint64(a) * uint64(b) % mlQ) }
func addMod(a, b uint32) uint32 { return (a + b) % mlQ }
func subMod(a, b uint32) uint32 { return (a + mlQ - b) % mlQ }

// ntt is FIPS 204 Algorithm 41.
func ntt(w poly) poly {
	m := 0
	for length := 128; length >= 1; length /= 2 {
		for start := 0; start < mlN; start += 2 * length {
			m++
			z := mlZetas[m]
			for j := start; j < start+length; j++ {
				t := mulMod(z, w[j+length])
				w[j+length] = subMod(w[j], t)
				w[j] = addMod(w[j], t)
			}
		}
	}
	return w
}

// invNTT is FIPS 204 Algorithm 42.
func invNTT(w poly) poly {
	m := mlN
	for length := 1; length < mlN; length *= 2 {
		for start := 0; start < mlN; start += 2 * length {
			m--
			z := mlQ - mlZetas[m]
			for j := start; j < start+length; j++ {
				t := w[j]
				w[j] = addMod(t, w[j+length])
				w[j+length] = mulMod(z, subMod(t, w[j+length]))
			}
		}
	}
	for j := range w {
		w[j] = mulMod(mlNInv, w[j])
	}
	return w
}

// rejNTTPoly is FIPS 204 Algorithm 30: a uniform polynomial in NTT form from SHAKE128(seed).
func rejNTTPoly(seed []byte) poly {
	h := sha3.NewSHAKE128()
	h.Write(seed)
	var a poly
	var b [3]byte
	for j := 0; j < mlN; {
		h.Read(b[:])
		if z := uint32(b[2]&0x7f)<<16 | uint32(b[1])<<8 | uint32(b[0]); z < mlQ {
			a[j] = z
			j++
		}
	}
	return a
}

// sampleInBall is FIPS 204 Algorithm 29: the challenge c with τ coefficients ±1 from SHAKE256(c̃).
func sampleInBall(ct []byte, tau int) poly {
	h := sha3.NewSHAKE256()
	h.Write(ct)
	var s [8]byte
	h.Read(s[:])
	var c poly
	var j [1]byte
	for i := mlN - tau; i < mlN; i++ {
		for {
			h.Read(j[:])
			if int(j[0]) <= i {
				break
			}
		}
		c[i] = c[j[0]]
		bit := i + tau - mlN
		if s[bit/8]>>(bit%8)&1 == 1 {
			c[j[0]] = mlQ - 1
		} else {
			c[j[0]] = 1
		}
	}
	return c
}

// unpackBits reads n little-endian bit fields of width bits each from b (FIPS 204 BitUnpack without the offset).
func unpackBits(b []byte, bits int) poly {
	var p poly
	var acc uint64
	have, pos := 0, 0
	for i := range p {
		for have < bits {
			acc |= uint64(b[pos]) << have
			pos++
			have += 8
		}
		p[i] = uint32(acc & (1<<bits - 1))
		acc >>= bits
		have -= bits
	}
	return p
}

// decompose is FIPS 204 Algorithm 36: r = r1·2γ2 + r0 with r0 in (−γ2, γ2].
func decompose(r uint32, gamma2 int32) (r1 int32, r0 int32) {
	rp := int32(r)
	r0 = rp % (2 * gamma2)
	if r0 > gamma2 {
		r0 -= 2 * gamma2
	}
	if rp-r0 == mlQ-1 {
		return 0, r0 - 1
	}
	return (rp - r0) / (2 * gamma2), r0
}

// useHint is FIPS 204 Algorithm 40.
func useHint(h bool, r uint32, gamma2 int32) int32 {
	m := (mlQ - 1) / (2 * gamma2)
	r1, r0 := decompose(r, gamma2)
	switch {
	case h && r0 > 0:
		return (r1 + 1) % m
	case h:
		return (r1 - 1 + m) % m
	}
	return r1
}

// hintBitUnpack is FIPS 204 Algorithm 21; it reports false for a malformed hint.
func hintBitUnpack(y []byte, p mlParams) ([][mlN]bool, bool) {
	h := make([][mlN]bool, p.k)
	index := 0
	for i := 0; i < p.k; i++ {
		end := int(y[p.omega+i])
		if end < index || end > p.omega {
			return nil, false
		}
		first := index
		for ; index < end; index++ {
			if index > first && y[index-1] >= y[index] {
				return nil, false
			}
			h[i][y[index]] = true
		}
	}
	for ; index < p.omega; index++ {
		if y[index] != 0 {
			return nil, false
		}
	}
	return h, true
}

// verifyMLDSAMu reports whether sig is a valid ML-DSA signature of the 64-byte message representative mu under the
// encoded public key pk (FIPS 204 Algorithm 8 from step 8 on).
func verifyMLDSAMu(params mldsa.Parameters, pk, mu, sig []byte) bool {
	p, ok := mlParamsOf(params)
	if !ok || len(pk) != p.pkLen || len(sig) != p.sigLen || len(mu) != muSize {
		return false
	}
	rho, t1Bytes := pk[:mlRhoSz], pk[mlRhoSz:]
	ctLen := p.lambda / 4
	ct := sig[:ctLen]
	zLen := mlN * p.zBits / 8
	zBytes, hBytes := sig[ctLen:ctLen+p.l*zLen], sig[ctLen+p.l*zLen:]

	h, ok := hintBitUnpack(hBytes, p)
	if !ok {
		return false
	}
	zHat := make([]poly, p.l)
	for i := range zHat {
		z := unpackBits(zBytes[i*zLen:(i+1)*zLen], p.zBits)
		for j, w := range z {
			c := p.gamma1 - int32(w) // in (−γ1, γ1]
			if c >= p.gamma1-p.beta || -c >= p.gamma1-p.beta {
				return false
			}
			z[j] = uint32((c + mlQ) % mlQ)
		}
		zHat[i] = ntt(z)
	}
	cHat := ntt(sampleInBall(ct, p.tau))

	w1 := make([]byte, 0, p.k*mlN*p.w1Bits/8)
	seed := make([]byte, mlRhoSz+2)
	copy(seed, rho)
	for r := 0; r < p.k; r++ {
		// Â[r]·ẑ − ĉ·NTT(t1[r]·2^d)
		var acc poly
		for s := 0; s < p.l; s++ {
			seed[mlRhoSz], seed[mlRhoSz+1] = byte(s), byte(r)
			a := rejNTTPoly(seed)
			for j := range acc {
				acc[j] = addMod(acc[j], mulMod(a[j], zHat[s][j]))
			}
		}
		t1 := unpackBits(t1Bytes[r*mlT1Sz:(r+1)*mlT1Sz], 10)
		for j := range t1 {
			t1[j] = mulMod(t1[j], 1<<mlD)
		}
		t1Hat := ntt(t1)
		for j := range acc {
			acc[j] = subMod(acc[j], mulMod(cHat[j], t1Hat[j]))
		}
		wApprox := invNTT(acc)
		var bitAcc uint32
		have := 0
		for j := range wApprox {
			bitAcc |= uint32(useHint(h[r][j], wApprox[j], p.gamma2)) << have
			for have += p.w1Bits; have >= 8; have -= 8 {
				w1 = append(w1, byte(bitAcc))
				bitAcc >>= 8
			}
		}
	}

	hash := sha3.NewSHAKE256()
	hash.Write(mu)
	hash.Write(w1)
	got := make([]byte, ctLen)
	hash.Read(got)
	return bytes.Equal(got, ct)
}
