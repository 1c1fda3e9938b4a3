package mail_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/store"
)

// BenchmarkIngest10k ingests 10,000 party emails (spread over 20 cases)
// from the in-process IMAP server into a fresh store, ingestRounds times
// per op, and in the same run times a bare UID FETCH BODY.PEEK[] of the
// same mailbox with imapclient before and after each intake. It reports
// both rates and their ratio (goal >= 0.5); the heap in use after the run;
// the intake's peak live heap above what was live before it started (the
// in-memory test server holds the mailbox itself, which grows with its
// size); the CPU time per message of each; and the intake's allocations
// and GC CPU per message.
//
//	go test -run='^$' -bench=Ingest -benchtime=1x ./mail/
func BenchmarkIngest10k(b *testing.B) { benchIngest(b, 10000, nil) }

// BenchmarkIngest20k is BenchmarkIngest10k with twice the mailbox: the
// rate must hold. (Its peak heap is inflated by the test server's mailbox
// in this process, which lengthens GC cycles; BenchmarkIngestMemory
// measures the intake's memory in a process of its own.)
func BenchmarkIngest20k(b *testing.B) { benchIngest(b, 20000, nil) }

// ingestRounds is how many intakes one benchmark op runs.
const ingestRounds = 5

// benchIngest runs the intake benchmark with the stores open makes (a
// bbolt file in a temporary folder when nil).
func benchIngest(b *testing.B, total int, open func(testing.TB) *store.DB) {
	ctx := context.Background()
	if open == nil {
		open = func(tb testing.TB) *store.DB { return openStore(tb, nil) }
	}
	s := startIMAP(b)
	a := testAddressing(b)
	// Each op runs ingestRounds intakes into fresh stores, each between two
	// bare fetches: single runs on this machine vary by a fifth.
	runs := ingestRounds * b.N
	var dbs []*store.DB
	var cases [][]*casebot.Case
	for range runs {
		db := open(b)
		dbs, cases = append(dbs, db), append(cases, benchCases(b, db))
	}
	// The memory server keeps each message's flags in a map that it
	// allocates on the first flag: with one already set, the \Seen that
	// intake sets costs the server no memory, and the peak heap measures the
	// intake alone.
	fillBenchMailbox(b, s, a, cases[0], total, "$Delivered")
	var bare, ingest, bareCPU, ingestCPU, ingestGC time.Duration
	var peak, peakAbove, ingestAllocs, ingestBytes uint64
	b.ResetTimer()
	for n := range runs {
		// A bare fetch before and after the intake, so a machine whose
		// speed drifts during the run weighs on both sides alike.
		w, cpu := bareFetch(b, s, total)
		bare, bareCPU = bare+w, bareCPU+cpu

		// Intake.
		db := dbs[n]
		in := newIntake(b, s, db, nil)
		runtime.GC()
		base := heapInuse()
		stopSampling := samplePeakHeap(&peak)
		o0, a0 := mallocs()
		g0 := gcCPU()
		t1, c1 := time.Now(), cpuTime(b)
		// The label lets a CPU profile (-cpuprofile) single out the
		// intake's own goroutines: pprof -tagfocus=phase=ingest.
		var err error
		pprof.Do(ctx, pprof.Labels("phase", "ingest"), func(ctx context.Context) { err = in.RunOnce(ctx) })
		if err != nil {
			b.Fatal(err)
		}
		ingest += time.Since(t1)
		ingestCPU += cpuTime(b) - c1
		ingestGC += gcCPU() - g0
		o1, a1 := mallocs()
		ingestAllocs, ingestBytes = ingestAllocs+o1-o0, ingestBytes+a1-a0
		stopSampling()
		peakAbove = max(peakAbove, peak-base)
		w, cpu = bareFetch(b, s, total)
		bare, bareCPU = bare+w, bareCPU+cpu
		b.StopTimer()
		sum := 0
		for _, c := range cases[n] {
			sum += noteCount(b, db, c.ID)
		}
		if sum != total {
			b.Fatalf("%d notes, want %d", sum, total)
		}
		b.StartTimer()
	}
	bareRate := float64(2*total*runs) / bare.Seconds()
	rate := float64(total*runs) / ingest.Seconds()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(rate, "ingest_msg/s")
	b.ReportMetric(bareRate, "bare_fetch_msg/s")
	b.ReportMetric(rate/bareRate, "ratio")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap_MiB")
	b.ReportMetric(float64(peakAbove)/(1<<20), "intake_peak_live_MiB")
	// CPU per message (this process: client, server and store together) is
	// steadier than rates on a machine shared with other work.
	b.ReportMetric(float64(ingestCPU.Microseconds())/float64(total*runs), "ingest_cpu_µs/msg")
	b.ReportMetric(float64(bareCPU.Microseconds())/float64(2*total*runs), "bare_cpu_µs/msg")
	// Heap allocations per message during intake (client, server, parse
	// and store), which set how much the GC has to do.
	b.ReportMetric(float64(ingestAllocs)/float64(total*runs), "ingest_allocs/msg")
	b.ReportMetric(float64(ingestBytes)/float64(total*runs), "ingest_B/msg")
	b.ReportMetric(float64(ingestGC.Microseconds())/float64(total*runs), "ingest_gc_cpu_µs/msg")
}

