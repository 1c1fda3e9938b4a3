package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Binary records (format 2). Notes, outbox messages and audit events were
// first stored as JSON (a framed clear JSON header and sealed JSON payload
// for notes and outbox messages, a bare JSON object for audit events); the
// ingest path spent more time in reflection-driven JSON, and in base64 for
// raw messages, than in bbolt. Records written now start with binFormat, a
// byte no old record starts with: an old framed record starts with the
// uvarint length of a JSON header of at least "{}" (so >= 2), an old audit
// event with '{'. Readers accept both; nothing is rewritten.
//
// Fields are written in a fixed order: strings and byte slices as uvarint
// length and bytes, integers as uvarints, booleans as one byte, times as
// time.Time's binary form (which keeps the zone offset, as JSON did)
// behind a length byte. A field added to a record type must be added here
// too: TestBinaryCodecCoversEveryField fails until it is.
const binFormat = 0

// isBinary reports whether a stored value is in the binary format.
func isBinary(v []byte) bool { return len(v) > 0 && v[0] == binFormat }

// enc appends binary fields to a buffer.
type enc struct{ b []byte }

func (e *enc) uint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) int(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) str(s string)   { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(p []byte) { e.uint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) bool(v bool)    { e.b = append(e.b, b2u(v)) }
func (e *enc) time(t time.Time) {
	n := len(e.b)
	e.b = append(e.b, 0)
	var err error
	if e.b, err = t.AppendBinary(e.b); err != nil {
		// Only years outside the int16 zone-offset range fail; keep the
		// instant in UTC rather than lose the record.
		e.b, _ = t.UTC().AppendBinary(e.b[:n+1])
	}
	e.b[n] = byte(len(e.b) - n - 1)
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// dec reads binary fields; the first error sticks and later reads return
// zero values.
type dec struct {
	b   []byte
	err error
	// ver is the layout version of the record being read, where a record
	// type has several (notices: noticeFormat).
	ver byte
}

var errShort = errors.New("record truncated")

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *dec) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// raw returns the next length-prefixed field, aliasing the input.
func (d *dec) raw() []byte {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) str() string { return string(d.raw()) }

// strOr returns the next string field, as s itself (no copy) when it is
// equal to s.
func (d *dec) strOr(s string) string {
	if p := d.raw(); string(p) != s {
		return string(p)
	}
	return s
}

// enumOf returns the next string field as the one of known it is equal to
// (no copy), else as a copy: priorities, statuses, roles.
func enumOf[T ~string](d *dec, known []T) T {
	p := d.raw()
	for _, k := range known {
		if string(p) == string(k) {
			return k
		}
	}
	return T(p)
}

// bytes returns a copy of the next byte field, nil when it is empty.
func (d *dec) bytes() []byte {
	p := d.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *dec) bool() bool {
	if len(d.b) == 0 {
		d.fail(errShort)
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v != 0
}

func (d *dec) time() time.Time {
	if len(d.b) == 0 {
		d.fail(errShort)
		return time.Time{}
	}
	n := int(d.b[0])
	if n > len(d.b)-1 {
		d.fail(errShort)
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(d.b[1 : 1+n]); err != nil {
		d.fail(fmt.Errorf("time: %w", err))
		return time.Time{}
	}
	d.b = d.b[1+n:]
	return t
}

// count reads a slice length, refusing one the remaining bytes cannot hold
// (each element takes at least min bytes).
func (d *dec) count(min int) int {
	n := d.uint()
	if n > uint64(len(d.b)/min) {
		d.fail(errShort)
		return 0
	}
	return int(n)
}

// appendFrame2 appends a binary record: binFormat, uvarint header length,
// header, then the sealed payload.
func appendFrame2(dst []byte, sl *sealer, key, header, payload []byte) []byte {
	dst = append(dst, binFormat)
	dst = binary.AppendUvarint(dst, uint64(len(header)))
	dst = append(dst, header...)
	return sl.appendSeal(dst, key, payload)
}

// unframe2 splits a binary record into its header and sealed payload.
func unframe2(v []byte) (header, sealed []byte, err error) {
	return unframe(v[1:])
}

// frameSize is an upper bound of a binary record's size, for one allocation.
func frameSize(sl *sealer, header, payload []byte) int {
	return 1 + binary.MaxVarintLen64 + len(header) + sl.sealedSize(len(payload))
}

// Note records.

// Note header flags, a trailing field (headers written before it end
// after Created).
const (
	// noteAuthorSealed: the author is an email address (a party's), kept
	// as the payload's first field; the header says partyAuthor.
	noteAuthorSealed = 1 << iota
)

// partyAuthor stands in the clear for a note author that is a party's
// email address, as a purged audit trail names them (casebot.Anonymize).
const partyAuthor = "party"

// sealsAuthor reports whether a note's author goes into its sealed payload.
func sealsAuthor(n *casebot.Note) bool { return casebot.Anonymize(n.Author) != n.Author }

func appendNoteHeader(e *enc, n *casebot.Note) {
	e.str(n.CaseID)
	e.uint(uint64(n.N))
	var flags uint64
	if sealsAuthor(n) {
		flags |= noteAuthorSealed
		e.str(partyAuthor)
	} else {
		e.str(n.Author)
	}
	e.str(string(n.Source))
	e.bool(n.Private)
	e.time(n.Created)
	e.uint(flags)
}

// decodeNoteHeader reads a note's clear header and its flags.
func decodeNoteHeader(h []byte) (*casebot.Note, uint64, error) {
	d := dec{b: h}
	n := &casebot.Note{CaseID: d.str(), N: int(d.uint()), Author: d.str(), Source: casebot.NoteSource(d.str()), Private: d.bool(), Created: d.time()}
	var flags uint64
	if len(d.b) > 0 {
		flags = d.uint()
	}
	return n, flags, d.err
}

// Email meta flags.
const (
	emailFullTextIsBody = 1 << iota // FullText equals Body and is not stored twice
)

func appendNotePayload(e *enc, body string, m *casebot.EmailMeta) {
	e.str(body)
	e.bool(m != nil)
	if m == nil {
		return
	}
	e.str(m.From)
	e.str(m.FromName)
	e.str(m.Subject)
	e.str(m.MessageID)
	e.time(m.Date)
	var flags uint64
	if m.FullText == body && body != "" {
		flags |= emailFullTextIsBody
	}
	e.uint(flags)
	if flags&emailFullTextIsBody == 0 {
		e.str(m.FullText)
	}
	e.bytes(m.Raw)
	e.uint(uint64(len(m.Attachments)))
	for _, a := range m.Attachments {
		e.str(a.Name)
		e.str(a.Type)
		e.int(a.Size)
		e.str(a.SHA256)
		e.bytes(a.Content)
		e.bool(a.Truncated)
	}
}

func decodeNotePayload(p []byte) (string, *casebot.EmailMeta, error) {
	d := dec{b: p}
	body := d.str()
	if !d.bool() {
		return body, nil, d.err
	}
	m := &casebot.EmailMeta{From: d.str(), FromName: d.str(), Subject: d.str(), MessageID: d.str(), Date: d.time()}
	flags := d.uint()
	if flags&emailFullTextIsBody != 0 {
		m.FullText = body
	} else {
		m.FullText = d.str()
	}
	m.Raw = d.bytes()
	if n := d.count(6); n > 0 {
		m.Attachments = make([]casebot.Attachment, n)
		for i := range m.Attachments {
			m.Attachments[i] = casebot.Attachment{Name: d.str(), Type: d.str(), Size: d.int(), SHA256: d.str(), Content: d.bytes(), Truncated: d.bool()}
		}
	}
	return body, m, d.err
}

// Outbox records.

// partyRecipient reports whether an outbox message goes to an email
// address (a party's): its key, recipient, name and subject then go into
// the sealed payload (outAddrTag) and the header holds stand-ins.
func partyRecipient(m *casebot.OutMessage) bool { return casebot.Anonymize(m.To) != m.To }

func appendOutHeader(e *enc, m *casebot.OutMessage) {
	e.uint(m.ID)
	if partyRecipient(m) {
		e.str("")
		e.str(m.Kind)
		e.str(partyAuthor)
		e.str("")
		e.str(m.CaseID)
		e.str("")
	} else {
		e.str(m.Key)
		e.str(m.Kind)
		e.str(m.To)
		e.str(m.ToName)
		e.str(m.CaseID)
		e.str(m.Subject)
	}
	e.uint(uint64(len(m.Buttons)))
	for _, b := range m.Buttons {
		e.str(b.ActionID)
		e.str(b.Label)
		e.str(b.Value)
	}
	e.str(m.MessageID)
	e.str(m.InReplyTo)
	e.bool(m.Auto)
	e.time(m.Created)
	e.int(int64(m.Attempts))
	e.time(m.NextTry)
	e.str(m.LastError)
}

func decodeOutHeader(h []byte) (*casebot.OutMessage, error) {
	d := dec{b: h}
	m := &casebot.OutMessage{ID: d.uint(), Key: d.str(), Kind: d.str(), To: d.str(), ToName: d.str(), CaseID: d.str(), Subject: d.str()}
	if n := d.count(3); n > 0 {
		m.Buttons = make([]casebot.Button, n)
		for i := range m.Buttons {
			m.Buttons[i] = casebot.Button{ActionID: d.str(), Label: d.str(), Value: d.str()}
		}
	}
	m.MessageID, m.InReplyTo, m.Auto = d.str(), d.str(), d.bool()
	m.Created, m.Attempts, m.NextTry, m.LastError = d.time(), int(d.int()), d.time(), d.str()
	return m, d.err
}

// The sealed payload of an outbox message is its text and calendar, then
// its notice when it has one: noticeFormat and the
// notice's fields; then its attachments when it has some: outAttachTag
// and the doc#s. A payload written before notices (or attachments)
// existed ends earlier, and decodes as a message without them.
func appendOutPayload(e *enc, m *casebot.OutMessage) {
	e.str(m.Text)
	e.bytes(m.Calendar)
	if m.Notice != nil {
		appendNotice(e, m.Notice)
	}
	if len(m.Attach) > 0 {
		e.b = append(e.b, outAttachTag)
		e.uint(uint64(len(m.Attach)))
		for _, n := range m.Attach {
			e.uint(uint64(n))
		}
	}
	if partyRecipient(m) {
		e.b = append(e.b, outAddrTag)
		e.str(m.Key)
		e.str(m.To)
		e.str(m.ToName)
		e.str(m.Subject)
	}
}

func decodeOutPayload(p []byte, m *casebot.OutMessage) error {
	d := dec{b: p}
	m.Text, m.Calendar = d.str(), d.bytes()
	if d.err == nil && len(d.b) > 0 && d.b[0] != outAttachTag && d.b[0] != outAddrTag {
		m.Notice = decodeNotice(&d)
	}
	for d.err == nil && len(d.b) > 0 {
		tag := d.b[0]
		d.b = d.b[1:]
		switch tag {
		case outAttachTag:
			if n := d.count(1); n > 0 {
				m.Attach = make([]int, n)
				for i := range m.Attach {
					m.Attach[i] = int(d.uint())
				}
			}
		case outAddrTag:
			m.Key, m.To, m.ToName, m.Subject = d.str(), d.str(), d.str(), d.str()
		default:
			return fmt.Errorf("unknown outbox payload part %d", tag)
		}
	}
	return d.err
}

// outAttachTag starts the attachments' part of an outbox payload; no
// notice format takes its value (nor outAddrTag's).
const outAttachTag = 0x41

// outAddrTag starts the part of an outbox payload that holds the key,
// recipient, name and subject of a message to an email address.
const outAddrTag = 0x42

// Audit events. Format 2 wrote every field in the clear (decodeAuditEvent
// reads it; appendAuditEvent stays for tests). Events are now sealed: the byte
// auditSealed, then a record framed as notes are, whose clear header holds
// the case, time, actor and action and whose sealed payload holds Detail and
// About, which name case content (a note's first line, an email's subject).
const auditSealed = 1

// encodeAudit returns the record of ev stored under key, its Detail and
// About sealed under the case's own key (so a purge's destroyed key takes
// them along). A purged case, whose key is destroyed and whose content is
// gone, takes only content-free events (the purge, views), sealed under
// the master key.
func (db *DB) encodeAudit(tx kv.Tx, key []byte, ev *casebot.AuditEvent) ([]byte, error) {
	sl := db.seal
	if db.keys != nil && !keyDestroyedTx(tx, ev.CaseID) {
		var err error
		if sl, err = db.caseSealer(tx, ev.CaseID); err != nil {
			return nil, err
		}
	}
	s := getScratch()
	defer putScratch(s)
	s.h.str(ev.CaseID)
	s.h.time(ev.At)
	// An actor that is a party's email address (an email's sender) is
	// sealed with the details: the header says "party", as a purged trail
	// does, and the payload ends with the address.
	partyActor := casebot.Anonymize(ev.Actor) != ev.Actor
	if partyActor {
		s.h.str(casebot.Anonymize(ev.Actor))
	} else {
		s.h.str(ev.Actor)
	}
	s.h.str(ev.Action)
	appendAuditPayload(&s.p, ev)
	if partyActor {
		s.p.str(ev.Actor)
	}
	v := append(make([]byte, 0, 1+frameSize(sl, s.h.b, s.p.b)), auditSealed)
	return appendFrame2(v, sl, key, s.h.b, s.p.b), nil
}

func appendAuditPayload(e *enc, ev *casebot.AuditEvent) {
	a := &ev.About
	e.str(ev.Detail)
	e.uint(uint64(a.N))
	e.time(a.When)
	e.int(int64(a.Length))
	e.str(a.Who)
	e.str(a.Text)
	e.bool(a.Private)
}

// decodeSealedAudit reads a record encodeAudit wrote under key.
func (db *DB) decodeSealedAudit(key, v []byte) (casebot.AuditEvent, error) {
	if len(v) < 2 || !isBinary(v[1:]) {
		return casebot.AuditEvent{}, errors.New("bad audit record frame")
	}
	h, sealed, err := unframe2(v[1:])
	if err != nil {
		return casebot.AuditEvent{}, err
	}
	d := dec{b: h}
	ev := casebot.AuditEvent{CaseID: d.str(), At: d.time(), Actor: d.str(), Action: d.str()}
	if d.err != nil {
		return ev, fmt.Errorf("header: %w", d.err)
	}
	plain, err := db.openCase(ev.CaseID, key, sealed)
	if err != nil {
		return ev, err
	}
	d = dec{b: plain}
	ev.Detail = d.str()
	ev.About = casebot.About{N: int(d.uint()), When: d.time(), Length: time.Duration(d.int()), Who: d.str(), Text: d.str(), Private: d.bool()}
	if len(d.b) > 0 && d.err == nil {
		ev.Actor = d.str() // a party's address, sealed
	}
	if d.err != nil {
		return ev, fmt.Errorf("payload: %w", d.err)
	}
	return ev, nil
}

func appendAuditEvent(dst []byte, ev *casebot.AuditEvent) []byte {
	e := enc{b: append(dst, binFormat)}
	e.str(ev.CaseID)
	e.time(ev.At)
	e.str(ev.Actor)
	e.str(ev.Action)
	e.str(ev.Detail)
	return e.b
}

func decodeAuditEvent(v []byte) (casebot.AuditEvent, error) {
	d := dec{b: v[1:]}
	ev := casebot.AuditEvent{CaseID: d.str(), At: d.time(), Actor: d.str(), Action: d.str(), Detail: d.str()}
	return ev, d.err
}
