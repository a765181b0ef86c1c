package main

// The three-node test of issue 7: three `custos server` processes share one
// PostgreSQL database; a load runs on all three while one node, the holder
// of the lease of the background jobs, is killed with SIGKILL and
// PostgreSQL is restarted; another node takes the background jobs over;
// afterwards nothing acknowledged is missing, and a node stopped gracefully
// hands the background jobs over at once.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/pgtest"
)

// Bounds of the three-node test.
const (
	nodesCount          = 3
	nodesWorkersPerNode = 2
	nodesPace           = 10 * time.Millisecond // pause between two iterations of a worker
	nodesMaxIterations  = 1000                  // per worker: bounds the requests of a slow run
	nodesPhaseProgress  = 10                    // iterations each live node completes in a phase
	nodesPhaseTimeout   = 10 * time.Second
	nodesRecoverWithin  = 20 * time.Second // nodes serve again this soon after PostgreSQL is back
	nodesPostgresBack   = 75 * time.Second // longest wait for PostgreSQL to start again
	nodesSettle         = time.Second      // staleness target of a node's caches (issue 7)
	nodesCheckers       = 4                // concurrent requests of the final check

	// The background jobs: their lease lasts 3 intervals, so a dead
	// holder's jobs pass on within 4; a holder that stops gracefully
	// releases the lease, and another node takes it at its next round.
	nodesSweepInterval = time.Second
	nodesLeaseTakeover = 15 * time.Second        // after SIGKILL of the holder
	nodesLeaseReleased = 2500 * time.Millisecond // after the holder exited on SIGTERM
	nodesSweepLease    = "custos_sweeper"        // the lease's name in the leases table
)

// nodesRetryable are the errors a node may answer while its database is
// out of reach.
var nodesRetryable = map[string]bool{"DependencyTimeoutException": true, "KMSInternalException": true}

// nodesPostgres returns the URL of a fresh schema of the test database
// ($CUSTOS_TEST_POSTGRES_URL), dropped when the test ends, and the folder of
// the cluster ($CUSTOS_POSTGRES_DIR, made by scripts/postgres start). It
// skips the test when either is unset, or fails it if CUSTOS_REQUIRE_TOOLS=1.
func nodesPostgres(t *testing.T) (storeURL, clusterDir string) {
	t.Helper()
	base, dir := os.Getenv("CUSTOS_TEST_POSTGRES_URL"), os.Getenv("CUSTOS_POSTGRES_DIR")
	if base == "" || dir == "" {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatal("CUSTOS_TEST_POSTGRES_URL or CUSTOS_POSTGRES_DIR is not set (eval \"$(scripts/postgres start)\" sets both)")
		}
		t.Skip("CUSTOS_TEST_POSTGRES_URL or CUSTOS_POSTGRES_DIR is not set; eval \"$(scripts/postgres start)\"")
	}
	return pgtest.Schema(t, "custos_three_nodes_"), dir
}

// restartPostgres restarts the cluster of scripts/postgres in clusterDir
// (fast shutdown, then start with the options it last ran with), waits
// until it accepts connections again and returns how many pg_ctl runs it
// took. Run as root, pg_ctl runs as the postgres user, as scripts/postgres
// runs it.
//
// A start can fail because the port is taken: while PostgreSQL is down, a
// client that connects to its port (a node reconnecting) may be given that
// very port as its own ephemeral port when it lies in Linux's ephemeral
// range, and connect to itself; the port then stays taken until that
// socket's TIME_WAIT ends, 60 s later. So restartPostgres runs pg_ctl
// restart again (which starts a stopped server) until the server runs or
// nodesPostgresBack has passed, leaving the cluster running for the tests
// that come next whenever it can.
func restartPostgres(t *testing.T, clusterDir string) (runs int) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(clusterDir, ".custos-postgres")); err != nil {
		t.Fatalf("CUSTOS_POSTGRES_DIR %s is not a folder of scripts/postgres start: %v", clusterDir, err)
	}
	data := filepath.Join(clusterDir, "data")
	// postmaster.opts starts with the path of the running postgres binary;
	// its pg_ctl is in the same folder.
	opts, err := os.ReadFile(filepath.Join(data, "postmaster.opts"))
	if err != nil {
		t.Fatalf("read postmaster.opts: %v", err)
	}
	fields := strings.Fields(string(opts))
	if len(fields) == 0 {
		t.Fatalf("postmaster.opts of %s is empty", data)
	}
	pgCtl := filepath.Join(filepath.Dir(strings.Trim(fields[0], `"`)), "pg_ctl")
	args := []string{pgCtl, "--pgdata=" + data, "--log=" + filepath.Join(clusterDir, "server.log"),
		"--wait", "--timeout=60", "--mode=fast", "restart"}
	if os.Geteuid() == 0 {
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	deadline := time.Now().Add(nodesPostgresBack)
	for runs = 1; ; runs++ {
		out, err := runPgCtl(t, args)
		if err == nil {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: %v\n%s\nserver.log ends:\n%s", args, err, out, logTail(filepath.Join(clusterDir, "server.log"), 6))
		}
		t.Logf("PostgreSQL did not restart (run %d of pg_ctl: %v); server.log ends:\n%s", runs, err, logTail(filepath.Join(clusterDir, "server.log"), 4))
		time.Sleep(time.Second)
	}
}

