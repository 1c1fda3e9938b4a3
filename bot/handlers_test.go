package bot

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// A title or note with Slack mrkdwn is stored byte for byte and echoed as
// typed; escaping it (so <!channel> never pings) is the transport's job.
func TestMrkdwnStoredAsTyped(t *testing.T) {
	e := newEnv(t)
	title := "<!channel> *bold* & <!here> _x_ <@U0999>"
	r := e.must(uMed, "new "+title)
	id := openedRe.FindStringSubmatch(r.Text)[1]
	if want := "Opened " + id + ": " + title + "\n"; !strings.HasPrefix(r.Text, want) {
		t.Errorf("reply %q, want it to start with %q", r.Text, want)
	}
	if got := e.getCase(id).Title; got != title {
		t.Errorf("stored title %q, want %q", got, title)
	}
	body := "*Offer*: 5k <!channel>\n> quoted"
	e.must(uMed, "note "+id+" "+body)
	if n := e.notes(id); len(n) != 1 || n[0].Body != body {
		t.Fatalf("notes = %+v, want one with body %q", n, body)
	}
	show := e.must(uMed, "show "+id)
	if !strings.Contains(show.Text, id+": "+title+"\n") || !strings.Contains(show.Text, "*Offer*: 5k <!channel>") {
		t.Errorf("show does not echo as typed:\n%s", show.Text)
	}
	// The audit trail names the note by its first line, never its body.
	for _, ev := range e.audit(id) {
		if strings.Contains(ev.Detail+ev.About.Who+ev.About.Text, "quoted") {
			t.Errorf("audit event holds the note body: %+v", ev)
		}
		if ev.Action == "note.add" && ev.About.Text != "*Offer*: 5k <!channel>" {
			t.Errorf("note.add names %q, want the note's first line", ev.About.Text)
		}
	}
}

func TestNewMediatorRules(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Mine --priority urgent --type family")
	c := e.getCase(id)
	if c.Mediator != uMed || c.CreatedBy != uMed || c.Priority != casebot.PriorityUrgent || c.Type != "family" || c.Status != casebot.StatusIntake {
		t.Errorf("case = %+v", c)
	}
	r := e.refused(uMed, "new Theirs --mediator <@"+uOther+"|bob>", casebot.EFORBIDDEN)
	if r.Text != "Only admins may make someone else the mediator." {
		t.Errorf("reply %q", r.Text)
	}
	e.must(uMed, "new Still mine --mediator "+uMed)
	id = e.newCase(uAdmin, "Given --mediator <@"+uOther+">")
	if got := e.getCase(id).Mediator; got != uOther {
		t.Errorf("mediator = %q, want %q", got, uOther)
	}
}

