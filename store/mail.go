package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Mail intake buckets. They are created by the first write that needs them
// (so a store opened before mail intake existed needs no migration); readers
// treat a missing bucket as empty.
var (
	bucketMailState = []byte("mail_state")      // mailbox -> JSON casebot.MailState
	bucketMailSeen  = []byte("mail_seen")       // legacy: de-duplication key -> what became of the message (read only)
	bucketMailSeen2 = []byte("mail_seen2")      // compact de-duplication key (seenKey) -> outcome code
	bucketMailQuar  = []byte("mail_quarantine") // mail# (uint64) -> framed quarantine record
)

// quarHeader is what a quarantine record keeps in the clear.
type quarHeader struct {
	N         uint64
	Reason    string
	From      string
	MessageID string
	Date      time.Time
	CaseID    string
	Received  time.Time
	State     string
	Decided   time.Time
	DecidedBy string
	Note      string
}

type quarPayload struct {
	// From is the sender's address when a key is set (the header's From
	// is then empty): it names a person.
	From     string `json:",omitempty"`
	FromName string
	Subject  string
	Body     string
	Email    *casebot.EmailMeta `json:",omitempty"`
}

func mailBucket(tx kv.Tx, name []byte) (kv.Bucket, error) {
	if !tx.Writable() {
		return tx.Bucket(name), nil
	}
	b, err := tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return b, nil
}

// casebot.MailState returns the intake position of a mailbox (zero for a new one).
func (db *DB) MailState(ctx context.Context, mailbox string) (casebot.MailState, error) {
	var st casebot.MailState
	err := db.view(ctx, func(tx kv.Tx) error {
		var err error
		st, err = getMailState(tx, mailbox)
		return err
	})
	if err != nil {
		return casebot.MailState{}, fmt.Errorf("store: mail state of %s: %w", mailbox, err)
	}
	return st, nil
}

func getMailState(tx kv.Tx, mailbox string) (casebot.MailState, error) {
	var st casebot.MailState
	b := tx.Bucket(bucketMailState)
	if b == nil {
		return st, nil
	}
	v := b.Get([]byte(mailbox))
	if v == nil {
		return st, nil
	}
	if err := json.Unmarshal(v, &st); err != nil {
		return st, fmt.Errorf("decode mail state: %w", err)
	}
	return st, nil
}

func putMailState(tx kv.Tx, mailbox string, st casebot.MailState) error {
	b, err := mailBucket(tx, bucketMailState)
	if err != nil {
		return err
	}
	v, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode mail state: %w", err)
	}
	return b.Put([]byte(mailbox), v)
}

// PageWrites is the number of pages the store has written since it was
// opened (bbolt's count): what a commit adds to it is the size of its
// write set, which mail intake keeps its batches under.
func (db *DB) PageWrites() int64 {
	return db.kv.Writes()
}

// MailDone records that \Seen (and the move) were applied up to uid. It
// is ignored when UIDVALIDITY has changed meanwhile.
func (db *DB) MailDone(ctx context.Context, mailbox string, uidValidity, uid uint32) error {
	err := db.update(ctx, func(tx kv.Tx) error {
		st, err := getMailState(tx, mailbox)
		if err != nil {
			return err
		}
		if st.UIDValidity != uidValidity || uid <= st.DoneUID {
			return nil
		}
		st.DoneUID = min(uid, st.LastUID)
		return putMailState(tx, mailbox, st)
	})
	if err != nil {
		return fmt.Errorf("store: mail done %s: %w", mailbox, err)
	}
	return nil
}

func (db *DB) putQuarantineTx(tx kv.Tx, q casebot.Quarantined, now time.Time) (uint64, error) {
	b, err := mailBucket(tx, bucketMailQuar)
	if err != nil {
		return 0, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("quarantine sequence: %w", err)
	}
	q.N, q.State, q.Received = seq, casebot.QuarantinePending, now
	if err := db.writeQuarantine(b, &q); err != nil {
		return 0, err
	}
	// The refresh's slot is the clock's, not the batch's start: a slot
	// already delivered would drop it.
	return seq, db.homeRefreshAdmins(tx, db.now())
}

func (db *DB) writeQuarantine(b kv.Bucket, q *casebot.Quarantined) error {
	key := be64(q.N)
	from, sealedFrom := q.From, ""
	if db.seal.encrypted() {
		from, sealedFrom = "", q.From
	}
	h, err := json.Marshal(quarHeader{N: q.N, Reason: q.Reason, From: from, MessageID: q.MessageID, Date: q.Date, CaseID: q.CaseID,
		Received: q.Received, State: q.State, Decided: q.Decided, DecidedBy: q.DecidedBy, Note: q.Note})
	if err != nil {
		return fmt.Errorf("encode quarantine header: %w", err)
	}
	p, err := json.Marshal(quarPayload{From: sealedFrom, FromName: q.FromName, Subject: q.Subject, Body: q.Body, Email: q.Email})
	if err != nil {
		return fmt.Errorf("encode quarantine body: %w", err)
	}
	if err := b.Put(key, frame(h, db.seal.seal(key, p))); err != nil {
		return fmt.Errorf("put quarantine %d: %w", q.N, err)
	}
	return nil
}

