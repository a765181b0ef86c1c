package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	contentType = "application/x-amz-json-1.1"
	userAgent   = "custos-bench"
	service     = "kms"

	// maxSetupReply bounds the replies Run parses during setup.
	maxSetupReply = 1 << 20
	// maxErrorReply bounds how much of an error reply is kept to describe it.
	maxErrorReply = 64 << 10
	// writeBuffer is the size of each connection's write buffer.
	writeBuffer = 16 << 10
)

// benchContext is the encryption context of the Encrypt and Decrypt bodies.
func benchContext() map[string]string { return map[string]string{"purpose": "bench"} }

func knownOp(op string) bool {
	switch op {
	case "Encrypt", "Decrypt", "GenerateDataKey", "GenerateRandom", "DescribeKey", "Sign", "GenerateMac":
		return true
	}
	return false
}

// signingAlgorithm returns the signing algorithm Sign uses with a key of spec:
// RSASSA_PSS_SHA_256 for RSA, the curve's ECDSA, pure Ed25519 or ML-DSA; ""
// for a spec that cannot sign.
func signingAlgorithm(spec string) string {
	switch {
	case strings.HasPrefix(spec, "RSA_"):
		return "RSASSA_PSS_SHA_256"
	case spec == "ECC_NIST_P256", spec == "ECC_SECG_P256K1":
		return "ECDSA_SHA_256"
	case spec == "ECC_NIST_P384":
		return "ECDSA_SHA_384"
	case spec == "ECC_NIST_P521":
		return "ECDSA_SHA_512"
	case spec == "ECC_NIST_EDWARDS25519":
		return "ED25519_SHA_512"
	case strings.HasPrefix(spec, "ML_DSA_"):
		return "ML_DSA_SHAKE_256"
	}
	return ""
}

// macAlgorithm returns the MAC algorithm of an HMAC key spec, or "".
func macAlgorithm(spec string) string {
	switch spec {
	case "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512":
		return "HMAC_SHA_" + strings.TrimPrefix(spec, "HMAC_")
	}
	return ""
}

// call is one prepared request: its X-Amz-Target, its JSON body and the
// hex SHA-256 of that body. It is read-only once made, so workers share it.
type call struct {
	target string
	body   []byte
	hash   string
	// headers holds the unsigned header values, shared read-only by every
	// request made from the call: net/http and the signer only read them.
	headers [3][]string
}

func newCall(op string, body any) (*call, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %s body: %w", op, err)
	}
	sum := sha256.Sum256(b)
	target := "TrentService." + op
	return &call{
		target:  target,
		body:    b,
		hash:    hex.EncodeToString(sum[:]),
		headers: [3][]string{{contentType}, {target}, {userAgent}},
	}, nil
}

// requestBody holds the fields of every request Run sends; []byte fields
// are encoded as base64, as KMS expects.
type requestBody struct {
	KeyId             string            `json:",omitempty"`
	Description       string            `json:",omitempty"`
	Plaintext         []byte            `json:",omitempty"`
	CiphertextBlob    []byte            `json:",omitempty"`
	EncryptionContext map[string]string `json:",omitempty"`
	KeySpec           string            `json:",omitempty"`
	KeyUsage          string            `json:",omitempty"`
	NumberOfBytes     int               `json:",omitempty"`
	Message           []byte            `json:",omitempty"`
	MessageType       string            `json:",omitempty"`
	SigningAlgorithm  string            `json:",omitempty"`
	MacAlgorithm      string            `json:",omitempty"`
}

// generator sends signed requests to one endpoint. Safe for concurrent use.
type generator struct {
	client    *http.Client
	transport *http.Transport
	signer    *v4.Signer
	creds     aws.Credentials
	endpoint  string
	region    string
	sample    atomic.Pointer[string]
}

func newGenerator(cfg Config) *generator {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		// InsecureSkipVerify is the caller's explicit choice, for servers
		// run with a self-signed certificate.
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.Insecure},
		Protocols:           &protocols,
		MaxIdleConns:        cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		MaxConnsPerHost:     cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// Room for the headers and a 4 KiB Encrypt body in base64, so that
		// a request leaves in one write rather than three.
		WriteBufferSize: writeBuffer,
	}
	return &generator{
		client:    &http.Client{Transport: tr},
		transport: tr,
		signer:    v4.NewSigner(),
		creds:     aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretKey},
		endpoint:  cfg.Endpoint,
		region:    cfg.Region,
	}
}

func (g *generator) close() { g.transport.CloseIdleConnections() }

