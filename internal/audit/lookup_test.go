package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

// lookupTrail holds 60 events over 60 minutes: event i is at minute i, on
// key i%3, by access key AKIA<i%2>; every tenth is a failed Decrypt, the
// others Encrypt, and event 7 is a DescribeKey by an assumed role.
func lookupTrail(t *testing.T) (*Log, []*Event) {
	t.Helper()
	clock := newFakeClock()
	l, _ := openTest(t, Options{Now: clock.Now, SegmentMaxBytes: 16 << 10})
	t.Cleanup(func() { l.Close() })
	var evs []*Event
	for i := 0; i < 60; i++ {
		name := "Encrypt"
		if i%10 == 0 {
			name = "Decrypt"
		}
		ev := testEvent(name, i%3, fmt.Sprintf("AKIA%d", i%2))
		if i%10 == 0 {
			ev.ErrorCode = "IncorrectKeyException"
			ev.ErrorMessage = "The key ID in the request does not identify a CMK that can perform this operation."
		}
		if i == 7 {
			ev.EventName = "DescribeKey"
			ev.UserIdentity = UserIdentity{Type: "AssumedRole", PrincipalID: "AROAEXAMPLE:build", AccountID: testAccount,
				ARN: "arn:aws:sts::111122223333:assumed-role/Builder/build-42", AccessKeyID: "ASIAEXAMPLE",
				SessionContext: &SessionContext{Attributes: SessionAttrs{CreationDate: "2026-11-27T06:00:00Z", MFAAuthenticated: "false"}}}
		}
		if err := l.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
		clock.Add(time.Minute)
	}
	return l, evs
}

func ids(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.EventID)
	}
	return out
}

// lookupCase is a query of lookupTrail's events and the ids it finds.
type lookupCase struct {
	name string
	q    Query
	want []string
}

// lookupCases are queries of the trail lookupTrail made of evs, for every
// implementation of lookup.
func lookupCases(evs []*Event) []lookupCase {
	want := func(pick func(i int, e *Event) bool) []string {
		var out []string
		for i := len(evs) - 1; i >= 0; i-- {
			if pick(i, evs[i]) {
				out = append(out, evs[i].EventID)
			}
		}
		return out
	}
	yes := true
	base := evs[0].EventTime
	return []lookupCase{
		{"all, first page", Query{}, want(func(i int, _ *Event) bool { return i >= 10 })},
		{"max 3", Query{MaxResults: 3}, want(func(i int, _ *Event) bool { return i >= 57 })},
		{"event name", Query{EventName: "Decrypt"}, want(func(i int, _ *Event) bool { return i%10 == 0 })},
		{"resource ARN", Query{ResourceName: keyARN(1)}, want(func(i int, e *Event) bool { return i%3 == 1 })[:20]},
		{"resource key id", Query{ResourceName: strings.TrimPrefix(keyARN(2), "arn:aws:kms:us-east-1:111122223333:key/")}, want(func(i int, e *Event) bool { return i%3 == 2 })},
		{"username of a role session", Query{Username: "build-42"}, want(func(i int, _ *Event) bool { return i == 7 })},
		{"username of a user", Query{Username: "alice", StartTime: base.Add(50 * time.Minute)}, want(func(i int, _ *Event) bool { return i >= 50 })},
		{"access key", Query{AccessKeyID: "AKIA1", EndTime: base.Add(9 * time.Minute)}, want(func(i int, _ *Event) bool { return i%2 == 1 && i <= 9 && i != 7 })},
		{"event id", Query{EventID: evs[33].EventID}, []string{evs[33].EventID}},
		{"read only", Query{ReadOnly: &yes, EventName: "DescribeKey"}, want(func(i int, _ *Event) bool { return i == 7 })},
		{"time range", Query{StartTime: base.Add(20 * time.Minute), EndTime: base.Add(22 * time.Minute)}, want(func(i int, _ *Event) bool { return i >= 20 && i <= 22 })},
		{"time range within seconds", Query{StartTime: base.Add(20*time.Minute + 300*time.Millisecond), EndTime: base.Add(22*time.Minute + 700*time.Millisecond)}, want(func(i int, _ *Event) bool { return i >= 20 && i <= 22 })},
		{"event source", Query{EventSource: "cloudtrail.amazonaws.com"}, nil},
		{"resource type", Query{ResourceType: "AWS::KMS::Key", MaxResults: 2}, want(func(i int, _ *Event) bool { return i >= 58 })},
		{"scope", Query{Scope: testScope, EventName: "Decrypt"}, want(func(i int, _ *Event) bool { return i%10 == 0 })},
		{"scope of the other region", Query{Scope: Scope{AccountID: testAccount, Region: "eu-west-1"}}, nil},
		{"scope of another account", Query{Scope: Scope{AccountID: "444455556666", Region: testRegion}}, nil},
	}
}

