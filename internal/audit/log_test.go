package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

// TestRecordLayout pins the byte layout of a record line: it is persisted.
func TestRecordLayout(t *testing.T) {
	var zero [sha256.Size]byte
	got := appendRecord(nil, 1, &zero, []byte(`{"eventName":"Encrypt"}`))
	want := `{"seq":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","event":{"eventName":"Encrypt"}}` + "\n"
	if string(got) != want {
		t.Fatalf("appendRecord = %q, want %q", got, want)
	}
	rec, err := parseRecord(got[:len(got)-1])
	if err != nil || rec.seq != 1 || rec.prev != zero || string(rec.event) != `{"eventName":"Encrypt"}` {
		t.Fatalf("parseRecord(%q) = %+v, %v", got, rec, err)
	}
	if name := segmentName(42); name != "segment-00000000000000000042.jsonl" {
		t.Errorf("segmentName(42) = %q", name)
	}
	if n, ok := parseSegmentName("segment-00000000000000000042.jsonl"); !ok || n != 42 {
		t.Errorf("parseSegmentName = %d, %v", n, ok)
	}
}

func TestParseRecordRejects(t *testing.T) {
	zeros := strings.Repeat("0", 64)
	for _, tc := range []struct{ name, line string }{
		{"empty", ``},
		{"leading zero seq", `{"seq":01,"prev":"` + zeros + `","event":{}}`},
		{"seq zero", `{"seq":0,"prev":"` + zeros + `","event":{}}`},
		{"upper hex", `{"seq":1,"prev":"` + strings.Repeat("A", 64) + `","event":{}}`},
		{"short prev", `{"seq":1,"prev":"00","event":{}}`},
		{"event not object", `{"seq":1,"prev":"` + zeros + `","event":[]}`},
		{"event invalid", `{"seq":1,"prev":"` + zeros + `","event":{"a":}}`},
		{"trailing", `{"seq":1,"prev":"` + zeros + `","event":{}} `},
		{"spaces", `{"seq": 1,"prev":"` + zeros + `","event":{}}`},
		{"huge seq", `{"seq":99999999999999999999999,"prev":"` + zeros + `","event":{}}`},
	} {
		if _, err := parseRecord([]byte(tc.line)); err == nil {
			t.Errorf("parseRecord(%s: %q) = nil error, want an error", tc.name, tc.line)
		}
	}
}

func TestAppendChainsAndReopens(t *testing.T) {
	clock := newFakeClock()
	l, dir := openTest(t, Options{Now: clock.Now})
	appendN(t, l, 10, "Encrypt")
	if err := l.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	r := mustVerify(t, dir, Intact)
	if r.Records != 10 || r.SignedThrough != 10 || r.Unsigned != 0 {
		t.Errorf("Verify = %+v, want 10 records all signed", r)
	}

	// The lines chain: each prev is the SHA-256 of the line before.
	data, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for i := 1; i < len(lines); i++ {
		h := sha256.Sum256(lines[i-1])
		if !bytes.Contains(lines[i], []byte(`"prev":"`+hex.EncodeToString(h[:])+`"`)) {
			t.Fatalf("record %d does not carry the hash of record %d", i+1, i)
		}
	}
	var rec struct {
		Event Event `json:"event"`
	}
	if err := json.Unmarshal(lines[0], &rec); err != nil {
		t.Fatal(err)
	}
	ev := rec.Event
	if ev.EventVersion != "1.11" || ev.EventSource != "kms.amazonaws.com" || ev.EventType != "AwsApiCall" ||
		ev.EventCategory != "Management" || !ev.ManagementEvent || ev.RecipientAccountID != testAccount || len(ev.EventID) != 36 {
		t.Errorf("defaults not filled: %+v", ev)
	}
	if !bytes.Contains(lines[0], []byte(`"eventTime":"2026-11-27T07:00:00Z"`)) {
		t.Errorf("event time not in CloudTrail's form: %s", lines[0])
	}

	l = openAt(t, dir, Options{Now: clock.Now})
	appendN(t, l, 3, "Decrypt")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r = mustVerify(t, dir, Intact)
	if r.Records != 13 || r.LastSeq != 13 {
		t.Errorf("after reopen: %+v, want 13 records", r)
	}
}

func TestOpenRejectsOtherKeyAndSecondOpener(t *testing.T) {
	l, dir := openTest(t, Options{})
	if _, err := Open(dir, Options{SigningKey: testKey(1)}); err == nil {
		t.Errorf("second Open of an open trail succeeded")
	}
	l.Close()
	if _, err := Open(dir, Options{SigningKey: testKey(2)}); err == nil {
		t.Errorf("Open with another signing key succeeded")
	}
	if _, err := Open(dir, Options{}); err == nil {
		t.Errorf("Open without a signing key succeeded")
	}
}

