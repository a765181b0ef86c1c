package postgres

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/custoskms/custos/internal/store"
)

func chunkEvents() []store.IndexedEvent {
	return []store.IndexedEvent{
		{Node: "n", Seq: 1, Time: time.Unix(1_800_000_000, 0).UTC(), AccountIDs: []string{"111122223333"}, Region: "us-east-1",
			EventID: "e1", EventName: "Encrypt", EventSource: "kms.amazonaws.com", Username: "alice", AccessKeyID: "AKIA\xff\x00",
			ReadOnly: true, RequestID: "r1", ResourceNames: []string{"arn:aws:kms:us-east-1:111122223333:key/k", "k"},
			ResourceTypes: []string{"AWS::KMS::Key"}, UsedKeys: []string{"arn:aws:kms:us-east-1:111122223333:key/k"},
			Event: []byte(`{"eventName":"Encrypt"}`)},
		{Node: "n", Seq: 7, Time: time.Unix(-5, 0).UTC(), AccountIDs: []string{}, ResourceNames: []string{}, ResourceTypes: []string{},
			UsedKeys: []string{}, Event: []byte{}},
	}
}

func TestChunkRoundTrip(t *testing.T) {
	want := chunkEvents()
	got, err := decodeChunk("n", new(Store).encodeChunk(want))
	if err != nil {
		t.Fatalf("decodeChunk(encodeChunk) = %v", err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("decodeChunk(encodeChunk) (-want +got):\n%s", diff)
	}
	for _, bad := range [][]byte{nil, {}, {2}, {1, 1}, new(Store).encodeChunk(want)[:20]} {
		if _, err := decodeChunk("n", bad); err == nil {
			t.Errorf("decodeChunk(%x) = nil error, want errBadChunk", bad)
		}
	}
}

// FuzzDecodeChunk: a chunk body read back from the database never panics
// the decoder, and what decodes encodes to the same events.
func FuzzDecodeChunk(f *testing.F) {
	f.Add(new(Store).encodeChunk(chunkEvents()))
	f.Add(new(Store).encodeChunk(chunkEvents()[:1]))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := decodeChunk("n", body)
		if err != nil {
			return
		}
		again, err := decodeChunk("n", new(Store).encodeChunk(evs))
		if err != nil {
			t.Fatalf("decodeChunk(new(Store).encodeChunk(decoded)) = %v", err)
		}
		if diff := cmp.Diff(evs, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-encoded chunk differs (-first +second):\n%s", diff)
		}
	})
}
