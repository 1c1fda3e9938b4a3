package mail_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
)

// A session's agenda is in its invitation's text and its .ics DESCRIPTION
// (parsed back with go-ical), and in the parties' reminder; an invitation
// sent again for the agenda says so.
func TestAgendaInInvitationAndReminder(t *testing.T) {
	a, err := mail.NewAddressing("casebot@practice.example")
	if err != nil {
		t.Fatal(err)
	}
	k := &mail.Composer{Addr: a, Loc: time.UTC}
	c := &casebot.Case{ID: "MED-2026-0007", Title: "Lease dispute", Parties: []casebot.Party{
		{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}}}
	made := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s := casebot.Session{N: 1, Title: "Opening", Start: time.Date(2026, 3, 20, 14, 30, 0, 0, time.UTC), Duration: 2 * time.Hour,
		Created: made, Agenda: []string{"Opening statements", "Rent arrears, façade repairs"}}
	msgs, err := k.Invitation(c, s, casebot.MethodRequest)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Invitation = %v, %v", msgs, err)
	}
	if !strings.Contains(msgs[0].Text, "Agenda:\n1. Opening statements\n2. Rent arrears, façade repairs\n") {
		t.Errorf("invitation text lacks the agenda:\n%s", msgs[0].Text)
	}
	if !strings.HasPrefix(msgs[0].Subject, "[MED-2026-0007] Invitation: Opening") {
		t.Errorf("subject %q", msgs[0].Subject)
	}
	cal, err := ical.NewDecoder(bytes.NewReader(msgs[0].Calendar)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	desc, err := evs[0].Props.Text(ical.PropDescription)
	if err != nil || desc != "Agenda:\n1. Opening statements\n2. Rent arrears, façade repairs\n" {
		t.Errorf("DESCRIPTION = %q, %v", desc, err)
	}

	// Sent again for the agenda: SEQUENCE raised, worded as an update.
	s.Sequence, s.AgendaChanged = 1, made.Add(time.Hour)
	msgs, err = k.Invitation(c, s, casebot.MethodRequest)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Invitation = %v, %v", msgs, err)
	}
	if !strings.HasPrefix(msgs[0].Subject, "[MED-2026-0007] Updated agenda: Opening") || !strings.Contains(msgs[0].Text, "has changed") {
		t.Errorf("update: %q\n%s", msgs[0].Subject, msgs[0].Text)
	}
	cal, err = ical.NewDecoder(bytes.NewReader(msgs[0].Calendar)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := cal.Events()[0].Props.Get(ical.PropSequence).Int(); err != nil || seq != 1 {
		t.Errorf("SEQUENCE = %d, %v", seq, err)
	}
	// Moved after the agenda changed: a reschedule again.
	s.Sequence, s.Moved = 2, made.Add(2*time.Hour)
	msgs, _ = k.Invitation(c, s, casebot.MethodRequest)
	if !strings.Contains(msgs[0].Subject, "Rescheduled: Opening") {
		t.Errorf("a move after the agenda change reads %q", msgs[0].Subject)
	}

	rem, err := k.SessionReminder(c, s, 24*time.Hour, "rem/x")
	if err != nil || len(rem) != 1 || !strings.Contains(rem[0].Text, "Agenda:\n1. Opening statements\n2. Rent arrears") {
		t.Errorf("reminder lacks the agenda: %+v, %v", rem, err)
	}
}
