package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/custoskms/custos/internal/server"
)

func runServer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4599", "address to listen on")
	data := fs.String("data", "./custos-data", "data folder (created on first start)")
	storeURL := fs.String("store", envOr("CUSTOS_STORE", ""), "where keys and identities are kept: empty for a SQLite file in the data folder, or postgres://user:password@host:port/db to share a PostgreSQL between nodes (env CUSTOS_STORE)")
	account := fs.String("account-id", server.DefaultAccountID, "the account id served")
	regions := fs.String("regions", "", "comma-separated regions to serve (default: any well-formed region in the SigV4 scope)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	selfSigned := fs.Bool("tls-self-signed", false, "serve HTTPS with a certificate generated at start")
	akid := fs.String("root-access-key-id", envOr("CUSTOS_ROOT_ACCESS_KEY_ID", ""), "pin the account root's access key id (env CUSTOS_ROOT_ACCESS_KEY_ID)")
	secret := fs.String("root-secret-access-key", envOr("CUSTOS_ROOT_SECRET_ACCESS_KEY", ""), "pin the account root's secret access key (env CUSTOS_ROOT_SECRET_ACCESS_KEY)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the whole run to this file (for performance work)")
	auditExport := fs.String("audit-export-dir", "", "where CloudTrail-format audit files are exported (default DATA/audit-export)")
	rejectSensitive := fs.Bool("reject-sensitive-context", false, "refuse requests whose encryption context looks like a secret or personal data")
	auditRetention := fs.Duration("audit-retention", 0, "audit records older than this may be removed once exported and digested, from the trail and from a shared --store's index (0 keeps them)")
	sweepInterval := fs.Duration("sweep-interval", time.Minute, "how often keys due for deletion or rotation are looked for, at least 1s; with a shared --store, another node takes these jobs over within 4 intervals when their node dies")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "custos server: bad --log-level %q\n", *logLevel)
		return errUsage
	}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		fmt.Fprintf(stderr, "custos server: bad --log-format %q\n", *logFormat)
		return errUsage
	}
	log := slog.New(handler)
	if *auditRetention < 0 {
		fmt.Fprintf(stderr, "custos server: bad --audit-retention %v: want 0 or more\n", *auditRetention)
		return errUsage
	}
	if *sweepInterval < time.Second {
		fmt.Fprintf(stderr, "custos server: bad --sweep-interval %v: want at least 1s\n", *sweepInterval)
		return errUsage
	}
	if (*akid == "") != (*secret == "") {
		fmt.Fprintln(stderr, "custos server: --root-access-key-id and --root-secret-access-key go together")
		return errUsage
	}
	// The live heap of a server is small (caches of keys and policies), and
	// every request allocates its buffers: a larger GC target than Go's
	// default trades a few MiB for a quarter of the CPU. GOGC still wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg := server.Config{
		AuditExportDir:         *auditExport,
		RejectSensitiveContext: *rejectSensitive,
		DataDir:                *data,
		StoreURL:               *storeURL,
		AccountID:              *account,
		RootAccessKeyID:        *akid,
		RootSecretKey:          *secret,
		TLSCert:                *tlsCert,
		TLSKey:                 *tlsKey,
		TLSSelfSigned:          *selfSigned,
		SweepInterval:          *sweepInterval,
		AuditRetention:         *auditRetention,
		Logger:                 log,
	}
	if *regions != "" {
		for _, r := range strings.Split(*regions, ",") {
			cfg.Regions = append(cfg.Regions, strings.TrimSpace(r))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(*listen); err != nil {
		srv.Close(context.Background())
		return err
	}
	endpoint := srv.Endpoint()
	region := "us-east-1"
	if len(cfg.Regions) > 0 {
		region = cfg.Regions[0]
	}
	fmt.Fprintf(stdout, "Custos %s serving the AWS KMS API on %s\n", version, endpoint)
	fmt.Fprintf(stdout, "  account:     %s\n", *account)
	fmt.Fprintf(stdout, "  data:        %s\n", *data)
	fmt.Fprintf(stdout, "  credentials: %s (profile custos)\n", srv.CredentialsFile())
	if fp := srv.TLSFingerprint(); fp != "" {
		fmt.Fprintf(stdout, "  TLS SHA-256 fingerprint: %s\n", fp)
	}
	extra := ""
	if srv.TLSFingerprint() != "" && *tlsCert == "" {
		extra = " --no-verify-ssl"
	}
	fmt.Fprintln(stdout, "Try:")
	fmt.Fprintf(stdout, "  AWS_SHARED_CREDENTIALS_FILE=%s AWS_PROFILE=custos aws kms create-key --endpoint-url %s --region %s%s\n",
		srv.CredentialsFile(), endpoint, region, extra)

	<-ctx.Done()
	stop()
	log.Info("custos: shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Close(shutdown)
}
