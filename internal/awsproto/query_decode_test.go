package awsproto

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQueryList(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string
		wantErr bool
	}{
		{"absent", "Action=X", nil, false},
		{"empty list", "Action=X&ActionNames=", []string{}, false},
		{"in index order", "ActionNames.member.2=b&ActionNames.member.10=c&ActionNames.member.1=a", []string{"a", "b", "c"}, false},
		{"gaps", "ActionNames.member.3=c&ActionNames.member.1=a", []string{"a", "c"}, false},
		{"values unescaped", "ActionNames.member.1=kms%3ADecrypt", []string{"kms:Decrypt"}, false},
		{"other lists ignored", "ActionNames.member.1=a&ResourceArns.member.1=r", []string{"a"}, false},
		{"index zero", "ActionNames.member.0=a", nil, true},
		{"leading zero", "ActionNames.member.01=a", nil, true},
		{"not a number", "ActionNames.member.x=a", nil, true},
		{"sign", "ActionNames.member.+1=a", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form, err := url.ParseQuery(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := QueryList(form, "ActionNames")
			if (err != nil) != tc.wantErr {
				t.Fatalf("QueryList(%q) error = %v, want error %v", tc.body, err, tc.wantErr)
			}
			if err != nil {
				if e, ok := As(err); !ok || e.Code != "SerializationException" {
					t.Errorf("QueryList(%q) error = %v, want SerializationException", tc.body, err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || (tc.want == nil) != (got == nil) {
				t.Errorf("QueryList(%q) = %#v, want %#v", tc.body, got, tc.want)
			}
		})
	}
}

func TestQueryListLimit(t *testing.T) {
	form := url.Values{}
	for i := 1; i <= MaxQueryMembers+1; i++ {
		form.Set("L.member."+strconv.Itoa(i), "x")
	}
	if _, err := QueryList(form, "L"); err == nil {
		t.Errorf("QueryList of %d members = nil error, want an error", MaxQueryMembers+1)
	}
}

func TestQueryStructsAndTags(t *testing.T) {
	body := "ContextEntries.member.2.ContextKeyName=b&ContextEntries.member.2.ContextKeyValues.member.1=v2&" +
		"ContextEntries.member.1.ContextKeyName=a&ContextEntries.member.1.ContextKeyType=string&" +
		"ContextEntries.member.1.ContextKeyValues.member.2=y&ContextEntries.member.1.ContextKeyValues.member.1=x&" +
		"Tags.member.1.Key=team&Tags.member.1.Value=blue&Tags.member.2.Key=empty"
	form, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := QueryStructs(form, "ContextEntries")
	if err != nil || len(entries) != 2 {
		t.Fatalf("QueryStructs = %v, %v; want 2 entries", entries, err)
	}
	if got := entries[0].Get("ContextKeyName"); got != "a" {
		t.Errorf("entry 1 name = %q, want a", got)
	}
	vals, err := QueryList(entries[0], "ContextKeyValues")
	if err != nil || !cmp.Equal(vals, []string{"x", "y"}) {
		t.Errorf("entry 1 values = %v, %v; want [x y]", vals, err)
	}
	if got := entries[1].Get("ContextKeyType"); got != "" {
		t.Errorf("entry 2 type = %q, want none", got)
	}
	tags, err := QueryTags(form, "Tags")
	want := []QueryTag{{"team", "blue"}, {"empty", ""}}
	if err != nil || !cmp.Equal(tags, want) {
		t.Errorf("QueryTags = %v, %v; want %v", tags, err, want)
	}
	if tags, err := QueryTags(form, "Missing"); tags != nil || err != nil {
		t.Errorf("QueryTags(absent) = %v, %v; want nil", tags, err)
	}
	if _, err := QueryStructs(url.Values{"S.member.1": {"x"}}, "S"); err == nil {
		t.Errorf("QueryStructs with a member that is not a structure = nil error")
	}
}

func FuzzQueryDecode(f *testing.F) {
	for _, s := range []string{
		"Action=SimulateCustomPolicy&ActionNames.member.1=kms%3ADecrypt&PolicyInputList.member.1=%7B%7D",
		"ContextEntries.member.1.ContextKeyName=a&ContextEntries.member.1.ContextKeyValues.member.1=x",
		"Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.3.Key=c",
		"PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3A1%3Apolicy%2Fp",
		"L.member.99999999999999999999=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		for _, name := range []string{"ActionNames", "L", "Tags", "ContextEntries", "PolicyArns"} {
			list, err := QueryList(form, name)
			if err == nil && len(list) > MaxQueryMembers {
				t.Errorf("QueryList(%q) = %d members", body, len(list))
			}
			structs, err := QueryStructs(form, name)
			if err != nil {
				continue
			}
			for _, s := range structs {
				QueryList(s, "ContextKeyValues")
			}
			QueryTags(form, name)
		}
	})
}
