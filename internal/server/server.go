// Package server is Custos as a library: it opens the data folder, unseals
// the root key, opens the store and serves every API on one HTTP(S)
// listener. cmd/custos only parses flags; a test starts a server on
// 127.0.0.1:0 with New and Start.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custoskms/custos/internal/audit"
	"github.com/custoskms/custos/internal/iam"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/kms"
	"github.com/custoskms/custos/internal/org"
	"github.com/custoskms/custos/internal/policy"
	"github.com/custoskms/custos/internal/seal"
	"github.com/custoskms/custos/internal/sigv4"
	"github.com/custoskms/custos/internal/store"
	"github.com/custoskms/custos/internal/store/postgres"
	"github.com/custoskms/custos/internal/store/sqlite"
)

// Config says how to run a server. The zero value of each field but
// DataDir has a working default.
type Config struct {
	DataDir   string   // the data folder; created if missing
	StoreURL  string   // "" keeps the store in DataDir/custos.db (SQLite); "postgres://..." uses PostgreSQL
	AccountID string   // default 111122223333
	Regions   []string // regions served; empty serves any well-formed region

	// Root credentials to pin (both or neither). Without them a random pair
	// is made on first start.
	RootAccessKeyID string
	RootSecretKey   string

	TLSCert, TLSKey string // serve HTTPS with this certificate and key
	TLSSelfSigned   bool   // serve HTTPS with a certificate generated at start

	Logger *slog.Logger
	Now    func() time.Time // the clock of key states, deletion and rotation (not of signatures)

	AuditExportDir         string        // where CloudTrail-format files go; default DataDir/audit-export
	AuditRetention         time.Duration // trail segments older than this may go once exported and digested (0: kept)
	AuditRetentionBytes    int64         // or while the trail is larger than this (0: no limit)
	RejectSensitiveContext bool          // refuse encryption contexts that look like secrets or personal data
	SweepInterval          time.Duration // how often deletion and rotation are checked; default 1 minute
}

// DefaultAccountID is the account a fresh server serves.
const DefaultAccountID = "111122223333"

