package audit

import (
	"bytes"
	"crypto/ed25519"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// closedTrail writes n records over several segments and closes the trail,
// so every record is covered by a digest.
func closedTrail(t *testing.T, n int) string {
	t.Helper()
	l, dir := openTest(t, Options{SegmentMaxBytes: 8 << 10, DigestEvery: 7})
	appendN(t, l, n, "Encrypt")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, dir, Intact)
	return dir
}

// TestTamperOneByte changes one byte of a record at 1,000 random positions
// of the segments; Verify must report each as Tampered.
func TestTamperOneByte(t *testing.T) {
	dir := closedTrail(t, 40)
	// The trail is verified from memory (VerifyFS), so that the 1,000 cases
	// stay fast.
	fsys := fstest.MapFS{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: data, Mode: 0o600}
	}
	segs := segmentFiles(t, dir)
	files := make([][]byte, len(segs))
	var total int
	for i, p := range segs {
		files[i] = fsys[filepath.Base(p)].Data
		total += len(files[i])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pub := testKey(1).Public().(ed25519.PublicKey)
	for n := 0; n < 1000; n++ {
		pos := rng.IntN(total)
		fi := 0
		for pos >= len(files[fi]) {
			pos -= len(files[fi])
			fi++
		}
		name := filepath.Base(segs[fi])
		changed := bytes.Clone(files[fi])
		changed[pos] ^= byte(1 + rng.IntN(255))
		fsys[name] = &fstest.MapFile{Data: changed, Mode: 0o600}
		r, err := VerifyFS(fsys, pub)
		if err != nil || r.Status != Tampered {
			t.Fatalf("Verify after changing byte %d of %s from %q to %q = %v, %v; want Tampered",
				pos, name, files[fi][pos], changed[pos], r.Status, err)
		}
		if len(r.Problems) == 0 || r.Problems[0].Reason == "" {
			t.Fatalf("Tampered report without a located problem: %+v", r)
		}
		fsys[name] = &fstest.MapFile{Data: files[fi], Mode: 0o600}
	}
	if r, err := VerifyFS(fsys, pub); err != nil || r.Status != Intact {
		t.Fatalf("VerifyFS of the restored trail = %v, %v; want Intact", r.Status, err)
	}
	mustVerify(t, dir, Intact)
}

