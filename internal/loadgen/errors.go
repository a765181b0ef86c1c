package loadgen

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxErrorField bounds, in runes, the error type and message quoted from a
// server's reply.
const maxErrorField = 200

// describeError summarises a non-200 reply of a JSON 1.1 service as
// "HTTP <status> <type>: <message>", taking the type from "__type" (without
// any "namespace#" prefix or ":suffix") and the message from "message" or
// "Message". body is untrusted: anything else in it is ignored, a body that
// is not such a JSON object yields just "HTTP <status>", and the quoted
// fields are cut to 200 runes with control and invalid characters replaced.
func describeError(status int, body []byte) string {
	var reply struct {
		Type    string `json:"__type"`
		Message string `json:"message"` // also matches "Message"
	}
	if json.Unmarshal(body, &reply) != nil {
		return fmt.Sprintf("HTTP %d", status)
	}
	typ := reply.Type
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:]
	}
	if i := strings.IndexByte(typ, ':'); i >= 0 {
		typ = typ[:i]
	}
	typ, msg := clean(typ), clean(reply.Message)
	switch {
	case typ == "" && msg == "":
		return fmt.Sprintf("HTTP %d", status)
	case msg == "":
		return fmt.Sprintf("HTTP %d %s", status, typ)
	case typ == "":
		return fmt.Sprintf("HTTP %d: %s", status, msg)
	}
	return fmt.Sprintf("HTTP %d %s: %s", status, typ, msg)
}

// clean makes s safe to print on one line and at most maxErrorField runes.
func clean(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxErrorField {
			b.WriteString("...")
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
