// Package awsproto holds the wire shapes shared by every AWS API that Custos
// serves: typed AWS errors, AWS's validation messages, and the JSON 1.1 codec.
//
// Every error that reaches a client is made here, so that its code, HTTP
// status and message form are AWS's, and no internal text leaks to a client.
package awsproto

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is an error as a client sees it: an AWS exception name, its message
// and the HTTP status it travels with.
type Error struct {
	Code    string
	Message string
	Status  int
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with code, a formatted message, and the status
// AWS uses for that code (see StatusOf).
func Errorf(code, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Message: msg, Status: StatusOf(code)}
}

// StatusOf returns the HTTP status AWS sends with an exception name. AWS KMS
// answers every client error with 400 on the wire (even where its model says
// 404 or 409); the retryable server faults keep their 5xx so that SDK retry
// logic fires.
func StatusOf(code string) int {
	switch code {
	case "KMSInternalException", "KeyUnavailableException", "InternalFailure", "InternalError", "ServiceUnavailable":
		return http.StatusInternalServerError
	case "DependencyTimeoutException":
		return http.StatusServiceUnavailable
	case "RequestEntityTooLargeException":
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// Internal is the error a client sees for a fault of Custos itself. The cause
// is never sent; the server logs it.
func Internal() *Error {
	return &Error{Code: "KMSInternalException", Message: "An internal error occurred. Retry the request.", Status: http.StatusInternalServerError}
}

// As returns err as an *Error if it is one (or wraps one).
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Validation collects constraint violations and renders them the way AWS
// does: "1 validation error detected: Value 'x' at 'keyId' failed to satisfy
// constraint: Member must have length less than or equal to 2048". The zero
// value is ready to use.
type Validation struct {
	errs []string
}

// Quote renders a string value for a validation message.
func Quote(v string) string { return "'" + v + "'" }

// Null is the value text for a missing required member.
const Null = "null"

// Add records that the member at field (camelCase, as AWS names it) with the
// rendered value failed constraint. value is Quote(...), Null, or "" for a
// sensitive member whose value AWS never echoes.
func (v *Validation) Add(value, field, constraint string) {
	var b strings.Builder
	b.WriteString("Value ")
	if value != "" {
		b.WriteString(value)
		b.WriteByte(' ')
	}
	b.WriteString("at '")
	b.WriteString(field)
	b.WriteString("' failed to satisfy constraint: ")
	b.WriteString(constraint)
	v.errs = append(v.errs, b.String())
}

// Required records a missing required member.
func (v *Validation) Required(field string) { v.Add(Null, field, "Member must not be null") }

// Length checks a string member's length in characters (runes).
func (v *Validation) Length(s, field string, min, max int) {
	if n := len(s); n <= max && (n >= min && min <= 1) {
		return // byte length bounds rune length from above
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < min:
		v.Add(Quote(s), field, "Member must have length greater than or equal to "+strconv.Itoa(min))
	case n > max:
		v.Add(Quote(s), field, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// BlobLength checks a sensitive blob member's length without echoing it.
func (v *Validation) BlobLength(b []byte, field string, min, max int) {
	switch {
	case len(b) < min:
		v.Add("", field, "Member must have length greater than or equal to "+strconv.Itoa(min))
	case len(b) > max:
		v.Add("", field, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// Range checks an integer member.
func (v *Validation) Range(n int64, field string, min, max int64) {
	switch {
	case n < min:
		v.Add(Quote(strconv.FormatInt(n, 10)), field, "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
	case n > max:
		v.Add(Quote(strconv.FormatInt(n, 10)), field, "Member must have value less than or equal to "+strconv.FormatInt(max, 10))
	}
}

// Enum checks that s is one of values (an empty s is not checked).
func (v *Validation) Enum(s, field string, values ...string) {
	if s == "" {
		return
	}
	for _, x := range values {
		if s == x {
			return
		}
	}
	v.Add(Quote(s), field, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// Pattern records a string that does not match the regular expression text re.
func (v *Validation) Pattern(s, field, re string) {
	v.Add(Quote(s), field, "Member must satisfy regular expression pattern: "+re)
}

// Err returns the collected violations as one ValidationException, or nil.
func (v *Validation) Err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return Errorf("ValidationException", "1 validation error detected: %s", v.errs[0])
	}
	return Errorf("ValidationException", "%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))
}

// truncate shortens s to at most n bytes, on a character boundary, for
// echoing client input in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
