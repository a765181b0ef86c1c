package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashOpts are the options of the crash child: small segments and frequent
// digests, so kills land in rotations and digests too.
func crashOpts() Options {
	return Options{SigningKey: testKey(1), SegmentMaxBytes: 32 << 10, DigestEvery: 40, DigestInterval: 50 * time.Millisecond}
}

// TestCrashChild is the child of TestCrashRestart: it appends under load
// until it is killed, printing the id of every acknowledged event.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("AUDIT_CRASH_CHILD")
	if dir == "" {
		t.Skip("only run as the child of TestCrashRestart")
	}
	l, err := Open(dir, crashOpts())
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	acked := make(chan string, 1024)
	for w := 0; w < 16; w++ {
		go func() {
			for i := 0; ; i++ {
				ev := testEvent("Encrypt", w, "AKIACRASH"+strconv.Itoa(w))
				if err := l.Append(context.Background(), ev); err != nil {
					fmt.Println("append:", err)
					os.Exit(1)
				}
				acked <- ev.EventID
			}
		}()
	}
	out := bufio.NewWriter(os.Stdout)
	for id := range acked {
		fmt.Fprintln(out, "ack", id)
		if len(acked) == 0 {
			out.Flush()
		}
	}
}

// TestCrashRestart kills a child appending under load with SIGKILL, several
// times (AUDIT_CRASH_KILLS, default 5): right after each kill Verify must
// find the files Intact or TornTail, every acknowledged event must be in the
// trail, and reopening must repair the trail to Intact.
func TestCrashRestart(t *testing.T) {
	if os.Getenv("AUDIT_CRASH_CHILD") != "" {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	kills := 5
	if s := os.Getenv("AUDIT_CRASH_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("AUDIT_CRASH_KILLS=%q is not a positive number", s)
		}
		kills = n
	}
	dir := filepath.Join(t.TempDir(), "audit")
	pub := testKey(1).Public().(ed25519.PublicKey)
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	idRE := regexp.MustCompile(`"eventID":"([0-9a-f-]{36})"`)
	counts := map[Status]int{}
	var total int64
	for round := 0; round < kills; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "AUDIT_CRASH_CHILD="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var acked []string
		first := make(chan struct{})
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(stdout)
			once := sync.Once{}
			for sc.Scan() {
				var id string
				if _, err := fmt.Sscanf(sc.Text(), "ack %s", &id); err == nil {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
					once.Do(func() { close(first) })
				} else {
					t.Errorf("child: %s", sc.Text())
				}
			}
			once.Do(func() { close(first) })
		}()
		select {
		case <-first:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}
		time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-readDone
		cmd.Wait()

		r, err := Verify(dir, pub)
		if err != nil {
			t.Fatalf("round %d: Verify = %v", round, err)
		}
		if r.Status == Tampered {
			t.Fatalf("round %d: Verify right after SIGKILL = %v: %v", round, r.Status, r.Problems)
		}
		counts[r.Status]++
		if r.Records < total {
			t.Fatalf("round %d: %d records, fewer than the %d before", round, r.Records, total)
		}
		total = r.Records

		// Every acknowledged event is on disk.
		ids := map[string]bool{}
		for _, p := range segmentFiles(t, dir) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range idRE.FindAllSubmatch(data, -1) {
				ids[string(m[1])] = true
			}
		}
		mu.Lock()
		for _, id := range acked {
			if !ids[id] {
				t.Fatalf("round %d: acknowledged event %s is not in the trail", round, id)
			}
		}
		n := len(acked)
		mu.Unlock()

		l, err := Open(dir, crashOpts())
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL = %v", round, err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("round %d: Close = %v", round, err)
		}
		r, err = Verify(dir, pub)
		if err != nil || r.Status != Intact {
			t.Fatalf("round %d: Verify after reopening = %v, %v; want intact: %v %v", round, r.Status, err, r.Problems, r.Torn)
		}
		t.Logf("round %d: %d acknowledged, %d records in %d segments", round, n, r.Records, r.Segments)
	}
	t.Logf("%d kills: right after the kill, %d intact and %d torn tail; all intact after reopening", kills, counts[Intact], counts[TornTail])
}
