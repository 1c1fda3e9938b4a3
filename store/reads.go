package store

import (
	"context"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
	"github.com/casebot/casebot/store/kv/pgkv"
)

// On PostgreSQL every read a transaction makes is a round trip; a
// transaction that names what it is going to read (kv.Reads) has it read
// with its start, in the same round trip. These helpers name the reads of
// the store's common transactions; bbolt ignores them.

// caseRead names the record of case id.
func caseRead(id string) kv.Key { return kv.Key{Bucket: bucketCases, Key: []byte(id)} }

// readingCases returns ctx naming the records of the cases ids and the
// sequences of the buckets seqs as the transaction's first reads.
func readingCases(ctx context.Context, ids []string, seqs ...[]byte) context.Context {
	r := kv.Reads{Keys: make([]kv.Key, 0, len(ids)), Sequences: seqs}
	for _, id := range ids {
		r.Keys = append(r.Keys, caseRead(id))
	}
	return kv.WithReads(ctx, r)
}

// readingCase is readingCases of one case.
func readingCase(ctx context.Context, id string, seqs ...[]byte) context.Context {
	return kv.WithReads(ctx, kv.Reads{Keys: []kv.Key{caseRead(id)}, Sequences: seqs})
}

// readsAhead reports whether the engine reads what a transaction names at
// its start (PostgreSQL), so that naming a large batch's reads is worth
// building; bbolt ignores them.
func (db *DB) readsAhead() bool {
	_, ok := db.kv.(*pgkv.Engine)
	return ok
}

// ingestReads names what Ingest reads of a batch: the cases its notes go
// to, their de-duplication keys, the mailbox's state and the sequences of
// notes and audit events.
func ingestReads(b *casebot.IngestBatch) kv.Reads {
	r := kv.Reads{Keys: make([]kv.Key, 0, 2*len(b.Items)+1), Sequences: [][]byte{bucketNotes, bucketAudit}}
	seen := make(map[string]bool)
	for _, it := range b.Items {
		if it.Note != nil && !seen[it.Note.CaseID] {
			seen[it.Note.CaseID] = true
			r.Keys = append(r.Keys, caseRead(it.Note.CaseID))
		}
		if it.DedupeKey != "" {
			r.Keys = append(r.Keys, kv.Key{Bucket: bucketMailSeen2, Key: seenKey(nil, it.DedupeKey)})
		}
	}
	r.Keys = append(r.Keys, kv.Key{Bucket: bucketMailState, Key: []byte(b.Mailbox)})
	return r
}

// CaseRecords implements casebot.CaseStore: the case, its notes and its
// newest documents from one read transaction, which names the case and
// the first keys of its note and document indexes as its reads (on
// PostgreSQL one round trip, and one more for the note records). Nothing
// is decoded past the case before see allows it.
func (db *DB) CaseRecords(ctx context.Context, id string, newestDocs int, see func(*casebot.Case) error) (casebot.CaseRecords, error) {
	var out casebot.CaseRecords
	var refused error
	prefix := prefixOf(id)
	reads := kv.Reads{Keys: []kv.Key{caseRead(id)}, Seeks: []kv.Seek{{Bucket: bucketNoteN, Key: prefix}, {Bucket: bucketDocMeta, Key: prefix}}}
	err := db.view(kv.WithReads(ctx, reads), func(tx kv.Tx) error {
		c, err := db.getCase(tx, id)
		if err != nil {
			return err
		}
		if see != nil {
			if refused = see(c); refused != nil {
				return refused
			}
		}
		notes, err := db.caseNotes(tx, id)
		if err != nil {
			return notesUnreadable(id, err)
		}
		docs, total, err := db.caseDocuments(tx, id, newestDocs)
		if err != nil {
			return err
		}
		out = casebot.CaseRecords{Case: c, Notes: notes, Documents: docs, DocumentCount: total}
		return nil
	})
	if refused != nil {
		return casebot.CaseRecords{}, refused
	}
	if err != nil {
		return casebot.CaseRecords{}, fmt.Errorf("store: case %s with its records: %w", id, err)
	}
	return out, nil
}
