package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/server"
	"github.com/custoskms/custos/internal/sigv4"
)

// nullWriter is a ResponseWriter that keeps nothing but the status, so
// that a benchmark measures the server alone.
type nullWriter struct {
	h      http.Header
	status int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(s int)           { w.status = s }

// replayable is a signed request that can be served again and again.
type replayable struct {
	req  *http.Request
	body *bytes.Reader
	raw  []byte
}

func signed(tb testing.TB, target string, body []byte) *replayable {
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:4599/", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sigv4.Sign(req, body, testKeyID, []byte(testSecret), "", "us-east-1", "kms", time.Now())
	req.Host = "127.0.0.1:4599"
	req.RemoteAddr = "127.0.0.1:50000"
	r := &replayable{req: req, body: bytes.NewReader(body), raw: body}
	req.Body = io.NopCloser(r.body)
	req.ContentLength = int64(len(body))
	return r
}

func (r *replayable) serve(srv *server.Server, w *nullWriter) {
	r.body.Reset(r.raw)
	clear(w.h)
	srv.ServeHTTP(w, r.req)
}

func benchServer(b *testing.B) *server.Server {
	srv, err := server.New(ctx, server.Config{
		DataDir: b.TempDir(), RootAccessKeyID: testKeyID, RootSecretKey: testSecret,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close(ctx) })
	return srv
}

// call serves one request and decodes the JSON reply into out.
func call(b *testing.B, srv *server.Server, target string, body []byte, out any) {
	req := signed(b, target, body)
	rec := &recorder{nullWriter: nullWriter{h: http.Header{}}}
	srv.ServeHTTP(rec, req.req)
	if rec.status != 0 && rec.status != http.StatusOK {
		b.Fatalf("%s: %d %s", target, rec.status, rec.buf.String())
	}
	if out != nil {
		if err := json.Unmarshal(rec.buf.Bytes(), out); err != nil {
			b.Fatal(err)
		}
	}
}

type recorder struct {
	nullWriter
	buf bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }

// BenchmarkHotPath measures one request through the server's handler, from
// the read body to the written reply: SigV4 verification, JSON decoding,
// the operation and JSON encoding, without the network.
func BenchmarkHotPath(b *testing.B) {
	srv := benchServer(b)
	var created struct{ KeyMetadata struct{ KeyId string } }
	call(b, srv, "TrentService.CreateKey", []byte(`{}`), &created)
	keyID := created.KeyMetadata.KeyId
	plaintext := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 4096))
	var enc struct{ CiphertextBlob []byte }
	call(b, srv, "TrentService.Encrypt", []byte(`{"KeyId":"`+keyID+`","Plaintext":"`+plaintext+`","EncryptionContext":{"purpose":"bench"}}`), &enc)
	blob := base64.StdEncoding.EncodeToString(enc.CiphertextBlob)

	for _, tc := range []struct {
		name, target, body string
	}{
		{"Encrypt4K", "TrentService.Encrypt", `{"KeyId":"` + keyID + `","Plaintext":"` + plaintext + `","EncryptionContext":{"purpose":"bench"}}`},
		{"Decrypt4K", "TrentService.Decrypt", `{"CiphertextBlob":"` + blob + `","EncryptionContext":{"purpose":"bench"}}`},
		{"GenerateDataKey", "TrentService.GenerateDataKey", `{"KeyId":"` + keyID + `","KeySpec":"AES_256","EncryptionContext":{"purpose":"bench"}}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := signed(b, tc.target, []byte(tc.body))
			w := &nullWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				req.serve(srv, w)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// BenchmarkHotPathParallel serves Encrypt from many goroutines at once, as
// a loaded server does: audit records share fsyncs (group commit).
func BenchmarkHotPathParallel(b *testing.B) {
	srv := benchServer(b)
	var created struct{ KeyMetadata struct{ KeyId string } }
	call(b, srv, "TrentService.CreateKey", []byte(`{}`), &created)
	plaintext := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 4096))
	body := []byte(`{"KeyId":"` + created.KeyMetadata.KeyId + `","Plaintext":"` + plaintext + `","EncryptionContext":{"purpose":"bench"}}`)
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := signed(b, "TrentService.Encrypt", body)
		w := &nullWriter{h: http.Header{}}
		for pb.Next() {
			req.serve(srv, w)
			if w.status != http.StatusOK {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
}
