package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/casebot/casebot/store"
)

// Environment of BenchmarkIngestMemory's child process.
const (
	envMemChild = "CASEBOT_INTAKE_MEM_CHILD"
	envMemAddr  = "CASEBOT_INTAKE_MEM_ADDR"
	envMemDB    = "CASEBOT_INTAKE_MEM_DB"
)

// TestIntakeMemChild is the child of BenchmarkIngestMemory: it ingests the
// parent's mailbox into the parent's store and prints the peak live heap
// above what was live before, sampled every millisecond.
func TestIntakeMemChild(t *testing.T) {
	if os.Getenv(envMemChild) != "1" {
		t.Skip("runs only as the child of BenchmarkIngestMemory")
	}
	ctx := context.Background()
	in := childIntake(t, os.Getenv(envMemDB), os.Getenv(envMemAddr), nil)
	runtime.GC()
	base := heapInuse()
	var peak uint64
	stop := samplePeakHeap(&peak)
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	fmt.Printf("PEAK %d\n", peak-base)
}

// BenchmarkIngestMemory measures what the intake holds in memory for
// mailboxes of 10k, 40k and 160k messages, each into a fresh store. The
// intake runs in a child process, so that its live heap is its own: in
// this process the test server's mailbox, growing with the mailbox, would
// also lengthen each GC cycle and with it what a cycle finds live. It reports the peak live heap
// of each size and the ratio of the largest to the smallest.
//
//	go test -run='^$' -bench=IngestMemory -benchtime=1x ./mail/
func BenchmarkIngestMemory(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	sizes := []int{10000, 40000, 160000}
	peaks := make([]float64, len(sizes))
	for range b.N {
		for i, total := range sizes {
			peaks[i] = max(peaks[i], childIngestPeak(b, exe, total))
		}
	}
	for i, total := range sizes {
		b.ReportMetric(peaks[i], fmt.Sprintf("peak_MiB_%dk", total/1000))
	}
	b.ReportMetric(peaks[len(peaks)-1]/peaks[0], "peak_160k/10k")
}

// childIngestPeak fills a mailbox of total messages for a fresh store and
// runs the intake child over it, returning its peak live heap in MiB.
func childIngestPeak(b *testing.B, exe string, total int) float64 {
	b.Helper()
	b.StopTimer()
	s := startIMAP(b)
	a := testAddressing(b)
	dbPath := filepath.Join(b.TempDir(), "casebot.db")
	db, err := store.Open(context.Background(), dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	cs := benchCases(b, db)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	fillBenchMailbox(b, s, a, cs, total)
	b.StartTimer()
	cmd := exec.Command(exe, "-test.run=^TestIntakeMemChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envMemChild+"=1", envMemAddr+"="+s.addr, envMemDB+"="+dbPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("intake child: %v: %s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "PEAK ")
	if !ok {
		b.Fatalf("intake child said: %s", out)
	}
	n, err := strconv.ParseUint(strings.Fields(after)[0], 10, 64)
	if err != nil {
		b.Fatalf("intake child said: %s", out)
	}
	b.StopTimer()
	db, err = store.Open(context.Background(), dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	sum := 0
	for _, c := range cs {
		sum += noteCount(b, db, c.ID)
	}
	if sum != total {
		b.Fatalf("%d notes, want %d", sum, total)
	}
	b.StartTimer()
	return float64(n) / (1 << 20)
}