// runPgCtl runs args and returns its output.
func runPgCtl(t *testing.T, args []string) (string, error) {
	t.Helper()
	// Output goes to a file, not a pipe: the restarted postmaster must not
	// hold a pipe of this process open.
	out, err := os.CreateTemp(t.TempDir(), "pg_ctl-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = cleanEnv()
	cmd.Dir = "/" // a folder the postgres user may enter
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	text, _ := os.ReadFile(out.Name())
	return string(text), err
}

// logTail returns the last n lines of the file at path, or why it cannot.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// ackedKey, ackedGrant and ackedCiphertext are what a node acknowledged.
type ackedKey struct {
	id, arn, description string
	node                 int
}

type ackedGrant struct {
	keyID, grantID string
	node           int
}

type ackedCiphertext struct {
	keyARN    string
	blob      []byte
	plaintext []byte
	context   map[string]string
	node      int
}

// failedRequest is one request a node (or the connection to it) failed.
type failedRequest struct {
	node        int
	op          string
	start       time.Time
	code        string // AWS error code, or the transport error's text
	api         bool   // code is an AWS error code
	afterKilled bool   // the node had been sent SIGKILL when the error came
}

// nodesLoad is the load of the three-node test: workers on every node
// create keys and grants, encrypt and decrypt, and record every result a
// node acknowledged.
type nodesLoad struct {
	t       *testing.T
	clients []*kms.Client
	killed  []atomic.Bool  // per node: SIGKILL sent
	ok      []atomic.Int64 // per node: iterations that fully succeeded
	total   atomic.Int64   // requests sent
	stop    chan struct{}
	wg      sync.WaitGroup

	// restarted is the UnixNano time PostgreSQL accepted connections again
	// after its restart, 0 before.
	restarted atomic.Int64

	mu          sync.Mutex
	keys        []ackedKey
	grants      []ackedGrant
	ciphertexts []ackedCiphertext
	failures    []failedRequest
	recovered   []time.Time // per node: start of its first good iteration after restarted
}

func newNodesLoad(t *testing.T, clients []*kms.Client) *nodesLoad {
	return &nodesLoad{
		t: t, clients: clients,
		killed:    make([]atomic.Bool, len(clients)),
		ok:        make([]atomic.Int64, len(clients)),
		stop:      make(chan struct{}),
		recovered: make([]time.Time, len(clients)),
	}
}

func (l *nodesLoad) start() {
	for node := range l.clients {
		for w := range nodesWorkersPerNode {
			l.wg.Go(func() { l.work(node, w) })
		}
	}
}

// halt stops the workers and waits for them.
func (l *nodesLoad) halt() {
	close(l.stop)
	l.wg.Wait()
}

// work runs iterations on node until the load stops, the node is killed
// or the iteration bound is reached.
func (l *nodesLoad) work(node, worker int) {
	for i := range nodesMaxIterations {
		select {
		case <-l.stop:
			return
		default:
		}
		start := time.Now()
		good, gone := l.iteration(node, worker, i)
		if gone {
			return
		}
		if good {
			l.ok[node].Add(1)
			if r := l.restarted.Load(); r != 0 && start.UnixNano() >= r {
				l.mu.Lock()
				if l.recovered[node].IsZero() {
					l.recovered[node] = start
				}
				l.mu.Unlock()
			}
		}
		select {
		case <-l.stop:
			return
		case <-time.After(nodesPace):
		}
	}
}

// iteration runs CreateKey, CreateGrant, Encrypt (under any acknowledged
// key, of any node) and Decrypt (of any acknowledged ciphertext) on node.
// It reports whether all four succeeded, and whether the node is gone
// (killed) so that the worker should stop.
func (l *nodesLoad) iteration(node, worker, i int) (good, gone bool) {
	c := l.clients[node]
	ctx := context.Background()

	// A failed request ends the iteration.
	failed := func(op string, start time.Time, err error) (bool, bool) {
		f := failedRequest{node: node, op: op, start: start, afterKilled: l.killed[node].Load()}
		var ae smithy.APIError
		if errors.As(err, &ae) {
			f.code, f.api = ae.ErrorCode(), true
		} else {
			f.code = err.Error()
		}
		l.mu.Lock()
		l.failures = append(l.failures, f)
		l.mu.Unlock()
		return false, f.afterKilled
	}

	desc := fmt.Sprintf("three-nodes %d/%d/%d", node, worker, i)
	start := time.Now()
	l.total.Add(1)
	ck, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(desc)})
	if err != nil {
		return failed("CreateKey", start, err)
	}
	md := ck.KeyMetadata
	if md == nil || aws.ToString(md.KeyId) == "" {
		l.t.Errorf("node %d: CreateKey succeeded without a key id", node)
		return false, false
	}
	id := aws.ToString(md.KeyId)
	wantARN := "arn:aws:kms:" + testRegion + ":" + testAccountID + ":key/" + id
	if aws.ToString(md.Arn) != wantARN || md.KeyState != types.KeyStateEnabled || aws.ToString(md.Description) != desc {
		l.t.Errorf("node %d: CreateKey = (Arn %q, KeyState %s, Description %q), want (%q, Enabled, %q)",
			node, aws.ToString(md.Arn), md.KeyState, aws.ToString(md.Description), wantARN, desc)
		return false, false
	}
	l.mu.Lock()
	l.keys = append(l.keys, ackedKey{id: id, arn: wantARN, description: desc, node: node})
	l.mu.Unlock()

	start = time.Now()
	l.total.Add(1)
	cg, err := c.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId:            aws.String(id),
		GranteePrincipal: aws.String(nodesGrantee),
		Operations:       []types.GrantOperation{types.GrantOperationEncrypt, types.GrantOperationDecrypt},
	})
	if err != nil {
		return failed("CreateGrant", start, err)
	}
	if aws.ToString(cg.GrantId) == "" || aws.ToString(cg.GrantToken) == "" {
		l.t.Errorf("node %d: CreateGrant on %s = (GrantId %q, GrantToken %q), want both set", node, id, aws.ToString(cg.GrantId), aws.ToString(cg.GrantToken))
		return false, false
	}
	l.mu.Lock()
	l.grants = append(l.grants, ackedGrant{keyID: id, grantID: aws.ToString(cg.GrantId), node: node})
	target := l.keys[mrand.IntN(len(l.keys))]
	l.mu.Unlock()

	plaintext := make([]byte, 1+mrand.IntN(64))
	rand.Read(plaintext)
	encCtx := map[string]string{"test": "three-nodes", "n": strconv.Itoa(node) + "/" + strconv.Itoa(worker) + "/" + strconv.Itoa(i)}
	start = time.Now()
	l.total.Add(1)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(target.id), Plaintext: plaintext, EncryptionContext: encCtx})
	if err != nil {
		return failed("Encrypt", start, err)
	}
	if aws.ToString(enc.KeyId) != target.arn || len(enc.CiphertextBlob) == 0 || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		l.t.Errorf("node %d: Encrypt under %s = (KeyId %q, %d ciphertext bytes, %s), want (%q, some bytes, SYMMETRIC_DEFAULT)",
			node, target.id, aws.ToString(enc.KeyId), len(enc.CiphertextBlob), enc.EncryptionAlgorithm, target.arn)
		return false, false
	}
	l.mu.Lock()
	l.ciphertexts = append(l.ciphertexts, ackedCiphertext{keyARN: target.arn, blob: enc.CiphertextBlob, plaintext: plaintext, context: encCtx, node: node})
	old := l.ciphertexts[mrand.IntN(len(l.ciphertexts))]
	l.mu.Unlock()

	start = time.Now()
	l.total.Add(1)
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: old.blob, EncryptionContext: old.context})
	if err != nil {
		return failed("Decrypt", start, err)
	}
	if !bytes.Equal(dec.Plaintext, old.plaintext) || aws.ToString(dec.KeyId) != old.keyARN {
		// Never the plaintexts themselves in a message.
		l.t.Errorf("node %d: Decrypt of a ciphertext node %d made = (KeyId %q, plaintext equal %v), want (%q, true)",
			node, old.node, aws.ToString(dec.KeyId), bytes.Equal(dec.Plaintext, old.plaintext), old.keyARN)
		return false, false
	}
	return true, false
}

