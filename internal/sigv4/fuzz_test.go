package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func FuzzParseAuthorization(f *testing.F) {
	r, _ := signedKMSRequest(exampleToken)
	f.Add(r.Header.Get("Authorization"))
	for _, tc := range suiteVectors {
		f.Add("AWS4-HMAC-SHA256 Credential=" + exampleScope + ", SignedHeaders=" + tc.signedHeaders + ", Signature=" + tc.signature)
	}
	f.Add("AWS4-HMAC-SHA256 Signature=abc,Credential=A/B/C/D/E,SignedHeaders=host")
	f.Add("AWS4-HMAC-SHA256 Credential=a, Credential=b")
	f.Add("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
	f.Add("20150830T123600Z")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if a != (authorization{}) {
				t.Errorf("parseAuthorization(%q) = %+v with error %v, want zero value", h, a, err)
			}
		} else {
			for _, field := range []string{a.Credential, a.SignedHeaders, a.Signature} {
				if !strings.Contains(h, field) || strings.Contains(field, ",") {
					t.Errorf("parseAuthorization(%q) field %q is not a comma-free substring of the input", h, field)
				}
			}
			again, err := parseAuthorization("AWS4-HMAC-SHA256 Credential=" + a.Credential +
				", SignedHeaders=" + a.SignedHeaders + ", Signature=" + a.Signature)
			if err != nil || again != a {
				t.Errorf("parseAuthorization(format(%+v)) = %+v, %v; want the same", a, again, err)
			}
			if sc, err := parseCredential(a.Credential); err == nil {
				joined := strings.Join([]string{sc.AccessKeyID, sc.Date, sc.Region, sc.Service, sc.Terminator}, "/")
				if joined != a.Credential {
					t.Errorf("parseCredential(%q) = %+v, which joins to %q", a.Credential, sc, joined)
				}
			}
			_ = checkSignedHeaders(a.SignedHeaders)
		}
		if d, ok := parseAmzDate(h); ok && d.Format(amzDateLayout) != h {
			t.Errorf("parseAmzDate(%q) = %v, which formats as %q", h, d, d.Format(amzDateLayout))
		}
		validRegion(h)
	})
}

// fuzzRequest builds an in-memory server-side request from fuzzed parts.
func fuzzRequest(path, query, target string, body []byte) *http.Request {
	r := &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: path, RawQuery: query},
		Host:          "localhost:4599",
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {target}},
		ContentLength: int64(len(body)),
	}
	return r
}

func FuzzVerify(f *testing.F) {
	r, body := signedKMSRequest(exampleToken)
	f.Add(r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Content-Sha256"), "/", "", "TrentService.Encrypt", body)
	f.Add(r.Header.Get("Authorization"), "20240101T001000Z", "UNSIGNED-PAYLOAD", "/a b/%41", "b=2&a=1&a=0&c", "", []byte{})
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/kms/aws4_request, SignedHeaders=content-length;host, Signature=00",
		"20240101T001000Z", "", "//", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb", "x", []byte("x"))
	f.Add("", "", "", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fsts%2Faws4_request"+
		"&X-Amz-Date=20240101T001000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=60&X-Amz-Signature=abc", "", []byte(nil))
	f.Fuzz(func(t *testing.T, authz, amzDate, contentSHA, path, query, target string, body []byte) {
		v := testVerifier(testTime)

		// Arbitrary headers must never panic and fail only with an *Error.
		r := fuzzRequest(path, query, target, body)
		r.Header["Authorization"] = []string{authz}
		r.Header["X-Amz-Date"] = []string{amzDate}
		r.Header["X-Amz-Content-Sha256"] = []string{contentSHA}
		if _, err := v.Verify(r, body); err != nil {
			e, ok := err.(*Error)
			if !ok || e.Message == "" {
				t.Fatalf("Verify = %#v, want an *Error with a message", err)
			}
			switch e.Code {
			case CodeMissingAuthenticationToken, CodeIncompleteSignature, CodeUnrecognizedClient, CodeInvalidSignature:
			default:
				t.Fatalf("Verify = %v, want one of the four codes", err)
			}
		}

		// Whatever Sign signs, Verify accepts (unless the query claims to be presigned).
		if strings.Contains(query, "X-Amz-Algorithm=") {
			return
		}
		r = fuzzRequest(path, query, target, body)
		Sign(r, body, testAKID, []byte(testSecret), amzDate, "us-east-1", "kms", testTime)
		res, err := v.Verify(r, body)
		if err != nil {
			t.Fatalf("Verify(Sign(path %q, query %q, target %q)) = %v, want success", path, query, target, err)
		}
		if res.SecurityToken != amzDate {
			t.Errorf("Verify(Sign(token %q)).SecurityToken = %q", amzDate, res.SecurityToken)
		}

		// And so does whatever the SDK signs.
		r = fuzzRequest(path, query, target, body)
		err = v4.NewSigner().SignHTTP(context.Background(), sdkCredentials(""), r, hexSHA256(string(body)), "kms", "us-east-1", testTime)
		if err != nil {
			return
		}
		if _, err := v.Verify(r, body); err != nil {
			t.Fatalf("Verify(SDK-signed path %q, query %q, target %q) = %v, want success", path, query, target, err)
		}
	})
}
