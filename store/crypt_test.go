package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casebot/casebot"
)

// markers are planted in every encrypted field; none may reach the file.
var markers = map[string]string{
	"body":       "MARKERBODY7f3a9",
	"fulltext":   "MARKERFULLTEXT2b8c",
	"raw":        "MARKERRAWMSG5d1e",
	"attachment": "MARKERATTACH9c4f",
	"outbox":     "MARKEROUTBOX1a6b",
	"calendar":   "MARKERCALENDAR3e7d",
	// The audit trail names notes by their first line or email subject.
	"firstline": "MARKERFIRSTLINE8h2k",
	"subject":   "MARKERSUBJECT4m9p",
	// The case record and the party indexes: sealed under the case's data
	// key, or hashed.
	"title":         "MARKERCASETITLE6w2e",
	"party name":    "Markerparty Nameq3z",
	"party address": "markerparty5u@example.com",
}

// plantMarkers writes a note with an email and an outbox message carrying
// the markers, and a private note whose first line is one (the audit events
// of both name them), then closes the store and returns the raw file bytes.
func plantMarkers(t *testing.T, key []byte) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "enc.db")
	db := openAt(t, path, newClock(), Options{EncryptionKey: key})
	ctx := context.Background()
	addr := markers["party address"]
	c := newCase(t, db, "secret case "+markers["title"], "U1", casebot.Party{Role: casebot.RoleClaimant, Name: markers["party name"], Email: addr})
	note := &casebot.Note{CaseID: c.ID, Author: addr, Source: casebot.SourceEmail, Body: "reply " + markers["body"],
		Email: &casebot.EmailMeta{From: addr, Subject: "Re: offer " + markers["subject"], FullText: "full " + markers["fulltext"],
			Raw:         []byte(markers["raw"]),
			Attachments: []casebot.Attachment{{Name: "offer.txt", Type: "text/plain", Content: []byte(markers["attachment"])}}}}
	out := casebot.OutMessage{Key: "k1/" + addr, Kind: casebot.OutEmail, To: addr, ToName: markers["party name"], CaseID: c.ID, Text: "dear party " + markers["outbox"], Calendar: []byte(markers["calendar"])}
	if _, err := db.AddNote(ctx, note, casebot.Change{Actor: addr, Outbox: []casebot.OutMessage{out}}); err != nil {
		t.Fatal(err)
	}
	caucus := &casebot.Note{CaseID: c.ID, Author: "U1", Private: true, Body: markers["firstline"] + " of the caucus\nand more"}
	if _, err := db.AddNote(ctx, caucus, casebot.Change{Actor: "U1"}); err != nil {
		t.Fatal(err)
	}
	// Reading back decrypts everything.
	ns, err := db.Notes(ctx, c.ID)
	if err != nil || len(ns) != 2 || ns[0].Body != note.Body || ns[0].Email.FullText != note.Email.FullText ||
		!bytes.Equal(ns[0].Email.Raw, note.Email.Raw) || !bytes.Equal(ns[0].Email.Attachments[0].Content, note.Email.Attachments[0].Content) {
		t.Fatalf("Notes = %+v, %v", ns, err)
	}
	due, err := db.OutboxDue(ctx, newClock().Now(), 0)
	if err != nil || len(due) != 1 || due[0].Text != out.Text || !bytes.Equal(due[0].Calendar, out.Calendar) {
		t.Fatalf("OutboxDue = %+v, %v", due, err)
	}
	evs, err := db.Audit(ctx, c.ID)
	if err != nil || len(evs) != 3 || !strings.Contains(evs[1].About.Text, markers["subject"]) || !strings.Contains(evs[2].About.Text, markers["firstline"]) {
		t.Fatalf("Audit = %+v, %v: the events do not name the notes", evs, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := readStore(t, path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// found reports where the marker appears in the file, as text or in base64.
func found(raw []byte, m string) bool {
	if bytes.Contains(raw, []byte(m)) {
		return true
	}
	// JSON stores []byte fields in base64; a bare base64 of the marker
	// (at each alignment) would also give it away.
	for pad := 0; pad < 3; pad++ {
		enc := base64.StdEncoding.EncodeToString(append(bytes.Repeat([]byte{' '}, pad), m...))
		if bytes.Contains(raw, []byte(enc[4*((pad+2)/3):len(enc)-4])) {
			return true
		}
	}
	return false
}

func TestEncryptionLeavesNoPlaintext(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	raw := plantMarkers(t, key)
	for field, m := range markers {
		if found(raw, m) {
			t.Errorf("the encrypted store file holds the %s marker %s", field, m)
		}
	}
}

// Without a key the same check finds every marker, so the test above can fail.
func TestNoKeyLeavesPlaintext(t *testing.T) {
	raw := plantMarkers(t, nil)
	for field, m := range markers {
		if !found(raw, m) {
			t.Errorf("the plain store file lacks the %s marker %s: the check cannot see plaintext", field, m)
		}
	}
}

func TestSealerRefusesTampering(t *testing.T) {
	key := make([]byte, 32)
	s, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	v := s.seal([]byte("k1"), []byte("hello"))
	if _, err := s.open([]byte("k2"), v); err == nil {
		t.Error("a value moved to another key decrypted")
	}
	v[len(v)-1] ^= 1
	if _, err := s.open([]byte("k1"), v); err == nil {
		t.Error("a tampered value decrypted")
	}
	plain, _ := newSealer(nil)
	if _, err := plain.open([]byte("k1"), s.seal([]byte("k1"), []byte("x"))); err != errNoKey {
		t.Errorf("open without key: %v", err)
	}
}
