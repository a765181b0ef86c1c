package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"time"

	"github.com/custoskms/custos/internal/loadgen"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Endpoint, "endpoint", "http://127.0.0.1:4599", "server URL")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "region to sign for")
	fs.StringVar(&cfg.AccessKeyID, "access-key-id", envOr("AWS_ACCESS_KEY_ID", ""), "access key id (env AWS_ACCESS_KEY_ID)")
	fs.StringVar(&cfg.SecretKey, "secret-access-key", envOr("AWS_SECRET_ACCESS_KEY", ""), "secret access key (env AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&cfg.Op, "op", "Encrypt", "operation: Encrypt, Decrypt, GenerateDataKey, GenerateRandom, DescribeKey, Sign or GenerateMac")
	fs.IntVar(&cfg.Size, "size", 0, "plaintext bytes (Encrypt, Decrypt; default 4096), NumberOfBytes (GenerateRandom; default 32) or message bytes (Sign, GenerateMac; default 256)")
	fs.StringVar(&cfg.KeySpec, "key-spec", "", "key spec of the key to create for Sign (default ECC_NIST_P256; it picks the signing algorithm) or GenerateMac (default HMAC_256)")
	fs.StringVar(&cfg.KeyID, "key-id", "", "key to use (default: create one)")
	fs.IntVar(&cfg.Concurrency, "c", 64, "concurrent requests")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "how long to run")
	fs.IntVar(&cfg.Requests, "n", 0, "stop after this many requests (0: no cap)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "skip TLS certificate verification")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if cfg.AccessKeyID == "" || cfg.SecretKey == "" {
		fmt.Fprintln(stderr, "custos bench: credentials needed: --access-key-id and --secret-access-key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
		return errUsage
	}
	// The generator shares the machine with the server it measures: collect
	// garbage less often so that it takes less of the CPU.
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.String())
	return nil
}
