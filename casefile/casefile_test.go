package casefile

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/casebot/casebot"
)

var at = time.Date(2026, 3, 2, 9, 14, 0, 0, time.UTC)

// doc is a kept document with content.
func doc(n int, name string, content []byte) casebot.Document {
	sum := sha256.Sum256(content)
	return casebot.Document{N: n, Name: name, DeclaredType: "application/pdf", Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		Kept: true, Arrivals: []casebot.Arrival{{From: "ann@example.com", At: at, Note: 1, Name: name}}}
}

// testFile is a case file with the given documents, whose content comes
// from contents by doc#.
func testFile(docs []casebot.Document, contents map[int][]byte) File {
	c := &casebot.Case{ID: "MED-2026-0001", Title: "Lease dispute", Priority: casebot.PriorityNormal, Status: casebot.StatusActive,
		Mediator: "U1", Created: at, Token: "secrettok",
		Parties:   []casebot.Party{{Role: casebot.RoleClaimant, Name: "Ann Lee", Email: "ann@example.com", Added: at}},
		Deadlines: []casebot.Deadline{{N: 1, Due: at.Add(72 * time.Hour), Text: "Position statements", Created: at}},
		Sessions:  []casebot.Session{{N: 1, Start: at.Add(96 * time.Hour), Duration: 90 * time.Minute, Title: "Opening", Where: "Room 4"}}}
	return File{
		Case: c,
		Notes: []*casebot.Note{
			{N: 1, Author: "ann@example.com", Source: casebot.SourceEmail, Body: "Attached.\n", Created: at,
				Email: &casebot.EmailMeta{From: "ann@example.com", FromName: "Ann\r\nLee", Subject: "Re: papers\nInjected: yes", Raw: []byte("From: ann@example.com\r\n\r\nAttached.\r\n")}},
			{N: 2, Author: "U1", Source: casebot.SourceSlack, Private: true, Body: "Caucus: Ann would take 5k", Created: at.Add(time.Hour)},
		},
		Timeline:  "MED-2026-0001: Lease dispute — 1 event\n  2026-03-02 09:14 UTC  U1  opened the case",
		Documents: docs,
		Content: func(_ context.Context, n int) (io.Reader, error) {
			b, ok := contents[n]
			if !ok {
				return nil, fmt.Errorf("no document %d", n)
			}
			return bytes.NewReader(b), nil
		},
		Exported: at.Add(48 * time.Hour), By: "U1",
	}
}

// write returns f as a zip, read back.
func write(t *testing.T, f File) (*zip.Reader, Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Write(context.Background(), &buf, f)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return zr, sum
}

