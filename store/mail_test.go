package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/casebot/casebot"
)

func emailNote(caseID, from, body, msgID string) *casebot.Note {
	return &casebot.Note{CaseID: caseID, Author: from, Source: casebot.SourceEmail, Body: body,
		Email: &casebot.EmailMeta{From: from, Subject: "Re: [" + caseID + "] hello", MessageID: msgID, FullText: body, Raw: []byte("raw " + body)}}
}

func TestIngestNotesDedupeAndState(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 7, LastUID: 3, NoticeFeed: true, Items: []casebot.MailItem{
		{UID: 1, DedupeKey: "a", Note: emailNote(c.ID, "ann@example.com", "first", "m1@x")},
		{UID: 2, DedupeKey: "a", Note: emailNote(c.ID, "ann@example.com", "first", "m1@x")}, // same message again
		{UID: 3, DedupeKey: "b", Note: emailNote(c.ID, "eve@example.com", "sneaky", "m2@x")},
	}}
	res, err := db.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{casebot.OutcomeNote, casebot.OutcomeDuplicate, casebot.OutcomeQuarantine}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("item %d: outcome %s, want %s", i, r.Outcome, want[i])
		}
	}
	// The whole batch again (a crash before \Seen, or a UIDVALIDITY resync) stores nothing new.
	b.UIDValidity, b.LastUID = 8, 2
	res, err = db.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome != casebot.OutcomeDuplicate {
			t.Errorf("again, item %d: outcome %s, want duplicate", i, r.Outcome)
		}
	}
	notes, err := db.Notes(ctx, c.ID)
	if err != nil || len(notes) != 1 || notes[0].Body != "first" || notes[0].Email == nil || string(notes[0].Email.Raw) != "raw first" {
		t.Fatalf("notes = %+v, %v; want the one note with its raw message", notes, err)
	}
	st, err := db.MailState(ctx, "INBOX")
	if err != nil || st != (casebot.MailState{UIDValidity: 8, LastUID: 2}) {
		t.Fatalf("state = %+v, %v; want validity 8, last 2", st, err)
	}
	if err := db.MailDone(ctx, "INBOX", 8, 2); err != nil {
		t.Fatal(err)
	}
	if st, _ := db.MailState(ctx, "INBOX"); st.DoneUID != 2 {
		t.Fatalf("DoneUID = %d, want 2", st.DoneUID)
	}
	if n, err := db.FeedNotices(ctx, 16); err != nil || n != 1 {
		t.Fatalf("FeedNotices = %d, %v; want the one note's notice", n, err)
	}
	due, err := db.OutboxDue(ctx, db.now().Add(1), 0)
	if err != nil || len(due) != 1 || due[0].To != "U1" || due[0].Notice == nil || due[0].Notice.Kind != casebot.NoticeEmailNote ||
		due[0].Notice.CaseID != c.ID || due[0].Notice.N != 1 {
		t.Fatalf("outbox = %+v, %v; want one notice to the mediator", due, err)
	}
	q, err := db.Quarantine(ctx, false)
	if err != nil || len(q) != 1 || q[0].CaseID != c.ID || q[0].From != "eve@example.com" || q[0].Subject == "" {
		t.Fatalf("quarantine = %+v, %v", q, err)
	}
	mustCheck(t, db, "ingest")
}

