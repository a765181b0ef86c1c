package awsproto

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MaxQueryMembers bounds the number of members of one list or map in a
// Query-protocol request; a request with more is refused rather than
// decoded. No IAM or STS list accepts more than 1,000 members.
const MaxQueryMembers = 1000

// QueryList returns the members of the Query-protocol list named name:
// the values of form fields "name.member.1", "name.member.2", ..., in the
// order of their indexes (a field given twice counts once, its first value). Indexes need not be contiguous (AWS SDKs always
// send 1..N). A form that has the field name itself with an empty value
// (how SDKs send an empty list) gives an empty, non-nil list; a form with
// neither gives nil.
//
// It returns a SerializationException (MalformedQueryString on the wire)
// for an index that is not a positive decimal number without leading
// zeros, or for more than MaxQueryMembers members.
func QueryList(form url.Values, name string) ([]string, error) {
	idx, err := memberIndexes(form, name+".member.", true)
	if err != nil {
		return nil, err
	}
	if idx == nil {
		if _, ok := form[name]; ok {
			return []string{}, nil
		}
		return nil, nil
	}
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = form.Get(name + ".member." + strconv.Itoa(n))
	}
	return out, nil
}

// QueryStructs returns the members of the Query-protocol list of
// structures named name, in index order: member N is a form holding the
// fields "name.member.N.X" under the name "X" (nested lists keep their
// own "X.member.M" names and can be read with QueryList). Presence works
// as in QueryList. Errors are those of QueryList.
func QueryStructs(form url.Values, name string) ([]url.Values, error) {
	prefix := name + ".member."
	idx, err := memberIndexes(form, prefix, false)
	if err != nil {
		return nil, err
	}
	if idx == nil {
		if _, ok := form[name]; ok {
			return []url.Values{}, nil
		}
		return nil, nil
	}
	out := make([]url.Values, len(idx))
	pos := make(map[int]int, len(idx))
	for i, n := range idx {
		out[i] = url.Values{}
		pos[n] = i
	}
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(num)
		out[pos[n]][field] = v
	}
	return out, nil
}

// QueryTag is one key-value pair of a Query-protocol tag list.
type QueryTag struct{ Key, Value string }

// QueryTags returns the list of {Key, Value} structures named name
// ("Tags.member.N.Key", "Tags.member.N.Value"), as IAM and STS send tags.
// A missing Key or Value reads as ""; the caller validates. Errors are
// those of QueryList.
func QueryTags(form url.Values, name string) (tags []QueryTag, err error) {
	members, err := QueryStructs(form, name)
	if err != nil || members == nil {
		return nil, err
	}
	tags = make([]QueryTag, len(members))
	for i, m := range members {
		tags[i] = QueryTag{Key: m.Get("Key"), Value: m.Get("Value")}
	}
	return tags, nil
}

// memberIndexes returns the sorted member indexes N of fields named
// prefix+"N" (whole fields when leaf, prefix+"N."+anything otherwise), or
// nil when there are none.
func memberIndexes(form url.Values, prefix string, leaf bool) ([]int, error) {
	var idx []int
	seen := map[int]bool{}
	for k := range form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num := rest
		if !leaf {
			if num, _, ok = strings.Cut(rest, "."); !ok {
				return nil, Errorf("SerializationException", "Invalid list member %q.", clipKey(k))
			}
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || num[0] == '0' || num[0] == '+' {
			return nil, Errorf("SerializationException", "Invalid list member %q.", clipKey(k))
		}
		if seen[n] {
			continue // another field of the same structure member
		}
		seen[n] = true
		idx = append(idx, n)
		if len(idx) > MaxQueryMembers {
			return nil, Errorf("SerializationException", "A list has more than %d members.", MaxQueryMembers)
		}
	}
	slices.Sort(idx)
	return idx, nil
}

// clipKey shortens a form field name for an error message.
func clipKey(k string) string {
	if len(k) > 64 {
		return k[:64] + "..."
	}
	return k
}
