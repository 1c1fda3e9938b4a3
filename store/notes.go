package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// AddNote appends a note to its case: it numbers it NoteCount+1, sets its
// time, touches the case (NoteCount, Updated, Activity) and commits the
// change's audit event and outbox messages with it. The event names the
// note (casebot.NoteAbout) unless the change's About says otherwise; its
// About.N is the note's number. Concurrent calls are
// coalesced into shared commits. It returns the stored note, or ENOTFOUND
// when the case does not exist.
func (db *DB) AddNote(ctx context.Context, in *casebot.Note, ch casebot.Change) (*casebot.Note, error) {
	if ch.Action == "" {
		ch.Action = "note.add"
	}
	var out *casebot.Note
	// Batch may run this more than once: it reads everything it needs from
	// the transaction and only assigns out.
	err := db.batch(readingCase(ctx, in.CaseID, bucketNotes, bucketAudit), func(tx kv.Tx) error {
		old, err := db.getCase(tx, in.CaseID)
		if err != nil {
			return err
		}
		if old.Purged != nil {
			return casebot.ErrPurged(old.ID)
		}
		now := db.now()
		n := *in
		n.N = old.NoteCount + 1
		n.Created = now
		if n.Source == "" {
			n.Source = casebot.SourceSlack
		}
		// Notes are stored in write order, so a batch of notes to many
		// cases appends to one end of the tree instead of dirtying a page
		// per case; note_idx finds a case's notes.
		seq, err := appendBucket(tx, bucketNotes).NextSequence()
		if err != nil {
			return fmt.Errorf("note sequence: %w", err)
		}
		key := be64(seq)
		v, err := db.encodeCaseNote(tx, key, &n)
		if err != nil {
			return err
		}
		if err := db.putNoteTx(tx, nil, old, &n, seq, v); err != nil {
			return err
		}
		c := cloneCase(old)
		c.NoteCount = n.N
		c.Updated, c.Activity = now, now
		if err := db.putCase(tx, old, c); err != nil {
			return err
		}
		rec := ch
		if rec.About.IsZero() {
			rec.About = casebot.NoteAbout(&n)
		}
		rec.About.N = n.N
		if err := db.record(tx, n.CaseID, rec, now); err != nil {
			return err
		}
		out = &n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: add note to %s: %w", in.CaseID, err)
	}
	return out, nil
}

// Notes returns the notes of a case in order, decrypted, or ENOTFOUND.
func (db *DB) Notes(ctx context.Context, caseID string) ([]*casebot.Note, error) {
	var out []*casebot.Note
	reads := kv.Reads{Keys: []kv.Key{caseRead(caseID)}, Seeks: []kv.Seek{{Bucket: bucketNoteN, Key: prefixOf(caseID)}}}
	err := db.view(kv.WithReads(ctx, reads), func(tx kv.Tx) error {
		if tx.Bucket(bucketCases).Get([]byte(caseID)) == nil {
			return errNoCase(caseID)
		}
		var err error
		out, err = db.caseNotes(tx, caseID)
		return notesUnreadable(caseID, err)
	})
	if err != nil {
		return nil, fmt.Errorf("store: notes of %s: %w", caseID, err)
	}
	return out, nil
}

// notesUnreadable is err of reading the notes of caseID, told as such
// when the case's data key is destroyed.
func notesUnreadable(caseID string, err error) error {
	if errors.Is(err, errKeyDestroyed) {
		return casebot.Errorf(casebot.EUNAVAIL, "The notes of %s cannot be read: the case's data key is not in the keyring (the case was purged).", caseID)
	}
	return err
}

func (db *DB) caseNotes(tx kv.Tx, caseID string) ([]*casebot.Note, error) {
	var out []*casebot.Note
	prefix := prefixOf(caseID)
	notes := tx.Bucket(bucketNotes)
	// The index first, then the records in one go where the engine reads
	// many keys at once (PostgreSQL: one round trip, not one per note).
	type entry struct{ k, seq []byte }
	var idx []entry
	c := tx.Bucket(bucketNoteN).Cursor()
	for k, seq := c.Seek(prefix); hasPrefix(k, prefix); k, seq = c.Next() {
		idx = append(idx, entry{k, seq})
	}
	if _, ok := notes.(kv.Prefetcher); ok && len(idx) > 1 {
		seqs := make([][]byte, len(idx))
		for i, e := range idx {
			seqs[i] = e.seq
		}
		kv.Prefetch(notes, seqs)
	}
	for _, e := range idx {
		k, seq := e.k, e.seq
		v := notes.Get(seq)
		if v == nil {
			return nil, fmt.Errorf("note %q: record %x missing", k, seq)
		}
		n, err := db.decodeNote(seq, v)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Audit returns the case's audit trail in order, or ENOTFOUND.
func (db *DB) Audit(ctx context.Context, caseID string) ([]casebot.AuditEvent, error) {
	var out []casebot.AuditEvent
	err := db.view(ctx, func(tx kv.Tx) error {
		if tx.Bucket(bucketCases).Get([]byte(caseID)) == nil {
			return errNoCase(caseID)
		}
		prefix := prefixOf(caseID)
		log := tx.Bucket(bucketAudit)
		c := tx.Bucket(bucketAuditN).Cursor()
		for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
			v := log.Get(k[len(prefix):])
			if v == nil {
				return fmt.Errorf("audit event %q missing", k)
			}
			ev, err := db.decodeAudit(k[len(prefix):], v)
			if errors.Is(err, errKeyDestroyed) {
				return fmt.Errorf("%w%.0w", casebot.Errorf(casebot.EUNAVAIL, "The audit trail of %s cannot be read: the case's data key is not in the keyring (the case was purged).", caseID), err)
			} else if err != nil {
				return fmt.Errorf("decode audit event %q: %w", k, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: audit of %s: %w", caseID, err)
	}
	return out, nil
}

// RecordView appends a view of case content (action "view", About.Text
// what, e.g. "the timeline") to the case's audit trail. It returns
// ENOTFOUND for a missing case.
func (db *DB) RecordView(ctx context.Context, caseID, actor, what string) error {
	err := db.batch(readingCase(ctx, caseID, bucketAudit), func(tx kv.Tx) error {
		if tx.Bucket(bucketCases).Get([]byte(caseID)) == nil {
			return errNoCase(caseID)
		}
		return db.appendAudit(tx, casebot.AuditEvent{CaseID: caseID, At: db.now(), Actor: actor, Action: "view", About: viewed(what)})
	})
	if err != nil {
		return fmt.Errorf("store: record view of %s: %w", caseID, err)
	}
	return nil
}

// RecordViews appends a view (action "view", About.Text what) to the audit
// trail of every case in caseIDs, in one transaction: all or none. It
// returns ENOTFOUND when one of the cases does not exist.
func (db *DB) RecordViews(ctx context.Context, caseIDs []string, actor, what string) error {
	if len(caseIDs) == 0 {
		return nil
	}
	err := db.batch(readingCases(ctx, caseIDs, bucketAudit), func(tx kv.Tx) error {
		now := db.now()
		for _, id := range caseIDs {
			if tx.Bucket(bucketCases).Get([]byte(id)) == nil {
				return errNoCase(id)
			}
			if err := db.appendAudit(tx, casebot.AuditEvent{CaseID: id, At: now, Actor: actor, Action: "view", About: viewed(what)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record views of %d cases: %w", len(caseIDs), err)
	}
	return nil
}

// viewed names what a view showed.
func viewed(what string) casebot.About { return casebot.About{Text: casebot.Headline(what)} }

// snippet returns about width characters of text around byte offset at,
// on rune boundaries, with … marking cuts and whitespace folded.
func snippet(text string, at, width int) string {
	start := max(at-width/3, 0)
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	end := start
	for n := 0; end < len(text) && n < width; n++ {
		if text[end] < utf8.RuneSelf {
			end++
			continue
		}
		_, size := utf8.DecodeRuneInString(text[end:])
		end += size
	}
	// strings.Join(strings.Fields(text[start:end]), " ") with the marks,
	// in one allocation, copying runs of ASCII that are not space at once.
	var b strings.Builder
	b.Grow(end - start + 2*len("…"))
	if start > 0 {
		b.WriteString("…")
	}
	space := false // a space is owed before the next word
	wrote := false
	for i := start; i < end; {
		j := i
		for j < end && text[j] < utf8.RuneSelf && !asciiSpace[text[j]] {
			j++
		}
		if j == i { // a space, or a rune beyond ASCII
			r, n := utf8.DecodeRuneInString(text[i:end])
			if unicode.IsSpace(r) {
				space, i = wrote, i+n
				continue
			}
			j = i + n // as it stands, even a broken byte
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteString(text[i:j])
		wrote, i = true, j
	}
	if end < len(text) {
		b.WriteString("…")
	}
	return b.String()
}

// asciiSpace holds the ASCII bytes unicode.IsSpace reports.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// putNoteTx writes note n of case c, its record v stored under seq, with
// what indexes it: note_idx, the search postings (into pb, or now when pb
// is nil) and idx_note_med. Every way a note is written goes through it,
// and every note it writes is new (seq fresh from the notes' sequence,
// n.N the case's next number): its keys are put with PutNew.
func (db *DB) putNoteTx(tx kv.Tx, pb *postingBatch, c *casebot.Case, n *casebot.Note, seq uint64, v []byte) error {
	key := be64(seq)
	if err := tx.Bucket(bucketNotes).PutNew(key, v); err != nil {
		return fmt.Errorf("put note: %w", err)
	}
	if err := tx.Bucket(bucketNoteN).PutNew(numberedKey(n.CaseID, n.N), key); err != nil {
		return fmt.Errorf("put note index: %w", err)
	}
	if err := db.indexNoteTx(tx, pb, n, seq); err != nil {
		return err
	}
	return putNoteMedTx(tx, c, n, seq)
}
