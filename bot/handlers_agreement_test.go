package bot

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/agreement"
)

// agreement files the filled template as a PDF document of the case, with
// the accepted offer's terms, listed by docs and fetched by doc.
func TestAgreementCommand(t *testing.T) {
	m, err := agreement.New("")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *Config) { c.Agreements = m })
	id := e.newCase(uMed, "Wall")
	e.must(uMed, "party add "+id+" claimant \"Γιώργος Παπαδόπουλος\" g@x.example")
	e.must(uMed, "party add "+id+" respondent \"Анна Иванова\" a@x.example")
	e.must(uMed, "offer "+id+" respondent 4500 by May")
	e.must(uMed, "offer "+id+" 1 accepted")
	before := e.snap(id)
	r := e.refused(uMed, "agreement "+id+" nda", casebot.EINVALID)
	if !strings.Contains(r.Text, "agreement-to-mediate, settlement") {
		t.Errorf("unknown template: %q", r.Text)
	}
	e.refused(uOther, "agreement "+id, casebot.EFORBIDDEN)
	if after := e.snap(id); after.audit != before.audit {
		t.Errorf("a refused agreement changed the audit trail")
	}
	r = e.must(uMed, "agreement "+id)
	if !strings.Contains(r.Text, "Document #1 of "+id+": "+id+" settlement 2026-03-02.pdf") {
		t.Errorf("reply %q", r.Text)
	}
	if docs := e.must(uMed, "docs "+id); !strings.Contains(docs.Text, "settlement") || !strings.Contains(docs.Text, "(made by casebot)") {
		t.Errorf("docs:\n%s", docs.Text)
	}
	d, pdf, err := e.db.DocumentFile(context.Background(), id, 1)
	if err != nil || d.Type() != "application/pdf" || d.Last().From != uMed {
		t.Fatalf("document %+v, %v", d, err)
	}
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
		t.Fatal(err)
	}
	for _, want := range []string{"Γιώργος Παπαδόπουλος", "Анна Иванова", "4500 by May", id} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the agreement lacks %q:\n%s", want, out)
		}
	}
}
