package loadgen

import (
	"context"
	"testing"
)

// BenchmarkNewRequest measures the per-request work done before the HTTP
// exchange: building and signing the request of a 4 KiB Encrypt.
func BenchmarkNewRequest(b *testing.B) {
	cfg, err := withDefaults(testConfig("http://127.0.0.1:4599", "Encrypt"))
	if err != nil {
		b.Fatal(err)
	}
	g := newGenerator(cfg)
	c, err := newCall("Encrypt", requestBody{KeyId: testKeyID, Plaintext: randomBytes(4096), EncryptionContext: benchContext()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.newRequest(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
