package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Document buckets (schema 4). Both are keyed by case ID \x00 doc#
// (big-endian uint32), so one case's documents are one prefix scan and a
// purge of the case one prefix delete; the content lives apart from the
// metadata, so listing never reads it.
var (
	// bucketDocMeta: case ID \x00 doc# -> binary record: a clear header
	// (doc#, size, kept) and a sealed payload (names, types, SHA-256,
	// arrivals). Names are case content, so they are sealed like note
	// bodies.
	bucketDocMeta = []byte("doc_meta")
	// bucketDocData: case ID \x00 doc# -> the sealed content of a kept
	// document.
	bucketDocData = []byte("doc_data")
)

// docHeader is what a document record keeps in the clear. The size is no
// secret: the sealed content's length tells it anyway. It lets a new
// arrival skip every document of another size without decrypting it.
type docHeader struct {
	n    int
	size int64
	kept bool
}

func encodeDoc(sl *sealer, key []byte, d *casebot.Document) []byte {
	s := getScratch()
	defer putScratch(s)
	s.h.uint(uint64(d.N))
	s.h.int(d.Size)
	s.h.bool(d.Kept)
	p := &s.p
	p.str(d.Name)
	p.str(d.DeclaredType)
	p.str(d.DetectedType)
	p.str(d.SHA256)
	p.uint(uint64(len(d.Arrivals)))
	for _, a := range d.Arrivals {
		p.str(a.From)
		p.time(a.At)
		p.uint(uint64(a.Note))
		p.str(a.Name)
		p.str(a.Via)
	}
	return sealFrame(sl, key, s)
}

// decodeDocHeader reads a document record's clear header; nothing is
// decrypted.
func decodeDocHeader(key, v []byte) (docHeader, []byte, error) {
	if !isBinary(v) {
		return docHeader{}, nil, fmt.Errorf("document %x: unknown record format", key)
	}
	h, sealed, err := unframe2(v)
	if err != nil {
		return docHeader{}, nil, fmt.Errorf("document %x: %w", key, err)
	}
	d := dec{b: h}
	dh := docHeader{n: int(d.uint()), size: d.int(), kept: d.bool()}
	if d.err != nil {
		return docHeader{}, nil, fmt.Errorf("document %x header: %w", key, d.err)
	}
	return dh, sealed, nil
}

