package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
)

var (
	ann   = casebot.Party{Role: casebot.RoleClaimant, Name: "Ann Lee", Email: "ann@example.com"}
	bob   = casebot.Party{Role: casebot.RoleRespondent, Name: "Bob Ray", Email: "bob@example.com"}
	jdoe  = casebot.Party{Role: casebot.RoleCounsel, Name: "J Doe", Email: "j.doe@oldcompany.example"}
	plain = "cases@practice.example"
)

func TestIntakeRoutesEveryKindOfMail(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann, bob, jdoe)
	other := newCase(t, db, casebot.Party{Role: casebot.RoleClaimant, Name: "Cy", Email: "cy@example.com"})
	a := testAddressing(t)
	// An email casebot sent, so a reply threads by In-Reply-To.
	if err := db.Enqueue(ctx, casebot.OutMessage{Kind: casebot.OutEmail, Key: "k1", To: bob.Email, CaseID: c.ID, MessageID: "out-1@practice.example"}); err != nil {
		t.Fatal(err)
	}
	dsn, err := os.ReadFile("testdata/dsn_postfix.eml")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []string{
		rawMail(ann.Email, a.ReplyTo(c), "Re: your letter", "a1@example.com", "By token.\r\n\r\nOn Mon, Mediation Office wrote:\r\n> old text"),
		rawMail(bob.Email, plain, "Re: hello", "b1@example.com", "By thread.", "In-Reply-To: <out-1@practice.example>"),
		rawMail(ann.Email, plain, "Re: ["+c.ID+"] dates", "a2@example.com", "By subject tag."),
		rawMail("eve@example.com", a.ReplyTo(c), "Re: ["+c.ID+"]", "e1@example.com", "A stranger."),
		rawMail("cy@example.com", plain, "Re: ["+c.ID+"]", "cy1@example.com", "Party of another case: tag names a case that is not theirs."),
		rawMail(ann.Email, "cases+"+lower(c.ID)+".wrongtoken@practice.example", "no tag", "a3@example.com", "Wrong token, nothing else."),
		rawMail(ann.Email, plain, "Out of office", "auto1@example.com", "I am away.", "Auto-Submitted: auto-replied"),
		string(dsn),
		rawMail(ann.Email, a.ReplyTo(c), "Re: your letter", "a1@example.com", "By token.\r\n\r\nOn Mon, Mediation Office wrote:\r\n> old text"), // duplicate delivery
		rawMail(ann.Email, a.ReplyTo(c), "Re: your letter", "a1@example.com", "Same Message-ID, different text."),
	}
	for _, m := range msgs {
		s.append(t, "INBOX", m)
	}
	var mu sync.Mutex
	outcomes := map[string]int{}
	in := newIntake(t, s, db, func(cfg *mail.IntakeConfig) {
		cfg.ProcessedMailbox = "Processed"
		cfg.BatchSize = 3 // several commits
		cfg.OnResult = func(r casebot.ItemResult) {
			mu.Lock()
			outcomes[r.Outcome]++
			mu.Unlock()
		}
	})
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"note": 4, "quarantine": 3, "skip": 1, "bounce": 1, "duplicate": 1}
	for k, v := range want {
		if outcomes[k] != v {
			t.Errorf("%s: %d, want %d (all: %v)", k, outcomes[k], v, outcomes)
		}
	}
	notes, err := db.Notes(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]bool{}
	for _, n := range notes {
		bodies[n.Body] = true
		if n.Source != casebot.SourceEmail || n.Email == nil || len(n.Email.Raw) == 0 || n.Email.FullText == "" {
			t.Errorf("note %d lacks its email record: %+v", n.N, n)
		}
	}
	for _, b := range []string{"By token.", "By thread.", "By subject tag.", "Same Message-ID, different text."} {
		if !bodies[b] {
			t.Errorf("no note %q; notes: %v", b, bodies)
		}
	}
	if n := noteCount(t, db, other.ID); n != 0 {
		t.Errorf("the other case got %d notes", n)
	}
	q, err := db.Quarantine(ctx, false)
	if err != nil || len(q) != 3 {
		t.Fatalf("quarantine = %+v, %v; want 3", q, err)
	}
	if q[0].From != "eve@example.com" || q[0].CaseID != c.ID || q[0].Reason != "sender eve@example.com is not a party of "+c.ID {
		t.Errorf("stranger quarantined as %+v", q[0])
	}
	if q[1].From != "cy@example.com" || q[1].CaseID != c.ID {
		t.Errorf("party of another case quarantined as %+v", q[1])
	}
	if q[2].Reason != "matched no case" {
		t.Errorf("wrong token quarantined as %+v", q[2])
	}
	got, _ := db.Case(ctx, c.ID)
	if !got.Parties[2].Bouncing || got.Parties[0].Bouncing {
		t.Errorf("bounce flags = %+v", got.Parties)
	}
	// The notes wait in the notice feed until the outbox worker queues
	// their notices.
	if n, err := db.NoticesPending(ctx); err != nil || n != 4 {
		t.Errorf("notes waiting for a notice = %d, %v; want 4", n, err)
	}
	if n, err := db.FeedNotices(ctx, 16); err != nil || n != 4 {
		t.Errorf("FeedNotices = %d, %v; want 4", n, err)
	}
	later := time.Now().Add(time.Minute)
	due, _ := db.OutboxDue(ctx, later, 0)
	var notices int
	for _, m := range due {
		if m.Kind == casebot.OutSlack && m.To == "U1" && m.Notice != nil && m.Notice.CaseID == c.ID {
			notices++
		}
	}
	// One head per recipient is due; the mediator's queue holds a notice
	// for each of the 4 notes (SPEC §6) and a bounce notice.
	if notices != 1 {
		t.Errorf("due mediator notices = %d, want the head of U1's queue", notices)
	}
	if d, _ := db.OutboxDepth(ctx); d != 1+4+1 {
		t.Errorf("outbox depth = %d, want 6 (the sent email, 4 note notices, 1 bounce notice)", d)
	}
	// Deliver U1's queue as the worker would.
	var kinds, keys []string
	for range 10 {
		heads, err := db.OutboxDue(ctx, later, 0, casebot.OutSlack)
		if err != nil || len(heads) == 0 {
			break
		}
		for _, m := range heads {
			kinds = append(kinds, strings.SplitN(m.Key, "/", 2)[0])
			keys = append(keys, m.Key)
			if err := db.OutboxDone(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(kinds)
	if want := []string{"bounce", "email-note", "email-note", "email-note", "email-note"}; !slices.Equal(kinds, want) {
		t.Errorf("U1's notices = %v, want %v", kinds, want)
	}
	for n := 1; n <= 4; n++ {
		if k := fmt.Sprintf("email-note/%s/%d", c.ID, n); !slices.Contains(keys, k) {
			t.Errorf("U1's notices = %v, want %s", keys, k)
		}
	}

	// Everything was moved out of the inbox after the commit.
	cl := s.client(t)
	sel, err := cl.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 0 {
		t.Fatalf("INBOX holds %d messages after intake (%v), want 0", sel.NumMessages, err)
	}
	sel, err = cl.Select("Processed", nil).Wait()
	if err != nil || sel.NumMessages != uint32(len(msgs)) {
		t.Fatalf("Processed holds %v messages (%v), want %d", sel, err, len(msgs))
	}
	bufs, err := cl.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bufs {
		if !hasFlag(b.Flags, imap.FlagSeen) {
			t.Errorf("message %d not \\Seen", b.SeqNum)
		}
	}

	// A second run finds nothing new.
	before := noteCount(t, db, c.ID)
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if after := noteCount(t, db, c.ID); after != before {
		t.Fatalf("second run: %d notes, want %d", after, before)
	}
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// runIntake starts Run and returns a channel of results and a stop func.
func runIntake(t *testing.T, in func(func(casebot.ItemResult)) *mail.Intake) (<-chan casebot.ItemResult, func()) {
	t.Helper()
	ch := make(chan casebot.ItemResult, 100)
	intake := in(func(r casebot.ItemResult) { ch <- r })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- intake.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return ch, stop
}

func next(t *testing.T, ch <-chan casebot.ItemResult) casebot.ItemResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-timeAfter10s():
		t.Fatal("no message ingested within 10 s")
	}
	return casebot.ItemResult{}
}

// With a one-hour poll interval, only IDLE can bring the second message in
// quickly; after the server drops the connection, the intake reconnects.
func TestIntakeIdleAndReconnect(t *testing.T) {
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	a := testAddressing(t)
	s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), "one", "1@x", "first"))
	ch, stop := runIntake(t, func(on func(casebot.ItemResult)) *mail.Intake {
		return newIntake(t, s, db, func(cfg *mail.IntakeConfig) { cfg.OnResult = on })
	})
	if r := next(t, ch); r.Outcome != "note" || r.N != 1 {
		t.Fatalf("first: %+v", r)
	}
	s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), "two", "2@x", "second, by IDLE"))
	if r := next(t, ch); r.Outcome != "note" || r.N != 2 {
		t.Fatalf("after IDLE: %+v", r)
	}
	s.drop()
	s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), "three", "3@x", "third, after reconnect"))
	if r := next(t, ch); r.Outcome != "note" || r.N != 3 {
		t.Fatalf("after reconnect: %+v", r)
	}
	stop()
	if n := noteCount(t, db, c.ID); n != 3 {
		t.Fatalf("%d notes, want 3", n)
	}
}

