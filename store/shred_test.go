package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// caseMarkers are planted in every content field of a case record and in
// what is filed about it (party indexes, note headers, intake audit
// events); with an encryption key none may reach the file in the clear.
var caseMarkers = map[string]string{
	"title":         "MARKERTITLE4q8w",
	"party name":    "Markerpartyname Zq",
	"party address": "markeraddr7k@example.com",
	"deadline":      "MARKERDEADLINE2v5n",
	"session title": "MARKERSESSION9x1c",
	"session where": "MARKERWHERE6b3m",
	"outcome":       "MARKEROUTCOME8j2h",
	"doc name":      "MARKERDOCNAME5t7y",
	"doc content":   "MARKERDOCBODY1p9s",
}

// plantCaseRecord fills a case's record and files an email with a
// document from its party, closes the case, closes the store and returns
// the raw file bytes.
func plantCaseRecord(t *testing.T, key []byte) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.db")
	db := openAt(t, path, newClock(), Options{EncryptionKey: key})
	ctx := context.Background()
	addr := caseMarkers["party address"]
	c := newCase(t, db, "Lease "+caseMarkers["title"], "U1",
		casebot.Party{Role: casebot.RoleClaimant, Name: caseMarkers["party name"], Email: addr})
	update(t, db, c.ID, "deadline.add", func(c *casebot.Case) {
		c.Deadlines = append(c.Deadlines, casebot.Deadline{N: 1, Due: db.now().Add(48 * time.Hour), Text: "brief " + caseMarkers["deadline"]})
		c.Sessions = append(c.Sessions, casebot.Session{N: 1, Start: db.now().Add(72 * time.Hour), Duration: time.Hour,
			Title: "joint " + caseMarkers["session title"], Where: "room " + caseMarkers["session where"]})
	})
	content := []byte("statement " + caseMarkers["doc content"])
	sum := sha256.Sum256(content)
	n := emailNote(c.ID, addr, "reply text", "m1@x")
	n.Email.Attachments = []casebot.Attachment{{Name: caseMarkers["doc name"] + ".txt", Type: "text/plain", Size: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), Content: content}}
	res, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1, NoticeFeed: true,
		Items: []casebot.MailItem{{UID: 1, DedupeKey: "e1", Note: n}}})
	if err != nil || res[0].Outcome != casebot.OutcomeNote {
		t.Fatalf("Ingest = %+v, %v", res, err)
	}
	// Everything reads back.
	got, err := db.Case(ctx, c.ID)
	if err != nil || got.Title != c.Title || len(got.Parties) != 1 || got.Parties[0].Email != addr ||
		got.Deadlines[0].Text != "brief "+caseMarkers["deadline"] || got.Sessions[0].Where != "room "+caseMarkers["session where"] {
		t.Fatalf("Case = %+v, %v", got, err)
	}
	if m, err := db.FindParty(ctx, addr); err != nil || len(m) != 1 || m[0].CaseID != c.ID {
		t.Fatalf("FindParty(%s) = %+v, %v", addr, m, err)
	}
	if m, err := db.FindParty(ctx, "markerpartyname"); err != nil || len(m) != 1 || m[0].Party.Name != caseMarkers["party name"] {
		t.Fatalf("FindParty(name) = %+v, %v", m, err)
	}
	if ns, err := db.Notes(ctx, c.ID); err != nil || len(ns) != 1 || ns[0].Author != addr {
		t.Fatalf("Notes = %+v, %v; want the email note by %s", ns, err, addr)
	}
	evs, err := db.Audit(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var intake int
	for _, e := range evs {
		if e.Action == "email.note" || e.Action == "doc.add" {
			intake++
			if e.Actor != addr && e.About.Who != addr {
				t.Errorf("%s event names neither actor nor About.Who %s: %+v", e.Action, addr, e)
			}
		}
	}
	if intake != 2 {
		t.Errorf("audit trail has %d intake events, want email.note and doc.add: %+v", intake, evs)
	}
	refs, err := db.DeadlinesBetween(ctx, time.Time{}, db.now().Add(100*time.Hour))
	if err != nil || len(refs) != 1 || refs[0].Title != c.Title || refs[0].Deadline.Text != "brief "+caseMarkers["deadline"] {
		t.Fatalf("DeadlinesBetween = %+v, %v", refs, err)
	}
	srefs, err := db.SessionsBetween(ctx, db.now(), db.now().Add(100*time.Hour))
	if err != nil || len(srefs) != 1 || srefs[0].Session.Where != "room "+caseMarkers["session where"] {
		t.Fatalf("SessionsBetween = %+v, %v", srefs, err)
	}
	update(t, db, c.ID, "case.close", func(c *casebot.Case) {
		c.Status, c.Outcome, c.OutcomeText = casebot.StatusSettled, casebot.StatusSettled, "paid "+caseMarkers["outcome"]
	})
	mustCheck(t, db, "planting")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := readStore(t, path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestEncryptionSealsCaseRecord(t *testing.T) {
	raw := plantCaseRecord(t, testKey)
	for field, m := range caseMarkers {
		if found(raw, m) || found(raw, casebot.NormalizeName(m)) {
			t.Errorf("the encrypted store file holds the %s marker %s", field, m)
		}
	}
}

// Without a key the same check finds the case record's markers, so the
// test above can fail.
func TestNoKeyLeavesCaseRecordPlain(t *testing.T) {
	raw := plantCaseRecord(t, nil)
	for _, field := range []string{"title", "party name", "party address", "deadline", "session where", "outcome"} {
		if !found(raw, caseMarkers[field]) {
			t.Errorf("the plain store file lacks the %s marker: the check cannot see plaintext", field)
		}
	}
}

// Every field of a case survives its record, with and without a key, and
// a record's clear header holds nothing of its content.
func TestCaseRecordCoversEveryField(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		s, err := newSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		db := &DB{seal: s}
		n := 0
		var c casebot.Case
		fill(t, reflect.ValueOf(&c).Elem(), &n)
		if c.Purged == nil || len(c.Parties) == 0 || len(c.Deadlines) == 0 || len(c.Sessions) == 0 {
			t.Fatalf("fill left parts of the case out: %+v", c)
		}
		// Content fields get strings of their own (fill's repeat).
		c.Title, c.Token, c.OutcomeText = "QQtitle", "QQtoken", "QQoutcome"
		for i := range c.Parties {
			c.Parties[i].Name, c.Parties[i].Email, c.Parties[i].Role = "QQname", "QQemail", "QQrole"
		}
		for i := range c.Deadlines {
			c.Deadlines[i].Text, c.Deadlines[i].MetBy = "QQtext", "QQmetby"
		}
		for i := range c.Sessions {
			c.Sessions[i].Title, c.Sessions[i].Where = "QQstitle", "QQwhere"
		}
		v := encodeCase(s, &c)
		got, err := db.decodeCase([]byte(c.ID), v)
		if err != nil || !reflect.DeepEqual(*got, c) {
			t.Errorf("case round trip (key %v):\n got %+v, %v\nwant %+v", key != nil, got, err, c)
		}
		h, _, err := unframe2(v)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(h, []byte("QQ")); i >= 0 {
			t.Errorf("the clear header holds content: %q", h[i:min(len(h), i+10)])
		}
		hc, _, err := decodeCaseHeader([]byte(c.ID), v)
		if err != nil || hc.ID != c.ID || hc.Mediator != c.Mediator || hc.Title != "" || len(hc.Parties) != len(c.Parties) ||
			!hc.Deadlines[0].Due.Equal(c.Deadlines[0].Due) || hc.Deadlines[0].Text != "" {
			t.Errorf("header only = %+v, %v", hc, err)
		}
	}
}
