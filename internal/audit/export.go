package audit

import (
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// exportStateFile is the content of export.state.
type exportStateFile struct {
	ExportedThrough uint64 `json:"exportedThrough"`
}

func (l *Log) loadExportState() error {
	data, err := os.ReadFile(filepath.Join(l.dir, exportState))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	var st exportStateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("audit: %s: %w", exportState, err)
	}
	l.exported = st.ExportedThrough
	return nil
}

// ExportFile is one CloudTrail log file Export wrote, with its digest file.
// Paths are relative to the export folder.
type ExportFile struct {
	Path     string
	Digest   string
	FirstSeq uint64
	LastSeq  uint64
	Records  int
}

// exportDigest is the signed body of an export digest file.
type exportDigest struct {
	DigestStartTime time.Time       `json:"digestStartTime"`
	DigestEndTime   time.Time       `json:"digestEndTime"`
	LogFiles        []exportLogFile `json:"logFiles"`
	PublicKey       string          `json:"publicKey"`
}

type exportLogFile struct {
	FileName        string    `json:"fileName"`
	HashValue       string    `json:"hashValue"`
	HashAlgorithm   string    `json:"hashAlgorithm"`
	OldestEventTime time.Time `json:"oldestEventTime"`
	NewestEventTime time.Time `json:"newestEventTime"`
	FirstSeq        uint64    `json:"firstSeq"`
	LastSeq         uint64    `json:"lastSeq"`
	Records         int       `json:"records"`
}

// exportGroup accumulates one log file: the records of one account and
// region.
type exportGroup struct {
	account, region string
	tmp             *os.File
	rel             string
	h               hash.Hash
	zw              *gzip.Writer
	n               int
	first, last     uint64
	oldest, newest  time.Time
}

// Export writes the records on disk not yet exported as CloudTrail log files
// (one per account and region, named with now), each with a signed digest
// file, under Options.ExportDir, then records how far it got in
// export.state. Files are written to a temporary name, synced and renamed,
// so a crash leaves either no file or a complete one (a crash after the
// rename and before export.state is saved exports those records again). It
// returns the files written (none when nothing is new). Export is safe for
// concurrent use with Append; concurrent Exports are serialized.
func (l *Log) Export(now time.Time) ([]ExportFile, error) {
	if l.opts.ExportDir == "" {
		return nil, errors.New("audit: no export folder configured")
	}
	l.emu.Lock()
	defer l.emu.Unlock()
	segs, durable := l.snapshot()
	if durable <= l.exported {
		return nil, nil
	}
	now = now.UTC()
	groups := map[[2]string]*exportGroup{}
	var order []*exportGroup
	cleanup := func() {
		for _, g := range order {
			g.tmp.Close()
			os.Remove(g.tmp.Name())
		}
	}
	err := forEachRecord(segs, l.exported, durable, func(r record) (bool, error) {
		var m struct {
			Account   string    `json:"recipientAccountId"`
			Region    string    `json:"awsRegion"`
			EventTime time.Time `json:"eventTime"`
		}
		if err := json.Unmarshal(r.event, &m, jsontext.AllowInvalidUTF8(true)); err != nil {
			return false, fmt.Errorf("record %d: %w", r.seq, err)
		}
		key := [2]string{safeName(m.Account, "unknown"), safeName(m.Region, "unknown")}
		g := groups[key]
		if g == nil {
			var err error
			if g, err = l.newExportGroup(key[0], key[1], now); err != nil {
				return false, err
			}
			groups[key] = g
			order = append(order, g)
			g.first, g.oldest, g.newest = r.seq, m.EventTime, m.EventTime
		}
		sep := ","
		if g.n == 0 {
			sep = ""
		}
		if _, err := io.WriteString(g.zw, sep); err != nil {
			return false, err
		}
		if _, err := g.zw.Write(r.event); err != nil {
			return false, err
		}
		g.n++
		g.last = r.seq
		if m.EventTime.Before(g.oldest) {
			g.oldest = m.EventTime
		}
		if m.EventTime.After(g.newest) {
			g.newest = m.EventTime
		}
		return true, nil
	})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("audit: export: %w", err)
	}
	var out []ExportFile
	for _, g := range order {
		f, err := l.finishExportGroup(g, now)
		if err != nil {
			cleanup()
			return out, fmt.Errorf("audit: export: %w", err)
		}
		out = append(out, f)
	}
	body, _ := json.Marshal(exportStateFile{ExportedThrough: durable})
	if err := writeFileSync(filepath.Join(l.dir, exportState), body, 0o600); err != nil {
		return out, err
	}
	l.exported = durable
	return out, nil
}