// A server without IDLE is polled every imap.poll_interval: a message that
// arrives after the first sync becomes a note on the next poll.
func TestIntakePollsWithoutIdle(t *testing.T) {
	s := startIMAPWith(t, imap.CapSet{imap.CapIMAP4rev1: {}})
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	a := testAddressing(t)
	s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), "one", "p1@x", "first"))
	ch, stop := runIntake(t, func(on func(casebot.ItemResult)) *mail.Intake {
		return newIntake(t, s, db, func(cfg *mail.IntakeConfig) { cfg.OnResult = on; cfg.Poll = 50 * time.Millisecond })
	})
	if r := next(t, ch); r.Outcome != "note" || r.N != 1 {
		t.Fatalf("first: %+v", r)
	}
	s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), "two", "p2@x", "second, by polling"))
	if r := next(t, ch); r.Outcome != "note" || r.N != 2 {
		t.Fatalf("after a poll: %+v", r)
	}
	// Polled on the same connection, not found by a reconnect after a
	// failed IDLE.
	s.mu.Lock()
	conns := len(s.conns)
	s.mu.Unlock()
	if conns != 1 {
		t.Fatalf("%d connections, want the intake to poll on one", conns)
	}
	stop()
	if n := noteCount(t, db, c.ID); n != 2 {
		t.Fatalf("%d notes, want 2", n)
	}
}

