package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAccessKey = "AKIDLOADGENTEST"
	testSecret    = "loadgen-test-secret"
	testRegion    = "eu-west-3"
	testKeyID     = "1234abcd-12ab-34cd-56ef-1234567890ab"
	testKeyARN    = "arn:aws:kms:eu-west-3:111122223333:key/" + testKeyID
	testBlob      = "opaque ciphertext blob"
)

// fakeKMS answers like KMS for the operations loadgen sends, and checks
// every request: its target and content type, its SigV4 signature (by
// signing it again), and the body fields of each operation. It records the
// first problem it sees rather than failing from the handler goroutines.
type fakeKMS struct {
	size   int    // expected plaintext size, NumberOfBytes or message size
	alg    string // expected signing or MAC algorithm
	failOp string // operation answered with 400 {"__type":"X","message":"m"}

	mu      sync.Mutex
	calls   map[string]int
	created []string // KeySpec/KeyUsage of each CreateKey
	problem string
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

func (f *fakeKMS) complain(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.problem == "" {
		f.problem = fmt.Sprintf(format, args...)
	}
}

func (f *fakeKMS) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.problem != "" {
		t.Errorf("server saw a bad request: %s", f.problem)
	}
}

func (f *fakeKMS) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.complain("reading body: %v", err)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, found := strings.CutPrefix(target, "TrentService.")
	if !found {
		f.complain("X-Amz-Target = %q, want TrentService.*", target)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" || r.Method != http.MethodPost {
		f.complain("%s %s with Content-Type %q, want POST application/x-amz-json-1.1", op, r.Method, got)
	}
	if r.ProtoMajor != 1 {
		f.complain("%s over %s, want HTTP/1.1", op, r.Proto)
	}
	if err := verifySignature(r, body); err != nil {
		f.complain("%s: %v", op, err)
	}
	f.mu.Lock()
	f.calls[op]++
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if op == f.failOp {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"X","message":"m"}`)
		return
	}
	var req struct {
		KeyId             *string
		Plaintext         []byte
		CiphertextBlob    []byte
		EncryptionContext map[string]string
		KeySpec           string
		KeyUsage          string
		NumberOfBytes     int
		Message           []byte
		MessageType       string
		SigningAlgorithm  string
		MacAlgorithm      string
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.complain("%s: body: %v", op, err)
	}
	benchCtx := len(req.EncryptionContext) == 1 && req.EncryptionContext["purpose"] == "bench"
	keyOK := req.KeyId != nil && (*req.KeyId == testKeyID || *req.KeyId == testKeyARN)
	var reply string
	switch op {
	case "CreateKey":
		f.mu.Lock()
		f.created = append(f.created, req.KeySpec+"/"+req.KeyUsage)
		f.mu.Unlock()
		reply = `{"KeyMetadata":{"KeyId":"` + testKeyID + `","Arn":"` + testKeyARN + `"}}`
	case "Sign":
		if !keyOK || len(req.Message) != f.size || req.MessageType != "RAW" || req.SigningAlgorithm != f.alg {
			f.complain("Sign body %s: want KeyId, %d bytes of Message, MessageType RAW, SigningAlgorithm %s", body, f.size, f.alg)
		}
		reply = `{"KeyId":"` + testKeyARN + `","Signature":"AAAA","SigningAlgorithm":"` + req.SigningAlgorithm + `"}`
	case "GenerateMac":
		if !keyOK || len(req.Message) != f.size || req.MacAlgorithm != f.alg {
			f.complain("GenerateMac body %s: want KeyId, %d bytes of Message, MacAlgorithm %s", body, f.size, f.alg)
		}
		reply = `{"KeyId":"` + testKeyARN + `","Mac":"AAAA","MacAlgorithm":"` + req.MacAlgorithm + `"}`
	case "Encrypt":
		if !keyOK || len(req.Plaintext) != f.size || !benchCtx {
			f.complain("Encrypt body %s: want KeyId, %d bytes of Plaintext, context purpose=bench", body, f.size)
		}
		reply = `{"CiphertextBlob":"` + base64.StdEncoding.EncodeToString([]byte(testBlob)) + `","KeyId":"` + testKeyARN + `"}`
	case "Decrypt":
		if req.KeyId != nil || string(req.CiphertextBlob) != testBlob || !benchCtx {
			f.complain("Decrypt body %s: want the blob, context purpose=bench, no KeyId", body)
		}
		reply = `{"Plaintext":"AAAA","KeyId":"` + testKeyARN + `"}`
	case "GenerateDataKey":
		if !keyOK || req.KeySpec != "AES_256" {
			f.complain("GenerateDataKey body %s: want KeyId and KeySpec AES_256", body)
		}
		reply = `{"Plaintext":"AAAA","CiphertextBlob":"AAAA","KeyId":"` + testKeyARN + `"}`
	case "GenerateRandom":
		if req.NumberOfBytes != f.size {
			f.complain("GenerateRandom body %s: want NumberOfBytes %d", body, f.size)
		}
		reply = `{"Plaintext":"AAAA"}`
	case "DescribeKey":
		if !keyOK {
			f.complain("DescribeKey body %s: want KeyId", body)
		}
		reply = `{"KeyMetadata":{"KeyId":"` + testKeyID + `","Arn":"` + testKeyARN + `"}}`
	default:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"UnknownOperationException"}`)
		return
	}
	io.WriteString(w, reply)
}

