package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/custoskms/custos/internal/store"
)

// DataSubdir is the folder of a Custos data folder that holds the trail.
const DataSubdir = "audit"

// File names inside a trail folder.
const (
	DigestsFile   = "digests.jsonl"
	PublicKeyFile = "public-key.pem"
	exportState   = "export.state"
	lockFile      = "LOCK"
)

// Defaults of Options.
const (
	DefaultDigestInterval  = time.Minute
	DefaultSegmentMaxBytes = 32 << 20
	DefaultSegmentMaxAge   = 24 * time.Hour
	DefaultExportInterval  = 5 * time.Minute
)

// chunkRecords is how many records one entry of a segment's in-memory index
// covers; Lookup reads a trail one chunk at a time, newest first.
const chunkRecords = 256

// Options configures a Log. SigningKey is required; zero values of the rest
// take the defaults named.
type Options struct {
	// SigningKey signs the digests. The caller keeps it (wrapped under the
	// root key); the Log never writes it anywhere.
	SigningKey ed25519.PrivateKey
	// Now is the clock (default time.Now): event times left zero, digest
	// times, segment ages, export names and retention ages.
	Now func() time.Time
	// Logger receives repairs and background failures (default: discarded).
	Logger *slog.Logger

	// DigestInterval is the most time between digests while records are
	// added (default DefaultDigestInterval); DigestEvery, if positive, also
	// writes a digest every that many records.
	DigestInterval time.Duration
	DigestEvery    int

	// SegmentMaxBytes and SegmentMaxAge bound a segment before the next one
	// starts (defaults DefaultSegmentMaxBytes, DefaultSegmentMaxAge).
	SegmentMaxBytes int64
	SegmentMaxAge   time.Duration

	// RetentionMaxAge and RetentionMaxBytes, if positive, allow removing the
	// oldest segments whose newest event is older than RetentionMaxAge, or
	// while the trail is larger than RetentionMaxBytes; a segment is removed
	// only once it is exported and covered by a digest, so retention needs
	// ExportDir. The active segment is never removed.
	RetentionMaxAge   time.Duration
	RetentionMaxBytes int64

	// ExportDir, if set, receives CloudTrail log files every ExportInterval
	// (default DefaultExportInterval) and at Close.
	ExportDir      string
	ExportInterval time.Duration

	// InjectFault, if set, is called before each write of records; a
	// non-nil result is handled exactly like a failed write. Tests use it to
	// simulate a full disk.
	InjectFault func() error

	// syncFile replaces fdatasync in benchmarks that measure CPU alone.
	syncFile func(*os.File) error
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: log closed")

// ErrFailed is wrapped by every error of Append once a write or sync of the
// trail failed: the Log stays failed until it is reopened.
var ErrFailed = errors.New("audit: trail failed")

// Log is an open trail. Its methods are safe for concurrent use.
type Log struct {
	dir  string
	opts Options
	now  func() time.Time
	log  *slog.Logger
	pub  ed25519.PublicKey
	lock *os.File

	// The queue of records waiting for the writer.
	qmu    sync.Mutex
	cur    *batch
	closed bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}

	failed atomic.Pointer[error]

	// Owned by the writer goroutine (and by Open and Close around it).
	f          *os.File
	seq        uint64
	prev       [sha256.Size]byte
	size       int64
	segCreated time.Time
	buf        []byte
	offs       []int64

	// The in-memory index, read by Lookup, LastUsage, Export and retention.
	imu     sync.RWMutex
	segs    []*segment
	durable uint64 // last seq on disk
	durHash [sha256.Size]byte
	usage   map[string]KeyUse

	bufs sync.Pool // *[]byte buffers events are encoded into

	tap atomic.Pointer[tap] // set by NewMirror: durable records go there too

	// Digests.
	dmu        sync.Mutex
	df         *os.File
	lastDigest digestState

	// Export and retention.
	emu      sync.Mutex
	exported uint64
	maint    chan struct{}
	wg       sync.WaitGroup
	close    sync.Once
	closeErr error
}

