package bot

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// Offers are logged per side, closed, listed, in the (sealed) audit trail,
// never queued as an email, and close settled names the accepted one.
func TestOffers(t *testing.T) {
	e := newEnv(t)
	id := e.newCase(uMed, "Rent")
	e.must(uMed, "party add "+id+" claimant Carl Claimant carl@x.example")
	e.must(uMed, "party add "+id+" respondent Rita Respondent rita@x.example")
	if r := e.must(uMed, "offer "+id); !strings.Contains(r.Text, "has no offers") {
		t.Errorf("empty list: %q", r.Text)
	}
	e.must(uMed, "offer "+id+" claimant 12000 and costs")
	e.must(uMed, "offer "+id+" respondent 8000 in two instalments")
	r := e.must(uMed, "offer "+id+" 2 accepted")
	if r.Text != "Offer #2 of "+id+" (from the respondent) is accepted." {
		t.Errorf("close reply %q", r.Text)
	}
	e.must(uMed, "offer "+id+" 1 withdrawn")
	l := e.must(uMed, "offer "+id)
	for _, want := range []string{"#1 ", "claimant: 12000 and costs  [withdrawn", "#2 ", "respondent: 8000 in two instalments  [accepted"} {
		if !strings.Contains(l.Text, want) {
			t.Errorf("list lacks %q:\n%s", want, l.Text)
		}
	}

	// Bad input: a side with no party, an unknown status, a missing offer,
	// closing twice; nothing changes.
	before := e.snap(id)
	offers, _ := e.db.Offers(context.Background(), id)
	for _, tt := range []struct{ text, code, says string }{
		{"offer " + id + " interpreter 5000", casebot.EINVALID, "has no interpreter"},
		{"offer " + id + " mediator 5000", casebot.EINVALID, "not a role"},
		{"offer " + id + " 1 maybe", casebot.EINVALID, "not one of accepted, rejected, withdrawn"},
		{"offer " + id + " 9 rejected", casebot.EINVALID, "has no offer #9"},
		{"offer " + id + " 2 rejected", casebot.ECONFLICT, "accepted already"},
	} {
		r := e.refused(uMed, tt.text, tt.code)
		if !strings.Contains(r.Text, tt.says) {
			t.Errorf("%q: %q lacks %q", tt.text, r.Text, tt.says)
		}
	}
	if after := e.snap(id); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused offer changed the case")
	}
	if again, _ := e.db.Offers(context.Background(), id); !reflect.DeepEqual(offers, again) {
		t.Errorf("a refused offer changed the offers")
	}

	r = e.must(uMed, "close "+id+" settled in mediation")
	if !strings.Contains(r.Text, "accepted offer #2 from the respondent") {
		t.Errorf("close reply %q does not name the accepted offer", r.Text)
	}
	c := e.getCase(id)
	if c.Status != casebot.StatusSettled || c.OutcomeText != "in mediation; accepted offer #2 from the respondent" || strings.Contains(c.OutcomeText, "8000") {
		t.Errorf("closing record %q (%s)", c.OutcomeText, c.Status)
	}
	var actions []string
	for _, ev := range e.audit(id) {
		actions = append(actions, ev.Action)
		if ev.Action == "case.close" && !strings.Contains(ev.Detail, "8000 in two instalments") {
			t.Errorf("the close event's (sealed) detail %q does not name the terms", ev.Detail)
		}
	}
	for _, want := range []string{"offer.add", "offer.close", "case.close"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit trail %v lacks %s", actions, want)
		}
	}
	msgs, err := e.db.OutboxDue(context.Background(), e.now.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(m.Text, "8000") || strings.Contains(m.Text, "12000") {
			t.Errorf("an outbox message carries offer terms: %+v", m)
		}
	}
}
