package keyring

import (
	"encoding/binary"
	"slices"
)

// AppendContext appends the canonical encoding of the encryption context ec to dst and returns the extended slice.
// It is the form in which a context is authenticated by [Symmetric.Seal] and [Symmetric.Open].
//
// Layout (all integers unsigned 32-bit big-endian):
//
//	count                              number of pairs
//	then for each pair, sorted by key in byte order:
//	len(key) | key | len(value) | value
//
// Every part is length-prefixed, so {"ab":"c"} and {"a":"bc"} encode differently; a nil and an empty map both encode
// as the four bytes 00 00 00 00. Keys and values must each be shorter than 4 GiB (callers limit contexts far below
// that).
func AppendContext(dst []byte, ec map[string]string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(ec)))
	if len(ec) == 0 {
		return dst
	}
	var stack [16]string // contexts are small; this keeps the sort off the heap
	keys := stack[:0]
	size := 0
	for k, v := range ec {
		keys = append(keys, k)
		size += 8 + len(k) + len(v)
	}
	slices.Sort(keys)
	dst = slices.Grow(dst, size)
	for _, k := range keys {
		v := ec[k]
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(k)))
		dst = append(dst, k...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		dst = append(dst, v...)
	}
	return dst
}
