package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/casebot/casebot"
)

// BenchmarkDocs lists the documents of one case (what docs reads) in an
// encrypted store that also holds 10,000 documents of 20 other cases:
// a case of 1,000 documents and one of 10. Each reports how many
// document records it decoded per document listed (1 when it reads only
// its own case's) and the time per document listed, so the two compare.
//
//	go test -run='^$' -bench=BenchmarkDocs -benchtime=1x ./store/
func BenchmarkDocs(b *testing.B) {
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	db := openAt(b, filepath.Join(b.TempDir(), "casebot.db"), newClock(), Options{EncryptionKey: key})
	party := casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	uid := uint32(0)
	fill := func(caseID string, docs int) {
		for start := 0; start < docs; start += 100 {
			batch := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1}
			for i := start; i < min(start+100, docs); i++ {
				// Sizes differ, as real files' do: an arrival then decrypts
				// no other document to compare hashes.
				content := make([]byte, 200+i)
				_, _ = rand.Read(content)
				sum := sha256.Sum256(content)
				uid++
				batch.LastUID = uid
				batch.Items = append(batch.Items, casebot.MailItem{UID: uid, Note: &casebot.Note{CaseID: caseID, Author: party.Email,
					Source: casebot.SourceEmail, Body: "file", Email: &casebot.EmailMeta{From: party.Email, Attachments: []casebot.Attachment{{
						Name: fmt.Sprintf("exhibit-%d.pdf", i), Type: "application/pdf", Size: int64(len(content)),
						SHA256: hex.EncodeToString(sum[:]), Content: content}}}}})
			}
			if _, err := db.Ingest(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	var big, small string
	for i := range 22 {
		c := newCase(b, db, fmt.Sprintf("Case %d", i), "U1", party)
		switch i {
		case 7:
			big = c.ID
			fill(c.ID, 1000)
		case 15:
			small = c.ID
			fill(c.ID, 10)
		default:
			fill(c.ID, 500)
		}
	}
	for _, tc := range []struct {
		name   string
		caseID string
		docs   int
	}{{"case-of-1000-docs", big, 1000}, {"case-of-10-docs", small, 10}} {
		b.Run(tc.name, func(b *testing.B) {
			before := db.docsDecoded.Load()
			b.ResetTimer()
			for range b.N {
				ds, total, err := db.Documents(ctx, tc.caseID, 0)
				if err != nil || len(ds) != tc.docs || total != tc.docs {
					b.Fatalf("Documents = %d of %d, %v; want %d", len(ds), total, err, tc.docs)
				}
			}
			b.StopTimer()
			listed := float64(b.N * tc.docs)
			b.ReportMetric(float64(db.docsDecoded.Load()-before)/listed, "docs_read/listed")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/listed, "ns_per_doc")
		})
	}
}
