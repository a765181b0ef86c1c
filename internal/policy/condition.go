package policy

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opClass is the family of a condition operator; negation, IfExists and the
// set qualifiers are recorded beside it.
type opClass uint8

const (
	opStringEquals opClass = iota
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opArnLike
	opNull
)

// operators maps each base operator name (without set qualifier and
// IfExists) to its class and whether it is the negated form.
var operators = map[string]struct {
	class   opClass
	negated bool
}{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEquals, false},
	"NumericNotEquals":          {opNumericEquals, true},
	"NumericLessThan":           {opNumericLessThan, false},
	"NumericLessThanEquals":     {opNumericLessThanEquals, false},
	"NumericGreaterThan":        {opNumericGreaterThan, false},
	"NumericGreaterThanEquals":  {opNumericGreaterThanEquals, false},
	"DateEquals":                {opDateEquals, false},
	"DateNotEquals":             {opDateEquals, true},
	"DateLessThan":              {opDateLessThan, false},
	"DateLessThanEquals":        {opDateLessThanEquals, false},
	"DateGreaterThan":           {opDateGreaterThan, false},
	"DateGreaterThanEquals":     {opDateGreaterThanEquals, false},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opBinaryEquals, false},
	"IpAddress":                 {opIPAddress, false},
	"NotIpAddress":              {opIPAddress, true},
	"ArnEquals":                 {opArnLike, false},
	"ArnLike":                   {opArnLike, false},
	"ArnNotEquals":              {opArnLike, true},
	"ArnNotLike":                {opArnLike, true},
	"Null":                      {opNull, false},
}

type setOp uint8

const (
	setNone setOp = iota
	setForAnyValue
	setForAllValues
)

// condition is one operator-key test: "StringEquals": {"kms:CallerAccount": [...]}.
type condition struct {
	op       string // as written, e.g. "ForAnyValue:StringNotLikeIfExists"
	class    opClass
	negated  bool
	ifExists bool
	set      setOp
	key      string // as written
	values   []condValue
}

// condValue is one policy value, pre-parsed for its operator. ok is false
// when the value cannot be read as its operator's type (a non-numeric value
// of NumericEquals, say): such a value matches no request value. Parse
// rejects bad dates, as IAM does ("failed legacy parsing"), but accepts bad
// numbers, addresses and base64. UNCERTAIN: AWS may reject those too.
type condValue struct {
	raw  string
	pat  pattern    // string operators, Bool
	arn  arnPattern // Arn operators
	num  float64
	t    instant
	ip   netip.Prefix
	bin  []byte
	flag bool // Null: true means "the key must be absent"
	ok   bool
}

// parseOperator splits an operator name into its parts. It returns false for
// names that are not AWS condition operators.
func parseOperator(name string) (c condition, ok bool) {
	c.op = name
	base := name
	if rest, found := strings.CutPrefix(base, "ForAnyValue:"); found {
		c.set, base = setForAnyValue, rest
	} else if rest, found := strings.CutPrefix(base, "ForAllValues:"); found {
		c.set, base = setForAllValues, rest
	}
	if rest, found := strings.CutSuffix(base, "IfExists"); found && rest != "Null" {
		c.ifExists, base = true, rest
	}
	o, found := operators[base]
	if !found {
		return c, false
	}
	c.class, c.negated = o.class, o.negated
	return c, true
}

// compileValue pre-parses one policy value for c's operator. vars says whether
// policy variables are substituted (2012-10-17 policies).
func (c *condition) compileValue(s string, vars bool) condValue {
	v := condValue{raw: s, ok: true}
	switch c.class {
	case opStringEquals, opStringEqualsIgnoreCase:
		v.pat = compilePattern(s, false, vars)
	case opStringLike:
		v.pat = compilePattern(s, true, vars)
	case opBool:
		// The operator reference allows variables here; the variables page
		// says it does not. Substituting is the lenient reading.
		v.pat = compilePattern(s, false, vars)
	case opArnLike:
		v.arn = compileARNPattern(s, vars)
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		v.num, v.ok = parseNumber(s)
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		v.t, v.ok = parseDate(s)
	case opIPAddress:
		v.ip, v.ok = parseCIDR(s)
	case opBinaryEquals:
		b, err := base64.StdEncoding.DecodeString(s)
		v.bin, v.ok = b, err == nil
	case opNull:
		switch strings.ToLower(s) {
		case "true":
			v.flag = true
		case "false":
		default:
			v.ok = false
		}
	}
	return v
}