func (db *DB) decodeQuarantine(key, v []byte) (*casebot.Quarantined, error) {
	h, sealed, err := unframe(v)
	if err != nil {
		return nil, fmt.Errorf("quarantine %d: %w", u64(key), err)
	}
	var qh quarHeader
	if err := json.Unmarshal(h, &qh); err != nil {
		return nil, fmt.Errorf("quarantine %d header: %w", u64(key), err)
	}
	plain, err := db.seal.open(key, sealed)
	if err != nil {
		return nil, fmt.Errorf("quarantine %d: %w", u64(key), err)
	}
	var p quarPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("quarantine %d body: %w", u64(key), err)
	}
	if p.From != "" {
		qh.From = p.From
	}
	return &casebot.Quarantined{N: qh.N, Reason: qh.Reason, From: qh.From, MessageID: qh.MessageID, Date: qh.Date, CaseID: qh.CaseID,
		Received: qh.Received, State: qh.State, Decided: qh.Decided, DecidedBy: qh.DecidedBy, Note: qh.Note,
		FromName: p.FromName, Subject: p.Subject, Body: p.Body, Email: p.Email}, nil
}

// Quarantine returns the quarantined emails, oldest first: only pending
// ones unless all is set. Bodies and raw messages are left out (Email nil).
func (db *DB) Quarantine(ctx context.Context, all bool) ([]casebot.Quarantined, error) {
	var out []casebot.Quarantined
	err := db.view(ctx, func(tx kv.Tx) error {
		b := tx.Bucket(bucketMailQuar)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			q, err := db.decodeQuarantine(k, v)
			if err != nil {
				return err
			}
			if all || q.State == casebot.QuarantinePending {
				q.Body, q.Email = "", nil
				out = append(out, *q)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: quarantine: %w", err)
	}
	return out, nil
}

// QuarantineItem returns one quarantined email with its body and raw
// message, or ENOTFOUND.
func (db *DB) QuarantineItem(ctx context.Context, n uint64) (*casebot.Quarantined, error) {
	var q *casebot.Quarantined
	err := db.view(ctx, func(tx kv.Tx) error {
		var err error
		q, err = db.getQuarantine(tx, n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: quarantine item %d: %w", n, err)
	}
	return q, nil
}

func (db *DB) getQuarantine(tx kv.Tx, n uint64) (*casebot.Quarantined, error) {
	b := tx.Bucket(bucketMailQuar)
	var v []byte
	if b != nil {
		v = b.Get(be64(n))
	}
	if v == nil {
		return nil, fmt.Errorf("%w%.0w", notFound("There is no quarantined email #%d.", n), casebot.ErrNotFound)
	}
	return db.decodeQuarantine(be64(n), v)
}

// decide loads pending item n for accept or reject.
func (db *DB) decide(tx kv.Tx, n uint64) (kv.Bucket, *casebot.Quarantined, error) {
	q, err := db.getQuarantine(tx, n)
	if err != nil {
		return nil, nil, err
	}
	if q.State != casebot.QuarantinePending {
		return nil, nil, casebot.Errorf(casebot.ECONFLICT, "Email #%d was already %s.", n, q.State)
	}
	// Decided either way, it leaves the admins' quarantine count.
	if err := db.homeRefreshAdmins(tx, db.now()); err != nil {
		return nil, nil, err
	}
	b, err := mailBucket(tx, bucketMailQuar)
	return b, q, err
}

// AcceptMail files pending quarantined email n under case caseID as a note
// from its sender, with an audit event ("mail.accept") on the case and,
// when notify is set, the note's notice to its mediator
// (casebot.EmailNoteNotice), and marks the item
// accepted, dropping its stored copy (the note keeps it). check, when set,
// runs inside the transaction with the item and the case and may refuse.
// It returns the note; ENOTFOUND for an unknown item or case, ECONFLICT for
// an item already decided.
func (db *DB) AcceptMail(ctx context.Context, n uint64, caseID, actor string, check func(q *casebot.Quarantined, c *casebot.Case) error,
	notify bool) (*casebot.Note, error) {
	var out *casebot.Note
	err := db.update(ctx, func(tx kv.Tx) error {
		b, q, err := db.decide(tx, n)
		if err != nil {
			return err
		}
		old, err := db.getCase(tx, caseID)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(q, old); err != nil {
				return err
			}
		}
		now := db.now()
		c := cloneCase(old)
		// The email reached casebot when it was quarantined: a document in it
		// does not answer a request made after that.
		arrived := q.Received
		if arrived.IsZero() {
			arrived = now
		}
		note, _, docs, err := db.addNoteTx(tx, nil, c, &casebot.Note{Author: q.From, Source: casebot.SourceEmail, Body: q.Body, Email: q.Email}, arrived, now)
		if err != nil {
			return err
		}
		if err := db.putCase(tx, old, c); err != nil {
			return err
		}
		ch := casebot.Change{Actor: actor, Action: "mail.accept", Detail: fmt.Sprintf("mail #%d", n),
			About: casebot.About{N: note.N, Who: casebot.Mailbox(q.FromName, q.From), Text: casebot.Headline(q.Subject)}}
		if notify {
			ch.Outbox = casebot.ToMediators(c, casebot.EmailNoteNotice(c, note))
		}
		if err := db.record(tx, c.ID, ch, now); err != nil {
			return err
		}
		for _, ev := range docs {
			if err := db.appendAudit(tx, ev); err != nil {
				return err
			}
		}
		q.State, q.Decided, q.DecidedBy, q.Note = casebot.QuarantineAccepted, now, actor, fmt.Sprintf("%s#%d", c.ID, note.N)
		q.Body, q.Email = "", nil
		out = note
		return db.writeQuarantine(b, q)
	})
	if err != nil {
		return nil, fmt.Errorf("store: accept mail #%d: %w", n, err)
	}
	return out, nil
}

// RejectMail discards pending quarantined email n: its body and raw message
// are deleted and the item is kept as rejected, with an audit event
// ("mail.reject") on the case it matched, if any. check, when set, runs
// inside the transaction and may refuse. ENOTFOUND for an unknown item,
// ECONFLICT for one already decided.
func (db *DB) RejectMail(ctx context.Context, n uint64, actor string, check func(q *casebot.Quarantined) error) error {
	err := db.update(ctx, func(tx kv.Tx) error {
		b, q, err := db.decide(tx, n)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(q); err != nil {
				return err
			}
		}
		now := db.now()
		if q.CaseID != "" && tx.Bucket(bucketCases).Get([]byte(q.CaseID)) != nil {
			if err := db.appendAudit(tx, casebot.AuditEvent{CaseID: q.CaseID, At: now, Actor: actor, Action: "mail.reject",
				About: casebot.About{N: int(n), Who: casebot.Mailbox(q.FromName, q.From), Text: casebot.Headline(q.Subject)}}); err != nil {
				return err
			}
		}
		q.State, q.Decided, q.DecidedBy = casebot.QuarantineRejected, now, actor
		q.FromName, q.Subject, q.Body, q.Email = "", "", "", nil
		return db.writeQuarantine(b, q)
	})
	if err != nil {
		return fmt.Errorf("store: reject mail #%d: %w", n, err)
	}
	return nil
}

// FlagBouncing marks the address as bouncing in case caseID, or in every
// case where it is a party when caseID is "", so that no more mail goes to
// it until cleared; each case gets an audit event ("party.bounce") and its
// mediator a notice (casebot.BounceNotice). Parties already flagged are left
// alone. It returns the cases changed.
func (db *DB) FlagBouncing(ctx context.Context, email, caseID, reason string) ([]string, error) {
	var ids []string
	err := db.update(ctx, func(tx kv.Tx) error {
		edits := map[string]*caseEdit{}
		var order []string
		edit := func(id string) (*caseEdit, error) {
			if e := edits[id]; e != nil {
				return e, nil
			}
			old, err := db.getCase(tx, id)
			if err != nil {
				return nil, err
			}
			e := &caseEdit{old: old, c: cloneCase(old)}
			edits[id], order = e, append(order, id)
			return e, nil
		}
		var err error
		ids, err = db.flagBouncingTx(tx, edit, email, caseID, reason, db.now())
		if err != nil {
			return err
		}
		for _, id := range order {
			if err := db.putCase(tx, edits[id].old, edits[id].c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: flag %s bouncing: %w", email, err)
	}
	return ids, nil
}

func (db *DB) flagBouncingTx(tx kv.Tx, edit func(string) (*caseEdit, error), email, caseID, reason string, now time.Time) ([]string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var cands []string
	if caseID != "" {
		cands = []string{caseID}
	} else {
		prefix := prefixOf(db.partyTerm("email", email))
		c := tx.Bucket(bucketIdxEmail).Cursor()
		for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
			cands = append(cands, string(k[len(prefix):]))
		}
	}
	var changed []string
	for _, id := range cands {
		e, err := edit(id)
		if casebot.ErrorCode(err) == casebot.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		i := e.c.Party(email)
		if i < 0 || e.c.Parties[i].Bouncing {
			continue
		}
		e.c.Parties[i].Bouncing = true
		e.c.Updated = now
		ch := casebot.Change{Actor: "casebot", Action: "party.bounce",
			About:  casebot.About{Who: casebot.Mailbox(e.c.Parties[i].Name, email), Text: casebot.Headline(reason)},
			Outbox: casebot.ToMediators(e.c, casebot.BounceNotice(e.c, e.c.Parties[i], reason, now))}
		if err := db.record(tx, id, ch, now); err != nil {
			return nil, err
		}
		changed = append(changed, id)
	}
	slices.Sort(changed)
	return changed, nil
}