// A mailbox re-created with a new UIDVALIDITY holding the same messages
// plus a new one gives exactly one new note.
func TestIntakeUIDValidityChange(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	a := testAddressing(t)
	m1 := rawMail(ann.Email, a.ReplyTo(c), "one", "1@x", "first")
	m2 := rawMail(ann.Email, a.ReplyTo(c), "two", "2@x", "second")
	s.append(t, "INBOX", m1)
	s.append(t, "INBOX", m2)
	in := newIntake(t, s, db, nil)
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	st1, _ := db.MailState(ctx, "INBOX")
	if err := s.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := s.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	// Exchange-style: the same messages come back under new UIDs.
	s.append(t, "INBOX", m2)
	s.append(t, "INBOX", m1)
	s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), "three", "3@x", "third"))
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	st2, _ := db.MailState(ctx, "INBOX")
	if st2.UIDValidity == st1.UIDValidity || st2.LastUID != 3 {
		t.Fatalf("state %+v -> %+v; want a new UIDVALIDITY and last UID 3", st1, st2)
	}
	if n := noteCount(t, db, c.ID); n != 3 {
		t.Fatalf("%d notes, want 3", n)
	}
}

func TestNewIntakeRefusesPlainTextOffLoopback(t *testing.T) {
	db := openStore(t, nil)
	for _, tt := range []struct {
		addr, tls string
		ok        bool
	}{
		{"127.0.0.1:143", mail.TLSNone, true},
		{"localhost:143", mail.TLSNone, true},
		{"[::1]:143", mail.TLSNone, true},
		{"imap.example.com:143", mail.TLSNone, false},
		{"192.0.2.1:143", mail.TLSNone, false},
		{"imap.example.com:993", mail.TLSImplicit, true},
		{"imap.example.com:143", mail.TLSStartTLS, true},
		{"imap.example.com:143", "maybe", false},
	} {
		_, err := mail.NewIntake(mail.IntakeConfig{Addr: tt.addr, TLS: tt.tls, Store: db})
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: err = %v, want ok=%v", tt.addr, tt.tls, err, tt.ok)
		}
	}
}

