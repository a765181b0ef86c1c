package keyring

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// The standard library's crypto/x509 knows no secp256k1, so its PKCS #8 and SubjectPublicKeyInfo encodings are made
// here, in the same shape the standard library gives NIST curves:
//
//	SubjectPublicKeyInfo ::= SEQUENCE {
//	    algorithm  SEQUENCE { id-ecPublicKey 1.2.840.10045.2.1, namedCurve secp256k1 1.3.132.0.10 },
//	    subjectPublicKey BIT STRING -- 0x04 || X (32 bytes) || Y (32 bytes)
//	}
//	PrivateKeyInfo ::= SEQUENCE {
//	    version INTEGER 0,
//	    privateKeyAlgorithm SEQUENCE { id-ecPublicKey, namedCurve secp256k1 },
//	    privateKey OCTET STRING -- DER of ECPrivateKey (RFC 5915):
//	        SEQUENCE { version INTEGER 1, privateKey OCTET STRING (32 bytes), publicKey [1] EXPLICIT BIT STRING }
//	}

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

type pkcs8Info struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

var errSecp256k1Material = errors.New("keyring: ECC_SECG_P256K1 key material is not a valid PKCS #8 secp256k1 private key")

func secp256k1Algorithm() pkix.AlgorithmIdentifier {
	params, _ := asn1.Marshal(oidSecp256k1) // cannot fail for a valid OID
	return pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}}
}

func marshalSecp256k1PKCS8(k *secp256k1.PrivateKey) ([]byte, error) {
	priv := k.Key.Bytes()
	defer clear(priv[:])
	pub := k.PubKey().SerializeUncompressed()
	inner, err := asn1.Marshal(ecPrivateKey{Version: 1, PrivateKey: priv[:], PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}})
	if err != nil {
		return nil, err
	}
	defer clear(inner)
	return asn1.Marshal(pkcs8Info{Algorithm: secp256k1Algorithm(), PrivateKey: inner})
}

func parseSecp256k1PKCS8(der []byte) (*secp256k1.PrivateKey, error) {
	var info pkcs8Info
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 || info.Version != 0 ||
		!info.Algorithm.Algorithm.Equal(oidECPublicKey) {
		return nil, errSecp256k1Material
	}
	var curve asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &curve); err != nil || len(rest) != 0 || !curve.Equal(oidSecp256k1) {
		return nil, errSecp256k1Material
	}
	var ec ecPrivateKey
	if rest, err := asn1.Unmarshal(info.PrivateKey, &ec); err != nil || len(rest) != 0 || ec.Version != 1 || len(ec.PrivateKey) != 32 {
		return nil, errSecp256k1Material
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(ec.PrivateKey); overflow || s.IsZero() {
		return nil, errSecp256k1Material
	}
	k := secp256k1.NewPrivateKey(&s)
	if len(ec.PublicKey.Bytes) > 0 && !bytes.Equal(ec.PublicKey.Bytes, k.PubKey().SerializeUncompressed()) {
		return nil, errSecp256k1Material
	}
	return k, nil
}

func marshalSecp256k1SPKI(pub *secp256k1.PublicKey) []byte {
	point := pub.SerializeUncompressed()
	der, _ := asn1.Marshal(subjectPublicKeyInfo{ // cannot fail: fixed shapes
		Algorithm: secp256k1Algorithm(),
		PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
	return der
}

// isSecp256k1SPKI reports whether der is a SubjectPublicKeyInfo naming the secp256k1 curve (which crypto/x509 does
// not parse), so that a peer key on that curve is reported as a mismatch rather than as malformed.
func isSecp256k1SPKI(der []byte) bool {
	var spki subjectPublicKeyInfo
	if rest, err := asn1.Unmarshal(der, &spki); err != nil || len(rest) != 0 || !spki.Algorithm.Algorithm.Equal(oidECPublicKey) {
		return false
	}
	var curve asn1.ObjectIdentifier
	_, err := asn1.Unmarshal(spki.Algorithm.Parameters.FullBytes, &curve)
	return err == nil && curve.Equal(oidSecp256k1)
}

// signSecp256k1 signs a 32-byte digest with RFC 6979 deterministic ECDSA and returns the DER signature (low S).
func signSecp256k1(k *secp256k1.PrivateKey, digest []byte) []byte {
	return ecdsa.Sign(k, digest).Serialize()
}

// verifySecp256k1 verifies a DER ECDSA signature of a 32-byte digest. A high S verifies, as in standard ECDSA.
func verifySecp256k1(pub *secp256k1.PublicKey, digest, sig []byte) bool {
	s, err := ecdsa.ParseDERSignature(sig)
	if err != nil {
		return false
	}
	return s.Verify(digest, pub)
}
