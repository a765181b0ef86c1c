package keyring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret([]byte("hunter2-very-secret"))
	type exported struct{ S Secret }
	type unexported struct{ s Secret }
	values := map[string]any{
		"Secret":            s,
		"*Secret":           &s,
		"struct{S Secret}":  exported{s},
		"struct{s Secret}":  unexported{s},
		"*struct{s Secret}": &unexported{s},
		"[]Secret":          []Secret{s},
		"map[string]Secret": map[string]Secret{"k": s},
	}
	forbidden := []string{"hunter2", fmt.Sprintf("%x", "hunter2"), fmt.Sprintf("%X", "hunter2"), "104 117 110", "150 165 156"}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "% x", "%t", "%c", "%o", "%b", "%U", "%e", "%p", "%#x", "%+q"} {
			got := fmt.Sprintf(verb, v)
			for _, f := range forbidden {
				if strings.Contains(got, f) {
					t.Errorf("Sprintf(%q, %s) = %q, reveals the secret", verb, name, got)
				}
			}
		}
	}
	if got := fmt.Sprint(s); got != redacted {
		t.Errorf("Sprint(s) = %q, want %q", got, redacted)
	}
	if got := fmt.Sprintf("%#v", s); got != redacted {
		t.Errorf("Sprintf(%%#v, s) = %q, want %q", got, redacted)
	}
}

func TestSecretMarshalFails(t *testing.T) {
	s := NewSecret([]byte("hunter2"))
	for name, v := range map[string]any{"Secret": s, "struct": struct{ S Secret }{s}, "map": map[string]Secret{"k": s}} {
		b, err := json.Marshal(v)
		if err == nil || bytes.Contains(b, []byte("hunter2")) {
			t.Errorf("json.Marshal(%s) = %q, %v; want an error", name, b, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("json.Marshal(%s) error %q reveals the secret", name, err)
		}
	}
	if b, err := s.MarshalText(); err == nil {
		t.Errorf("MarshalText() = %q, nil; want an error", b)
	}
}

func TestSecretLogValue(t *testing.T) {
	var buf bytes.Buffer
	for name, h := range map[string]slog.Handler{
		"text": slog.NewTextHandler(&buf, nil),
		"json": slog.NewJSONHandler(&buf, nil),
	} {
		buf.Reset()
		slog.New(h).Info("msg", "key", NewSecret([]byte("hunter2")))
		if got := buf.String(); strings.Contains(got, "hunter2") || !strings.Contains(got, redacted) {
			t.Errorf("%s handler logged %q, want %q and no secret", name, got, redacted)
		}
	}
}

func TestSecretCopies(t *testing.T) {
	in := []byte{1, 2, 3}
	s := NewSecret(in)
	in[0] = 9
	if got := s.Bytes(); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("Bytes() after changing input = %v, want [1 2 3]", got)
	}
	out := s.Bytes()
	out[1] = 9
	if got := s.Bytes(); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("Bytes() after changing output = %v, want [1 2 3]", got)
	}
	if got := s.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
}

func TestSecretEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b Secret
		want bool
	}{
		{"same", NewSecret([]byte("abc")), NewSecret([]byte("abc")), true},
		{"different", NewSecret([]byte("abc")), NewSecret([]byte("abd")), false},
		{"prefix", NewSecret([]byte("abc")), NewSecret([]byte("ab")), false},
		{"zero values", Secret{}, Secret{}, true},
		{"zero and empty", Secret{}, NewSecret([]byte{}), true},
		{"zero and nonempty", Secret{}, NewSecret([]byte{0}), false},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
	}
	var zero Secret
	if zero.Len() != 0 || zero.Bytes() != nil {
		t.Errorf("zero Secret: Len() = %d, Bytes() = %v; want 0, nil", zero.Len(), zero.Bytes())
	}
}
