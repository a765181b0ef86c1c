package org

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIDForms(t *testing.T) {
	tests := []struct {
		name  string
		valid func(string) bool
		id    string
		want  bool
	}{
		{"root", isRootID, "r-ab12", true},
		{"root long", isRootID, "r-" + strings.Repeat("a", 32), true},
		{"root too short", isRootID, "r-ab1", false},
		{"root too long", isRootID, "r-" + strings.Repeat("a", 33), false},
		{"root upper case", isRootID, "r-AB12", false},
		{"root no prefix", isRootID, "ab12", false},
		{"OU", isOUID, "ou-ab12-abcdefgh", true},
		{"OU no second part", isOUID, "ou-ab12", false},
		{"OU short second part", isOUID, "ou-ab12-abcdefg", false},
		{"OU short first part", isOUID, "ou-ab1-abcdefgh", false},
		{"OU bad character", isOUID, "ou-ab12-abcdefg_", false},
		{"account", isAccountID, "012345678901", true},
		{"account short", isAccountID, "01234567890", false},
		{"account letter", isAccountID, "01234567890a", false},
		{"policy", isPolicyID, "p-abcd1234", true},
		{"policy AWS-managed", isPolicyID, "p-FullAWSAccess", true},
		{"policy underscore", isPolicyID, "p-abcd_123", true},
		{"policy short", isPolicyID, "p-abc", false},
		{"policy dash", isPolicyID, "p-abcd-1234", false},
		{"create status", isCreateStatusID, "car-0123456789abcdef", true},
		{"create status short", isCreateStatusID, "car-0123", false},
		{"email", isEmail, "a@example.com", true},
		{"email no at", isEmail, "example.com", false},
		{"email no dot", isEmail, "a@example", false},
		{"email two ats", isEmail, "a@b@example.com", false},
		{"email space", isEmail, "a b@example.com", false},
		{"email dot last", isEmail, "a@example.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.valid(tt.id); got != tt.want {
				t.Errorf("valid(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestPage(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	n := func(v int32) *int32 { return &v }

	var got []string
	token := ""
	for i := 0; i < 5; i++ {
		p, next, err := page(items, id, paging{MaxResults: n(2), NextToken: token})
		if err != nil {
			t.Fatalf("page(token %q) = %v", token, err)
		}
		got = append(got, p...)
		if token = next; token == "" {
			break
		}
	}
	if !cmp.Equal(got, items) {
		t.Errorf("pages = %v, want %v", got, items)
	}

	// A token stays valid when the item it names is gone.
	_, next, _ := page(items, id, paging{MaxResults: n(2)})
	p, _, err := page([]string{"a", "c", "d"}, id, paging{MaxResults: n(2), NextToken: next})
	if err != nil || !cmp.Equal(p, []string{"c", "d"}) {
		t.Errorf("page after a deletion = %v, %v; want [c d]", p, err)
	}

	errs := []struct {
		name string
		p    paging
		want string
	}{
		{"zero", paging{MaxResults: n(0)}, "MIN_VALUE_EXCEEDED"},
		{"too many", paging{MaxResults: n(21)}, "MAX_VALUE_EXCEEDED"},
		{"bad token", paging{NextToken: "%%%"}, "INVALID_NEXT_TOKEN"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := page(items, id, tt.p)
			if code(err) != "InvalidInputException" || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("page(%+v) = %v, want InvalidInputException %s", tt.p, err, tt.want)
			}
		})
	}
}

func TestRandomString(t *testing.T) {
	s, err := randomString(bytes.NewReader(bytes.Repeat([]byte{255, 0, 35, 36}, 16)), lowerAlnum, 6)
	// 255 is above the largest multiple of 36 below 256 and is skipped.
	if err != nil || s != "a9aa9a" {
		t.Errorf("randomString = %q, %v; want \"a9aa9a\"", s, err)
	}
	if _, err := randomString(bytes.NewReader(nil), lowerAlnum, 4); err == nil {
		t.Errorf("randomString(empty reader) = nil error, want one")
	}
}

// The stored forms of Organizations documents never change: a new binary
// must read what an old one wrote.
func TestPersistedForms(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"organization", &organizationRec{ID: "o-abcdefghij", FeatureSet: "ALL", Management: "111122223333", Email: "e@x.com", RootID: "r-ab12", SCPEnabled: true, Created: when},
			`{"id":"o-abcdefghij","featureSet":"ALL","management":"111122223333","email":"e@x.com","rootId":"r-ab12","scpEnabled":true,"created":"2026-01-02T03:04:05Z"}`},
		{"account", &accountRec{ID: "123456789012", Name: "n", Email: "e@x.com", Parent: "r-ab12", Joined: "CREATED", Since: when, State: "ACTIVE"},
			`{"id":"123456789012","name":"n","email":"e@x.com","parent":"r-ab12","joined":"CREATED","since":"2026-01-02T03:04:05Z","state":"ACTIVE"}`},
		{"OU", &ouRec{ID: "ou-ab12-abcdefgh", Name: "n", Parent: "r-ab12"},
			`{"id":"ou-ab12-abcdefgh","name":"n","parent":"r-ab12"}`},
		{"policy", &policyRec{ID: "p-abcdefgh", Name: "n", Description: "d", Type: "SERVICE_CONTROL_POLICY", Content: "{}", Targets: []string{"r-ab12"}},
			`{"id":"p-abcdefgh","name":"n","description":"d","type":"SERVICE_CONTROL_POLICY","content":"{}","awsManaged":false,"targets":["r-ab12"]}`},
		{"create status", &createStatusRec{ID: "car-abcdefgh", AccountID: "123456789012", AccountName: "n", State: "SUCCEEDED", Requested: when, Completed: when},
			`{"id":"car-abcdefgh","accountId":"123456789012","accountName":"n","state":"SUCCEEDED","failureReason":"","requested":"2026-01-02T03:04:05Z","completed":"2026-01-02T03:04:05Z"}`},
		{"membership", &membershipRec{Organization: "o-abcdefghij", Management: "111122223333"},
			`{"organization":"o-abcdefghij","management":"111122223333"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := jsonMarshal(tt.v)
			if err != nil || string(b) != tt.want {
				t.Errorf("Marshal(%s) = %s, %v; want %s", tt.name, b, err, tt.want)
			}
		})
	}
	kinds := []string{kindOrganization, kindAccount, kindOU, kindPolicy, kindCreateStatus, kindMembership, nameOrganization, nameMembership}
	want := []string{"org/organization", "org/account", "org/ou", "org/policy", "org/create-status", "org/membership", "organization", "membership"}
	if !cmp.Equal(kinds, want) {
		t.Errorf("document kinds and names = %v, want %v", kinds, want)
	}
}
