package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// mailDocs files one party email per attachment into case id, as mail
// intake would.
func (e *env) mailDocs(id, from string, atts ...casebot.Attachment) {
	e.t.Helper()
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1}
	for i, a := range atts {
		if a.SHA256 == "" {
			sum := sha256.Sum256(a.Content)
			a.SHA256 = hex.EncodeToString(sum[:])
		}
		if a.Size == 0 {
			a.Size = int64(len(a.Content))
		}
		b.LastUID = uint32(i + 1)
		b.Items = append(b.Items, casebot.MailItem{UID: b.LastUID, Note: &casebot.Note{CaseID: id, Author: from, Source: casebot.SourceEmail,
			Body: "see attached", Email: &casebot.EmailMeta{From: from, Subject: "papers", Attachments: []casebot.Attachment{a}}}})
	}
	if _, err := e.db.Ingest(context.Background(), b); err != nil {
		e.t.Fatal(err)
	}
}

// show lists the newest 10 documents and the count; docs lists them all
// with type, size, sender, time and note; a file over the limit is "not
// kept"; docs is a view in the audit trail.
func TestDocsAndShowListDocuments(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Lease")
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	var atts []casebot.Attachment
	for i := 1; i <= 11; i++ {
		atts = append(atts, casebot.Attachment{Name: fmt.Sprintf("exhibit-%02d.pdf", i), Type: "application/pdf", Content: []byte(fmt.Sprintf("%%PDF-1.4 exhibit %d", i))})
	}
	big := casebot.Attachment{Name: "video.mp4", Type: "video/mp4", Size: 50 << 20, SHA256: "ab", Content: []byte("\x00\x00\x00\x18ftypmp42"), Truncated: true}
	e.mailDocs(id, "ann@x.example", append(atts, big)...)

	show := e.must(uMed, "show "+id).Text
	for _, want := range []string{
		"Documents (12):\n  the newest 10; docs " + id + " lists all 12\n  #3 exhibit-03.pdf — application/pdf, 18 B — from ann@x.example 2026-",
		"#12 video.mp4 — video/mp4, 50.0 MB, not kept (over the size limit) — from ann@x.example",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "exhibit-02.pdf") {
		t.Errorf("show lists more than the newest 10:\n%s", show)
	}
	docs := e.must(uMed, "docs "+id).Text
	if !strings.HasPrefix(docs, "Documents of "+id+" (12):\n  #1 exhibit-01.pdf — application/pdf, 18 B — from ann@x.example") ||
		!strings.Contains(docs, "(note #12)") || !strings.Contains(docs, "doc "+id+" <doc#> sends one") {
		t.Errorf("docs replied:\n%s", docs)
	}
	if evs := e.audit(id); evs[len(evs)-1].Action != "view" || evs[len(evs)-1].About.Text != "the documents" {
		t.Errorf("docs not recorded as a view: %+v", evs[len(evs)-1])
	}
	// A second arrival of the same bytes, under another name.
	e.mailDocs(id, "ann@x.example", casebot.Attachment{Name: "again.pdf", Type: "application/octet-stream", Content: atts[0].Content})
	if docs := e.must(uMed, "docs "+id).Text; !strings.Contains(docs, "(note #1); again from ann@x.example") || !strings.Contains(docs, ", as again.pdf)") {
		t.Errorf("docs does not show the second arrival:\n%s", docs)
	}
	// Bytes that read as another type than declared are flagged.
	e.mailDocs(id, "ann@x.example", casebot.Attachment{Name: "invoice.pdf", Type: "application/pdf", Content: []byte("PK\x03\x04 not a pdf")})
	if docs := e.must(uMed, "docs "+id).Text; !strings.Contains(docs, "#13 invoice.pdf — application/pdf (but its bytes read as application/zip), 14 B") {
		t.Errorf("docs does not flag a type mismatch:\n%s", docs)
	}
	empty := e.newCase(uMed, "No papers")
	if got := e.must(uMed, "docs "+empty).Text; !strings.Contains(got, "has no documents yet") {
		t.Errorf("docs of a case without documents: %q", got)
	}
}

// doc with Slack off says so and points to casebot export, whoever asks;
// docs and doc are refused for a case the actor may not see exactly as
// show is.
func TestDocRefusals(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Lease")
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	e.mailDocs(id, "ann@x.example", casebot.Attachment{Name: "a.pdf", Content: []byte("%PDF a")})
	for _, u := range []string{uMed, uStranger} {
		if r := e.refused(u, "doc "+id+" 1", casebot.EUNAVAIL); r.Text != docSlackOff {
			t.Errorf("%s: doc without Slack = %q", u, r.Text)
		}
	}
	if r, show := e.refused(uStranger, "docs "+id, casebot.EFORBIDDEN), e.run(uStranger, "show "+id); r.Text != show.Text {
		t.Errorf("docs denial %q, show's %q", r.Text, show.Text)
	}
	if r := e.refused(uMed, "doc "+id+" x", casebot.EINVALID); !strings.Contains(r.Text, "Usage: doc <ID> <doc#>") {
		t.Errorf("doc with a bad doc# = %q", r.Text)
	}
}
