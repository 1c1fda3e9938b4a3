package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Ingest commits a batch of fetched messages in one transaction: the notes
// (with their cases touched, audit events and mediator notices), the
// quarantined items, the bounce flags, the de-duplication keys and the
// mailbox's high-water mark (and, when given, how far \Seen was applied). Either all of it is stored or none of it, so a
// crash at any moment loses or doubles nothing. A new UIDVALIDITY resets the
// mark. It returns one result per item, in order.
func (db *DB) Ingest(ctx context.Context, b casebot.IngestBatch) ([]casebot.ItemResult, error) {
	var out []casebot.ItemResult
	if db.readsAhead() {
		ctx = kv.WithReads(ctx, ingestReads(&b))
	}
	// The postings of the batch's notes, whose terms PrepareMail counted:
	// room for them all at once.
	postings := 0
	for i := range b.Items {
		postings += len(db.preparedTerms(&b.Items[i]))
	}
	err := db.update(ctx, func(tx kv.Tx) error {
		out = out[:0]
		in := ingester{db: db, tx: tx, now: db.now(), batch: &b, cases: map[string]*caseEdit{}, byAuthor: map[sender][]int{}, postings: newPostingBatch(postings)}
		seen, err := newSeenSet(tx)
		if err != nil {
			return err
		}
		seen.prefetch(b.Items)
		for i, it := range b.Items {
			if it.DedupeKey != "" && seen.has(it.DedupeKey) {
				out = append(out, casebot.ItemResult{UID: it.UID, Outcome: casebot.OutcomeDuplicate})
				continue
			}
			in.postings.ahead = db.preparedTerms(&b.Items[i])
			res, err := in.item(it)
			in.postings.ahead = nil
			if err != nil {
				return fmt.Errorf("uid %d: %w", it.UID, err)
			}
			out = append(out, res)
			if it.DedupeKey != "" {
				if err := seen.add(it.DedupeKey, res.Outcome); err != nil {
					return err
				}
			}
		}
		if err := in.flush(); err != nil {
			return err
		}
		st, err := getMailState(tx, b.Mailbox)
		if err != nil {
			return err
		}
		if st.UIDValidity != b.UIDValidity {
			st = casebot.MailState{UIDValidity: b.UIDValidity}
		}
		st.LastUID = max(st.LastUID, b.LastUID)
		if b.DoneUID > st.DoneUID {
			st.DoneUID = min(b.DoneUID, st.LastUID)
		}
		return putMailState(tx, b.Mailbox, st)
	})
	if err != nil {
		return nil, fmt.Errorf("store: ingest %d messages from %s: %w", len(b.Items), b.Mailbox, err)
	}
	return out, nil
}

// caseEdit is a case changed by a batch: written once at the end, so a
// batch of many notes to one case rewrites its record and indexes once.
type caseEdit struct{ old, c *casebot.Case }

type ingester struct {
	db    *DB
	tx    kv.Tx
	now   time.Time
	batch *casebot.IngestBatch
	cases map[string]*caseEdit
	order []string
	// byAuthor are the new note numbers by case, sender and subject, for
	// the audit trail, and authorOrder the keys in the order of their first
	// note.
	byAuthor    map[sender][]int
	authorOrder []sender
	// feed are the new notes whose mediator is to be told.
	feed noticeFeed
	// docs are the audit events of the documents the notes brought,
	// recorded after the notes' own.
	docs []casebot.AuditEvent
	// postings are the notes' search postings, written as blocks in flush.
	postings *postingBatch
}

// sender is a party writing to a case, with what the audit trail names
// their notes by (casebot.NoteAbout without the number).
type sender struct {
	caseID, author string
	about          casebot.About
}

func (in *ingester) edit(id string) (*caseEdit, error) {
	if e := in.cases[id]; e != nil {
		return e, nil
	}
	old, err := in.db.getCase(in.tx, id)
	if err != nil {
		return nil, err
	}
	e := &caseEdit{old: old, c: cloneCase(old)}
	in.cases[id] = e
	in.order = append(in.order, id)
	return e, nil
}

// flush writes what the batch's items collected: an audit event per case,
// sender and subject (the notes of one commit share its time, so one event
// naming them all records the same as one per note) and each edited case
// once.
func (in *ingester) flush() error {
	for _, k := range in.authorOrder {
		ns := in.byAuthor[k]
		what := "note "
		if len(ns) > 1 {
			what = "notes "
		}
		about := k.about
		about.N = ns[0]
		if err := in.db.appendAudit(in.tx, casebot.AuditEvent{CaseID: k.caseID, At: in.now, Actor: k.author, Action: "email.note",
			Detail: what + numberRuns(ns), About: about}); err != nil {
			return err
		}
	}
	for _, ev := range in.docs {
		if err := in.db.appendAudit(in.tx, ev); err != nil {
			return err
		}
	}
	if err := in.feed.write(in.tx); err != nil {
		return err
	}
	if err := in.postings.write(in.tx); err != nil {
		return err
	}
	for _, id := range in.order {
		e := in.cases[id]
		if err := in.db.putCase(in.tx, e.old, e.c); err != nil {
			return err
		}
	}
	return nil
}

