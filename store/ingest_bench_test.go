package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// BenchmarkIngestStore commits 10,000 email notes (20 cases, batches of
// 1000, each recorded in the notice feed, as mail intake sends them) and
// reports the store's CPU-side cost per note: the part of the intake
// pipeline that runs on its single writer goroutine. It then queues the
// notes' mediator notices from the feed in one go (the outbox worker
// queues them a few at a time, as the mediator's queue drains) and
// reports their CPU cost per notice.
//
//	go test -run='^$' -bench=IngestStore -benchtime=1x -count=3 ./store/
func BenchmarkIngestStore(b *testing.B) {
	const total, batch = 10000, 1000 // mail intake's largest batch
	ctx := context.Background()
	var elapsed, cpu, feedCPU time.Duration
	var writes int64
	for range b.N {
		b.StopTimer()
		clk := newClock()
		db := openAt(b, filepath.Join(b.TempDir(), "casebot.db"), clk, Options{})
		var cs []*casebot.Case
		for i := range 20 {
			cs = append(cs, newCase(b, db, "Lease dispute", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "P", Email: fmt.Sprintf("p%d@example.com", i)}))
		}
		var batches []casebot.IngestBatch
		for start := 0; start < total; start += batch {
			bt := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: uint32(start + batch), NoticeFeed: true}
			for i := start; i < start+batch; i++ {
				k := i % 20
				from := fmt.Sprintf("p%d@example.com", k)
				full := fmt.Sprintf("Dear mediator,\n\nhere is my answer number %d about the lease and the deposit.\n\nRegards\n\nOn Mon, Mediation Office wrote:\n> earlier text\n> more earlier text", i)
				raw := fmt.Sprintf("From: %s\r\nTo: cases@practice.example\r\nSubject: Re: [%s] documents\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <b%d@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
					from, cs[k].ID, i, full)
				bt.Items = append(bt.Items, casebot.MailItem{UID: uint32(i + 1), DedupeKey: benchKey(i),
					Note: &casebot.Note{CaseID: cs[k].ID, Author: from, Source: casebot.SourceEmail,
						Body: fmt.Sprintf("Dear mediator,\n\nhere is my answer number %d about the lease and the deposit.\n\nRegards", i),
						Email: &casebot.EmailMeta{From: from, FromName: "P", Subject: "Re: [" + cs[k].ID + "] documents", MessageID: fmt.Sprintf("b%d@example.com", i),
							Date: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), FullText: full, Raw: []byte(raw)}}})
			}
			batches = append(batches, bt)
		}
		b.StartTimer()
		w0 := db.PageWrites()
		t0, c0 := time.Now(), cpuTime(b)
		for _, bt := range batches {
			res, err := db.Ingest(ctx, bt)
			if err != nil {
				b.Fatal(err)
			}
			if res[len(res)-1].Outcome != casebot.OutcomeNote {
				b.Fatalf("outcome %+v", res[len(res)-1])
			}
		}
		elapsed += time.Since(t0)
		cpu += cpuTime(b) - c0
		writes += db.PageWrites() - w0

		c0 = cpuTime(b)
		queued, err := db.FeedNotices(ctx, total)
		if err != nil {
			b.Fatal(err)
		}
		feedCPU += cpuTime(b) - c0
		if queued != total {
			b.Fatalf("%d notices queued, want %d", queued, total)
		}
	}
	b.ReportMetric(float64(elapsed.Microseconds())/float64(total*b.N), "µs/note")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total*b.N), "cpu_µs/note")
	// Page writes are deterministic where times are not (a shared machine).
	b.ReportMetric(float64(writes)/float64(total*b.N), "page_writes/note")
	b.ReportMetric(float64(feedCPU.Microseconds())/float64(total*b.N), "feed_cpu_µs/notice")
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchKey is a de-duplication key of mail's form: "m1:" and a SHA-256 in hex.
func benchKey(i int) string {
	h := sha256.Sum256([]byte(strconv.Itoa(i)))
	return "m1:" + hex.EncodeToString(h[:])
}
