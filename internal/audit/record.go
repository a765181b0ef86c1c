package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// The fixed parts of a record line (see the package doc).
const (
	recSeq   = `{"seq":`
	recPrev  = `,"prev":"`
	recEvent = `","event":`
)

// maxRecordLine bounds one record line. An event is a request's metadata, so
// this is far above any real record; a longer line is corrupt.
const maxRecordLine = 4 << 20

// appendRecord appends the line of record seq (with its final '\n') to dst.
func appendRecord(dst []byte, seq uint64, prev *[sha256.Size]byte, event []byte) []byte {
	dst = append(dst, recSeq...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, recPrev...)
	dst = hex.AppendEncode(dst, prev[:])
	dst = append(dst, recEvent...)
	dst = append(dst, event...)
	dst = append(dst, '}', '\n')
	return dst
}

// record is a parsed record line. event aliases the line.
type record struct {
	seq   uint64
	prev  [sha256.Size]byte
	event []byte
}

var errBadRecord = errors.New("audit: malformed record")

// parseRecord parses one record line (without its '\n'). It accepts exactly
// the layout appendRecord writes, with an event that is a valid JSON object,
// and never panics.
func parseRecord(line []byte) (record, error) { return parseRecordOpt(line, true) }

// parseRecordFast is parseRecord without validating the event's JSON, for
// callers that decode the event anyway.
func parseRecordFast(line []byte) (record, error) { return parseRecordOpt(line, false) }

func parseRecordOpt(line []byte, validate bool) (record, error) {
	var r record
	if len(line) > maxRecordLine {
		return r, fmt.Errorf("%w: line longer than %d bytes", errBadRecord, maxRecordLine)
	}
	rest, ok := bytes.CutPrefix(line, []byte(recSeq))
	if !ok {
		return r, fmt.Errorf("%w: no seq", errBadRecord)
	}
	i := 0
	for i < len(rest) && i < 20 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || (rest[0] == '0') {
		return r, fmt.Errorf("%w: bad seq", errBadRecord)
	}
	seq, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	if err != nil {
		return r, fmt.Errorf("%w: bad seq", errBadRecord)
	}
	r.seq = seq
	rest, ok = bytes.CutPrefix(rest[i:], []byte(recPrev))
	if !ok || len(rest) < 2*sha256.Size {
		return r, fmt.Errorf("%w: no prev", errBadRecord)
	}
	if !isLowerHex(rest[:2*sha256.Size]) {
		return r, fmt.Errorf("%w: bad prev", errBadRecord)
	}
	hex.Decode(r.prev[:], rest[:2*sha256.Size])
	rest, ok = bytes.CutPrefix(rest[2*sha256.Size:], []byte(recEvent))
	if !ok || len(rest) < 3 || rest[len(rest)-1] != '}' {
		return r, fmt.Errorf("%w: no event", errBadRecord)
	}
	ev := rest[:len(rest)-1]
	if ev[0] != '{' || (validate && !jsontext.Value(ev).IsValid()) {
		return r, fmt.Errorf("%w: event is not a JSON object", errBadRecord)
	}
	r.event = ev
	return r, nil
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// lineHash returns the hash of a record or digest line (without its '\n').
func lineHash(line []byte) [sha256.Size]byte { return sha256.Sum256(line) }

// Segment file names: "segment-" + 20-digit first seq + ".jsonl".
const (
	segPrefix = "segment-"
	segSuffix = ".jsonl"
)

func segmentName(firstSeq uint64) string {
	return fmt.Sprintf("%s%020d%s", segPrefix, firstSeq, segSuffix)
}

// parseSegmentName returns the first seq named by a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != len(segPrefix)+20+len(segSuffix) || name[:len(segPrefix)] != segPrefix || name[len(name)-len(segSuffix):] != segSuffix {
		return 0, false
	}
	digits := name[len(segPrefix) : len(segPrefix)+20]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

// line is one line of a file: its bytes without '\n', its offset, and
// whether it ended in '\n' (only the last line of a file can be incomplete).
type line struct {
	b        []byte
	off      int64
	complete bool
}

// splitLines splits data into lines; base is the file offset of data[0].
func splitLines(data []byte, base int64) []line {
	var out []line
	off := 0
	for off < len(data) {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			out = append(out, line{b: data[off:], off: base + int64(off)})
			break
		}
		out = append(out, line{b: data[off : off+i], off: base + int64(off), complete: true})
		off += i + 1
	}
	return out
}
