package awsproto

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestValidationMessages(t *testing.T) {
	tests := []struct {
		name string
		add  func(v *Validation)
		want string // "" for no error
	}{
		{
			name: "none",
			add:  func(v *Validation) {},
		},
		{
			name: "in-range values add nothing",
			add: func(v *Validation) {
				v.Length("abc", "keyId", 1, 2048)
				v.Length("", "description", 0, 8192)
				v.BlobLength([]byte("x"), "plaintext", 1, 4096)
				v.Range(7, "pendingWindowInDays", 7, 30)
				v.Range(30, "pendingWindowInDays", 7, 30)
				v.Enum("AES_128", "keySpec", "AES_256", "AES_128")
				v.Enum("", "keySpec", "AES_256", "AES_128")
			},
		},
		{
			name: "required",
			add:  func(v *Validation) { v.Required("keyId") },
			want: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "too long",
			add:  func(v *Validation) { v.Length("abcd", "aliasName", 1, 3) },
			want: "1 validation error detected: Value 'abcd' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 3",
		},
		{
			name: "too short",
			add:  func(v *Validation) { v.Length("", "keyId", 1, 2048) },
			want: "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "min above one",
			add:  func(v *Validation) { v.Length("ab", "arn", 20, 2048) },
			want: "1 validation error detected: Value 'ab' at 'arn' failed to satisfy constraint: Member must have length greater than or equal to 20",
		},
		{
			name: "length counts characters not bytes",
			add:  func(v *Validation) { v.Length("ééé", "description", 0, 3) },
		},
		{
			name: "length counts characters over the limit",
			add:  func(v *Validation) { v.Length("éééé", "description", 0, 3) },
			want: "1 validation error detected: Value 'éééé' at 'description' failed to satisfy constraint: Member must have length less than or equal to 3",
		},
		{
			name: "sensitive blob is not echoed",
			add:  func(v *Validation) { v.BlobLength(nil, "plaintext", 1, 4096) },
			want: "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "sensitive blob too long",
			add:  func(v *Validation) { v.BlobLength(make([]byte, 4097), "plaintext", 1, 4096) },
			want: "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
		},
		{
			name: "range low",
			add:  func(v *Validation) { v.Range(0, "limit", 1, 1000) },
			want: "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
		},
		{
			name: "range high",
			add:  func(v *Validation) { v.Range(1025, "numberOfBytes", 1, 1024) },
			want: "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
		},
		{
			name: "range negative",
			add:  func(v *Validation) { v.Range(-5, "limit", 1, 1000) },
			want: "1 validation error detected: Value '-5' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
		},
		{
			name: "enum",
			add:  func(v *Validation) { v.Enum("AES_512", "keySpec", "AES_256", "AES_128") },
			want: "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
		},
		{
			name: "pattern",
			add:  func(v *Validation) { v.Pattern("alias/a b", "aliasName", `^[a-zA-Z0-9:/_-]+$`) },
			want: "1 validation error detected: Value 'alias/a b' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
		},
		{
			name: "two errors",
			add: func(v *Validation) {
				v.Required("keyId")
				v.Add(Null, "plaintext", "Member must not be null")
			},
			want: "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "three errors",
			add: func(v *Validation) {
				v.Range(0, "limit", 1, 1000)
				v.Length("", "marker", 1, 1024)
				v.Required("keyId")
			},
			want: "3 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'marker' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value null at 'keyId' failed to satisfy constraint: Member must not be null",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Validation
			tt.add(&v)
			err := v.Err()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			e, ok := As(err)
			if !ok {
				t.Fatalf("Err() = %v (%T), want *Error", err, err)
			}
			if e.Code != "ValidationException" || e.Status != http.StatusBadRequest || e.Message != tt.want {
				t.Errorf("Err() = %q %d %q\nwant ValidationException 400 %q", e.Code, e.Status, e.Message, tt.want)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		// AWS KMS sends 400 on the wire for every client error, even those
		// its model gives 404, 409 or 412.
		{"NotFoundException", 400},
		{"DisabledException", 400},
		{"KMSInvalidStateException", 400},
		{"DryRunOperationException", 400},
		{"AlreadyExistsException", 400},
		{"AccessDeniedException", 400},
		{"ThrottlingException", 400},
		{"ValidationException", 400},
		{"SerializationException", 400},
		{"InvalidCiphertextException", 400},
		{"UnknownOperationException", 400},
		{"SomethingNobodyHeardOf", 400},
		// The retryable faults keep their 5xx.
		{"KMSInternalException", 500},
		{"KeyUnavailableException", 500},
		{"InternalFailure", 500},
		{"DependencyTimeoutException", 503},
		{"RequestEntityTooLargeException", 413},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.code); got != tt.want {
			t.Errorf("StatusOf(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestErrorf(t *testing.T) {
	e := Errorf("NotFoundException", "Invalid keyId '%s'", "x")
	if e.Code != "NotFoundException" || e.Message != "Invalid keyId 'x'" || e.Status != 400 {
		t.Errorf("Errorf = %+v", e)
	}
	if got, want := e.Error(), "NotFoundException: Invalid keyId 'x'"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e := Errorf("KMSInternalException", "m"); e.Status != 500 {
		t.Errorf("Errorf(KMSInternalException).Status = %d, want 500", e.Status)
	}
}

func TestInternal(t *testing.T) {
	e := Internal()
	if e.Code != "KMSInternalException" || e.Status != 500 || e.Message == "" {
		t.Errorf("Internal() = %+v", e)
	}
}

func TestAs(t *testing.T) {
	base := Errorf("NotFoundException", "m")
	wrapped := fmt.Errorf("kms: ctx: %w", base)
	if e, ok := As(wrapped); !ok || e != base {
		t.Errorf("As(wrapped) = %v, %v; want the wrapped *Error", e, ok)
	}
	if e, ok := As(errors.New("plain")); ok || e != nil {
		t.Errorf("As(plain) = %v, %v; want nil, false", e, ok)
	}
	if _, ok := As(nil); ok {
		t.Error("As(nil) ok = true")
	}
}

func TestQuote(t *testing.T) {
	if got := Quote("a'b"); got != "'a'b'" {
		t.Errorf("Quote = %q", got)
	}
	if !strings.HasPrefix(Null, "null") {
		t.Errorf("Null = %q", Null)
	}
}