// prepare makes the request the run repeats, creating a key first when
// cfg names none (of cfg.KeySpec for Sign and GenerateMac), and for Decrypt
// encrypting one plaintext of cfg.Size random bytes. It returns the key ID
// used ("" for GenerateRandom).
func (g *generator) prepare(ctx context.Context, cfg Config) (string, *call, error) {
	if cfg.Op == "GenerateRandom" {
		c, err := newCall(cfg.Op, requestBody{NumberOfBytes: cfg.Size})
		return "", c, err
	}
	keyID := cfg.KeyID
	if keyID == "" {
		create := requestBody{Description: "created by custos bench"}
		switch cfg.Op {
		case "Sign":
			create.KeySpec, create.KeyUsage = cfg.KeySpec, "SIGN_VERIFY"
		case "GenerateMac":
			create.KeySpec, create.KeyUsage = cfg.KeySpec, "GENERATE_VERIFY_MAC"
		}
		var err error
		if keyID, err = g.createKey(ctx, create); err != nil {
			return "", nil, err
		}
	}
	var body requestBody
	switch cfg.Op {
	case "Encrypt":
		body = requestBody{KeyId: keyID, Plaintext: randomBytes(cfg.Size), EncryptionContext: benchContext()}
	case "Decrypt":
		blob, err := g.encryptOnce(ctx, keyID, cfg.Size)
		if err != nil {
			return "", nil, err
		}
		body = requestBody{CiphertextBlob: blob, EncryptionContext: benchContext()}
	case "GenerateDataKey":
		body = requestBody{KeyId: keyID, KeySpec: "AES_256"}
	case "DescribeKey":
		body = requestBody{KeyId: keyID}
	case "Sign":
		body = requestBody{KeyId: keyID, Message: randomBytes(cfg.Size), MessageType: "RAW", SigningAlgorithm: signingAlgorithm(cfg.KeySpec)}
	case "GenerateMac":
		body = requestBody{KeyId: keyID, Message: randomBytes(cfg.Size), MacAlgorithm: macAlgorithm(cfg.KeySpec)}
	}
	c, err := newCall(cfg.Op, body)
	return keyID, c, err
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func (g *generator) createKey(ctx context.Context, body requestBody) (string, error) {
	c, err := newCall("CreateKey", body)
	if err != nil {
		return "", err
	}
	var reply struct{ KeyMetadata struct{ KeyId string } }
	if err := g.setup(ctx, c, &reply); err != nil {
		return "", err
	}
	if reply.KeyMetadata.KeyId == "" {
		return "", errors.New("loadgen: CreateKey: reply has no KeyMetadata.KeyId")
	}
	return reply.KeyMetadata.KeyId, nil
}

func (g *generator) encryptOnce(ctx context.Context, keyID string, size int) ([]byte, error) {
	c, err := newCall("Encrypt", requestBody{KeyId: keyID, Plaintext: randomBytes(size), EncryptionContext: benchContext()})
	if err != nil {
		return nil, err
	}
	var reply struct{ CiphertextBlob []byte }
	if err := g.setup(ctx, c, &reply); err != nil {
		return nil, err
	}
	if len(reply.CiphertextBlob) == 0 {
		return nil, errors.New("loadgen: Encrypt: reply has no CiphertextBlob")
	}
	return reply.CiphertextBlob, nil
}

// setup sends c once and decodes a 200 reply into reply. Any other status
// is an error naming the operation and the KMS error type and message.
func (g *generator) setup(ctx context.Context, c *call, reply any) error {
	op := strings.TrimPrefix(c.target, "TrentService.")
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	req, err := g.newRequest(ctx, c)
	if err != nil {
		return err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("loadgen: %s: %w", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSetupReply))
	if err != nil {
		return fmt.Errorf("loadgen: %s: reading reply: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("loadgen: %s: %s", op, describeError(resp.StatusCode, body))
	}
	if err := json.Unmarshal(body, reply); err != nil {
		return fmt.Errorf("loadgen: %s: decoding reply: %w", op, err)
	}
	return nil
}

// newRequest builds and signs the HTTP request for c.
func (g *generator) newRequest(ctx context.Context, c *call) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.endpoint, bytes.NewReader(c.body))
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	req.Header["Content-Type"] = c.headers[0]
	req.Header["X-Amz-Target"] = c.headers[1]
	req.Header["User-Agent"] = c.headers[2]
	if err := g.signer.SignHTTP(ctx, g.creds, req, c.hash, service, g.region, time.Now()); err != nil {
		return nil, fmt.Errorf("loadgen: signing: %w", err)
	}
	return req, nil
}

// outcome is how one measured request ended.
type outcome int

const (
	ok      outcome = iota // 200 reply, read in full
	failed                 // other status, or a transport error
	aborted                // ctx ended while the request was in flight
)

// fire sends c once and returns its latency and outcome. The first failure
// of the run is kept as the error sample.
func (g *generator) fire(ctx context.Context, c *call) (time.Duration, outcome) {
	req, err := g.newRequest(ctx, c)
	if err != nil {
		g.noteError(err.Error())
		return 0, failed
	}
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		return time.Since(start), g.transportFailure(ctx, err)
	}
	if resp.StatusCode != http.StatusOK && g.sample.Load() == nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorReply))
		g.noteError(describeError(resp.StatusCode, body))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	lat := time.Since(start)
	switch {
	case err != nil:
		return lat, g.transportFailure(ctx, err)
	case resp.StatusCode != http.StatusOK:
		return lat, failed
	}
	return lat, ok
}

func (g *generator) transportFailure(ctx context.Context, err error) outcome {
	if ctx.Err() != nil {
		return aborted
	}
	g.noteError(err.Error())
	return failed
}

// noteError keeps s as the error sample if there is none yet.
func (g *generator) noteError(s string) {
	if g.sample.Load() == nil {
		g.sample.CompareAndSwap(nil, &s)
	}
}

func (g *generator) errorSample() string {
	if s := g.sample.Load(); s != nil {
		return *s
	}
	return ""
}
