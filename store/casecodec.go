package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Case records (schema 6). A case record is framed as notes are
// (binFormat, clear header, sealed payload): the clear header holds what
// the store reads without the key, to index, list, order, schedule and
// count (ID, type, priority, status and outcome, mediator, creator, dates,
// counts, hold and purge markers, each deadline's number, due time, met
// flag and request role, each session's number, start, length, sequence
// and cancelled flag); the payload, sealed under the case's data key, holds
// everything that names or describes the dispute: the title, the reply
// token, the outcome text, the parties, the deadlines' texts and who met
// them, the sessions' titles and places. So a purge's destroyed key takes
// them along from every copy of the file. The record of a purged case
// holds no content and is sealed under the master key. Records written
// before schema 6 are JSON and stay readable.

// caseRecordVersion is the layout of the header and payload below.
const caseRecordVersion = 1

// caseAD is the additional data of a case record's sealed payload.
func caseAD(id string) []byte { return append([]byte("case\x00"), id...) }

// errCaseKeyGone is the error for a case whose content cannot be read
// because its data key is not in the keyring: it was purged after the copy
// of the file being read was made. Its code is EUNAVAIL and
// errors.Is(err, errKeyDestroyed) holds.
func errCaseKeyGone(id string) error {
	return fmt.Errorf("%w%.0w", casebot.Errorf(casebot.EUNAVAIL, "%s cannot be read: its data key is not in the keyring (the case was purged).", id), errKeyDestroyed)
}

// caseRecordSealer returns the sealer of c's record in tx: the case's data
// key with an encryption key, the master key (or plain) for a purged case,
// whose record holds no content and whose key is destroyed.
func (db *DB) caseRecordSealer(tx kv.Tx, c *casebot.Case) (*sealer, error) {
	if db.keys == nil || c.Purged != nil || keyDestroyedTx(tx, c.ID) {
		return db.seal, nil
	}
	return db.caseSealer(tx, c.ID)
}

// encodeCase returns c's record, its content sealed by sl.
func encodeCase(sl *sealer, c *casebot.Case) []byte {
	s := getScratch()
	defer putScratch(s)
	appendCaseHeader(&s.h, c)
	appendCasePayload(&s.p, c)
	return appendFrame2(make([]byte, 0, frameSize(sl, s.h.b, s.p.b)), sl, caseAD(c.ID), s.h.b, s.p.b)
}

func appendCaseHeader(e *enc, c *casebot.Case) {
	e.uint(caseRecordVersion)
	e.str(c.ID)
	e.str(c.Type)
	e.str(string(c.Priority))
	e.str(string(c.Status))
	e.str(c.Mediator)
	e.str(string(c.Outcome))
	e.str(c.CreatedBy)
	e.time(c.Created)
	e.time(c.Updated)
	e.time(c.Closed)
	e.time(c.Activity)
	e.uint(uint64(c.NoteCount))
	e.bool(c.Hold)
	e.bool(c.Purged != nil)
	if p := c.Purged; p != nil {
		e.time(p.At)
		e.str(p.By)
		e.uint(uint64(p.Parties))
		e.uint(uint64(p.Deadlines))
		e.uint(uint64(p.Sessions))
	}
	e.uint(uint64(len(c.Deadlines)))
	for _, d := range c.Deadlines {
		appendDeadlineClear(e, &d)
	}
	e.uint(uint64(len(c.Sessions)))
	for _, s := range c.Sessions {
		appendSessionClear(e, &s)
	}
	e.uint(uint64(len(c.Parties)))
	e.str(c.Source)
	e.uint(uint64(len(c.CoMediators)))
	for _, u := range c.CoMediators {
		e.str(u)
	}
}

// appendDeadlineClear writes what of a deadline stays in the clear.
func appendDeadlineClear(e *enc, d *casebot.Deadline) {
	e.uint(uint64(d.N))
	e.time(d.Due)
	e.bool(d.Met)
	e.time(d.MetAt)
	e.time(d.Created)
	e.str(string(d.Role))
	e.uint(uint64(d.MetNote))
	e.uint(uint64(d.MetDoc))
	e.time(d.Moved)
}