func (l *Log) newExportGroup(account, region string, now time.Time) (*exportGroup, error) {
	rel := filepath.Join("AWSLogs", account, "CloudTrail", region, now.Format("2006/01/02"),
		fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", account, region, now.Format("20060102T1504Z"), randomName()))
	dir := filepath.Join(l.opts.ExportDir, filepath.Dir(rel))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".export-*")
	if err != nil {
		return nil, err
	}
	g := &exportGroup{account: account, region: region, tmp: tmp, rel: rel, h: sha256.New()}
	// BestSpeed: export runs beside the hot path and must cost it little.
	g.zw, _ = gzip.NewWriterLevel(io.MultiWriter(tmp, g.h), gzip.BestSpeed)
	if _, err := io.WriteString(g.zw, `{"Records":[`); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return g, nil
}

func (l *Log) finishExportGroup(g *exportGroup, now time.Time) (ExportFile, error) {
	if _, err := io.WriteString(g.zw, "]}\n"); err != nil {
		return ExportFile{}, err
	}
	if err := g.zw.Close(); err != nil {
		return ExportFile{}, err
	}
	if err := g.tmp.Sync(); err != nil {
		return ExportFile{}, err
	}
	if err := g.tmp.Close(); err != nil {
		return ExportFile{}, err
	}
	final := filepath.Join(l.opts.ExportDir, g.rel)
	if err := os.Rename(g.tmp.Name(), final); err != nil {
		return ExportFile{}, err
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return ExportFile{}, err
	}
	body, err := json.Marshal(exportDigest{
		DigestStartTime: g.oldest.UTC(),
		DigestEndTime:   now,
		LogFiles: []exportLogFile{{
			FileName:        filepath.ToSlash(g.rel),
			HashValue:       hex.EncodeToString(g.h.Sum(nil)),
			HashAlgorithm:   "SHA-256",
			OldestEventTime: g.oldest.UTC(),
			NewestEventTime: g.newest.UTC(),
			FirstSeq:        g.first,
			LastSeq:         g.last,
			Records:         g.n,
		}},
		PublicKey: KeyFingerprint(l.pub),
	})
	if err != nil {
		return ExportFile{}, err
	}
	base := filepath.Base(g.rel)
	digestName := strings.Replace(strings.TrimSuffix(base, ".json.gz"), "_CloudTrail_", "_CloudTrail-Digest_", 1) + ".json"
	drel := filepath.Join("AWSLogs", g.account, "CloudTrail-Digest", g.region, now.Format("2006/01/02"), digestName)
	if err := os.MkdirAll(filepath.Join(l.opts.ExportDir, filepath.Dir(drel)), 0o755); err != nil {
		return ExportFile{}, err
	}
	if err := writeFileSync(filepath.Join(l.opts.ExportDir, drel), append(signJSON(l.opts.SigningKey, body), '\n'), 0o644); err != nil {
		return ExportFile{}, err
	}
	return ExportFile{Path: g.rel, Digest: drel, FirstSeq: g.first, LastSeq: g.last, Records: g.n}, nil
}

