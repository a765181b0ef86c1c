package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/pgtest"
	"github.com/custoskms/custos/internal/store"
	"github.com/custoskms/custos/internal/store/postgres"
)

// testIndex returns a shared event index in a PostgreSQL schema of its own,
// or skips the test without the test database.
func testIndex(t testing.TB) store.EventIndex {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.Schema(t, "audit_"))
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestMirrorAnswersAsTheLog: the index answers every query of lookupCases
// as the trail itself does, page by page, and knows the same last uses.
func TestMirrorAnswersAsTheLog(t *testing.T) {
	idx := testIndex(t)
	l, evs := lookupTrail(t)
	m := NewMirror(l, idx, MirrorOptions{})
	ctx := context.Background()
	for _, tc := range lookupCases(evs) {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := m.find(ctx, scoped(tc.q))
			if err != nil {
				t.Fatalf("Mirror.find(%+v) = %v", tc.q, err)
			}
			if diff := cmp.Diff(tc.want, hitIDs(got)); diff != "" {
				t.Errorf("Mirror.find(%+v) ids (-want +got):\n%s", tc.q, diff)
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		pages := func(find func(Query) ([]hit, string, error)) []string {
			var out []string
			q := Query{MaxResults: 7, AccessKeyID: "AKIA0"}
			for range 20 {
				page, next, err := find(q)
				if err != nil {
					t.Fatalf("page after %d events: %v", len(out), err)
				}
				out = append(out, hitIDs(page)...)
				if next == "" {
					return out
				}
				q.NextToken = next
			}
			t.Fatal("too many pages")
			return nil
		}
		want := pages(l.lookup)
		got := pages(func(q Query) ([]hit, string, error) { return m.find(ctx, scoped(q)) })
		if diff := cmp.Diff(want, got); diff != "" || len(got) != 30 {
			t.Errorf("paged ids from the index (-trail +index):\n%s", diff)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		_, logTok, _ := l.lookup(Query{MaxResults: 1})
		_, idxTok, _ := m.find(ctx, scoped(Query{MaxResults: 1}))
		for _, tc := range []struct {
			name string
			q    Query
		}{
			{"a token of the local trail", scoped(Query{NextToken: logTok})},
			{"a token of other filters", scoped(Query{NextToken: idxTok, EventName: "Encrypt"})},
			{"a token of another account", Query{NextToken: idxTok, Scope: Scope{AccountID: "444455556666", Region: testRegion}}},
			{"garbage", scoped(Query{NextToken: "!!"})},
			{"too short", scoped(Query{NextToken: "Ag"})},
		} {
			_, _, err := m.find(ctx, tc.q)
			if e, ok := awsproto.As(err); !ok || e.Code != "InvalidNextTokenException" {
				t.Errorf("Mirror.find(%s) = %v, want InvalidNextTokenException", tc.name, err)
			}
		}
	})

	t.Run("LookupEvents", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"MaxResults":5}`, `{"LookupAttributes":[{"AttributeKey":"Username","AttributeValue":"build-42"}]}`} {
			want, err := l.LookupEvents(ctx, testScope, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.LookupEvents(ctx, testScope, []byte(body))
			if err != nil {
				t.Fatalf("Mirror.LookupEvents(%s) = %v", body, err)
			}
			if diff := cmp.Diff(want.(*LookupEventsResponse).Events, got.(*LookupEventsResponse).Events); diff != "" {
				t.Errorf("Mirror.LookupEvents(%s) events (-trail +index):\n%s", body, diff)
			}
		}
	})

	t.Run("KeyLastUse", func(t *testing.T) {
		for n := range 4 {
			want, wantOK, _ := l.KeyLastUse(ctx, keyARN(n))
			got, ok, err := m.KeyLastUse(ctx, keyARN(n))
			if err != nil || ok != wantOK || got != want {
				t.Errorf("Mirror.KeyLastUse(key %d) = %+v, %v, %v; want %+v, %v", n, got, ok, err, want, wantOK)
			}
		}
	})
}

// scoped returns q in testScope unless it has a scope: the index always
// answers for one account and Region.
func scoped(q Query) Query {
	if q.Scope == (Scope{}) {
		q.Scope = testScope
	}
	return q
}

func hitIDs(hs []hit) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.ev.EventID)
	}
	return out
}

// TestMirrorNodes: two nodes share one index; each sees the other's
// records, Run copies by itself, and a node that starts again copies what
// it had not, without copying anything twice.
func TestMirrorNodes(t *testing.T) {
	idx := testIndex(t)
	ctx := context.Background()
	clock := newFakeClock()
	a, dirA := openTest(t, Options{Now: clock.Now})
	b, _ := openTest(t, Options{Now: clock.Now, SigningKey: testKey(2)})
	defer b.Close()
	if a.NodeID() == b.NodeID() {
		t.Fatalf("two trails share the node id %s", a.NodeID())
	}
	appendN(t, a, 3, "Encrypt")
	appendN(t, b, 2, "Decrypt")
	ma, mb := NewMirror(a, idx, MirrorOptions{}), NewMirror(b, idx, MirrorOptions{})
	if err := ma.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	count := func(name string) int {
		t.Helper()
		hits, _, err := mb.find(ctx, Query{EventName: name, Scope: testScope})
		if err != nil {
			t.Fatalf("find(%s): %v", name, err)
		}
		return len(hits)
	}
	if got := count("Encrypt"); got != 3 {
		t.Errorf("node b sees %d of node a's Encrypts, want 3", got)
	}
	if got := count("Decrypt"); got != 2 {
		t.Errorf("node b sees %d of its own Decrypts, want 2 (its lookups copy first)", got)
	}

	// Node a stops before copying two records, and starts again.
	appendN(t, a, 2, "Encrypt")
	a.Close()
	a = openAt(t, dirA, Options{Now: clock.Now})
	defer a.Close()
	appendN(t, a, 1, "Encrypt")
	ma = NewMirror(a, idx, MirrorOptions{Interval: 5 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ma.Run(runCtx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for count("Encrypt") != 6 {
		if time.Now().After(deadline) {
			t.Fatalf("node b sees %d Encrypts 10 s after node a started again, want 6", count("Encrypt"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Run copies what is left when it stops.
	appendN(t, a, 1, "Sign")
	stop()
	<-done
	if got := count("Sign"); got != 1 {
		t.Errorf("after Run stopped, node b sees %d Signs, want 1", got)
	}
	if through, err := idx.IndexedThrough(ctx, a.NodeID()); err != nil || through != 7 {
		t.Errorf("IndexedThrough(a) = %d, %v; want 7", through, err)
	}
}

// downIndex is an index whose database is out of reach.
type downIndex struct{ store.EventIndex }

var errDown = fmt.Errorf("test: %w", store.ErrUnavailable)

func (downIndex) IndexedThrough(context.Context, string) (uint64, error) { return 0, errDown }

// TestMirrorIndexDown: without its index, LookupEvents answers a
// retryable ServiceUnavailable and KeyLastUse the store's error.
func TestMirrorIndexDown(t *testing.T) {
	l, _ := openTest(t, Options{})
	defer l.Close()
	appendN(t, l, 1, "Encrypt")
	m := NewMirror(l, downIndex{}, MirrorOptions{})
	ctx := context.Background()
	_, err := m.LookupEvents(ctx, testScope, []byte(`{}`))
	if e, ok := awsproto.As(err); !ok || e.Code != "ServiceUnavailable" || e.Status != 503 {
		t.Errorf("LookupEvents with the index down = %v, want ServiceUnavailable (503)", err)
	}
	if _, _, err := m.KeyLastUse(ctx, keyARN(0)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("KeyLastUse with the index down = %v, want store.ErrUnavailable", err)
	}
	_, err = m.LookupEvents(ctx, testScope, []byte(`{"MaxResults":99}`))
	if e, ok := awsproto.As(err); !ok || e.Code != "InvalidMaxResultsException" {
		t.Errorf("LookupEvents(MaxResults 99) with the index down = %v, want InvalidMaxResultsException first", err)
	}
}

// recordingIndex is an index that keeps what it is given.
type recordingIndex struct {
	store.EventIndex
	mu  sync.Mutex
	got []store.IndexedEvent
}

func (x *recordingIndex) IndexedThrough(context.Context, string) (uint64, error) { return 0, nil }

func (x *recordingIndex) PutEvents(_ context.Context, evs []store.IndexedEvent) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range evs {
		e.Event = bytes.Clone(e.Event) // PutEvents does not keep them
		x.got = append(x.got, e)
	}
	return nil
}

// TestMirrorTapMatchesTrail: the index fields a Mirror takes from Append
// are those it would decode from the trail, and records appended before the
// Mirror existed are read from the trail, in order, without a gap.
func TestMirrorTapMatchesTrail(t *testing.T) {
	l, _ := openTest(t, Options{})
	defer l.Close()
	appendN(t, l, 3, "Encrypt") // before the Mirror: from the trail
	idx := &recordingIndex{}
	m := NewMirror(l, idx, MirrorOptions{})
	ctx := context.Background()
	evs := []*Event{testEvent("Decrypt", 1, "AKIA1"), testEvent("CreateGrant", 2, "AKIA2")}
	evs[1].ErrorCode = "AccessDeniedException"
	evs[1].RequestParameters = nil
	evs[1].UserIdentity = UserIdentity{Type: "AssumedRole", AccountID: "444455556666", ARN: "arn:aws:sts::444455556666:assumed-role/R/s", AccessKeyID: "ASIA"}
	for _, ev := range evs {
		if err := l.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	segs, durable := l.snapshot()
	var want []store.IndexedEvent
	err := forEachRecord(segs, 0, durable, func(r record) (bool, error) {
		e, err := indexedEvent(m.node, r)
		want = append(want, e)
		return true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, idx.got, cmpopts.EquateEmpty()); diff != "" || len(idx.got) != 5 {
		t.Errorf("indexed records (-decoded from the trail +taken at Append):\n%s", diff)
	}
}
