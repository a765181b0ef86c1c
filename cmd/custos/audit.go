package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/custoskms/custos/internal/audit"
)

// exitTornTail is the exit status of `custos audit verify` for a trail
// that is intact but for a crash's incomplete last record.
const exitTornTail = 3

func auditUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: custos audit <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  verify             check the trail's hash chain and signed digests")
	fmt.Fprintln(w, "                     (exit 0 intact, 3 torn tail after a crash, 1 tampered, 2 usage)")
	fmt.Fprintln(w, "  export-public-key  print the PEM public key that verifies the digests")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'custos audit <command> -h' for a command's flags.")
}

func runAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		auditUsage(stderr)
		return errUsage
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(args[1:], stdout, stderr)
	case "export-public-key":
		return runAuditExportKey(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		auditUsage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "custos audit: unknown command %q\n\n", args[0])
	auditUsage(stderr)
	return errUsage
}

// trailFlags adds --data and --trail to fs and returns a function giving the
// trail folder.
func trailFlags(fs *flag.FlagSet) func() string {
	data := fs.String("data", "./custos-data", "data folder of the server (the trail is its "+audit.DataSubdir+" folder)")
	trail := fs.String("trail", "", "the trail folder itself (overrides --data), e.g. a copy")
	return func() string {
		if *trail != "" {
			return *trail
		}
		return filepath.Join(*data, audit.DataSubdir)
	}
}

func runAuditVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	dir := trailFlags(fs)
	keyFile := fs.String("public-key", "", "PEM public key of the digests (default: the trail's "+audit.PublicKeyFile+"; give one kept elsewhere to rule out a replaced key)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	trail := dir()
	path := *keyFile
	if path == "" {
		path = filepath.Join(trail, audit.PublicKeyFile)
	}
	pub, err := readPublicKey(path)
	if err != nil {
		return err
	}
	r, err := audit.Verify(trail, pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trail: %s\n", trail)
	fmt.Fprintf(stdout, "public key: %s (SHA-256 %s)\n", path, audit.KeyFingerprint(pub))
	r.WriteText(stdout)
	switch r.Status {
	case audit.Intact:
		return nil
	case audit.TornTail:
		return &exitError{status: exitTornTail}
	}
	return errors.New("audit trail tampered")
}

func runAuditExportKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit export-public-key", flag.ContinueOnError)
	dir := trailFlags(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	pub, err := readPublicKey(filepath.Join(dir(), audit.PublicKeyFile))
	if err != nil {
		return err
	}
	pemBytes, err := audit.MarshalPublicKeyPEM(pub)
	if err != nil {
		return err
	}
	_, err = stdout.Write(pemBytes)
	return err
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return audit.ParsePublicKeyPEM(data)
}
