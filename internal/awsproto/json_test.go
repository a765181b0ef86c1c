package awsproto

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

// request has the member shapes of the KMS requests: strings, optional
// strings and integers, blobs, maps, lists of structs, booleans, timestamps.
type request struct {
	KeyId               *string
	Plaintext           []byte
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	GrantTokens         []string
	EncryptionAlgorithm string
	DryRun              bool
	DryRunModifiers     []string
	NumberOfBytes       *int64
	KeySpec             string
	Tags                []struct{ TagKey, TagValue string }
	TagKeys             []string
	Limit               *int64
	Marker              *string
	Policy              *string
	PendingWindowInDays *int64
	ValidTo             *Time
	Recipient           *struct {
		KeyEncryptionAlgorithm string
		AttestationDocument    []byte
	}
}

func TestDecodeJSON(t *testing.T) {
	str := func(s string) *string { return &s }
	i64 := func(n int64) *int64 { return &n }
	tests := []struct {
		name string
		body string
		want request
	}{
		{name: "empty body", body: ""},
		{name: "empty object", body: "{}"},
		{name: "whitespace", body: " \n{ }\t"},
		{
			name: "encrypt",
			body: `{"KeyId":"alias/app","Plaintext":"aGVsbG8=","EncryptionContext":{"dept":"10","purpose":"test"},"GrantTokens":["t1"],"EncryptionAlgorithm":"SYMMETRIC_DEFAULT","DryRun":true}`,
			want: request{KeyId: str("alias/app"), Plaintext: []byte("hello"), EncryptionContext: map[string]string{"dept": "10", "purpose": "test"},
				GrantTokens: []string{"t1"}, EncryptionAlgorithm: "SYMMETRIC_DEFAULT", DryRun: true},
		},
		{
			name: "unknown members are ignored",
			body: `{"Unknown":{"deep":[1,2,{"x":null}]},"KeyId":"k","AnotherOne":"v"}`,
			want: request{KeyId: str("k")},
		},
		{
			name: "generate data key",
			body: `{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","NumberOfBytes":64}`,
			want: request{KeyId: str("1234abcd-12ab-34cd-56ef-1234567890ab"), NumberOfBytes: i64(64)},
		},
		{
			name: "list and tags",
			body: `{"Limit":10,"Marker":"abc","Tags":[{"TagKey":"k","TagValue":"v"}],"TagKeys":["a","b"]}`,
			want: request{Limit: i64(10), Marker: str("abc"), Tags: []struct{ TagKey, TagValue string }{{"k", "v"}}, TagKeys: []string{"a", "b"}},
		},
		{
			name: "explicit nulls leave members unset",
			body: `{"KeyId":null,"Plaintext":null,"NumberOfBytes":null}`,
		},
		{
			name: "timestamp",
			body: `{"ValidTo":1.5565824E9}`,
			want: request{ValidTo: &Time{time.Date(2019, 4, 30, 0, 0, 0, 0, time.UTC)}},
		},
		{
			name: "escaped strings",
			body: `{"KeyId":"\u0061lias/\u00e9"}`,
			want: request{KeyId: str("alias/é")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got request
			if err := DecodeJSON([]byte(tt.body), &got); err != nil {
				t.Fatalf("DecodeJSON(%q) = %v, want nil", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeJSON(%q) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

// An empty base64 string is an empty blob, not a missing one, so that the
// operations report a length violation rather than a missing member.
func TestDecodeJSONEmptyBlob(t *testing.T) {
	var got request
	if err := DecodeJSON([]byte(`{"Plaintext":""}`), &got); err != nil {
		t.Fatalf("DecodeJSON = %v", err)
	}
	if got.Plaintext == nil || len(got.Plaintext) != 0 {
		t.Errorf("Plaintext = %#v, want empty non-nil", got.Plaintext)
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	const notObject = "Request body is not a valid JSON object."
	tests := []struct {
		name   string
		body   string
		want   string // exact message; "" to check only the code and the secret
		secret string // must not appear in the message
	}{
		// Malformed JSON.
		{name: "open brace", body: `{`, want: notObject},
		{name: "missing value", body: `{"KeyId":}`, want: notObject},
		{name: "trailing comma", body: `{"KeyId":"a",}`, want: notObject},
		{name: "trailing data", body: `{"KeyId":"a"} {}`, want: notObject},
		{name: "single quotes", body: `{'KeyId':'a'}`, want: notObject},
		{name: "bare word", body: `hello`, want: notObject},
		{name: "duplicate member", body: `{"KeyId":"a","KeyId":"b"}`, want: notObject},
		{name: "invalid UTF-8", body: "{\"KeyId\":\"\xff\xfe\"}", want: notObject},
		{name: "array body", body: `[]`, want: notObject},
		{name: "string body", body: `"TOPSECRET"`, want: notObject, secret: "TOPSECRET"},
		{name: "number body", body: `12345`, want: notObject},
		{name: "unterminated string", body: `{"Plaintext":"TOPSECRET`, want: notObject, secret: "TOPSECRET"},
		// Members of the wrong type.
		{name: "number for string", body: `{"KeyId":5}`, want: "Unexpected value at /KeyId."},
		{name: "string for integer", body: `{"NumberOfBytes":"5"}`, want: "Unexpected value at /NumberOfBytes."},
		{name: "fraction for integer", body: `{"NumberOfBytes":1.5}`, want: "Unexpected value at /NumberOfBytes."},
		{name: "integer overflow", body: `{"Limit":1e300}`, want: "Unexpected value at /Limit."},
		{name: "string for bool", body: `{"DryRun":"true"}`, want: "Unexpected value at /DryRun."},
		{name: "array for map", body: `{"EncryptionContext":["a"]}`, want: "Unexpected value at /EncryptionContext."},
		{name: "object for list", body: `{"GrantTokens":{"a":"b"}}`, want: "Unexpected value at /GrantTokens."},
		{name: "nested member", body: `{"Tags":[{"TagKey":"k","TagValue":7}]}`, want: "Unexpected value at /Tags."},
		{name: "string for timestamp", body: `{"ValidTo":"2019-04-30T00:00:00Z"}`, want: "Unexpected value at /ValidTo."},
		{name: "timestamp out of range", body: `{"ValidTo":1e300}`, want: "Unexpected value at /ValidTo."},
		{name: "wrong type does not echo the value", body: `{"KeyId":["TOPSECRET"]}`, want: "Unexpected value at /KeyId.", secret: "TOPSECRET"},
		// Bad base64: the blob is never echoed.
		{name: "bad base64", body: `{"Plaintext":"TOPSECRET!!"}`, want: "Unexpected value at /Plaintext.", secret: "TOPSECRET"},
		{name: "unpadded base64", body: `{"Plaintext":"aGVsbG8"}`, want: "Unexpected value at /Plaintext."},
		{name: "number for blob", body: `{"CiphertextBlob":12}`, want: "Unexpected value at /CiphertextBlob."},
		{name: "nested blob", body: `{"Recipient":{"AttestationDocument":"%%%TOPSECRET"}}`, want: "Unexpected value at /Recipient.", secret: "TOPSECRET"},
		// The member names in the pointer are the client's input too, when
		// they are map keys.
		{name: "map key is not echoed", body: `{"EncryptionContext":{"TOPSECRET":1}}`, secret: "TOPSECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got request
			err := DecodeJSON([]byte(tt.body), &got)
			e, ok := As(err)
			if !ok {
				t.Fatalf("DecodeJSON(%q) = %v (%T), want *Error", tt.body, err, err)
			}
			if e.Code != "SerializationException" || e.Status != http.StatusBadRequest {
				t.Errorf("DecodeJSON(%q) = %s %d, want SerializationException 400", tt.body, e.Code, e.Status)
			}
			if tt.want != "" && e.Message != tt.want {
				t.Errorf("DecodeJSON(%q) message = %q, want %q", tt.body, e.Message, tt.want)
			}
			if tt.secret != "" && strings.Contains(e.Message, tt.secret) {
				t.Errorf("DecodeJSON(%q) message = %q, echoes the input %q", tt.body, e.Message, tt.secret)
			}
		})
	}
}

// A pointer to a long member name is cut short; the message must stay valid
// UTF-8, else it cannot be sent in a JSON error body.
func TestDecodeJSONLongPointerIsValidUTF8(t *testing.T) {
	for _, key := range []string{strings.Repeat("é", 100), strings.Repeat("a", 127) + "é€"} {
		body := `{"EncryptionContext":{"` + key + `":1}}`
		var got request
		e, ok := As(DecodeJSON([]byte(body), &got))
		if !ok {
			t.Fatalf("DecodeJSON(%q) did not fail with *Error", body)
		}
		if !utf8.ValidString(e.Message) {
			t.Errorf("DecodeJSON(%.40q...) message %q is not valid UTF-8", body, e.Message)
		}
		if len(e.Message) > 256 {
			t.Errorf("DecodeJSON message is %d bytes, want it bounded", len(e.Message))
		}
	}
}

func TestTimeMarshal(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1556582400, 0), "1556582400"},
		{time.UnixMilli(1556582400123), "1556582400.123"},
		{time.UnixMilli(1556582400500), "1556582400.5"},
		{time.Unix(0, 0), "0"},
		{time.Unix(1, 999_999_999), "1.999"}, // milliseconds, truncated
		{time.Date(2026, 8, 7, 12, 0, 0, 0, time.FixedZone("x", 3600)), "1786100400"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Time{tt.t})
		if err != nil {
			t.Fatalf("Marshal(%v) = %v", tt.t, err)
		}
		if string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, want %s", tt.t, b, tt.want)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, ms := range []int64{0, 1, 999, 1000, 1556582400000, 1556582400001, 1556582400123, 1556582400999, 1786100400777, 253402300799999} {
		in := Time{time.UnixMilli(ms)}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("Marshal(%d ms) = %v", ms, err)
		}
		var out Time
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("Unmarshal(%s) = %v", b, err)
		}
		if out.UnixMilli() != ms {
			t.Errorf("round trip of %d ms via %s = %d ms (%v)", ms, b, out.UnixMilli(), out.Time)
		}
		if out.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) location = %v, want UTC", b, out.Location())
		}
	}
}

func TestTimeUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "1.5565824E9", want: time.Date(2019, 4, 30, 0, 0, 0, 0, time.UTC)},
		{in: "1556582400", want: time.Date(2019, 4, 30, 0, 0, 0, 0, time.UTC)},
		{in: "1556582400.5", want: time.Date(2019, 4, 30, 0, 0, 0, 5e8, time.UTC)},
		{in: "-1.5", want: time.Unix(-2, 5e8).UTC()},
		{in: `"1556582400"`, wantErr: true},
		{in: "true", wantErr: true},
		{in: "{}", wantErr: true},
		{in: "1e13", wantErr: true},
		{in: "-1e13", wantErr: true},
	}
	for _, tt := range tests {
		var got Time
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.wantErr {
			if err == nil {
				t.Errorf("Unmarshal(%s) = %v, want error", tt.in, got.Time)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tt.in, got.Time, err, tt.want)
		}
	}
}

func TestTimePtr(t *testing.T) {
	if p := TimePtr(time.Time{}); p != nil {
		t.Errorf("TimePtr(zero) = %v, want nil", p)
	}
	now := time.Unix(1556582400, 0)
	if p := TimePtr(now); p == nil || !p.Equal(now) {
		t.Errorf("TimePtr(%v) = %v", now, p)
	}
	b, err := json.Marshal(struct {
		A *Time `json:",omitempty"`
		B *Time `json:",omitempty"`
	}{TimePtr(time.Time{}), TimePtr(now)})
	if err != nil || string(b) != `{"B":1556582400}` {
		t.Errorf("Marshal = %s, %v; want {\"B\":1556582400}", b, err)
	}
}

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "{}"},
		{"struct", struct {
			KeyId          string
			CiphertextBlob []byte
			Truncated      bool
		}{"k", []byte("hello"), false}, `{"KeyId":"k","CiphertextBlob":"aGVsbG8=","Truncated":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := WriteJSON(w, "req-1", tt.v); err != nil {
				t.Fatalf("WriteJSON = %v", err)
			}
			if w.Code != http.StatusOK {
				t.Errorf("status = %d, want 200", w.Code)
			}
			if got := w.Body.String(); got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
			checkHeaders(t, w, "req-1")
		})
	}
}

func TestWriteJSONErrorUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	if err := WriteJSON(w, "r", map[string]any{"c": make(chan int)}); err == nil {
		t.Error("WriteJSON(chan) = nil, want error")
	}
}

func checkHeaders(t *testing.T, w *httptest.ResponseRecorder, requestID string) {
	t.Helper()
	h := w.Result().Header
	if got := h.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("x-amzn-RequestId"); got != requestID {
		t.Errorf("x-amzn-RequestId = %q, want %q", got, requestID)
	}
	if got := h.Get("Content-Length"); got != strconv.Itoa(w.Body.Len()) {
		t.Errorf("Content-Length = %q, body is %d bytes", got, w.Body.Len())
	}
}

func TestWriteJSONError(t *testing.T) {
	tests := []struct {
		name       string
		err        *Error
		wantStatus int
		wantBody   string
	}{
		{
			name:       "not found",
			err:        Errorf("NotFoundException", "Key 'arn:aws:kms:us-east-1:111122223333:key/x' does not exist"),
			wantStatus: 400,
			wantBody:   `{"__type":"NotFoundException","message":"Key 'arn:aws:kms:us-east-1:111122223333:key/x' does not exist"}`,
		},
		{
			name:       "empty message",
			err:        Errorf("InvalidCiphertextException", ""),
			wantStatus: 400,
			wantBody:   `{"__type":"InvalidCiphertextException","message":""}`,
		},
		{
			name:       "internal",
			err:        Internal(),
			wantStatus: 500,
			wantBody:   `{"__type":"KMSInternalException","message":"An internal error occurred. Retry the request."}`,
		},
		{
			name:       "zero status uses StatusOf",
			err:        &Error{Code: "DependencyTimeoutException", Message: "m"},
			wantStatus: 503,
			wantBody:   `{"__type":"DependencyTimeoutException","message":"m"}`,
		},
		{
			name:       "quotes and controls are escaped",
			err:        Errorf("ValidationException", "Alias must start with the prefix \"alias/\".\n"),
			wantStatus: 400,
			wantBody:   `{"__type":"ValidationException","message":"Alias must start with the prefix \"alias/\".\n"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteJSONError(w, "req-2", tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("body = %s\nwant %s", got, tt.wantBody)
			}
			if got := w.Result().Header.Get("X-Amzn-ErrorType"); got != tt.err.Code {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tt.err.Code)
			}
			checkHeaders(t, w, "req-2")
		})
	}
}