// verifySignature checks the Authorization header's form and scope, then
// signs a copy of r made of the signed headers only, at the request's
// X-Amz-Date, and compares.
func verifySignature(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	m := authRE.FindStringSubmatch(auth)
	if m == nil {
		return fmt.Errorf("malformed Authorization %q", auth)
	}
	if m[1] != testAccessKey || m[3] != testRegion || m[4] != "kms" {
		return fmt.Errorf("credential scope %q/%q/%q, want %q/%q/kms", m[1], m[3], m[4], testAccessKey, testRegion)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || when.Format("20060102") != m[2] {
		return fmt.Errorf("X-Amz-Date %q does not match scope date %q", r.Header.Get("X-Amz-Date"), m[2])
	}
	if d := time.Since(when); d < -time.Minute || d > time.Minute {
		return fmt.Errorf("X-Amz-Date is %v away from now", d)
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, h := range strings.Split(m[5], ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	again.Header.Del("X-Amz-Date") // the signer sets it from the time
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hashHex(body), "kms", testRegion, when); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("Authorization %q, want %q", auth, want)
	}
	return nil
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func startFake(t *testing.T, f *fakeKMS) string {
	t.Helper()
	f.calls = map[string]int{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func testConfig(endpoint, op string) Config {
	return Config{
		Endpoint:    endpoint,
		Region:      testRegion,
		AccessKeyID: testAccessKey,
		SecretKey:   testSecret,
		Op:          op,
		Concurrency: 4,
		Duration:    300 * time.Millisecond,
	}
}

func checkOrdered(t *testing.T, res Result) {
	t.Helper()
	if !(0 < res.P50 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("percentiles p50 %v p90 %v p99 %v max %v, want 0 < p50 <= p90 <= p99 <= max", res.P50, res.P90, res.P99, res.Max)
	}
}

func TestRunOperations(t *testing.T) {
	tests := []struct {
		name        string
		op          string
		size        int
		keyID       string
		wantSize    int
		wantCreates int
		keySpec     string
		wantAlg     string
		wantCreated string // KeySpec/KeyUsage of the created key
	}{
		{name: "Encrypt default size", op: "Encrypt", wantSize: 4096, wantCreates: 1, wantCreated: "/"},
		{name: "Encrypt given key", op: "Encrypt", size: 100, keyID: testKeyARN, wantSize: 100},
		{name: "Decrypt", op: "Decrypt", size: 64, wantSize: 64, wantCreates: 1},
		{name: "GenerateDataKey", op: "GenerateDataKey", wantCreates: 1},
		{name: "GenerateRandom default size", op: "GenerateRandom", wantSize: 32},
		{name: "GenerateRandom", op: "GenerateRandom", size: 1024, wantSize: 1024},
		{name: "DescribeKey", op: "DescribeKey", keyID: testKeyID},
		{name: "Sign default spec", op: "Sign", wantSize: 256, wantCreates: 1, wantAlg: "ECDSA_SHA_256", wantCreated: "ECC_NIST_P256/SIGN_VERIFY"},
		{name: "Sign RSA", op: "Sign", size: 32, keySpec: "RSA_2048", wantSize: 32, wantCreates: 1, wantAlg: "RSASSA_PSS_SHA_256", wantCreated: "RSA_2048/SIGN_VERIFY"},
		{name: "Sign given Ed25519 key", op: "Sign", keyID: testKeyID, keySpec: "ECC_NIST_EDWARDS25519", wantSize: 256, wantAlg: "ED25519_SHA_512"},
		{name: "Sign P-521", op: "Sign", keySpec: "ECC_NIST_P521", wantSize: 256, wantCreates: 1, wantAlg: "ECDSA_SHA_512", wantCreated: "ECC_NIST_P521/SIGN_VERIFY"},
		{name: "GenerateMac default spec", op: "GenerateMac", wantSize: 256, wantCreates: 1, wantAlg: "HMAC_SHA_256", wantCreated: "HMAC_256/GENERATE_VERIFY_MAC"},
		{name: "GenerateMac HMAC_512", op: "GenerateMac", size: 4096, keySpec: "HMAC_512", wantSize: 4096, wantCreates: 1, wantAlg: "HMAC_SHA_512", wantCreated: "HMAC_512/GENERATE_VERIFY_MAC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeKMS{size: tc.wantSize, alg: tc.wantAlg}
			cfg := testConfig(startFake(t, f), tc.op)
			cfg.Size, cfg.KeyID, cfg.KeySpec = tc.size, tc.keyID, tc.keySpec
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run(%s) error: %v", tc.op, err)
			}
			f.check(t)
			if res.Requests <= 0 || res.Errors != 0 || res.ErrorSample != "" {
				t.Errorf("Run(%s) = %d requests, %d errors (%q), want some requests and no errors", tc.op, res.Requests, res.Errors, res.ErrorSample)
			}
			checkOrdered(t, res)
			if res.Op != tc.op || res.Concurrency != 4 || res.RPS <= 0 || res.Elapsed < cfg.Duration {
				t.Errorf("Run(%s) = op %q, concurrency %d, %v req/s over %v; want op, concurrency 4, positive rate over at least %v", tc.op, res.Op, res.Concurrency, res.RPS, res.Elapsed, cfg.Duration)
			}
			if got := f.count("CreateKey"); got != tc.wantCreates {
				t.Errorf("Run(%s) made %d CreateKey calls, want %d", tc.op, got, tc.wantCreates)
			}
			if tc.wantCreated != "" && (len(f.created) != 1 || f.created[0] != tc.wantCreated) {
				t.Errorf("Run(%s) created keys %q, want one %q", tc.op, f.created, tc.wantCreated)
			}
			wantKey := tc.keyID
			if tc.wantCreates > 0 {
				wantKey = testKeyID
			}
			if res.KeyID != wantKey {
				t.Errorf("Run(%s).KeyID = %q, want %q", tc.op, res.KeyID, wantKey)
			}
			if got := f.count("Encrypt"); tc.op == "Decrypt" && got != 1 {
				t.Errorf("Run(Decrypt) made %d Encrypt calls, want 1", got)
			}
			measured := int64(f.count(tc.op))
			if measured < res.Requests {
				t.Errorf("server saw %d %s calls, fewer than the %d reported", measured, tc.op, res.Requests)
			}
		})
	}
}

func TestRunCountsErrors(t *testing.T) {
	f := &fakeKMS{size: 4096, failOp: "Encrypt"}
	res, err := Run(context.Background(), testConfig(startFake(t, f), "Encrypt"))
	if err != nil {
		t.Fatalf("Run error: %v", err)
	}
	f.check(t)
	if res.Requests <= 0 || res.Errors != res.Requests {
		t.Errorf("Run = %d requests, %d errors, want every request counted as an error", res.Requests, res.Errors)
	}
	if want := "HTTP 400 X: m"; res.ErrorSample != want {
		t.Errorf("Run ErrorSample = %q, want %q", res.ErrorSample, want)
	}
	if s := res.String(); !strings.Contains(s, "first error  HTTP 400 X: m") {
		t.Errorf("Result.String() = %q, want the first error in it", s)
	}
}

func TestRunSetupFailure(t *testing.T) {
	tests := []struct {
		name, op, failOp, want string
	}{
		{name: "CreateKey refused", op: "DescribeKey", failOp: "CreateKey", want: "loadgen: CreateKey: HTTP 400 X: m"},
		{name: "Encrypt for Decrypt refused", op: "Decrypt", failOp: "Encrypt", want: "loadgen: Encrypt: HTTP 400 X: m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeKMS{size: 4096, failOp: tc.failOp}
			_, err := Run(context.Background(), testConfig(startFake(t, f), tc.op))
			if err == nil || err.Error() != tc.want {
				t.Errorf("Run(%s) error = %v, want %q", tc.op, err, tc.want)
			}
			if got := f.count(tc.op); tc.op != tc.failOp && got != 0 {
				t.Errorf("Run(%s) sent %d measured requests after a failed setup, want 0", tc.op, got)
			}
		})
	}
}

func TestRunRequestCap(t *testing.T) {
	f := &fakeKMS{}
	cfg := testConfig(startFake(t, f), "DescribeKey")
	cfg.KeyID, cfg.Requests, cfg.Duration = testKeyID, 50, 10*time.Second
	start := time.Now()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run error: %v", err)
	}
	if res.Requests != 50 || res.Errors != 0 {
		t.Errorf("Run with Requests 50 = %d requests, %d errors, want 50 and 0", res.Requests, res.Errors)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run with Requests 50 took %v, want it to stop at the cap", d)
	}
}

