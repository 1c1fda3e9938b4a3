package bot

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// A co-mediator sees and changes the case, finds it in list and list
// overdue, is named in show; removing them takes all of it away at once.
func TestCoMediator(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uAdmin, "Shared case --mediator "+uMed)
	e.must(uMed, "deadline "+id+" +1d Papers")
	if r := e.must(uAdmin, "assign "+id+" +<@"+uCo+"|cora>"); !strings.Contains(r.Text, uCo+" is now a co-mediator of "+id) {
		t.Errorf("add reply %q", r.Text)
	}
	if got := e.getCase(id).CoMediators; !reflect.DeepEqual(got, []string{uCo}) {
		t.Fatalf("co-mediators %v", got)
	}
	if show := e.must(uCo, "show "+id); !strings.Contains(show.Text, "Mediator "+uMed+" (co-mediators "+uCo+")") {
		t.Errorf("show does not name the co-mediator:\n%s", show.Text)
	}
	e.must(uCo, "note "+id+" from the co-mediator")
	if l := e.must(uCo, "list"); !strings.Contains(l.Text, id) {
		t.Errorf("co-mediator's list lacks the case:\n%s", l.Text)
	}
	e.now = e.now.Add(48 * 3600e9)
	if l := e.must(uCo, "list overdue"); !strings.Contains(l.Text, id) {
		t.Errorf("co-mediator's overdue list lacks the case:\n%s", l.Text)
	}
	ms, _ := e.db.Cases(context.Background(), casebot.CaseFilter{Mediator: uCo})
	if len(ms) != 1 || ms[0].ID != id {
		t.Errorf("Cases(co-mediator) = %v", ms)
	}
	if err := e.db.Check(context.Background()); err != nil {
		t.Errorf("indexes: %v", err)
	}

	// Bad input: the mediator, twice, removing someone who is not one.
	before := e.snap(id)
	r := e.refused(uAdmin, "assign "+id+" +"+uMed, casebot.EINVALID)
	if !strings.Contains(r.Text, "is the mediator of") {
		t.Errorf("own mediator: %q", r.Text)
	}
	r = e.refused(uAdmin, "assign "+id+" +"+uCo, casebot.ECONFLICT)
	if !strings.Contains(r.Text, "already") {
		t.Errorf("twice: %q", r.Text)
	}
	e.refused(uAdmin, "assign "+id+" -"+uOther, casebot.EINVALID)
	e.refused(uMed, "assign "+id+" +"+uOther, casebot.EFORBIDDEN)
	if after := e.snap(id); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused assign changed something:\n%+v\n%+v", before, after)
	}

	e.must(uAdmin, "assign "+id+" -"+uCo)
	if r := e.run(uCo, "show "+id); casebot.ErrorCode(r.Err) != casebot.EFORBIDDEN {
		t.Errorf("removed co-mediator still sees the case: %q", r.Text)
	}
	if l := e.must(uCo, "list"); strings.Contains(l.Text, id) {
		t.Errorf("removed co-mediator still lists it:\n%s", l.Text)
	}
	if l := e.must(uCo, "list overdue"); strings.Contains(l.Text, id) {
		t.Errorf("removed co-mediator still has its overdue items:\n%s", l.Text)
	}
	if err := e.db.Check(context.Background()); err != nil {
		t.Errorf("indexes after removal: %v", err)
	}
}

// A co-mediated case counts half for each of its mediators in assign auto
// and the caseload figures; a co-mediator's conflicts are named on party add.
func TestCoMediatorCaseloadAndConflicts(t *testing.T) {
	e := newEnv(t)
	// UMED1: two normal cases, both shared with UMED3 (2×2×½ = 2 each).
	// UMED2: one high case (3).
	a := e.newCase(uAdmin, "A --mediator "+uMed)
	b := e.newCase(uAdmin, "B --mediator "+uMed)
	e.newCase(uAdmin, "C --priority high --mediator "+uOther)
	e.must(uAdmin, "assign "+a+" +UMED3")
	e.must(uAdmin, "assign "+b+" +UMED3")
	loads, err := e.db.Caseloads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, l := range loads {
		got[l.Mediator] = caseloadWeight(l)
	}
	want := map[string]float64{uMed: 2, uOther: 3, "UMED3": 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("weighted loads %v, want %v", got, want)
	}
	x := e.newCase(uAdmin, "X --priority low --mediator "+uOther) // UMED2 now 4
	e.must(uAdmin, "assign "+x+" auto")
	if m := e.getCase(x).Mediator; m != uMed {
		t.Errorf("auto chose %s, want %s (2 shared cases weigh 2, not 4)", m, uMed)
	}
	// A co-mediator's conflict: Pat is in UMED3's shared case A; adding Pat to
	// C, where UMED3 is co-mediator too, names it.
	e.must(uMed, "party add "+a+" claimant Pat Party pat@x.example")
	c := e.newCase(uAdmin, "D --mediator "+uOther)
	e.must(uAdmin, "assign "+c+" +UMED3")
	r := e.must(uOther, "party add "+c+" respondent Pat Party pat@x.example")
	if !strings.Contains(r.Text, "co-mediator UMED3 has this person in "+a) {
		t.Errorf("party add does not warn of the co-mediator's conflict:\n%s", r.Text)
	}
}
