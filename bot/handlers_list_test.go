package bot

import (
	"fmt"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// TestListPages: list shows 50 cases a page, most urgent first, says which
// page it is and offers the next one as a command and a Next button that
// stands for it.
func TestListPages(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 120; i++ {
		prio := "normal"
		if i%40 == 0 {
			prio = "urgent"
		}
		e.newCase(uMed, fmt.Sprintf("Case %d --priority %s", i, prio))
	}
	e.newCase(uOther, "Not mine")
	r := e.must(uMed, "list")
	lines := strings.Split(strings.TrimSpace(r.Text), "\n")
	if !strings.HasPrefix(lines[0], "Cases (mine, 120):") || strings.Count(r.Text, "[urgent]") != 3 || !strings.Contains(lines[1], "[urgent]") {
		t.Fatalf("page 1 does not start with the urgent cases:\n%s", r.Text)
	}
	if got := strings.Count(r.Text, "\n  MED-"); got != 50 {
		t.Errorf("page 1 shows %d cases, want 50", got)
	}
	if !strings.Contains(r.Text, "Page 1 of 3.") || !strings.Contains(r.Text, "Next page: list mine page 2") {
		t.Errorf("page 1 footer:\n%s", r.Text)
	}
	if len(r.Buttons) != 1 || r.Buttons[0].ActionID != casebot.ActionListPage {
		t.Fatalf("buttons %+v", r.Buttons)
	}
	cmd, ok := ButtonText(r.Buttons[0].ActionID, r.Buttons[0].Value)
	if !ok || cmd != "list mine page 2" {
		t.Fatalf("Next stands for %q, %v", cmd, ok)
	}
	p2 := e.must(uMed, cmd)
	if !strings.Contains(p2.Text, "Page 2 of 3.") || strings.Contains(p2.Text, "[urgent]") {
		t.Errorf("page 2:\n%s", p2.Text)
	}
	p3 := e.must(uMed, "list mine page 9")
	if got := strings.Count(p3.Text, "\n  MED-"); got != 20 || !strings.Contains(p3.Text, "Page 3 of 3.") || len(p3.Buttons) != 0 {
		t.Errorf("a page past the end shows the last: %d cases, buttons %+v\n%s", got, p3.Buttons, p3.Text)
	}
	seen := map[string]bool{}
	for _, pg := range []Reply{r, p2, p3} {
		for _, l := range strings.Split(pg.Text, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "MED-") {
				if seen[f[0]] {
					t.Errorf("%s on two pages", f[0])
				}
				seen[f[0]] = true
			}
		}
	}
	if len(seen) != 120 {
		t.Errorf("pages show %d cases, want 120", len(seen))
	}
	if a := e.must(uAdmin, "list all"); !strings.HasPrefix(a.Text, "Cases (all, 121):") {
		t.Errorf("admin list all: %q", strings.SplitN(a.Text, "\n", 2)[0])
	}
	if _, ok := ButtonText(casebot.ActionListPage, "everything/2"); ok {
		t.Error("a Next button naming no list choice was accepted")
	}
}