// bareFetch times a bare UID FETCH BODY.PEEK[] of the whole mailbox with
// imapclient, reading every literal, and checks it got total messages.
func bareFetch(b *testing.B, s *imapServer, total int) (wall, cpu time.Duration) {
	t0, c0 := time.Now(), cpuTime(b)
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		b.Fatal(err)
	}
	f := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	got := 0
	for msg := f.Next(); msg != nil; msg = f.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			if bs, ok := item.(imapclient.FetchItemDataBodySection); ok && bs.Literal != nil {
				_, _ = io.Copy(io.Discard, bs.Literal)
				got++
			}
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	_ = c.Close()
	wall, cpu = time.Since(t0), cpuTime(b)-c0
	if got != total {
		b.Fatalf("bare fetch got %d", got)
	}
	return wall, cpu
}

// benchCases creates the 20 cases the benchmark mailboxes write to, each
// with one party, p<i>@example.com.
func benchCases(b *testing.B, db *store.DB) []*casebot.Case {
	var cs []*casebot.Case
	for i := range 20 {
		cs = append(cs, newCase(b, db, casebot.Party{Role: casebot.RoleClaimant, Name: "P", Email: fmt.Sprintf("p%d@example.com", i)}))
	}
	return cs
}

// fillBenchMailbox appends total plain replies, spread over cases, each
// with flags. Every store has the same case IDs and tokens differ, so
// they are addressed by subject tag (the token route is covered by the
// tests).
func fillBenchMailbox(b *testing.B, s *imapServer, a mail.Addressing, cases []*casebot.Case, total int, flags ...imap.Flag) {
	for i := range total {
		k := i % len(cases)
		s.append(b, "INBOX", rawMail(fmt.Sprintf("p%d@example.com", k), a.From(), "Re: ["+cases[k].ID+"] documents", fmt.Sprintf("b%d@example.com", i),
			fmt.Sprintf("Dear mediator,\r\n\r\nhere is my answer number %d about the lease and the deposit.\r\n\r\nRegards\r\n\r\nOn Mon, Mediation Office wrote:\r\n> earlier text\r\n> more earlier text", i)),
			flags...)
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mallocs is the number of heap objects and bytes allocated so far.
func mallocs() (objects, bytes uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64(), sample[1].Value.Uint64()
}

// gcCPU is the CPU time the garbage collector has used so far (an
// estimate the runtime keeps: marking, assists, pauses and idle marking).
func gcCPU() time.Duration {
	sample := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(sample)
	return time.Duration(sample[0].Value.Float64() * float64(time.Second))
}

// heapInuse returns the live heap as of the last GC (runtime/metrics'
// /gc/heap/live:bytes): what is still referenced, without the garbage a
// GC cycle lets pile up in proportion to the whole live heap, which here
// includes the test server's mailbox.
func heapInuse() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// samplePeakHeap records the largest live heap into *peak every
// millisecond until the returned stop is called (which waits for the
// sampler to finish).
func samplePeakHeap(peak *uint64) (stop func()) {
	*peak = heapInuse()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				*peak = max(*peak, heapInuse())
			}
		}
	}()
	return func() { close(quit); <-done }
}
