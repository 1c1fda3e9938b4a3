package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// sep separates the parts of composite keys; no case ID, status, email or
// normalised name contains it.
const sep = 0

func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// timeKey encodes t as 8 bytes that sort like the times, also before 1970.
func timeKey(t time.Time) []byte { return appendTimeKey(nil, t) }

// appendTimeKey appends timeKey(t) to dst.
func appendTimeKey(dst []byte, t time.Time) []byte {
	var v uint64
	if !t.IsZero() {
		v = uint64(t.UnixNano()) ^ (1 << 63)
	}
	return binary.BigEndian.AppendUint64(dst, v)
}

// keyOf joins parts with sep.
func keyOf(parts ...string) []byte {
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, sep)
		}
		b = append(b, p...)
	}
	return b
}

// prefixOf returns the parts joined and terminated by sep, for prefix scans.
func prefixOf(parts ...string) []byte { return append(keyOf(parts...), sep) }

// numberedKey is caseID \x00 n (big-endian uint32): notes, deadlines, sessions.
func numberedKey(caseID string, n int) []byte {
	return binary.BigEndian.AppendUint32(prefixOf(caseID), uint32(n))
}

// sortValue is the value of the mediator and status index entries: what
// Cases needs to order and filter without reading the records.
func sortValue(c *casebot.Case) []byte {
	v := []byte{byte(c.Priority.Rank())}
	if ds := c.OpenDeadlines(); len(ds) > 0 {
		v = append(v, timeKey(ds[0].Due)...)
	} else {
		v = binary.BigEndian.AppendUint64(v, math.MaxUint64)
	}
	return append(v, c.Status...)
}

// sortInfo is a decoded sortValue.
type sortInfo struct {
	id       string
	rank     int
	deadline uint64
	status   casebot.Status
}

func decodeSortValue(id string, v []byte) (sortInfo, error) {
	if len(v) < 9 {
		return sortInfo{}, fmt.Errorf("index value of %s is %d bytes", id, len(v))
	}
	return sortInfo{id: id, rank: int(v[0]), deadline: u64(v[1:9]), status: casebot.Status(v[9:])}, nil
}

// noteHeader is what a note keeps in the clear: no body, no email.
type noteHeader struct {
	CaseID  string
	N       int
	Author  string
	Source  casebot.NoteSource
	Private bool
	Created time.Time
}

// notePayload is the sealed part of a note.
type notePayload struct {
	Body  string
	Email *casebot.EmailMeta `json:",omitempty"`
}

// outPayload is the sealed part of an outbox message.
type outPayload struct {
	Text     string
	Calendar []byte `json:",omitempty"`
}

// frame joins a clear JSON header and a sealed payload into one value:
// uvarint header length, header, sealed payload. Framing (rather than one
// JSON document) keeps the payload out of base64, so without a key the text
// is stored as written and with a key nothing readable remains.
func frame(header, sealed []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, sealed...)
}

func unframe(v []byte) (header, sealed []byte, err error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return nil, nil, errors.New("bad record frame")
	}
	return v[k : k+int(n)], v[k+int(n):], nil
}

// scratch holds a header and a payload being encoded; the finished record
// is copied out of it (bbolt keeps a Put value until the commit), so the
// buffers are reused.
type scratch struct{ h, p enc }

var scratchPool = sync.Pool{New: func() any { return &scratch{h: enc{b: make([]byte, 0, 256)}, p: enc{b: make([]byte, 0, 4096)}} }}

func getScratch() *scratch {
	s := scratchPool.Get().(*scratch)
	s.h.b, s.p.b = s.h.b[:0], s.p.b[:0]
	return s
}

func putScratch(s *scratch) {
	if cap(s.p.b) <= 1<<20 {
		scratchPool.Put(s)
	}
}

// sealFrame returns the binary record of the scratch's header and payload,
// the payload sealed by sl under key, in one allocation.
func sealFrame(sl *sealer, key []byte, s *scratch) []byte {
	return appendFrame2(make([]byte, 0, frameSize(sl, s.h.b, s.p.b)), sl, key, s.h.b, s.p.b)
}

// encodeNote encodes a note sealed under the master key (or plain).
func (db *DB) encodeNote(key []byte, n *casebot.Note) ([]byte, error) {
	return encodeNoteWith(db.seal, key, n), nil
}

// encodeCaseNote encodes a note sealed under its case's data key in tx.
func (db *DB) encodeCaseNote(tx kv.Tx, key []byte, n *casebot.Note) ([]byte, error) {
	sl, err := db.caseSealer(tx, n.CaseID)
	if err != nil {
		return nil, err
	}
	return encodeNoteWith(sl, key, n), nil
}

func encodeNoteWith(sl *sealer, key []byte, n *casebot.Note) []byte {
	s := getScratch()
	defer putScratch(s)
	appendNoteHeader(&s.h, n)
	if sealsAuthor(n) {
		s.p.str(n.Author)
	}
	appendNotePayload(&s.p, n.Body, n.Email)
	return sealFrame(sl, key, s)
}

// decodeNoteMeta reads a note record's clear header (nothing is
// decrypted): an author that is a party's address reads as partyAuthor.
func decodeNoteMeta(key, v []byte) (*casebot.Note, []byte, error) {
	n, _, sealed, err := decodeNoteFrame(key, v)
	return n, sealed, err
}

