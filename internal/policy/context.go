package policy

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Context holds the condition keys of one request. Key names are
// case-insensitive, as in AWS (aws:SourceIp and AWS:sourceip are one key);
// values are strings and case-sensitive. A key is single-valued when it holds
// exactly one value and multivalued otherwise; a key set with no values is
// treated like a missing key by every operator (AWS: "empty data set").
//
// A Context is built by one goroutine and then only read: reading it from many
// goroutines at once is safe, writing is not. It must not be copied after the
// first Set (use the pointer that NewContext returns). Values are copied into
// the Context, so callers may reuse their slices.
type Context struct {
	entries []ctxEntry
	vals    []string
	// Inline storage so that a typical request context costs one allocation.
	entryBuf [20]ctxEntry
	valBuf   [28]string
}

type ctxEntry struct {
	key    string // as given; compared case-insensitively
	off, n int32  // the values are vals[off:off+n]
	ascii  bool   // key is all ASCII
}

// NewContext returns an empty Context.
func NewContext() *Context {
	c := new(Context)
	c.entries = c.entryBuf[:0]
	c.vals = c.valBuf[:0]
	return c
}

// Reset empties c so that it can be reused (from a sync.Pool, say) without
// allocating; it keeps c's storage.
func (c *Context) Reset() {
	if c.entries == nil && c.vals == nil {
		c.entries = c.entryBuf[:0]
		c.vals = c.valBuf[:0]
		return
	}
	clear(c.entries)
	clear(c.vals)
	c.entries = c.entries[:0]
	c.vals = c.vals[:0]
}

// Set sets key to values, replacing any earlier values of the key (whatever the
// case of its name). Set with no values records an empty set, which operators
// treat like a missing key.
func (c *Context) Set(key string, values ...string) {
	if c.entries == nil && c.vals == nil {
		c.entries = c.entryBuf[:0]
		c.vals = c.valBuf[:0]
	}
	off := int32(len(c.vals))
	c.vals = append(c.vals, values...)
	e := ctxEntry{key: key, off: off, n: int32(len(values)), ascii: isASCII(key)}
	if i := c.find(key, e.ascii); i >= 0 {
		c.entries[i] = e
		return
	}
	c.entries = append(c.entries, e)
}

// find returns the index of key's entry, or -1.
func (c *Context) find(key string, ascii bool) int {
	for i := range c.entries {
		e := &c.entries[i]
		if len(e.key) != len(key) && e.ascii && ascii {
			continue // ASCII folding keeps lengths
		}
		if keyEqual(e.key, key) {
			return i
		}
	}
	return -1
}

// SetBool sets key to "true" or "false".
func (c *Context) SetBool(key string, v bool) {
	if v {
		c.Set(key, "true")
	} else {
		c.Set(key, "false")
	}
}

// SetNumber sets key to the decimal form of v.
func (c *Context) SetNumber(key string, v int64) {
	c.Set(key, strconv.FormatInt(v, 10))
}

// SetTime sets key to t in UTC, in the ISO 8601 form AWS uses for
// aws:CurrentTime ("2006-01-02T15:04:05Z").
func (c *Context) SetTime(key string, t time.Time) {
	c.Set(key, t.UTC().Format("2006-01-02T15:04:05Z"))
}

// Get returns the values of key and whether the key is present. The returned
// slice belongs to the Context and must not be modified.
func (c *Context) Get(key string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	if i := c.find(key, isASCII(key)); i >= 0 {
		e := &c.entries[i]
		return c.vals[e.off : e.off+e.n : e.off+e.n], true
	}
	return nil, false
}

// Keys returns the key names in the order they were first set, as given.
func (c *Context) Keys() []string {
	if c == nil {
		return nil
	}
	keys := make([]string, len(c.entries))
	for i, e := range c.entries {
		keys[i] = e.key
	}
	return keys
}

// keyEqual reports whether two key names are equal ignoring case. It is
// allocation-free and fast for the ASCII names that almost all keys have.
func keyEqual(a, b string) bool {
	if len(a) != len(b) {
		// Unicode case folding can change the length in bytes.
		if isASCII(a) && isASCII(b) {
			return false
		}
		return strings.EqualFold(a, b)
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x >= utf8.RuneSelf || y >= utf8.RuneSelf {
			return strings.EqualFold(a[i:], b[i:])
		}
		if lowerASCII(x) != lowerASCII(y) {
			return false
		}
	}
	return true
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