func read(t *testing.T, zr *zip.Reader, name string) []byte {
	t.Helper()
	r, err := zr.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteParts(t *testing.T) {
	content := []byte("%PDF-1.4 statement")
	f := testFile([]casebot.Document{doc(1, "Statement.pdf", content),
		{N: 2, Name: "huge.bin", Size: 1 << 30, Arrivals: []casebot.Arrival{{From: "ann@example.com", At: at, Note: 1, Name: "huge.bin"}}}},
		map[int][]byte{1: content})
	zr, sum := write(t, f)
	if want := (Summary{Notes: 2, Emails: 1, Documents: 1}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	var names []string
	for _, e := range zr.File {
		names = append(names, e.Name)
	}
	want := []string{"case.json", "timeline.txt", "notes/0001.txt", "emails/0001.eml", "notes/0002.txt", "documents/0001-Statement.pdf"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("entries %q, want %q", names, want)
	}

	var cj CaseJSON
	if err := json.Unmarshal(read(t, zr, "case.json"), &cj); err != nil {
		t.Fatal(err)
	}
	if cj.ID != "MED-2026-0001" || cj.Title != "Lease dispute" || cj.Mediator != "U1" || cj.ExportedBy != "U1" || cj.Notes != 2 ||
		len(cj.Parties) != 1 || cj.Parties[0].Email != "ann@example.com" || len(cj.Deadlines) != 1 || cj.Deadlines[0].Text != "Position statements" ||
		len(cj.Sessions) != 1 || cj.Sessions[0].Minutes != 90 || cj.Sessions[0].Where != "Room 4" || cj.Offers == nil || len(cj.Offers) != 0 {
		t.Errorf("case.json %+v", cj)
	}
	if len(cj.Documents) != 2 || cj.Documents[0].File != "documents/0001-Statement.pdf" || cj.Documents[1].Kept || cj.Documents[1].File != "" {
		t.Errorf("case.json documents %+v", cj.Documents)
	}
	if bytes.Contains(read(t, zr, "case.json"), []byte("secrettok")) {
		t.Error("case.json holds the case's reply token")
	}
	if !bytes.Contains(read(t, zr, "case.json"), []byte(`"offers": []`)) {
		t.Error(`case.json has no "offers": []`)
	}
	if got := string(read(t, zr, "timeline.txt")); got != f.Timeline+"\n" {
		t.Errorf("timeline.txt %q", got)
	}
	note1 := string(read(t, zr, "notes/0001.txt"))
	for _, w := range []string{"Note: #1\n", "Author: ann@example.com\n", "Time: 2026-03-02 09:14:00 +0000 UTC\n", "Private: no\n",
		"From: Ann Lee <ann@example.com>\n", "Subject: Re: papers Injected: yes\n", "Email: emails/0001.eml\n",
		"Documents: documents/0001-Statement.pdf, #2 huge.bin (not kept)\n", "\n\nAttached.\n"} {
		if !strings.Contains(note1, w) {
			t.Errorf("notes/0001.txt lacks %q:\n%s", w, note1)
		}
	}
	if note2 := string(read(t, zr, "notes/0002.txt")); !strings.Contains(note2, "Private: yes\n") || !strings.HasSuffix(note2, "\n\nCaucus: Ann would take 5k\n") {
		t.Errorf("notes/0002.txt:\n%s", note2)
	}
	if got := read(t, zr, "emails/0001.eml"); !bytes.Equal(got, f.Notes[0].Email.Raw) {
		t.Errorf("emails/0001.eml %q", got)
	}
	if got := read(t, zr, "documents/0001-Statement.pdf"); !bytes.Equal(got, content) {
		t.Errorf("document %q", got)
	}
	for _, e := range zr.File {
		if e.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name, e.Mode())
		}
	}
}

// Hostile names become safe entries: never a folder, an absolute path, a
// backslash or a control character; names that differ only in case, or
// not at all, stay apart; and unpacking naively stays inside its folder.
func TestHostileNames(t *testing.T) {
	names := []string{"../../etc/passwd", "/etc/shadow", `..\..\windows\system.ini`, "evil\x00\x1b[31mred\u202eexe.txt", "..",
		"a:b*c?d\"e<f>g|h.txt", strings.Repeat("ü", 300) + ".pdf", "Report.PDF", "report.pdf", "report.pdf", "\t\n", "C:\\boot.ini"}
	var docs []casebot.Document
	contents := map[int][]byte{}
	for i, name := range names {
		c := []byte(fmt.Sprintf("content %d", i))
		docs = append(docs, doc(i+1, name, c))
		contents[i+1] = c
	}
	zr, sum := write(t, testFile(docs, contents))
	if sum.Documents != len(names) {
		t.Fatalf("%d documents written, want %d", sum.Documents, len(names))
	}
	dst := t.TempDir()
	seen := map[string]bool{}
	for _, e := range zr.File {
		name := e.Name
		lower := strings.ToLower(name)
		if seen[lower] {
			t.Errorf("entry %q twice (case aside)", name)
		}
		seen[lower] = true
		if !filepath.IsLocal(name) || filepath.Clean(name) != name || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) ||
			strings.Contains(name, "..") && !strings.HasPrefix(name, "documents/") {
			t.Errorf("unsafe entry %q", name)
		}
		for _, part := range strings.Split(name, "/") {
			if part == ".." || part == "." || part == "" {
				t.Errorf("entry %q has the part %q", name, part)
			}
		}
		for _, r := range name {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
				t.Errorf("entry %q holds %U", name, r)
			}
		}
		if len(filepath.Base(name)) > 255 {
			t.Errorf("entry %q: a name of %d bytes", name, len(filepath.Base(name)))
		}
		// Unpack as a careless tool would.
		p := filepath.Join(dst, name)
		if rel, err := filepath.Rel(dst, p); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("%q unpacks to %s, outside %s", name, p, dst)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, read(t, zr, name), 0o600); err != nil {
			t.Fatalf("unpack %q: %v", name, err)
		}
	}
	for i := range names {
		d := &docs[i]
		got, err := os.ReadFile(filepath.Join(dst, DocumentEntry(d)))
		if err != nil || !bytes.Equal(got, contents[d.N]) {
			t.Errorf("document #%d (%q) unpacked as %q: %q, %v", d.N, names[i], DocumentEntry(d), got, err)
		}
	}
	for _, want := range []string{"documents/0001-passwd", "documents/0008-Report.PDF", "documents/0009-report.pdf", "documents/0010-report.pdf"} {
		if !seen[strings.ToLower(want)] {
			t.Errorf("no entry %q", want)
		}
	}
}