func TestLookup(t *testing.T) {
	l, evs := lookupTrail(t)
	for _, tc := range lookupCases(evs) {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := l.Lookup(tc.q)
			if err != nil {
				t.Fatalf("Lookup(%+v) = %v", tc.q, err)
			}
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Errorf("Lookup(%+v) ids (-want +got):\n%s", tc.q, diff)
			}
		})
	}
}

func TestLookupPages(t *testing.T) {
	l, evs := lookupTrail(t)
	var got []string
	q := Query{MaxResults: 7, AccessKeyID: "AKIA0"}
	for pages := 0; ; pages++ {
		page, next, err := l.Lookup(q)
		if err != nil {
			t.Fatalf("Lookup page %d = %v", pages, err)
		}
		got = append(got, ids(page)...)
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("too many pages")
		}
		q.NextToken = next
	}
	var want []string
	for i := len(evs) - 1; i >= 0; i-- {
		if i%2 == 0 {
			want = append(want, evs[i].EventID)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged ids (-want +got):\n%s", diff)
	}
	// A token is bound to its query.
	_, next, _ := l.Lookup(Query{MaxResults: 1})
	for _, tc := range []struct {
		name string
		q    Query
		code string
	}{
		{"other filters", Query{NextToken: next, EventName: "Encrypt"}, "InvalidNextTokenException"},
		{"garbage token", Query{NextToken: "!!"}, "InvalidNextTokenException"},
		{"max results 51", Query{MaxResults: 51}, "InvalidMaxResultsException"},
		{"max results -1", Query{MaxResults: -1}, "InvalidMaxResultsException"},
		{"reversed time", Query{StartTime: time.Unix(100, 0), EndTime: time.Unix(50, 0)}, "InvalidTimeRangeException"},
	} {
		_, _, err := l.Lookup(tc.q)
		if e, ok := awsproto.As(err); !ok || e.Code != tc.code {
			t.Errorf("Lookup(%s) = %v, want %s", tc.name, err, tc.code)
		}
	}
}