func (in *ingester) item(it casebot.MailItem) (casebot.ItemResult, error) {
	res := casebot.ItemResult{UID: it.UID}
	switch {
	case it.Note != nil:
		e, err := in.edit(it.Note.CaseID)
		if casebot.ErrorCode(err) == casebot.ENOTFOUND {
			q := quarantineFromNote(it.Note, fmt.Sprintf("case %s does not exist", it.Note.CaseID))
			q.CaseID = ""
			return in.quarantine(res, q)
		} else if err != nil {
			return res, err
		}
		if e.c.Party(it.Note.Author) < 0 {
			return in.quarantine(res, quarantineFromNote(it.Note, fmt.Sprintf("sender %s is not a party of %s", it.Note.Author, e.c.ID)))
		}
		n, seq, docs, err := in.db.addNoteTx(in.tx, in.postings, e.c, it.Note, in.now, in.now)
		if err != nil {
			return res, err
		}
		in.docs = append(in.docs, docs...)
		// The audit event follows in flush, one per case, sender and subject; the
		// mediator's notice, one per note (SPEC §6), is queued from the
		// notice feed (FeedNotices).
		about := casebot.NoteAbout(n)
		about.N = 0
		k := sender{e.c.ID, n.Author, about}
		if in.byAuthor[k] == nil {
			in.authorOrder = append(in.authorOrder, k)
		}
		in.byAuthor[k] = append(in.byAuthor[k], n.N)
		polled := false
		if e.c.Poll != nil { // a case with an open poll: is the reply an answer?
			if polled, err = in.pollAnswer(e.c, n); err != nil {
				return res, err
			}
		}
		if in.batch.NoticeFeed && !polled {
			in.feed.add(e.c.Mediator, seq)
		}
		res.Outcome, res.CaseID, res.N = casebot.OutcomeNote, n.CaseID, n.N
		return res, nil
	case it.Quarantine != nil:
		return in.quarantine(res, *it.Quarantine)
	case len(it.Bounce) > 0:
		for _, addr := range it.Bounce {
			ids, err := in.db.flagBouncingTx(in.tx, in.edit, addr, it.BounceCase, "delivery failure report", in.now)
			if err != nil {
				return res, err
			}
			if len(ids) > 0 {
				res.CaseID = ids[0]
			}
		}
		res.Outcome = casebot.OutcomeBounce
		return res, nil
	}
	res.Outcome, res.Reason = casebot.OutcomeSkip, it.Skip
	return res, nil
}

func (in *ingester) quarantine(res casebot.ItemResult, q casebot.Quarantined) (casebot.ItemResult, error) {
	n, err := in.db.putQuarantineTx(in.tx, q, in.now)
	if err != nil {
		return res, err
	}
	res.Outcome, res.Mail, res.CaseID, res.Reason = casebot.OutcomeQuarantine, n, q.CaseID, q.Reason
	return res, nil
}

func quarantineFromNote(n *casebot.Note, reason string) casebot.Quarantined {
	q := casebot.Quarantined{Reason: reason, From: n.Author, CaseID: n.CaseID, Body: n.Body, Email: n.Email}
	if n.Email != nil {
		q.FromName, q.Subject, q.MessageID, q.Date = n.Email.FromName, n.Email.Subject, n.Email.MessageID, n.Email.Date
	}
	return q
}

// addNoteTx appends an email note to c (an edited copy, written by the
// caller), numbering it and touching the case, adds its search postings to
// pb (or, when nil, writes them), and files its attachments
// as the case's documents (the stored note keeps their metadata, not their
// content) and indexes its words for search (into pb, or its own batch
// when nil), which may meet document requests of c (meetRequestsTx; arrived
// is when the email reached casebot). It returns the note, its key in the
// notes bucket and the audit events of the documents and the requests they
// met, which the caller records after the note's.
func (db *DB) addNoteTx(tx kv.Tx, pb *postingBatch, c *casebot.Case, in *casebot.Note, arrived, now time.Time) (*casebot.Note, uint64, []casebot.AuditEvent, error) {
	if c.Purged != nil {
		return nil, 0, nil, casebot.ErrPurged(c.ID)
	}
	n := *in
	n.CaseID = c.ID
	n.N = c.NoteCount + 1
	n.Created = now
	if n.Source == "" {
		n.Source = casebot.SourceEmail
	}
	// Notes are appended in sequence order: fill their pages (as AddNote
	// does) instead of splitting them half empty.
	notes := appendBucket(tx, bucketNotes)
	seq, err := notes.NextSequence()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("note sequence: %w", err)
	}
	key := be64(seq)
	stored, docs, err := db.noteDocumentsTx(tx, n.CaseID, &n, now)
	if err != nil {
		return nil, 0, nil, err
	}
	v, err := db.encodeCaseNote(tx, key, stored)
	if err != nil {
		return nil, 0, nil, err
	}
	if err := db.putNoteTx(tx, pb, c, stored, seq, v); err != nil {
		return nil, 0, nil, err
	}
	c.NoteCount = n.N
	c.Updated, c.Activity = now, now
	met, err := db.meetRequestsTx(tx, c, stored, docs, arrived, now)
	if err != nil {
		return nil, 0, nil, err
	}
	return stored, seq, append(docs, met...), nil
}

// numberRuns writes ascending numbers with runs collapsed: "4", "4-6, 9".
func numberRuns(ns []int) string {
	var b strings.Builder
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(ns[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(ns[j]))
		}
		i = j + 1
	}
	return b.String()
}
