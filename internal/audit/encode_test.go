package audit

import (
	"bytes"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

// TestAppendJSONMatchesMarshal: the hand-written encoder says what
// json.Marshal of the tagged struct says.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	type params struct {
		KeyID string `json:"keyId"`
		Spec  string `json:"keySpec,omitempty"`
	}
	full := testEvent("Decrypt", 1, "ASIA1")
	full.UserIdentity.SessionContext = &SessionContext{
		SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROA1", ARN: "arn:aws:iam::111122223333:role/R", AccountID: testAccount, UserName: "R"},
		Attributes:    SessionAttrs{CreationDate: "2026-11-27T06:00:00Z", MFAAuthenticated: "true"},
	}
	full.ErrorCode, full.ErrorMessage = "AccessDeniedException", "User: x is not \"authorized\"\n<&>"
	full.TLSDetails = &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "kms.local"}
	full.Findings = []Finding{{Key: "user", Kind: KindEmail}}
	full.AdditionalEventData = map[string]any{"n": 3, "f": 1.5, "list": []any{"a", true, nil}, "s": []string{"x"}, "i64": int64(-7)}
	full.ResponseElements = params{KeyID: "k"}

	service := &Event{
		UserIdentity:        UserIdentity{AccountID: testAccount, InvokedBy: "kms.amazonaws.com"},
		EventName:           "RotateKey",
		EventType:           EventTypeServer,
		ServiceEventDetails: jsontext.Value("{\n  \"keyId\": \"k\"\n}"),
		Resources:           []Resource{{AccountID: testAccount, Type: ResourceTypeKey, ARN: keyARN(1)}},
	}
	odd := testEvent("Encrypt", 2, "AKIA2")
	odd.UserAgent = "bad \xff utf8 \u2028 and \x01 control"
	odd.RequestParameters = map[string]string{"z": "1", "a": "\xfe"}
	odd.Authorization = &Authorization{Decision: "Deny"}
	typed := testEvent("CreateKey", 3, "AKIA3")
	typed.RequestParameters = params{KeyID: "x", Spec: "SYMMETRIC_DEFAULT"}
	typed.Resources = nil

	for _, tc := range []struct {
		name string
		ev   *Event
	}{{"full", full}, {"service event", service}, {"odd strings", odd}, {"typed params", typed}} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ev.fillDefaults(newFakeClock().Now)
			got, err := tc.ev.appendJSON(nil)
			if err != nil {
				t.Fatalf("appendJSON = %v", err)
			}
			if bytes.ContainsAny(got, "\n\r") || !jsontext.Value(got).IsValid() {
				t.Fatalf("appendJSON = %s: not one valid line", got)
			}
			want, err := json.Marshal(tc.ev, jsontext.AllowInvalidUTF8(true))
			if err != nil {
				t.Fatal(err)
			}
			var g, w map[string]any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("appendJSON vs json.Marshal (-marshal +appendJSON):\n%s", diff)
			}
		})
	}
	bad := testEvent("Encrypt", 1, "A")
	bad.RequestParameters = map[string]any{"c": make(chan int)}
	if _, err := bad.appendJSON(nil); err == nil {
		t.Errorf("appendJSON(a channel) = nil error")
	}
}
