package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// report replies with the period's figures (by month and by group), a
// mediator's counting only their cases; without Slack it says the files
// need it. Bad periods are refused with the usage.
func TestReport(t *testing.T) {
	e := newEnv(t)
	a := e.newCase(uMed, "A --type family --priority high")
	b := e.newCase(uMed, "B --type family")
	e.newCase(uOther, "C --type commercial")
	if _, err := e.db.UpdateCase(context.Background(), a, func(c *casebot.Case) (casebot.Change, error) {
		c.Source = "court"
		return casebot.Change{Actor: uAdmin}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(72 * time.Hour)
	e.must(uMed, "close "+a+" settled")
	e.now = e.now.Add(48 * time.Hour)
	e.must(uMed, "close "+b+" impasse")

	r := e.must(uAdmin, "report")
	for _, want := range []string{
		"Report 2025-04 to 2026-03 (the programme):",
		"Opened 3; 2 closed, 50% settled, median 4.0 days, 90th percentile 5.0 days.",
		"2026-03  3 / 2 / 1",
		"By type:", "family: 2 closed, 50% settled", "By source:", "court: 1 closed, 100% settled, median 3.0 days",
		"(none): 1 closed, 0% settled", "By mediator:", "UMED1: 2 closed",
		"Sessions held 0; offers made 0, accepted 0; cases purged 0.",
		reportSlackOff,
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("admin report lacks %q:\n%s", want, r.Text)
		}
	}
	m := e.must(uOther, "report 2026-03")
	if !strings.Contains(m.Text, "Report 2026-03 to 2026-03 (your cases):") || !strings.Contains(m.Text, "Opened 1; none closed.") {
		t.Errorf("other mediator's report:\n%s", m.Text)
	}
	if s := e.must(uStranger, "report"); strings.Contains(s.Text, "Opened 3") {
		t.Errorf("a stranger sees the programme:\n%s", s.Text)
	}
	if d := e.must(uAdmin, "report 2026-03-15 2026-03-20"); !strings.Contains(d.Text, "Report 2026-03 to 2026-03") {
		t.Errorf("dates stand for their months:\n%s", d.Text)
	}
	for text, want := range map[string]string{
		"report 2026-13":           `"2026-13" is not a month like 2026-01 or a date like 2026-01-15.`,
		"report 2026-03 2026-01":   "The period ends (2026-01) before it starts (2026-03).",
		"report last-year":         `"last-year" is not a month like 2026-01 or a date like 2026-01-15.`,
		"report 2016-01 2026-03":   "A report covers at most ten years.",
		"report 2026-01 2026-02 x": `Unexpected "x".`,
	} {
		r := e.refused(uAdmin, text, casebot.EINVALID)
		if !strings.Contains(r.Text, want) {
			t.Errorf("%s: %q, want %q", text, r.Text, want)
		}
	}
}