func TestCaseLifecycle(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Lifecycle")
	e.must(uMed, "deadline "+id+" +2d Position papers")
	e.must(uMed, "deadline "+id+" +5bd Replies")
	r := e.must(uMed, `session `+id+` "2026-03-10 14:00" 1h30m Opening --where "Room 4"`)
	if !strings.Contains(r.Text, "Session #1 of "+id+": 2026-03-10 14:00 UTC, 1h30m  Opening — Room 4") {
		t.Errorf("session reply %q", r.Text)
	}
	c := e.getCase(id)
	if len(c.Sessions) != 1 || c.Sessions[0].Duration != 90*time.Minute || c.Sessions[0].Where != "Room 4" || c.Sessions[0].Title != "Opening" {
		t.Errorf("sessions = %+v", c.Sessions)
	}
	e.must(uMed, "note "+id+" --private caucus only")
	r = e.must(uMed, "done "+id+" 2")
	if r.Text != "Deadline #2 of "+id+" met: Replies" {
		t.Errorf("done reply %q", r.Text)
	}
	if d := e.getCase(id).Deadlines[1]; !d.Met || d.MetBy != uMed || !d.MetAt.Equal(testNow) {
		t.Errorf("deadline 2 = %+v", d)
	}
	e.refused(uMed, "done "+id+" 2", casebot.ECONFLICT)
	e.refused(uMed, "done "+id+" 9", casebot.EINVALID)

	show := e.must(uMed, "show "+id)
	for _, want := range []string{"Deadlines (2):", "1. 2026-03-04 10:00 UTC  Position papers", "[met 2026-03-02 10:00 UTC by UMED1]",
		"[private]: caucus only", "Sessions (1):"} {
		if !strings.Contains(show.Text, want) {
			t.Errorf("show lacks %q:\n%s", want, show.Text)
		}
	}
	if len(show.Buttons) < 2 || show.Buttons[0].Value != id+"/1" || show.Buttons[0].ActionID != casebot.ActionDeadlineDone ||
		show.Buttons[1].ActionID != casebot.ActionOpenForm || show.Buttons[1].Value != "party add/"+id {
		t.Errorf("buttons = %+v", show.Buttons)
	}

	e.must(uMed, "status "+id+" active")
	e.refused(uMed, "status "+id+" active", casebot.ECONFLICT)
	e.now = e.now.Add(48 * time.Hour)
	r = e.must(uMed, "close "+id+" settled Agreement signed")
	c = e.getCase(id)
	if c.Status != casebot.StatusSettled || c.Outcome != casebot.StatusSettled || c.OutcomeText != "Agreement signed" || !c.Closed.Equal(e.now) {
		t.Errorf("closed case = %+v", c)
	}
	e.refused(uMed, "close "+id+" impasse", casebot.ECONFLICT)
	// A closed case takes notes but no new deadlines, sessions or parties.
	before := e.snap(id)
	e.refused(uMed, "deadline "+id+" +1d More", casebot.ECONFLICT)
	e.refused(uMed, "session "+id+" +1d 1h More", casebot.ECONFLICT)
	e.refused(uMed, "party add "+id+" other Ann ann@x.example", casebot.ECONFLICT)
	if after := e.snap(id); !reflect.DeepEqual(before, after) {
		t.Errorf("refusals on a closed case stored something")
	}
	e.must(uMed, "note "+id+" after the close")
	e.must(uMed, "status "+id+" active")
	c = e.getCase(id)
	if c.Status != casebot.StatusActive || !c.Closed.IsZero() || c.Outcome != "" {
		t.Errorf("reopened case = %+v", c)
	}

	tl := e.must(uMed, "timeline "+id)
	t.Logf("timeline:\n%s", tl.Text)
	var actions []string
	evs := e.audit(id)
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	// A heading, then one line per event before the timeline's own view.
	if lines := strings.Split(tl.Text, "\n"); len(lines) != len(evs) {
		t.Errorf("timeline has %d lines for %d events:\n%s", len(lines), len(evs)-1, tl.Text)
	}
	want := []string{"case.create", "deadline.add", "deadline.add", "session.add", "note.add", "deadline.done", "view",
		"case.status", "case.close", "note.add", "case.reopen", "view"}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("audit actions\n got %v\nwant %v", actions, want)
	}
}

func TestPartiesAndConflicts(t *testing.T) {
	e := newEnv(t)
	mine := e.newCase(uMed, "Mine")
	theirs := e.newCase(uOther, "Theirs")
	e.must(uOther, `party add `+theirs+` respondent "Smith, John" john@x.example`)

	r := e.must(uMed, "party add "+mine+" claimant John Smith <mailto:JOHN@x.example|JOHN@x.example>")
	if !strings.Contains(r.Text, "Added claimant John Smith <john@x.example> to "+mine) ||
		!strings.Contains(r.Text, "and 1 case assigned to other mediators.") || strings.Contains(r.Text, theirs) {
		t.Errorf("mediator's conflict warning:\n%s", r.Text)
	}
	before := e.snap(mine)
	r = e.refused(uMed, "party add "+mine+" counsel Jon Smith john@x.example", casebot.ECONFLICT)
	if r.Text != "john@x.example is already a party of "+mine+"." {
		t.Errorf("duplicate reply %q", r.Text)
	}
	if !reflect.DeepEqual(before, e.snap(mine)) {
		t.Error("a duplicate party was stored")
	}
	r = e.must(uAdmin, "party add "+mine+" observer Smith John js@x.example")
	if !strings.Contains(r.Text, theirs+"  respondent: Smith, John <john@x.example>  — Theirs, mediator UMED2") {
		t.Errorf("admin's conflict warning lists the other case:\n%s", r.Text)
	}

	r = e.must(uAdmin, "conflicts john smith")
	if !strings.Contains(r.Text, mine+"  claimant") || !strings.Contains(r.Text, theirs+"  respondent") {
		t.Errorf("admin conflicts:\n%s", r.Text)
	}
	r = e.must(uMed, "conflicts <mailto:john@x.example|john@x.example>")
	if !strings.Contains(r.Text, mine+"  claimant") || strings.Contains(r.Text, theirs) || !strings.Contains(r.Text, "and 1 case assigned") {
		t.Errorf("mediator conflicts:\n%s", r.Text)
	}
	if r := e.must(uMed, "conflicts nobody@x.example"); r.Text != "No case names nobody@x.example." {
		t.Errorf("no match: %q", r.Text)
	}
	e.refused(uMed, "conflicts bad@", casebot.EINVALID)

	e.must(uMed, "party remove "+mine+" JOHN@x.example")
	if c := e.getCase(mine); len(c.Parties) != 1 || c.Parties[0].Email != "js@x.example" {
		t.Errorf("parties after remove = %+v", c.Parties)
	}
}