func TestConcurrentAppend(t *testing.T) {
	l, dir := openTest(t, Options{SegmentMaxBytes: 64 << 10, DigestEvery: 100})
	var wg sync.WaitGroup
	const workers, each = 32, 25
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- l.Append(context.Background(), testEvent("Encrypt", w, "AKIAEXAMPLE0000000001"))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Append = %v", err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustVerify(t, dir, Intact)
	if r.Records != workers*each || r.Segments < 2 {
		t.Errorf("Verify = %+v, want %d records over several segments", r, workers*each)
	}
}

func TestFailClosed(t *testing.T) {
	var mu sync.Mutex
	var fault error
	l, dir := openTest(t, Options{InjectFault: func() error {
		mu.Lock()
		defer mu.Unlock()
		return fault
	}})
	appendN(t, l, 2, "Encrypt")
	mu.Lock()
	fault = errors.New("no space left on device")
	mu.Unlock()
	err := l.Append(context.Background(), testEvent("Encrypt", 1, "AKIA1"))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Append with a failing disk = %v, want ErrFailed", err)
	}
	mu.Lock()
	fault = nil
	mu.Unlock()
	if err := l.Append(context.Background(), testEvent("Encrypt", 1, "AKIA1")); !errors.Is(err, ErrFailed) {
		t.Errorf("Append after a failure = %v, want ErrFailed (the Log stays failed)", err)
	}
	if l.Err() == nil {
		t.Errorf("Err() = nil after a failure")
	}
	l.Close()
	r := mustVerify(t, dir, Intact)
	if r.Records != 2 {
		t.Errorf("records on disk = %d, want the 2 acknowledged", r.Records)
	}
	l = openAt(t, dir, Options{})
	appendN(t, l, 1, "Encrypt")
	l.Close()
	mustVerify(t, dir, Intact)
}

func TestFailClosedReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions")
	}
	l, dir := openTest(t, Options{SegmentMaxBytes: 1})
	appendN(t, l, 1, "Encrypt")
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if err := l.Append(context.Background(), testEvent("Encrypt", 1, "AKIA1")); !errors.Is(err, ErrFailed) {
		t.Errorf("Append into a read-only folder = %v, want ErrFailed", err)
	}
	l.Close()
}