// Server serves the AWS APIs of Custos.
type Server struct {
	cfg       Config
	log       *slog.Logger
	store     store.Store
	kms       *kms.Service
	dir       *iam.Directory
	iam       *iam.Service
	notifier  store.Notifier // set when the store is shared with other nodes
	audit     *audit.Log
	mirror    *audit.Mirror // copies the trail into the shared event index, on a shared store
	events    audit.Events  // answers LookupEvents and GetKeyLastUsage: the mirror, or the trail alone
	org       *org.Service
	verifier  *sigv4.Verifier
	metrics   *metrics
	jsonAPIs  map[string]jsonAPI
	queryAPIs map[string]queryAPI
	regions   map[string]bool

	tls         *tls.Config
	fingerprint string // SHA-256 of the TLS certificate, hex

	credsFile  string
	rootKeyNew bool

	http   *http.Server
	ln     net.Listener
	ready  atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens the data folder (initialising it on first start: root key,
// account, root credentials) and returns a server ready to Start.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: DataDir is required")
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Minute
	}
	if (cfg.RootAccessKeyID == "") != (cfg.RootSecretKey == "") {
		return nil, errors.New("server: root access key id and secret access key go together")
	}
	for _, r := range cfg.Regions {
		if !kms.IsRegion(r) {
			return nil, fmt.Errorf("server: %q is not a region name", r)
		}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics()}
	if len(cfg.Regions) > 0 {
		s.regions = make(map[string]bool)
		for _, r := range cfg.Regions {
			s.regions[r] = true
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data folder: %w", err)
	}
	key, created, err := seal.OpenFile(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.rootKeyNew = created
	root, err := keyring.NewRoot(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Warn("server: created a file-sealed root key; fine for development, not for production",
			"path", filepath.Join(cfg.DataDir, "root.key"))
	}
	signing, err := auditSigningKey(cfg.DataDir, root)
	if err != nil {
		return nil, err
	}
	exportDir := cfg.AuditExportDir
	if exportDir == "" {
		exportDir = filepath.Join(cfg.DataDir, "audit-export")
	}
	s.audit, err = audit.Open(filepath.Join(cfg.DataDir, audit.DataSubdir), audit.Options{
		SigningKey:        signing,
		Logger:            cfg.Logger,
		ExportDir:         exportDir,
		RetentionMaxAge:   cfg.AuditRetention,
		RetentionMaxBytes: cfg.AuditRetentionBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("server: open the audit trail (check it with 'custos audit verify'): %w", err)
	}
	var st store.Store
	switch {
	case cfg.StoreURL == "":
		st, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "custos.db"))
	case strings.HasPrefix(cfg.StoreURL, "postgres://"), strings.HasPrefix(cfg.StoreURL, "postgresql://"):
		st, err = postgres.Open(ctx, cfg.StoreURL)
	default:
		err = errors.New("server: StoreURL: want postgres://... or empty for the embedded SQLite")
	}
	if err != nil {
		s.audit.Close()
		return nil, err
	}
	s.store = st
	if err := s.checkRootKey(ctx, st, root); err != nil {
		st.Close()
		s.audit.Close()
		return nil, err
	}
	st = s.shared(st)
	s.events = s.audit
	if idx, ok := s.store.(store.EventIndex); ok && s.notifier != nil {
		s.mirror = audit.NewMirror(s.audit, idx, audit.MirrorOptions{Retention: cfg.AuditRetention, Logger: cfg.Logger})
		s.events = s.mirror
	}
	s.dir = iam.NewDirectory(st, root, rand.Reader, cfg.Now)
	s.kms, err = kms.New(kms.Config{Store: st, Root: root, Rand: rand.Reader, Now: cfg.Now, Logger: cfg.Logger,
		PrincipalExists: func(ctx context.Context, arn string) (bool, error) { return s.iam.PrincipalExists(ctx, arn) },
		LastUsage: func(ctx context.Context, arn string) (string, time.Time, string, string, bool, error) {
			u, ok, err := s.events.KeyLastUse(ctx, arn)
			return u.EventName, u.Time, u.EventID, u.RequestID, ok, err
		},
		OnServiceEvent:         s.recordServiceEvent,
		RejectSensitiveContext: cfg.RejectSensitiveContext,
		Lease:                  s.leaseSweep,
	})
	if err != nil {
		st.Close()
		s.audit.Close()
		return nil, err
	}
	if s.iam, err = iam.NewService(iam.Config{Store: st, Root: root, Rand: rand.Reader, Now: cfg.Now, Logger: cfg.Logger, Directory: s.dir,
		SCPs: func(ctx context.Context, account string) ([][]*policy.Policy, error) {
			levels, _, _, err := s.org.SCPsOf(ctx, account)
			return levels, err
		}}); err != nil {
		st.Close()
		s.audit.Close()
		return nil, err
	}
	if s.org, err = org.New(org.Config{Store: st, Rand: rand.Reader, Now: cfg.Now, Logger: cfg.Logger, Directory: s.dir, Authorize: authorizeIdentity}); err != nil {
		st.Close()
		s.audit.Close()
		return nil, err
	}
	if err := s.initAccount(ctx); err != nil {
		st.Close()
		s.audit.Close()
		return nil, err
	}
	// Signatures are checked against the wall clock, whatever clock drives key
	// states: a test that moves time for the sweep still signs with real time.
	s.routes()
	s.verifier = sigv4.NewVerifier(s.lookupSecret, time.Now, 0, s.services()...)
	if err := s.initTLS(); err != nil {
		st.Close()
		s.audit.Close()
		return nil, err
	}
	return s, nil
}

// initAccount makes sure the account and its root credentials exist and that
// the credentials file names them.
func (s *Server) initAccount(ctx context.Context) error {
	if _, err := s.dir.EnsureAccount(ctx, s.cfg.AccountID); err != nil {
		return err
	}
	s.credsFile = filepath.Join(s.cfg.DataDir, "credentials")
	if s.cfg.RootAccessKeyID != "" {
		if err := s.dir.PutRootCredentials(ctx, s.cfg.AccountID, s.cfg.RootAccessKeyID, []byte(s.cfg.RootSecretKey)); err != nil {
			return err
		}
		return writeCredentials(s.credsFile, s.cfg.RootAccessKeyID, []byte(s.cfg.RootSecretKey))
	}
	id, secret, created, err := s.dir.RootCredentials(ctx, s.cfg.AccountID)
	if err != nil {
		return err
	}
	if created {
		defer clear(secret)
		return writeCredentials(s.credsFile, id, secret)
	}
	return nil
}

// writeCredentials writes the AWS shared-credentials file (profile custos),
// mode 0600, replacing it atomically.
func writeCredentials(path, id string, secret []byte) error {
	content := fmt.Appendf(nil, "[custos]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)
	defer clear(content)
	if err := writeFileAtomic(path, content); err != nil {
		return fmt.Errorf("server: credentials file: %w", err)
	}
	return nil
}

// lookupSecret serves the SigV4 verifier from the directory's cache.
func (s *Server) lookupSecret(accessKeyID string) ([]byte, bool) {
	secret, _, ok, err := s.dir.Lookup(context.Background(), accessKeyID)
	return secret, ok && err == nil
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in the
// background until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	s.ln = ln
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.followChanges(ctx)
	}()
	if s.mirror != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.mirror.Run(ctx)
		}()
	}
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server: serve", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.kms.RunSweeper(ctx, s.cfg.SweepInterval)
	}()
	s.ready.Store(true)
	return nil
}

// Close stops accepting requests, lets those in flight finish (until ctx
// ends), stops background work and closes the store.
func (s *Server) Close(ctx context.Context) error {
	s.ready.Store(false)
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if cerr := s.audit.Close(); err == nil {
		err = cerr
	}
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// KMS returns the KMS service, for tests that drive the sweep.
func (s *Server) KMS() *kms.Service { return s.kms }

// Endpoint returns the URL clients use.
func (s *Server) Endpoint() string {
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// CredentialsFile returns the path of the shared-credentials file.
func (s *Server) CredentialsFile() string { return s.credsFile }

// TLSFingerprint returns the SHA-256 fingerprint of the TLS certificate
// (hex, colon-separated), or "" when serving plain HTTP.
func (s *Server) TLSFingerprint() string { return s.fingerprint }

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
