package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"
)

// The aws-sdk-go-v2 signer is the independent oracle: whatever it signs,
// Verify must accept once the request has crossed the wire.

func sdkCredentials(token string) aws.Credentials {
	return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: token}
}

func hexSHA256(b string) string {
	sum := sha256.Sum256([]byte(b))
	return hex.EncodeToString(sum[:])
}

// sdkSigned returns a request signed by the SDK, as the server reads it.
func sdkSigned(t testing.TB, method, url, body, token, region, service string, header http.Header) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("http.NewRequest(%q): %v", url, err)
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), sdkCredentials(token), r, hexSHA256(body), service, region, testTime); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	return overTheWire(t, r)
}

func TestSDKSignedRequests(t *testing.T) {
	tests := []struct {
		name, method, url, body, token, region, service string
		header                                          http.Header
	}{
		{
			name: "kms encrypt", method: "POST", url: "http://127.0.0.1:4599/", body: testBody, region: "us-east-1", service: "kms",
			header: http.Header{
				"Content-Type":          {"application/x-amz-json-1.1"},
				"X-Amz-Target":          {"TrentService.Encrypt"},
				"Amz-Sdk-Invocation-Id": {"4c2b6a2e-0a6e-4d7e-9f6e-7b1c7d1e2f3a"},
				"Amz-Sdk-Request":       {"attempt=1; max=3"},
				"User-Agent":            {"aws-sdk-go-v2/1.0 os/linux"},
				"X-Amz-User-Agent":      {"aws-sdk-go-v2/1.0"},
				"Accept-Encoding":       {"identity"},
			},
		},
		{
			name: "kms with session token and empty body", method: "POST", url: "http://kms.eu-central-2.amazonaws.com/", token: exampleToken,
			region: "eu-central-2", service: "kms", header: http.Header{"X-Amz-Target": {"TrentService.ListKeys"}},
		},
		{
			name: "iam query form", method: "POST", url: "http://localhost:4599/", body: "Action=ListUsers&Version=2010-05-08",
			region: "us-east-1", service: "iam",
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		},
		{
			name: "query encoding", method: "GET", region: "us-east-1", service: "sts",
			url: "http://localhost/?Action=GetCallerIdentity&b=2&b=1&a=x+y&c=%2F%3D%26&d=&e&%E1%88%B4=%E1%88%B4&f=~-_.&g=%21%2A%27%28%29",
		},
		{
			name: "escaped path", method: "GET", region: "us-east-1", service: "sts",
			url: "http://localhost/a%20b/c%2Fd/%E1%88%B4/~x/(y)/",
		},
		{
			name: "header values with spaces and repeats", method: "POST", url: "http://localhost/", body: "x", region: "us-west-2", service: "kms",
			header: http.Header{
				"X-Custom":  {"  a   b  c  ", "second   value"},
				"X-Quoted":  {`"a   b"`},
				"X-Tabbed":  {"a\tb"},
				"X-Empty":   {""},
				"X-Numbers": {"1", "2", "3"},
			},
		},
		{
			name: "explicit host", method: "POST", url: "http://10.0.0.1:4599/", region: "us-gov-west-1", service: "kms",
			header: http.Header{"X-Amz-Target": {"TrentService.Encrypt"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sdkSigned(t, tc.method, tc.url, tc.body, tc.token, tc.region, tc.service, tc.header)
			res, err := testVerifier(testTime).Verify(r, []byte(tc.body))
			if err != nil {
				t.Fatalf("Verify(SDK-signed %s) = %v, want success\nrequest: %+v", tc.name, err, r)
			}
			want := Result{AccessKeyID: testAKID, Region: tc.region, Service: tc.service, SecurityToken: tc.token, Time: testTime}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("Verify(SDK-signed %s) mismatch (-want +got):\n%s", tc.name, diff)
			}
			if _, err := testVerifier(testTime).Verify(r, []byte(tc.body+" ")); code(err) != CodeInvalidSignature {
				t.Errorf("Verify(SDK-signed %s, body changed) = %v, want %s", tc.name, err, CodeInvalidSignature)
			}
		})
	}
}