func TestAppendAfterClose(t *testing.T) {
	l, _ := openTest(t, Options{})
	l.Close()
	if err := l.Append(context.Background(), testEvent("Encrypt", 1, "AKIA1")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l2, _ := openTest(t, Options{})
	defer l2.Close()
	if err := l2.Append(ctx, testEvent("Encrypt", 1, "AKIA1")); !errors.Is(err, context.Canceled) {
		t.Errorf("Append(cancelled) = %v, want context.Canceled", err)
	}
}

func TestDigestSchedule(t *testing.T) {
	clock := newFakeClock()
	l, dir := openTest(t, Options{Now: clock.Now, DigestInterval: time.Minute, SegmentMaxAge: time.Hour, DigestEvery: 5})
	appendN(t, l, 12, "Encrypt")
	r := mustVerify(t, dir, Intact)
	if r.Digests != 2 || r.SignedThrough != 10 || r.Unsigned != 2 {
		t.Errorf("after 12 records with DigestEvery 5: %+v, want 2 digests through 10", r)
	}
	// Age: the next record past SegmentMaxAge starts a new segment, after a digest.
	clock.Add(2 * time.Hour)
	appendN(t, l, 1, "Encrypt")
	r = mustVerify(t, dir, Intact)
	if r.Segments != 2 || r.SignedThrough != 12 {
		t.Errorf("after the segment aged: %+v, want 2 segments, signed through 12", r)
	}
	l.Close()
	r = mustVerify(t, dir, Intact)
	if r.SignedThrough != 13 || r.Unsigned != 0 {
		t.Errorf("after Close: %+v, want everything signed", r)
	}
}

func TestPeriodicDigest(t *testing.T) {
	clock := newFakeClock()
	l, dir := openTest(t, Options{Now: clock.Now, DigestInterval: 40 * time.Millisecond})
	defer l.Close()
	appendN(t, l, 3, "Encrypt")
	clock.Add(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, _ := Verify(dir, l.PublicKey())
		if r.SignedThrough == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no digest after the interval: %+v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTornTailRepair(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail string
	}{
		{"partial record", `{"seq":4,"prev":"ab`},
		{"zeros", "\x00\x00\x00\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := openTest(t, Options{})
			appendN(t, l, 3, "Encrypt")
			// A crash: no Close, so no final digest; simulate by releasing files.
			l.qmu.Lock()
			l.closed = true
			l.qmu.Unlock()
			close(l.stop)
			<-l.done
			l.closeFiles()
			seg := filepath.Join(dir, segmentName(1))
			f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(tc.tail)
			f.Close()
			r := mustVerify(t, dir, TornTail)
			if len(r.Torn) != 1 || r.Records != 3 {
				t.Errorf("Verify = %+v, want 3 records and one torn tail", r)
			}
			l = openAt(t, dir, Options{})
			appendN(t, l, 2, "Decrypt")
			l.Close()
			r = mustVerify(t, dir, Intact)
			if r.Records != 5 {
				t.Errorf("after repair: %d records, want 5", r.Records)
			}
		})
	}
}

func TestTornDigestRepair(t *testing.T) {
	l, dir := openTest(t, Options{})
	appendN(t, l, 3, "Encrypt")
	l.Close()
	f, err := os.OpenFile(filepath.Join(dir, DigestsFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"digest":{"firstSeq":4`)
	f.Close()
	mustVerify(t, dir, TornTail)
	l = openAt(t, dir, Options{})
	appendN(t, l, 1, "Encrypt")
	l.Close()
	mustVerify(t, dir, Intact)
}

func TestLastUsage(t *testing.T) {
	l, dir := openTest(t, Options{})
	ctx := context.Background()
	enc := testEvent("Encrypt", 1, "AKIA1")
	if err := l.Append(ctx, enc); err != nil {
		t.Fatal(err)
	}
	failed := testEvent("Decrypt", 1, "AKIA1")
	failed.ErrorCode = "AccessDeniedException"
	describe := testEvent("DescribeKey", 1, "AKIA1")
	other := testEvent("Sign", 2, "AKIA1")
	for _, ev := range []*Event{failed, describe, other} {
		if err := l.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, l *Log) {
		name, at, id, ok := l.LastUsage(keyARN(1))
		if !ok || name != "Encrypt" || id != enc.EventID || !at.Equal(enc.EventTime) {
			t.Errorf("%s: LastUsage(key 1) = %q, %v, %q, %v; want Encrypt %v %q", when, name, at, id, ok, enc.EventTime, enc.EventID)
		}
		if u, ok := l.LastUse(keyARN(1)); !ok || u.RequestID != enc.RequestID || u.RequestID == "" {
			t.Errorf("%s: LastUse(key 1).RequestID = %q, %v; want %q", when, u.RequestID, ok, enc.RequestID)
		}
		if name, _, _, ok := l.LastUsage(keyARN(2)); !ok || name != "Sign" {
			t.Errorf("%s: LastUsage(key 2) = %q, %v; want Sign", when, name, ok)
		}
		if _, _, _, ok := l.LastUsage(keyARN(3)); ok {
			t.Errorf("%s: LastUsage(unused key) ok = true", when)
		}
	}
	check("live", l)
	l.Close()
	l = openAt(t, dir, Options{})
	defer l.Close()
	check("reopened", l)
}

func TestEventJSONShape(t *testing.T) {
	ev := testEvent("Encrypt", 1, "AKIA1")
	ev.fillDefaults(newFakeClock().Now)
	ev.EventID = "00000000-0000-4000-8000-000000000000"
	ev.Findings = []Finding{{Key: "user", Kind: KindEmail}}
	ev.Authorization = &Authorization{Decision: "Allow", Statements: []string{"s1"}}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(data, &got)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	want := []string{"awsRegion", "custosAuthorization", "custosFindings", "eventCategory", "eventID", "eventName", "eventSource",
		"eventTime", "eventType", "eventVersion", "managementEvent", "readOnly", "recipientAccountId", "requestID",
		"requestParameters", "resources", "responseElements", "sourceIPAddress", "userAgent", "userIdentity"}
	if diff := cmp.Diff(want, keys, cmpSorted); diff != "" {
		t.Errorf("event members (-want +got):\n%s", diff)
	}
	if got["responseElements"] != nil {
		t.Errorf("responseElements = %v, want null", got["responseElements"])
	}
	ui := got["userIdentity"].(map[string]any)
	for _, k := range []string{"type", "principalId", "arn", "accountId", "accessKeyId", "userName"} {
		if _, ok := ui[k]; !ok {
			t.Errorf("userIdentity lacks %q", k)
		}
	}
	res := got["resources"].([]any)[0].(map[string]any)
	if res["ARN"] != keyARN(1) || res["type"] != "AWS::KMS::Key" || res["accountId"] != testAccount {
		t.Errorf("resources[0] = %v", res)
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestInvalidUTF8IsRecorded(t *testing.T) {
	l, dir := openTest(t, Options{})
	ev := testEvent("Encrypt", 1, "AKIA1")
	ev.UserAgent = "bad \xff agent"
	if err := l.Append(context.Background(), ev); err != nil {
		t.Fatalf("Append(invalid UTF-8 user agent) = %v", err)
	}
	l.Close()
	mustVerify(t, dir, Intact)
}