// Intake fetches UID ranges up to the UIDNEXT that SELECT reported and
// then the open range: a gap in the UIDs wider than a batch is stepped
// over, and mail that arrives in the middle of a sync is taken by the
// same sync. Every message becomes one note and is marked \Seen.
func TestIntakeRangesGapsAndMailDuringSync(t *testing.T) {
	ctx := context.Background()
	s := startIMAP(t)
	db := openStore(t, nil)
	c := newCase(t, db, ann)
	a := testAddressing(t)
	for i := range 40 {
		s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), "n", fmt.Sprintf("m%d@x", i), fmt.Sprintf("message %d", i)))
	}
	// Delete UIDs 6-25 (wider than several batches) and 31.
	cl := s.client(t)
	if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var gone imap.UIDSet
	gone.AddRange(6, 25)
	gone.AddNum(31)
	if err := cl.Store(gone, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := cl.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	// Three messages arrive when the intake asks for its second range of
	// bodies, after SELECT reported UIDNEXT 41.
	const late = 3
	var fetches atomic.Int32
	s.onFetch(func(o *imap.FetchOptions) {
		if len(o.BodySection) > 0 && fetches.Add(1) == 2 {
			for i := range late {
				raw := rawMail(ann.Email, a.ReplyTo(c), "late", fmt.Sprintf("late%d@x", i), fmt.Sprintf("late %d", i))
				// On the server's goroutine: report, don't stop the test here.
				if _, err := s.user.Append("INBOX", literal{bytes.NewReader([]byte(raw)), int64(len(raw))}, &imap.AppendOptions{}); err != nil {
					t.Errorf("append: %v", err)
				}
			}
		}
	})
	in := newIntake(t, s, db, func(cfg *mail.IntakeConfig) { cfg.BatchSize = 4 })
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	notes, err := db.Notes(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, n := range notes {
		seen[n.Body]++
	}
	want := 40 - 21 + late
	if len(notes) != want || len(seen) != want {
		t.Fatalf("%d notes (%d distinct), want %d", len(notes), len(seen), want)
	}
	for _, b := range []string{"message 0", "message 4", "message 25", "message 29", "message 31", "message 39", "late 0", "late 2"} {
		if seen[b] != 1 {
			t.Errorf("note %q: %d times, want once", b, seen[b])
		}
	}
	st, err := db.MailState(ctx, "INBOX")
	if err != nil || st.LastUID != 43 || st.DoneUID != 43 {
		t.Fatalf("state %+v, %v; want last and done UID 43", st, err)
	}
	unseen, err := cl.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if uids := unseen.AllUIDs(); len(uids) != 0 {
		t.Fatalf("UIDs %v left without \\Seen", uids)
	}
}
