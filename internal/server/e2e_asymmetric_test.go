package server_test

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
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"testing"

	"filippo.io/mldsa"
	mldsax509 "filippo.io/mldsa/x509"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/google/go-cmp/cmp"
)

// signSpecs are every signing key spec with its signing algorithms as AWS lists them.
var signSpecs = []struct {
	spec types.KeySpec
	algs []types.SigningAlgorithmSpec
}{
	{types.KeySpecRsa2048, rsaSigningAlgorithms},
	{types.KeySpecRsa3072, rsaSigningAlgorithms},
	{types.KeySpecRsa4096, rsaSigningAlgorithms},
	{types.KeySpecEccNistP256, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha256}},
	{types.KeySpecEccNistP384, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha384}},
	{types.KeySpecEccNistP521, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha512}},
	{types.KeySpecEccSecgP256k1, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha256}},
	{types.KeySpecEccNistEdwards25519, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEd25519Sha512, types.SigningAlgorithmSpecEd25519PhSha512}},
	{types.KeySpecMlDsa44, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecMlDsaShake256}},
	{types.KeySpecMlDsa65, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecMlDsaShake256}},
	{types.KeySpecMlDsa87, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecMlDsaShake256}},
}

var rsaSigningAlgorithms = []types.SigningAlgorithmSpec{
	types.SigningAlgorithmSpecRsassaPkcs1V15Sha256, types.SigningAlgorithmSpecRsassaPkcs1V15Sha384, types.SigningAlgorithmSpecRsassaPkcs1V15Sha512,
	types.SigningAlgorithmSpecRsassaPssSha256, types.SigningAlgorithmSpecRsassaPssSha384, types.SigningAlgorithmSpecRsassaPssSha512,
}

// messageTypesOf lists the message types an algorithm takes in AWS KMS.
func messageTypesOf(alg types.SigningAlgorithmSpec) []types.MessageType {
	switch alg {
	case types.SigningAlgorithmSpecEd25519Sha512:
		return []types.MessageType{types.MessageTypeRaw}
	case types.SigningAlgorithmSpecEd25519PhSha512:
		return []types.MessageType{types.MessageTypeDigest}
	case types.SigningAlgorithmSpecMlDsaShake256:
		return []types.MessageType{types.MessageTypeRaw, types.MessageTypeExternalMu}
	}
	return []types.MessageType{types.MessageTypeRaw, types.MessageTypeDigest}
}

func hashOf(alg types.SigningAlgorithmSpec) crypto.Hash {
	a := string(alg)
	switch {
	case strings.HasSuffix(a, "_256"):
		return crypto.SHA256
	case strings.HasSuffix(a, "_384"):
		return crypto.SHA384
	}
	return crypto.SHA512
}

func digest(h crypto.Hash, msg []byte) []byte {
	w := h.New()
	w.Write(msg)
	return w.Sum(nil)
}

// mlDSAMu computes ML-DSA's message representative μ of msg under the encoded public key pk, with an empty
// context (FIPS 204, Algorithm 2 and 7).
func mlDSAMu(pk, msg []byte) []byte {
	tr := make([]byte, 64)
	h := sha3.NewSHAKE256()
	h.Write(pk)
	h.Read(tr)
	h = sha3.NewSHAKE256()
	h.Write(tr)
	h.Write([]byte{0, 0})
	h.Write(msg)
	mu := make([]byte, 64)
	h.Read(mu)
	return mu
}

// parseSecp256k1SPKI decodes a secp256k1 SubjectPublicKeyInfo, which crypto/x509 does not know.
func parseSecp256k1SPKI(der []byte) (*secp256k1.PublicKey, error) {
	var spki struct {
		Algorithm struct{ Algorithm, Curve asn1.ObjectIdentifier }
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &spki); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("secp256k1 SPKI: %v", err)
	}
	if !spki.Algorithm.Curve.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 10}) {
		return nil, fmt.Errorf("SPKI curve %v is not secp256k1", spki.Algorithm.Curve)
	}
	return secp256k1.ParsePubKey(spki.PublicKey.Bytes)
}

