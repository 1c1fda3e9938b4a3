package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/casebot/casebot"
)

// sep separates the parts of composite keys; no case ID, status, email or
// normalised name contains it.
const sep = 0

func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// timeKey encodes t as 8 bytes that sort like the times, also before 1970.
func timeKey(t time.Time) []byte {
	var v uint64
	if !t.IsZero() {
		v = uint64(t.UnixNano()) ^ (1 << 63)
	}
	return be64(v)
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

func (db *DB) encodeNote(key []byte, n *casebot.Note) ([]byte, error) {
	h, err := json.Marshal(noteHeader{CaseID: n.CaseID, N: n.N, Author: n.Author, Source: n.Source, Private: n.Private, Created: n.Created})
	if err != nil {
		return nil, fmt.Errorf("encode note header: %w", err)
	}
	p, err := json.Marshal(notePayload{Body: n.Body, Email: n.Email})
	if err != nil {
		return nil, fmt.Errorf("encode note body: %w", err)
	}
	return frame(h, db.seal.seal(key, p)), nil
}

// decodeNote reads and decrypts a note record stored under key.
func (db *DB) decodeNote(key, v []byte) (*casebot.Note, error) {
	h, sealed, err := unframe(v)
	if err != nil {
		return nil, fmt.Errorf("note %q: %w", key, err)
	}
	var nh noteHeader
	if err := json.Unmarshal(h, &nh); err != nil {
		return nil, fmt.Errorf("note %q header: %w", key, err)
	}
	n := &casebot.Note{CaseID: nh.CaseID, N: nh.N, Author: nh.Author, Source: nh.Source, Private: nh.Private, Created: nh.Created}
	plain, err := db.seal.open(key, sealed)
	if err != nil {
		return nil, fmt.Errorf("note %s/%d: %w", nh.CaseID, nh.N, err)
	}
	var p notePayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("note %s/%d body: %w", nh.CaseID, nh.N, err)
	}
	n.Body, n.Email = p.Body, p.Email
	return n, nil
}

func (db *DB) encodeOut(key []byte, m *casebot.OutMessage) ([]byte, error) {
	hm := *m
	hm.Text, hm.Calendar = "", nil
	h, err := json.Marshal(&hm)
	if err != nil {
		return nil, fmt.Errorf("encode outbox header: %w", err)
	}
	p, err := json.Marshal(outPayload{Text: m.Text, Calendar: m.Calendar})
	if err != nil {
		return nil, fmt.Errorf("encode outbox body: %w", err)
	}
	return frame(h, db.seal.seal(key, p)), nil
}

func (db *DB) decodeOut(key, v []byte) (*casebot.OutMessage, error) {
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

// hasPrefix reports whether k starts with p (nil-safe for cursor ends).
func hasPrefix(k, p []byte) bool { return k != nil && bytes.HasPrefix(k, p) }