func TestLookupEvents(t *testing.T) {
	l, evs := lookupTrail(t)
	ctx := context.Background()
	body := fmt.Sprintf(`{"LookupAttributes":[{"AttributeKey":"EventId","AttributeValue":%q}],"MaxResults":5}`, evs[7].EventID)
	out, err := l.LookupEvents(ctx, testScope, []byte(body))
	if err != nil {
		t.Fatalf("LookupEvents(%s) = %v", body, err)
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Events []struct {
			EventId, EventName, ReadOnly, AccessKeyId, EventSource, Username, CloudTrailEvent string
			EventTime                                                                         float64
			Resources                                                                         []struct{ ResourceType, ResourceName string }
		}
		NextToken *string
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		t.Fatalf("reply %s: %v", data, err)
	}
	if len(resp.Events) != 1 || resp.NextToken != nil {
		t.Fatalf("reply %s: want one event and no NextToken", data)
	}
	e := resp.Events[0]
	if e.EventId != evs[7].EventID || e.EventName != "DescribeKey" || e.ReadOnly != "true" || e.AccessKeyId != "ASIAEXAMPLE" ||
		e.EventSource != "kms.amazonaws.com" || e.Username != "build-42" || e.EventTime != float64(evs[7].EventTime.Unix()) {
		t.Errorf("event = %+v", e)
	}
	if len(e.Resources) != 1 || e.Resources[0].ResourceType != "AWS::KMS::Key" || e.Resources[0].ResourceName != keyARN(1) {
		t.Errorf("resources = %+v", e.Resources)
	}
	var inner Event
	if err := json.Unmarshal([]byte(e.CloudTrailEvent), &inner); err != nil || inner.EventID != evs[7].EventID || inner.UserIdentity.SessionContext == nil {
		t.Errorf("CloudTrailEvent = %s (%v)", e.CloudTrailEvent, err)
	}

	// Time range and paging over the wire.
	start, end := evs[10].EventTime.Unix(), evs[19].EventTime.Unix()
	body = fmt.Sprintf(`{"StartTime":%d,"EndTime":%d.0,"MaxResults":6}`, start, end)
	out, err = l.LookupEvents(ctx, testScope, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := out.(*LookupEventsResponse)
	if len(r.Events) != 6 || r.NextToken == "" || r.Events[0].EventID != evs[19].EventID {
		t.Fatalf("first page: %d events, token %q", len(r.Events), r.NextToken)
	}
	body = fmt.Sprintf(`{"StartTime":%d,"EndTime":%d.0,"MaxResults":6,"NextToken":%q}`, start, end, r.NextToken)
	out, err = l.LookupEvents(ctx, testScope, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*LookupEventsResponse); len(r.Events) != 4 || r.NextToken != "" || r.Events[3].EventID != evs[10].EventID {
		t.Fatalf("second page: %d events, token %q", len(r.Events), r.NextToken)
	}

	for _, tc := range []struct{ body, code string }{
		{`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"A"},{"AttributeKey":"Username","AttributeValue":"B"}]}`, "InvalidLookupAttributesException"},
		{`{"LookupAttributes":[{"AttributeKey":"Color","AttributeValue":"red"}]}`, "InvalidLookupAttributesException"},
		{`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":""}]}`, "InvalidLookupAttributesException"},
		{`{"LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"maybe"}]}`, "InvalidLookupAttributesException"},
		{`{"StartTime":200,"EndTime":100}`, "InvalidTimeRangeException"},
		{`{"MaxResults":0}`, "InvalidMaxResultsException"},
		{`{"MaxResults":500}`, "InvalidMaxResultsException"},
		{`{"NextToken":"bm90IGEgdG9rZW4"}`, "InvalidNextTokenException"},
		{`{"NextToken":""}`, "InvalidNextTokenException"},
		{`{"EventCategory":"data"}`, "InvalidEventCategoryException"},
		{`{"MaxResults":"ten"}`, "SerializationException"},
		{`[`, "SerializationException"},
	} {
		_, err := l.LookupEvents(ctx, testScope, []byte(tc.body))
		if e, ok := awsproto.As(err); !ok || e.Code != tc.code {
			t.Errorf("LookupEvents(%s) = %v, want %s", tc.body, err, tc.code)
		}
	}
	out, err = l.LookupEvents(ctx, testScope, []byte(`{"EventCategory":"insight"}`))
	if r, ok := out.(*LookupEventsResponse); err != nil || !ok || len(r.Events) != 0 {
		t.Errorf("LookupEvents(insight) = %v, %v; want no events", out, err)
	}
	out, err = l.LookupEvents(ctx, testScope, nil)
	if r, ok := out.(*LookupEventsResponse); err != nil || !ok || len(r.Events) != 50 || r.NextToken == "" {
		t.Errorf("LookupEvents(empty body) = %v; want 50 events and a token", err)
	}
}

// TestLookupSeesAppendsAcrossReopen: the index rebuilt by Open serves the
// same answers.
func TestLookupAfterReopen(t *testing.T) {
	clock := newFakeClock()
	l, dir := openTest(t, Options{Now: clock.Now, SegmentMaxBytes: 4 << 10})
	appendN(t, l, 25, "Encrypt")
	before, _, err := l.Lookup(Query{ResourceName: keyARN(3)})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openAt(t, dir, Options{Now: clock.Now, SegmentMaxBytes: 4 << 10})
	defer l.Close()
	after, _, err := l.Lookup(Query{ResourceName: keyARN(3)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(before), ids(after)); diff != "" || len(after) != 5 {
		t.Errorf("after reopen (-before +after):\n%s (%d events, want 5)", diff, len(after))
	}
}
