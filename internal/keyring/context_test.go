package keyring

import (
	"encoding/hex"
	"testing"
)

func TestAppendContext(t *testing.T) {
	tests := []struct {
		name string
		ec   map[string]string
		want string // hex
	}{
		{"nil", nil, "00000000"},
		{"empty", map[string]string{}, "00000000"},
		{"one pair", map[string]string{"a": "bc"}, "00000001" + "00000001" + "61" + "00000002" + "6263"},
		{"ab:c", map[string]string{"ab": "c"}, "00000001" + "00000002" + "6162" + "00000001" + "63"},
		{"empty key and value", map[string]string{"": ""}, "00000001" + "00000000" + "00000000"},
		{"sorted by key bytes", map[string]string{"b": "1", "a": "2", "B": "3"},
			"00000003" + "00000001" + "42" + "00000001" + "33" + "00000001" + "61" + "00000001" + "32" + "00000001" + "62" + "00000001" + "31"},
		{"utf-8 after ascii", map[string]string{"é": "", "z": ""},
			"00000002" + "00000001" + "7a" + "00000000" + "00000002" + "c3a9" + "00000000"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(AppendContext(nil, tt.ec)); got != tt.want {
			t.Errorf("%s: AppendContext(nil, %q) = %s, want %s", tt.name, tt.ec, got, tt.want)
		}
	}
}

func TestAppendContextAppends(t *testing.T) {
	got := AppendContext([]byte("hdr"), map[string]string{"k": "v"})
	want := "686472" + "00000001" + "00000001" + "6b" + "00000001" + "76"
	if hex.EncodeToString(got) != want {
		t.Errorf("AppendContext(%q, ...) = %x, want %s", "hdr", got, want)
	}
}

func TestAppendContextManyPairs(t *testing.T) {
	// More pairs than the on-stack key buffer; order must still be canonical.
	a, b := map[string]string{}, map[string]string{}
	for i := range 40 {
		k := string(rune('A' + i))
		a[k] = k
	}
	for i := 39; i >= 0; i-- {
		k := string(rune('A' + i))
		b[k] = k
	}
	if x, y := AppendContext(nil, a), AppendContext(nil, b); string(x) != string(y) {
		t.Errorf("AppendContext differs for equal maps:\n%x\n%x", x, y)
	}
}