func TestAcceptRejectMail(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1")
	res, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 2, Items: []casebot.MailItem{
		{UID: 1, DedupeKey: "x", Quarantine: &casebot.Quarantined{Reason: "matched no case", From: "zed@example.com", Subject: "hi", Body: "hello there",
			Email: &casebot.EmailMeta{From: "zed@example.com", Raw: []byte("RAW")}}},
		{UID: 2, DedupeKey: "y", Quarantine: &casebot.Quarantined{Reason: "matched no case", From: "spam@example.com", CaseID: c.ID, Body: "buy"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := res[0].Mail, res[1].Mail
	note, err := db.AcceptMail(ctx, n1, c.ID, "U1", nil, true)
	if err != nil || note.N != 1 || note.Author != "zed@example.com" || note.Body != "hello there" || string(note.Email.Raw) != "RAW" {
		t.Fatalf("accept = %+v, %v", note, err)
	}
	if due, _ := db.OutboxDue(ctx, db.now().Add(1), 0); len(due) != 1 || due[0].Key != fmt.Sprintf("email-note/%s/1", c.ID) || due[0].To != "U1" {
		t.Fatalf("outbox = %+v; want the note's notice", due)
	}
	if _, err := db.AcceptMail(ctx, n1, c.ID, "U1", nil, false); casebot.ErrorCode(err) != casebot.ECONFLICT {
		t.Fatalf("second accept: %v, want ECONFLICT", err)
	}
	if err := db.RejectMail(ctx, n2, "U1", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.RejectMail(ctx, 99, "U1", nil); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Fatalf("reject unknown: %v, want ENOTFOUND", err)
	}
	all, _ := db.Quarantine(ctx, true)
	if len(all) != 2 || all[0].State != casebot.QuarantineAccepted || all[0].Note != c.ID+"#1" || all[1].State != casebot.QuarantineRejected {
		t.Fatalf("quarantine = %+v", all)
	}
	if pending, _ := db.Quarantine(ctx, false); len(pending) != 0 {
		t.Fatalf("pending = %+v, want none", pending)
	}
	if q, _ := db.QuarantineItem(ctx, n2); q.Body != "" || q.Email != nil {
		t.Fatalf("rejected item keeps its body: %+v", q)
	}
	ev, _ := db.Audit(ctx, c.ID)
	var actions []string
	for _, e := range ev {
		actions = append(actions, e.Action)
	}
	if len(actions) != 3 || actions[1] != "mail.accept" || actions[2] != "mail.reject" {
		t.Fatalf("audit = %v", actions)
	}
}

func TestBounceFlagsParty(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	ann := casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	c1 := newCase(t, db, "One", "U1", ann)
	c2 := newCase(t, db, "Two", "U2", ann)
	res, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1, Items: []casebot.MailItem{
		{UID: 1, DedupeKey: "bounce1", Bounce: []string{"ANN@example.com"}},
	}})
	if err != nil || res[0].Outcome != casebot.OutcomeBounce {
		t.Fatalf("ingest = %+v, %v", res, err)
	}
	for _, id := range []string{c1.ID, c2.ID} {
		c, _ := db.Case(ctx, id)
		if !c.Parties[0].Bouncing {
			t.Errorf("%s: party not flagged bouncing", id)
		}
	}
	due, _ := db.OutboxDue(ctx, db.now().Add(1), 0)
	if len(due) != 2 {
		t.Fatalf("outbox = %+v, want a notice to each mediator", due)
	}
	for _, m := range due {
		if n := m.Notice; n == nil || n.Kind != casebot.NoticeBounce || n.Party != "ann@example.com" || n.Reason != "delivery failure report" ||
			m.To != map[string]string{c1.ID: "U1", c2.ID: "U2"}[n.CaseID] {
			t.Errorf("bounce notice %+v: %+v", m, n)
		}
	}
	// Flagging again changes nothing and tells nobody twice.
	ids, err := db.FlagBouncing(ctx, "ann@example.com", "", "again")
	if err != nil || len(ids) != 0 {
		t.Fatalf("FlagBouncing again = %v, %v", ids, err)
	}
	mustCheck(t, db, "bounce")
}

// With a key, ingested email bodies, raw messages, attachments and
// quarantined mail leave no plaintext in the file.
func TestMailEncryptedAtRest(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		var key []byte
		if keyed {
			key = make([]byte, 32)
			_, _ = rand.Read(key)
		}
		path := filepath.Join(t.TempDir(), "casebot.db")
		db := openAt(t, path, newClock(), Options{EncryptionKey: key})
		c := newCase(t, db, "Lease", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
		n := emailNote(c.ID, "ann@example.com", "BODYMARKERq7", "m@x")
		n.Email.Raw = []byte("RAWMARKERz3")
		n.Email.Attachments = []casebot.Attachment{{Name: "a.txt", Content: []byte("ATTACHMARKERw2")}}
		_, err := db.Ingest(context.Background(), casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 2, Items: []casebot.MailItem{
			{UID: 1, DedupeKey: "1", Note: n},
			{UID: 2, DedupeKey: "2", Quarantine: &casebot.Quarantined{Reason: "r", From: "x@y.z", Subject: "SUBJMARKERk9", Body: "QBODYMARKERp4"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := readStore(t, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"BODYMARKERq7", "RAWMARKERz3", "ATTACHMARKERw2", "SUBJMARKERk9", "QBODYMARKERp4"} {
			if found(raw, m) == keyed {
				t.Errorf("keyed=%v: marker %s found=%v", keyed, m, !keyed)
			}
		}
	}
}

// A batch with several notes queues a notice for each (SPEC §6), in
// order; the audit trail gets one event per case, sender and subject,
// naming the sender's notes and the subject.
func TestIngestNoticePerNoteAuditPerSender(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	ann := casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	bob := casebot.Party{Role: casebot.RoleRespondent, Name: "Bob", Email: "bob@example.com"}
	c1 := newCase(t, db, "Lease", "U1", ann, bob)
	c2 := newCase(t, db, "Fence", "U2", ann)
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 5, NoticeFeed: true, Items: []casebot.MailItem{
		{UID: 1, DedupeKey: "a", Note: emailNote(c1.ID, "ann@example.com", "one", "m1@x")},
		{UID: 2, DedupeKey: "b", Note: emailNote(c2.ID, "ann@example.com", "two", "m2@x")},
		{UID: 3, DedupeKey: "c", Note: emailNote(c1.ID, "bob@example.com", "three", "m3@x")},
		{UID: 4, DedupeKey: "d", Note: emailNote(c1.ID, "ann@example.com", "four", "m4@x")},
		{UID: 5, DedupeKey: "e", Note: emailNote(c1.ID, "ann@example.com", "five", "m5@x")},
	}}
	if _, err := db.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	// One head per recipient is due at a time; deliver the queues in order,
	// as the outbox worker does, feeding one notice per mediator a round.
	got := map[string][]string{}
	for range 10 {
		if _, err := db.FeedNotices(ctx, 1); err != nil {
			t.Fatal(err)
		}
		heads, err := db.OutboxDue(ctx, db.now().Add(1), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) == 0 {
			break
		}
		for _, m := range heads {
			got[m.To] = append(got[m.To], noteLabel(t, m))
			if err := db.OutboxDone(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fmt.Sprint(got["U1"]) != "[new email #1 new email #2 new email #3 new email #4]" || fmt.Sprint(got["U2"]) != "[new email #1]" {
		t.Fatalf("notices = %v, want one per note, in order", got)
	}
	for id, want := range map[string][]string{
		c1.ID: {"ann@example.com email.note notes 1, 3-4 #1 ann@example.com: Re: [" + c1.ID + "] hello",
			"bob@example.com email.note note 2 #2 bob@example.com: Re: [" + c1.ID + "] hello"},
		c2.ID: {"ann@example.com email.note note 1 #1 ann@example.com: Re: [" + c2.ID + "] hello"},
	} {
		evs, err := db.Audit(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var mail []string
		for _, ev := range evs {
			if ev.Action == "email.note" {
				mail = append(mail, fmt.Sprintf("%s %s %s #%d %s: %s", ev.Actor, ev.Action, ev.Detail, ev.About.N, ev.About.Who, ev.About.Text))
			}
		}
		if fmt.Sprint(mail) != fmt.Sprint(want) {
			t.Errorf("%s audit = %q, want %q", id, mail, want)
		}
	}
	mustCheck(t, db, "ingest notices")
}

// A batch can carry how far \Seen was applied; the record never passes
// the high-water mark and never moves back.
func TestIngestRecordsDoneUID(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
	for _, step := range []struct {
		last, done, wantDone uint32
	}{{3, 0, 0}, {6, 3, 3}, {9, 12, 9}, {10, 5, 9}} {
		b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 7, LastUID: step.last, DoneUID: step.done, Items: []casebot.MailItem{
			{UID: step.last, DedupeKey: fmt.Sprint("k", step.last), Note: emailNote(c.ID, "ann@example.com", "hi", fmt.Sprint("m", step.last, "@x"))}}}
		if _, err := db.Ingest(ctx, b); err != nil {
			t.Fatal(err)
		}
		if st, err := db.MailState(ctx, "INBOX"); err != nil || st.LastUID != step.last || st.DoneUID != step.wantDone {
			t.Fatalf("after last %d done %d: state %+v, %v; want done %d", step.last, step.done, st, err, step.wantDone)
		}
	}
}

// Notes of one sender with different subjects are different stories: each
// subject gets its own audit event, naming the sender by name and address.
func TestIngestAuditPerSubject(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
	note := func(uid uint32, subject string) casebot.MailItem {
		n := emailNote(c.ID, "ann@example.com", "body", fmt.Sprint("m", uid, "@x"))
		n.Email.FromName, n.Email.Subject = "Ann Lee", subject
		return casebot.MailItem{UID: uid, DedupeKey: fmt.Sprint(uid), Note: n}
	}
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 3, Items: []casebot.MailItem{
		note(1, "Statement"), note(2, "Invoice\nBcc: x@y"), note(3, "Statement")}}
	if _, err := db.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Audit(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs[1:] {
		got = append(got, fmt.Sprintf("%s|%s|%d|%s|%s", ev.Action, ev.Detail, ev.About.N, ev.About.Who, ev.About.Text))
	}
	want := []string{"email.note|notes 1, 3|1|Ann Lee <ann@example.com>|Statement", "email.note|note 2|2|Ann Lee <ann@example.com>|Invoice"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit = %q, want %q", got, want)
	}
}
