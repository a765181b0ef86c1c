package audit

import (
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

func readExport(t *testing.T, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Records []Event `json:"Records"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc.Records
}

func TestExport(t *testing.T) {
	clock := newFakeClock()
	exportDir := filepath.Join(t.TempDir(), "export")
	l, _ := openTest(t, Options{Now: clock.Now, ExportDir: exportDir, ExportInterval: time.Hour})
	appendN(t, l, 5, "Encrypt")
	other := testEvent("Encrypt", 1, "AKIA1")
	other.AWSRegion = "eu-west-1"
	if err := l.Append(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	files, err := l.Export(clock.Now())
	if err != nil {
		t.Fatalf("Export = %v", err)
	}
	if len(files) != 2 {
		t.Fatalf("Export wrote %d files, want 2 (one per region): %+v", len(files), files)
	}
	nameRE := regexp.MustCompile(`^AWSLogs/111122223333/CloudTrail/(us-east-1|eu-west-1)/2026/11/27/111122223333_CloudTrail_(us-east-1|eu-west-1)_20261127T0700Z_[A-Za-z0-9]{16}\.json\.gz$`)
	records := 0
	for _, f := range files {
		if !nameRE.MatchString(filepath.ToSlash(f.Path)) {
			t.Errorf("export file name %q is not CloudTrail's", f.Path)
		}
		evs := readExport(t, filepath.Join(exportDir, f.Path))
		if len(evs) != f.Records {
			t.Errorf("%s holds %d records, want %d", f.Path, len(evs), f.Records)
		}
		records += len(evs)
		got, err := VerifyExport(exportDir, f.Digest, l.PublicKey())
		if err != nil || got != filepath.ToSlash(f.Path) {
			t.Errorf("VerifyExport(%s) = %q, %v", f.Digest, got, err)
		}
		if _, err := VerifyExport(exportDir, f.Digest, testKey(5).Public().(ed25519.PublicKey)); err == nil {
			t.Errorf("VerifyExport with another key succeeded")
		}
	}
	if records != 6 {
		t.Errorf("exported %d records, want 6", records)
	}

	// Nothing new: nothing written. New records: only they are written.
	if files, err := l.Export(clock.Now()); err != nil || len(files) != 0 {
		t.Errorf("second Export = %v, %v; want nothing", files, err)
	}
	appendN(t, l, 2, "Decrypt")
	clock.Add(5 * time.Minute)
	files, err = l.Export(clock.Now())
	if err != nil || len(files) != 1 || files[0].Records != 2 || files[0].FirstSeq != 7 {
		t.Fatalf("third Export = %+v, %v; want records 7..8", files, err)
	}

	// A changed log file no longer matches its digest.
	p := filepath.Join(exportDir, files[0].Path)
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 1
	os.WriteFile(p, data, 0o644)
	if _, err := VerifyExport(exportDir, files[0].Digest, l.PublicKey()); err == nil {
		t.Errorf("VerifyExport of a changed file succeeded")
	}

	// Close exports the rest; reopening remembers how far export went.
	appendN(t, l, 1, "Encrypt")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openAt(t, l.Dir(), Options{Now: clock.Now, ExportDir: exportDir, ExportInterval: time.Hour})
	defer l.Close()
	if files, err := l.Export(clock.Now()); err != nil || len(files) != 0 {
		t.Errorf("Export after reopen = %+v, %v; want nothing new", files, err)
	}
}

func TestExportNeedsFolder(t *testing.T) {
	l, _ := openTest(t, Options{})
	defer l.Close()
	if _, err := l.Export(time.Now()); err == nil {
		t.Errorf("Export without ExportDir succeeded")
	}
}

func TestRetentionBySize(t *testing.T) {
	clock := newFakeClock()
	exportDir := filepath.Join(t.TempDir(), "export")
	opts := Options{Now: clock.Now, SegmentMaxBytes: 4 << 10, ExportDir: exportDir, ExportInterval: time.Hour, RetentionMaxBytes: 12 << 10}
	l, dir := openTest(t, opts)
	appendN(t, l, 40, "Encrypt")
	// Not digested yet beyond rotations, not exported: nothing goes.
	if removed, _ := l.ApplyRetention(clock.Now()); len(removed) != 0 {
		t.Fatalf("ApplyRetention before export removed %v", removed)
	}
	if _, err := l.Export(clock.Now()); err != nil {
		t.Fatal(err)
	}
	removed, err := l.ApplyRetention(clock.Now())
	if err != nil || len(removed) == 0 {
		t.Fatalf("ApplyRetention = %v, %v; want segments removed", removed, err)
	}
	var total int64
	for _, p := range segmentFiles(t, dir) {
		st, _ := os.Stat(p)
		total += st.Size()
	}
	if total > 12<<10+4<<10 {
		t.Errorf("trail is %d bytes after retention, want about 12 KiB", total)
	}
	// Lookups skip what was removed.
	evs, _, err := l.Lookup(Query{})
	if err != nil || len(evs) == 0 {
		t.Errorf("Lookup after retention = %d events, %v", len(evs), err)
	}
	l.Close()
	mustVerify(t, dir, Intact)
	l = openAt(t, dir, opts)
	appendN(t, l, 3, "Encrypt")
	l.Close()
	mustVerify(t, dir, Intact)
}
