package audit

import (
	"math"
	"regexp"
	"slices"
	"strings"
)

// Kinds of Finding.
const (
	KindEmail        = "email"         // an e-mail address
	KindCardNumber   = "card_number"   // a Luhn-valid payment card number
	KindNationalID   = "national_id"   // a US social security number shape
	KindHighEntropy  = "high_entropy"  // a long random-looking string (a key, token or password)
	KindSensitiveKey = "sensitive_key" // the key's name says it holds a secret
)

// Finding says that the encryption-context entry named Key looks sensitive,
// and why (Kind). It never holds the value or anything derived from it.
type Finding struct {
	Key  string `json:"key"`
	Kind string `json:"kind"`
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	ssnRE   = regexp.MustCompile(`(^|[^0-9\-])([0-9]{3})-([0-9]{2})-([0-9]{4})($|[^0-9\-])`)
)

// sensitiveWords are key-name fragments that say a value is a secret; they
// are matched against the key lower-cased with '-', '_', '.', ' ' removed.
var sensitiveWords = []string{"password", "passwd", "secret", "token", "credential", "apikey", "privatekey"}

// InspectContext returns the entries of an encryption context whose values
// look sensitive (encryption context is logged in plain text), sorted by key
// then kind; nil when none does. It is a pure function, safe for concurrent
// use. A finding names the key and the kind only, never the value.
func InspectContext(ec map[string]string) []Finding {
	var out []Finding
	for k, v := range ec {
		if sensitiveKeyName(k) {
			out = append(out, Finding{Key: k, Kind: KindSensitiveKey})
		}
		if strings.IndexByte(v, '@') >= 0 && emailRE.MatchString(v) {
			out = append(out, Finding{Key: k, Kind: KindEmail})
		}
		if hasCardNumber(v) {
			out = append(out, Finding{Key: k, Kind: KindCardNumber})
		}
		if hasSSN(v) {
			out = append(out, Finding{Key: k, Kind: KindNationalID})
		}
		if hasHighEntropyToken(v) {
			out = append(out, Finding{Key: k, Kind: KindHighEntropy})
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
}

func sensitiveKeyName(k string) bool {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ', ':', '/':
			return -1
		}
		return r
	}, strings.ToLower(k))
	for _, w := range sensitiveWords {
		if strings.Contains(norm, w) {
			return true
		}
	}
	return false
}

// hasCardNumber reports whether v holds 13 to 19 digits, optionally grouped
// by single spaces or dashes, not part of a longer run of digits, starting
// with a card network's first digit (2 to 6) and passing the Luhn check.
func hasCardNumber(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) || (i > 0 && (isDigit(v[i-1]) || isAlnum(v[i-1]))) {
			continue
		}
		var digits []byte
		j := i
		for j < len(v) {
			if isDigit(v[j]) {
				digits = append(digits, v[j])
				j++
				continue
			}
			if (v[j] == ' ' || v[j] == '-') && j+1 < len(v) && isDigit(v[j+1]) {
				j++
				continue
			}
			break
		}
		if j < len(v) && isAlnum(v[j]) {
			i = j
			continue
		}
		if len(digits) >= 13 && len(digits) <= 19 && digits[0] >= '2' && digits[0] <= '6' && luhn(digits) {
			return true
		}
		i = j
	}
	return false
}

func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// hasSSN reports whether v holds a US social security number AAA-GG-SSSS
// with a valid area (not 000, 666 or 9xx), group (not 00) and serial (not
// 0000).
func hasSSN(v string) bool {
	if strings.IndexByte(v, '-') < 0 {
		return false
	}
	for _, m := range ssnRE.FindAllStringSubmatch(v, -1) {
		area, group, serial := m[2], m[3], m[4]
		if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
			continue
		}
		return true
	}
	return false
}

// hasHighEntropyToken reports whether v holds a long random-looking token
// (a key, token or password) among its runs of base64 characters
// [A-Za-z0-9+/=_-]: either at least 40 hex digits in a row with an entropy of
// at least 3 bits per character, or a token of at least 32 characters with
// letters and digits, at least 8 letters outside a-f (so hex ids with dashes,
// like UUIDs and key ids, do not count), an entropy of at least 4 bits per
// character, and at most 30% of it in word-like runs (four or more lower-case
// letters, or a capital and three or more), which keeps paths, names and
// identifiers out.
func hasHighEntropyToken(v string) bool {
	start := -1
	for i := 0; i <= len(v); i++ {
		if i < len(v) && isTokenChar(v[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 32 && randomLooking(v[start:i]) {
			return true
		}
		start = -1
	}
	return false
}

func randomLooking(tok string) bool {
	letters, digits, nonHex := 0, 0, 0
	runStart := 0
	for i := 0; i <= len(tok); i++ {
		if i < len(tok) && isHexDigit(tok[i]) {
			continue
		}
		if i-runStart >= 40 && entropy(tok[runStart:i]) >= 3.0 {
			return true
		}
		runStart = i + 1
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case isDigit(c):
			digits++
		case isLower(c) || isUpper(c):
			letters++
			if !isHexDigit(c) {
				nonHex++
			}
		}
	}
	return letters > 0 && digits > 0 && nonHex >= 8 && entropy(tok) >= 4.0 && wordCover(tok) <= 0.3
}

// wordCover returns the fraction of s in word-like runs: four or more
// lower-case letters, or a capital followed by three or more.
func wordCover(s string) float64 {
	covered := 0
	for i := 0; i < len(s); {
		j := i
		if isUpper(s[j]) {
			j++
		}
		k := j
		for k < len(s) && isLower(s[k]) {
			k++
		}
		if k-j >= 4 || (j > i && k-j >= 3) {
			covered += k - i
			i = k
			continue
		}
		i++
	}
	return float64(covered) / float64(len(s))
}

func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isAlnum(c byte) bool { return isDigit(c) || isLower(c) || isUpper(c) }

func isHexDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isTokenChar(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '-'
}