// TestSignMatchesSDK checks that Sign produces the same Authorization header
// as the SDK for the same headers.
func TestSignMatchesSDK(t *testing.T) {
	body := testBody
	mk := func() *http.Request {
		r := kmsRequest(body)
		r.Header.Del("User-Agent")
		r.ContentLength = 0 // the SDK signs content-length when positive; Sign does not
		r.Header.Set("X-Amz-Content-Sha256", hexSHA256(body))
		return r
	}
	ours := mk()
	Sign(ours, []byte(body), testAKID, []byte(testSecret), exampleToken, "us-east-1", "kms", testTime)
	sdk := mk()
	if err := v4.NewSigner().SignHTTP(context.Background(), sdkCredentials(exampleToken), sdk, hexSHA256(body), "kms", "us-east-1", testTime); err != nil {
		t.Fatal(err)
	}
	if got, want := ours.Header.Get("Authorization"), sdk.Header.Get("Authorization"); got != want {
		t.Errorf("Sign Authorization = %q, want the SDK's %q", got, want)
	}
}

// sdkPresigned returns a request for a URL presigned by the SDK, as the
// server reads it.
func sdkPresigned(t testing.TB, url, token string, at time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	signedURL, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), sdkCredentials(token), r, hexSHA256(""), "sts", "us-east-1", at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	r, err = http.NewRequest(http.MethodGet, signedURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k != "Host" {
			r.Header[k] = vs
		}
	}
	return overTheWire(t, r)
}

func TestSDKPresigned(t *testing.T) {
	const base = "http://localhost:4599/?Action=GetCallerIdentity&Version=2011-06-15"
	tests := []struct {
		name     string
		url      string
		token    string
		now      time.Time
		wantCode string
		wantMsg  string
	}{
		{name: "fresh", url: base + "&X-Amz-Expires=60", now: testTime.Add(30 * time.Second)},
		{name: "with token", url: base + "&X-Amz-Expires=60", token: exampleToken, now: testTime},
		{name: "default expiry", url: base, now: testTime.Add(14 * time.Minute)},
		{name: "default expiry passed", url: base, now: testTime.Add(16 * time.Minute), wantCode: CodeInvalidSignature},
		{
			name: "expired", url: base + "&X-Amz-Expires=60", now: testTime.Add(61 * time.Second), wantCode: CodeInvalidSignature,
			wantMsg: "Signature expired: 20240101T001000Z is now earlier than 20240101T001001Z (20240101T001101Z - 1 min.)",
		},
		{name: "not yet current", url: base + "&X-Amz-Expires=60", now: testTime.Add(-6 * time.Minute), wantCode: CodeInvalidSignature},
		{name: "expires not a number", url: base + "&X-Amz-Expires=soon", now: testTime, wantCode: CodeIncompleteSignature},
		{name: "expires too long", url: base + "&X-Amz-Expires=604801", now: testTime, wantCode: CodeIncompleteSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sdkPresigned(t, tc.url, tc.token, testTime)
			res, err := testVerifier(tc.now).Verify(r, nil)
			if got := code(err); got != tc.wantCode {
				t.Fatalf("Verify(presigned %s) = %v, want code %q", tc.name, err, tc.wantCode)
			}
			if err != nil {
				if tc.wantMsg != "" && err.(*Error).Message != tc.wantMsg {
					t.Errorf("Verify(presigned %s) message = %q, want %q", tc.name, err.(*Error).Message, tc.wantMsg)
				}
				return
			}
			want := Result{AccessKeyID: testAKID, Region: "us-east-1", Service: "sts", SecurityToken: tc.token, Time: testTime}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("Verify(presigned %s) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestPresignedTampered(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(q string) string
		wantCode string
	}{
		{"action changed", func(q string) string { return strings.Replace(q, "GetCallerIdentity", "AssumeRole", 1) }, CodeInvalidSignature},
		{"parameter added", func(q string) string { return q + "&RoleArn=x" }, CodeInvalidSignature},
		{"signature removed", func(q string) string { return q[:strings.Index(q, "&X-Amz-Signature=")] }, CodeIncompleteSignature},
		{"algorithm changed", func(q string) string { return strings.Replace(q, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1) }, CodeIncompleteSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sdkPresigned(t, "http://localhost:4599/?Action=GetCallerIdentity&Version=2011-06-15", "", testTime)
			r.URL.RawQuery = tc.mutate(r.URL.RawQuery)
			if _, err := testVerifier(testTime).Verify(r, nil); code(err) != tc.wantCode {
				t.Errorf("Verify(presigned, %s) = %v, want %s", tc.name, err, tc.wantCode)
			}
		})
	}
}
