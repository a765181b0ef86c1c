package sigv4

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// scratch holds the buffers one signature computation needs; Verify takes
// one from a sync.Pool so that a warm verification does not allocate.
type scratch struct {
	canon []byte                // canonical request
	sts   []byte                // string to sign
	mac   []byte                // HMAC inner block
	name  []byte                // canonical MIME form of a header name
	pairs []queryPair           // canonical query parameters
	hash  [2 * sha256.Size]byte // hex SHA-256 of the body
}

// queryPair is one URI-encoded query parameter.
type queryPair struct{ key, value string }

// reset truncates every buffer and wipes the HMAC buffer, which may have
// held key material.
func (s *scratch) reset() {
	clear(s.mac[:cap(s.mac)])
	s.canon, s.sts, s.mac, s.name = s.canon[:0], s.sts[:0], s.mac[:0], s.name[:0]
	clear(s.pairs)
	s.pairs = s.pairs[:0]
}

// canonicalRequest holds what the canonical request is built from.
type canonicalRequest struct {
	method        string
	path          string // escaped path as sent ("" means "/")
	rawQuery      string
	presigned     bool   // drop X-Amz-Signature from the query
	host          string // value of the host header
	header        http.Header
	contentLength int64 // r.ContentLength, used when content-length is signed but not in header
	signedHeaders string
	payloadHash   []byte // lowercase hex
}

// appendCanonical appends the canonical request for c to s.canon, reusing
// s's buffers. Header names from c.signedHeaders are written in lowercase.
func (s *scratch) appendCanonical(c *canonicalRequest) {
	b := s.canon
	if c.method == "" {
		b = append(b, http.MethodGet...)
	} else {
		b = append(b, c.method...)
	}
	b = append(b, '\n')
	if c.path == "" {
		b = append(b, '/')
	} else {
		b = appendURIEncode(b, c.path, false)
	}
	b = append(b, '\n')
	b = s.appendCanonicalQuery(b, c.rawQuery, c.presigned)
	b = append(b, '\n')
	for rest := c.signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		b = appendLower(b, name)
		b = append(b, ':')
		switch {
		case strings.EqualFold(name, "host"):
			b = appendHeaderValue(b, c.host)
		default:
			vals := s.headerValues(c.header, name)
			if vals == nil && strings.EqualFold(name, "content-length") && c.contentLength >= 0 {
				b = strconv.AppendInt(b, c.contentLength, 10)
			}
			for i, v := range vals {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendHeaderValue(b, v)
			}
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = appendLower(b, c.signedHeaders)
	b = append(b, '\n')
	b = append(b, c.payloadHash...)
	s.canon = b
}

// appendStringToSign appends the string to sign for the canonical request
// in s.canon to s.sts.
func (s *scratch) appendStringToSign(amzDate string, sc *scope) {
	b := s.sts
	b = append(b, Algorithm...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, sc.Date...)
	b = append(b, '/')
	b = append(b, sc.Region...)
	b = append(b, '/')
	b = append(b, sc.Service...)
	b = append(b, '/')
	b = append(b, terminator...)
	b = append(b, '\n')
	sum := sha256.Sum256(s.canon)
	b = hex.AppendEncode(b, sum[:])
	s.sts = b
}

// headerValues returns the values of the header called name (any case) in
// h, or nil. It looks the name up in canonical MIME form (the form net/http's
// server and Header.Set use) without allocating; keys stored in another form
// are not found.
func (s *scratch) headerValues(h http.Header, name string) []string {
	k := s.name[:0]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		k = append(k, c)
		upper = c == '-'
	}
	s.name = k
	return h[string(k)]
}

// appendHeaderValue appends v with leading and trailing white space removed
// and each run of spaces inside collapsed to one space.
func appendHeaderValue(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for {
		i := strings.Index(v, "  ")
		if i < 0 {
			return append(b, v...)
		}
		b = append(b, v[:i+1]...)
		v = strings.TrimLeft(v[i+1:], " ")
	}
}

// appendLower appends s with ASCII letters lowercased.
func appendLower(b []byte, s string) []byte {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendCanonicalQuery appends the canonical form of a raw query string:
// each parameter decoded as url.ParseQuery does ('+' is a space; pieces that
// ParseQuery skips, such as those with bad escapes or ';', are skipped),
// re-encoded with appendURIEncode, and sorted by encoded key then value.
// With presigned, X-Amz-Signature is left out.
func (s *scratch) appendCanonicalQuery(b []byte, raw string, presigned bool) []byte {
	if raw == "" {
		return b
	}
	pairs := s.pairs[:0]
	for raw != "" {
		var piece string
		piece, raw, _ = strings.Cut(raw, "&")
		if piece == "" || strings.IndexByte(piece, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		if presigned && key == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, queryPair{uriEncode(key), uriEncode(value)})
	}
	slices.SortFunc(pairs, func(a, b queryPair) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.key...)
		b = append(b, '=')
		b = append(b, p.value...)
	}
	s.pairs = pairs
	return b
}

// isUnreserved reports whether AWS URI encoding leaves c as it is (RFC 3986
// unreserved characters).
func isUnreserved(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~'
}

// appendURIEncode appends s URI-encoded the AWS way: every byte except the
// unreserved characters (and '/', unless encodeSlash) becomes %XX with
// uppercase hex digits.
func appendURIEncode(b []byte, s string, encodeSlash bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (c == '/' && !encodeSlash) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// uriEncode returns s URI-encoded with '/' encoded too, without allocating
// when s needs no encoding.
func uriEncode(s string) string {
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) {
			return string(appendURIEncode(make([]byte, 0, len(s)+16), s, true))
		}
	}
	return s
}