// eval evaluates the condition against ctx with AWS's rules:
//   - a missing key (or one with no values) makes the test false, except that
//     negated operators are then true, ...IfExists operators are true,
//     ForAllValues is true and ForAnyValue is false; Null tests presence;
//   - the values of one key are ORed (NORed for negated operators);
//   - without a set qualifier, a multivalued key matches when any of its
//     values matches (and a negated operator when none does). UNCERTAIN:
//     AWS only says multivalued keys "require" a set operator; this reading
//     keeps every negated operator the exact negation of its positive form;
//   - ForAnyValue: some request value passes the operator; ForAllValues:
//     every request value does.
func (c *condition) eval(ctx *Context) bool {
	vals, _ := ctx.Get(c.key)
	if c.class == opNull {
		// Null with several values ORs them like other operators.
		for i := range c.values {
			if c.values[i].ok && c.values[i].flag == (len(vals) == 0) {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case c.ifExists:
			return true
		case c.set == setForAllValues:
			return true
		case c.set == setForAnyValue:
			return false
		}
		return c.negated
	}
	switch c.set {
	case setForAnyValue:
		for _, v := range vals {
			if c.term(v, ctx) {
				return true
			}
		}
		return false
	case setForAllValues:
		for _, v := range vals {
			if !c.term(v, ctx) {
				return false
			}
		}
		return true
	}
	if c.negated {
		for _, v := range vals {
			if !c.term(v, ctx) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.term(v, ctx) {
			return true
		}
	}
	return false
}

// term applies the operator to one request value: for a positive operator,
// whether it matches some policy value; for a negated one, whether it matches
// none. A policy value whose variable cannot be resolved fails the test either
// way (AWS: "any attempt to match it fails ... causes the statement to be
// invalid"). UNCERTAIN: for negated operators AWS could also ignore the value.
func (c *condition) term(v string, ctx *Context) bool {
	if !c.negated {
		for i := range c.values {
			if m, ok := c.matchOne(&c.values[i], v, ctx); ok && m {
				return true
			}
		}
		return false
	}
	for i := range c.values {
		if m, ok := c.matchOne(&c.values[i], v, ctx); !ok || m {
			return false
		}
	}
	return true
}

// matchOne compares request value v with policy value pv under the positive
// form of the operator. ok is false when a variable of pv cannot be resolved.
func (c *condition) matchOne(pv *condValue, v string, ctx *Context) (matched, ok bool) {
	if !pv.ok {
		return false, true
	}
	switch c.class {
	case opStringEquals, opStringLike:
		return pv.pat.match(v, false, ctx)
	case opStringEqualsIgnoreCase:
		return pv.pat.match(v, true, ctx)
	case opBool:
		want, ok := pv.pat.substitute(ctx)
		if !ok {
			return false, false
		}
		pb, pok := boolWord(want)
		vb, vok := boolWord(v)
		return pok && vok && pb == vb, true
	case opArnLike:
		return pv.arn.match(v, ctx)
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		n, ok := parseNumber(v)
		if !ok {
			return false, true
		}
		switch c.class {
		case opNumericEquals:
			return n == pv.num, true
		case opNumericLessThan:
			return n < pv.num, true
		case opNumericLessThanEquals:
			return n <= pv.num, true
		case opNumericGreaterThan:
			return n > pv.num, true
		default:
			return n >= pv.num, true
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		t, ok := parseDate(v)
		if !ok {
			return false, true
		}
		cmp := t.compare(pv.t)
		switch c.class {
		case opDateEquals:
			return cmp == 0, true
		case opDateLessThan:
			return cmp < 0, true
		case opDateLessThanEquals:
			return cmp <= 0, true
		case opDateGreaterThan:
			return cmp > 0, true
		default:
			return cmp >= 0, true
		}
	case opIPAddress:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false, true
		}
		return pv.ip.Contains(a.Unmap()), true
	case opBinaryEquals:
		b, err := base64.StdEncoding.DecodeString(v)
		return err == nil && string(b) == string(pv.bin), true
	}
	return false, true
}

// boolWord reads "true" or "false" in any case.
func boolWord(s string) (value, ok bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// substitute returns the text of p with its variables replaced. It allocates
// only when p has variables.
func (p *pattern) substitute(ctx *Context) (string, bool) {
	if p.plain {
		return p.raw, true
	}
	var b strings.Builder
	for i := range p.parts {
		pt := &p.parts[i]
		switch pt.kind {
		case partVar:
			v, ok := pt.resolve(ctx)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		case partStar:
			b.WriteByte('*')
		case partOne:
			b.WriteByte('?')
		default:
			b.WriteString(pt.text)
		}
	}
	return b.String(), true
}

// describe says why c failed for the explanation of a decision.
func (c *condition) describe(ctx *Context) string {
	vals, present := ctx.Get(c.key)
	policyVals := make([]string, len(c.values))
	for i := range c.values {
		policyVals[i] = c.values[i].raw
	}
	if c.class == opNull {
		return fmt.Sprintf("condition %s on %s failed: key present=%t, policy values %q", c.op, c.key, len(vals) > 0, policyVals)
	}
	if !present || len(vals) == 0 {
		return fmt.Sprintf("condition %s on %s failed: the key is not in the request, policy values %q", c.op, c.key, policyVals)
	}
	return fmt.Sprintf("condition %s on %s failed: request values %q, policy values %q", c.op, c.key, vals, policyVals)
}

// parseNumber reads an integer or decimal number, as the Numeric operators
// accept.
func parseNumber(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// parseCIDR reads an IPv4 or IPv6 address or CIDR range; a bare address is a
// range of one (/32 or /128), as AWS documents.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), p.IsValid()
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// instant is a point in time with nanosecond precision over any year.
type instant struct {
	sec  int64
	nsec int32
}

func (a instant) compare(b instant) int {
	switch {
	case a.sec < b.sec:
		return -1
	case a.sec > b.sec:
		return 1
	case a.nsec < b.nsec:
		return -1
	case a.nsec > b.nsec:
		return 1
	}
	return 0
}

// parseDate reads a date as the Date operators accept it: epoch seconds
// ("1700000000", optionally with a fraction) or one of the W3C profiles of
// ISO 8601: YYYY, YYYY-MM, YYYY-MM-DD, then optionally Thh:mm, Thh:mm:ss or
// Thh:mm:ss.fraction, and a zone Z or ±hh:mm (±hhmm, ±hh). A date without a
// zone is read as UTC.
func parseDate(s string) (instant, bool) {
	if s == "" {
		return instant{}, false
	}
	if isDigits(strings.Replace(s, ".", "", 1)) && !strings.Contains(s, "-") && s[0] != '.' {
		return parseEpoch(s)
	}
	p := dateParser{s: s}
	year, ok := p.digits(4)
	if !ok {
		return instant{}, false
	}
	month, day := 1, 1
	var hour, minute, second, nsec int
	if p.eat('-') {
		if month, ok = p.digits(2); !ok || month < 1 || month > 12 {
			return instant{}, false
		}
		if p.eat('-') {
			if day, ok = p.digits(2); !ok || day < 1 || day > daysIn(year, month) {
				return instant{}, false
			}
		}
	}
	offset := 0
	if p.eat('T') || p.eat('t') {
		if hour, ok = p.digits(2); !ok || hour > 23 {
			return instant{}, false
		}
		if !p.eat(':') {
			return instant{}, false
		}
		if minute, ok = p.digits(2); !ok || minute > 59 {
			return instant{}, false
		}
		if p.eat(':') {
			if second, ok = p.digits(2); !ok || second > 59 {
				return instant{}, false
			}
			if p.eat('.') {
				start := p.i
				frac := 0
				for p.i < len(p.s) && isDigit(p.s[p.i]) {
					if p.i-start < 9 {
						frac = frac*10 + int(p.s[p.i]-'0')
					}
					p.i++
				}
				n := p.i - start
				if n == 0 {
					return instant{}, false
				}
				for ; n < 9; n++ {
					frac *= 10
				}
				nsec = frac
			}
		}
		switch {
		case p.eat('Z') || p.eat('z'):
		case p.peek('+') || p.peek('-'):
			sign := 1
			if p.s[p.i] == '-' {
				sign = -1
			}
			p.i++
			oh, ok := p.digits(2)
			if !ok || oh > 23 {
				return instant{}, false
			}
			om := 0
			if p.eat(':') {
				if om, ok = p.digits(2); !ok || om > 59 {
					return instant{}, false
				}
			} else if p.i < len(p.s) {
				if om, ok = p.digits(2); !ok || om > 59 {
					return instant{}, false
				}
			}
			offset = sign * (oh*3600 + om*60)
		}
	}
	if p.i != len(p.s) {
		return instant{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	return instant{sec: t.Unix() - int64(offset), nsec: int32(nsec)}, true
}

func parseEpoch(s string) (instant, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(whole) == 0 || len(whole) > 18 {
		return instant{}, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return instant{}, false
	}
	nsec := 0
	for i := 0; i < 9; i++ {
		nsec *= 10
		if i < len(frac) {
			nsec += int(frac[i] - '0')
		}
	}
	return instant{sec: sec, nsec: int32(nsec)}, true
}

type dateParser struct {
	s string
	i int
}

func (p *dateParser) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for k := 0; k < n; k++ {
		c := p.s[p.i+k]
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

func (p *dateParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *dateParser) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