// verifyOffline verifies a signature of raw (the message before any hashing by the caller) with libraries other
// than Custos uses to sign, from the DER public key alone.
func verifyOffline(spec types.KeySpec, spki []byte, alg types.SigningAlgorithmSpec, raw, sig []byte) error {
	if spec == types.KeySpecEccSecgP256k1 {
		pub, err := parseSecp256k1SPKI(spki)
		if err != nil {
			return err
		}
		s, err := k1ecdsa.ParseDERSignature(sig)
		if err != nil {
			return err
		}
		if !s.Verify(digest(crypto.SHA256, raw), pub) {
			return errors.New("secp256k1 signature does not verify")
		}
		return nil
	}
	key, err := mldsax509.ParsePKIXPublicKey(spki)
	if err != nil {
		return err
	}
	h := hashOf(alg)
	switch pub := key.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(string(alg), "RSASSA_PSS") {
			return rsa.VerifyPSS(pub, h, digest(h, raw), sig, &rsa.PSSOptions{SaltLength: h.Size()})
		}
		return rsa.VerifyPKCS1v15(pub, h, digest(h, raw), sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest(h, raw), sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	case ed25519.PublicKey:
		if alg == types.SigningAlgorithmSpecEd25519Sha512 {
			if !ed25519.Verify(pub, raw, sig) {
				return errors.New("Ed25519 signature does not verify")
			}
			return nil
		}
		// Ed25519ph of the caller's SHA-512 digest: KMS prehashes the digest once more.
		return ed25519.VerifyWithOptions(pub, digest(crypto.SHA512, digest(crypto.SHA512, raw)), sig, &ed25519.Options{Hash: crypto.SHA512})
	case *mldsa.PublicKey:
		return mldsa.Verify(pub, raw, sig, nil)
	}
	return fmt.Errorf("unexpected public key %T", key)
}

// TestSignEveryAlgorithm signs with every signing spec × algorithm × message type through the SDK, verifies each
// signature offline from GetPublicKey's SPKI alone, and with Verify.
func TestSignEveryAlgorithm(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	raw := []byte("Custos end-to-end: the message that is signed")
	for _, ss := range signSpecs {
		created := try(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: ss.spec, KeyUsage: types.KeyUsageTypeSignVerify})).must(t)
		id := created.KeyMetadata.KeyId
		if diff := cmp.Diff(ss.algs, created.KeyMetadata.SigningAlgorithms); diff != "" {
			t.Errorf("%s SigningAlgorithms (-want +got):\n%s", ss.spec, diff)
		}
		pub := try(c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id})).must(t)
		if pub.KeySpec != ss.spec || pub.CustomerMasterKeySpec != types.CustomerMasterKeySpec(ss.spec) || pub.KeyUsage != types.KeyUsageTypeSignVerify ||
			aws.ToString(pub.KeyId) != aws.ToString(created.KeyMetadata.Arn) || !cmp.Equal(pub.SigningAlgorithms, ss.algs) || pub.EncryptionAlgorithms != nil {
			t.Errorf("GetPublicKey(%s) = %+v", ss.spec, pub)
		}
		for _, alg := range ss.algs {
			for _, mt := range messageTypesOf(alg) {
				t.Run(fmt.Sprintf("%s/%s/%s", ss.spec, alg, mt), func(t *testing.T) {
					msg := raw
					switch {
					case mt == types.MessageTypeDigest:
						msg = digest(hashOf(alg), raw)
					case mt == types.MessageTypeExternalMu:
						k, err := mldsax509.ParsePKIXPublicKey(pub.PublicKey)
						if err != nil {
							t.Fatal(err)
						}
						msg = mlDSAMu(k.(*mldsa.PublicKey).Bytes(), raw)
					}
					out, err := c.Sign(ctx, &kms.SignInput{KeyId: id, Message: msg, MessageType: mt, SigningAlgorithm: alg})
					if err != nil {
						t.Fatalf("Sign: %v", err)
					}
					if out.SigningAlgorithm != alg || aws.ToString(out.KeyId) != aws.ToString(created.KeyMetadata.Arn) {
						t.Errorf("Sign = %+v", out)
					}
					if err := verifyOffline(ss.spec, pub.PublicKey, alg, raw, out.Signature); err != nil {
						t.Errorf("offline verification: %v", err)
					}
					v, err := c.Verify(ctx, &kms.VerifyInput{KeyId: id, Message: msg, MessageType: mt, Signature: out.Signature, SigningAlgorithm: alg})
					if err != nil || !v.SignatureValid || v.SigningAlgorithm != alg {
						t.Errorf("Verify = %+v, %v", v, err)
					}
					bad := bytes.Clone(out.Signature)
					bad[len(bad)/2] ^= 1
					_, err = c.Verify(ctx, &kms.VerifyInput{KeyId: id, Message: msg, MessageType: mt, Signature: bad, SigningAlgorithm: alg})
					wantErr[*types.KMSInvalidSignatureException](t, err)
				})
			}
		}
	}
}