// decodeNoteFrame is decodeNoteMeta with the header's flags.
func decodeNoteFrame(key, v []byte) (*casebot.Note, uint64, []byte, error) {
	if isBinary(v) {
		h, sealed, err := unframe2(v)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("note %x: %w", key, err)
		}
		n, flags, err := decodeNoteHeader(h)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("note %x header: %w", key, err)
		}
		return n, flags, sealed, nil
	}
	h, sealed, err := unframe(v)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("note %x: %w", key, err)
	}
	var nh noteHeader
	if err := json.Unmarshal(h, &nh); err != nil {
		return nil, 0, nil, fmt.Errorf("note %x header: %w", key, err)
	}
	return &casebot.Note{CaseID: nh.CaseID, N: nh.N, Author: nh.Author, Source: nh.Source, Private: nh.Private, Created: nh.Created}, 0, sealed, nil
}

// decodeNote reads and decrypts a note record stored under key.
func (db *DB) decodeNote(key, v []byte) (*casebot.Note, error) {
	n, flags, sealed, err := decodeNoteFrame(key, v)
	if err != nil {
		return nil, err
	}
	plain, err := db.openCase(n.CaseID, key, sealed)
	if err != nil {
		return nil, fmt.Errorf("note %s/%d: %w", n.CaseID, n.N, err)
	}
	if flags&noteAuthorSealed != 0 {
		d := dec{b: plain}
		if n.Author = d.str(); d.err != nil {
			return nil, fmt.Errorf("note %s/%d author: %w", n.CaseID, n.N, d.err)
		}
		plain = d.b
	}
	if isBinary(v) {
		n.Body, n.Email, err = decodeNotePayload(plain)
		if err != nil {
			return nil, fmt.Errorf("note %s/%d body: %w", n.CaseID, n.N, err)
		}
		return n, nil
	}
	var p notePayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("note %s/%d body: %w", n.CaseID, n.N, err)
	}
	n.Body, n.Email = p.Body, p.Email
	return n, nil
}

// encodeOut returns the record of m stored under key. A message about a
// case (a notice, a party's email) is sealed under the case's own data key,
// so that the purge's destroyed key takes it from every copy of the file;
// one about no case (a digest, a Home refresh) under the master key.
func (db *DB) encodeOut(tx kv.Tx, key []byte, m *casebot.OutMessage) ([]byte, error) {
	sl, err := db.outSealer(tx, m.CaseID)
	if err != nil {
		return nil, err
	}
	s := getScratch()
	defer putScratch(s)
	appendOutHeader(&s.h, m)
	appendOutPayload(&s.p, m)
	return sealFrame(sl, key, s), nil
}

// outSealer returns the sealer of an outbox message about case id: the
// case's key when the case exists with a live key, else the master key.
func (db *DB) outSealer(tx kv.Tx, id string) (*sealer, error) {
	if db.keys == nil || id == "" || tx.Bucket(bucketCases).Get([]byte(id)) == nil || keyDestroyedTx(tx, id) {
		return db.seal, nil
	}
	return db.caseSealer(tx, id)
}

func (db *DB) decodeOut(key, v []byte) (*casebot.OutMessage, error) {
	if isBinary(v) {
		h, sealed, err := unframe2(v)
		if err != nil {
			return nil, fmt.Errorf("outbox %d: %w", u64(key), err)
		}
		m, err := decodeOutHeader(h)
		if err != nil {
			return nil, fmt.Errorf("outbox %d header: %w", u64(key), err)
		}
		plain, err := db.openCase(m.CaseID, key, sealed)
		if err != nil {
			return nil, fmt.Errorf("outbox %d: %w", u64(key), err)
		}
		if err := decodeOutPayload(plain, m); err != nil {
			return nil, fmt.Errorf("outbox %d body: %w", u64(key), err)
		}
		return m, nil
	}
	h, sealed, err := unframe(v)
	if err != nil {
		return nil, fmt.Errorf("outbox %d: %w", u64(key), err)
	}
	var m casebot.OutMessage
	if err := json.Unmarshal(h, &m); err != nil {
		return nil, fmt.Errorf("outbox %d header: %w", u64(key), err)
	}
	plain, err := db.seal.open(key, sealed)
	if err != nil {
		return nil, fmt.Errorf("outbox %d: %w", u64(key), err)
	}
	var p outPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("outbox %d body: %w", u64(key), err)
	}
	m.Text, m.Calendar = p.Text, p.Calendar
	return &m, nil
}

// decodeAudit reads an audit event stored under key in any format: sealed,
// binary (format 2) or JSON. Events of the older formats have a zero About.
func (db *DB) decodeAudit(key, v []byte) (casebot.AuditEvent, error) {
	if len(v) > 0 && v[0] == auditSealed {
		return db.decodeSealedAudit(key, v)
	}
	if isBinary(v) {
		return decodeAuditEvent(v)
	}
	var ev casebot.AuditEvent
	err := json.Unmarshal(v, &ev)
	return ev, err
}

// hasPrefix reports whether k starts with p (nil-safe for cursor ends).
func hasPrefix(k, p []byte) bool { return k != nil && bytes.HasPrefix(k, p) }
