package sigv4

import (
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted and produced.
const Algorithm = "AWS4-HMAC-SHA256"

const (
	terminator = "aws4_request"
	// amzDateLayout is ISO 8601 basic format, as in X-Amz-Date.
	amzDateLayout = "20060102T150405Z"
	// maxEcho bounds how much client-supplied text an error message repeats.
	maxEcho = 128
)

// authorization holds the parameters of an Authorization header, each a
// substring of the header value; a missing parameter is "".
type authorization struct {
	Credential    string // <access key id>/<date>/<region>/<service>/aws4_request
	SignedHeaders string // h1;h2;...
	Signature     string // lowercase hex HMAC
}

// parseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=<cred>, SignedHeaders=<names>, Signature=<hex>
//
// Parameters are separated by commas, each optionally surrounded by spaces or
// tabs, in any order; unknown parameters are ignored and a parameter with an
// empty value counts as missing. It returns an IncompleteSignatureException
// *Error if the algorithm is not AWS4-HMAC-SHA256 or a parameter appears
// twice. Missing parameters are not an error here: see missingMessage.
func parseAuthorization(h string) (authorization, *Error) {
	var a authorization
	alg, rest, _ := strings.Cut(strings.TrimLeft(h, " \t"), " ")
	if alg != Algorithm {
		return a, incomplete("Unsupported AWS 'algorithm': '" + echo(alg) + "'.")
	}
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		name, value, ok := strings.Cut(strings.Trim(part, " \t"), "=")
		if !ok {
			continue
		}
		var field *string
		switch name {
		case "Credential":
			field = &a.Credential
		case "SignedHeaders":
			field = &a.SignedHeaders
		case "Signature":
			field = &a.Signature
		default:
			continue
		}
		if *field != "" {
			return authorization{}, incomplete("Authorization header has duplicate '" + name + "' parameter.")
		}
		*field = value
	}
	return a, nil
}

// missingMessage returns AWS's IncompleteSignatureException text listing
// what an Authorization header lacks, or "" if nothing is missing.
func missingMessage(a authorization, haveDate bool) string {
	var b strings.Builder
	add := func(s string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	if a.Credential == "" {
		add("Authorization header requires 'Credential' parameter.")
	}
	if a.Signature == "" {
		add("Authorization header requires 'Signature' parameter.")
	}
	if a.SignedHeaders == "" {
		add("Authorization header requires 'SignedHeaders' parameter.")
	}
	if !haveDate {
		add("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	return b.String()
}

// scope is a parsed credential: <access key id>/<date>/<region>/<service>/<terminator>.
type scope struct {
	AccessKeyID, Date, Region, Service, Terminator string
}

// parseCredential splits a credential into its five slash-separated
// elements, returning an IncompleteSignatureException *Error if there are
// not exactly five. The elements themselves are checked by checkScope.
func parseCredential(c string) (scope, *Error) {
	var p [5]string
	rest := c
	for i := range 4 {
		var ok bool
		p[i], rest, ok = strings.Cut(rest, "/")
		if !ok {
			return scope{}, badCredential(c)
		}
	}
	if strings.IndexByte(rest, '/') >= 0 {
		return scope{}, badCredential(c)
	}
	p[4] = rest
	return scope{AccessKeyID: p[0], Date: p[1], Region: p[2], Service: p[3], Terminator: p[4]}, nil
}

func badCredential(c string) *Error {
	return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + echo(c) + "'")
}

// checkScope checks a credential scope against the request's date (in ISO
// 8601 basic format) and the accepted services, returning an
// InvalidSignatureException *Error describing the first problem.
func (v *Verifier) checkScope(s scope, amzDate string) *Error {
	if s.Date != amzDate[:8] {
		return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			echo(s.Date) + "' != '" + amzDate[:8] + "', from '" + amzDate + "'.")
	}
	if !validRegion(s.Region) {
		return invalid("Credential should be scoped to a valid region. ")
	}
	if !v.hasService(s.Service) {
		want := ""
		if len(v.services) > 0 {
			want = v.services[0]
		}
		return invalid("Credential should be scoped to correct service: '" + want + "'. ")
	}
	if s.Terminator != terminator {
		return invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '" + echo(s.Terminator) + "'. ")
	}
	return nil
}

// validRegion reports whether s looks like an AWS region name: two lowercase
// letters, one or more "-letters" groups, then "-digits" (us-east-1,
// us-gov-west-1, eu-isoe-west-1), at most 64 bytes.
func validRegion(s string) bool {
	if len(s) > 64 || len(s) < 2 || !isLower(s[0]) || !isLower(s[1]) {
		return false
	}
	rest := s[2:]
	groups := 0
	for {
		if rest == "" || rest[0] != '-' {
			return false
		}
		rest = rest[1:]
		n := 0
		for n < len(rest) && isLower(rest[n]) {
			n++
		}
		if n == 0 {
			break
		}
		groups++
		rest = rest[n:]
	}
	if groups == 0 || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// parseAmzDate parses an ISO 8601 basic-format UTC time (YYYYMMDD'T'HHMMSS'Z'),
// rejecting anything else, including out-of-range fields.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(amzDateLayout) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(4, 2), num(6, 2)
	hour, minute, sec := num(9, 2), num(11, 2), num(13, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // e.g. February 30
	}
	return t, true
}

// checkSignedHeaders checks a SignedHeaders value: non-empty names made of
// HTTP token characters separated by single semicolons, one of them "host".
func checkSignedHeaders(sh string) *Error {
	host := false
	for rest := sh; ; {
		name, more, found := strings.Cut(rest, ";")
		if name == "" {
			return incomplete("Authorization header has an invalid 'SignedHeaders' parameter.")
		}
		for i := 0; i < len(name); i++ {
			if !isTokenChar(name[i]) {
				return incomplete("Authorization header has an invalid 'SignedHeaders' parameter.")
			}
		}
		if strings.EqualFold(name, "host") {
			host = true
		}
		if !found {
			break
		}
		rest = more
	}
	if !host {
		return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return nil
}

// isTokenChar reports whether c may appear in an HTTP header name (RFC 9110 tchar).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func incomplete(msg string) *Error { return &Error{Code: CodeIncompleteSignature, Message: msg} }
func invalid(msg string) *Error    { return &Error{Code: CodeInvalidSignature, Message: msg} }

// echo bounds client-supplied text repeated in an error message.
func echo(s string) string {
	if len(s) > maxEcho {
		return s[:maxEcho] + "..."
	}
	return s
}
