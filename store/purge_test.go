package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Markers planted in a case's content; none may survive its purge.
const (
	markNote  = "Qzxnotemarker"
	markEmail = "Qzxemailmarker"
	markName  = "Qzxnamemarker"
	markAddr  = "qzxaddr@example.com"
	markQuar  = "Qzxquarmarker"
	markDoc   = "Qzxdocmarker"
)

var testKey = bytes.Repeat([]byte{7}, 32)

// plantCase makes a closed case whose note, party email (through Ingest),
// party name and address, title, deadline, quarantined mail and audit
// trail carry the markers, and an open case B with a note of its own.
func plantCase(t *testing.T, db *DB) (a, b *casebot.Case) {
	t.Helper()
	ctx := context.Background()
	a = newCase(t, db, "Dispute of "+markName, "U1", casebot.Party{Role: casebot.RoleClaimant, Name: markName + " Smith", Email: markAddr})
	b = newCase(t, db, "Other", "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Bob Keep", Email: "bob@example.com"})
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: a.ID, Author: "U1", Body: "typed " + markNote}, casebot.Change{Actor: "U1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: b.ID, Author: "U1", Body: "keepme note"}, casebot.Change{Actor: "U1"}); err != nil {
		t.Fatal(err)
	}
	stranger := emailNote(a.ID, "eve@example.com", "stranger "+markQuar, "q1@x")
	withDoc := emailNote(a.ID, markAddr, "reply "+markEmail, "m1@x")
	content := []byte("statement text " + markDoc)
	sum := sha256.Sum256(content)
	withDoc.Email.Attachments = []casebot.Attachment{{Name: markDoc + ".txt", Type: "text/plain", Size: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), Content: content}}
	res, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 2, NoticeFeed: true, Items: []casebot.MailItem{
		{UID: 1, DedupeKey: "e1", Note: withDoc},
		{UID: 2, DedupeKey: "e2", Note: stranger},
	}})
	if err != nil || res[0].Outcome != casebot.OutcomeNote || res[1].Outcome != casebot.OutcomeQuarantine {
		t.Fatalf("Ingest = %+v, %v", res, err)
	}
	if _, err := db.FeedNotices(ctx, 16); err != nil { // a notice about the email waits in the outbox
		t.Fatal(err)
	}
	update(t, db, a.ID, "deadline.add", func(c *casebot.Case) {
		c.Deadlines = append(c.Deadlines, casebot.Deadline{N: 1, Due: db.now().Add(48 * time.Hour), Text: "brief from " + markName})
	})
	if err := db.RecordViews(ctx, []string{a.ID}, "U1", "conflicts "+markName); err != nil {
		t.Fatal(err)
	}
	a = update(t, db, a.ID, "case.close", func(c *casebot.Case) {
		c.Status, c.Outcome, c.OutcomeText = casebot.StatusSettled, casebot.StatusSettled, "paid "+markName
	})
	return a, b
}

