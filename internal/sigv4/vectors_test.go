package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The credentials, time and scope of the AWS SigV4 test suite
// (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html).
const (
	exampleAKID   = "AKIDEXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	exampleDate   = "20150830T123600Z"
	exampleScope  = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
	// exampleToken is the example session token the test suite signs in post-sts-token.
	exampleToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)

var exampleTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

// staticLookup is a Lookup over a fixed map.
func staticLookup(keys map[string]string) Lookup {
	secrets := make(map[string][]byte, len(keys))
	for id, s := range keys {
		secrets[id] = []byte(s)
	}
	return func(id string) ([]byte, bool) {
		s, ok := secrets[id]
		return s, ok
	}
}

// readRequest parses a raw HTTP/1.1 request as net/http's server would,
// returning the request and its body.
func readRequest(t testing.TB, raw string) (*http.Request, []byte) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("http.ReadRequest(%q): %v", raw, err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("reading body of %q: %v", raw, err)
	}
	return r, body
}

// suiteVectors are requests of the AWS SigV4 test suite with their known
// signatures. The suite's requests with relative or repeated path segments,
// raw non-ASCII paths and obsolete line folding are left out: Verify takes the
// path as sent on the wire and does not normalise it (see package doc).
var suiteVectors = []struct {
	name, request, signedHeaders, signature string
}{
	{
		name:          "get-vanilla",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		name:          "get-vanilla-empty-query-key",
		request:       "GET /?Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
	},
	{
		name:          "get-vanilla-query-order-key-case",
		request:       "GET /?Param2=value2&Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
	},
	{
		name:          "get-slashes (path as normalised by the suite)",
		request:       "GET /example/ HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
	},
	{
		name:          "get-header-key-duplicate",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:value2\r\nMy-Header1:value2\r\nMy-Header1:value1\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;my-header1;x-amz-date",
		signature:     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
	},
	{
		name:          "get-header-value-order",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:value4\r\nMy-Header1:value1\r\nMy-Header1:value3\r\nMy-Header1:value2\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;my-header1;x-amz-date",
		signature:     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
	},
	{
		name:          "get-header-value-trim",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1: value1\r\nMy-Header2: \"a   b   c\"\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;my-header1;my-header2;x-amz-date",
		signature:     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
	},
	{
		name:          "post-vanilla",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
	{
		name:          "post-vanilla-empty-query-value",
		request:       "POST /?Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
	},
	{
		name:          "post-header-key-sort",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:value1\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;my-header1;x-amz-date",
		signature:     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
	},
	{
		name:          "post-header-value-case",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:VALUE1\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;my-header1;x-amz-date",
		signature:     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
	},
	{
		name:          "post-x-www-form-urlencoded",
		request:       "POST / HTTP/1.1\r\nContent-Type:application/x-www-form-urlencoded\r\nContent-Length:13\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n\r\nParam1=value1",
		signedHeaders: "content-type;host;x-amz-date",
		signature:     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
	},
	{
		name:          "post-x-www-form-urlencoded-parameters",
		request:       "POST / HTTP/1.1\r\nContent-Type:application/x-www-form-urlencoded; charset=utf8\r\nContent-Length:13\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n\r\nParam1=value1",
		signedHeaders: "content-type;host;x-amz-date",
		signature:     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
	},
	{
		name:          "post-sts-header-before",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\nX-Amz-Security-Token:" + exampleToken + "\r\n",
		signedHeaders: "host;x-amz-date;x-amz-security-token",
		signature:     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
	},
	{
		name:          "post-sts-header-after (token not signed)",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\nX-Amz-Security-Token:" + exampleToken + "\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
}

// withAuthorization inserts an Authorization header for the test suite's
// credentials into a raw request, ending its header block if needed.
func withAuthorization(raw, signedHeaders, signature string) string {
	head, body, found := strings.Cut(raw, "\r\n\r\n")
	if !found {
		head = strings.TrimSuffix(raw, "\r\n")
	}
	return head + "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + exampleScope +
		", SignedHeaders=" + signedHeaders + ", Signature=" + signature + "\r\n\r\n" + body
}

func suiteVerifier() *Verifier {
	return NewVerifier(staticLookup(map[string]string{exampleAKID: exampleSecret}),
		func() time.Time { return exampleTime }, 0, "service")
}

func TestSuiteVectors(t *testing.T) {
	v := suiteVerifier()
	for _, tc := range suiteVectors {
		t.Run(tc.name, func(t *testing.T) {
			r, body := readRequest(t, withAuthorization(tc.request, tc.signedHeaders, tc.signature))
			res, err := v.Verify(r, body)
			if err != nil {
				t.Fatalf("Verify(%s) = %v, want success", tc.name, err)
			}
			if res.AccessKeyID != exampleAKID || res.Region != "us-east-1" || res.Service != "service" || !res.Time.Equal(exampleTime) {
				t.Errorf("Verify(%s) = %+v, want AKIDEXAMPLE us-east-1 service %v", tc.name, res, exampleTime)
			}
			if want := r.Header.Get("X-Amz-Security-Token"); res.SecurityToken != want {
				t.Errorf("Verify(%s).SecurityToken = %q, want %q", tc.name, res.SecurityToken, want)
			}

			// Any other signature must fail.
			bad := []byte(tc.signature)
			bad[10] ^= 1
			r, body = readRequest(t, withAuthorization(tc.request, tc.signedHeaders, string(bad)))
			if _, err := v.Verify(r, body); code(err) != CodeInvalidSignature {
				t.Errorf("Verify(%s with a flipped signature) = %v, want %s", tc.name, err, CodeInvalidSignature)
			}
		})
	}
}

// TestSuiteDerivedKey pins the signing key derivation to the value of the
// AWS documentation example (secret wJalr...EXAMPLEKEY, 20150830, us-east-1, iam).
func TestSuiteDerivedKey(t *testing.T) {
	var s scratch
	got := s.deriveKey([]byte(exampleSecret), "20150830", "us-east-1", "iam")
	const want = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
	if hex.EncodeToString(got[:]) != want {
		t.Errorf("deriveKey(example, 20150830, us-east-1, iam) = %x, want %s", got, want)
	}
}

// TestDateHeader checks the Date-header fallback against a signature
// computed here with crypto/hmac from a literal canonical request.
func TestDateHeader(t *testing.T) {
	const canonical = "GET\n/\n\ndate:Sun, 30 Aug 2015 12:36:00 GMT\nhost:example.amazonaws.com\n\ndate;host\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sig := referenceSignature(canonical, exampleDate, "20150830/us-east-1/service/aws4_request", exampleSecret, "us-east-1", "service")
	raw := "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nDate:Sun, 30 Aug 2015 12:36:00 GMT\r\n"
	r, body := readRequest(t, withAuthorization(raw, "date;host", sig))
	res, err := suiteVerifier().Verify(r, body)
	if err != nil {
		t.Fatalf("Verify(Date header) = %v, want success", err)
	}
	if !res.Time.Equal(exampleTime) {
		t.Errorf("Verify(Date header).Time = %v, want %v", res.Time, exampleTime)
	}
}

// referenceSignature signs a canonical request the way the AWS
// documentation describes, with crypto/hmac, independently of the package.
func referenceSignature(canonical, amzDate, credScope, secret, region, service string) string {
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	sum := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + credScope + "\n" + hex.EncodeToString(sum[:])
	k := mac([]byte("AWS4"+secret), amzDate[:8])
	k = mac(k, region)
	k = mac(k, service)
	k = mac(k, "aws4_request")
	return hex.EncodeToString(mac(k, sts))
}

// code returns the AWS error code of err, "" for nil, or "not an *Error".
func code(err error) string {
	if err == nil {
		return ""
	}
	e, ok := err.(*Error)
	if !ok {
		return "not an *Error"
	}
	return e.Code
}

func TestHMACMatchesCryptoHMAC(t *testing.T) {
	for _, keyLen := range []int{0, 1, 44, 63, 64, 65, 200} {
		for _, msgLen := range []int{0, 8, 64, 300} {
			key := []byte(strings.Repeat("k", keyLen))
			msg := []byte(strings.Repeat("m", msgLen))
			h := hmac.New(sha256.New, key)
			h.Write(msg)
			var s scratch
			if got := hmacMsg(&s, key, msg); !hmac.Equal(got[:], h.Sum(nil)) {
				t.Errorf("hmacMsg(%d-byte key, %d-byte message) = %x, want %x", keyLen, msgLen, got, h.Sum(nil))
			}
		}
	}
}
