package audit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInspectContext(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  string // the kind, or "" for none
	}{
		// Positives.
		{"email", "jane.doe+billing@example.co.uk", KindEmail},
		{"email in text", "owner: bob@corp.example.com", KindEmail},
		{"visa", "4111111111111111", KindCardNumber},
		{"visa grouped", "4111 1111 1111 1111", KindCardNumber},
		{"mastercard dashed", "5500-0000-0000-0004", KindCardNumber},
		{"amex", "378282246310005", KindCardNumber},
		{"card in text", "card=6011111111111117;", KindCardNumber},
		{"ssn", "078-05-1120", KindNationalID},
		{"ssn in text", "ssn 219-09-9999 on file", KindNationalID},
		{"aws secret key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", KindHighEntropy},
		{"base64 key", "q3Zk9sT1xP0bR7mW2vY8nL4cJ6hF5dA1eG0iK3oU9tE=", KindHighEntropy},
		{"github token", "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", KindHighEntropy},
		{"hex key 256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", KindHighEntropy},
		{"jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", KindHighEntropy},

		// Negatives.
		{"uuid", "550e8400-e29b-41d4-a716-446655440000", ""},
		{"uuid upper", "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", ""},
		{"key arn", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", ""},
		{"s3 arn", "arn:aws:s3:::my-bucket-name/reports/2026/11/27/summary.csv", ""},
		{"words", "Finance department ledger", ""},
		{"long identifier", "ThisIsAVeryLongIdentifierNameForSomething", ""},
		{"path", "2026/11/27/reports/customer-data-export-final-v2", ""},
		{"account id", "111122223333", ""},
		{"epoch millis", "1764227400123", ""},
		{"luhn fails", "4111111111111112", ""},
		{"too short", "411111111111", ""},
		{"digits in an id", "order-4111111111111111x", ""},
		{"ssn area 000", "000-12-3456", ""},
		{"ssn area 9xx", "912-34-5678", ""},
		{"phone", "+1-555-867-5309", ""},
		{"date", "2026-11-27T07:00:00Z", ""},
		{"md5 hex", "d41d8cd98f00b204e9800998ecf8427e", ""},
		{"ip", "192.0.2.10", ""},
		{"at without domain", "team@home", ""},
		{"empty", "", ""},
		{"repeated", strings.Repeat("ab12", 16), ""},
		{"multi-region key id", "mrk-1234abcd12ab34cd56ef1234567890ab", ""},
		{"vpc and subnet", "vpc-0a1b2c3d4e5f67890/subnet-0123456789abcdef0", ""},
		{"camel case with digits", "ApplicationLoadBalancerListenerRule2026", ""},
		{"file path", "projects/2026/budget-Q4-final_version-03.xlsx", ""},
		{"lower-case random", "k3j5h2g8f9d0s7a6q1w4e5r2t8y9u0i3", KindHighEntropy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := InspectContext(map[string]string{"ctx": tc.value})
			var want []Finding
			if tc.want != "" {
				want = []Finding{{Key: "ctx", Kind: tc.want}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("InspectContext(%q) (-want +got):\n%s", tc.value, diff)
			}
		})
	}
}

func TestInspectContextKeys(t *testing.T) {
	ec := map[string]string{
		"Password":          "hunter2",
		"db_secret":         "x",
		"x-api-key":         "x",
		"AccessToken":       "x",
		"CredentialType":    "x",
		"private.key":       "x",
		"Department":        "Finance",
		"aws:s3:arn":        "arn:aws:s3:::bucket",
		"aws-crypto-public": "AmZvb2Jhcg==",
		"contact":           "ops@example.com",
	}
	got := InspectContext(ec)
	want := []Finding{
		{Key: "AccessToken", Kind: KindSensitiveKey},
		{Key: "CredentialType", Kind: KindSensitiveKey},
		{Key: "Password", Kind: KindSensitiveKey},
		{Key: "contact", Kind: KindEmail},
		{Key: "db_secret", Kind: KindSensitiveKey},
		{Key: "private.key", Kind: KindSensitiveKey},
		{Key: "x-api-key", Kind: KindSensitiveKey},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("InspectContext (-want +got):\n%s", diff)
	}
	// A finding never carries the value.
	for _, f := range InspectContext(map[string]string{"k": "4111111111111111 jane@example.com"}) {
		if strings.Contains(f.Key+f.Kind, "4111") || strings.Contains(f.Key+f.Kind, "jane") {
			t.Errorf("finding %+v repeats the value", f)
		}
	}
	if got := InspectContext(nil); got != nil {
		t.Errorf("InspectContext(nil) = %v", got)
	}
}
