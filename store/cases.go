package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// errNoCase is the error for a missing case: its code is ENOTFOUND, its
// message names the case, and errors.Is(err, casebot.ErrNotFound) holds.
func errNoCase(id string) error {
	return fmt.Errorf("%w%.0w", casebot.ErrNoSuchCase(id), casebot.ErrNotFound)
}

// record appends the change's audit event and queues its outbox messages.
func (db *DB) record(tx kv.Tx, caseID string, ch casebot.Change, now time.Time) error {
	if err := db.appendAudit(tx, casebot.AuditEvent{CaseID: caseID, At: now, Actor: ch.Actor, Action: ch.Action, Detail: ch.Detail, About: ch.About}); err != nil {
		return err
	}
	if err := db.homeRefreshTx(tx, caseID, now); err != nil {
		return err
	}
	return db.enqueueTx(tx, now, ch.Outbox)
}

// appendAudit adds an event to the case's append-only trail. Events are
// stored in write order (one end of the tree for a batch touching many
// cases) with a small per-case index entry. Detail and About are sealed
// (they name case content: a note's first line, an email's subject).
func (db *DB) appendAudit(tx kv.Tx, ev casebot.AuditEvent) error {
	b := appendBucket(tx, bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("audit sequence: %w", err)
	}
	key := be64(seq)
	v, err := db.encodeAudit(tx, key, &ev)
	if err != nil {
		return fmt.Errorf("encode audit event: %w", err)
	}
	if err := b.Put(key, v); err != nil {
		return fmt.Errorf("put audit event: %w", err)
	}
	if err := tx.Bucket(bucketAuditN).Put(append(prefixOf(ev.CaseID), be64(seq)...), []byte{}); err != nil {
		return fmt.Errorf("put audit index: %w", err)
	}
	return nil
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// newToken returns 8 random characters for the per-case reply address.
func newToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails on supported platforms
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}

