package sigv4

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// benchRequest returns an SDK-signed KMS Encrypt request with a 4 KiB body
// (the base64 of 3 KiB of plaintext in JSON), as the server reads it.
func benchRequest(b *testing.B) (*http.Request, []byte) {
	body := `{"KeyId":"alias/bench","Plaintext":"` + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 3040))) + `"}`
	r := sdkSigned(b, http.MethodPost, "http://127.0.0.1:4599/", body, exampleToken, "us-east-1", "kms", http.Header{
		"Content-Type":          {"application/x-amz-json-1.1"},
		"X-Amz-Target":          {"TrentService.Encrypt"},
		"Amz-Sdk-Invocation-Id": {"4c2b6a2e-0a6e-4d7e-9f6e-7b1c7d1e2f3a"},
		"Amz-Sdk-Request":       {"attempt=1; max=3"},
		"User-Agent":            {"aws-sdk-go-v2/1.30.0 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/kms#1.35.0"},
		"X-Amz-User-Agent":      {"aws-sdk-go-v2/1.30.0"},
	})
	return r, []byte(body)
}

func BenchmarkVerify(b *testing.B) {
	r, body := benchRequest(b)
	b.Logf("body %d bytes, signed headers: %s", len(body), r.Header.Get("Authorization"))
	b.Run("cached-key", func(b *testing.B) {
		v := testVerifier(testTime)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(r, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("derive-key", func(b *testing.B) {
		v := testVerifier(testTime)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			v.cache.mu.Lock()
			clear(v.cache.m)
			v.cache.mu.Unlock()
			if _, err := v.Verify(r, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		v := testVerifier(testTime)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Verify(r, body); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkSign(b *testing.B) {
	_, body := benchRequest(b)
	r := kmsRequest(string(body))
	b.ReportAllocs()
	for b.Loop() {
		Sign(r, body, testAKID, []byte(testSecret), exampleToken, "us-east-1", "kms", testTime)
	}
}