// TestVerifyOfflineSignature checks the other direction: a signature made outside Custos over a digest verifies in
// Custos with DIGEST and RAW.
func TestVerifyDigestAndRawAgree(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	id := try(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})).must(t).KeyMetadata.KeyId
	raw := []byte("sign RAW, verify DIGEST")
	sig := try(c.Sign(ctx, &kms.SignInput{KeyId: id, Message: raw, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})).must(t).Signature
	try(c.Verify(ctx, &kms.VerifyInput{KeyId: id, Message: digest(crypto.SHA256, raw), MessageType: types.MessageTypeDigest, Signature: sig, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})).must(t)
	_, err := c.Sign(ctx, &kms.SignInput{KeyId: id, Message: raw[:20], MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantErr[smithy.APIError](t, err, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.")
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: id, Message: raw, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPssSha256})
	wantErr[*types.InvalidKeyUsageException](t, err, "Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256.")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: raw})
	wantErr[*types.InvalidKeyUsageException](t, err, "key usage is SIGN_VERIFY which is not valid for Encrypt.")
}

func TestRSAEncryptionEndToEnd(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	for _, spec := range []types.KeySpec{types.KeySpecRsa2048, types.KeySpecRsa3072} {
		created := try(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeEncryptDecrypt})).must(t)
		id := created.KeyMetadata.KeyId
		pub := try(c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id})).must(t)
		rsaPub, err := x509.ParsePKIXPublicKey(pub.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecRsaesOaepSha1, types.EncryptionAlgorithmSpecRsaesOaepSha256} {
			newHash := map[types.EncryptionAlgorithmSpec]func() hash.Hash{types.EncryptionAlgorithmSpecRsaesOaepSha1: sha1.New, types.EncryptionAlgorithmSpecRsaesOaepSha256: sha256.New}[alg]
			// Encrypted offline with the public key, decrypted in Custos.
			ct, err := rsa.EncryptOAEP(newHash(), rand.Reader, rsaPub.(*rsa.PublicKey), []byte("offline plaintext"), nil)
			if err != nil {
				t.Fatal(err)
			}
			dec := try(c.Decrypt(ctx, &kms.DecryptInput{KeyId: id, CiphertextBlob: ct, EncryptionAlgorithm: alg})).must(t)
			if string(dec.Plaintext) != "offline plaintext" || dec.EncryptionAlgorithm != alg || dec.KeyMaterialId != nil {
				t.Errorf("%s/%s Decrypt = %+v", spec, alg, dec)
			}
			// Encrypted in Custos, decrypted in Custos (the private key never leaves).
			enc := try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("kms plaintext"), EncryptionAlgorithm: alg})).must(t)
			if len(enc.CiphertextBlob) != rsaPub.(*rsa.PublicKey).Size() {
				t.Errorf("%s/%s ciphertext is %d bytes, want the modulus size", spec, alg, len(enc.CiphertextBlob))
			}
			back := try(c.Decrypt(ctx, &kms.DecryptInput{KeyId: id, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: alg})).must(t)
			if string(back.Plaintext) != "kms plaintext" {
				t.Errorf("%s/%s round trip = %q", spec, alg, back.Plaintext)
			}
		}
		limits := map[types.KeySpec][2]int{types.KeySpecRsa2048: {214, 190}, types.KeySpecRsa3072: {342, 318}}[spec]
		try(c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: make([]byte, limits[1]), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})).must(t)
		_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: make([]byte, limits[0]+1), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
		wantErr[smithy.APIError](t, err, "ValidationException", fmt.Sprintf("cannot encrypt data larger than %d bytes.", limits[0]))
		_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
		wantErr[*types.InvalidKeyUsageException](t, err, "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec "+string(spec)+".")
		_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256, EncryptionContext: map[string]string{"a": "b"}})
		wantErr[smithy.APIError](t, err, "ValidationException", "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.")
		_, err = c.Sign(ctx, &kms.SignInput{KeyId: id, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecRsassaPssSha256})
		wantErr[*types.InvalidKeyUsageException](t, err, "key usage is ENCRYPT_DECRYPT which is not valid for Sign.")
	}
}