// CreateCase stores a new case with its audit event and outbox messages. It
// gives the case the next ID of the current year (the sequence is committed
// with the case, so an ID is never handed out twice, even across crashes), a
// token and its timestamps; empty status and priority become intake and
// normal. It returns the stored case, or an EINVALID error from validation.
func (db *DB) CreateCase(ctx context.Context, in *casebot.Case, ch casebot.Change) (*casebot.Case, error) {
	c := cloneCase(in)
	if c.Status == "" {
		c.Status = casebot.StatusIntake
	}
	if c.Priority == "" {
		c.Priority = casebot.PriorityNormal
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if ch.Action == "" {
		ch.Action = "case.create"
	}
	err := db.update(ctx, func(tx kv.Tx) error {
		now := db.now()
		year := now.Year()
		seqs := tx.Bucket(bucketSeq)
		yk := []byte(strconv.Itoa(year))
		var seq uint64
		if v := seqs.Get(yk); len(v) == 8 {
			seq = u64(v)
		}
		for {
			seq++
			c.ID = casebot.FormatCaseID(db.prefix, year, seq)
			if tx.Bucket(bucketCases).Get([]byte(c.ID)) == nil {
				break
			}
		}
		if err := seqs.Put(yk, be64(seq)); err != nil {
			return fmt.Errorf("put sequence: %w", err)
		}
		c.Token = newToken()
		c.Created, c.Updated, c.Activity = now, now, now
		for i := range c.Parties {
			if c.Parties[i].Added.IsZero() {
				c.Parties[i].Added = now
			}
		}
		if c.Status.Closed() && c.Closed.IsZero() {
			c.Closed = now
		}
		if err := db.putCase(tx, nil, c); err != nil {
			return err
		}
		// The case's data key is in the keyring before this commits.
		if _, err := db.caseSealer(tx, c.ID); err != nil {
			return err
		}
		return db.record(tx, c.ID, ch, now)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create case: %w", err)
	}
	return c, nil
}

// Case returns the case with the given ID or an ENOTFOUND error.
func (db *DB) Case(ctx context.Context, id string) (*casebot.Case, error) {
	var c *casebot.Case
	err := db.view(readingCase(ctx, id), func(tx kv.Tx) error {
		var err error
		c, err = db.getCase(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: case %s: %w", id, err)
	}
	return c, nil
}

// UpdateCase reads the case, lets fn change a copy inside the write
// transaction and commits it with the Change fn returns (audit event and
// outbox messages), fixing every index. When fn returns an error nothing is
// written and that error is returned unchanged. Updated and Activity become
// now; Closed is set when the case moves to a closed status and cleared when
// it reopens. The ID and token cannot be changed.
func (db *DB) UpdateCase(ctx context.Context, id string, fn func(c *casebot.Case) (casebot.Change, error)) (*casebot.Case, error) {
	var out *casebot.Case
	var fnErr error
	err := db.update(ctx, func(tx kv.Tx) error {
		old, err := db.getCase(tx, id)
		if err != nil {
			return err
		}
		if old.Purged != nil {
			fnErr = casebot.ErrPurged(id)
			return fnErr
		}
		c := cloneCase(old)
		ch, err := fn(c)
		if err != nil {
			fnErr = err
			return err
		}
		now := db.now()
		c.ID, c.Token, c.Created = old.ID, old.Token, old.Created
		c.Updated, c.Activity = now, now
		switch {
		case c.Status.Closed() && !old.Status.Closed():
			c.Closed = now
		case !c.Status.Closed():
			c.Closed = time.Time{}
		}
		if ch.Action == "" {
			ch.Action = "case.update"
		}
		if err := db.putCase(tx, old, c); err != nil {
			return err
		}
		if err := db.record(tx, id, ch, now); err != nil {
			return err
		}
		// Those who lost the case see it leave their Home too.
		var gone []string
		for _, u := range append([]string{old.Mediator}, old.CoMediators...) {
			if !c.IsMediator(u) {
				gone = append(gone, u)
			}
		}
		if err := db.homeRefreshUsers(tx, now, gone...); err != nil {
			return err
		}
		out = c
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("store: update case %s: %w", id, err)
	}
	return cloneCase(out), nil
}

// cloneCase deep-copies the slices of a case so fn's edits stay local.
func cloneCase(c *casebot.Case) *casebot.Case {
	d := *c
	d.Parties = slices.Clone(c.Parties)
	d.Deadlines = slices.Clone(c.Deadlines)
	d.Sessions = slices.Clone(c.Sessions)
	d.CoMediators = slices.Clone(c.CoMediators)
	if c.Poll != nil {
		p := *c.Poll
		p.Slots, p.Answers = slices.Clone(p.Slots), maps.Clone(p.Answers)
		d.Poll = &p
	}
	for i := range d.Sessions {
		d.Sessions[i].Agenda = slices.Clone(d.Sessions[i].Agenda)
	}
	return &d
}

// Cases lists cases through the mediator and co-mediator indexes (when
// f.Mediator is set: the cases they mediate or co-mediate) or the status index, most urgent first: priority, then earliest open
// deadline, then ID. Only the records it returns are read.
func (db *DB) Cases(ctx context.Context, f casebot.CaseFilter) ([]*casebot.Case, error) {
	want := func(s casebot.Status) bool {
		switch f.State {
		case "all":
			return true
		case "closed":
			return s.Closed()
		}
		return !s.Closed()
	}
	switch f.State {
	case "", "open", "closed", "all":
	default:
		return nil, casebot.Errorf(casebot.EINVALID, "%q is not a case state; use open, closed or all.", f.State)
	}
	var out []*casebot.Case
	err := db.view(ctx, func(tx kv.Tx) error {
		var infos []sortInfo
		collect := func(b kv.Bucket, prefix []byte) error {
			c := b.Cursor()
			for k, v := c.Seek(prefix); hasPrefix(k, prefix); k, v = c.Next() {
				si, err := decodeSortValue(string(k[len(prefix):]), v)
				if err != nil {
					return err
				}
				if want(si.status) {
					infos = append(infos, si)
				}
			}
			return nil
		}
		if f.Mediator != "" {
			if err := collect(tx.Bucket(bucketIdxMediator), prefixOf(f.Mediator)); err != nil {
				return err
			}
			if err := collect(tx.Bucket(bucketIdxCoMed), prefixOf(f.Mediator)); err != nil {
				return err
			}
		} else {
			for _, s := range casebot.Statuses {
				if want(s) {
					if err := collect(tx.Bucket(bucketIdxStatus), prefixOf(string(s))); err != nil {
						return err
					}
				}
			}
		}
		slices.SortFunc(infos, func(a, b sortInfo) int {
			switch {
			case a.rank != b.rank:
				return b.rank - a.rank
			case a.deadline < b.deadline:
				return -1
			case a.deadline > b.deadline:
				return 1
			}
			return strings.Compare(a.id, b.id)
		})
		n := len(infos)
		if f.Limit > 0 {
			n = min(n, f.Limit)
		}
		out = make([]*casebot.Case, 0, n)
		for _, si := range infos {
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
			c, err := db.getCase(tx, si.id)
			if errors.Is(err, errKeyDestroyed) {
				continue // purged after this copy of the file was made
			} else if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list cases: %w", err)
	}
	return out, nil
}