type digestState struct {
	lastSeq   uint64
	lastHash  [sha256.Size]byte
	oldestSeq uint64
	line      [sha256.Size]byte // hash of the last digest line
	time      time.Time
}

// segment is a segment file in the index.
type segment struct {
	path     string
	firstSeq uint64
	lastSeq  uint64 // firstSeq-1 while empty
	size     int64
	chunks   []chunk
}

// chunk indexes chunkRecords consecutive records of a segment.
type chunk struct {
	firstSeq uint64
	off      int64
	size     int64
	n        int
	minT     int64 // event times, Unix seconds
	maxT     int64
}

// KeyUse is the last successful cryptographic use of a key, as LastUse
// returns it.
type KeyUse struct {
	EventName string    // the operation, e.g. "Encrypt"
	Time      time.Time // the event's time (UTC, whole seconds)
	EventID   string    // the event's eventID
	RequestID string    // the event's requestID
}

type item struct {
	ix    *store.IndexedEvent // the record's index fields, when a Mirror taps the Log
	event []byte
	buf   *[]byte // event's buffer, back to Log.bufs once written
	t     int64
	keys  []string
	name  string
	id    string
	reqID string
}

type batch struct {
	items []item
	done  chan struct{}
	err   error
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// Open opens the trail in dir, creating dir if needed, and starts the writer
// and, when ExportDir is set, the exporter. It repairs an incomplete last
// record (truncating it, and logging the repair), rebuilds the index and the
// last usage of every key, and writes a digest covering records not yet
// digested. It fails if the trail is open elsewhere, if SigningKey does not
// match the trail's public key, or if the trail is damaged in a way that
// would make appending to it unsafe (a digest covers records that are
// missing, or a complete record of the last segment is malformed): run
// Verify to see why.
func Open(dir string, opts Options) (*Log, error) {
	if len(opts.SigningKey) != ed25519.PrivateKeySize {
		return nil, errors.New("audit: Options.SigningKey is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DigestInterval <= 0 {
		opts.DigestInterval = DefaultDigestInterval
	}
	if opts.SegmentMaxBytes <= 0 {
		opts.SegmentMaxBytes = DefaultSegmentMaxBytes
	}
	if opts.SegmentMaxAge <= 0 {
		opts.SegmentMaxAge = DefaultSegmentMaxAge
	}
	if opts.ExportInterval <= 0 {
		opts.ExportInterval = DefaultExportInterval
	}
	if opts.syncFile == nil {
		opts.syncFile = fdatasync
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{
		dir:   dir,
		opts:  opts,
		now:   opts.Now,
		log:   opts.Logger,
		pub:   opts.SigningKey.Public().(ed25519.PublicKey),
		cur:   newBatch(),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		maint: make(chan struct{}),
		usage: make(map[string]KeyUse),
	}
	l.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	if err := l.open(); err != nil {
		l.closeFiles()
		return nil, err
	}
	go l.writer()
	if opts.ExportDir != "" {
		l.wg.Add(1)
		go l.maintainer()
	}
	return l, nil
}

func (l *Log) open() error {
	lock, err := os.OpenFile(filepath.Join(l.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	l.lock = lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("audit: trail %s is open in another process: %w", l.dir, err)
	}
	if err := l.checkPublicKey(); err != nil {
		return err
	}
	if err := l.openDigests(); err != nil {
		return err
	}
	if err := l.loadSegments(); err != nil {
		return err
	}
	if d := l.lastDigest; d.lastSeq > l.seq {
		return fmt.Errorf("audit: trail %s ends at seq %d but a digest covers seq %d: records are missing (run custos audit verify)", l.dir, l.seq, d.lastSeq)
	} else if d.lastSeq == l.seq && d.lastSeq > 0 && d.lastHash != l.prev {
		return fmt.Errorf("audit: trail %s: record %d does not match its digest (run custos audit verify)", l.dir, l.seq)
	}
	if err := l.openActive(); err != nil {
		return err
	}
	if err := l.loadExportState(); err != nil {
		return err
	}
	if l.seq > l.lastDigest.lastSeq {
		if err := l.writeDigest(); err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) checkPublicKey() error {
	path := filepath.Join(l.dir, PublicKeyFile)
	pemBytes, err := MarshalPublicKeyPEM(l.pub)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return writeFileSync(path, pemBytes, 0o644)
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	have, err := ParsePublicKeyPEM(old)
	if err != nil {
		return fmt.Errorf("audit: %s: %w", path, err)
	}
	if !have.Equal(l.pub) {
		return fmt.Errorf("audit: the signing key does not match %s", path)
	}
	return nil
}

// openDigests reads digests.jsonl (repairing an incomplete last line) and
// opens it for appending.
func (l *Log) openDigests() error {
	path := filepath.Join(l.dir, DigestsFile)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("audit: %w", err)
	}
	var good int64
	for _, ln := range splitLines(data, 0) {
		if !ln.complete {
			l.log.Warn("audit: repaired an incomplete digest after a crash", "file", path, "offset", ln.off, "bytes", len(ln.b))
			break
		}
		body, err := openSigned(ln.b, l.pub)
		if err != nil {
			return fmt.Errorf("audit: %s at offset %d: %w (run custos audit verify)", path, ln.off, err)
		}
		d, h, err := parseDigestBody(body)
		if err != nil {
			return fmt.Errorf("audit: %s at offset %d: %w", path, ln.off, err)
		}
		l.lastDigest = digestState{lastSeq: d.LastSeq, lastHash: h, oldestSeq: d.OldestSeq, line: lineHash(ln.b), time: d.Time}
		good = ln.off + int64(len(ln.b)) + 1
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	l.df = f
	if good < int64(len(data)) {
		if err := f.Truncate(good); err != nil {
			return fmt.Errorf("audit: repair %s: %w", path, err)
		}
		if err := l.opts.syncFile(f); err != nil {
			return fmt.Errorf("audit: repair %s: %w", path, err)
		}
	}
	if _, err := f.Seek(good, 0); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if data == nil {
		return syncDir(l.dir)
	}
	return nil
}

// eventMeta is the part of an event the index needs.
type eventMeta struct {
	EventTime   time.Time  `json:"eventTime"`
	EventName   string     `json:"eventName"`
	EventSource string     `json:"eventSource"`
	ErrorCode   string     `json:"errorCode"`
	EventID     string     `json:"eventID"`
	RequestID   string     `json:"requestID"`
	Resources   []Resource `json:"resources"`
}

// loadSegments scans every segment to rebuild the index and key usage,
// and repairs an incomplete last record.
func (l *Log) loadSegments() error {
	names, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	for i, name := range names {
		last := i == len(names)-1
		path := filepath.Join(l.dir, name.name)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		seg := &segment{path: path, firstSeq: name.first, lastSeq: name.first - 1}
		var good int64
		for _, ln := range splitLines(data, 0) {
			if !ln.complete {
				if !last {
					l.log.Warn("audit: incomplete record in a closed segment", "file", path, "offset", ln.off)
					break
				}
				l.log.Warn("audit: repaired an incomplete record after a crash", "file", path, "offset", ln.off, "bytes", len(ln.b))
				break
			}
			rec, err := parseRecordFast(ln.b)
			if err == nil && rec.seq != seg.lastSeq+1 {
				err = fmt.Errorf("audit: seq %d where %d was expected", rec.seq, seg.lastSeq+1)
			}
			if err != nil {
				if last {
					return fmt.Errorf("audit: %s at offset %d: %w (run custos audit verify)", path, ln.off, err)
				}
				l.log.Warn("audit: skipping a malformed record", "file", path, "offset", ln.off, "err", err)
				break
			}
			var m eventMeta
			if err := json.Unmarshal(rec.event, &m, jsontext.AllowInvalidUTF8(true)); err != nil {
				if last {
					return fmt.Errorf("audit: %s at offset %d: %w (run custos audit verify)", path, ln.off, errBadRecord)
				}
				l.log.Warn("audit: unreadable event", "file", path, "offset", ln.off, "err", err)
			}
			seg.add(rec.seq, ln.off, int64(len(ln.b))+1, m.EventTime.Unix())
			for _, k := range usageKeys(m.EventSource, m.EventName, m.ErrorCode, m.Resources) {
				l.usage[k] = KeyUse{EventName: m.EventName, Time: m.EventTime.UTC(), EventID: m.EventID, RequestID: m.RequestID}
			}
			l.prev = lineHash(ln.b)
			l.seq = rec.seq
			good = ln.off + int64(len(ln.b)) + 1
		}
		if last && good < int64(len(data)) {
			if err := os.Truncate(path, good); err != nil {
				return fmt.Errorf("audit: repair %s: %w", path, err)
			}
		}
		seg.size = good
		if i > 0 && seg.firstSeq != l.segs[len(l.segs)-1].lastSeq+1 {
			l.log.Warn("audit: segments do not follow each other", "file", path)
		}
		l.segs = append(l.segs, seg)
	}
	l.durable, l.durHash = l.seq, l.prev
	return nil
}

// add indexes a record of size bytes at off.
func (s *segment) add(seq uint64, off, size, t int64) {
	n := len(s.chunks)
	if n == 0 || s.chunks[n-1].n == chunkRecords {
		s.chunks = append(s.chunks, chunk{firstSeq: seq, off: off, minT: t, maxT: t})
		n++
	}
	c := &s.chunks[n-1]
	c.n++
	c.size = off + size - c.off
	c.minT = min(c.minT, t)
	c.maxT = max(c.maxT, t)
	s.lastSeq = seq
	s.size = off + size
}

type segName struct {
	name  string
	first uint64
}

// listSegments returns the segment files of dir in seq order.
func listSegments(dir string) ([]segName, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var out []segName
	for _, e := range ents {
		if first, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, segName{e.Name(), first})
		}
	}
	// os.ReadDir sorts by name, and the 20-digit names sort by seq.
	return out, nil
}

// openActive opens the last segment for appending, or creates the first.
func (l *Log) openActive() error {
	if n := len(l.segs); n > 0 {
		s := l.segs[n-1]
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		l.f, l.size = f, s.size
		l.segCreated = l.now()
		if len(s.chunks) > 0 {
			l.segCreated = time.Unix(s.chunks[0].minT, 0)
		}
		return nil
	}
	return l.newSegment()
}

// newSegment creates the segment that starts at l.seq+1 and makes it active.
func (l *Log) newSegment() error {
	path := filepath.Join(l.dir, segmentName(l.seq+1))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.size, l.segCreated = f, 0, l.now()
	l.imu.Lock()
	l.segs = append(l.segs, &segment{path: path, firstSeq: l.seq + 1, lastSeq: l.seq})
	l.imu.Unlock()
	return nil
}

// Append records ev and returns once it is on disk (written and
// fdatasync'ed). It fills empty EventVersion, EventTime (from the clock),
// EventSource, EventType, EventCategory, EventID and RecipientAccountID,
// sets ManagementEvent, and truncates EventTime to UTC whole seconds; ev is
// not retained. ctx is only checked before ev is queued: once queued, Append
// waits for the write, so that the trail and the caller agree on whether it
// was recorded. It returns ErrClosed after Close, and an error wrapping
// ErrFailed if the trail cannot be written (the Log then stays failed).
func (l *Log) Append(ctx context.Context, ev *Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p := l.failed.Load(); p != nil {
		return *p
	}
	ev.fillDefaults(l.now)
	bp := l.bufs.Get().(*[]byte)
	data, err := ev.appendJSON((*bp)[:0])
	if err != nil {
		l.bufs.Put(bp)
		return fmt.Errorf("audit: encode event: %w", err)
	}
	*bp = data
	it := item{event: data, buf: bp, t: ev.EventTime.Unix(), name: ev.EventName, id: ev.EventID, reqID: ev.RequestID,
		keys: usageKeys(ev.EventSource, ev.EventName, ev.ErrorCode, ev.Resources)}
	if l.tap.Load() != nil {
		it.ix = indexFieldsOf(ev, ev.RequestParameters, it.keys)
	}
	l.qmu.Lock()
	if l.closed {
		l.qmu.Unlock()
		return ErrClosed
	}
	b := l.cur
	b.items = append(b.items, it)
	l.qmu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-b.done
	return b.err
}

// writer is the one goroutine that writes records: it takes whatever queued
// while the previous batch was being synced and commits it with one write
// and one sync.
func (l *Log) writer() {
	defer close(l.done)
	tick := time.NewTicker(tickPeriod(l.opts.DigestInterval, l.opts.SegmentMaxAge))
	defer tick.Stop()
	for {
		select {
		case <-l.wake:
		case <-tick.C:
			l.periodic()
			continue
		case <-l.stop:
			l.qmu.Lock()
			b := l.cur
			l.cur = nil
			l.qmu.Unlock()
			if len(b.items) > 0 {
				l.commit(b)
			}
			return
		}
		l.qmu.Lock()
		b := l.cur
		if len(b.items) == 0 {
			l.qmu.Unlock()
			continue
		}
		l.cur = newBatch()
		l.qmu.Unlock()
		l.commit(b)
	}
}

func tickPeriod(ds ...time.Duration) time.Duration {
	p := 10 * time.Second
	for _, d := range ds {
		p = min(p, d/4)
	}
	return max(p, 10*time.Millisecond)
}

// periodic writes a digest or starts a new segment when their time came.
func (l *Log) periodic() {
	if l.failed.Load() != nil {
		return
	}
	if l.size > 0 && l.now().Sub(l.segCreated) >= l.opts.SegmentMaxAge {
		if err := l.rotate(); err != nil {
			l.fail(err)
		}
		return
	}
	if l.seq > l.lastDigestSeq() && l.now().Sub(l.lastDigestTime()) >= l.opts.DigestInterval {
		if err := l.writeDigest(); err != nil {
			l.fail(err)
		}
	}
}

func (l *Log) lastDigestSeq() uint64 {
	l.dmu.Lock()
	defer l.dmu.Unlock()
	return l.lastDigest.lastSeq
}

func (l *Log) lastDigestTime() time.Time {
	l.dmu.Lock()
	defer l.dmu.Unlock()
	return l.lastDigest.time
}

// commit writes and syncs batch b, then releases its appenders.
func (l *Log) commit(b *batch) {
	defer close(b.done)
	if p := l.failed.Load(); p != nil {
		b.err = *p
		return
	}
	if l.size > 0 && (l.size >= l.opts.SegmentMaxBytes || l.now().Sub(l.segCreated) >= l.opts.SegmentMaxAge) {
		if err := l.rotate(); err != nil {
			b.err = l.fail(err)
			return
		}
	}
	buf, offs := l.buf[:0], l.offs[:0]
	seq, prev := l.seq, l.prev
	for _, it := range b.items {
		seq++
		start := len(buf)
		offs = append(offs, int64(start))
		buf = appendRecord(buf, seq, &prev, it.event)
		prev = lineHash(buf[start : len(buf)-1])
	}
	offs = append(offs, int64(len(buf)))
	var err error
	if l.opts.InjectFault != nil {
		err = l.opts.InjectFault()
	}
	if err == nil {
		_, err = l.f.Write(buf)
	}
	if err == nil {
		err = l.opts.syncFile(l.f)
	}
	if err != nil {
		// Best effort: leave no record on disk that its caller was told failed.
		l.f.Truncate(l.size)
		b.err = l.fail(fmt.Errorf("write %s: %w", l.f.Name(), err))
		return
	}

	l.imu.Lock()
	s := l.segs[len(l.segs)-1]
	for i, it := range b.items {
		s.add(l.seq+1+uint64(i), l.size+offs[i], offs[i+1]-offs[i], it.t)
		for _, k := range it.keys {
			l.usage[k] = KeyUse{EventName: it.name, Time: time.Unix(it.t, 0).UTC(), EventID: it.id, RequestID: it.reqID}
		}
	}
	l.durable, l.durHash = seq, prev
	l.imu.Unlock()
	if tp := l.tap.Load(); tp != nil {
		tp.push(l.seq, b.items) // takes the buffers of tapped items
	}
	for _, it := range b.items {
		if it.ix == nil {
			l.putBuf(it.buf)
		}
	}

	l.seq, l.prev = seq, prev
	l.size += int64(len(buf))
	if cap(buf) <= 1<<20 {
		l.buf, l.offs = buf, offs
	}
	if l.opts.DigestEvery > 0 && l.seq-l.lastDigestSeq() >= uint64(l.opts.DigestEvery) {
		if err := l.writeDigest(); err != nil {
			l.fail(err)
		}
	}
}

// putBuf returns an event buffer to the pool, unless it grew large.
func (l *Log) putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		l.bufs.Put(bp)
	}
}

// fail latches err as the Log's failure and returns the error Appends see.
func (l *Log) fail(err error) error {
	e := fmt.Errorf("%w: %w", ErrFailed, err)
	if l.failed.CompareAndSwap(nil, &e) {
		l.log.Error("audit: the trail cannot be written; every audited request fails until restart", "err", err)
		return e
	}
	return *l.failed.Load()
}

// Err returns the error that failed the Log, or nil while it is healthy.
func (l *Log) Err() error {
	if p := l.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// rotate digests the active segment and starts the next one.
func (l *Log) rotate() error {
	if err := l.writeDigest(); err != nil {
		return err
	}
	return l.newSegment()
}

// writeDigest appends a signed digest covering every record on disk. It
// writes nothing when no record was added since the last digest and the
// oldest retained seq did not change.
func (l *Log) writeDigest() error {
	l.dmu.Lock()
	defer l.dmu.Unlock()
	l.imu.RLock()
	last, lastHash := l.durable, l.durHash
	oldest := last + 1
	if len(l.segs) > 0 {
		oldest = l.segs[0].firstSeq
	}
	l.imu.RUnlock()
	ld := &l.lastDigest
	if last == ld.lastSeq && oldest == ld.oldestSeq {
		return nil
	}
	now := l.now().UTC()
	body, err := json.Marshal(digestBody{
		FirstSeq:  ld.lastSeq + 1,
		LastSeq:   last,
		LastHash:  hex.EncodeToString(lastHash[:]),
		OldestSeq: oldest,
		Time:      now,
		Prev:      hex.EncodeToString(ld.line[:]),
		PublicKey: KeyFingerprint(l.pub),
	})
	if err != nil {
		return fmt.Errorf("audit: encode digest: %w", err)
	}
	line := signJSON(l.opts.SigningKey, body)
	if _, err := l.df.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit: write digest: %w", err)
	}
	if err := l.opts.syncFile(l.df); err != nil {
		return fmt.Errorf("audit: sync digest: %w", err)
	}
	*ld = digestState{lastSeq: last, lastHash: lastHash, oldestSeq: oldest, line: lineHash(line), time: now}
	return nil
}

// Close stops accepting records, writes what is queued, writes a final
// digest, exports (when ExportDir is set) and releases the trail. Appends
// after Close return ErrClosed. Close returns the first failure, and is
// safe to call more than once.
func (l *Log) Close() error {
	l.close.Do(func() {
		l.qmu.Lock()
		l.closed = true
		l.qmu.Unlock()
		close(l.stop)
		<-l.done
		close(l.maint)
		l.wg.Wait()
		var errs []error
		if p := l.failed.Load(); p != nil {
			errs = append(errs, *p)
		} else {
			if err := l.writeDigest(); err != nil {
				errs = append(errs, err)
			}
			if l.opts.ExportDir != "" {
				if _, err := l.Export(l.now()); err != nil {
					errs = append(errs, err)
				}
			}
		}
		errs = append(errs, l.closeFiles())
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}

func (l *Log) closeFiles() error {
	var errs []error
	if l.f != nil {
		errs = append(errs, l.f.Close())
	}
	if l.df != nil {
		errs = append(errs, l.df.Close())
	}
	if l.lock != nil {
		errs = append(errs, l.lock.Close())
	}
	return errors.Join(errs...)
}

// Dir returns the trail's folder.
func (l *Log) Dir() string { return l.dir }

// PublicKey returns the public key that verifies the trail's digests.
func (l *Log) PublicKey() ed25519.PublicKey { return l.pub }

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", dir, err)
	}
	return nil
}

// writeFileSync writes data to path through a temporary file, syncs it and
// renames it into place.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("audit: write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}
