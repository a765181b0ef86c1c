package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// auditKills is how many SIGKILL restarts TestAuditSurvivesKills makes:
// CUSTOS_AUDIT_KILLS, default 5.
func auditKills(t *testing.T) int {
	s := os.Getenv("CUSTOS_AUDIT_KILLS")
	if s == "" {
		return 5
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("CUSTOS_AUDIT_KILLS=%q is not a positive number", s)
	}
	return n
}

// verifyTrail runs `custos audit verify --data dir` and returns its exit
// status and output.
func verifyTrail(t *testing.T, dir string) (int, string) {
	t.Helper()
	code, stdout, stderr := runCustos(t, "audit", "verify", "--data", dir)
	return code, stdout + stderr
}

// trailSegments returns the segment files of a data folder's trail, in
// order.
func trailSegments(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "audit", "segment-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(segs)
	return segs
}

// TestAuditSurvivesKills runs the server under a load of Encrypts and
// SIGKILLs it, again and again: after every kill `custos audit verify`
// reports the trail intact (0) or torn at its tail (3), never tampered (1),
// and every Encrypt a client saw succeed has its record in the trail. Then a
// clean stop leaves it intact, and one flipped byte makes it tampered.
func TestAuditSurvivesKills(t *testing.T) {
	kills := auditKills(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	var (
		keyID    string
		acked    []string // request ids of the Encrypts that succeeded
		statuses = map[int]int{}
	)
	for i := range kills {
		p := startServer(t, dir)
		c := newKMSClient(p.endpoint)
		if keyID == "" {
			out, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("audit kills")})
			if err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			keyID = aws.ToString(out.KeyMetadata.KeyId)
		}
		var (
			mu    sync.Mutex
			round []string
			wg    sync.WaitGroup
			stop  = make(chan struct{})
		)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("audit kill load")})
					if err != nil {
						continue // the server died under this request
					}
					id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
					mu.Lock()
					round = append(round, id)
					mu.Unlock()
				}
			}()
		}
		// Let some requests through, then kill at a random moment.
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(round)
			mu.Unlock()
			if n >= 20 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		p.stop(t, syscall.SIGKILL)
		close(stop)
		wg.Wait()
		if len(round) == 0 {
			t.Fatalf("kill %d: no Encrypt succeeded before SIGKILL\nstderr:\n%s", i+1, p.stderr.String())
		}
		acked = append(acked, round...)

		code, out := verifyTrail(t, dir)
		statuses[code]++
		if code != 0 && code != exitTornTail {
			t.Fatalf("kill %d: custos audit verify exit status %d, want 0 (intact) or %d (torn tail)\n%s", i+1, code, exitTornTail, out)
		}
	}
	t.Logf("%d SIGKILLs under load: verify exit statuses %v; %d acknowledged Encrypts", kills, statuses, len(acked))

	// Every acknowledged Encrypt was recorded before it was answered.
	var trail []byte
	for _, seg := range trailSegments(t, dir) {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		trail = append(trail, data...)
	}
	missing := 0
	for _, id := range acked {
		if !bytes.Contains(trail, []byte(`"requestID":"`+id+`"`)) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged Encrypts have no record in the trail", missing, len(acked))
	}

	// A crash of the machine can leave half a record: torn tail, exit 3.
	segs := trailSegments(t, dir)
	last := segs[len(segs)-1]
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	half := lines[len(lines)-1][:len(lines[len(lines)-1])/2]
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(half)
	f.Close()
	if code, out := verifyTrail(t, dir); code != exitTornTail || !strings.Contains(out, "torn") {
		t.Errorf("custos audit verify with half a record at the end: exit status %d, want %d (torn tail)\n%s", code, exitTornTail, out)
	}

	// A restart repairs the tail; a clean stop signs everything.
	p := startServer(t, dir)
	if _, err := newKMSClient(p.endpoint).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("after")}); err != nil {
		t.Fatalf("Encrypt after the kills: %v", err)
	}
	p.stop(t, syscall.SIGTERM)
	code, out := verifyTrail(t, dir)
	if code != 0 || !strings.Contains(out, "audit trail: intact") {
		t.Fatalf("custos audit verify after a clean stop: exit status %d, want 0 and intact\n%s", code, out)
	}

	// One byte changed in the middle of a segment: tampered.
	segs = trailSegments(t, dir)
	seg := segs[0]
	for _, s := range segs {
		if a, b := fileSize(t, s), fileSize(t, seg); a > b {
			seg = s
		}
	}
	data, err = os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	at := len(data) / 2
	for data[at] == '\n' || data[at]^1 == '\n' {
		at++
	}
	data[at] ^= 1
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = verifyTrail(t, dir)
	if code != 1 || !strings.Contains(out, "TAMPERED") {
		t.Errorf("custos audit verify after flipping byte %d of %s: exit status %d, want 1 and TAMPERED\n%s", at, filepath.Base(seg), code, out)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestAuditLookupEventsCLI reads the trail with `aws cloudtrail
// lookup-events`.
func TestAuditLookupEventsCLI(t *testing.T) {
	requireAWSCLI(t)
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "data"))
	cli := newAWSCLI(t, p.endpoint, p.credsFile)
	// The KMS calls go through the SDK: each CLI run costs seconds.
	ctx := context.Background()
	c := newKMSClient(p.endpoint)
	created, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("audit cli")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	keyID, keyARN := aws.ToString(created.KeyMetadata.KeyId), aws.ToString(created.KeyMetadata.Arn)

	var out struct {
		Events []struct {
			EventID, EventName, EventSource, ReadOnly, AccessKeyID, Username, CloudTrailEvent string
			Resources                                                                         []struct{ ResourceType, ResourceName string }
		} `json:"Events"`
	}
	decodeJSON(t, "lookup-events", cli.ok(t, "cloudtrail", "lookup-events",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateKey"), &out)
	if len(out.Events) != 1 {
		t.Fatalf("lookup-events EventName=CreateKey: %d events, want 1: %+v", len(out.Events), out)
	}
	ev := out.Events[0]
	var record map[string]any
	if err := json.Unmarshal([]byte(ev.CloudTrailEvent), &record); err != nil {
		t.Fatalf("CloudTrailEvent %q: %v", ev.CloudTrailEvent, err)
	}
	if ev.EventName != "CreateKey" || ev.EventSource != "kms.amazonaws.com" || ev.ReadOnly != "false" || ev.Username != "root" ||
		record["eventID"] != ev.EventID || record["eventName"] != "CreateKey" {
		t.Errorf("lookup-events event = %+v, want the CreateKey", ev)
	}
	if len(ev.Resources) != 1 || ev.Resources[0].ResourceName != keyARN || ev.Resources[0].ResourceType != "AWS::KMS::Key" {
		t.Errorf("lookup-events Resources = %+v, want the key %s", ev.Resources, keyARN)
	}

	// Paging through the CLI's own NextToken handling.
	for range 3 {
		if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)}); err != nil {
			t.Fatalf("DescribeKey: %v", err)
		}
	}
	var paged struct {
		Events []struct{ EventName string } `json:"Events"`
	}
	decodeJSON(t, "lookup-events paged", cli.ok(t, "cloudtrail", "lookup-events", "--page-size", "1",
		"--lookup-attributes", "AttributeKey=ResourceName,AttributeValue="+keyID), &paged)
	if len(paged.Events) != 4 {
		t.Errorf("lookup-events ResourceName=%s with --page-size 1: %d events, want 4 (CreateKey and 3 DescribeKey): %+v", keyID, len(paged.Events), paged)
	}
}
