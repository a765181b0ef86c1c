package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultPresignExpiry applies to presigned URLs without X-Amz-Expires.
	defaultPresignExpiry = 15 * time.Minute
	// maxPresignExpiry is the longest X-Amz-Expires AWS accepts (a week).
	maxPresignExpiry = 7 * 24 * time.Hour
	// maxPooledBuffer keeps buffers grown by unusually large requests out
	// of the pool.
	maxPooledBuffer = 64 << 10
)

// signature holds what a request claims about its signature, from the
// Authorization header or the presign query parameters.
type signature struct {
	credential, signedHeaders, signature string
	amzDate                              string // signing time in ISO 8601 basic format
	time                                 time.Time
	token                                string
	presigned                            bool
	expires                              time.Duration // presigned only
}

// Verify checks the SigV4 signature of r against r's method, path, query,
// host (r.Host, or r.URL.Host if empty), the headers named in SignedHeaders,
// and body, the full request body already read by the caller. Header keys
// in r.Header must be in canonical form, as net/http's server and
// Header.Set produce; content-length, when signed but not in r.Header, comes
// from r.ContentLength.
//
// The signature comes from the Authorization header, or from the
// X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders,
// X-Amz-Signature (and optional X-Amz-Expires, default 15 minutes, at most a
// week, and X-Amz-Security-Token) query parameters of a presigned URL. The
// signing time is X-Amz-Date, or for the header form the Date header
// (RFC 1123) when X-Amz-Date is absent. Verify checks, in order: the
// presence and shape of the signature parameters and the date; the
// credential scope (date = the signing day, a well-formed region, an
// accepted service, aws4_request); that host is signed; the clock (within
// skew of now, or for a presigned URL from skew before its date to its
// expiry); the access key id; that an X-Amz-Content-Sha256 header, if
// present, is the body's SHA-256 in lowercase hex (so UNSIGNED-PAYLOAD is
// rejected); and the signature, compared in constant time. The canonical
// request always uses the body's real SHA-256.
//
// A failure is returned as an *Error: MissingAuthenticationTokenException
// when there is no signature at all, IncompleteSignatureException for
// malformed or missing parameters or dates, UnrecognizedClientException for
// an unknown access key id, InvalidSignatureException for a wrong scope, a
// time outside the window, a payload hash mismatch or a wrong signature.
// Verify is safe for concurrent use; with the signing key cached it does not
// allocate for requests without a query string.
func (v *Verifier) Verify(r *http.Request, body []byte) (Result, error) {
	res, err := v.verify(r, body)
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

func (v *Verifier) verify(r *http.Request, body []byte) (Result, *Error) {
	var rawQuery, path, host string
	if r.URL != nil {
		rawQuery, path, host = r.URL.RawQuery, r.URL.EscapedPath(), r.URL.Host
	}
	if r.Host != "" {
		host = r.Host
	}
	authz := r.Header["Authorization"]
	var sig signature
	var err *Error
	switch presign := strings.Contains(rawQuery, "X-Amz-Algorithm="); {
	case len(authz) == 0 && !presign:
		return Result{}, &Error{Code: CodeMissingAuthenticationToken, Message: "Missing Authentication Token"}
	case len(authz) > 0 && presign:
		return Result{}, incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	case len(authz) > 1:
		return Result{}, incomplete("Only one Authorization header may be specified.")
	case presign:
		sig, err = fromQuery(rawQuery)
	default:
		sig, err = fromHeader(r.Header, authz[0])
	}
	if err != nil {
		return Result{}, err
	}

	sc, err := parseCredential(sig.credential)
	if err != nil {
		return Result{}, err
	}
	if err := v.checkScope(sc, sig.amzDate); err != nil {
		return Result{}, err
	}
	if err := checkSignedHeaders(sig.signedHeaders); err != nil {
		return Result{}, err
	}
	if err := v.checkTime(&sig); err != nil {
		return Result{}, err
	}

	secret, ok := v.lookup(sc.AccessKeyID)
	if !ok {
		return Result{}, &Error{Code: CodeUnrecognizedClient, Message: "The security token included in the request is invalid."}
	}

	s, _ := v.pool.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	defer v.release(s)

	sum := sha256.Sum256(body)
	payloadHash := hex.AppendEncode(s.hash[:0], sum[:])
	if h := r.Header["X-Amz-Content-Sha256"]; len(h) > 0 && h[0] != string(payloadHash) {
		return Result{}, invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}

	ck := cacheKey{sc.AccessKeyID, sc.Date, sc.Region, sc.Service}
	key, cached := v.cache.get(ck, secret)
	if !cached {
		key = s.deriveKey(secret, sc.Date, sc.Region, sc.Service)
	}
	s.appendCanonical(&canonicalRequest{
		method:        r.Method,
		path:          path,
		rawQuery:      rawQuery,
		presigned:     sig.presigned,
		host:          host,
		header:        r.Header,
		contentLength: r.ContentLength,
		signedHeaders: sig.signedHeaders,
		payloadHash:   payloadHash,
	})
	s.appendStringToSign(sig.amzDate, &sc)
	mac := hmacMsg(s, key[:], s.sts)
	var want, got [2 * sha256.Size]byte
	hex.Encode(want[:], mac[:])
	if len(sig.signature) != len(got) || subtle.ConstantTimeCompare(want[:], got[:copy(got[:], sig.signature)]) != 1 {
		return Result{}, invalid("The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	if !cached {
		v.cache.put(ck, secret, key)
	}
	return Result{
		AccessKeyID:   sc.AccessKeyID,
		Region:        sc.Region,
		Service:       sc.Service,
		SecurityToken: sig.token,
		Time:          sig.time,
	}, nil
}

// release wipes s and returns it to the pool unless it grew too large.
func (v *Verifier) release(s *scratch) {
	s.reset()
	if cap(s.canon) > maxPooledBuffer || cap(s.sts) > maxPooledBuffer || cap(s.pairs) > maxPooledBuffer/16 {
		return
	}
	v.pool.Put(s)
}

// fromHeader reads the signature from an Authorization header value and
// the X-Amz-Date (or Date) and X-Amz-Security-Token headers.
func fromHeader(h http.Header, authz string) (signature, *Error) {
	a, err := parseAuthorization(authz)
	if err != nil {
		return signature{}, err
	}
	amzDate, date := first(h["X-Amz-Date"]), first(h["Date"])
	if msg := missingMessage(a, amzDate != "" || date != ""); msg != "" {
		return signature{}, incomplete(msg)
	}
	sig := signature{
		credential:    a.Credential,
		signedHeaders: a.SignedHeaders,
		signature:     a.Signature,
		token:         first(h["X-Amz-Security-Token"]),
	}
	if amzDate != "" {
		t, ok := parseAmzDate(amzDate)
		if !ok {
			return signature{}, badDate(amzDate)
		}
		sig.time, sig.amzDate = t, amzDate
		return sig, nil
	}
	t, perr := http.ParseTime(date)
	sig.time = t.UTC()
	sig.amzDate = sig.time.Format(amzDateLayout)
	if perr != nil || len(sig.amzDate) != len(amzDateLayout) {
		return signature{}, badDate(date)
	}
	return sig, nil
}

// fromQuery reads the signature from the X-Amz-* parameters of a presigned URL.
func fromQuery(rawQuery string) (signature, *Error) {
	q, _ := url.ParseQuery(rawQuery) // pieces it cannot parse are left out, as in the canonical query
	var missing strings.Builder
	get := func(name string) string {
		v := first(q[name])
		if v == "" {
			missing.WriteString("AWS query-string parameters must include '" + name + "'. ")
		}
		return v
	}
	alg, cred, sg := get("X-Amz-Algorithm"), get("X-Amz-Credential"), get("X-Amz-Signature")
	sh, amzDate := get("X-Amz-SignedHeaders"), get("X-Amz-Date")
	if missing.Len() > 0 {
		return signature{}, incomplete(missing.String() + "Re-examine the query-string parameters.")
	}
	if alg != Algorithm {
		return signature{}, incomplete("Unsupported AWS 'algorithm': '" + echo(alg) + "'.")
	}
	t, ok := parseAmzDate(amzDate)
	if !ok {
		return signature{}, badDate(amzDate)
	}
	sig := signature{
		credential:    cred,
		signedHeaders: sh,
		signature:     sg,
		amzDate:       amzDate,
		time:          t,
		token:         first(q["X-Amz-Security-Token"]),
		presigned:     true,
		expires:       defaultPresignExpiry,
	}
	if e := first(q["X-Amz-Expires"]); e != "" {
		n, perr := strconv.ParseUint(e, 10, 32)
		switch {
		case perr != nil:
			return signature{}, incomplete("X-Amz-Expires should be a number")
		case n == 0:
			return signature{}, incomplete("X-Amz-Expires must be non-negative")
		case time.Duration(n)*time.Second > maxPresignExpiry:
			return signature{}, incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
		sig.expires = time.Duration(n) * time.Second
	}
	return sig, nil
}

// checkTime checks the signing time against the clock: for a signed header,
// within v.skew either side of now; for a presigned URL, no more than v.skew
// in the future and not past its expiry.
func (v *Verifier) checkTime(sig *signature) *Error {
	now := v.now().UTC()
	window := v.skew
	if sig.presigned {
		window = sig.expires
	}
	if sig.time.Before(now.Add(-window)) {
		return invalid("Signature expired: " + sig.amzDate + " is now earlier than " + now.Add(-window).Format(amzDateLayout) +
			" (" + now.Format(amzDateLayout) + " - " + formatWindow(window) + ".)")
	}
	if sig.time.After(now.Add(v.skew)) {
		return invalid("Signature not yet current: " + sig.amzDate + " is still later than " + now.Add(v.skew).Format(amzDateLayout) +
			" (" + now.Format(amzDateLayout) + " + " + formatWindow(v.skew) + ".)")
	}
	return nil
}

// formatWindow formats a duration as AWS does in time errors: "5 min".
func formatWindow(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return d.String()
}

func badDate(got string) *Error {
	return incomplete("Date must be in ISO-8601 'basic format'. Got '" + echo(got) + "'. See http://en.wikipedia.org/wiki/ISO_8601")
}

// first returns the first of vs, or "".
func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
