package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Sign signs r for the given credentials, region and service at time t. It
// sets the X-Amz-Date, X-Amz-Content-Sha256 (the SHA-256 of body in
// lowercase hex), X-Amz-Security-Token (when token is not empty; otherwise it
// removes that header) and Authorization headers, signing host (r.Host, or
// r.URL.Host if empty), content-type and x-amz-target when present,
// x-amz-content-sha256, x-amz-date and x-amz-security-token. body must be the
// exact body r will send. Sign does not retain secret.
func Sign(r *http.Request, body []byte, accessKeyID string, secret []byte, token, region, service string, t time.Time) {
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	amzDate := t.UTC().Format(amzDateLayout)
	sum := sha256.Sum256(body)
	payloadHash := hex.AppendEncode(nil, sum[:])
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Set("X-Amz-Content-Sha256", string(payloadHash))
	names := []string{"host", "x-amz-content-sha256", "x-amz-date"}
	if token != "" {
		r.Header.Set("X-Amz-Security-Token", token)
		names = append(names, "x-amz-security-token")
	} else {
		r.Header.Del("X-Amz-Security-Token")
	}
	for _, optional := range []string{"Content-Type", "X-Amz-Target"} {
		if _, ok := r.Header[optional]; ok {
			names = append(names, strings.ToLower(optional))
		}
	}
	slices.Sort(names)
	signedHeaders := strings.Join(names, ";")

	var path, rawQuery, host string
	if r.URL != nil {
		path, rawQuery, host = r.URL.EscapedPath(), r.URL.RawQuery, r.URL.Host
	}
	if r.Host != "" {
		host = r.Host
	}
	sc := scope{AccessKeyID: accessKeyID, Date: amzDate[:8], Region: region, Service: service, Terminator: terminator}
	var s scratch
	defer s.reset()
	s.appendCanonical(&canonicalRequest{
		method:        r.Method,
		path:          path,
		rawQuery:      rawQuery,
		host:          host,
		header:        r.Header,
		contentLength: r.ContentLength,
		signedHeaders: signedHeaders,
		payloadHash:   payloadHash,
	})
	s.appendStringToSign(amzDate, &sc)
	key := s.deriveKey(secret, sc.Date, region, service)
	mac := hmacMsg(&s, key[:], s.sts)
	r.Header.Set("Authorization", Algorithm+" Credential="+accessKeyID+"/"+sc.Date+"/"+region+"/"+service+"/"+terminator+
		", SignedHeaders="+signedHeaders+", Signature="+hex.EncodeToString(mac[:]))
}