// Content that does not match the document's record fails the export.
func TestWriteRefusesContentThatDoesNotMatch(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"other bytes", []byte("%PDF-1.4 statemenT"), "does not match its SHA-256"},
		{"cut off", []byte("%PDF-1.4"), "its record says 18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFile([]casebot.Document{doc(1, "Statement.pdf", []byte("%PDF-1.4 statement"))}, map[int][]byte{1: tt.content})
			_, err := Write(context.Background(), io.Discard, f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestCheckEntry(t *testing.T) {
	for _, name := range []string{"", "/a", "../a", "a/../b", "a//b", "a/", `a\b`, "C:x", "a\x00b", "a\nb", "./a"} {
		if checkEntry(name) == nil {
			t.Errorf("checkEntry(%q) = nil, want a refusal", name)
		}
	}
	for _, name := range []string{"case.json", "notes/0001.txt", "documents/0001-..", "documents/0002-Müller.pdf"} {
		if err := checkEntry(name); err != nil {
			t.Errorf("checkEntry(%q) = %v", name, err)
		}
	}
}

// Offers, the source, co-mediators and agendas are in case.json.
func TestCaseJSONOffersAndWorkflow(t *testing.T) {
	f := testFile(nil, nil)
	made := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	f.Case.Source, f.Case.CoMediators = "court", []string{"U2"}
	f.Case.Sessions[0].Agenda = []string{"Opening statements", "Repairs"}
	f.Offers = []casebot.Offer{{CaseID: f.Case.ID, N: 1, Role: casebot.RoleRespondent, Terms: "pay 5,000 by May",
		Status: casebot.OfferStatus("accepted"), By: "U1", Made: made, ClosedBy: "U1", Closed: made.Add(time.Hour)}}
	zr, _ := write(t, f)
	var cj CaseJSON
	if err := json.Unmarshal(read(t, zr, "case.json"), &cj); err != nil {
		t.Fatal(err)
	}
	if len(cj.Offers) != 1 || cj.Offers[0].Terms != "pay 5,000 by May" || cj.Offers[0].Role != "respondent" || cj.Offers[0].Status != "accepted" ||
		cj.Offers[0].Made == nil || !cj.Offers[0].Made.Equal(made) {
		t.Errorf("offers %+v", cj.Offers)
	}
	if cj.Source != "court" || len(cj.CoMediators) != 1 || cj.CoMediators[0] != "U2" || len(cj.Sessions[0].Agenda) != 2 {
		t.Errorf("case.json %+v", cj)
	}
}
