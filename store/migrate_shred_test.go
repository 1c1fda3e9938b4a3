package store

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// downgradeTo5 rewrites what schema 6 changed back to the schema 5 layout:
// JSON case records, party indexes of plain terms, JSON time-index
// entries, note headers and audit headers naming party addresses in the
// clear, message keys in the clear (sentKeys, the keys of the messages
// sent, are given since their hashes cannot be reversed).
func downgradeTo5(t *testing.T, db *DB, sentKeys ...string) {
	t.Helper()
	err := db.testUpdate(func(tx kv.Tx) error {
		var cs []*casebot.Case
		err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			c, err := db.decodeCase(k, v)
			cs = append(cs, c)
			return err
		})
		if err != nil {
			return err
		}
		for _, name := range indexBuckets {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		for _, c := range cs {
			v, _ := json.Marshal(c)
			if err := tx.Bucket(bucketCases).Put([]byte(c.ID), v); err != nil {
				return err
			}
			put := func(b []byte, k []byte, v []byte) error { return tx.Bucket(b).Put(k, v) }
			if err := put(bucketIdxMediator, keyOf(c.Mediator, c.ID), sortValue(c)); err != nil {
				return err
			}
			if err := put(bucketIdxStatus, keyOf(string(c.Status), c.ID), sortValue(c)); err != nil {
				return err
			}
			for _, p := range c.Parties {
				name := casebot.NormalizeName(p.Name)
				_ = put(bucketIdxEmail, keyOf(p.Email, c.ID), []byte{})
				_ = put(bucketIdxName, keyOf(name, c.ID), []byte{})
				for _, w := range strings.Fields(name) {
					_ = put(bucketIdxWord, keyOf(w, c.ID, name), []byte{})
				}
			}
			for _, d := range c.Deadlines {
				v, _ := json.Marshal(casebot.DeadlineRef{CaseID: c.ID, Mediator: c.Mediator, Priority: c.Priority, Title: c.Title, Deadline: d})
				_ = put(bucketIdxDeadline, append(timeKey(d.Due), numberedKey(c.ID, d.N)...), v)
			}
			for _, s := range c.Sessions {
				v, _ := json.Marshal(casebot.SessionRef{CaseID: c.ID, Mediator: c.Mediator, Title: c.Title, Session: s})
				_ = put(bucketIdxSession, append(timeKey(s.Start), numberedKey(c.ID, s.N)...), v)
			}
		}
		// Notes: the schema 5 header (author in the clear, no flags).
		notes := tx.Bucket(bucketNotes)
		var nks [][]byte
		_ = notes.ForEach(func(k, v []byte) error { nks = append(nks, bytes.Clone(k)); return nil })
		for _, k := range nks {
			n, err := db.decodeNote(k, notes.Get(k))
			if err != nil {
				return err
			}
			var h, p enc
			h.str(n.CaseID)
			h.uint(uint64(n.N))
			h.str(n.Author)
			h.str(string(n.Source))
			h.bool(n.Private)
			h.time(n.Created)
			appendNotePayload(&p, n.Body, n.Email)
			sl, err := db.caseSealer(tx, n.CaseID)
			if err != nil {
				return err
			}
			if err := notes.Put(k, appendFrame2(nil, sl, k, h.b, p.b)); err != nil {
				return err
			}
		}
		// Audit events: the schema 5 header (actor in the clear).
		log := tx.Bucket(bucketAudit)
		var aks [][]byte
		_ = log.ForEach(func(k, v []byte) error { aks = append(aks, bytes.Clone(k)); return nil })
		for _, k := range aks {
			ev, err := db.decodeAudit(k, log.Get(k))
			if err != nil {
				return err
			}
			var h, p enc
			h.str(ev.CaseID)
			h.time(ev.At)
			h.str(ev.Actor)
			h.str(ev.Action)
			appendAuditPayload(&p, &ev)
			sl, err := db.caseSealer(tx, ev.CaseID)
			if err != nil {
				return err
			}
			if err := log.Put(k, appendFrame2([]byte{auditSealed}, sl, k, h.b, p.b)); err != nil {
				return err
			}
		}
		// Pending outbox messages: the schema 5 header (recipient in the
		// clear) and outbox_to keys of plain recipients.
		ob := tx.Bucket(bucketOutbox)
		var oks [][]byte
		_ = ob.ForEach(func(k, v []byte) error { oks = append(oks, bytes.Clone(k)); return nil })
		for _, k := range oks {
			m, err := db.decodeOut(k, ob.Get(k))
			if err != nil {
				return err
			}
			var h enc
			h.uint(m.ID)
			h.str(m.Key)
			h.str(m.Kind)
			h.str(m.To)
			h.str(m.ToName)
			h.str(m.CaseID)
			h.str(m.Subject)
			h.uint(0)
			h.str(m.MessageID)
			h.str(m.InReplyTo)
			h.bool(m.Auto)
			h.time(m.Created)
			h.int(int64(m.Attempts))
			h.time(m.NextTry)
			h.str(m.LastError)
			var p enc
			p.str(m.Text)
			p.bytes(m.Calendar)
			if err := ob.Put(k, appendFrame2(nil, db.seal, k, h.b, p.b)); err != nil {
				return err
			}
			to := tx.Bucket(bucketOutboxTo)
			if err := to.Delete(append(append(db.outTo(m.To), sep), k...)); err != nil {
				return err
			}
			if err := to.Put(append(prefixOf(m.To), k...), []byte{}); err != nil {
				return err
			}
			if err := tx.Bucket(bucketOutboxKey).Delete(db.outKey(m.Key)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketOutboxKey).Put([]byte(m.Key), k); err != nil {
				return err
			}
		}
		for _, k := range sentKeys {
			if err := tx.Bucket(bucketSent).Delete(db.outKey(k)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSent).Put([]byte(k), timeKey(db.now())); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaSchemaVersion, be64(5))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrate6SealsCaseRecords(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  []byte
	}{{"no key", nil}, {"key", testKey}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "m.db")
			clk := newClock()
			db := openAt(t, path, clk, Options{EncryptionKey: tt.key})
			addr := caseMarkers["party address"]
			c := newCase(t, db, "Lease "+caseMarkers["title"], "U1",
				casebot.Party{Role: casebot.RoleClaimant, Name: caseMarkers["party name"], Email: addr})
			update(t, db, c.ID, "deadline.add", func(c *casebot.Case) {
				c.Deadlines = append(c.Deadlines, casebot.Deadline{N: 1, Due: db.now().Add(-time.Hour), Text: "brief " + caseMarkers["deadline"]})
				c.Sessions = append(c.Sessions, casebot.Session{N: 1, Start: db.now().Add(72 * time.Hour), Duration: time.Hour, Title: caseMarkers["session title"], Where: caseMarkers["session where"]})
			})
			res, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1,
				Items: []casebot.MailItem{{UID: 1, DedupeKey: "e1", Note: emailNote(c.ID, addr, "reply text", "m1@x")}}})
			if err != nil || res[0].Outcome != casebot.OutcomeNote {
				t.Fatalf("Ingest = %+v, %v", res, err)
			}
			sent := "invite/" + c.ID + "/" + addr
			if err := db.Enqueue(ctx, casebot.OutMessage{Key: sent, Kind: casebot.OutEmail, To: addr, CaseID: c.ID, Text: "hello"}); err != nil {
				t.Fatal(err)
			}
			due, err := db.OutboxDue(ctx, clk.Now(), 0)
			if err != nil || len(due) != 1 {
				t.Fatalf("OutboxDue = %+v, %v", due, err)
			}
			if err := db.OutboxDone(ctx, due[0].ID); err != nil {
				t.Fatal(err)
			}
			pending := "invite/" + c.ID + "/2/" + addr
			if err := db.Enqueue(ctx, casebot.OutMessage{Key: pending, Kind: casebot.OutEmail, To: addr, ToName: caseMarkers["party name"], CaseID: c.ID, Subject: "Invitation", Text: "come"}); err != nil {
				t.Fatal(err)
			}
			downgradeTo5(t, db, sent)
			if tt.key != nil {
				if raw := backupBytes(t, db); !found(raw, caseMarkers["title"]) || !found(raw, addr) {
					t.Fatal("the schema 5 store shows no title or address in the clear: the test proves nothing")
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			db = openAt(t, path, clk, Options{EncryptionKey: tt.key})
			mustCheck(t, db, "migration 6")
			got, err := db.Case(ctx, c.ID)
			if err != nil || got.Title != c.Title || len(got.Parties) != 1 || got.Parties[0].Email != addr || got.Token != c.Token ||
				got.Deadlines[0].Text != "brief "+caseMarkers["deadline"] || got.Sessions[0].Where != caseMarkers["session where"] {
				t.Fatalf("Case after migration = %+v, %v", got, err)
			}
			for _, q := range []string{addr, "markerpartyname", caseMarkers["party name"], "zq"} {
				if m, err := db.FindParty(ctx, q); err != nil || len(m) != 1 || m[0].CaseID != c.ID {
					t.Errorf("FindParty(%q) after migration = %+v, %v", q, m, err)
				}
			}
			if od, err := db.Overdue(ctx, clk.Now(), "U1"); err != nil || len(od) != 1 || od[0].Deadline.Text != "brief "+caseMarkers["deadline"] || od[0].Title != c.Title {
				t.Errorf("Overdue after migration = %+v, %v", od, err)
			}
			if ns, err := db.Notes(ctx, c.ID); err != nil || len(ns) != 1 || ns[0].Author != addr {
				t.Errorf("Notes after migration = %+v, %v", ns, err)
			}
			evs, err := db.Audit(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			var intake bool
			for _, e := range evs {
				if e.Action == "email.note" {
					intake = e.Actor == addr
				}
			}
			if !intake {
				t.Errorf("the email.note event lost its actor: %+v", evs)
			}
			if err := db.Enqueue(ctx, casebot.OutMessage{Key: sent, Kind: casebot.OutEmail, To: addr, CaseID: c.ID, Text: "again"}); err != nil {
				t.Fatal(err)
			}
			if n, _ := db.OutboxDepth(ctx); n != 1 {
				t.Errorf("%d messages pending, want the one pending before the migration (a sent one was queued again?)", n)
			}
			due, err = db.OutboxDue(ctx, clk.Now(), 0)
			if err != nil || len(due) != 1 || due[0].To != addr || due[0].Key != pending || due[0].ToName != caseMarkers["party name"] || due[0].Subject != "Invitation" {
				t.Fatalf("OutboxDue after migration = %+v, %v", due, err)
			}
			if err := db.Enqueue(ctx, casebot.OutMessage{Key: pending, Kind: casebot.OutEmail, To: addr, CaseID: c.ID, Text: "twice"}); err != nil {
				t.Fatal(err)
			}
			if err := db.OutboxDone(ctx, due[0].ID); err != nil {
				t.Fatal(err)
			}
			if n, _ := db.OutboxDepth(ctx); n != 0 {
				t.Errorf("outbox depth %d after delivering the pending message", n)
			}
			mustCheck(t, db, "delivery after migration")
			if err := db.testView(func(tx kv.Tx) error {
				if k, _ := tx.Bucket(bucketOutboxTo).Cursor().First(); k != nil {
					t.Errorf("outbox_to keeps %q after the queue emptied", k)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if tt.key == nil {
				return
			}
			raw := backupBytes(t, db)
			for field, m := range caseMarkers {
				if found(raw, m) || found(raw, casebot.NormalizeName(m)) {
					t.Errorf("after migration 6 a backup holds the %s marker %s", field, m)
				}
			}
		})
	}
}