func backupBytes(t *testing.T, db *DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := db.Backup(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustNotContain fails when data holds any marker, in any letter case.
func mustNotContain(t *testing.T, what string, data []byte, markers ...string) {
	t.Helper()
	low := bytes.ToLower(data)
	for _, m := range markers {
		if bytes.Contains(low, bytes.ToLower([]byte(m))) {
			t.Errorf("%s holds %q", what, m)
		}
	}
}

var allMarkers = []string{markNote, markEmail, markName, markAddr, markQuar, markDoc}

func TestPurge(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  []byte
	}{{"no key", nil}, {"key", testKey}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "casebot.db")
			db := openAt(t, path, newClock(), Options{EncryptionKey: tt.key})
			a, b := plantCase(t, db)
			before := backupBytes(t, db)
			if tt.key == nil {
				for _, m := range []string{markNote, markDoc} {
					if !bytes.Contains(before, []byte(m)) {
						t.Fatalf("the backup before the purge lacks the marker %s: the test proves nothing", m)
					}
				}
			} else {
				// Everything of the case is sealed under its data key (or
				// hashed): the purge, destroying the key, takes it all.
				mustNotContain(t, "backup before the purge (encrypted)", before, allMarkers...)
				mustNotContain(t, "backup before the purge (encrypted)", before, "Dispute of", "brief from", "paid ", "Bob Keep", "bob@example.com")
			}

			got, err := db.PurgeCase(ctx, a.ID, "UADMIN")
			if err != nil {
				t.Fatal(err)
			}
			if got.Purged == nil || got.Purged.Parties != 1 || got.Purged.Deadlines != 1 || got.NoteCount != 2 || got.Title != casebot.PurgedTitle {
				t.Errorf("purged case = %+v", got)
			}
			mustCheck(t, db, "purge")

			c, err := db.Case(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Parties)+len(c.Deadlines)+len(c.Sessions) != 0 || c.OutcomeText != "" || c.Outcome != casebot.StatusSettled || c.Mediator != "U1" || c.Closed.IsZero() {
				t.Errorf("case record after purge = %+v; want the statistics record only", c)
			}
			if notes, err := db.Notes(ctx, a.ID); err != nil || len(notes) != 0 {
				t.Errorf("notes after purge = %d, %v", len(notes), err)
			}
			for _, q := range []string{markName, markName + " Smith", markAddr} {
				if m, err := db.FindParty(ctx, q); err != nil || len(m) != 0 {
					t.Errorf("FindParty(%q) = %+v, %v; want nothing", q, m, err)
				}
			}
			for _, w := range []string{markNote, markEmail} {
				if hits, err := db.Search(ctx, []string{w}, casebot.Actor{ID: "UADMIN", Admin: true}, 0); err != nil || len(hits) != 0 {
					t.Errorf("Search(%q) = %d hits, %v", w, len(hits), err)
				}
			}
			events, err := db.Audit(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			var trail strings.Builder
			for _, e := range events {
				trail.WriteString(e.Actor + " " + e.Action + " " + e.Detail + "\n")
			}
			mustNotContain(t, "audit trail", []byte(trail.String()), allMarkers...)
			if last := events[len(events)-1]; last.Action != "case.purge" || last.Actor != "UADMIN" {
				t.Errorf("last event = %+v, want case.purge by UADMIN", last)
			}
			if q, _ := db.Quarantine(ctx, true); len(q) != 0 {
				t.Errorf("quarantine after purge = %+v; want its link to the case gone", q)
			}
			if n, _ := db.OutboxDepth(ctx); n != 0 {
				t.Errorf("outbox holds %d messages about the purged case", n)
			}
			st, err := db.Stats(ctx, db.now())
			if err != nil || st.Closed != 1 || st.Settled != 1 {
				t.Errorf("stats = %+v, %v; want the purged case counted", st, err)
			}
			if notes, err := db.Notes(ctx, b.ID); err != nil || len(notes) != 1 {
				t.Errorf("other case's notes = %d, %v", len(notes), err)
			}

			after := backupBytes(t, db)
			mustNotContain(t, "backup after the purge", after, allMarkers...)
			// With a key the other case's record is sealed: its ID shows it is there.
			if keep := map[bool]string{true: "Bob Keep", false: b.ID}[tt.key == nil]; !bytes.Contains(after, []byte(keep)) {
				t.Errorf("backup after the purge lacks the other case (%s)", keep)
			}

			if tt.key == nil {
				return
			}
			if _, ok := db.keys.get(a.ID); ok {
				t.Error("the purged case's data key is still in the keyring")
			}
			// The backup from before, opened with the keyring of after.
			old := filepath.Join(dir, "old.db")
			if err := os.WriteFile(old, before, 0o600); err != nil {
				t.Fatal(err)
			}
			copyKeyring(t, path, old)
			odb := openAt(t, old, newClock(), Options{EncryptionKey: tt.key})
			if _, err := odb.Notes(ctx, a.ID); casebot.ErrorCode(err) != casebot.EUNAVAIL {
				t.Errorf("old backup: notes of the purged case: %v; want EUNAVAIL", err)
			}
			if _, _, err := odb.DocumentFile(ctx, a.ID, 1); err == nil {
				t.Error("old backup: the purged case's document reads with the keyring of after the purge")
			}
			// The notice about the purged case's email, pending when the
			// backup was taken, is sealed under the case's key: gone too.
			sealedAway := 0
			err = odb.testView(func(tx kv.Tx) error {
				return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
					h, _, err := unframe2(v)
					if err != nil {
						return err
					}
					m, err := decodeOutHeader(h)
					if err != nil || m.CaseID != a.ID {
						return err
					}
					if _, err := odb.decodeOut(k, v); err == nil {
						t.Errorf("old backup: outbox message %d about the purged case reads", m.ID)
					} else {
						sealedAway++
					}
					return nil
				})
			})
			if err != nil || sealedAway == 0 {
				t.Errorf("old backup: %d outbox messages about the purged case, %v; want the pending notice, unreadable", sealedAway, err)
			}
			if notes, err := odb.Notes(ctx, b.ID); err != nil || len(notes) != 1 || notes[0].Body != "keepme note" {
				t.Errorf("old backup: notes of the other case = %+v, %v", notes, err)
			}
			if hits, err := odb.Search(ctx, []string{markNote}, casebot.Actor{ID: "UADMIN", Admin: true}, 0); err != nil || len(hits) != 0 {
				t.Errorf("old backup: Search = %+v, %v", hits, err)
			}
			if hits, err := odb.Search(ctx, []string{"keepme"}, casebot.Actor{ID: "UADMIN", Admin: true}, 0); err != nil || len(hits) != 1 {
				t.Errorf("old backup: Search(keepme) = %d, %v", len(hits), err)
			}
			// show, conflicts, list, timeline: nothing of the purged case;
			// the other case whole.
			if _, err := odb.Case(ctx, a.ID); casebot.ErrorCode(err) != casebot.EUNAVAIL || !strings.Contains(casebot.ErrorMessage(err), "purged") {
				t.Errorf("old backup: Case(purged) = %v; want EUNAVAIL saying it was purged", err)
			}
			if oc, err := odb.Case(ctx, b.ID); err != nil || oc.Title != "Other" || len(oc.Parties) != 1 || oc.Parties[0].Name != "Bob Keep" {
				t.Errorf("old backup: Case(other) = %+v, %v", oc, err)
			}
			for _, q := range []string{markName, markName + " Smith", markAddr, "smith"} {
				if m, err := odb.FindParty(ctx, q); err != nil || len(m) != 0 {
					t.Errorf("old backup: FindParty(%q) = %+v, %v; want nothing", q, m, err)
				}
			}
			if m, err := odb.FindParty(ctx, "bob keep"); err != nil || len(m) != 1 || m[0].CaseID != b.ID {
				t.Errorf("old backup: FindParty(bob keep) = %+v, %v", m, err)
			}
			if cs, err := odb.Cases(ctx, casebot.CaseFilter{State: "all"}); err != nil || len(cs) != 1 || cs[0].ID != b.ID {
				t.Errorf("old backup: list all = %v, %v; want the other case only", ids(cs), err)
			}
			if evs, err := odb.Audit(ctx, a.ID); casebot.ErrorCode(err) != casebot.EUNAVAIL {
				t.Errorf("old backup: timeline of the purged case = %+v, %v; want EUNAVAIL", evs, err)
			}
			if evs, err := odb.Audit(ctx, b.ID); err != nil || len(evs) < 2 {
				t.Errorf("old backup: timeline of the other case = %+v, %v", evs, err)
			}
			if st, err := odb.Stats(ctx, odb.now()); err != nil || st.Closed != 1 {
				t.Errorf("old backup: stats = %+v, %v; want the purged case still counted", st, err)
			}
			if err := odb.Check(ctx); err == nil || !strings.Contains(err.Error(), a.ID) {
				t.Errorf("old backup: Check = %v; want the purged case's missing key reported", err)
			}
		})
	}
}

