package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A pattern is a policy string compiled once: literal text, the wildcards *
// and ? (where the element allows them) and policy variables ${key} or
// ${key, 'default'} (in 2012-10-17 policies, where the element allows them).
// ${*}, ${?} and ${$} are literal characters.
type pattern struct {
	raw    string
	parts  []part
	all    bool // the pattern is "*" with wildcards: matches anything
	plain  bool // only literal text: compare raw directly
	hasVar bool
	prefix string // the literal text every match starts with (a quick filter)
}

type partKind uint8

const (
	partLit  partKind = iota // text
	partStar                 // * : any run of characters, possibly empty
	partOne                  // ? : exactly one character
	partVar                  // ${text}, or def when unresolvable and hasDef
)

type part struct {
	kind   partKind
	text   string // literal text, or the variable's key name
	def    string
	hasDef bool
}

// compilePattern compiles s. wild says whether * and ? are wildcards; vars
// whether ${...} is a policy variable.
func compilePattern(s string, wild, vars bool) pattern {
	p := pattern{raw: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, part{kind: partLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case wild && c == '*':
			flush()
			// Consecutive stars are one star.
			if n := len(p.parts); n == 0 || p.parts[n-1].kind != partStar {
				p.parts = append(p.parts, part{kind: partStar})
			}
			i++
		case wild && c == '?':
			flush()
			p.parts = append(p.parts, part{kind: partOne})
			i++
		case vars && c == '$' && strings.HasPrefix(s[i:], "${"):
			v, n, ok := parseVariable(s[i:])
			if !ok {
				lit.WriteString("${")
				i += 2
				continue
			}
			i += n
			if v.kind == partLit {
				lit.WriteString(v.text)
				continue
			}
			flush()
			p.parts = append(p.parts, v)
			p.hasVar = true
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	p.all = len(p.parts) == 1 && p.parts[0].kind == partStar
	if len(p.parts) > 0 && p.parts[0].kind == partLit {
		p.prefix = p.parts[0].text
	}
	p.plain = !p.hasVar && (len(p.parts) == 0 || len(p.parts) == 1 && p.parts[0].kind == partLit)
	if p.plain && len(p.parts) == 1 {
		p.raw = p.parts[0].text // ${*} and friends are already literal here
	} else if p.plain {
		p.raw = ""
	}
	return p
}

// parseVariable parses the variable at the start of s ("${...}") and returns
// it with the number of bytes it spans. The special variables ${*}, ${?} and
// ${$} come back as literal parts. A default value is written
// ${key, 'text'}, where two single quotes stand for one. ok is false when s
// does not start with a well-formed variable; the text is then literal.
func parseVariable(s string) (v part, n int, ok bool) {
	body := s[2:]
	switch {
	case strings.HasPrefix(body, "*}"), strings.HasPrefix(body, "?}"), strings.HasPrefix(body, "$}"):
		return part{kind: partLit, text: body[:1]}, 4, true
	}
	end := strings.IndexAny(body, ",}")
	if end < 0 {
		return part{}, 0, false
	}
	key := strings.TrimSpace(body[:end])
	if key == "" || strings.ContainsAny(key, "${") {
		return part{}, 0, false
	}
	v = part{kind: partVar, text: strings.ToLower(key)}
	if body[end] == '}' {
		return v, 2 + end + 1, true
	}
	rest := body[end+1:]
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	if i >= len(rest) || rest[i] != '\'' {
		return part{}, 0, false
	}
	i++
	var def strings.Builder
	for {
		if i >= len(rest) {
			return part{}, 0, false
		}
		if rest[i] == '\'' {
			if i+1 < len(rest) && rest[i+1] == '\'' {
				def.WriteByte('\'')
				i += 2
				continue
			}
			i++
			break
		}
		def.WriteByte(rest[i])
		i++
	}
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	if i >= len(rest) || rest[i] != '}' {
		return part{}, 0, false
	}
	v.def, v.hasDef = def.String(), true
	return v, 2 + end + 1 + i + 1, true
}

// resolve returns the value of variable v in ctx: the key's value when the key
// holds exactly one value (AWS does not substitute multivalued keys), else the
// default when there is one. ok is false when the variable cannot be resolved.
func (v *part) resolve(ctx *Context) (string, bool) {
	if vals, present := ctx.Get(v.text); present && len(vals) == 1 {
		return vals[0], true
	}
	if v.hasDef {
		return v.def, true
	}
	return "", false
}

// resolvable reports whether every variable of p resolves in ctx.
func (p *pattern) resolvable(ctx *Context) bool {
	if !p.hasVar {
		return true
	}
	for i := range p.parts {
		if p.parts[i].kind == partVar {
			if _, ok := p.parts[i].resolve(ctx); !ok {
				return false
			}
		}
	}
	return true
}

// match reports whether s matches p, comparing letters case-insensitively when
// fold is set. ok is false when a variable of p cannot be resolved: AWS then
// fails the comparison whatever the operator.
func (p *pattern) match(s string, fold bool, ctx *Context) (matched, ok bool) {
	if p.all {
		return true, true
	}
	if p.plain {
		if fold {
			return equalFold(p.raw, s), true
		}
		return p.raw == s, true
	}
	if !p.resolvable(ctx) {
		return false, false
	}
	return matchParts(p.parts, s, fold, ctx), true
}

// matchParts matches s against parts, whose variables all resolve in ctx. It
// is the classic greedy matcher with one backtrack point (the last star),
// linear in practice and never recursive.
func matchParts(parts []part, s string, fold bool, ctx *Context) bool {
	pi, si := 0, 0
	starPi, starSi := -1, 0
	for {
		if pi < len(parts) {
			pt := &parts[pi]
			switch pt.kind {
			case partStar:
				starPi, starSi = pi, si
				pi++
				continue
			case partOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					pi++
					continue
				}
			case partLit, partVar:
				text := pt.text
				if pt.kind == partVar {
					text, _ = pt.resolve(ctx)
				}
				if n, ok := hasPrefix(s[si:], text, fold); ok {
					si += n
					pi++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starPi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		si = starSi
		pi = starPi + 1
	}
}

// hasPrefix reports whether s starts with prefix and how many bytes of s the
// prefix covers (with fold, a letter's other case may differ in length).
func hasPrefix(s, prefix string, fold bool) (int, bool) {
	if !fold {
		if strings.HasPrefix(s, prefix) {
			return len(prefix), true
		}
		return 0, false
	}
	i, j := 0, 0
	for j < len(prefix) {
		if i >= len(s) {
			return 0, false
		}
		if pc, sc := prefix[j], s[i]; pc < utf8.RuneSelf && sc < utf8.RuneSelf {
			if pc != sc && lowerASCII(pc) != lowerASCII(sc) {
				return 0, false
			}
			i++
			j++
			continue
		}
		pr, pn := utf8.DecodeRuneInString(prefix[j:])
		sr, sn := utf8.DecodeRuneInString(s[i:])
		if sr != pr && !runeFoldEqual(sr, pr) {
			return 0, false
		}
		i += sn
		j += pn
	}
	return i, true
}

func runeFoldEqual(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return lowerASCII(byte(a)) == lowerASCII(byte(b))
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// equalFold is strings.EqualFold with an ASCII fast path.
func equalFold(a, b string) bool {
	if len(a) == len(b) {
		for i := 0; i < len(a); i++ {
			x, y := a[i], b[i]
			if x >= utf8.RuneSelf || y >= utf8.RuneSelf {
				return strings.EqualFold(a[i:], b[i:])
			}
			if x != y && lowerASCII(x) != lowerASCII(y) {
				return false
			}
		}
		return true
	}
	return strings.EqualFold(a, b)
}

// arnParts splits an ARN into its six colon-separated components
// (arn:partition:service:region:account:resource); the resource keeps any
// further colons. ok is false when s has fewer than six components.
func arnParts(s string) (c [6]string, ok bool) {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return c, false
		}
		c[i], s = s[:j], s[j+1:]
	}
	c[5] = s
	return c, true
}

// arnPattern matches ARNs as AWS does for the Resource element and the Arn
// condition operators: component by component when both the pattern and the
// value have the six components of an ARN (so a * never crosses a colon
// before the resource part), and as one string otherwise (for "*" and
// patterns like "arn:aws:s3:*").
type arnPattern struct {
	whole pattern
	comps [6]pattern // valid when split
	split bool
}

func compileARNPattern(s string, vars bool) arnPattern {
	a := arnPattern{whole: compilePattern(s, true, vars)}
	if a.whole.hasVar {
		return a // split after substitution, in match
	}
	if c, ok := arnParts(s); ok {
		a.split = true
		for i := range c {
			a.comps[i] = compilePattern(c[i], true, vars) // only ${*}, ${?}, ${$} can remain
		}
	}
	return a
}

// match reports whether the ARN s matches; ok is false when a variable cannot
// be resolved.
func (a *arnPattern) match(s string, ctx *Context) (matched, ok bool) {
	if a.whole.all {
		return true, true
	}
	if a.whole.hasVar {
		if !a.whole.resolvable(ctx) {
			return false, false
		}
		return matchSubstitutedARN(a.whole.parts, s, ctx), true
	}
	if a.split {
		if c, ok := arnParts(s); ok {
			for i := range c {
				if m, _ := a.comps[i].match(c[i], false, ctx); !m {
					return false, true
				}
			}
			return true, true
		}
	}
	return a.whole.match(s, false, ctx)
}

// matchSubstitutedARN substitutes the variables of parts, then matches s
// component-wise like arnPattern. Substituted text is literal: a * in a
// variable's value is not a wildcard.
func matchSubstitutedARN(parts []part, s string, ctx *Context) bool {
	flat := make([]part, 0, len(parts))
	for _, pt := range parts {
		if pt.kind == partVar {
			v, _ := pt.resolve(ctx)
			pt = part{kind: partLit, text: v}
		}
		flat = append(flat, pt)
	}
	sc, sok := arnParts(s)
	if !sok {
		return matchParts(flat, s, false, ctx)
	}
	var comps [6][]part
	ci := 0
	for _, pt := range flat {
		if pt.kind != partLit || ci == 5 {
			comps[ci] = append(comps[ci], pt)
			continue
		}
		text := pt.text
		for ci < 5 {
			j := strings.IndexByte(text, ':')
			if j < 0 {
				break
			}
			if j > 0 {
				comps[ci] = append(comps[ci], part{kind: partLit, text: text[:j]})
			}
			ci++
			text = text[j+1:]
		}
		if text != "" {
			comps[ci] = append(comps[ci], part{kind: partLit, text: text})
		}
	}
	if ci < 5 {
		return matchParts(flat, s, false, ctx)
	}
	for i := range comps {
		if !matchParts(comps[i], sc[i], false, ctx) {
			return false
		}
	}
	return true
}
