package store

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// fill sets every field reachable from v (a pointer) to a value that
// differs from its zero value, so a field the binary codec forgets shows up
// as a difference after a round trip.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), n)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 3, 2, 9, 0, *n, *n, time.FixedZone("", 3600))))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), n)
		}
	case reflect.String:
		v.SetString("s" + string(rune('a'+*n%26)) + "é")
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint64, reflect.Uint32, reflect.Uint8:
		v.SetUint(uint64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), n)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(t, k, n)
			fill(t, e, n)
			v.SetMapIndex(k, e)
		}
	default:
		t.Fatalf("fill: unhandled kind %s (%s): teach the binary codec and this test the new field", v.Kind(), v.Type())
	}
}

func TestBinaryCodecCoversEveryField(t *testing.T) {
	for _, key := range [][]byte{nil, bytes.Repeat([]byte{7}, 32)} {
		s, err := newSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		db := &DB{seal: s}
		k := be64(42)
		n := 0

		var note casebot.Note
		fill(t, reflect.ValueOf(&note).Elem(), &n)
		v, err := db.encodeNote(k, &note)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.decodeNote(k, v)
		if err != nil || !reflect.DeepEqual(*got, note) {
			t.Errorf("note round trip:\n got %+v %+v, %v\nwant %+v %+v", got, got.Email, err, note, note.Email)
		}
		note.Email.FullText = note.Body // stored once, read back twice
		v, _ = db.encodeNote(k, &note)
		if got, err := db.decodeNote(k, v); err != nil || got.Email.FullText != note.Body {
			t.Errorf("note with FullText = Body: %+v, %v", got, err)
		}
		note.Email = nil
		v, _ = db.encodeNote(k, &note)
		if got, err := db.decodeNote(k, v); err != nil || !reflect.DeepEqual(*got, note) {
			t.Errorf("note without email: %+v, %v", got, err)
		}

		var m casebot.OutMessage
		fill(t, reflect.ValueOf(&m).Elem(), &n)
		v, err = db.encodeOut(nil, k, &m)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.decodeOut(k, v); err != nil || !reflect.DeepEqual(*got, m) {
			t.Errorf("outbox round trip:\n got %+v, %v\nwant %+v", got, err, m)
		}

		if m.Notice == nil || m.Notice.Digest == nil || len(m.Notice.Digest.Caseloads[0].ByPriority) != 2 {
			t.Fatalf("fill left the outbox message's notice or digest out: %+v", m.Notice)
		}
		// A payload written before notices ends after the calendar: it
		// decodes as a message without one.
		old := m
		old.Notice = nil
		v, _ = db.encodeOut(nil, k, &old)
		if got, err := db.decodeOut(k, v); err != nil || !reflect.DeepEqual(*got, old) {
			t.Errorf("outbox message without a notice: %+v, %v", got, err)
		}
		if len(m.Attach) == 0 || len(m.Notice.Met) == 0 {
			t.Fatalf("fill left the attachments or the notice's met deadlines out: %+v", m)
		}
		// Without attachments, or without a notice but with attachments.
		for _, o := range []casebot.OutMessage{{Text: "a", Notice: m.Notice}, {Text: "b", Attach: []int{3, 1}}} {
			v, _ = db.encodeOut(nil, k, &o)
			if got, err := db.decodeOut(k, v); err != nil || !reflect.DeepEqual(*got, o) {
				t.Errorf("outbox message %+v: got %+v, %v", o, got, err)
			}
		}
		v, _ = db.encodeOut(nil, k, &m)
		// Without a key, a payload cut where an optional part starts reads
		// as a message without that part (a key's AEAD refuses every cut).
		tail := attachLen(&m)
		for i := 1; i < len(v); i++ {
			if _, err := db.decodeOut(k, v[:i]); err == nil && !(key == nil && (i == len(v)-tail || i == len(v)-tail-noticeLen(t, &m))) {
				t.Errorf("outbox message truncated to %d of %d bytes decoded", i, len(v))
			}
		}

		var ev casebot.AuditEvent
		fill(t, reflect.ValueOf(&ev).Elem(), &n)
		// Without a keyring the master key seals (no transaction needed).
		if v, err = db.encodeAudit(nil, k, &ev); err != nil {
			t.Fatal(err)
		}
		if got, err := db.decodeAudit(k, v); err != nil || !reflect.DeepEqual(got, ev) {
			t.Errorf("audit round trip: %+v, %v, want %+v", got, err, ev)
		}
		for i := 1; i < len(v); i++ {
			if _, err := db.decodeAudit(k, v[:i]); err == nil {
				t.Errorf("audit event truncated to %d of %d bytes decoded", i, len(v))
			}
		}
		// Format 2 events (all in the clear, no About) still read.
		ev2 := ev
		ev2.About = casebot.About{}
		if got, err := db.decodeAudit(k, appendAuditEvent(nil, &ev2)); err != nil || !reflect.DeepEqual(got, ev2) {
			t.Errorf("format 2 audit event: %+v, %v, want %+v", got, err, ev2)
		}

		// Every truncation fails cleanly instead of panicking or
		// returning a half record as whole.
		note.Email = &casebot.EmailMeta{Raw: []byte("raw"), Attachments: []casebot.Attachment{{Name: "a", Content: []byte("x")}}}
		v, _ = db.encodeNote(k, &note)
		for i := 1; i < len(v); i++ {
			if _, err := db.decodeNote(k, v[:i]); err == nil {
				t.Errorf("note truncated to %d of %d bytes decoded", i, len(v))
			}
		}
	}
}