func TestAssign(t *testing.T) {
	e := newEnv(t)
	e.newCase(uAdmin, "A --mediator "+uMed)
	e.newCase(uAdmin, "B --priority high --mediator "+uMed)
	e.newCase(uAdmin, "C --priority urgent --mediator "+uOther)
	d := e.newCase(uAdmin, "D --priority low --mediator UMED3")
	e.must(uAdmin, "party add "+d+" claimant Pat Party pat@x.example")
	x := e.newCase(uAdmin, "X --mediator "+uMed)
	e.must(uAdmin, "party add "+x+" respondent Pat Party pat@x.example")

	// Loads without X: UMED1 2+3=5, UMED2 4, UMED3 1 but Pat is in D.
	r := e.must(uAdmin, "assign "+x+" auto")
	if r.Text != x+" is now assigned to UMED2 (auto)." || e.getCase(x).Mediator != uOther {
		t.Errorf("assign auto: %q", r.Text)
	}
	e.must(uAdmin, "party remove "+x+" pat@x.example")
	e.must(uAdmin, "assign "+x+" auto")
	if got := e.getCase(x).Mediator; got != "UMED3" {
		t.Errorf("without the conflict auto chose %q, want UMED3", got)
	}
	e.must(uAdmin, "assign "+x+" <@"+uMed+"|ann>")
	if got := e.getCase(x).Mediator; got != uMed {
		t.Errorf("mediator %q, want %q", got, uMed)
	}
	if r := e.must(uAdmin, "assign "+x+" "+uMed); r.Text != x+" stays with UMED1." {
		t.Errorf("same mediator: %q", r.Text)
	}
	msgs, err := e.db.OutboxDue(context.Background(), e.now.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	to := map[string]bool{}
	for _, m := range msgs {
		if m.Kind == casebot.OutSlack && m.CaseID == x && strings.Contains(m.Text, "You are now the mediator of "+x) {
			to[m.To] = true
		}
	}
	for _, u := range []string{uOther, "UMED3", uMed} {
		if !to[u] {
			t.Errorf("no assignment notice to %s in %+v", u, msgs)
		}
	}

	// Nobody free of conflict: the only mediator has the party elsewhere.
	e2 := newEnv(t)
	p := e2.newCase(uMed, "P")
	q := e2.newCase(uMed, "Q")
	e2.must(uMed, "party add "+p+" claimant Pat Party pat@x.example")
	e2.must(uMed, "party add "+q+" claimant Pat Party pat@x.example")
	r = e2.refused(uAdmin, "assign "+p+" auto", casebot.ECONFLICT)
	if !strings.HasPrefix(r.Text, "No mediator without a conflict is available for "+p) {
		t.Errorf("no candidate: %q", r.Text)
	}
}

func TestList(t *testing.T) {
	e := newEnv(t)
	low := e.newCase(uMed, "Lowly --priority low")
	hot := e.newCase(uMed, "Hot --priority urgent")
	done := e.newCase(uMed, "Finished")
	e.must(uMed, "close "+done+" withdrawn")
	theirs := e.newCase(uOther, "Theirs")
	e.must(uMed, "deadline "+low+" +1h Call back")

	r := e.must(uMed, "list")
	if i, j := strings.Index(r.Text, hot), strings.Index(r.Text, low); i < 0 || j < 0 || i > j || strings.Contains(r.Text, done) || strings.Contains(r.Text, theirs) {
		t.Errorf("list mine:\n%s", r.Text)
	}
	if !strings.Contains(r.Text, low+"  [low] intake  Lowly  (next: 2026-03-02 11:00 UTC Call back)") {
		t.Errorf("list line:\n%s", r.Text)
	}
	if r := e.must(uMed, "list closed"); !strings.Contains(r.Text, done) || strings.Contains(r.Text, hot) {
		t.Errorf("list closed:\n%s", r.Text)
	}
	if r := e.must(uMed, "list all"); !strings.Contains(r.Text, done) || strings.Contains(r.Text, theirs) {
		t.Errorf("mediator list all:\n%s", r.Text)
	}
	if r := e.must(uAdmin, "list all"); !strings.Contains(r.Text, theirs) || !strings.Contains(r.Text, done) {
		t.Errorf("admin list all:\n%s", r.Text)
	}
	if r := e.must(uStranger, "list all"); r.Text != "No cases." {
		t.Errorf("stranger list all: %q", r.Text)
	}
	e.now = e.now.Add(2 * time.Hour)
	if r := e.must(uMed, "list overdue"); !strings.Contains(r.Text, low+"  [low] #1 due 2026-03-02 11:00 UTC  Call back") {
		t.Errorf("list overdue:\n%s", r.Text)
	}
	if r := e.must(uOther, "list overdue"); r.Text != "No overdue deadlines." {
		t.Errorf("other's overdue: %q", r.Text)
	}
	if r := e.must(uMed, "list"); !strings.Contains(r.Text, "(OVERDUE: 2026-03-02 11:00 UTC Call back)") {
		t.Errorf("list does not flag the overdue deadline:\n%s", r.Text)
	}
}

func TestSearchOnlyVisibleCases(t *testing.T) {
	e := newEnv(t)
	mine := e.newCase(uMed, "Mine")
	theirs := e.newCase(uOther, "Theirs")
	e.must(uMed, "note "+mine+" rent arrears of March")
	e.must(uOther, "note "+theirs+" rent arrears of April")
	theirAudit := len(e.audit(theirs))

	r := e.must(uMed, "search RENT arrears")
	if !strings.Contains(r.Text, mine) || strings.Contains(r.Text, theirs) || strings.Contains(r.Text, "April") {
		t.Errorf("mediator search:\n%s", r.Text)
	}
	if a := e.audit(mine); a[len(a)-1].Action != "view" || a[len(a)-1].About.Text != `notes matching "RENT arrears"` || a[len(a)-1].Actor != uMed {
		t.Errorf("search not audited as a view: %+v", a[len(a)-1])
	}
	if n := len(e.audit(theirs)); n != theirAudit {
		t.Errorf("search audited a case it did not show")
	}
	if r := e.must(uStranger, "search rent"); r.Text != "No notes match." {
		t.Errorf("stranger search: %q", r.Text)
	}
	if r := e.must(uAdmin, "search rent"); !strings.Contains(r.Text, mine) || !strings.Contains(r.Text, theirs) {
		t.Errorf("admin search:\n%s", r.Text)
	}
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	a := e.newCase(uMed, "A --priority high")
	e.newCase(uMed, "B")
	e.newCase(uOther, "C")
	e.now = e.now.Add(72 * time.Hour)
	e.must(uMed, "close "+a+" settled")

	r := e.must(uMed, "stats")
	for _, want := range []string{"(your cases)", "Open: 1", "Closed: 1", "Settlement rate: 100%", "Median days to close: 3.0"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("mediator stats lacks %q:\n%s", want, r.Text)
		}
	}
	r = e.must(uAdmin, "stats")
	for _, want := range []string{"(all cases)", "Open: 2", "intake: 2", "Closed: 1"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("admin stats lacks %q:\n%s", want, r.Text)
		}
	}
	if r := e.must(uStranger, "stats"); !strings.Contains(r.Text, "Open: 0") {
		t.Errorf("stranger stats:\n%s", r.Text)
	}
}