// VerifyExport checks an export digest file (its signature under pub) and
// the log file it names (its SHA-256), both under exportDir, and returns the
// log file's path relative to exportDir.
func VerifyExport(exportDir, digestPath string, pub ed25519.PublicKey) (string, error) {
	doc, err := os.ReadFile(filepath.Join(exportDir, digestPath))
	if err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	body, err := openSigned([]byte(strings.TrimSuffix(string(doc), "\n")), pub)
	if err != nil {
		return "", err
	}
	var d exportDigest
	if err := json.Unmarshal(body, &d); err != nil || len(d.LogFiles) != 1 {
		return "", fmt.Errorf("%w: bad export digest", errBadDigest)
	}
	lf := d.LogFiles[0]
	if !filepath.IsLocal(lf.FileName) {
		return "", fmt.Errorf("%w: bad file name", errBadDigest)
	}
	data, err := os.ReadFile(filepath.Join(exportDir, filepath.FromSlash(lf.FileName)))
	if err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != lf.HashValue {
		return "", fmt.Errorf("audit: %s does not match its digest", lf.FileName)
	}
	return lf.FileName, nil
}

// safeName keeps an account id or region usable as a path element.
func safeName(s, def string) string {
	if s == "" || len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	}) {
		return def
	}
	return s
}

// randomName returns 16 random characters of [A-Za-z0-9], as CloudTrail's
// log file names end.
func randomName() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [16]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// maintainer exports and applies retention every ExportInterval until Close.
func (l *Log) maintainer() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.ExportInterval)
	defer t.Stop()
	for {
		select {
		case <-l.maint:
			return
		case <-t.C:
		}
		if l.failed.Load() != nil {
			continue
		}
		if _, err := l.Export(l.now()); err != nil {
			l.log.Error("audit: export failed", "err", err)
			continue
		}
		if _, err := l.ApplyRetention(l.now()); err != nil {
			l.log.Error("audit: retention failed", "err", err)
		}
	}
}

// ApplyRetention removes the oldest segments beyond Options.RetentionMaxAge
// (judged by a segment's newest event) or RetentionMaxBytes (total size),
// stopping at the first segment that is not yet exported, not covered by a
// digest, or the active one. Before removing, it writes a digest that names
// the new oldest seq, so Verify can tell retention from deletion. It
// returns the paths removed. Lookups that were reading a removed segment
// skip it.
func (l *Log) ApplyRetention(now time.Time) ([]string, error) {
	if l.opts.RetentionMaxAge <= 0 && l.opts.RetentionMaxBytes <= 0 {
		return nil, nil
	}
	// emu serializes retention with itself and with Export.
	l.emu.Lock()
	defer l.emu.Unlock()
	exported := l.exported
	if l.opts.ExportDir == "" {
		exported = 0
	}
	digested := l.lastDigestSeq()
	segs, _ := l.snapshot()
	var total int64
	for _, s := range segs {
		total += s.size
	}
	n := 0
	for i := 0; i < len(segs)-1; i++ {
		s := segs[i]
		var maxT int64
		for _, c := range s.chunks {
			maxT = max(maxT, c.maxT)
		}
		old := l.opts.RetentionMaxAge > 0 && now.Sub(time.Unix(maxT, 0)) > l.opts.RetentionMaxAge
		big := l.opts.RetentionMaxBytes > 0 && total > l.opts.RetentionMaxBytes
		if !(old || big) || s.lastSeq > exported || s.lastSeq > digested {
			break
		}
		total -= s.size
		n++
	}
	if n == 0 {
		return nil, nil
	}
	removed := make([]*segment, n)
	l.imu.Lock()
	copy(removed, l.segs[:n])
	l.segs = slices.Delete(l.segs, 0, n)
	l.imu.Unlock()
	if err := l.writeDigest(); err != nil {
		l.fail(err)
		return nil, err
	}
	var paths []string
	var errs []error
	for _, s := range removed {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		paths = append(paths, s.path)
	}
	if err := syncDir(l.dir); err != nil {
		errs = append(errs, err)
	}
	return paths, errors.Join(errs...)
}