// nodesGrantee is the grantee of the test's grants: the account root.
const nodesGrantee = "arn:aws:iam::" + testAccountID + ":root"

// waitProgress waits until every node of nodes has completed at least n
// more good iterations than in from, and at least min has passed.
func (l *nodesLoad) waitProgress(t *testing.T, phase string, nodes []int, n int64, min time.Duration) {
	t.Helper()
	from := make([]int64, len(l.ok))
	for _, i := range nodes {
		from[i] = l.ok[i].Load()
	}
	start := time.Now()
	for {
		behind := -1
		for _, i := range nodes {
			if l.ok[i].Load()-from[i] < n {
				behind = i
				break
			}
		}
		if behind < 0 && time.Since(start) >= min {
			return
		}
		if time.Since(start) > nodesPhaseTimeout {
			t.Fatalf("%s: node %d completed %d good iterations in %v, want %d", phase, behind, l.ok[behind].Load()-from[behind], nodesPhaseTimeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestThreeNodesKillAndPostgresRestart runs three nodes on one PostgreSQL
// database under load from all three; kills one with SIGKILL (the others
// keep serving); restarts PostgreSQL (the nodes answer retryable errors,
// then serve again by themselves); and checks through the surviving nodes
// that every acknowledged key and grant exists and every acknowledged
// ciphertext decrypts.
func TestThreeNodesKillAndPostgresRestart(t *testing.T) {
	storeURL, clusterDir := nodesPostgres(t)
	began := time.Now()

	// Nodes sharing a database share the root key.
	rootKey := randomBytes(t, 32)
	nodes := make([]*serverProc, nodesCount)
	clients := make([]*kms.Client, nodesCount)
	for i := range nodes {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "root.key"), rootKey, 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = startServer(t, dir, "--store", storeURL, "--sweep-interval", nodesSweepInterval.String())
		clients[i] = newKMSClient(nodes[i].endpoint)
	}
	all := []int{0, 1, 2}
	lease := newLeaseWatch(t, storeURL, nodes)

	load := newNodesLoad(t, clients)
	load.start()
	halted := false
	defer func() {
		if !halted {
			load.halt()
		}
	}()

	// 1. All three serve.
	load.waitProgress(t, "warm-up", all, nodesPhaseProgress, 0)

	// 2. Exactly one node runs the background jobs: that one is killed.
	killed, _ := lease.holder(t, "before SIGKILL", all, nodesLeaseTakeover)
	var survivors []int
	for i := range nodesCount {
		if i != killed {
			survivors = append(survivors, i)
		}
	}

	// 3. SIGKILL the holder: the others keep serving, without a single
	// error, and one of them takes the background jobs over once the
	// lease has run out.
	load.killed[killed].Store(true)
	nodes[killed].stop(t, syscall.SIGKILL)
	killedAt := time.Now()
	load.waitProgress(t, "after SIGKILL", survivors, nodesPhaseProgress, 500*time.Millisecond)
	heir, _ := lease.holder(t, "after SIGKILL of the holder", survivors, time.Until(killedAt.Add(nodesLeaseTakeover)))
	takeover := time.Since(killedAt)
	lease.rounds(t, heir)
	t.Logf("node %d held the lease of the background jobs; SIGKILL; node %d took it over %v later (lease %v, rounds every %v)",
		killed, heir, takeover.Round(time.Millisecond), 3*nodesSweepInterval, nodesSweepInterval)

	// 4. Restart PostgreSQL mid-load.
	outageStart := time.Now()
	runs := restartPostgres(t, clusterDir)
	back := time.Now()
	load.restarted.Store(back.UnixNano())
	t.Logf("PostgreSQL restarted in %v (%d runs of pg_ctl)", back.Sub(outageStart).Round(time.Millisecond), runs)

	// 5. Every surviving node serves again by itself, soon.
	for {
		load.mu.Lock()
		waiting := -1
		for _, i := range survivors {
			if load.recovered[i].IsZero() {
				waiting = i
				break
			}
		}
		load.mu.Unlock()
		if waiting < 0 {
			break
		}
		if time.Since(back) > nodesRecoverWithin {
			t.Fatalf("node %d does not serve again %v after PostgreSQL came back", waiting, nodesRecoverWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	load.waitProgress(t, "after recovery", survivors, nodesPhaseProgress, 500*time.Millisecond)
	load.halt()
	halted = true

	// Judge every failed request: a node never fails but while its
	// database is out of reach, and then only with a retryable error.
	load.mu.Lock()
	failures, recovered := load.failures, load.recovered
	keys, grants, ciphertexts := load.keys, load.grants, load.ciphertexts
	load.mu.Unlock()
	codes := make(map[string]int)
	for _, f := range failures {
		codes[fmt.Sprintf("node %d %s", f.node, f.code)]++
		switch {
		case f.afterKilled:
			// The node is gone: any error, the connection's included.
		case !f.api:
			t.Errorf("node %d: %s (sent %v into the test) failed in transport: %s", f.node, f.op, f.start.Sub(began).Round(time.Millisecond), f.code)
		case f.start.Before(outageStart):
			t.Errorf("node %d: %s (sent %v into the test, before PostgreSQL restarted) = %s, want success", f.node, f.op, f.start.Sub(began).Round(time.Millisecond), f.code)
		case !recovered[f.node].IsZero() && !f.start.Before(recovered[f.node]):
			t.Errorf("node %d: %s (sent %v after the node served again) = %s, want success", f.node, f.op, f.start.Sub(recovered[f.node]).Round(time.Millisecond), f.code)
		case !nodesRetryable[f.code]:
			t.Errorf("node %d: %s during the PostgreSQL restart = %s, want DependencyTimeoutException or KMSInternalException", f.node, f.op, f.code)
		}
	}
	t.Logf("load: %d requests; acknowledged %d keys, %d grants, %d ciphertexts; SIGKILL at %v, PostgreSQL restart at %v (%v), survivors serving again %v after it came back",
		load.total.Load(), len(keys), len(grants), len(ciphertexts), killedAt.Sub(began).Round(time.Millisecond),
		outageStart.Sub(began).Round(time.Millisecond), back.Sub(outageStart).Round(time.Millisecond), nodesRecoveryDelays(recovered, survivors, back))
	for _, k := range slices.Sorted(maps.Keys(codes)) {
		t.Logf("failed requests: %s: %d", k, codes[k])
	}

	// 6. Nothing acknowledged is missing, as the surviving nodes see it
	// once their caches have had time to learn of the last changes.
	time.Sleep(nodesSettle)
	checkStart := time.Now()
	nodesCheck(t, clients, survivors, keys, grants, ciphertexts)
	t.Logf("checked through nodes %v in %v; whole test %v", survivors, time.Since(checkStart).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	// 7. The survivors still stop cleanly, and soon: the clients first
	// close their idle connections, for net/http's Shutdown waits 5 s for a
	// connection that was opened but never carried a request (the client
	// transports open such spare connections under concurrent load). The
	// holder of the background jobs stops first and releases their lease:
	// the other survivor takes them over at its next round, long before
	// the lease would have run out.
	holder, _ := lease.holder(t, "after the PostgreSQL restart", survivors, nodesLeaseTakeover)
	other := survivors[0]
	if other == holder {
		other = survivors[1]
	}
	for _, i := range []int{holder, other} {
		if hc, ok := clients[i].Options().HTTPClient.(*http.Client); ok {
			hc.CloseIdleConnections()
		}
		stopStart := time.Now()
		nodes[i].stop(t, syscall.SIGTERM)
		exited := time.Now()
		t.Logf("node %d stopped on SIGTERM in %v", i, exited.Sub(stopStart).Round(time.Millisecond))
		if i != holder {
			continue
		}
		if pid, live, ok := lease.inDatabase(t); ok && pid == nodes[holder].cmd.Process.Pid {
			t.Errorf("after node %d (pid %d) exited on SIGTERM, the lease %s still names it (unexpired: %v), want it released by Close", holder, pid, nodesSweepLease, live)
		}
		if _, err := lease.holder(t, fmt.Sprintf("after node %d exited on SIGTERM", holder), []int{other}, nodesLeaseReleased); err != nil {
			t.Errorf("%v: a graceful stop must hand the background jobs over at once", err)
			continue
		}
		t.Logf("node %d took the background jobs over %v after node %d exited on SIGTERM (%v after the signal)",
			other, time.Since(exited).Round(time.Millisecond), holder, time.Since(stopStart).Round(time.Millisecond))
		lease.rounds(t, other)
	}

	// 8. The audit trail across nodes: the killed node starts again and
	// copies the records it had not copied into the shared index; then
	// LookupEvents on it finds every node's records, exactly those on the
	// three trails, and each node's chain verifies.
	dirs := make([]string, nodesCount)
	for i, n := range nodes {
		dirs[i] = n.dataDir
	}
	again := startServer(t, dirs[killed], "--store", storeURL)
	var onDisk []string
	for _, dir := range dirs {
		onDisk = append(onDisk, trailEventIDs(t, dir, "CreateKey")...)
	}
	looked := lookupEventIDs(t, again.endpoint, "CreateKey")
	slices.Sort(onDisk)
	slices.Sort(looked)
	if diff := cmp.Diff(onDisk, looked); diff != "" {
		t.Errorf("LookupEvents(EventName=CreateKey) on node %d after its restart (-trails +index):\n%s", killed, diff)
	}
	t.Logf("LookupEvents on the restarted node found the %d CreateKey records of the three trails", len(looked))
	again.stop(t, syscall.SIGTERM)
	for i, dir := range dirs {
		if code, out := verifyTrail(t, dir); code != 0 {
			t.Errorf("custos audit verify of node %d: exit status %d, want 0\n%s", i, code, out)
		}
	}
}

// trailEventIDs returns the event ids of the records named name on the
// trail of data folder dir.
func trailEventIDs(t *testing.T, dir, name string) []string {
	t.Helper()
	var ids []string
	for _, seg := range trailSegments(t, dir) {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			var rec struct {
				Event struct{ EventName, EventID string } `json:"event"`
			}
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("%s: %v", seg, err)
			}
			if rec.Event.EventName == name {
				ids = append(ids, rec.Event.EventID)
			}
		}
	}
	return ids
}

// lookupEventIDs returns the event ids LookupEvents(EventName=name) finds
// through the node at endpoint, every page.
func lookupEventIDs(t *testing.T, endpoint, name string) []string {
	t.Helper()
	ct := cloudtrail.NewFromConfig(aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testAccessKeyID, testSecretKey, ""),
	}, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(endpoint) })
	in := &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}}
	var ids []string
	for p := cloudtrail.NewLookupEventsPaginator(ct, in); p.HasMorePages(); {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("LookupEvents(EventName=%s) after %d events: %v", name, len(ids), err)
		}
		for _, ev := range out.Events {
			ids = append(ids, aws.ToString(ev.EventId))
		}
	}
	return ids
}