func TestDeriveSharedSecretEndToEnd(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	for spec, curve := range map[types.KeySpec]ecdh.Curve{types.KeySpecEccNistP256: ecdh.P256(), types.KeySpecEccNistP384: ecdh.P384(), types.KeySpecEccNistP521: ecdh.P521()} {
		created := try(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeKeyAgreement})).must(t)
		if diff := cmp.Diff([]types.KeyAgreementAlgorithmSpec{types.KeyAgreementAlgorithmSpecEcdh}, created.KeyMetadata.KeyAgreementAlgorithms); diff != "" {
			t.Errorf("%s KeyAgreementAlgorithms (-want +got):\n%s", spec, diff)
		}
		id := created.KeyMetadata.KeyId
		pub := try(c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id})).must(t)
		peer, _ := curve.GenerateKey(rand.Reader)
		peerDER, _ := x509.MarshalPKIXPublicKey(peer.PublicKey())
		out := try(c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: id, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: peerDER})).must(t)
		ours, err := x509.ParsePKIXPublicKey(pub.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		ourECDH, _ := ours.(*ecdsa.PublicKey).ECDH()
		want, _ := peer.ECDH(ourECDH)
		if !bytes.Equal(out.SharedSecret, want) || out.KeyOrigin != types.OriginTypeAwsKms || out.KeyAgreementAlgorithm != types.KeyAgreementAlgorithmSpecEcdh {
			t.Errorf("%s DeriveSharedSecret = %+v, want the secret computed offline", spec, out)
		}
		_, err = c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: id, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte("not a key")})
		wantErr[smithy.APIError](t, err, "ValidationException")
		_, err = c.Sign(ctx, &kms.SignInput{KeyId: id, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
		wantErr[*types.InvalidKeyUsageException](t, err, "key usage is KEY_AGREEMENT which is not valid for Sign.")
	}
}

func TestMacEndToEnd(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	for _, tt := range []struct {
		spec types.KeySpec
		alg  types.MacAlgorithmSpec
		size int
	}{
		{types.KeySpecHmac224, types.MacAlgorithmSpecHmacSha224, 28},
		{types.KeySpecHmac256, types.MacAlgorithmSpecHmacSha256, 32},
		{types.KeySpecHmac384, types.MacAlgorithmSpecHmacSha384, 48},
		{types.KeySpecHmac512, types.MacAlgorithmSpecHmacSha512, 64},
	} {
		created := try(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: tt.spec, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})).must(t)
		if diff := cmp.Diff([]types.MacAlgorithmSpec{tt.alg}, created.KeyMetadata.MacAlgorithms); diff != "" {
			t.Errorf("%s MacAlgorithms (-want +got):\n%s", tt.spec, diff)
		}
		id := created.KeyMetadata.KeyId
		mac := try(c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: id, Message: []byte("hello"), MacAlgorithm: tt.alg})).must(t)
		if len(mac.Mac) != tt.size || mac.MacAlgorithm != tt.alg {
			t.Errorf("%s GenerateMac = %+v", tt.spec, mac)
		}
		ok := try(c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: id, Message: []byte("hello"), Mac: mac.Mac, MacAlgorithm: tt.alg})).must(t)
		if !ok.MacValid {
			t.Errorf("%s VerifyMac = %+v", tt.spec, ok)
		}
		_, err := c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: id, Message: []byte("hellO"), Mac: mac.Mac, MacAlgorithm: tt.alg})
		wantErr[*types.KMSInvalidMacException](t, err)
		other := types.MacAlgorithmSpecHmacSha256
		if tt.alg == other {
			other = types.MacAlgorithmSpecHmacSha512
		}
		_, err = c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: id, Message: []byte("hello"), MacAlgorithm: other})
		wantErr[*types.InvalidKeyUsageException](t, err, fmt.Sprintf("Algorithm %s is incompatible with key spec %s.", other, tt.spec))
		_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id})
		wantErr[*types.UnsupportedOperationException](t, err)
	}
}

