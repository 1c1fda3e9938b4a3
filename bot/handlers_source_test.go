package bot

import (
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// new --source stores the referral source and show names it; a source
// longer than the domain allows is refused and nothing is stored.
func TestNewSource(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, `Fence --source "County court" --type neighbour`)
	if got := e.getCase(id).Source; got != "County court" {
		t.Errorf("source = %q, want County court", got)
	}
	if show := e.must(uMed, "show "+id); !strings.Contains(show.Text, "Referral source County court") {
		t.Errorf("show lacks the source:\n%s", show.Text)
	}
	before := e.snap(id)
	r := e.refused(uMed, "new Other --source "+strings.Repeat("x", casebot.MaxSourceLen+1), casebot.EINVALID)
	if !strings.Contains(r.Text, "source") {
		t.Errorf("refusal %q does not name the source", r.Text)
	}
	if after := e.snap(id); after.cases != before.cases {
		t.Errorf("a refused new stored a case: %d -> %d", before.cases, after.cases)
	}
	e.refused(uMed, "new Other --source", casebot.EINVALID)
}
