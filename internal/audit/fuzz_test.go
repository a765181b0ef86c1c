package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

// realTrail writes a closed one-segment trail of n records and returns its
// segment and digests files.
func realTrail(f *testing.F, n int) (seg, digests []byte) {
	f.Helper()
	l, dir := openTest(f, Options{DigestEvery: 3})
	appendN(f, l, n, "Encrypt")
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	seg, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if err != nil {
		f.Fatal(err)
	}
	digests, err = os.ReadFile(filepath.Join(dir, DigestsFile))
	if err != nil {
		f.Fatal(err)
	}
	return seg, digests
}

func FuzzParseRecord(f *testing.F) {
	seg, _ := realTrail(f, 3)
	for _, ln := range bytes.Split(seg, []byte("\n")) {
		f.Add(ln)
	}
	f.Add([]byte(`{"seq":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","event":{}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := parseRecord(line)
		if err != nil {
			return
		}
		again := appendRecord(nil, rec.seq, &rec.prev, rec.event)
		if !bytes.Equal(again[:len(again)-1], line) {
			t.Fatalf("parseRecord(%q) accepted a line that does not round-trip: %q", line, again)
		}
	})
}

// FuzzVerify runs Verify over a fuzzed segment and digests file. Verify must
// never fail or panic on content, and with the real digests it may only
// find a segment untampered if the real segment is a prefix of it.
func FuzzVerify(f *testing.F) {
	seg, digests := realTrail(f, 4)
	f.Add(seg, digests)
	f.Add(seg[:len(seg)-10], digests)
	f.Add(seg, digests[:len(digests)-7])
	f.Add(append(bytes.Clone(seg), seg...), digests)
	f.Add([]byte{}, digests)
	f.Add(seg, []byte{})
	pub := testKey(1).Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, s, d []byte) {
		r, err := VerifyFS(fstest.MapFS{segmentName(1): {Data: s}, DigestsFile: {Data: d}}, pub)
		if err != nil {
			t.Fatalf("Verify = %v", err)
		}
		if bytes.Equal(d, digests) && r.Status != Tampered && !bytes.HasPrefix(s, seg) {
			t.Fatalf("Verify of a changed segment = %v, want Tampered", r.Status)
		}
		if bytes.Equal(d, digests) && bytes.Equal(s, seg) && r.Status != Intact {
			t.Fatalf("Verify of the real trail = %v: %v", r.Status, r.Problems)
		}
	})
}

func FuzzLookupEvents(f *testing.F) {
	l, _ := openTest(f, Options{})
	defer l.Close()
	appendN(f, l, 3, "Encrypt")
	for _, s := range []string{
		``, `{}`, `{"MaxResults":1}`,
		`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"Encrypt"}],"StartTime":1,"EndTime":1e10}`,
		`{"LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"true"}],"NextToken":"AQAAAAAAAAAAAAAAAAAAAAE"}`,
		`{"LookupAttributes":[{"AttributeKey":"ResourceName","AttributeValue":"\u0000"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := l.LookupEvents(context.Background(), Scope{AccountID: "111122223333", Region: "us-east-1"}, body)
		if err != nil {
			if _, ok := awsproto.As(err); !ok {
				t.Fatalf("LookupEvents(%q) = %v, not an AWS error", body, err)
			}
			return
		}
		if _, ok := out.(*LookupEventsResponse); !ok {
			t.Fatalf("LookupEvents(%q) = %T", body, out)
		}
	})
}

// FuzzIndexToken: a NextToken of the shared index, from any client, parses
// or is refused without panicking, and what parses makes a token that
// parses to the same position.
func FuzzIndexToken(f *testing.F) {
	fp := (&Query{EventName: "Encrypt"}).fingerprint()
	for _, p := range []store.EventPosition{
		{Time: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), Node: "0123456789abcdef", Seq: 42},
		{Time: time.Unix(0, 0).UTC(), Node: "n", Seq: 1},
	} {
		f.Add(makeIndexToken(p, fp))
	}
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		p, ok := parseIndexToken(tok, fp)
		if !ok {
			return
		}
		again, ok := parseIndexToken(makeIndexToken(p, fp), fp)
		if !ok || !again.Time.Equal(p.Time) || again.Node != p.Node || again.Seq != p.Seq {
			t.Fatalf("token %q parses to %+v, which makes a token that parses to %+v, %v", tok, p, again, ok)
		}
	})
}
