// Package sigv4 verifies and creates AWS Signature Version 4 signatures on
// HTTP requests.
//
// A [Verifier] checks the Authorization header (or, for presigned URLs, the
// X-Amz-* query parameters) of an incoming request against the request and
// its body, the credential scope and the clock, and reports failures as
// [*Error] values carrying the AWS error code and message to put on the wire.
// [Sign] signs outgoing requests (load generator, tests).
//
// The canonical request follows the AWS rules for every service except S3:
//
//	Method "\n"
//	URI-encode(escaped path)        (each byte outside A-Z a-z 0-9 - . _ ~ and '/' as %XX;
//	                                 the path is taken as sent, so it is encoded twice; no dot-segment removal)
//	canonical query "\n"            (pairs URI-encoded, sorted by key then value, joined by '&')
//	name ":" value "\n" ...         (each signed header, in SignedHeaders order, lowercase name,
//	                                 values trimmed, runs of spaces collapsed, multiple values joined by ',')
//	"\n"
//	signed headers "\n"             (lowercase, ';'-separated)
//	hex(SHA-256(body))              (always the real body hash; UNSIGNED-PAYLOAD is not accepted)
//
// and the string to sign is
//
//	"AWS4-HMAC-SHA256\n" YYYYMMDD'T'HHMMSS'Z' "\n" date/region/service/aws4_request "\n" hex(SHA-256(canonical request))
//
// signed with HMAC-SHA256 under the key derived from the secret by
// HMAC("AWS4"+secret, date) → region → service → "aws4_request".
package sigv4

import (
	"sync"
	"time"
)

// AWS error codes returned in [Error.Code].
const (
	// CodeMissingAuthenticationToken: the request carries no signature at all.
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// CodeIncompleteSignature: the Authorization header or the presign query
	// parameters are malformed or incomplete.
	CodeIncompleteSignature = "IncompleteSignatureException"
	// CodeUnrecognizedClient: the access key id is unknown.
	CodeUnrecognizedClient = "UnrecognizedClientException"
	// CodeInvalidSignature: the signature does not match, is outside the
	// allowed time window, or is scoped to the wrong date, region or service.
	CodeInvalidSignature = "InvalidSignatureException"
)

// Error is a verification failure. Code is the AWS error code to return on
// the wire (one of the Code* constants) and Message the text AWS uses. The
// message never contains secret material; it may echo the access key id,
// dates and scope elements the client sent.
type Error struct {
	Code    string
	Message string
}

// Error returns "sigv4: " followed by the code and the message.
func (e *Error) Error() string {
	return "sigv4: " + e.Code + ": " + e.Message
}

// Lookup returns the secret access key for an access key id, or ok=false if
// the id is unknown. The Verifier does not modify or retain the returned
// slice (it keeps its own copy alongside cached signing keys). It must be
// safe for concurrent use.
type Lookup func(accessKeyID string) (secret []byte, ok bool)

// DefaultSkew is the clock difference AWS allows between a request's
// timestamp and the server's clock.
const DefaultSkew = 5 * time.Minute

// Verifier verifies SigV4-signed requests. It caches derived signing keys.
// It is safe for concurrent use.
type Verifier struct {
	lookup   Lookup
	now      func() time.Time
	skew     time.Duration
	services []string
	cache    keyCache
	pool     sync.Pool // of *scratch
}

// NewVerifier returns a Verifier that resolves access key ids with lookup
// (nil knows no keys), reads the time from now (time.Now if nil), allows skew of clock difference
// (DefaultSkew if skew <= 0) and accepts credential scopes naming one of
// services. The first service is the one named in the "wrong service" error
// message. With no services, every request fails with InvalidSignatureException.
func NewVerifier(lookup Lookup, now func() time.Time, skew time.Duration, services ...string) *Verifier {
	if lookup == nil {
		lookup = func(string) ([]byte, bool) { return nil, false }
	}
	if now == nil {
		now = time.Now
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	return &Verifier{
		lookup:   lookup,
		now:      now,
		skew:     skew,
		services: append([]string(nil), services...),
		cache:    keyCache{m: make(map[cacheKey]cacheEntry)},
	}
}

// Result describes a verified request.
type Result struct {
	AccessKeyID   string
	Region        string    // scope region, exactly as signed
	Service       string    // scope service
	SecurityToken string    // X-Amz-Security-Token if present ("" otherwise); the caller validates it
	Time          time.Time // the request's signing time (X-Amz-Date), UTC
}

// hasService reports whether s is one of the accepted scope services.
func (v *Verifier) hasService(s string) bool {
	for _, a := range v.services {
		if a == s {
			return true
		}
	}
	return false
}