func TestRunCancel(t *testing.T) {
	f := &fakeKMS{}
	cfg := testConfig(startFake(t, f), "DescribeKey")
	cfg.KeyID, cfg.Duration = testKeyID, time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run with a cancelled context error = %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run with a cancelled context took %v, want it to stop soon after", d)
	}
}

func TestRunTransportErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	cfg := testConfig("http://"+addr, "DescribeKey")
	cfg.KeyID, cfg.Concurrency, cfg.Duration = testKeyID, 2, 100*time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run error: %v", err)
	}
	if res.Requests <= 0 || res.Errors != res.Requests || !strings.Contains(res.ErrorSample, "refused") {
		t.Errorf("Run against a closed port = %d requests, %d errors, sample %q; want all failed, connection refused", res.Requests, res.Errors, res.ErrorSample)
	}
}

func TestRunBadConfig(t *testing.T) {
	good := testConfig("http://127.0.0.1:1", "Encrypt")
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{name: "no endpoint", modify: func(c *Config) { c.Endpoint = "" }, want: "loadgen: endpoint"},
		{name: "endpoint without scheme", modify: func(c *Config) { c.Endpoint = "127.0.0.1:4599" }, want: "loadgen: endpoint"},
		{name: "ftp endpoint", modify: func(c *Config) { c.Endpoint = "ftp://host" }, want: "loadgen: endpoint"},
		{name: "endpoint with query", modify: func(c *Config) { c.Endpoint = "http://host/?a=b" }, want: "loadgen: endpoint"},
		{name: "unknown op", modify: func(c *Config) { c.Op = "Verify" }, want: `loadgen: unknown operation "Verify"`},
		{name: "Sign with an HMAC spec", modify: func(c *Config) { c.Op, c.KeySpec = "Sign", "HMAC_256" }, want: `loadgen: key spec "HMAC_256" cannot sign`},
		{name: "GenerateMac with an RSA spec", modify: func(c *Config) { c.Op, c.KeySpec = "GenerateMac", "RSA_2048" }, want: `loadgen: key spec "RSA_2048" is not an HMAC spec`},
		{name: "key spec for Encrypt", modify: func(c *Config) { c.KeySpec = "RSA_2048" }, want: "a key spec is for Sign and GenerateMac only"},
		{name: "lower-case op", modify: func(c *Config) { c.Op = "encrypt" }, want: "loadgen: unknown operation"},
		{name: "no access key", modify: func(c *Config) { c.AccessKeyID = "" }, want: "required"},
		{name: "no secret", modify: func(c *Config) { c.SecretKey = "" }, want: "required"},
		{name: "negative size", modify: func(c *Config) { c.Size = -1 }, want: "negative"},
		{name: "negative duration", modify: func(c *Config) { c.Duration = -time.Second }, want: "negative"},
		{name: "negative requests", modify: func(c *Config) { c.Requests = -1 }, want: "negative"},
		{name: "huge concurrency", modify: func(c *Config) { c.Concurrency = 1 << 20 }, want: "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.modify(&cfg)
			_, err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run(%+v) error = %v, want one containing %q", cfg.Op, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("Run error %q contains the secret key", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := withDefaults(Config{Endpoint: "https://kms.example", AccessKeyID: "a", SecretKey: "s", Op: "Encrypt"})
	if err != nil {
		t.Fatalf("withDefaults error: %v", err)
	}
	if cfg.Region != "us-east-1" || cfg.Size != 4096 || cfg.Concurrency != 64 || cfg.Duration != 10*time.Second || cfg.Requests != 0 {
		t.Errorf("withDefaults = region %q size %d concurrency %d duration %v requests %d, want us-east-1 4096 64 10s 0",
			cfg.Region, cfg.Size, cfg.Concurrency, cfg.Duration, cfg.Requests)
	}
}

func TestResultString(t *testing.T) {
	r := Result{
		Op: "Encrypt", Concurrency: 64, KeyID: testKeyID, Elapsed: 3 * time.Second,
		Requests: 30000, Errors: 2, ErrorSample: "HTTP 400 X: m", RPS: 10000,
		P50: 1234567 * time.Nanosecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: 40 * time.Millisecond,
		ClientCPU: 1500 * time.Millisecond,
	}
	want := "Encrypt  concurrency 64  elapsed 3s\n" +
		"key          " + testKeyID + "\n" +
		"requests     30000  (2 errors)\n" +
		"throughput   10000.0 requests/s\n" +
		"latency      p50 1.235ms  p90 2ms  p99 3ms  max 40ms\n" +
		"client CPU   50.0 µs/request  (1.5s in total)\n" +
		"first error  HTTP 400 X: m\n"
	if got := r.String(); got != want {
		t.Errorf("Result.String() =\n%s\nwant\n%s", got, want)
	}
}

// TestRunReusesConnections checks that the measured requests travel over
// at most Concurrency connections.
func TestRunReusesConnections(t *testing.T) {
	f := &fakeKMS{}
	f.calls = map[string]int{}
	srv := httptest.NewUnstartedServer(f)
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg := testConfig(srv.URL, "DescribeKey")
	cfg.KeyID = testKeyID
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run error: %v", err)
	}
	if n := conns.Load(); n > int64(cfg.Concurrency) || res.Requests < 10 {
		t.Errorf("Run sent %d requests over %d connections, want at most %d connections", res.Requests, n, cfg.Concurrency)
	}
}

func TestRunTLS(t *testing.T) {
	f := &fakeKMS{calls: map[string]int{}}
	srv := httptest.NewUnstartedServer(f)
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()

	cfg := testConfig(srv.URL, "DescribeKey")
	cfg.KeyID = testKeyID
	cfg.Duration = 100 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil || res.Errors != res.Requests || !strings.Contains(res.ErrorSample, "certificate") {
		t.Errorf("Run against a self-signed server without Insecure = %d requests, %d errors (%q), %v; want all failing on the certificate", res.Requests, res.Errors, res.ErrorSample, err)
	}
	cfg.Insecure, cfg.Duration = true, 300*time.Millisecond
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run with Insecure error: %v", err)
	}
	f.check(t)
	if res.Requests <= 0 || res.Errors != 0 {
		t.Errorf("Run with Insecure = %d requests, %d errors (%q), want some requests and no errors", res.Requests, res.Errors, res.ErrorSample)
	}
}