func TestGenerateDataKeyPairEndToEnd(t *testing.T) {
	e := start(t)
	c := e.client("us-east-1")
	id := try(c.CreateKey(ctx, &kms.CreateKeyInput{})).must(t).KeyMetadata.KeyId
	ec := map[string]string{"use": "pair"}
	for _, spec := range []types.DataKeyPairSpec{types.DataKeyPairSpecRsa2048, types.DataKeyPairSpecEccNistP256, types.DataKeyPairSpecEccNistP384,
		types.DataKeyPairSpecEccNistP521, types.DataKeyPairSpecEccSecgP256k1, types.DataKeyPairSpecEccNistEdwards25519} {
		out := try(c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: id, KeyPairSpec: spec, EncryptionContext: ec})).must(t)
		if out.KeyPairSpec != spec || len(aws.ToString(out.KeyMaterialId)) != 64 {
			t.Errorf("%s GenerateDataKeyPair = %+v", spec, out)
		}
		dec := try(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: ec})).must(t)
		if !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) {
			t.Errorf("%s: Decrypt(PrivateKeyCiphertextBlob) is not PrivateKeyPlaintext", spec)
		}
		if spec == types.DataKeyPairSpecEccSecgP256k1 {
			if _, err := parseSecp256k1SPKI(out.PublicKey); err != nil {
				t.Errorf("%s public key: %v", spec, err)
			}
			continue
		}
		priv, err := x509.ParsePKCS8PrivateKey(out.PrivateKeyPlaintext)
		if err != nil {
			t.Fatalf("%s: PKCS #8: %v", spec, err)
		}
		pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
		if err != nil || !priv.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Errorf("%s: public key does not match the private key (%v)", spec, err)
		}
	}
	without := try(c.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: id, KeyPairSpec: types.DataKeyPairSpecEccNistP256})).must(t)
	if len(without.PrivateKeyCiphertextBlob) == 0 || len(without.PublicKey) == 0 {
		t.Errorf("GenerateDataKeyPairWithoutPlaintext = %+v", without)
	}
	_, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: id, KeyPairSpec: types.DataKeyPairSpecSm2})
	wantErr[*types.UnsupportedOperationException](t, err)
}

// BenchmarkAsymmetricHotPath measures Sign (ECC_NIST_P256, RSA_2048) and GenerateMac through the server's handler,
// as BenchmarkHotPath does for the symmetric operations.
func BenchmarkAsymmetricHotPath(b *testing.B) {
	srv := benchServer(b)
	newKey := func(spec, usage string) string {
		var created struct{ KeyMetadata struct{ KeyId string } }
		call(b, srv, "TrentService.CreateKey", []byte(`{"KeySpec":"`+spec+`","KeyUsage":"`+usage+`"}`), &created)
		return created.KeyMetadata.KeyId
	}
	msg := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 256))
	ecKey, rsaKey, macKey := newKey("ECC_NIST_P256", "SIGN_VERIFY"), newKey("RSA_2048", "SIGN_VERIFY"), newKey("HMAC_256", "GENERATE_VERIFY_MAC")
	for _, tc := range []struct{ name, target, body string }{
		{"SignECCP256", "TrentService.Sign", `{"KeyId":"` + ecKey + `","Message":"` + msg + `","SigningAlgorithm":"ECDSA_SHA_256"}`},
		{"SignRSA2048", "TrentService.Sign", `{"KeyId":"` + rsaKey + `","Message":"` + msg + `","SigningAlgorithm":"RSASSA_PSS_SHA_256"}`},
		{"GenerateMac", "TrentService.GenerateMac", `{"KeyId":"` + macKey + `","Message":"` + msg + `","MacAlgorithm":"HMAC_SHA_256"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := signed(b, tc.target, []byte(tc.body))
			w := &nullWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				req.serve(srv, w)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}
