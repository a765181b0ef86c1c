package loadgen

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestDescribeError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{name: "KMS error", status: 400, body: `{"__type":"NotFoundException","message":"Key 'x' does not exist"}`, want: "HTTP 400 NotFoundException: Key 'x' does not exist"},
		{name: "capital Message", status: 400, body: `{"__type":"ValidationException","Message":"bad"}`, want: "HTTP 400 ValidationException: bad"},
		{name: "namespaced type", status: 400, body: `{"__type":"com.amazonaws.kms#DisabledException","message":"m"}`, want: "HTTP 400 DisabledException: m"},
		{name: "type with suffix", status: 400, body: `{"__type":"X:http://internal.amazon.com/coral/","message":"m"}`, want: "HTTP 400 X: m"},
		{name: "type only", status: 403, body: `{"__type":"AccessDeniedException"}`, want: "HTTP 403 AccessDeniedException"},
		{name: "message only", status: 500, body: `{"message":"boom"}`, want: "HTTP 500: boom"},
		{name: "empty object", status: 502, body: `{}`, want: "HTTP 502"},
		{name: "not JSON", status: 502, body: `<html>Bad Gateway</html>`, want: "HTTP 502"},
		{name: "empty body", status: 503, body: ``, want: "HTTP 503"},
		{name: "wrong field types", status: 400, body: `{"__type":1,"message":[]}`, want: "HTTP 400"},
		{name: "control characters", status: 400, body: `{"__type":"X","message":"a\nb\u0000c"}`, want: "HTTP 400 X: a?b?c"},
		{name: "long message", status: 400, body: `{"__type":"X","message":"` + strings.Repeat("m", 500) + `"}`, want: "HTTP 400 X: " + strings.Repeat("m", 200) + "..."},
	}
	for _, tc := range tests {
		if got := describeError(tc.status, []byte(tc.body)); got != tc.want {
			t.Errorf("%s: describeError(%d, %q) = %q, want %q", tc.name, tc.status, tc.body, got, tc.want)
		}
	}
}

func FuzzDescribeError(f *testing.F) {
	f.Add(400, []byte(`{"__type":"NotFoundException","message":"Key 'arn:aws:kms:us-east-1:111122223333:key/1234abcd' does not exist"}`))
	f.Add(400, []byte(`{"__type":"com.amazonaws.kms#KMSInvalidStateException","Message":"disabled"}`))
	f.Add(500, []byte(`{"__type":"KMSInternalException"}`))
	f.Add(502, []byte("<html>bad gateway</html>"))
	f.Add(400, []byte("{\"message\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		got := describeError(status, body)
		if !utf8.ValidString(got) {
			t.Errorf("describeError(%d, %q) = %q, not valid UTF-8", status, body, got)
		}
		if strings.IndexFunc(got, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Errorf("describeError(%d, %q) = %q, has unprintable characters", status, body, got)
		}
		if n := utf8.RuneCountInString(got); n > 2*maxErrorField+40 {
			t.Errorf("describeError(%d, %q) is %d runes long, want at most %d", status, body, n, 2*maxErrorField+40)
		}
	})
}
