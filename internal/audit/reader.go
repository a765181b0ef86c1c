package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// snapshot returns a copy of the segment index that later appends do not
// change, and the last seq on disk.
func (l *Log) snapshot() ([]segment, uint64) {
	l.imu.RLock()
	defer l.imu.RUnlock()
	out := make([]segment, len(l.segs))
	for i, s := range l.segs {
		out[i] = *s
		out[i].chunks = slices.Clone(s.chunks)
	}
	return out, l.durable
}

// readChunk reads the records of chunk c of segment s. A segment removed by
// retention meanwhile yields no records.
func readChunk(s *segment, c chunk) ([]record, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	return readRecords(f, s.path, c)
}

// readRecords reads the records of chunk c from f. Their events are not
// validated as JSON: callers decode them, or (Export) validate them.
func readRecords(f *os.File, path string, c chunk) ([]record, error) {
	data := make([]byte, c.size)
	if _, err := f.ReadAt(data, c.off); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("audit: read %s: %w", path, err)
	}
	recs := make([]record, 0, c.n)
	for _, ln := range splitLines(data, c.off) {
		if !ln.complete {
			break
		}
		rec, err := parseRecordFast(ln.b)
		if err != nil {
			return nil, fmt.Errorf("audit: %s at offset %d: %w", path, ln.off, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// forEachRecord calls fn for the records with from < seq <= to, oldest
// first, until fn returns false.
func forEachRecord(segs []segment, from, to uint64, fn func(record) (bool, error)) error {
	for i := range segs {
		s := &segs[i]
		if s.lastSeq <= from || s.firstSeq > to {
			continue
		}
		f, err := os.Open(s.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		for _, c := range s.chunks {
			if c.firstSeq+uint64(c.n)-1 <= from || c.firstSeq > to {
				continue
			}
			recs, err := readRecords(f, s.path, c)
			if err != nil {
				f.Close()
				return err
			}
			for _, r := range recs {
				if r.seq <= from || r.seq > to {
					continue
				}
				more, err := fn(r)
				if err != nil || !more {
					f.Close()
					return err
				}
			}
		}
		f.Close()
	}
	return nil
}
