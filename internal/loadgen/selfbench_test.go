package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSelfBench measures the generator itself against a trivial server that
// runs in a child process, so that Result.ClientCPU is the generator's alone.
// It runs only when asked, for example:
//
//	LOADGEN_SELFBENCH=3s go test -run TestSelfBench -v ./internal/loadgen
func TestSelfBench(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("LOADGEN_SELFBENCH"))
	if err != nil {
		t.Skip("set LOADGEN_SELFBENCH to a duration to run")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTrivialServer$")
	cmd.Env = append(os.Environ(), "LOADGEN_TRIVIAL_SERVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the server stops when its stdin closes
		cmd.Wait()
	}()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the server's address: %v", err)
	}
	go io.Copy(io.Discard, stdout)

	cfg := testConfig("http://"+strings.TrimSpace(addr), "Encrypt")
	cfg.KeyID, cfg.Concurrency, cfg.Duration = testKeyID, 64, d
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("against a trivial server in another process:\n%s", res)
}

// TestTrivialServer is the child process of TestSelfBench: it answers every
// request with a fixed 200 reply, prints its address and serves until its
// standard input closes.
func TestTrivialServer(t *testing.T) {
	if os.Getenv("LOADGEN_TRIVIAL_SERVER") != "1" {
		t.Skip("child process of TestSelfBench")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reply := []byte(`{"CiphertextBlob":"AAAA","KeyId":"` + testKeyARN + `"}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(reply)
	})}
	go srv.Serve(l)
	fmt.Println(l.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}