// Records written before the binary format (JSON, framed or bare) are
// still read, beside binary ones, so an existing store needs no rewrite.
func TestJSONRecordsStillRead(t *testing.T) {
	for _, key := range [][]byte{nil, bytes.Repeat([]byte{9}, 32)} {
		db := openAt(t, t.TempDir()+"/old.db", newClock(), Options{EncryptionKey: key})
		ctx := context.Background()
		c := newCase(t, db, "old records", "U1")
		in := &casebot.Note{CaseID: c.ID, Author: "a@example.com", Source: casebot.SourceEmail, Body: "reply",
			Email: &casebot.EmailMeta{From: "a@example.com", Subject: "Re", FullText: "reply\n> quote", Raw: []byte("raw message"), Date: time.Date(2026, 3, 1, 8, 0, 0, 0, time.FixedZone("", -7200)),
				Attachments: []casebot.Attachment{{Name: "a.txt", Type: "text/plain", Size: 3, Content: []byte("abc")}}}}
		out := casebot.OutMessage{Key: "k1", Kind: casebot.OutEmail, To: "a@example.com", CaseID: c.ID, Text: "text", Calendar: []byte("cal"),
			Buttons: []casebot.Button{{ActionID: "x", Label: "X", Value: "1"}}}
		if _, err := db.AddNote(ctx, in, casebot.Change{Actor: "a@example.com", Outbox: []casebot.OutMessage{out}}); err != nil {
			t.Fatal(err)
		}
		wantNotes, _ := db.Notes(ctx, c.ID)
		wantOut, _ := db.OutboxDue(ctx, newClock().Now(), 0)
		wantAudit, _ := db.Audit(ctx, c.ID)
		if len(wantNotes) != 1 || len(wantOut) != 1 || len(wantAudit) != 2 {
			t.Fatalf("set-up: %d notes, %d outbox, %d audit", len(wantNotes), len(wantOut), len(wantAudit))
		}
		// Rewrite every record as the JSON encoder of format 1 wrote it.
		err := db.testUpdate(func(tx kv.Tx) error {
			n := wantNotes[0]
			nk := tx.Bucket(bucketNoteN).Get(numberedKey(c.ID, 1))
			h, _ := json.Marshal(noteHeader{CaseID: n.CaseID, N: n.N, Author: n.Author, Source: n.Source, Private: n.Private, Created: n.Created})
			p, _ := json.Marshal(notePayload{Body: n.Body, Email: n.Email})
			if err := tx.Bucket(bucketNotes).Put(nk, frame(h, db.seal.seal(nk, p))); err != nil {
				return err
			}
			m := wantOut[0]
			ok := be64(m.ID)
			hm := m
			hm.Text, hm.Calendar = "", nil
			h, _ = json.Marshal(&hm)
			p, _ = json.Marshal(outPayload{Text: m.Text, Calendar: m.Calendar})
			if err := tx.Bucket(bucketOutbox).Put(ok, frame(h, db.seal.seal(ok, p))); err != nil {
				return err
			}
			return tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error {
				ev, err := db.decodeAudit(k, v)
				if err != nil {
					return err
				}
				j, _ := json.Marshal(ev)
				return tx.Bucket(bucketAudit).Put(append([]byte(nil), k...), j)
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.Notes(ctx, c.ID); err != nil || !reflect.DeepEqual(got, wantNotes) {
			t.Errorf("JSON note: %+v, %v, want %+v", got, err, wantNotes)
		}
		if got, err := db.OutboxDue(ctx, newClock().Now(), 0); err != nil || !reflect.DeepEqual(got, wantOut) {
			t.Errorf("JSON outbox message: %+v, %v, want %+v", got, err, wantOut)
		}
		if got, err := db.Audit(ctx, c.ID); err != nil || !reflect.DeepEqual(got, wantAudit) {
			t.Errorf("JSON audit: %+v, %v, want %+v", got, err, wantAudit)
		}
		if ms, err := db.NotesSince(ctx, time.Time{}); err != nil || len(ms) != 1 || ms[0].N != 1 {
			t.Errorf("NotesSince over a JSON note: %+v, %v", ms, err)
		}
	}
}

// noticeLen is how many bytes m's notice takes at the end of its record.
func attachLen(m *casebot.OutMessage) int {
	e := enc{}
	appendOutPayload(&e, &casebot.OutMessage{Attach: m.Attach})
	return len(e.b) - 2 // the empty text and calendar
}

func noticeLen(t *testing.T, m *casebot.OutMessage) int {
	t.Helper()
	var e enc
	appendNotice(&e, m.Notice)
	return len(e.b)
}
