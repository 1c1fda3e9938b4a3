package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// ingestNotes stores one email note per author (a party's address), in
// order, in one commit with the notice feed on.
func ingestNotes(t *testing.T, db *DB, uid *uint32, notes ...*casebot.Note) {
	t.Helper()
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, NoticeFeed: true}
	for _, n := range notes {
		*uid++
		b.Items = append(b.Items, casebot.MailItem{UID: *uid, DedupeKey: fmt.Sprintf("k%d", *uid), Note: n})
	}
	b.LastUID = *uid
	res, err := db.Ingest(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Outcome != casebot.OutcomeNote {
			t.Fatalf("uid %d: %s (%s), want a note", r.UID, r.Outcome, r.Reason)
		}
	}
}

// drainHeads delivers each recipient's head once, returning their texts
// by recipient.
func drainHeads(t *testing.T, db *DB, got map[string][]string) int {
	t.Helper()
	ctx := context.Background()
	heads, err := db.OutboxDue(ctx, db.now().Add(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range heads {
		got[m.To] = append(got[m.To], noteLabel(t, m))
		if err := db.OutboxDone(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	return len(heads)
}

func TestNoticeFeedPacesEachMediator(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	ann := casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	a := newCase(t, db, "Lease", "U1", ann)
	b := newCase(t, db, "Fence", "U2", ann)
	var uid uint32
	note := func(c *casebot.Case, body string) *casebot.Note {
		return emailNote(c.ID, "ann@example.com", body, body+"@x")
	}
	ingestNotes(t, db, &uid, note(a, "a1"), note(a, "a2"), note(b, "b1"), note(a, "a3"), note(a, "a4"), note(b, "b2"), note(a, "a5"))
	ingestNotes(t, db, &uid, note(a, "a6"), note(b, "b3"))
	if n, err := db.NoticesPending(ctx); err != nil || n != 9 {
		t.Fatalf("pending = %d, %v; want 9", n, err)
	}
	if d, _ := db.OutboxDepth(ctx); d != 0 {
		t.Fatalf("outbox depth %d before feeding, want 0", d)
	}

	// Room for two messages per mediator: U1's flood does not hold up U2.
	if n, err := db.FeedNotices(ctx, 2); err != nil || n != 4 {
		t.Fatalf("FeedNotices = %d, %v; want 2 for each mediator", n, err)
	}
	if n, _ := db.NoticesPending(ctx); n != 5 {
		t.Fatalf("pending = %d after feeding 4, want 5", n)
	}
	// Queues full: nothing to do, and nothing written.
	w0 := db.PageWrites()
	if n, err := db.FeedNotices(ctx, 2); err != nil || n != 0 {
		t.Fatalf("FeedNotices on full queues = %d, %v; want 0", n, err)
	}
	if w := db.PageWrites() - w0; w != 0 {
		t.Fatalf("FeedNotices with nothing to do wrote %d pages", w)
	}

	got := map[string][]string{}
	for round := 0; ; round++ {
		if round > 20 {
			t.Fatal("the queues never drained")
		}
		if _, err := db.FeedNotices(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if drainHeads(t, db, got) == 0 {
			break
		}
	}
	want := map[string][]string{
		"U1": {"new email #1", "new email #2", "new email #3", "new email #4", "new email #5", "new email #6"},
		"U2": {"new email #1", "new email #2", "new email #3"},
	}
	for to, w := range want {
		if !slices.Equal(got[to], w) {
			t.Errorf("%s got %q, want %q (each note once, in order)", to, got[to], w)
		}
	}
	if n, _ := db.NoticesPending(ctx); n != 0 {
		t.Errorf("pending = %d after draining, want 0", n)
	}
	mustCheck(t, db, "feeding notices")
}

// A queue is topped up once half of it has gone, so that a backlog that
// drains one message at a time does not cost a commit for each.
func TestNoticeFeedRefillsHalfEmptyQueues(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	a := newCase(t, db, "Lease", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"})
	var uid uint32
	var notes []*casebot.Note
	for i := range 10 {
		notes = append(notes, emailNote(a.ID, "ann@example.com", fmt.Sprint("n", i), fmt.Sprint("m", i, "@x")))
	}
	ingestNotes(t, db, &uid, notes...)
	feed := func(want int) {
		t.Helper()
		w0 := db.PageWrites()
		n, err := db.FeedNotices(ctx, 4)
		if err != nil || n != want {
			t.Fatalf("FeedNotices = %d, %v; want %d", n, err, want)
		}
		if want == 0 && db.PageWrites() != w0 {
			t.Fatal("FeedNotices wrote with nothing to queue")
		}
	}
	deliverOne := func() {
		t.Helper()
		due, err := db.OutboxDue(ctx, db.now().Add(1), 0)
		if err != nil || len(due) != 1 {
			t.Fatalf("due = %v, %v", due, err)
		}
		if err := db.OutboxDone(ctx, due[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	feed(4)
	deliverOne() // 3 of 4 pending: not yet
	feed(0)
	deliverOne() // 2 of 4: top up
	feed(2)
	if n, _ := db.NoticesPending(ctx); n != 4 {
		t.Fatalf("pending = %d, want 4", n)
	}
}

func TestNoticeFeedSkipsWhatCannotOrNeedNotBeSent(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	ann := casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	a := newCase(t, db, "Lease", "U1", ann)
	b := newCase(t, db, "Fence", "U2", ann)
	var uid uint32
	ingestNotes(t, db, &uid, emailNote(a.ID, "ann@example.com", "one", "m1@x"), emailNote(a.ID, "ann@example.com", "two", "m2@x"),
		emailNote(b.ID, "ann@example.com", "three", "m3@x"))
	// Note 1's notice was already delivered (a store restored from before
	// the feed existed): it is not sent twice.
	if err := db.Enqueue(ctx, casebot.EmailNoteNotice(a, &casebot.Note{N: 1})); err != nil {
		t.Fatal(err)
	}
	due, _ := db.OutboxDue(ctx, db.now().Add(1), 0)
	if err := db.OutboxDone(ctx, due[0].ID); err != nil {
		t.Fatal(err)
	}
	// The other case has no mediator by the time its notice is built (a
	// record from before mediators were required): the notice has no one
	// to go to.
	if err := db.testUpdate(func(tx kv.Tx) error {
		old, err := db.getCase(tx, b.ID)
		if err != nil {
			return err
		}
		c := cloneCase(old)
		c.Mediator = ""
		return db.putCase(tx, old, c)
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.FeedNotices(ctx, 16); err != nil || n != 1 {
		t.Fatalf("FeedNotices = %d, %v; want only note 2's notice", n, err)
	}
	due, _ = db.OutboxDue(ctx, db.now().Add(1), 0)
	if len(due) != 1 || due[0].Key != "email-note/"+a.ID+"/2" || due[0].Notice.Excerpt != "two" {
		t.Fatalf("queued %+v, want note 2's notice", due)
	}
	if n, _ := db.NoticesPending(ctx); n != 0 {
		t.Fatalf("pending = %d, want 0: skipped notes leave the feed too", n)
	}
}

// The feed holds a mediator's ID and note numbers only: no note text
// reaches the file through it, in the clear or sealed.
func TestNoticeFeedKeepsNoContent(t *testing.T) {
	db, _ := openTest(t)
	ann := casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	a := newCase(t, db, "Lease", "U1", ann)
	var uid uint32
	ingestNotes(t, db, &uid, emailNote(a.ID, "ann@example.com", "the secret settlement figure", "m1@x"))
	err := db.testView(func(tx kv.Tx) error {
		return tx.Bucket(bucketNoticeFeed).ForEach(func(k, v []byte) error {
			if !bytes.HasPrefix(k, []byte("U1\x00")) || len(k) != 11 || len(v) != 0 {
				return fmt.Errorf("feed record %q = %q, want the mediator and one note sequence", k, v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNoticeFeedRecordRoundTrip(t *testing.T) {
	for _, seqs := range [][]uint64{{1}, {7, 8, 9}, {3, 300, 70000, 1 << 40}} {
		k, v := feedRecord("U1", seqs)
		m, got, err := decodeFeedRecord(k, v)
		if err != nil || m != "U1" || !slices.Equal(got, seqs) {
			t.Errorf("round trip of %v = %q %v %v", seqs, m, got, err)
		}
	}
	for _, bad := range []struct{ k, v string }{{"U1", ""}, {"U1\x00\x00\x00\x00\x00\x00\x00\x01", "\x00"}, {"U1\x00\x00\x00\x00\x00\x00\x00\x01", "\x80"}} {
		if _, _, err := decodeFeedRecord([]byte(bad.k), []byte(bad.v)); err == nil {
			t.Errorf("decodeFeedRecord(%q, %q) accepted a bad record", bad.k, bad.v)
		}
	}
}

// noteLabel names the note an email note notice is about: "new email #3".
func noteLabel(t *testing.T, m casebot.OutMessage) string {
	t.Helper()
	if m.Notice == nil || m.Notice.Kind != casebot.NoticeEmailNote || m.Key != fmt.Sprintf("email-note/%s/%d", m.Notice.CaseID, m.Notice.N) {
		t.Fatalf("not an email note notice: %+v", m)
	}
	return fmt.Sprintf("new email #%d", m.Notice.N)
}
