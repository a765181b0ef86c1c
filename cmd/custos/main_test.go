package main

// The tests of this package run the real custos binary, built once per test
// run by TestMain, and talk to it the way a user would: through its exit
// status and output, the AWS CLI and aws-sdk-go-v2.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The root credentials every test server is started with.
const (
	testAccessKeyID = "AKIDTEST000000000001"
	testSecretKey   = "e2eSecretKeyDoNotLeak0123456789abcdefABC" // 40 characters
	testAccountID   = "111122223333"
	testRegion      = "us-east-1"
)

// custosBin is the path of the binary TestMain built.
var custosBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "custos-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "custos e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildBinary(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "custos e2e:", err)
		return 1
	}
	custosBin = bin
	return m.Run()
}

// buildBinary builds ./cmd/custos (the package the test runs in) into dir
// and returns the binary's path.
func buildBinary(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(dir, "custos")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/custos: %w", err)
	}
	return bin, nil
}

// cleanEnv is the environment of every child process: nothing of the
// caller's leaks in (in particular no CUSTOS_ROOT_* or AWS_* variables).
func cleanEnv(extra ...string) []string {
	return append([]string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}, extra...)
}

// runCustos runs the binary to completion and returns its exit status and
// output.
func runCustos(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(custosBin, args...)
	cmd.Env = cleanEnv()
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start custos %q: %v", args, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String(), errOut.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), out.String(), errOut.String()
		default:
			t.Fatalf("custos %q: %v", args, err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("custos %q did not exit within 20s; stderr:\n%s", args, errOut.String())
	}
	return -1, "", ""
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string // substrings
		wantStderr []string // substrings
	}{
		{"version", []string{"version"}, 0, []string{"custos "}, nil},
		{"help", []string{"help"}, 0, []string{"Usage: custos <command>", "server", "version", "help"}, nil},
		{"dash help", []string{"--help"}, 0, []string{"Usage: custos <command>"}, nil},
		{"no args", nil, 2, nil, []string{"Usage: custos <command>"}},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{`unknown command "frobnicate"`, "Usage: custos"}},
		{"server unknown flag", []string{"server", "--bogus"}, 2, nil, []string{"flag provided but not defined: -bogus"}},
		{"server key id without secret", []string{"server", "--root-access-key-id", "x"}, 2, nil,
			[]string{"--root-access-key-id and --root-secret-access-key go together"}},
		{"server secret without key id", []string{"server", "--root-secret-access-key", "x"}, 2, nil,
			[]string{"--root-access-key-id and --root-secret-access-key go together"}},
		{"server extra argument", []string{"server", "extra"}, 2, nil, []string{`unexpected argument "extra"`}},
		{"server bad log level", []string{"server", "--log-level", "loud"}, 2, nil, []string{`bad --log-level "loud"`}},
		{"server help", []string{"server", "-h"}, 0, nil, []string{"-listen", "-data", "-root-access-key-id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCustos(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("custos %q exit status = %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.wantCode, stdout, stderr)
			}
			for _, s := range tc.wantStdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("custos %q stdout = %q, want it to contain %q", tc.args, stdout, s)
				}
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("custos %q stderr = %q, want it to contain %q", tc.args, stderr, s)
				}
			}
		})
	}
}

// TestVersionLine checks that `custos version` prints exactly one line,
// "custos <version>".
func TestVersionLine(t *testing.T) {
	code, stdout, _ := runCustos(t, "version")
	if code != 0 {
		t.Fatalf("custos version exit status = %d, want 0", code)
	}
	fields := strings.Fields(stdout)
	if len(fields) != 2 || fields[0] != "custos" || strings.Count(stdout, "\n") != 1 {
		t.Errorf("custos version stdout = %q, want one line %q", stdout, "custos <version>")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serverProc is a running `custos server` child process.
type serverProc struct {
	cmd       *exec.Cmd
	endpoint  string // e.g. http://127.0.0.1:40123
	dataDir   string
	credsFile string
	stdout    *syncBuffer
	stderr    *syncBuffer

	done    chan struct{} // closed when the process has exited
	waitErr error         // cmd.Wait's result, set before done closes
}

const servingPrefix = "serving the AWS KMS API on "

// startServer starts `custos server` on a free port of 127.0.0.1 with the
// test root credentials and data folder dataDir, waits for its "serving"
// line and returns it. The process is killed at the end of the test if it
// still runs.
func startServer(t *testing.T, dataDir string, extraArgs ...string) *serverProc {
	t.Helper()
	args := append([]string{"server",
		"--listen", "127.0.0.1:0",
		"--data", dataDir,
		"--root-access-key-id", testAccessKeyID,
		"--root-secret-access-key", testSecretKey,
		"--log-level", "warn",
	}, extraArgs...)
	cmd := exec.Command(custosBin, args...)
	cmd.Env = cleanEnv()
	cmd.Dir = t.TempDir()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	p := &serverProc{cmd: cmd, dataDir: dataDir, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = pw
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("start custos server: %v", err)
	}
	pw.Close()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("custos server (pid %d) stderr:\n%s", cmd.Process.Pid, p.stderr.String())
		}
	})

	endpoint := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.stdout.Write([]byte(line + "\n"))
			if _, url, ok := strings.Cut(line, servingPrefix); ok && !sent {
				endpoint <- strings.TrimSpace(url)
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case p.endpoint = <-endpoint:
	case <-p.done:
		t.Fatalf("custos server exited before serving: %v\nstdout:\n%s\nstderr:\n%s", p.waitErr, p.stdout.String(), p.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("custos server printed no %q line within 20s\nstdout:\n%s\nstderr:\n%s", servingPrefix, p.stdout.String(), p.stderr.String())
	}
	p.credsFile = filepath.Join(dataDir, "credentials")
	return p
}

// waitStdout waits up to 5 s for the server to print s.
func (p *serverProc) waitStdout(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stdout.String(), s) {
		if time.Now().After(deadline) {
			t.Errorf("stdout = %q, want it to contain %q", p.stdout.String(), s)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends sig to the server and waits for it to exit. With SIGTERM or
// SIGINT the server must exit 0 within 15 s; with SIGKILL it must die.
func (p *serverProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("custos server had already exited: %v\nstderr:\n%s", p.waitErr, p.stderr.String())
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to custos server: %v", sig, err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("custos server did not exit within 15s of %v\nstderr:\n%s", sig, p.stderr.String())
	}
	if sig == syscall.SIGKILL {
		return
	}
	if p.waitErr != nil {
		t.Errorf("custos server after %v: %v, want exit status 0\nstderr:\n%s", sig, p.waitErr, p.stderr.String())
	}
}

func TestServerStartStop(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			p := startServer(t, dir)
			if !strings.HasPrefix(p.endpoint, "http://127.0.0.1:") {
				t.Errorf("endpoint = %q, want http://127.0.0.1:PORT", p.endpoint)
			}
			p.waitStdout(t, "credentials: "+p.credsFile+" (profile custos)")
			p.stop(t, sig)
			if strings.Contains(p.stdout.String(), testSecretKey) || strings.Contains(p.stderr.String(), testSecretKey) {
				t.Errorf("custos server printed the secret access key")
			}
		})
	}
}
