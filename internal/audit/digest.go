package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
)

// digestBody is the signed part of a trail digest (see the package doc).
type digestBody struct {
	FirstSeq  uint64    `json:"firstSeq"`
	LastSeq   uint64    `json:"lastSeq"`
	LastHash  string    `json:"lastHash"`
	OldestSeq uint64    `json:"oldestSeq"`
	Time      time.Time `json:"time"`
	Prev      string    `json:"prev"`
	PublicKey string    `json:"publicKey"`
}

// The fixed parts of a signed JSON document: {"digest":BODY,"signature":"SIG"}.
const (
	signedPrefix = `{"digest":`
	signedSep    = `,"signature":"`
	signedSuffix = `"}`
)

// signJSON returns {"digest":body,"signature":"SIG"} (no newline) where SIG
// signs the bytes of body.
func signJSON(key ed25519.PrivateKey, body []byte) []byte {
	sig := ed25519.Sign(key, body)
	out := make([]byte, 0, len(body)+128)
	out = append(out, signedPrefix...)
	out = append(out, body...)
	out = append(out, signedSep...)
	out = base64.StdEncoding.AppendEncode(out, sig)
	out = append(out, signedSuffix...)
	return out
}

var errBadDigest = errors.New("audit: malformed digest")

// openSigned parses a signed JSON document and returns its body if the
// signature verifies under pub. A malformed document wraps errBadDigest; a
// bad signature is errBadSignature.
func openSigned(doc []byte, pub ed25519.PublicKey) ([]byte, error) {
	body, err := splitSigned(doc)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(string(doc[len(signedPrefix)+len(body)+len(signedSep) : len(doc)-len(signedSuffix)]))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: bad signature encoding", errBadDigest)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, body, sig) {
		return nil, errBadSignature
	}
	return body, nil
}

var errBadSignature = errors.New("audit: digest signature does not verify")

// splitSigned returns the body of a signed JSON document without checking
// its signature.
func splitSigned(doc []byte) ([]byte, error) {
	if !bytes.HasPrefix(doc, []byte(signedPrefix)) || !bytes.HasSuffix(doc, []byte(signedSuffix)) {
		return nil, fmt.Errorf("%w: not a signed document", errBadDigest)
	}
	i := bytes.LastIndex(doc, []byte(signedSep))
	if i < len(signedPrefix) || i+len(signedSep) > len(doc)-len(signedSuffix) {
		return nil, fmt.Errorf("%w: no signature", errBadDigest)
	}
	return doc[len(signedPrefix):i], nil
}

// parseDigestBody decodes and checks the shape of a digest body.
func parseDigestBody(body []byte) (digestBody, [sha256.Size]byte, error) {
	var d digestBody
	var h [sha256.Size]byte
	if err := json.Unmarshal(body, &d, json.RejectUnknownMembers(true)); err != nil {
		return d, h, fmt.Errorf("%w: %v", errBadDigest, err)
	}
	if _, err := decodeHash(d.Prev); err != nil {
		return d, h, err
	}
	h, err := decodeHash(d.LastHash)
	if err != nil {
		return d, h, err
	}
	if d.FirstSeq == 0 || d.LastSeq+1 < d.FirstSeq {
		return d, h, fmt.Errorf("%w: bad seq range", errBadDigest)
	}
	return d, h, nil
}

func decodeHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	if len(s) != 2*sha256.Size || !isLowerHex([]byte(s)) {
		return h, fmt.Errorf("%w: bad hash", errBadDigest)
	}
	hex.Decode(h[:], []byte(s))
	return h, nil
}

// KeyFingerprint returns the hex SHA-256 of an Ed25519 public key, the name
// digests give the key that signed them.
func KeyFingerprint(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:])
}

// MarshalPublicKeyPEM returns pub as a PEM "PUBLIC KEY" block (PKIX).
func MarshalPublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("audit: marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" block holding an Ed25519 key.
func ParsePublicKeyPEM(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("audit: no PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("audit: public key is not Ed25519")
	}
	return pub, nil
}
