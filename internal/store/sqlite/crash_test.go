package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/custoskms/custos/internal/store"
)

// crashChildEnv names the database a re-executed test binary writes to
// until it is killed.
const crashChildEnv = "CUSTOS_SQLITE_CRASH_CHILD"

const crashARN = "arn:aws:kms:us-east-1:111111111111:key/crash"

// TestKillDurability kills (SIGKILL) a process in the middle of a stream of
// Updates and checks that every Update it acknowledged is in the database.
func TestKillDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "custos.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDurability$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	lines := bufio.NewScanner(out)
	for acked < 30 && lines.Scan() {
		n, err := strconv.Atoi(lines.Text())
		if err != nil {
			continue // test framework output
		}
		acked = n
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 30 {
		t.Fatalf("child acknowledged %d Updates before ending, want 30", acked)
	}

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after kill: %v", err)
	}
	defer s.Close()
	err = s.View(t.Context(), func(tx store.Tx) error {
		k, err := tx.GetKey(crashARN)
		if err != nil {
			return err
		}
		if k.PendingWindowDays < acked {
			t.Errorf("after kill: counter = %d, want at least the %d acknowledged", k.PendingWindowDays, acked)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View after kill: %v", err)
	}
}

// crashChild increments a counter in its own Update, forever, printing each
// acknowledged value.
func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.InsertKey(store.Key{ARN: crashARN, State: "Enabled"})
	})
	for n := 1; err == nil; n++ {
		err = s.Update(ctx, func(tx store.Tx) error {
			k, err := tx.GetKey(crashARN)
			if err != nil {
				return err
			}
			k.PendingWindowDays = n
			_, err = tx.UpdateKey(k)
			return err
		})
		if err == nil {
			fmt.Println(n)
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