func decodeDeadlineClear(d *dec) casebot.Deadline {
	return casebot.Deadline{N: int(d.uint()), Due: d.time(), Met: d.bool(), MetAt: d.time(), Created: d.time(),
		Role: enumOf(d, casebot.Roles), MetNote: int(d.uint()), MetDoc: int(d.uint()), Moved: d.time()}
}

// appendSessionClear writes what of a session stays in the clear.
func appendSessionClear(e *enc, s *casebot.Session) {
	e.uint(uint64(s.N))
	e.time(s.Start)
	e.int(int64(s.Duration))
	e.uint(uint64(s.Sequence))
	e.bool(s.Cancelled)
	e.time(s.Created)
	e.time(s.Moved)
	e.time(s.AgendaChanged)
}

func decodeSessionClear(d *dec) casebot.Session {
	return casebot.Session{N: int(d.uint()), Start: d.time(), Duration: time.Duration(d.int()), Sequence: int(d.uint()),
		Cancelled: d.bool(), Created: d.time(), Moved: d.time(), AgendaChanged: d.time()}
}

func appendCasePayload(e *enc, c *casebot.Case) {
	e.str(c.Title)
	e.str(c.Token)
	e.str(c.OutcomeText)
	for _, p := range c.Parties {
		e.str(string(p.Role))
		e.str(p.Name)
		e.str(p.Email)
		e.bool(p.Bouncing)
		e.time(p.Added)
	}
	for _, d := range c.Deadlines {
		e.str(d.Text)
		e.str(d.MetBy)
	}
	for _, s := range c.Sessions {
		e.str(s.Title)
		e.str(s.Where)
		e.uint(uint64(len(s.Agenda)))
		for _, a := range s.Agenda {
			e.str(a)
		}
	}
	// The poll names the parties who answered: content.
	var poll []byte
	if c.Poll != nil {
		poll, _ = json.Marshal(c.Poll) // a Poll always marshals
	}
	e.bytes(poll)
}

// decodeCaseHeader reads a case record's clear part: everything but the
// content, which stays sealed (nil for a JSON record, read whole).
func decodeCaseHeader(k, v []byte) (*casebot.Case, []byte, error) {
	if !isBinary(v) {
		var c casebot.Case
		if err := json.Unmarshal(v, &c); err != nil {
			return nil, nil, fmt.Errorf("decode case %s: %w", k, err)
		}
		return &c, nil, nil
	}
	h, sealed, err := unframe2(v)
	if err != nil {
		return nil, nil, fmt.Errorf("decode case %s: %w", k, err)
	}
	d := dec{b: h}
	if ver := d.uint(); ver != caseRecordVersion && d.err == nil {
		return nil, nil, fmt.Errorf("decode case %s: record version %d is unknown", k, ver)
	}
	c := &casebot.Case{ID: d.str(), Type: d.str(), Priority: casebot.Priority(d.str()), Status: casebot.Status(d.str()),
		Mediator: d.str(), Outcome: casebot.Status(d.str()), CreatedBy: d.str(),
		Created: d.time(), Updated: d.time(), Closed: d.time(), Activity: d.time(), NoteCount: int(d.uint()), Hold: d.bool()}
	if d.bool() {
		c.Purged = &casebot.PurgeInfo{At: d.time(), By: d.str(), Parties: int(d.uint()), Deadlines: int(d.uint()), Sessions: int(d.uint())}
	}
	if n := d.count(1); n > 0 {
		c.Deadlines = make([]casebot.Deadline, n)
		for i := range c.Deadlines {
			c.Deadlines[i] = decodeDeadlineClear(&d)
		}
	}
	if n := d.count(1); n > 0 {
		c.Sessions = make([]casebot.Session, n)
		for i := range c.Sessions {
			c.Sessions[i] = decodeSessionClear(&d)
		}
	}
	if n := d.uint(); n > 0 && d.err == nil {
		if n > uint64(len(sealed)) {
			return nil, nil, fmt.Errorf("decode case %s: %w", k, errShort)
		}
		c.Parties = make([]casebot.Party, n)
	}
	c.Source = d.str()
	if n := d.count(1); n > 0 {
		c.CoMediators = make([]string, n)
		for i := range c.CoMediators {
			c.CoMediators[i] = d.str()
		}
	}
	if d.err != nil {
		return nil, nil, fmt.Errorf("decode case %s header: %w", k, d.err)
	}
	return c, sealed, nil
}