func TestPurgeRefusals(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	open := newCase(t, db, "open one", "U1")
	held := newCase(t, db, "held one", "U1")
	update(t, db, held.ID, "case.close", func(c *casebot.Case) { c.Status, c.Hold = casebot.StatusImpasse, true })
	done := newCase(t, db, "done", "U1")
	update(t, db, done.ID, "case.close", func(c *casebot.Case) { c.Status = casebot.StatusWithdrawn })
	if _, err := db.PurgeCase(ctx, done.ID, "UADMIN"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, id, code, msg string
	}{
		{"open", open.ID, casebot.ECONFLICT, "only a closed case can be purged"},
		{"held", held.ID, casebot.ECONFLICT, "is on hold"},
		{"missing", "MED-2026-0999", casebot.ENOTFOUND, "no such case"},
		{"purged", done.ID, casebot.ECONFLICT, "already purged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before []casebot.AuditEvent
			if tt.code != casebot.ENOTFOUND {
				before, _ = db.Audit(ctx, tt.id)
			}
			_, err := db.PurgeCase(ctx, tt.id, "UADMIN")
			if casebot.ErrorCode(err) != tt.code || !strings.Contains(casebot.ErrorMessage(err), tt.msg) {
				t.Fatalf("PurgeCase = %v; want %s saying %q", err, tt.code, tt.msg)
			}
			if tt.code != casebot.ENOTFOUND {
				if after, _ := db.Audit(ctx, tt.id); len(after) != len(before) {
					t.Errorf("audit trail grew from %d to %d events", len(before), len(after))
				}
			}
		})
	}
	if _, err := db.UpdateCase(ctx, done.ID, func(c *casebot.Case) (casebot.Change, error) {
		c.Status = casebot.StatusActive
		return casebot.Change{}, nil
	}); casebot.ErrorCode(err) != casebot.ECONFLICT {
		t.Errorf("reopening a purged case: %v; want ECONFLICT", err)
	}
	if _, err := db.AddNote(ctx, &casebot.Note{CaseID: done.ID, Body: "x"}, casebot.Change{}); casebot.ErrorCode(err) != casebot.ECONFLICT {
		t.Errorf("a note to a purged case: %v; want ECONFLICT", err)
	}
	mustCheck(t, db, "refusals")
}