// leaseWatch watches which node runs the background jobs, through each
// node's /metrics (custos_sweep_lease_held, custos_sweep_rounds_total)
// and the leases table of their database.
type leaseWatch struct {
	storeURL string
	nodes    []*serverProc
	http     *http.Client
}

func newLeaseWatch(t *testing.T, storeURL string, nodes []*serverProc) *leaseWatch {
	// No kept-alive connections: they would delay a node's graceful stop.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &leaseWatch{storeURL: storeURL, nodes: nodes, http: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

// metrics returns node's custos_sweep_lease_held and
// custos_sweep_rounds_total.
func (w *leaseWatch) metrics(node int) (held bool, rounds uint64, err error) {
	resp, err := w.http.Get(w.nodes[node].endpoint + "/metrics")
	if err != nil {
		return false, 0, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return false, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, 0, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	var seen int
	for line := range strings.SplitSeq(b.String(), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch name {
		case "custos_sweep_lease_held":
			seen++
			switch value {
			case "0", "1":
				held = value == "1"
			default:
				return false, 0, fmt.Errorf("custos_sweep_lease_held = %q, want 0 or 1", value)
			}
		case "custos_sweep_rounds_total":
			seen++
			if rounds, err = strconv.ParseUint(value, 10, 64); err != nil {
				return false, 0, fmt.Errorf("custos_sweep_rounds_total = %q, want a count", value)
			}
		}
	}
	if seen != 2 {
		return false, 0, errors.New("/metrics lacks custos_sweep_lease_held or custos_sweep_rounds_total")
	}
	return held, rounds, nil
}

// holder waits until exactly one node of among reports that it holds the
// lease of the background jobs, checks that the leases table names that
// node's process, and returns the node. It fails the test after within,
// except when among has one node: then it returns the error instead.
func (w *leaseWatch) holder(t *testing.T, phase string, among []int, within time.Duration) (int, error) {
	t.Helper()
	start := time.Now()
	for {
		var holders []int
		var states []string
		for _, i := range among {
			held, rounds, err := w.metrics(i)
			switch {
			case err != nil:
				states = append(states, fmt.Sprintf("node %d: %v", i, err))
			case held:
				holders = append(holders, i)
				fallthrough
			default:
				states = append(states, fmt.Sprintf("node %d: held %v, %d rounds", i, held, rounds))
			}
		}
		if len(holders) == 1 {
			h := holders[0]
			pid, live, ok := w.inDatabase(t)
			if ok && live && pid == w.nodes[h].cmd.Process.Pid {
				return h, nil
			}
		}
		if time.Since(start) > within {
			pid, live, ok := w.inDatabase(t)
			err := fmt.Errorf("%s: after %v, want exactly one of nodes %v to hold the lease %s; %s; in the database: pid %d, unexpired %v, row %v",
				phase, within, among, nodesSweepLease, strings.Join(states, "; "), pid, live, ok)
			if len(among) == 1 {
				return -1, err
			}
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rounds checks that node, holding the lease, keeps running rounds of the
// background jobs: its custos_sweep_rounds_total grows within a few
// intervals.
func (w *leaseWatch) rounds(t *testing.T, node int) {
	t.Helper()
	_, from, err := w.metrics(node)
	if err != nil {
		t.Errorf("node %d: %v", node, err)
		return
	}
	deadline := time.Now().Add(3 * nodesSweepInterval)
	for {
		held, n, err := w.metrics(node)
		if err != nil {
			t.Errorf("node %d: %v", node, err)
			return
		}
		if held && n > from {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("node %d: custos_sweep_rounds_total = %d, held %v %v after it was %d, want it grown and held", node, n, held, 3*nodesSweepInterval, from)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inDatabase reads the lease of the background jobs from the leases
// table: the process id in its holder's name (host/pid/random) and whether
// it is unexpired; ok is false when there is no such row.
func (w *leaseWatch) inDatabase(t *testing.T) (pid int, live, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, w.storeURL)
	if err != nil {
		t.Fatalf("connect to the nodes' database: %v", err)
	}
	defer conn.Close(ctx)
	var holder string
	err = conn.QueryRow(ctx, "SELECT holder, expires_at > clock_timestamp() FROM leases WHERE name = $1", nodesSweepLease).Scan(&holder, &live)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, false
	}
	if err != nil {
		t.Fatalf("read the lease %s: %v", nodesSweepLease, err)
	}
	parts := strings.Split(holder, "/")
	if len(parts) < 3 {
		t.Fatalf("lease %s holder %q, want host/pid/random", nodesSweepLease, holder)
	}
	if pid, err = strconv.Atoi(parts[len(parts)-2]); err != nil {
		t.Fatalf("lease %s holder %q, want host/pid/random", nodesSweepLease, holder)
	}
	return pid, live, true
}

// nodesRecoveryDelays describes how long after back each survivor served
// again.
func nodesRecoveryDelays(recovered []time.Time, survivors []int, back time.Time) string {
	var parts []string
	for _, i := range survivors {
		parts = append(parts, fmt.Sprintf("node %d %v", i, recovered[i].Sub(back).Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// nodesCheck checks, spreading the requests over the surviving nodes,
// that every acknowledged key exists, every acknowledged grant is listed and
// every acknowledged ciphertext decrypts to its plaintext.
func nodesCheck(t *testing.T, clients []*kms.Client, survivors []int, keys []ackedKey, grants []ackedGrant, ciphertexts []ackedCiphertext) {
	t.Helper()
	ctx := context.Background()
	grantsOf := make(map[string][]ackedGrant)
	for _, g := range grants {
		grantsOf[g.keyID] = append(grantsOf[g.keyID], g)
	}
	grantKeys := slices.Sorted(maps.Keys(grantsOf))

	type job func(c *kms.Client, node int)
	var jobs []job
	for _, k := range keys {
		jobs = append(jobs, func(c *kms.Client, node int) {
			out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.id)})
			if err != nil {
				t.Errorf("node %d: DescribeKey of %s (acknowledged by node %d) = %s, want the key", node, k.id, k.node, errorCode(err))
				return
			}
			md := out.KeyMetadata
			if aws.ToString(md.Arn) != k.arn || md.KeyState != types.KeyStateEnabled || aws.ToString(md.Description) != k.description {
				t.Errorf("node %d: DescribeKey of %s = (Arn %q, KeyState %s, Description %q), want (%q, Enabled, %q)",
					node, k.id, aws.ToString(md.Arn), md.KeyState, aws.ToString(md.Description), k.arn, k.description)
			}
		})
	}
	for _, keyID := range grantKeys {
		want := grantsOf[keyID]
		jobs = append(jobs, func(c *kms.Client, node int) {
			listed := make(map[string]types.GrantListEntry)
			p := kms.NewListGrantsPaginator(c, &kms.ListGrantsInput{KeyId: aws.String(keyID)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Errorf("node %d: ListGrants of %s = %s, want its grants", node, keyID, errorCode(err))
					return
				}
				for _, g := range page.Grants {
					listed[aws.ToString(g.GrantId)] = g
				}
			}
			for _, g := range want {
				e, ok := listed[g.grantID]
				if !ok {
					t.Errorf("node %d: ListGrants of %s lacks grant %s acknowledged by node %d (listed %d grants)", node, keyID, g.grantID, g.node, len(listed))
					continue
				}
				ops := make([]string, len(e.Operations))
				for i, op := range e.Operations {
					ops[i] = string(op)
				}
				sort.Strings(ops)
				if aws.ToString(e.GranteePrincipal) != nodesGrantee || strings.Join(ops, ",") != "Decrypt,Encrypt" {
					t.Errorf("node %d: grant %s of %s = (grantee %q, operations %v), want (%q, [Decrypt Encrypt])", node, g.grantID, keyID, aws.ToString(e.GranteePrincipal), ops, nodesGrantee)
				}
			}
		})
	}
	for _, ct := range ciphertexts {
		jobs = append(jobs, func(c *kms.Client, node int) {
			out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.blob, EncryptionContext: ct.context})
			if err != nil {
				t.Errorf("node %d: Decrypt of a ciphertext under %s acknowledged by node %d = %s, want its plaintext", node, ct.keyARN, ct.node, errorCode(err))
				return
			}
			if !bytes.Equal(out.Plaintext, ct.plaintext) || aws.ToString(out.KeyId) != ct.keyARN {
				t.Errorf("node %d: Decrypt of a ciphertext under %s acknowledged by node %d = (KeyId %q, plaintext equal %v), want (%q, true)",
					node, ct.keyARN, ct.node, aws.ToString(out.KeyId), bytes.Equal(out.Plaintext, ct.plaintext), ct.keyARN)
			}
		})
	}

	// Job j runs on survivor j mod len(survivors): each survivor sees a
	// share of every kind.
	next := make(chan int)
	var wg sync.WaitGroup
	for range nodesCheckers {
		wg.Go(func() {
			for j := range next {
				node := survivors[j%len(survivors)]
				jobs[j](clients[node], node)
			}
		})
	}
	for j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

// TestSweepLeaseEmbedded checks --sweep-interval and, on the embedded
// store, where a node is alone, that it always runs the background jobs.
func TestSweepLeaseEmbedded(t *testing.T) {
	for _, bad := range []string{"0s", "500ms", "-1m"} {
		code, _, stderr := runCustos(t, "server", "--sweep-interval", bad)
		if want := "bad --sweep-interval"; code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("custos server --sweep-interval %s = exit status %d, stderr %q, want 2 and %q", bad, code, stderr, want)
		}
	}
	p := startServer(t, filepath.Join(t.TempDir(), "data"), "--sweep-interval", "1s")
	w := newLeaseWatch(t, "", []*serverProc{p})
	deadline := time.Now().Add(5 * time.Second)
	for {
		held, rounds, err := w.metrics(0)
		if err != nil {
			t.Fatal(err)
		}
		if held && rounds > 0 {
			break
		}
		if !held || time.Now().After(deadline) {
			t.Fatalf("custos_sweep_lease_held = %v, custos_sweep_rounds_total = %d, want true and > 0 on the embedded store", held, rounds)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(t, syscall.SIGTERM)
}