// Times are read and shown in the actor's zone.
func TestActorZone(t *testing.T) {
	e := newEnv(t)
	e.loc[uMed] = testLoc
	id := e.newCase(uMed, "Zoned")
	e.must(uMed, "deadline "+id+" 2026-12-01 14:30 Papers")
	if due := e.getCase(id).Deadlines[0].Due; !due.Equal(time.Date(2026, 12, 1, 13, 30, 0, 0, time.UTC)) {
		t.Errorf("due %v, want 13:30 UTC", due)
	}
	if r := e.must(uMed, "show "+id); !strings.Contains(r.Text, "2026-12-01 14:30 CET  Papers") {
		t.Errorf("mediator's show:\n%s", r.Text)
	}
	if r := e.must(uAdmin, "show "+id); !strings.Contains(r.Text, "2026-12-01 13:30 UTC  Papers") {
		t.Errorf("admin's show:\n%s", r.Text)
	}
}

// Every bad input is refused with a clear message and stores nothing.
func TestRefusalsStoreNothing(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Target")
	e.must(uMed, "party add "+id+" claimant Carl carl@x.example")
	e.must(uMed, "deadline "+id+" +1d Papers")
	tests := []struct{ user, text, code, msg string }{
		{uMed, "party add {ID} claimant Bob bob@", casebot.EINVALID, `"bob@" is not a valid email address.`},
		{uMed, "party add {ID} judge Bob bob@x.example", casebot.EINVALID, `"judge" is not a role`},
		{uMed, "party add {ID} claimant Carl Again carl@x.example", casebot.ECONFLICT, "carl@x.example is already a party of {ID}."},
		{uMed, "party remove {ID} nobody@x.example", casebot.EINVALID, "nobody@x.example is not a party of {ID}."},
		{uMed, "new " + strings.Repeat("t", 201), casebot.EINVALID, "The title is 201 characters; at most 200 are allowed."},
		{uMed, "new T --priority asap", casebot.EINVALID, `"asap" is not a priority`},
		{uMed, "deadline {ID} 2020-01-01 Old", casebot.EINVALID, "2020-01-01 09:00 UTC is in the past."},
		{uMed, "session {ID} 2020-01-01 2h Old", casebot.EINVALID, "2020-01-01 09:00 UTC is in the past."},
		{uMed, "session {ID} +1d forever Opening", casebot.EINVALID, `"forever" is not a duration`},
		{uMed, "close {ID}", casebot.EINVALID, "Missing <outcome>."},
		{uMed, "close {ID} won", casebot.EINVALID, `"won" is not an outcome`},
		{uMed, "status {ID} settled", casebot.EINVALID, "settled closes a case; use close"},
		{uMed, "status {ID} pending", casebot.EINVALID, `"pending" is not a status`},
		{uMed, "status {ID} intake", casebot.ECONFLICT, "{ID} is already intake."},
		{uMed, "done {ID} 7", casebot.EINVALID, "{ID} has no deadline #7."},
		{uMed, "note {ID}", casebot.EINVALID, "Missing <text>."},
		{uMed, "assign {ID} auto", casebot.EFORBIDDEN, "Only admins may use assign."},
		{uMed, "show MED-2026-0999", casebot.EFORBIDDEN, "You have no case MED-2026-0999."},
		{uAdmin, "show MED-2026-0999", casebot.ENOTFOUND, "no such case: MED-2026-0999"},
		{uAdmin, "note MED-2026-0999 hello", casebot.ENOTFOUND, "no such case: MED-2026-0999"},
		{uMed, "email {ID} hi", casebot.EUNAVAIL, "email is not configured on this casebot."},
	}
	for _, tt := range tests {
		text := strings.ReplaceAll(tt.text, "{ID}", id)
		t.Run(text, func(t *testing.T) {
			before := e.snap(id)
			r := e.refused(tt.user, text, tt.code)
			if msg := strings.ReplaceAll(tt.msg, "{ID}", id); !strings.HasPrefix(r.Text, msg) {
				t.Errorf("reply %q, want it to start with %q", r.Text, msg)
			}
			if after := e.snap(id); !reflect.DeepEqual(before, after) {
				t.Errorf("refused command stored something:\n before %+v\n after  %+v", before, after)
			}
		})
	}
}
