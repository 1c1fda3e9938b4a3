package store

import (
	"errors"
	"fmt"

	"github.com/casebot/casebot"
)

// The deadline and session time indexes (idx_deadline, idx_session) keep,
// per unmet deadline or live session of an open case, what the scheduler
// and the overdue lists show without reading the case record. Their values
// are framed as case records are: a clear part (case ID, mediator,
// priority, the item's clear fields) and a part naming content (the case
// title, the deadline's text and who met it, the session's title and
// place) sealed under the case's data key, so that a purge takes it along
// from every copy of the file. Index keys stay the due or start time and
// the case ID and number.

func deadlineRefParts(r *casebot.DeadlineRef) (clear, secret []byte) {
	var h, p enc
	h.str(r.CaseID)
	h.str(r.Mediator)
	h.str(string(r.Priority))
	appendDeadlineClear(&h, &r.Deadline)
	appendUsers(&h, r.CoMediators)
	p.str(r.Title)
	p.str(r.Deadline.Text)
	p.str(r.Deadline.MetBy)
	return h.b, p.b
}

// deadlineRefClear reads the clear part of a deadline entry: all but the
// title and the deadline's text and MetBy.
func deadlineRefClear(clear []byte) (casebot.DeadlineRef, error) {
	return deadlineRefClearOf(clear, "")
}

// deadlineRefClearOf is deadlineRefClear, a mediator equal to med sharing
// its string.
func deadlineRefClearOf(clear []byte, med string) (casebot.DeadlineRef, error) {
	d := dec{b: clear}
	r := casebot.DeadlineRef{CaseID: d.str(), Mediator: d.strOr(med), Priority: enumOf(&d, casebot.Priorities)}
	r.Deadline = decodeDeadlineClear(&d)
	r.CoMediators = decodeUsers(&d)
	return r, d.err
}

func sessionRefParts(r *casebot.SessionRef) (clear, secret []byte) {
	var h, p enc
	h.str(r.CaseID)
	h.str(r.Mediator)
	appendSessionClear(&h, &r.Session)
	appendUsers(&h, r.CoMediators)
	p.str(r.Title)
	p.str(r.Session.Title)
	p.str(r.Session.Where)
	appendUsers(&p, r.Session.Agenda)
	return h.b, p.b
}

// sessionRefClear reads the clear part of a session entry.
func sessionRefClear(clear []byte) (casebot.SessionRef, error) {
	d := dec{b: clear}
	r := casebot.SessionRef{CaseID: d.str(), Mediator: d.str()}
	r.Session = decodeSessionClear(&d)
	r.CoMediators = decodeUsers(&d)
	return r, d.err
}

// splitRef returns a time index value's clear part and its sealed part.
func splitRef(key, v []byte) (clear, sealed []byte, err error) {
	if !isBinary(v) {
		return nil, nil, fmt.Errorf("index entry %x: not a framed record", key)
	}
	clear, sealed, err = unframe2(v)
	if err != nil {
		return nil, nil, fmt.Errorf("index entry %x: %w", key, err)
	}
	return clear, sealed, nil
}

// openRef returns a time index value's clear part and its opened content
// part; errKeyDestroyed when case id's data key is gone.
func (db *DB) openRef(id string, key, v []byte) (clear, secret []byte, err error) {
	clear, sealed, err := splitRef(key, v)
	if err != nil {
		return nil, nil, err
	}
	secret, err = db.openCase(id, key, sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("index entry of %s: %w", id, err)
	}
	return clear, secret, nil
}

// openDeadlineRef fills r's content from the entry's sealed part.
func (db *DB) openDeadlineRef(r *casebot.DeadlineRef, key, sealed []byte) (skip bool, err error) {
	plain, err := db.openCase(r.CaseID, key, sealed)
	if errors.Is(err, errKeyDestroyed) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("deadline entry of %s: %w", r.CaseID, err)
	}
	d := dec{b: plain}
	r.Title, r.Deadline.Text, r.Deadline.MetBy = d.str(), d.str(), d.str()
	if d.err != nil {
		return false, fmt.Errorf("deadline entry of %s: %w", r.CaseID, d.err)
	}
	return false, nil
}

// sessionRef reads a whole session entry; skip is true (and err nil) for
// an entry of a case whose data key is destroyed.
func (db *DB) sessionRef(key, v []byte) (r casebot.SessionRef, skip bool, err error) {
	clear, sealed, err := splitRef(key, v)
	if err != nil {
		return r, false, err
	}
	if r, err = sessionRefClear(clear); err != nil {
		return r, false, fmt.Errorf("session entry %x: %w", key, err)
	}
	plain, err := db.openCase(r.CaseID, key, sealed)
	if errors.Is(err, errKeyDestroyed) {
		return r, true, nil
	} else if err != nil {
		return r, false, fmt.Errorf("session entry of %s: %w", r.CaseID, err)
	}
	d := dec{b: plain}
	r.Title, r.Session.Title, r.Session.Where = d.str(), d.str(), d.str()
	r.Session.Agenda = decodeUsers(&d)
	if d.err != nil {
		return r, false, fmt.Errorf("session entry of %s: %w", r.CaseID, d.err)
	}
	return r, false, nil
}

// appendUsers writes a list of strings (co-mediators' user IDs, agenda
// items) as a count and the strings.
func appendUsers(e *enc, xs []string) {
	e.uint(uint64(len(xs)))
	for _, x := range xs {
		e.str(x)
	}
}

// decodeUsers reads what appendUsers wrote; nil for none.
func decodeUsers(d *dec) []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	xs := make([]string, n)
	for i := range xs {
		xs[i] = d.str()
	}
	return xs
}
