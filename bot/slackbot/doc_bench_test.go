package slackbot_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/bot/slackbot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/store"
)

// heapNow returns the live heap at the last GC and the bytes in heap
// objects now (live or not yet collected), without stopping the world.
func heapNow() (live, objects uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// samplePeaks records the largest of both heapNow figures every 200 µs
// until the returned stop is called.
func samplePeaks(live, objects *uint64) (stop func()) {
	*live, *objects = heapNow()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				l, o := heapNow()
				*live, *objects = max(*live, l), max(*objects, o)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// BenchmarkDocDelivery runs doc for a 10 MiB document, encrypted at rest,
// from the bbolt store through slackbot's upload to the test Slack
// server, and reports the heap it takes above what was in use before:
// the peak live heap and the peak of all heap objects (garbage not yet
// collected included), each over the document's size. The goal is under
// 3x; the content is decrypted once and streamed to Slack.
//
//	go test -run='^$' -bench=DocDelivery -benchtime=1x ./bot/slackbot/
func BenchmarkDocDelivery(b *testing.B) {
	const size = 10 << 20
	ctx := context.Background()
	api := testserver.NewSlack(b, "xoxb-bench")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "casebot.db"), store.Options{EncryptionKey: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	ann := casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	c, err := db.CreateCase(ctx, &casebot.Case{Title: "Lease", Mediator: "UMED", Parties: []casebot.Party{ann}}, casebot.Change{Actor: "UMED", Action: "case.create"})
	if err != nil {
		b.Fatal(err)
	}
	want := func() string {
		content := make([]byte, size)
		copy(content, "%PDF-1.4\n")
		_, _ = rand.Read(content[9:])
		sum := sha256.Sum256(content)
		a := casebot.Attachment{Name: "exhibits.pdf", Type: "application/pdf", Size: size, SHA256: hex.EncodeToString(sum[:]), Content: content}
		if _, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1, Items: []casebot.MailItem{{UID: 1,
			Note: &casebot.Note{CaseID: c.ID, Author: ann.Email, Source: casebot.SourceEmail, Body: "exhibits",
				Email: &casebot.EmailMeta{From: ann.Email, Attachments: []casebot.Attachment{a}}}}}}); err != nil {
			b.Fatal(err)
		}
		return a.SHA256
	}()
	sender := slackbot.NewSender(slackbot.NewClient("xoxb-bench", "", api.URL()), bot.RenderNotice)
	bt := bot.New(bot.Config{Store: db, Files: sender})

	var peakLive, peakObjects uint64
	for i := range b.N {
		b.StopTimer()
		runtime.GC()
		runtime.GC()
		baseLive, baseObjects := heapNow()
		var live, objects uint64
		stop := samplePeaks(&live, &objects)
		b.StartTimer()
		rep := bt.Run(ctx, "UMED", "doc "+c.ID+" 1")
		b.StopTimer()
		stop()
		if rep.Err != nil {
			b.Fatalf("doc refused: %s", rep.Text)
		}
		ups := api.Uploads()
		if len(ups) != i+1 || ups[i].SHA256 != want || ups[i].Received != size || ups[i].Channel != "D-UMED" {
			b.Fatalf("upload %+v, want %d bytes with SHA-256 %s to D-UMED", ups[len(ups)-1], size, want)
		}
		peakLive = max(peakLive, live-min(live, baseLive))
		peakObjects = max(peakObjects, objects-min(objects, baseObjects))
		b.StartTimer()
	}
	b.ReportMetric(float64(peakLive)/(1<<20), "peak_live_MiB")
	b.ReportMetric(float64(peakLive)/size, "peak_live/size")
	b.ReportMetric(float64(peakObjects)/size, "peak_heap/size")
}