// Whatever the message holds, the body must be one valid JSON object with
// both members: a client that cannot parse it cannot see the error code.
func TestWriteJSONErrorAlwaysValidJSON(t *testing.T) {
	for _, msg := range []string{"ok", "bad \xc3", "\xff\xfe", strings.Repeat("é", 63) + "\xc3"} {
		w := httptest.NewRecorder()
		WriteJSONError(w, "r", &Error{Code: "SerializationException", Message: msg, Status: 400})
		body := w.Body.Bytes()
		var got struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &got); err != nil || got.Type != "SerializationException" {
			t.Errorf("WriteJSONError(message %q) body = %q: %v", msg, body, err)
		}
	}
}

// FuzzDecodeJSON: decoding a request body never panics, and every failure is
// a SerializationException that can be sent back as a JSON error body.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"aGVsbG8="}`,
		`{"KeyId":"alias/app","Plaintext":"aGVsbG8=","EncryptionContext":{"dept":"10"},"EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
		`{"CiphertextBlob":"AQIDBAUGBwgJCgsMDQ4PEA==","EncryptionContext":{"a":"b"},"DryRun":true,"DryRunModifiers":["IGNORE_CIPHERTEXT"]}`,
		`{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","KeySpec":"AES_256"}`,
		`{"KeyId":"k","NumberOfBytes":32,"GrantTokens":["t"]}`,
		`{"NumberOfBytes":1024}`,
		`{"Limit":10,"Marker":"abc"}`,
		`{"KeyId":"k","Tags":[{"TagKey":"Purpose","TagValue":"Test"}]}`,
		`{"KeyId":"k","TagKeys":["Purpose"]}`,
		`{"KeyId":"k","PendingWindowInDays":7}`,
		`{"KeyId":"k","Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[]}","PolicyName":"default"}`,
		`{"KeyId":"k","ValidTo":1.5565824E9}`,
		`{"KeyId":"k","Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256","AttestationDocument":"AAAA"}}`,
		`{"KeyId":5}`,
		`{"Plaintext":"!!"}`,
		`{"EncryptionContext":{"a":1}}`,
		`[{"KeyId":"k"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got request
		err := DecodeJSON(body, &got)
		if err == nil {
			return
		}
		e, ok := As(err)
		if !ok {
			t.Fatalf("DecodeJSON(%q) = %v (%T), want *Error", body, err, err)
		}
		if e.Code != "SerializationException" || e.Status != http.StatusBadRequest {
			t.Fatalf("DecodeJSON(%q) = %s %d, want SerializationException 400", body, e.Code, e.Status)
		}
		if !utf8.ValidString(e.Message) || len(e.Message) > 256 {
			t.Fatalf("DecodeJSON(%q) message %q: invalid UTF-8 or too long", body, e.Message)
		}
		w := httptest.NewRecorder()
		WriteJSONError(w, "r", e)
		if !jsontext.Value(bytes.Clone(w.Body.Bytes())).IsValid() {
			t.Fatalf("WriteJSONError body for DecodeJSON(%q) is not valid JSON: %q", body, w.Body.Bytes())
		}
	})
}