// decodeCase reads a case record, opening its content. A case whose data
// key is destroyed gives errCaseKeyGone.
func (db *DB) decodeCase(k, v []byte) (*casebot.Case, error) {
	c, sealed, err := decodeCaseHeader(k, v)
	if err != nil || sealed == nil {
		return c, err
	}
	plain, err := db.openCase(c.ID, caseAD(c.ID), sealed)
	if errors.Is(err, errKeyDestroyed) {
		return nil, errCaseKeyGone(c.ID)
	} else if err != nil {
		return nil, fmt.Errorf("decode case %s: %w", k, err)
	}
	d := dec{b: plain}
	c.Title, c.Token, c.OutcomeText = d.str(), d.str(), d.str()
	for i := range c.Parties {
		c.Parties[i] = casebot.Party{Role: casebot.Role(d.str()), Name: d.str(), Email: d.str(), Bouncing: d.bool(), Added: d.time()}
	}
	for i := range c.Deadlines {
		c.Deadlines[i].Text, c.Deadlines[i].MetBy = d.str(), d.str()
	}
	for i := range c.Sessions {
		s := &c.Sessions[i]
		s.Title, s.Where = d.str(), d.str()
		if n := d.count(1); n > 0 {
			s.Agenda = make([]string, n)
			for j := range s.Agenda {
				s.Agenda[j] = d.str()
			}
		}
	}
	if poll := d.bytes(); len(poll) > 0 && d.err == nil {
		c.Poll = new(casebot.Poll)
		if err := json.Unmarshal(poll, c.Poll); err != nil {
			return nil, fmt.Errorf("decode case %s poll: %w", k, err)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode case %s content: %w", k, d.err)
	}
	return c, nil
}

// getCase reads and opens a case in tx, or returns errNoCase, or
// errCaseKeyGone when its data key is destroyed.
func (db *DB) getCase(tx kv.Tx, id string) (*casebot.Case, error) {
	v := tx.Bucket(bucketCases).Get([]byte(id))
	if v == nil {
		return nil, errNoCase(id)
	}
	return db.decodeCase([]byte(id), v)
}

// getCaseHeader reads a case's clear part in tx (no content, nothing
// decrypted), or returns errNoCase.
func getCaseHeader(tx kv.Tx, id string) (*casebot.Case, error) {
	v := tx.Bucket(bucketCases).Get([]byte(id))
	if v == nil {
		return nil, errNoCase(id)
	}
	c, _, err := decodeCaseHeader([]byte(id), v)
	return c, err
}

// putCase writes c, its content sealed under the case's data key, and
// moves its index entries from what old implied.
func (db *DB) putCase(tx kv.Tx, old, c *casebot.Case) error {
	sl, err := db.caseRecordSealer(tx, c)
	if err != nil {
		return fmt.Errorf("put case %s: %w", c.ID, err)
	}
	if err := tx.Bucket(bucketCases).Put([]byte(c.ID), encodeCase(sl, c)); err != nil {
		return fmt.Errorf("put case %s: %w", c.ID, err)
	}
	if err := db.applyIndexes(tx, old, c); err != nil {
		return fmt.Errorf("index case %s: %w", c.ID, err)
	}
	if err := moveNoteMedTx(tx, old, c); err != nil {
		return fmt.Errorf("index notes of case %s: %w", c.ID, err)
	}
	if err := applyAggregates(tx, old, c); err != nil {
		return fmt.Errorf("count case %s: %w", c.ID, err)
	}
	if caseloadChanged(old, c) {
		return db.homeRefreshAdmins(tx, db.now())
	}
	return nil
}
