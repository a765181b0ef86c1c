package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testAKID   = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testBody   = `{"KeyId":"alias/test","Plaintext":"aGVsbG8="}`
)

var testTime = time.Date(2024, 1, 1, 0, 10, 0, 0, time.UTC)

// kmsRequest returns a KMS Encrypt request as the server sees it.
func kmsRequest(body string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4599/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "TrentService.Encrypt")
	r.Header.Set("User-Agent", "test")
	return r
}

// signedKMSRequest returns a KMS request signed with Sign at testTime.
func signedKMSRequest(token string) (*http.Request, []byte) {
	r := kmsRequest(testBody)
	Sign(r, []byte(testBody), testAKID, []byte(testSecret), token, "us-east-1", "kms", testTime)
	return r, []byte(testBody)
}

func testVerifier(now time.Time) *Verifier {
	return NewVerifier(staticLookup(map[string]string{testAKID: testSecret, "AKIDOTHER": "other-secret"}),
		func() time.Time { return now }, 0, "kms", "iam", "sts")
}

// setAuthorization rewrites the Authorization header with strings.Replace.
func setAuthorization(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

func TestVerifyErrors(t *testing.T) {
	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	tests := []struct {
		name     string
		now      time.Time // testTime if zero
		mutate   func(r *http.Request, body *[]byte)
		wantCode string
		wantMsg  string // checked if not empty
	}{
		{
			name:   "valid",
			mutate: func(r *http.Request, body *[]byte) {},
		},
		{
			name:   "unsigned header added",
			mutate: func(r *http.Request, body *[]byte) { r.Header.Set("X-Forwarded-For", "10.0.0.1") },
		},
		{
			name:   "within skew, late",
			now:    testTime.Add(5 * time.Minute),
			mutate: func(r *http.Request, body *[]byte) {},
		},
		{
			name:   "within skew, early",
			now:    testTime.Add(-5 * time.Minute),
			mutate: func(r *http.Request, body *[]byte) {},
		},
		{
			name:     "no Authorization",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Del("Authorization") },
			wantCode: CodeMissingAuthenticationToken,
			wantMsg:  "Missing Authentication Token",
		},
		{
			name:     "SigV2-style Authorization",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Set("Authorization", "AWS AKID:c2lnbmF0dXJl") },
			wantCode: CodeIncompleteSignature,
			wantMsg:  "Unsupported AWS 'algorithm': 'AWS'.",
		},
		{
			name: "algorithm only, no date",
			mutate: func(r *http.Request, body *[]byte) {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256")
				r.Header.Del("X-Amz-Date")
			},
			wantCode: CodeIncompleteSignature,
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
		},
		{
			name:     "missing Signature",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, ", Signature=", ", Sig=") },
			wantCode: CodeIncompleteSignature,
			wantMsg:  "Authorization header requires 'Signature' parameter.",
		},
		{
			name:     "missing SignedHeaders",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "SignedHeaders=", "Signed=") },
			wantCode: CodeIncompleteSignature,
			wantMsg:  "Authorization header requires 'SignedHeaders' parameter.",
		},
		{
			name:     "duplicate Credential",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, ", Signature=", ", Credential=x, Signature=") },
			wantCode: CodeIncompleteSignature,
		},
		{
			name: "two Authorization headers",
			mutate: func(r *http.Request, body *[]byte) {
				r.Header.Add("Authorization", r.Header.Get("Authorization"))
			},
			wantCode: CodeIncompleteSignature,
		},
		{
			name: "header and query signature",
			mutate: func(r *http.Request, body *[]byte) {
				r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			},
			wantCode: CodeIncompleteSignature,
		},
		{
			name:     "no date",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Del("X-Amz-Date") },
			wantCode: CodeIncompleteSignature,
			wantMsg:  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
		},
		{
			name:     "extended ISO date",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Set("X-Amz-Date", "2024-01-01T00:10:00Z") },
			wantCode: CodeIncompleteSignature,
			wantMsg:  "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:10:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name:     "impossible date",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Set("X-Amz-Date", "20240230T001000Z") },
			wantCode: CodeIncompleteSignature,
		},
		{
			name:     "bad Date header",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Del("X-Amz-Date"); r.Header.Set("Date", "yesterday") },
			wantCode: CodeIncompleteSignature,
		},
		{
			name:     "credential with four elements",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "/kms/aws4_request", "/kms") },
			wantCode: CodeIncompleteSignature,
			wantMsg:  "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testAKID + "/20240101/us-east-1/kms'",
		},
		{
			name:     "host not signed",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "host;", "") },
			wantCode: CodeIncompleteSignature,
			wantMsg:  "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:     "empty signed header name",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "host;", "host;;") },
			wantCode: CodeIncompleteSignature,
		},
		{
			name:     "scope date mismatch",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "/20240101/", "/20231231/") },
			wantCode: CodeInvalidSignature,
			wantMsg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20231231' != '20240101', from '20240101T001000Z'.",
		},
		{
			name:     "bad region",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "/us-east-1/", "/US-EAST-1/") },
			wantCode: CodeInvalidSignature,
			wantMsg:  "Credential should be scoped to a valid region. ",
		},
		{
			name:     "wrong service",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "/kms/", "/s3/") },
			wantCode: CodeInvalidSignature,
			wantMsg:  "Credential should be scoped to correct service: 'kms'. ",
		},
		{
			name:     "bad terminator",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, "/aws4_request", "/aws4_reqest") },
			wantCode: CodeInvalidSignature,
			wantMsg:  "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reqest'. ",
		},
		{
			name:     "expired",
			now:      testTime.Add(5*time.Minute + time.Second),
			mutate:   func(r *http.Request, body *[]byte) {},
			wantCode: CodeInvalidSignature,
			wantMsg:  "Signature expired: 20240101T001000Z is now earlier than 20240101T001001Z (20240101T001501Z - 5 min.)",
		},
		{
			name:     "not yet current",
			now:      testTime.Add(-5*time.Minute - time.Second),
			mutate:   func(r *http.Request, body *[]byte) {},
			wantCode: CodeInvalidSignature,
			wantMsg:  "Signature not yet current: 20240101T001000Z is still later than 20240101T000959Z (20240101T000459Z + 5 min.)",
		},
		{
			name:     "unknown access key",
			mutate:   func(r *http.Request, body *[]byte) { setAuthorization(r, testAKID, "AKIDUNKNOWN") },
			wantCode: CodeUnrecognizedClient,
			wantMsg:  "The security token included in the request is invalid.",
		},
		{
			name: "wrong secret",
			mutate: func(r *http.Request, body *[]byte) {
				Sign(r, *body, testAKID, []byte("not the secret"), "", "us-east-1", "kms", testTime)
			},
			wantCode: CodeInvalidSignature,
			wantMsg:  mismatch,
		},
		{
			name: "signed by another key",
			mutate: func(r *http.Request, body *[]byte) {
				Sign(r, *body, "AKIDOTHER", []byte(testSecret), "", "us-east-1", "kms", testTime)
			},
			wantCode: CodeInvalidSignature,
			wantMsg:  mismatch,
		},
		{
			name:     "tampered body",
			mutate:   func(r *http.Request, body *[]byte) { *body = []byte(strings.Replace(testBody, "test", "prod", 1)) },
			wantCode: CodeInvalidSignature,
			wantMsg:  "The provided 'x-amz-content-sha256' header does not match what was computed.",
		},
		{
			name: "tampered body, no payload hash header",
			mutate: func(r *http.Request, body *[]byte) {
				r.Header.Del("X-Amz-Content-Sha256")
				*body = []byte(strings.Replace(testBody, "test", "prod", 1))
			},
			wantCode: CodeInvalidSignature,
			wantMsg:  mismatch,
		},
		{
			name:     "UNSIGNED-PAYLOAD",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") },
			wantCode: CodeInvalidSignature,
		},
		{
			name:     "tampered signed header",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Set("X-Amz-Target", "TrentService.Decrypt") },
			wantCode: CodeInvalidSignature,
			wantMsg:  mismatch,
		},
		{
			name:     "signed header removed",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Del("X-Amz-Target") },
			wantCode: CodeInvalidSignature,
			wantMsg:  mismatch,
		},
		{
			name:     "tampered host",
			mutate:   func(r *http.Request, body *[]byte) { r.Host = "127.0.0.1:4600" },
			wantCode: CodeInvalidSignature,
		},
		{
			name:     "tampered path",
			mutate:   func(r *http.Request, body *[]byte) { r.URL.Path = "/x" },
			wantCode: CodeInvalidSignature,
		},
		{
			name:     "query added",
			mutate:   func(r *http.Request, body *[]byte) { r.URL.RawQuery = "a=b" },
			wantCode: CodeInvalidSignature,
		},
		{
			name:     "tampered method",
			mutate:   func(r *http.Request, body *[]byte) { r.Method = http.MethodPut },
			wantCode: CodeInvalidSignature,
		},
		{
			name: "signature in uppercase",
			mutate: func(r *http.Request, body *[]byte) {
				r.Header.Set("Authorization", upperSignature(r.Header.Get("Authorization")))
			},
			wantCode: CodeInvalidSignature,
		},
		{
			name: "signature truncated",
			mutate: func(r *http.Request, body *[]byte) {
				r.Header.Set("Authorization", r.Header.Get("Authorization")[:len(r.Header.Get("Authorization"))-2])
			},
			wantCode: CodeInvalidSignature,
		},
		{
			name:     "security token added after signing",
			mutate:   func(r *http.Request, body *[]byte) { r.Header.Set("X-Amz-Security-Token", "injected") },
			wantCode: "", // not signed, so allowed: the caller validates the token it gets back
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = testTime
			}
			r, body := signedKMSRequest("")
			tc.mutate(r, &body)
			res, err := testVerifier(now).Verify(r, body)
			if got := code(err); got != tc.wantCode {
				t.Fatalf("Verify(%s) = %v, want code %q", tc.name, err, tc.wantCode)
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Verify(%s) error %T is not *Error", tc.name, err)
				}
				if tc.wantMsg != "" && e.Message != tc.wantMsg {
					t.Errorf("Verify(%s) message = %q, want %q", tc.name, e.Message, tc.wantMsg)
				}
				if !strings.HasPrefix(err.Error(), "sigv4: "+tc.wantCode+": ") {
					t.Errorf("Verify(%s).Error() = %q, want prefix %q", tc.name, err.Error(), "sigv4: "+tc.wantCode+": ")
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Errorf("Verify(%s).Error() contains the secret", tc.name)
				}
				if !cmp.Equal(res, Result{}) {
					t.Errorf("Verify(%s) = %+v with an error, want zero Result", tc.name, res)
				}
				return
			}
			want := Result{AccessKeyID: testAKID, Region: "us-east-1", Service: "kms", Time: testTime, SecurityToken: r.Header.Get("X-Amz-Security-Token")}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("Verify(%s) result mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func upperSignature(authz string) string {
	i := strings.LastIndex(authz, "=")
	return authz[:i+1] + strings.ToUpper(authz[i+1:])
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name, method, url, token, region, service, body string
		header                                          map[string]string
	}{
		{name: "kms encrypt", method: "POST", url: "http://127.0.0.1:4599/", region: "us-east-1", service: "kms", body: testBody,
			header: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.Encrypt"}},
		{name: "kms with session token", method: "POST", url: "http://kms.eu-west-3.amazonaws.com/", token: exampleToken,
			region: "eu-west-3", service: "kms", body: "{}", header: map[string]string{"X-Amz-Target": "TrentService.ListKeys"}},
		{name: "iam form", method: "POST", url: "http://localhost:4599/", region: "us-east-1", service: "iam",
			body: "Action=ListUsers&Version=2010-05-08", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}},
		{name: "sts get with query", method: "GET", url: "http://localhost/?Version=2011-06-15&Action=GetCallerIdentity&x=a%20b+c%2F",
			region: "us-gov-west-1", service: "sts"},
		{name: "odd path", method: "GET", url: "http://localhost/a%20b/c%2Fd/%E1%88%B4/~x", region: "ap-southeast-4", service: "sts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			Sign(r, []byte(tc.body), testAKID, []byte(testSecret), tc.token, tc.region, tc.service, testTime)
			r = overTheWire(t, r)
			res, err := testVerifier(testTime).Verify(r, []byte(tc.body))
			if err != nil {
				t.Fatalf("Verify(Sign(%s)) = %v, want success", tc.name, err)
			}
			want := Result{AccessKeyID: testAKID, Region: tc.region, Service: tc.service, SecurityToken: tc.token, Time: testTime}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("Verify(Sign(%s)) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

// overTheWire writes a client request in HTTP/1.1 wire format and reads it
// back as net/http's server would (Host moves to r.Host, and so on).
func overTheWire(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatalf("writing request: %v", err)
	}
	sr, _ := readRequest(t, buf.String())
	return sr
}

func TestSignHeaders(t *testing.T) {
	r := kmsRequest(testBody)
	r.Header.Set("X-Amz-Security-Token", "stale")
	Sign(r, []byte(testBody), testAKID, []byte(testSecret), "", "us-east-1", "kms", testTime.In(time.FixedZone("X", 3600)))
	sum := sha256.Sum256([]byte(testBody))
	got := map[string]string{}
	for _, k := range []string{"X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token", "Authorization"} {
		got[k] = r.Header.Get(k)
	}
	want := map[string]string{
		"X-Amz-Date":           "20240101T001000Z",
		"X-Amz-Content-Sha256": hex.EncodeToString(sum[:]),
		"X-Amz-Security-Token": "",
		"Authorization": "AWS4-HMAC-SHA256 Credential=" + testAKID + "/20240101/us-east-1/kms/aws4_request, " +
			"SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=",
	}
	sig := got["Authorization"][len(want["Authorization"]):]
	got["Authorization"] = got["Authorization"][:len(want["Authorization"])]
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sign headers mismatch (-want +got):\n%s", diff)
	}
	if len(sig) != 64 || strings.Trim(sig, "0123456789abcdef") != "" {
		t.Errorf("Sign signature = %q, want 64 lowercase hex digits", sig)
	}
}

func TestKeyCache(t *testing.T) {
	secret := testSecret
	var mu sync.Mutex
	v := NewVerifier(func(id string) ([]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		return []byte(secret), id == testAKID
	}, func() time.Time { return testTime }, 0, "kms")

	verify := func(secretUsed string) error {
		r := kmsRequest(testBody)
		Sign(r, []byte(testBody), testAKID, []byte(secretUsed), "", "us-east-1", "kms", testTime)
		_, err := v.Verify(r, []byte(testBody))
		return err
	}
	if err := verify("wrong"); code(err) != CodeInvalidSignature {
		t.Fatalf("Verify(wrong secret) = %v, want %s", err, CodeInvalidSignature)
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("after a failed Verify the cache holds %d keys, want 0", n)
	}
	for range 2 {
		if err := verify(testSecret); err != nil {
			t.Fatalf("Verify(right secret) = %v, want success", err)
		}
	}
	if n := v.cache.len(); n != 1 {
		t.Errorf("after two Verify the cache holds %d keys, want 1", n)
	}

	// Rotate the secret: the cached key must not be served for it.
	mu.Lock()
	secret = "rotated-secret"
	mu.Unlock()
	if err := verify(testSecret); code(err) != CodeInvalidSignature {
		t.Errorf("Verify(old secret after rotation) = %v, want %s", err, CodeInvalidSignature)
	}
	if err := verify("rotated-secret"); err != nil {
		t.Errorf("Verify(new secret after rotation) = %v, want success", err)
	}
}

func TestKeyCacheBound(t *testing.T) {
	c := keyCache{m: make(map[cacheKey]cacheEntry)}
	for i := range maxCachedKeys + 10 {
		c.put(cacheKey{"AKID", "20240101", "us-east-" + strconv.Itoa(i), "kms"}, []byte("s"), [32]byte{})
		if n := c.len(); n > maxCachedKeys {
			t.Fatalf("after %d puts the cache holds %d keys, want at most %d", i+1, n, maxCachedKeys)
		}
	}
	if _, ok := c.get(cacheKey{"AKID", "20240101", "us-east-" + strconv.Itoa(maxCachedKeys+9), "kms"}, []byte("s")); !ok {
		t.Errorf("the most recent key is not cached")
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v := testVerifier(testTime)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				region := "us-east-" + strconv.Itoa((g+i)%3+1)
				body := []byte(testBody + strconv.Itoa(i))
				r := kmsRequest(string(body))
				Sign(r, body, testAKID, []byte(testSecret), "", region, "kms", testTime)
				if _, err := v.Verify(r, body); err != nil {
					t.Errorf("Verify(goroutine %d, request %d) = %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestVerifyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	v := testVerifier(testTime)
	r, body := signedKMSRequest(exampleToken)
	r = overTheWire(t, r)
	if _, err := v.Verify(r, body); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = v.Verify(r, body) }); n != 0 {
		t.Errorf("Verify with a cached key allocates %v times, want 0", n)
	}
}

func TestNewVerifierDefaults(t *testing.T) {
	v := NewVerifier(staticLookup(nil), nil, 0)
	if v.skew != DefaultSkew || v.now == nil {
		t.Errorf("NewVerifier(nil clock, 0 skew) = skew %v, clock set %v; want %v, true", v.skew, v.now != nil, DefaultSkew)
	}
	r, body := signedKMSRequest("")
	_, err := NewVerifier(staticLookup(map[string]string{testAKID: testSecret}), func() time.Time { return testTime }, 0).Verify(r, body)
	if code(err) != CodeInvalidSignature {
		t.Errorf("Verify with no accepted service = %v, want %s", err, CodeInvalidSignature)
	}
}

func TestValidRegion(t *testing.T) {
	tests := map[string]bool{
		"us-east-1": true, "us-gov-west-1": true, "eu-isoe-west-1": true, "cn-north-1": true, "il-central-1": true,
		"ap-southeast-10": true,
		"":                false, "us": false, "us-1": false, "us-east": false, "US-EAST-1": false, "us-east-1a": false,
		"us--east-1": false, "aws-global": false, "u-east-1": false, "use-east-1": false, "us-east-": false, "-us-east-1": false,
		"us-east-1-": false, "us-east-x1": false, strings.Repeat("a", 2) + strings.Repeat("-a", 40) + "-1": false,
	}
	for region, want := range tests {
		if got := validRegion(region); got != want {
			t.Errorf("validRegion(%q) = %v, want %v", region, got, want)
		}
	}
}

func TestParseAmzDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20150830T123600Z", exampleTime, true},
		{"20240229T235959Z", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), true},
		{"20230229T000000Z", time.Time{}, false},
		{"20150830T123600", time.Time{}, false},
		{"20150830T123660Z", time.Time{}, false},
		{"20150830T243600Z", time.Time{}, false},
		{"20151330T123600Z", time.Time{}, false},
		{"20150800T123600Z", time.Time{}, false},
		{"2015083OT123600Z", time.Time{}, false},
		{"+0150830T123600Z", time.Time{}, false},
		{"20150830t123600z", time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := parseAmzDate(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseAmzDate(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in      string
		want    authorization
		wantErr bool
	}{
		{
			in:   "AWS4-HMAC-SHA256 Credential=A/B, SignedHeaders=host;x-amz-date, Signature=abc",
			want: authorization{Credential: "A/B", SignedHeaders: "host;x-amz-date", Signature: "abc"},
		},
		{
			in:   "AWS4-HMAC-SHA256 Signature=abc,Credential=A/B,SignedHeaders=host",
			want: authorization{Credential: "A/B", SignedHeaders: "host", Signature: "abc"},
		},
		{
			in:   "AWS4-HMAC-SHA256 Credential=A/B,\tUnknown=1, x, SignedHeaders=host ",
			want: authorization{Credential: "A/B", SignedHeaders: "host"},
		},
		{in: "AWS4-HMAC-SHA256", want: authorization{}},
		{in: "AWS4-HMAC-SHA256 Credential=", want: authorization{}},
		{in: "AWS4-HMAC-SHA256 Credential=a, Credential=b", wantErr: true},
		{in: "aws4-hmac-sha256 Credential=a", wantErr: true},
		{in: "AWS4-ECDSA-P256-SHA256 Credential=a", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseAuthorization(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("parseAuthorization(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestErrorMessagesBounded(t *testing.T) {
	r, body := signedKMSRequest("")
	long := strings.Repeat("x", 10000)
	r.Header.Set("X-Amz-Date", long)
	_, err := testVerifier(testTime).Verify(r, body)
	if err == nil || len(err.Error()) > 400 {
		t.Errorf("Verify(10000-byte X-Amz-Date) = %v, want a short error", err)
	}
}
