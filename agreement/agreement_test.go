package agreement

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// pdfText returns the text of a PDF through pdftotext (poppler-utils),
// skipping the test when it is not installed (.ci/run installs it).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	in := filepath.Join(t.TempDir(), "a.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func sampleCase() (*casebot.Case, []casebot.Offer) {
	c := &casebot.Case{ID: "MED-2026-0042", Title: "Boundary wall", Mediator: "UMED", CoMediators: []string{"UCO"},
		Parties: []casebot.Party{
			{Role: casebot.RoleClaimant, Name: "Γιώργος Παπαδόπουλος", Email: "giorgos@example.gr"},
			{Role: casebot.RoleRespondent, Name: "Анна Иванова", Email: "anna@example.ru"},
			{Role: casebot.RoleCounsel, Name: "Zoë Müller-Łukasiewicz", Email: "zoe@example.de"}},
		Sessions: []casebot.Session{{N: 1, Start: time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC), Duration: 2 * time.Hour, Title: "Opening", Where: "Room 4"}}}
	offers := []casebot.Offer{{CaseID: c.ID, N: 1, Role: casebot.RoleRespondent, Terms: "Анна pays 4,500 € by 1 May", Status: casebot.OfferAccepted}}
	return c, offers
}

// The settlement PDF, read back with pdftotext, names every party as
// written (Greek, Cyrillic, Latin with diacritics), the mediator, the
// session, the accepted offer's terms and the date.
func TestSettlementPDF(t *testing.T) {
	m, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Templates(); strings.Join(got, ",") != "agreement-to-mediate,settlement" {
		t.Errorf("templates %v", got)
	}
	c, offers := sampleCase()
	athens, _ := time.LoadLocation("Europe/Athens")
	if athens == nil {
		athens = time.UTC
	}
	d := casebot.NewAgreementData(c, offers, time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC), athens)
	pdf, err := m.Render("settlement", d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:16])
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"Memorandum of Settlement", "MED-2026-0042", "Γιώργος Παπαδόπουλος", "Анна Иванова",
		"Zoë Müller-Łukasiewicz", "UMED", "UCO", "Opening", "Анна pays 4,500 € by 1 May", "8 December 2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	pdf, err = m.Render("agreement-to-mediate", d)
	if err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "Agreement to Mediate") || !strings.Contains(text, "Анна Иванова") {
		t.Errorf("agreement to mediate:\n%s", text)
	}
	if _, err := m.Render("nda", d); casebot.ErrorCode(err) != casebot.EINVALID || !strings.Contains(err.Error(), "settlement") {
		t.Errorf("unknown template: %v", err)
	}
}

// Templates from records.templates_dir join the built-ins; one with an
// unknown field or a syntax error is refused at start-up naming its file
// and line.
func TestTemplatesDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("final-report.md", "# Final report\n\n{{.CaseID}} closed on {{.Date}}.\n")
	write("notes.txt", "ignored")
	m, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Templates(), ","); got != "agreement-to-mediate,final-report,settlement" {
		t.Errorf("templates %s", got)
	}
	write("broken.md", "# Title\n\nline two\n{{range .Parties}}{{.Nmae}}{{end}}\n")
	_, err = New(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "broken.md")+":4") || !strings.Contains(err.Error(), "Nmae") {
		t.Errorf("unknown field: %v", err)
	}
	write("broken.md", "# Title\n{{if .CaseID}\n")
	if _, err = New(dir); err == nil || !strings.Contains(err.Error(), "broken.md:2") {
		t.Errorf("syntax error: %v", err)
	}
	if _, err := New(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing templates folder was accepted")
	}
}