// PurgeExpired takes the cases closed before the cut-off, not held ones,
// nor those closed since.
func TestPurgeExpired(t *testing.T) {
	ctx := context.Background()
	db, clk := openTest(t)
	closeCase := func(title string, hold bool) string {
		c := newCase(t, db, title, "U1", casebot.Party{Role: casebot.RoleClaimant, Name: "Ann " + title, Email: title + "@example.com"})
		if _, err := db.AddNote(ctx, &casebot.Note{CaseID: c.ID, Author: "U1", Body: "note of " + title}, casebot.Change{}); err != nil {
			t.Fatal(err)
		}
		update(t, db, c.ID, "case.close", func(c *casebot.Case) { c.Status, c.Hold = casebot.StatusSettled, hold })
		return c.ID
	}
	old1, oldHeld := closeCase("old1", false), closeCase("oldheld", true)
	clk.Advance(100 * 24 * time.Hour)
	recent := closeCase("recent", false)
	openCase := newCase(t, db, "still open", "U1").ID
	clk.Advance(10 * 24 * time.Hour)

	got, err := db.PurgeExpired(ctx, clk.Now().AddDate(0, 0, -90), "casebot", "retention")
	if err != nil || len(got) != 1 || got[0] != old1 {
		t.Fatalf("PurgeExpired = %v, %v; want [%s]", got, err, old1)
	}
	for id, want := range map[string]bool{old1: true, oldHeld: false, recent: false, openCase: false} {
		c, err := db.Case(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if (c.Purged != nil) != want {
			t.Errorf("%s purged = %v, want %v", id, c.Purged != nil, want)
		}
	}
	if got, err := db.PurgeExpired(ctx, clk.Now().AddDate(0, 0, -90), "casebot", "retention"); err != nil || len(got) != 0 {
		t.Errorf("second run = %v, %v; want nothing", got, err)
	}
	mustCheck(t, db, "retention")
}
