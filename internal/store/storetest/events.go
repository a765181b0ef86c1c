package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/custoskms/custos/internal/store"
)

// eventIndex returns s as a store.EventIndex, or skips t: only stores that
// several nodes share implement it.
func eventIndex(t *testing.T, s store.Store) store.EventIndex {
	t.Helper()
	idx, ok := s.(store.EventIndex)
	if !ok {
		t.Skip("the store keeps no shared event index")
	}
	return idx
}

// indexedEvent returns event seq of node at second sec.
func indexedEvent(node string, seq uint64, sec int64, name string) store.IndexedEvent {
	return store.IndexedEvent{
		Node: node, Seq: seq, Time: time.Unix(1_800_000_000+sec, 0).UTC(),
		AccountIDs: []string{acct1}, Region: reg1,
		EventID: fmt.Sprintf("id-%s-%d", node, seq), EventName: name, EventSource: "kms.amazonaws.com",
		Username: "alice", AccessKeyID: "AKIAALICE", ReadOnly: name != "CreateKey",
		RequestID:     fmt.Sprintf("req-%s-%d", node, seq),
		ResourceNames: []string{}, ResourceTypes: []string{},
		Event: fmt.Appendf(nil, `{"eventID":"id-%s-%d"}`, node, seq),
	}
}

func positionOf(e store.IndexedEvent) *store.EventPosition {
	return &store.EventPosition{Time: e.Time, Node: e.Node, Seq: e.Seq}
}

