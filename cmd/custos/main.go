// Command custos is a self-hosted key management service that speaks the
// AWS KMS API. Run `custos help` for the subcommands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// command is one row of the subcommand table.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"server", "run the Custos server", runServer},
		{"bench", "measure a running server with signed requests", runBench},
		{"audit", "verify and inspect the audit trail", runAudit},
		{"explain", "explain how a running server decides a principal's KMS request", runExplain},
		{"version", "print the version", func(_ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "custos", version)
			return nil
		}},
		{"help", "print this help", func(_ []string, stdout, _ io.Writer) error {
			usage(stdout)
			return nil
		}},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Custos: a self-hosted key management service that speaks the AWS KMS API.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: custos <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'custos <command> -h' for a command's flags.")
}

// errUsage marks a command-line mistake: exit status 2.
var errUsage = errors.New("usage")

// exitError ends the command with a given status after printing its message.
type exitError struct {
	status int
	msg    string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "-help" {
		name = "help"
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(stderr, "custos:", ee.msg)
			}
			return ee.status
		}
		fmt.Fprintln(stderr, "custos:", err)
		return 1
	}
	fmt.Fprintf(stderr, "custos: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// parseFlags parses a subcommand's flags; a mistake prints the flag's
// message and the command's usage and yields errUsage.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "custos %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