// decodeDoc reads and decrypts a document record of case caseID.
func (db *DB) decodeDoc(caseID string, key, v []byte) (*casebot.Document, error) {
	h, sealed, err := decodeDocHeader(key, v)
	if err != nil {
		return nil, err
	}
	db.docsDecoded.Add(1)
	plain, err := db.openCase(caseID, key, sealed)
	if err != nil {
		return nil, fmt.Errorf("document %s/%d: %w", caseID, h.n, err)
	}
	d := dec{b: plain}
	doc := &casebot.Document{CaseID: caseID, N: h.n, Size: h.size, Kept: h.kept,
		Name: d.str(), DeclaredType: d.str(), DetectedType: d.str(), SHA256: d.str()}
	if n := d.count(4); n > 0 {
		doc.Arrivals = make([]casebot.Arrival, n)
		for i := range doc.Arrivals {
			doc.Arrivals[i] = casebot.Arrival{From: d.str(), At: d.time(), Note: int(d.uint()), Name: d.str(), Via: d.str()}
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("document %s/%d: %w", caseID, h.n, d.err)
	}
	return doc, nil
}

// detectType reads a media type from the first bytes of a file, "" for
// an empty one.
func detectType(content []byte) string {
	if len(content) == 0 {
		return ""
	}
	return http.DetectContentType(content)
}

// addDocumentTx files attachment a, which came with note arr.Note of case
// caseID, as a document of the case: a new one numbered after the case's
// last, or another arrival of the document with the same bytes. A file
// over the size limit (a.Truncated) is recorded without its content. It
// returns the doc# and whether the document is new.
func (db *DB) addDocumentTx(tx kv.Tx, caseID string, a casebot.Attachment, arr casebot.Arrival) (int, bool, error) {
	// Documents are case content: sealed under the case's own key.
	sl, err := db.caseSealer(tx, caseID)
	if err != nil {
		return 0, false, err
	}
	if a.Size < int64(len(a.Content)) {
		a.Size = int64(len(a.Content)) // a size left unset
	}
	kept := !a.Truncated && int64(len(a.Content)) == a.Size
	sum := a.SHA256
	if sum == "" && kept {
		h := sha256.Sum256(a.Content)
		sum = hex.EncodeToString(h[:])
	}
	arr.Name = casebot.SafeFileName(arr.Name)
	meta := tx.Bucket(bucketDocMeta)
	prefix := prefixOf(caseID)
	last := 0
	c := meta.Cursor()
	for k, v := c.Seek(prefix); hasPrefix(k, prefix); k, v = c.Next() {
		h, _, err := decodeDocHeader(k, v)
		if err != nil {
			return 0, false, err
		}
		last = max(last, h.n)
		if h.size != a.Size || sum == "" {
			continue
		}
		d, err := db.decodeDoc(caseID, k, v)
		if err != nil {
			return 0, false, err
		}
		if d.SHA256 != sum {
			continue
		}
		// The same bytes again: one more arrival. A copy that came whole
		// after one that was cut off fills in the content.
		key := bytes.Clone(k)
		d.Arrivals = append(d.Arrivals, arr)
		if kept && !d.Kept {
			d.Kept, d.DetectedType = true, detectType(a.Content)
			if err := tx.Bucket(bucketDocData).Put(key, sl.seal(key, a.Content)); err != nil {
				return 0, false, fmt.Errorf("put document %s/%d content: %w", caseID, d.N, err)
			}
		}
		if err := meta.Put(key, encodeDoc(sl, key, d)); err != nil {
			return 0, false, fmt.Errorf("put document %s/%d: %w", caseID, d.N, err)
		}
		return d.N, false, nil
	}
	d := &casebot.Document{CaseID: caseID, N: last + 1, Name: arr.Name, DeclaredType: a.Type, DetectedType: detectType(a.Content),
		Size: a.Size, SHA256: sum, Kept: kept, Arrivals: []casebot.Arrival{arr}}
	key := numberedKey(caseID, d.N)
	if err := meta.Put(key, encodeDoc(sl, key, d)); err != nil {
		return 0, false, fmt.Errorf("put document %s/%d: %w", caseID, d.N, err)
	}
	if kept {
		if err := tx.Bucket(bucketDocData).Put(key, sl.seal(key, a.Content)); err != nil {
			return 0, false, fmt.Errorf("put document %s/%d content: %w", caseID, d.N, err)
		}
	}
	return d.N, true, nil
}

// noteDocumentsTx files the attachments of email note n (numbered, of case
// c) as documents and returns the note to store: its email's attachments
// keep their names, types, sizes and hashes, but their content is only
// in the documents. The caller's note is not changed. It returns the audit
// events of the arrivals ("doc.add"), for the caller to record after the
// note's own.
func (db *DB) noteDocumentsTx(tx kv.Tx, caseID string, n *casebot.Note, at time.Time) (*casebot.Note, []casebot.AuditEvent, error) {
	if n.Email == nil || len(n.Email.Attachments) == 0 {
		return n, nil, nil
	}
	out := *n
	em := *n.Email
	em.Attachments = make([]casebot.Attachment, len(n.Email.Attachments))
	out.Email = &em
	var evs []casebot.AuditEvent
	for i, a := range n.Email.Attachments {
		num, isNew, err := db.addDocumentTx(tx, caseID, a, casebot.Arrival{From: n.Author, At: at, Note: n.N, Name: a.Name})
		if err != nil {
			return nil, nil, err
		}
		a.Content = nil
		em.Attachments[i] = a
		detail := fmt.Sprintf("with note %d", n.N)
		if !isNew {
			detail = fmt.Sprintf("again, with note %d", n.N)
		}
		evs = append(evs, casebot.AuditEvent{CaseID: caseID, At: at, Actor: n.Author, Action: "doc.add", Detail: detail,
			About: casebot.About{N: num, Who: n.Author, Text: casebot.Headline(casebot.SafeFileName(a.Name))}})
	}
	return &out, evs, nil
}

// Documents returns the case's documents, newest first, at most newest of
// them (0: all), and how many it has. Only this case's records are read
// (one prefix of the key space), and no content.
func (db *DB) Documents(ctx context.Context, caseID string, newest int) ([]casebot.Document, int, error) {
	var out []casebot.Document
	total := 0
	reads := kv.Reads{Keys: []kv.Key{caseRead(caseID)}, Seeks: []kv.Seek{{Bucket: bucketDocMeta, Key: prefixOf(caseID)}}}
	err := db.view(kv.WithReads(ctx, reads), func(tx kv.Tx) error {
		if tx.Bucket(bucketCases).Get([]byte(caseID)) == nil {
			return errNoCase(caseID)
		}
		var err error
		out, total, err = db.caseDocuments(tx, caseID, newest)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: documents of %s: %w", caseID, err)
	}
	return out, total, nil
}

// caseDocuments returns the case's newest documents (0: all), newest
// first, and how many it has. It walks the case's keys forward from its
// prefix (where a transaction can name the walk in its kv.Reads), keeping
// the newest, and decodes those.
func (db *DB) caseDocuments(tx kv.Tx, caseID string, newest int) ([]casebot.Document, int, error) {
	prefix := prefixOf(caseID)
	type rec struct{ k, v []byte }
	var keep []rec
	total := 0
	c := tx.Bucket(bucketDocMeta).Cursor()
	for k, v := c.Seek(prefix); hasPrefix(k, prefix); k, v = c.Next() {
		total++
		keep = append(keep, rec{k, v})
		if newest > 0 && len(keep) > newest {
			keep = keep[1:]
		}
	}
	var out []casebot.Document
	for i := len(keep) - 1; i >= 0; i-- {
		d, err := db.decodeDoc(caseID, keep[i].k, keep[i].v)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *d)
	}
	return out, total, nil
}

// DocumentFile returns document n of the case and its content, decrypted
// (nil when it was not kept). ENOTFOUND for a missing case or document.
func (db *DB) DocumentFile(ctx context.Context, caseID string, n int) (*casebot.Document, []byte, error) {
	var doc *casebot.Document
	var content []byte
	err := db.view(ctx, func(tx kv.Tx) error {
		if tx.Bucket(bucketCases).Get([]byte(caseID)) == nil {
			return errNoCase(caseID)
		}
		key := numberedKey(caseID, n)
		v := tx.Bucket(bucketDocMeta).Get(key)
		if v == nil || n <= 0 {
			return noDocument(caseID, n)
		}
		var err error
		if doc, err = db.decodeDoc(caseID, key, v); err != nil {
			return err
		}
		if !doc.Kept {
			return nil
		}
		sealed := tx.Bucket(bucketDocData).Get(key)
		if sealed == nil {
			return fmt.Errorf("document %s/%d: content missing", caseID, n)
		}
		// open returns a copy: the content outlives the transaction.
		if content, err = db.openCase(caseID, key, sealed); err != nil {
			return fmt.Errorf("document %s/%d: %w", caseID, n, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: document %d of %s: %w", n, caseID, err)
	}
	return doc, content, nil
}

// RecordDocumentView appends "doc.view" naming doc# n (not its name or
// content) to the case's audit trail. ENOTFOUND for a missing case or
// document.
func (db *DB) RecordDocumentView(ctx context.Context, caseID, actor string, n int) error {
	reads := kv.Reads{Keys: []kv.Key{caseRead(caseID), {Bucket: bucketDocMeta, Key: numberedKey(caseID, n)}}, Sequences: [][]byte{bucketAudit}}
	err := db.batch(kv.WithReads(ctx, reads), func(tx kv.Tx) error {
		if tx.Bucket(bucketCases).Get([]byte(caseID)) == nil {
			return errNoCase(caseID)
		}
		if n <= 0 || tx.Bucket(bucketDocMeta).Get(numberedKey(caseID, n)) == nil {
			return noDocument(caseID, n)
		}
		return db.appendAudit(tx, casebot.AuditEvent{CaseID: caseID, At: db.now(), Actor: actor, Action: "doc.view", About: casebot.About{N: n}})
	})
	if err != nil {
		return fmt.Errorf("store: record view of document %d of %s: %w", n, caseID, err)
	}
	return nil
}

// noDocument is the ENOTFOUND error for a doc# the case does not have.
func noDocument(caseID string, n int) error {
	return fmt.Errorf("%w%.0w", notFound("%s has no document #%d.", caseID, n), casebot.ErrNotFound)
}

// notesToDocuments (migration 4) files the attachments kept inside the
// email notes of every case as documents, in note order so each case's
// doc# follow its notes, and rewrites those notes without the content.
// Arrivals take the note's time and sender.
func (db *DB) notesToDocuments(tx kv.Tx) error {
	notes := tx.Bucket(bucketNotes)
	c := tx.Bucket(bucketNoteN).Cursor()
	for k, seq := c.First(); k != nil; k, seq = c.Next() {
		v := notes.Get(seq)
		if v == nil {
			return fmt.Errorf("note %q: record %x missing", k, seq)
		}
		meta, _, err := decodeNoteMeta(seq, v)
		if err != nil {
			return err
		}
		if meta.Source != casebot.SourceEmail {
			continue
		}
		n, err := db.decodeNote(seq, v)
		if err != nil {
			return err
		}
		if n.Email == nil || len(n.Email.Attachments) == 0 {
			continue
		}
		stripped, _, err := db.noteDocumentsTx(tx, n.CaseID, n, n.Created)
		if err != nil {
			return fmt.Errorf("note %s/%d: %w", n.CaseID, n.N, err)
		}
		nv, err := db.encodeNote(seq, stripped)
		if err != nil {
			return err
		}
		if err := notes.Put(bytes.Clone(seq), nv); err != nil {
			return fmt.Errorf("put note %s/%d: %w", n.CaseID, n.N, err)
		}
	}
	return nil
}