func testEventIndex(t *testing.T, s store.Store) {
	idx := eventIndex(t, s)
	ctx := context.Background()
	const keyARN = "arn:aws:kms:us-east-1:111111111111:key/k1"
	use := func(e store.IndexedEvent) store.IndexedEvent {
		e.ResourceNames = []string{keyARN, "k1"}
		e.ResourceTypes = []string{"AWS::KMS::Key"}
		e.UsedKeys = []string{keyARN}
		return e
	}
	a1 := indexedEvent("a", 1, 0, "CreateKey")
	a2 := use(indexedEvent("a", 2, 1, "Encrypt"))
	a3 := indexedEvent("a", 3, 3, "ListKeys")
	a3.AccountIDs = []string{acct2}
	b1 := use(indexedEvent("b", 1, 1, "Decrypt"))
	b1.Username, b1.AccessKeyID = "bob", "AKIABOB"
	b2 := indexedEvent("b", 2, 2, "ListAliases")
	b2.Region = reg2
	b2.AccountIDs = []string{acct2, acct1} // a call from acct2 on a resource of acct1

	if got, err := idx.IndexedThrough(ctx, "a"); err != nil || got != 0 {
		t.Fatalf("IndexedThrough(a) on an empty index = %d, %v; want 0, nil", got, err)
	}
	if err := idx.PutEvents(ctx, []store.IndexedEvent{a1, a2}); err != nil {
		t.Fatalf("PutEvents(a1, a2): %v", err)
	}
	if err := idx.PutEvents(ctx, []store.IndexedEvent{b1, b2}); err != nil {
		t.Fatalf("PutEvents(b1, b2): %v", err)
	}
	// A replay after a crash: a2 again, then a3. Only a3 is new.
	if err := idx.PutEvents(ctx, []store.IndexedEvent{a2, a3}); err != nil {
		t.Fatalf("PutEvents(a2, a3): %v", err)
	}
	if err := idx.PutEvents(ctx, nil); err != nil {
		t.Errorf("PutEvents(nil) = %v, want nil", err)
	}
	if err := idx.PutEvents(ctx, []store.IndexedEvent{a3, a1}); err == nil {
		t.Errorf("PutEvents(a3, a1) = nil, want an error: seqs must ascend")
	}
	for node, want := range map[string]uint64{"a": 3, "b": 2, "c": 0} {
		if got, err := idx.IndexedThrough(ctx, node); err != nil || got != want {
			t.Errorf("IndexedThrough(%s) = %d, %v; want %d, nil", node, got, err, want)
		}
	}

	yes := true
	tests := []struct {
		name string
		f    store.EventFilter
		want []store.IndexedEvent
	}{
		{"all of one account and region, newest first", store.EventFilter{}, []store.IndexedEvent{b1, a2, a1}},
		{"same second: node orders", store.EventFilter{Start: a2.Time, End: a2.Time}, []store.IndexedEvent{b1, a2}},
		{"other account", store.EventFilter{AccountID: acct2}, []store.IndexedEvent{a3}},
		{"other region", store.EventFilter{Region: reg2}, []store.IndexedEvent{b2}},
		{"other region, other account", store.EventFilter{AccountID: acct2, Region: reg2}, []store.IndexedEvent{b2}},
		{"event name", store.EventFilter{EventName: "Encrypt"}, []store.IndexedEvent{a2}},
		{"event id", store.EventFilter{EventID: b1.EventID}, []store.IndexedEvent{b1}},
		{"username", store.EventFilter{Username: "bob"}, []store.IndexedEvent{b1}},
		{"access key", store.EventFilter{AccessKeyID: "AKIAALICE"}, []store.IndexedEvent{a2, a1}},
		{"event source", store.EventFilter{EventSource: "kms.amazonaws.com"}, []store.IndexedEvent{b1, a2, a1}},
		{"resource name ARN", store.EventFilter{ResourceName: keyARN}, []store.IndexedEvent{b1, a2}},
		{"resource name id", store.EventFilter{ResourceName: "k1"}, []store.IndexedEvent{b1, a2}},
		{"resource name partial", store.EventFilter{ResourceName: "k"}, nil},
		{"resource type", store.EventFilter{ResourceType: "AWS::KMS::Key"}, []store.IndexedEvent{b1, a2}},
		{"read only", store.EventFilter{ReadOnly: &yes}, []store.IndexedEvent{b1, a2}},
		{"start", store.EventFilter{Start: b1.Time}, []store.IndexedEvent{b1, a2}},
		{"end", store.EventFilter{End: a1.Time}, []store.IndexedEvent{a1}},
		{"limit", store.EventFilter{Limit: 2}, []store.IndexedEvent{b1, a2}},
		{"after", store.EventFilter{After: positionOf(b1)}, []store.IndexedEvent{a2, a1}},
		{"after the last", store.EventFilter{After: positionOf(a1)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if f.AccountID == "" {
				f.AccountID = acct1
			}
			if f.Region == "" {
				f.Region = reg1
			}
			if f.Limit == 0 {
				f.Limit = 50
			}
			got, err := idx.FindEvents(ctx, f)
			if err != nil {
				t.Fatalf("FindEvents: %v", err)
			}
			if diff := gocmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(store.IndexedEvent{}, "UsedKeys")); diff != "" {
				t.Errorf("FindEvents(%+v) (-want +got):\n%s", f, diff)
			}
		})
	}

	// Last use: the newest of the events that used the key, whichever node
	// indexed it and in whatever order.
	u, ok, err := idx.LastKeyUse(ctx, keyARN)
	if err != nil || !ok {
		t.Fatalf("LastKeyUse = _, %v, %v; want ok", ok, err)
	}
	if u.EventID != b1.EventID && u.EventID != a2.EventID || !u.Time.Equal(a2.Time) {
		t.Errorf("LastKeyUse = %+v, want the use at %v", u, a2.Time)
	}
	older := use(indexedEvent("c", 1, -10, "Sign"))
	if err := idx.PutEvents(ctx, []store.IndexedEvent{older}); err != nil {
		t.Fatal(err)
	}
	if u2, _, _ := idx.LastKeyUse(ctx, keyARN); u2.EventID != u.EventID {
		t.Errorf("LastKeyUse after an older use = %s, want %s still", u2.EventID, u.EventID)
	}
	newer := use(indexedEvent("c", 2, 100, "Sign"))
	if err := idx.PutEvents(ctx, []store.IndexedEvent{newer}); err != nil {
		t.Fatal(err)
	}
	wantUse := store.IndexedEvent{Time: newer.Time, EventName: "Sign", EventID: newer.EventID, RequestID: newer.RequestID}
	if u3, _, _ := idx.LastKeyUse(ctx, keyARN); !gocmp.Equal(u3, wantUse) {
		t.Errorf("LastKeyUse after a newer use = %+v, want %+v", u3, wantUse)
	}
	if _, ok, err := idx.LastKeyUse(ctx, "arn:aws:kms:us-east-1:111111111111:key/unused"); ok || err != nil {
		t.Errorf("LastKeyUse(unused key) = _, %v, %v; want false, nil", ok, err)
	}

	// Deletion removes what is older, may keep an older event with a newer
	// one of its PutEvents call (b1 with b2), and keeps last uses and
	// indexed positions: a replay of deleted events adds nothing.
	n, err := idx.DeleteEventsBefore(ctx, b2.Time)
	if err != nil || n < 3 || n > 4 {
		t.Fatalf("DeleteEventsBefore = %d, %v; want 3 or 4 (a1, a2, c1, perhaps b1), nil", n, err)
	}
	if err := idx.PutEvents(ctx, []store.IndexedEvent{a1, a2}); err != nil {
		t.Fatal(err)
	}
	got, err := idx.FindEvents(ctx, store.EventFilter{AccountID: acct1, Region: reg1, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.IndexedEvent{newer}
	if n == 3 {
		want = append(want, b1)
	}
	if diff := gocmp.Diff(want, got, cmpopts.IgnoreFields(store.IndexedEvent{}, "UsedKeys")); diff != "" {
		t.Errorf("FindEvents after deletion and replay (-want +got):\n%s", diff)
	}
	if _, ok, _ := idx.LastKeyUse(ctx, keyARN); !ok {
		t.Errorf("LastKeyUse after deletion: none, want kept")
	}
}

// testEventIndexText stores text PostgreSQL's text type refuses (invalid
// UTF-8, NUL) without failing: a forged access key id must not stall the
// index.
func testEventIndexText(t *testing.T, s store.Store) {
	idx := eventIndex(t, s)
	ctx := context.Background()
	e := indexedEvent("n", 1, 0, "Encrypt")
	e.AccessKeyID = "AKIA\x00\xff\xfe"
	e.ResourceNames = []string{"bad\xc3"}
	if err := idx.PutEvents(ctx, []store.IndexedEvent{e}); err != nil {
		t.Fatalf("PutEvents(invalid text) = %v, want nil", err)
	}
	got, err := idx.FindEvents(ctx, store.EventFilter{AccountID: acct1, Region: reg1, Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("FindEvents = %d events, %v; want 1", len(got), err)
	}
	if got[0].EventID != e.EventID {
		t.Errorf("FindEvents()[0].EventID = %q, want %q", got[0].EventID, e.EventID)
	}
}

// testEventIndexPages pages through events of three nodes, put in batches
// of random sizes with times that overlap across batches and nodes, and
// checks every page against the same filter applied to all events by hand.
func testEventIndexPages(t *testing.T, s store.Store) {
	idx := eventIndex(t, s)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	names := []string{"Encrypt", "Decrypt", "Sign"}
	var all []store.IndexedEvent
	for _, node := range []string{"n1", "n2", "n3"} {
		var evs []store.IndexedEvent
		sec := int64(0)
		for seq := uint64(1); seq <= 150; seq++ {
			sec += rng.Int64N(3) // several events per second, times ascending per node
			e := indexedEvent(node, seq, sec, names[rng.IntN(len(names))])
			if rng.IntN(4) == 0 {
				e.ResourceNames = []string{"k1"}
			}
			evs = append(evs, e)
		}
		for len(evs) > 0 {
			n := min(len(evs), 1+rng.IntN(40))
			if err := idx.PutEvents(ctx, evs[:n]); err != nil {
				t.Fatalf("PutEvents: %v", err)
			}
			all = append(all, evs[:n]...)
			evs = evs[n:]
		}
	}
	slices.SortFunc(all, func(a, b store.IndexedEvent) int {
		return cmpPosition(b, a) // newest first
	})
	base := all[len(all)-1].Time
	for _, tc := range []struct {
		name string
		f    store.EventFilter
		keep func(e store.IndexedEvent) bool
	}{
		{"all", store.EventFilter{}, func(store.IndexedEvent) bool { return true }},
		{"event name", store.EventFilter{EventName: "Sign"}, func(e store.IndexedEvent) bool { return e.EventName == "Sign" }},
		{"resource name", store.EventFilter{ResourceName: "k1"}, func(e store.IndexedEvent) bool { return len(e.ResourceNames) > 0 }},
		{"time range", store.EventFilter{Start: base.Add(20 * time.Second), End: base.Add(40 * time.Second)}, func(e store.IndexedEvent) bool {
			return !e.Time.Before(base.Add(20*time.Second)) && !e.Time.After(base.Add(40*time.Second))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, e := range all {
				if tc.keep(e) {
					want = append(want, e.EventID)
				}
			}
			f := tc.f
			f.AccountID, f.Region, f.Limit = acct1, reg1, 7
			var got []string
			for page := 0; ; page++ {
				evs, err := idx.FindEvents(ctx, f)
				if err != nil {
					t.Fatalf("FindEvents page %d: %v", page, err)
				}
				for _, e := range evs {
					got = append(got, e.EventID)
				}
				if len(evs) < f.Limit || page > 100 {
					break
				}
				f.After = positionOf(evs[len(evs)-1])
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("paged FindEvents (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpPosition orders events oldest first, as FindEvents' positions do.
func cmpPosition(a, b store.IndexedEvent) int {
	return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Node, b.Node), cmp.Compare(a.Seq, b.Seq))
}
