package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	gomail "github.com/emersion/go-message/mail"

	"github.com/casebot/casebot/internal/testserver"
)

// calendarOf returns the iCalendar event of a received invitation.
func calendarOf(t *testing.T, raw []byte) (method string, ev *ical.Event) {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ct := p.Header.Get("Content-Type")
		if !strings.HasPrefix(ct, "text/calendar") && !strings.HasPrefix(ct, "application/ics") {
			continue
		}
		cal, err := ical.NewDecoder(p.Body).Decode()
		if err != nil {
			t.Fatalf("calendar part: %v", err)
		}
		m, _ := cal.Props.Text(ical.PropMethod)
		evs := cal.Events()
		if len(evs) != 1 {
			t.Fatalf("calendar has %d events", len(evs))
		}
		return m, &evs[0]
	}
	t.Fatalf("no calendar part in:\n%s", raw)
	return "", nil
}

// Sessions through the whole daemon with SMTP on: scheduling invites every
// party, rescheduling sends the same UID with a higher SEQUENCE, cancelling
// sends METHOD:CANCEL, and a bouncing address gets nothing until cleared.
func TestDaemonSessionInvitations(t *testing.T) {
	sink := testserver.NewSMTP(t, testserver.SMTPOptions{})
	cfgPath, _ := testConfig(t, fmt.Sprintf("[smtp]\naddr = %q\ntls = \"none\"\nfrom = \"Mediation Office <cases@practice.example>\"\n", sink.Addr()))
	rd := startDaemon(t, cfgPath)
	ctx := context.Background()
	run := func(text string) string { t.Helper(); return rd.must(t, "U1", text) }
	id := regexp.MustCompile(`MED-\d{4}-\d{4}`).FindString(run("new Lease dispute"))
	run("party add " + id + " claimant \"Ann Lee\" ann@example.com")
	run("party add " + id + " respondent \"Bo Ray\" bo@example.com")

	if got := run("session " + id + " \"2030-03-01 10:00\" 2h Opening --where \"Room 4\""); !strings.Contains(got, "Invitations are on their way to 2 parties") {
		t.Fatalf("session replied %q", got)
	}
	waitFor(t, "two invitations", func() bool { return len(sink.Messages()) == 2 })
	method, ev := calendarOf(t, sink.Messages()[0].Data)
	uid, _ := ev.Props.Text(ical.PropUID)
	start, err := ev.DateTimeStart(nil)
	if method != "REQUEST" || uid == "" || start.UTC().Format("2006-01-02 15:04") != "2030-03-01 10:00" {
		t.Fatalf("invitation: method %q uid %q start %v (%v)", method, uid, start, err)
	}

	run("reschedule " + id + " 1 \"2030-03-02 14:00\"")
	waitFor(t, "two updated invitations", func() bool { return len(sink.Messages()) == 4 })
	method, ev = calendarOf(t, sink.Messages()[2].Data)
	uid2, _ := ev.Props.Text(ical.PropUID)
	seq := propValue(ev, ical.PropSequence)
	start, _ = ev.DateTimeStart(nil)
	end, _ := ev.DateTimeEnd(nil)
	if method != "REQUEST" || uid2 != uid || seq != "1" || start.UTC().Format("2006-01-02 15:04") != "2030-03-02 14:00" || end.Sub(start).Hours() != 2 {
		t.Fatalf("update: method %q uid %q (want %q) sequence %q start %v end %v", method, uid2, uid, seq, start, end)
	}

	// Bo's address bounces: the cancellation goes to Ann only, until cleared.
	if _, err := rd.d.DB.FlagBouncing(ctx, "bo@example.com", id, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	run("cancel " + id + " 1")
	waitFor(t, "one cancellation", func() bool { return len(sink.Messages()) == 5 })
	method, ev = calendarOf(t, sink.Messages()[4].Data)
	seq = propValue(ev, ical.PropSequence)
	if method != "CANCEL" || seq != "2" || !bytes.Contains(sink.Messages()[4].Data, []byte("ann@example.com")) {
		t.Fatalf("cancellation: method %q sequence %q", method, seq)
	}
	if rep := rd.d.Command(ctx, "U1", "reschedule "+id+" 1 +3d"); rep.Err == nil || !strings.Contains(rep.Text, "cancelled") {
		t.Fatalf("rescheduling a cancelled session: %q", rep.Text)
	}
	if rep := rd.d.Command(ctx, "U2", "cancel "+id+" 1"); rep.Err == nil || rep.Text != strings.ReplaceAll(rd.d.Command(ctx, "U2", "cancel MED-2030-9999 1").Text, "MED-2030-9999", id) {
		t.Fatalf("another mediator's cancel was not refused like a missing case: %q", rep.Text)
	}
	run("party clear " + id + " bo@example.com")
	if rep := rd.d.Command(ctx, "U1", "party clear "+id+" bo@example.com"); rep.Err == nil {
		t.Fatal("clearing an address that is not bouncing succeeded")
	}
	run("email " + id + " The session is off; we will propose new dates.")
	waitFor(t, "mail to both parties again", func() bool { return len(sink.Messages()) == 7 })
}

// propValue returns the raw value of an event property, "" when absent.
func propValue(ev *ical.Event, name string) string {
	if p := ev.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}
