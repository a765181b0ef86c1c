package audit

import (
	"context"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAppend appends b.N events of about 1 KB from 64 goroutines (or one
// when serial) and reports events/s and the process CPU per event.
func benchAppend(b *testing.B, opts Options, serial bool) { benchAppendTap(b, opts, serial, false) }

// benchAppendTap is benchAppend, with a Mirror's tap on the Log if tapped.
func benchAppendTap(b *testing.B, opts Options, serial, tapped bool) {
	l, _ := openTest(b, opts)
	defer l.Close()
	if tapped {
		m := NewMirror(l, &recordingIndex{}, MirrorOptions{})
		defer m.tap.take()
	}
	// The events are copies of templates, so that building them costs
	// next to nothing; Append fills EventID and EventTime.
	var tmpl [8]Event
	for i := range tmpl {
		tmpl[i] = *testEvent("Encrypt", i, "AKIAEXAMPLE0000000001")
	}
	ev := tmpl[0]
	ev.fillDefaults(time.Now)
	data, _ := json.Marshal(&ev)
	b.SetBytes(int64(len(data)))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	if serial {
		for i := 0; i < b.N; i++ {
			ev := tmpl[i%8]
			if err := l.Append(ctx, &ev); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(64 / max(1, testingProcs()))
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				ev := tmpl[i%8]
				if err := l.Append(ctx, &ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkAppendParallel: 64 concurrent appenders, real fdatasync.
func BenchmarkAppendParallel(b *testing.B) { benchAppend(b, Options{}, false) }

// BenchmarkAppendSerial: one appender, real fdatasync (the latency floor).
func BenchmarkAppendSerial(b *testing.B) { benchAppend(b, Options{}, true) }

// BenchmarkAppendCPU: 64 concurrent appenders, with fdatasync replaced by a
// sleep of its typical latency (300 µs): batches form as with a disk, and
// cpu-µs/op is what an Append costs apart from the sync.
func BenchmarkAppendCPU(b *testing.B) {
	benchAppend(b, Options{syncFile: func(*os.File) error { time.Sleep(300 * time.Microsecond); return nil }}, false)
}

// BenchmarkAppendCPUSerial: one appender without fdatasync.
func BenchmarkAppendCPUSerial(b *testing.B) {
	benchAppend(b, Options{syncFile: func(*os.File) error { return nil }}, true)
}

func BenchmarkVerify(b *testing.B) {
	l, dir := openTest(b, Options{syncFile: func(*os.File) error { return nil }})
	appendN(b, l, 10000, "Encrypt")
	l.Close()
	pub := l.PublicKey()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r, err := Verify(dir, pub); err != nil || r.Status != Intact {
			b.Fatal(r.Status, err)
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkLookupByKey(b *testing.B) {
	l, _ := openTest(b, Options{syncFile: func(*os.File) error { return nil }})
	defer l.Close()
	appendN(b, l, 20000, "Encrypt")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs, _, err := l.Lookup(Query{ResourceName: keyARN(i % 5), MaxResults: 50})
		if err != nil || len(evs) != 50 {
			b.Fatal(len(evs), err)
		}
	}
}

func BenchmarkInspectContext(b *testing.B) {
	ec := map[string]string{"Department": "Finance", "Project": "Ledger-2026", "aws:s3:arn": "arn:aws:s3:::my-bucket/reports/2026/q4.csv"}
	for i := 0; i < b.N; i++ {
		InspectContext(ec)
	}
}

// BenchmarkOpen reopens a trail of 20,000 records: the index and key usage
// are rebuilt by reading every record.
func BenchmarkOpen(b *testing.B) {
	l, dir := openTest(b, Options{syncFile: func(*os.File) error { return nil }})
	appendN(b, l, 20000, "Encrypt")
	l.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := openAt(b, dir, Options{syncFile: func(*os.File) error { return nil }})
		l.Close()
	}
	b.ReportMetric(float64(b.N*20000)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendCPUTapped is BenchmarkAppendCPU with a Mirror's tap on
// the Log: the difference is what taking the index fields at Append costs.
func BenchmarkAppendCPUTapped(b *testing.B) {
	benchAppendTap(b, Options{syncFile: func(*os.File) error { time.Sleep(300 * time.Microsecond); return nil }}, false, true)
}

// BenchmarkMirrorSync copies batches of 1,000 records from the tap into the
// PostgreSQL index (skipped without the test database): ns/record is what
// the shared index costs per audited request, this process and PostgreSQL
// together (both run on this machine, one after the other).
func BenchmarkMirrorSync(b *testing.B) {
	idx := testIndex(b)
	l, _ := openTest(b, Options{syncFile: func(*os.File) error { return nil }})
	defer l.Close()
	m := NewMirror(l, idx, MirrorOptions{})
	ctx := context.Background()
	const batch = 1000
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		appendN(b, l, batch, "Encrypt")
		b.StartTimer()
		if err := m.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/record")
}

// BenchmarkMirrorLookup answers LookupEvents from a PostgreSQL index of
// 100,000 records in 100 chunks, a chunk a second (skipped without the test
// database): the newest page, a page of one key's events, and one event by
// id (the oldest).
func BenchmarkMirrorLookup(b *testing.B) {
	idx := testIndex(b)
	clock := newFakeClock()
	l, _ := openTest(b, Options{Now: clock.Now, syncFile: func(*os.File) error { return nil }})
	defer l.Close()
	m := NewMirror(l, idx, MirrorOptions{})
	ctx := context.Background()
	for range 100 {
		appendN(b, l, 1000, "Encrypt")
		if err := m.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		clock.Add(time.Second)
	}
	first := ""
	if segs, durable := l.snapshot(); durable > 0 {
		forEachRecord(segs, 0, 1, func(r record) (bool, error) {
			e, err := indexedEvent("", r)
			first = e.EventID
			return false, err
		})
	}
	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"newest", Query{}},
		{"key", Query{ResourceName: keyARN(3)}},
		{"event id", Query{EventID: first}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				hits, _, err := m.find(ctx, scoped(bc.q))
				if err != nil || len(hits) == 0 {
					b.Fatal(len(hits), err)
				}
			}
		})
	}
}