// lines of a file, each with its '\n'.
func fileLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(data, []byte("\n"))
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTamperRecords(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string // a word the first problem must contain
	}{
		{"delete a record", func(t *testing.T, dir string) {
			p := segmentFiles(t, dir)[0]
			ls := fileLines(t, p)
			writeLines(t, p, append(ls[:3:3], ls[4:]...))
		}, "expected"},
		{"delete the first record", func(t *testing.T, dir string) {
			p := segmentFiles(t, dir)[0]
			writeLines(t, p, fileLines(t, p)[1:])
		}, "seq"},
		{"swap two records", func(t *testing.T, dir string) {
			p := segmentFiles(t, dir)[0]
			ls := fileLines(t, p)
			ls[2], ls[3] = ls[3], ls[2]
			writeLines(t, p, ls)
		}, "expected"},
		{"insert a copy", func(t *testing.T, dir string) {
			p := segmentFiles(t, dir)[0]
			ls := fileLines(t, p)
			writeLines(t, p, append(ls[:3:3], append([][]byte{ls[1]}, ls[3:]...)...))
		}, "expected"},
		{"insert a forged record that chains", func(t *testing.T, dir string) {
			// The forger chains the new record to its predecessor, renumbering
			// nothing: the next record no longer chains.
			p := segmentFiles(t, dir)[0]
			ls := fileLines(t, p)
			prev := lineHash(bytes.TrimSuffix(ls[2], []byte("\n")))
			rec, _ := parseRecord(bytes.TrimSuffix(ls[3], []byte("\n")))
			forged := appendRecord(nil, 4, &prev, bytes.Replace(rec.event, []byte(`"Encrypt"`), []byte(`"Decrypt"`), 1))
			writeLines(t, p, append(ls[:3:3], append([][]byte{forged}, ls[3:]...)...))
		}, "expected"},
		{"rewrite a record and its successors", func(t *testing.T, dir string) {
			// A forger who rewrites the whole chain after a change is caught
			// by the signed digests.
			p := segmentFiles(t, dir)[0]
			ls := fileLines(t, p)
			var prev [32]byte
			var out [][]byte
			for i, ln := range ls {
				if len(ln) == 0 {
					continue
				}
				rec, _ := parseRecord(bytes.TrimSuffix(ln, []byte("\n")))
				ev := rec.event
				if i == 2 {
					ev = bytes.Replace(ev, []byte(`"Encrypt"`), []byte(`"Decrypt"`), 1)
				}
				if i == 0 {
					prev = rec.prev
				}
				line := appendRecord(nil, rec.seq, &prev, ev)
				prev = lineHash(line[:len(line)-1])
				out = append(out, line)
			}
			writeLines(t, p, out)
		}, ""},
		{"cut the tail at a record boundary", func(t *testing.T, dir string) {
			segs := segmentFiles(t, dir)
			p := segs[len(segs)-1]
			ls := fileLines(t, p)
			writeLines(t, p, ls[:len(ls)-2])
		}, "missing"},
		{"cut the tail inside a record", func(t *testing.T, dir string) {
			segs := segmentFiles(t, dir)
			p := segs[len(segs)-1]
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)-30], 0o600)
		}, "missing"},
		{"delete the last segment", func(t *testing.T, dir string) {
			segs := segmentFiles(t, dir)
			os.Remove(segs[len(segs)-1])
		}, "missing"},
		{"delete a middle segment", func(t *testing.T, dir string) {
			os.Remove(segmentFiles(t, dir)[1])
		}, "expected"},
		{"delete the oldest segment", func(t *testing.T, dir string) {
			os.Remove(segmentFiles(t, dir)[0])
		}, "removed"},
		{"empty a segment", func(t *testing.T, dir string) {
			os.WriteFile(segmentFiles(t, dir)[1], nil, 0o600)
		}, ""},
		{"replace a digest with one signed by another key", func(t *testing.T, dir string) {
			p := filepath.Join(dir, DigestsFile)
			ls := fileLines(t, p)
			body, _ := splitSigned(bytes.TrimSuffix(ls[1], []byte("\n")))
			ls[1] = append(signJSON(testKey(9), body), '\n')
			writeLines(t, p, ls)
		}, "signed"},
		{"replace a digest with a forged body", func(t *testing.T, dir string) {
			p := filepath.Join(dir, DigestsFile)
			ls := fileLines(t, p)
			body, _ := splitSigned(bytes.TrimSuffix(ls[1], []byte("\n")))
			sig := bytes.TrimSuffix(ls[1], []byte("\n"))[len(signedPrefix)+len(body):]
			body = bytes.Replace(body, []byte(`"oldestSeq":1,`), []byte(`"oldestSeq":2,`), 1)
			ls[1] = append(append(append([]byte(signedPrefix), body...), sig...), '\n')
			writeLines(t, p, ls)
		}, "signed"},
		{"remove a digest", func(t *testing.T, dir string) {
			p := filepath.Join(dir, DigestsFile)
			ls := fileLines(t, p)
			writeLines(t, p, append(ls[:1:1], ls[2:]...))
		}, "chain"},
		{"swap two digests", func(t *testing.T, dir string) {
			p := filepath.Join(dir, DigestsFile)
			ls := fileLines(t, p)
			ls[1], ls[2] = ls[2], ls[1]
			writeLines(t, p, ls)
		}, "chain"},
		{"delete the digests", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, DigestsFile))
		}, "digest"},
		{"rename a segment", func(t *testing.T, dir string) {
			p := segmentFiles(t, dir)[1]
			os.Rename(p, filepath.Join(dir, segmentName(999)))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := closedTrail(t, 40)
			tc.tamper(t, dir)
			r := mustVerify(t, dir, Tampered)
			if !strings.Contains(r.Problems[0].Reason, tc.want) {
				t.Errorf("first problem %q does not say %q", r.Problems[0], tc.want)
			}
		})
	}
}

// TestRetentionIsNotTampering: removing the oldest segments through
// retention keeps the trail Intact; removing one more by hand does not.
func TestRetentionIsNotTampering(t *testing.T) {
	clock := newFakeClock()
	exportDir := filepath.Join(t.TempDir(), "export")
	opts := Options{Now: clock.Now, SegmentMaxBytes: 8 << 10, ExportDir: exportDir, ExportInterval: time.Hour, RetentionMaxAge: 24 * time.Hour}
	l, dir := openTest(t, opts)
	appendN(t, l, 30, "Encrypt")
	clock.Add(48 * time.Hour)
	if removed, err := l.ApplyRetention(clock.Now()); err != nil || len(removed) != 0 {
		t.Fatalf("ApplyRetention before export = %v, %v; want nothing removed", removed, err)
	}
	if _, err := l.Export(clock.Now()); err != nil {
		t.Fatal(err)
	}
	removed, err := l.ApplyRetention(clock.Now())
	if err != nil || len(removed) == 0 {
		t.Fatalf("ApplyRetention after export = %v, %v; want old segments removed", removed, err)
	}
	appendN(t, l, 5, "Decrypt")
	l.Close()
	r := mustVerify(t, dir, Intact)
	if r.FirstSeq == 1 {
		t.Errorf("Verify after retention: first seq 1, want later")
	}
	os.Remove(segmentFiles(t, dir)[0])
	r = mustVerify(t, dir, Tampered)
	t.Logf("hand deletion: %v", r.Problems[0])
}
