package bot

import (
	"reflect"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// After purge, none of show, search, conflicts or timeline shows the
// purged content; stats still count the case.
func TestPurgeCommand(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uAdmin, "Zorblax dispute --mediator "+uMed)
	e.must(uMed, "party add "+id+" claimant \"Quentin Zorblax\" zorblax@x.example")
	e.must(uMed, "deadline "+id+" +3d Zorblax papers")
	e.must(uMed, "note "+id+" the zorblaxnote text")
	keep := e.newCase(uMed, "Other case")
	e.must(uMed, "note "+keep+" zorblaxnote in another case")
	e.must(uMed, "close "+id+" settled paid by Zorblax")

	rep := e.must(uAdmin, "purge "+id)
	if !strings.Contains(rep.Text, "Purged "+id) || !strings.Contains(rep.Text, "1 note, 1 party, 1 deadline and 0 sessions destroyed") {
		t.Errorf("purge reply = %q", rep.Text)
	}
	for _, text := range []string{"show " + id, "timeline " + id, "search zorblaxnote", "conflicts Zorblax", "conflicts zorblax@x.example"} {
		got := e.must(uAdmin, text).Text
		low := strings.ReplaceAll(strings.ToLower(got), strings.ToLower(strings.SplitN(text, " ", 2)[1]), "") // queries are echoed
		if strings.Contains(low, "zorblax@") || strings.Contains(low, "quentin") || (strings.Contains(low, "zorblax") && !strings.HasPrefix(text, "conflicts") && !strings.HasPrefix(text, "search")) {
			t.Errorf("%s shows purged content:\n%s", text, got)
		}
		if strings.HasPrefix(text, "search") && strings.Contains(got, id) {
			t.Errorf("search finds the purged case:\n%s", got)
		}
		if strings.HasPrefix(text, "conflicts") && strings.Contains(got, id) {
			t.Errorf("%s finds the purged case:\n%s", text, got)
		}
	}
	if show := e.must(uAdmin, "show "+id).Text; !strings.Contains(show, "Purged ") || !strings.Contains(show, "Status settled") {
		t.Errorf("show after purge = %q; want the purge and the statistics record", show)
	}
	if s := e.must(uAdmin, "search zorblaxnote").Text; !strings.Contains(s, keep) {
		t.Errorf("search lost the other case:\n%s", s)
	}
	purged := false
	for _, ev := range e.audit(id) {
		purged = purged || ev.Action == "case.purge" && ev.Actor == uAdmin
		if strings.Contains(strings.ToLower(ev.Detail+ev.Actor), "zorblax") {
			t.Errorf("audit event keeps content: %+v", ev)
		}
	}
	if !purged {
		t.Error("no case.purge event by the admin")
	}
	if st := e.must(uAdmin, "stats").Text; !strings.Contains(st, "1") {
		t.Errorf("stats = %q", st)
	}
	e.refused(uAdmin, "hold "+id, casebot.ECONFLICT)
	e.refused(uAdmin, "status "+id+" active", casebot.ECONFLICT)
}

// Each bad purge is a clear refusal that changes nothing.
func TestPurgeRefused(t *testing.T) {
	e := newEnv(t)
	open := e.newCase(uAdmin, "Open one --mediator "+uMed)
	held := e.newCase(uAdmin, "Held one --mediator "+uMed)
	e.must(uMed, "close "+held+" impasse")
	if got := e.must(uAdmin, "hold "+held).Text; !strings.Contains(got, "on hold") {
		t.Errorf("hold reply = %q", got)
	}
	if show := e.must(uAdmin, "show "+held).Text; !strings.Contains(show, "On hold") {
		t.Errorf("show of a held case lacks the hold:\n%s", show)
	}
	for _, tt := range []struct {
		name, user, text, code, says string
	}{
		{"open", uAdmin, "purge " + open, casebot.ECONFLICT, "only a closed case can be purged"},
		{"held", uAdmin, "purge " + held, casebot.ECONFLICT, "is on hold"},
		{"missing", uAdmin, "purge MED-2026-0999", casebot.ENOTFOUND, "MED-2026-0999"},
		{"mediator", uMed, "purge " + held, casebot.EFORBIDDEN, "Only admins"},
		{"stranger", uStranger, "purge " + held, casebot.EFORBIDDEN, "Only admins"},
		{"mediator hold off", uMed, "hold " + held + " off", casebot.EFORBIDDEN, "Only admins"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snap(held)
			beforeOpen := e.snap(open)
			got := e.refused(tt.user, tt.text, tt.code)
			if !strings.Contains(got.Text, tt.says) {
				t.Errorf("reply %q, want it to say %q", got.Text, tt.says)
			}
			if !reflect.DeepEqual(before, e.snap(held)) || !reflect.DeepEqual(beforeOpen, e.snap(open)) {
				t.Error("a refused purge changed the store")
			}
		})
	}
	e.must(uAdmin, "hold "+held+" off")
	e.refused(uAdmin, "hold "+held+" off", casebot.ECONFLICT)
	e.must(uAdmin, "purge "+held)
	var actions []string
	for _, ev := range e.audit(held) {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, " "); got != "case.create case.close case.hold view case.release case.purge" {
		t.Errorf("audit trail = %s", got)
	}
}
