package bot

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
)

// realComposer is the mail package's Composer, as the daemon wires it.
func realComposer(t testing.TB) *mail.Composer {
	t.Helper()
	a, err := mail.NewAddressing("cases@practice.example")
	if err != nil {
		t.Fatal(err)
	}
	return &mail.Composer{Addr: a, Loc: time.UTC}
}

// outboxKeys returns the keys of the messages queued for case id.
func (e *env) outboxFor(id string) []casebot.OutMessage {
	e.t.Helper()
	msgs, err := e.db.OutboxDue(context.Background(), e.now.Add(365*24*time.Hour), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []casebot.OutMessage
	for _, m := range msgs {
		if m.CaseID == id {
			out = append(out, m)
		}
	}
	return out
}

// drain marks every queued message delivered.
func (e *env) drain() {
	e.t.Helper()
	for {
		msgs, err := e.db.OutboxDue(context.Background(), e.now.Add(365*24*time.Hour), 0)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if err := e.db.OutboxDone(context.Background(), m.ID); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

func TestAgenda(t *testing.T) {
	k := realComposer(t)
	e := newEnvWith(t, func(c *Config) { c.Mail = k })
	id := e.newCase(uMed, "Lease")
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	e.must(uMed, "session "+id+" +14d 2h Opening")
	e.must(uMed, "session "+id+" +3d 2h Near")
	e.drain()
	e.now = e.now.Add(time.Minute)

	// Two weeks off: stored, no mail; the next reminder carries it.
	r := e.must(uMed, "agenda "+id+" 1 add Opening statements")
	if !strings.Contains(r.Text, "next reminder") {
		t.Errorf("reply %q", r.Text)
	}
	e.must(uMed, "agenda "+id+" 1 add Arrears")
	e.must(uMed, "agenda "+id+" 1 add Repairs")
	e.must(uMed, "agenda "+id+" 1 remove 2")
	if got := e.getCase(id).Sessions[0]; !reflect.DeepEqual(got.Agenda, []string{"Opening statements", "Repairs"}) || got.Sequence != 0 {
		t.Errorf("session 1: agenda %q, sequence %d", got.Agenda, got.Sequence)
	}
	if msgs := e.outboxFor(id); len(msgs) != 0 {
		t.Errorf("an agenda change two weeks ahead mailed %v", msgs)
	}
	if show := e.must(uMed, "show "+id); !strings.Contains(show.Text, "1) Opening statements\n") || !strings.Contains(show.Text, "2) Repairs\n") {
		t.Errorf("show lacks the agenda:\n%s", show.Text)
	}
	if l := e.must(uMed, "agenda "+id+" 1"); !strings.Contains(l.Text, "1. Opening statements\n  2. Repairs") {
		t.Errorf("agenda list:\n%s", l.Text)
	}

	// Three days off: an updated invitation at once, SEQUENCE raised.
	r = e.must(uMed, "agenda "+id+" 2 add Settlement options")
	if !strings.Contains(r.Text, "updated invitations") {
		t.Errorf("reply %q", r.Text)
	}
	s := e.getCase(id).Sessions[1]
	msgs := e.outboxFor(id)
	if s.Sequence != 1 || len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "Updated agenda: Near") ||
		!strings.Contains(string(msgs[0].Calendar), "SEQUENCE:1") || !strings.Contains(string(msgs[0].Calendar), "Settlement options") {
		t.Errorf("sequence %d, mail %+v", s.Sequence, msgs)
	}

	// Bad input: no such item, no such session; nothing changes.
	before := e.snap(id)
	e.refused(uMed, "agenda "+id+" 1 remove 7", casebot.EINVALID)
	e.refused(uMed, "agenda "+id+" 9 add Something", casebot.EINVALID)
	e.refused(uMed, "agenda "+id+" 1 frobnicate", casebot.EINVALID)
	if after := e.snap(id); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused agenda change stored something")
	}
}
