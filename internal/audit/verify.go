package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Status is the verdict of Verify.
type Status int

// Verdicts, from best to worst. The values are the order of severity, not
// exit codes.
const (
	// Intact: every record chains to the previous one, every digest is
	// signed by the key and matches the records it covers.
	Intact Status = iota
	// TornTail: as Intact, except that the last segment or the digests file
	// ends in an incomplete line not covered by any digest, as a crash
	// leaves it (Open repairs it).
	TornTail
	// Tampered: a record or digest was changed, removed, inserted or
	// reordered, or a digest is not signed by the key.
	Tampered
)

func (s Status) String() string {
	switch s {
	case Intact:
		return "intact"
	case TornTail:
		return "torn tail"
	case Tampered:
		return "TAMPERED"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Problem locates one finding of Verify. Seq is 0 when unknown; Offset is
// the byte offset of the line in File.
type Problem struct {
	File   string
	Offset int64
	Seq    uint64
	Reason string
}

func (p Problem) String() string {
	s := filepath.Base(p.File)
	if p.File != "" {
		s += fmt.Sprintf(" offset %d", p.Offset)
	}
	if p.Seq != 0 {
		s += fmt.Sprintf(" seq %d", p.Seq)
	}
	return s + ": " + p.Reason
}

// Report is what Verify found.
type Report struct {
	Status   Status
	Segments int
	Records  int64
	FirstSeq uint64 // 0 when the trail holds no record
	LastSeq  uint64
	Digests  int
	// SignedThrough is the last seq covered by a valid digest; records after
	// it (Unsigned of them) chain correctly but are not yet signed, as after
	// a crash.
	SignedThrough  uint64
	Unsigned       uint64
	LastDigestTime time.Time
	// Problems lists what made the trail Tampered (at most maxProblems), and
	// Torn the incomplete tails of a TornTail.
	Problems []Problem
	Torn     []Problem
}

const maxProblems = 20

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "audit trail: %s\n", r.Status)
	fmt.Fprintf(w, "  segments: %d, records: %d", r.Segments, r.Records)
	if r.Records > 0 {
		fmt.Fprintf(w, " (seq %d..%d)", r.FirstSeq, r.LastSeq)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  digests: %d, signed through seq %d", r.Digests, r.SignedThrough)
	if !r.LastDigestTime.IsZero() {
		fmt.Fprintf(w, " (last digest %s)", r.LastDigestTime.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if r.Unsigned > 0 {
		fmt.Fprintf(w, "  unsigned records after the last digest: %d\n", r.Unsigned)
	}
	for _, p := range r.Torn {
		fmt.Fprintf(w, "  torn: %s\n", p)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}

// verifier accumulates a Report.
type verifier struct {
	fsys    fs.FS
	root    string // prefixed to file names in problems
	r       Report
	covered map[uint64][sha256.Size]byte // digest lastSeq -> lastHash
	found   map[uint64]bool              // digest lastSeqs whose record was seen
}

func (v *verifier) problem(file string, off int64, seq uint64, format string, args ...any) {
	if file != "" && v.root != "" {
		file = filepath.Join(v.root, file)
	}
	if len(v.r.Problems) < maxProblems {
		v.r.Problems = append(v.r.Problems, Problem{File: file, Offset: off, Seq: seq, Reason: fmt.Sprintf(format, args...)})
	}
	v.r.Status = Tampered
}

// Verify checks the trail in dir against the digests' public key pub,
// using only the files. The trail need not be open; an open trail may be
// verified too: its newest records then count as unsigned, and a record
// being written at that moment can show as a torn tail. The error is
// for a trail that cannot be read at all; tampering is reported in Report.
// Problem.File names are paths under dir.
func Verify(dir string, pub ed25519.PublicKey) (Report, error) {
	if _, err := os.Stat(dir); err != nil {
		return Report{}, fmt.Errorf("audit: %w", err)
	}
	return verifyFS(os.DirFS(dir), dir, pub)
}

// VerifyFS is Verify of a trail in fsys (a folder, an archive); Problem.File
// names are names in fsys.
func VerifyFS(fsys fs.FS, pub ed25519.PublicKey) (Report, error) {
	return verifyFS(fsys, "", pub)
}

func verifyFS(fsys fs.FS, root string, pub ed25519.PublicKey) (Report, error) {
	v := &verifier{fsys: fsys, root: root, covered: map[uint64][sha256.Size]byte{}, found: map[uint64]bool{}}
	if len(pub) != ed25519.PublicKeySize {
		return v.r, errors.New("audit: bad public key")
	}
	last, err := v.digests(DigestsFile, pub)
	if err != nil {
		return v.r, err
	}
	if err := v.segments(last); err != nil {
		return v.r, err
	}
	if v.r.LastSeq > v.r.SignedThrough {
		v.r.Unsigned = v.r.LastSeq - v.r.SignedThrough
	}
	if v.r.Status == Intact && len(v.r.Torn) > 0 {
		v.r.Status = TornTail
	}
	return v.r, nil
}

// digests checks digests.jsonl and returns the last valid digest.
func (v *verifier) digests(path string, pub ed25519.PublicKey) (digestBody, error) {
	var last digestBody
	data, err := fs.ReadFile(v.fsys, path)
	if errors.Is(err, fs.ErrNotExist) {
		return last, nil
	}
	if err != nil {
		return last, fmt.Errorf("audit: %w", err)
	}
	var prevLine [sha256.Size]byte
	var prev *digestBody
	for _, ln := range splitLines(data, 0) {
		if !ln.complete {
			v.r.Torn = append(v.r.Torn, Problem{File: filepath.Join(v.root, path), Offset: ln.off, Reason: fmt.Sprintf("incomplete digest (%d bytes)", len(ln.b))})
			break
		}
		lineH := lineHash(ln.b)
		body, err := openSigned(ln.b, pub)
		if errors.Is(err, errBadSignature) {
			v.problem(path, ln.off, 0, "digest not signed by this key (replaced or forged)")
		} else if err != nil {
			v.problem(path, ln.off, 0, "malformed digest")
		}
		if err != nil {
			prevLine = lineH
			continue
		}
		d, h, err := parseDigestBody(body)
		if err != nil {
			v.problem(path, ln.off, 0, "malformed digest body")
			prevLine = lineH
			continue
		}
		if got := hexHash(prevLine); d.Prev != got {
			v.problem(path, ln.off, d.LastSeq, "digest does not chain to the previous digest (a digest was removed, inserted or reordered)")
		}
		if prev != nil && (d.FirstSeq != prev.LastSeq+1 || d.OldestSeq < prev.OldestSeq) {
			v.problem(path, ln.off, d.LastSeq, "digest does not continue the previous digest's range")
		}
		if prev == nil && d.FirstSeq != 1 {
			v.problem(path, ln.off, d.LastSeq, "first digest does not start at seq 1 (digests were removed)")
		}
		if d.LastSeq > 0 {
			if old, ok := v.covered[d.LastSeq]; ok && old != h {
				v.problem(path, ln.off, d.LastSeq, "two digests disagree on the hash of this record")
			}
			v.covered[d.LastSeq] = h
		}
		v.r.Digests++
		v.r.SignedThrough = max(v.r.SignedThrough, d.LastSeq)
		v.r.LastDigestTime = d.Time
		dd := d
		prev = &dd
		last = d
		prevLine = lineH
	}
	return last, nil
}

// segments walks the records of every segment in order.
func (v *verifier) segments(lastDigest digestBody) error {
	ents, err := fs.ReadDir(v.fsys, ".")
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	var names []segName
	for _, e := range ents {
		if first, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, segName{e.Name(), first})
		}
	}
	v.r.Segments = len(names)
	var (
		expect   uint64 // the next seq, 0 before the first record
		prevHash [sha256.Size]byte
	)
	for i, name := range names {
		path := name.name
		data, err := fs.ReadFile(v.fsys, path)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		lastSeg := i == len(names)-1
		if len(data) == 0 && !lastSeg {
			v.problem(path, 0, name.first, "empty segment before the last one")
		}
		firstInSeg := true
		for _, ln := range splitLines(data, 0) {
			if !ln.complete {
				if lastSeg {
					v.r.Torn = append(v.r.Torn, Problem{File: filepath.Join(v.root, path), Offset: ln.off, Seq: expect, Reason: fmt.Sprintf("incomplete record (%d bytes)", len(ln.b))})
				} else {
					v.problem(path, ln.off, 0, "incomplete record in a segment that is not the last")
				}
				break
			}
			rec, err := parseRecord(ln.b)
			if err != nil {
				v.problem(path, ln.off, 0, "malformed record (changed)")
				expect, prevHash = 0, [sha256.Size]byte{}
				continue
			}
			h := lineHash(ln.b)
			if firstInSeg && rec.seq != name.first {
				v.problem(path, ln.off, rec.seq, "segment named for seq %d starts at seq %d", name.first, rec.seq)
			}
			firstInSeg = false
			switch {
			case v.r.Records == 0:
				v.r.FirstSeq = rec.seq
				v.checkStart(path, ln.off, rec, lastDigest)
			case expect == 0:
				// Resynchronizing after a malformed record, already reported.
			case rec.seq != expect:
				v.problem(path, ln.off, rec.seq, "seq %d where %d was expected (records removed, inserted or reordered)", rec.seq, expect)
			case rec.prev != prevHash:
				v.problem(path, ln.off, rec.seq, "does not chain to record %d (this or the previous record was changed, or one was inserted)", rec.seq-1)
			}
			if dh, ok := v.covered[rec.seq]; ok {
				v.found[rec.seq] = true
				if dh != h {
					v.problem(path, ln.off, rec.seq, "record does not match its signed digest (changed)")
				}
			}
			v.r.Records++
			v.r.LastSeq = rec.seq
			expect, prevHash = rec.seq+1, h
		}
		if !lastSeg && v.r.Records > 0 && v.r.LastSeq > v.r.SignedThrough {
			v.problem(path, 0, v.r.LastSeq, "segment is not the last but is not covered by a digest (digests removed)")
		}
	}
	for _, seq := range slices.Sorted(maps.Keys(v.covered)) {
		if !v.found[seq] && (v.r.Records == 0 || seq >= v.r.FirstSeq) {
			v.problem("", 0, seq, "a signed digest covers record %d, which is missing (records removed or the tail cut)", seq)
		}
	}
	return nil
}

// checkStart checks the first record of the trail: seq 1 starts from zeros;
// a later first seq must follow a digest (the segments before it were
// removed by retention) and be no later than the last digest's oldestSeq.
func (v *verifier) checkStart(path string, off int64, rec record, last digestBody) {
	if rec.seq == 1 {
		if rec.prev != ([sha256.Size]byte{}) {
			v.problem(path, off, 1, "first record does not start the chain")
		}
		return
	}
	if h, ok := v.covered[rec.seq-1]; !ok || h != rec.prev {
		v.problem(path, off, rec.seq, "records before seq %d are missing and no digest vouches for their removal", rec.seq)
		return
	}
	if last.OldestSeq != 0 && rec.seq > last.OldestSeq {
		v.problem(path, off, rec.seq, "records %d..%d were removed, but the last digest says the trail starts at %d", last.OldestSeq, rec.seq-1, last.OldestSeq)
	}
}

func hexHash(h [sha256.Size]byte) string {
	const digits = "0123456789abcdef"
	var b [2 * sha256.Size]byte
	for i, c := range h {
		b[2*i], b[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(b[:])
}
