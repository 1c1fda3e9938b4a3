package store

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// sealCaseRecords (migration 6) brings a store to the layout in which a
// purge's destroyed data key takes all of a case's content along:
//
//   - every case record is rewritten in the framed layout (casecodec.go),
//     its content sealed under the case's data key (made now, in one write
//     of the keyring, for cases that have none yet; a purged case's record
//     under the master key);
//   - every index is rebuilt: party indexes of keyed hashes with a key,
//     time-index entries with their content sealed (timeref.go);
//   - email notes and audit events whose author or actor is an email
//     address (a party's) are rewritten with it sealed;
//   - outbox and sent-message keys (which can name a party's address)
//     are stored hashed (outKey), and messages to an address keep it,
//     their key, name and subject in their sealed payload (outTo hashes
//     the address in outbox_to with a key);
//   - with a key, quarantined mail keeps its sender's address sealed.
//
// Without a key the records are rewritten the same way with their content
// plain, and the indexes keep plain terms. A case whose data key the
// keyring lacks (a lost keyring) keeps its record as it was (still
// readable as JSON) and `check` goes on reporting it.
func (db *DB) sealCaseRecords(tx kv.Tx) error {
	cases := tx.Bucket(bucketCases)
	if db.keys != nil {
		var need []string
		err := cases.ForEach(func(k, v []byte) error {
			if tx.Bucket(bucketCaseKeys).Get(k) == nil {
				need = append(need, string(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := db.keys.ensure(need...); err != nil {
			return err
		}
	}
	type rec struct {
		key []byte
		c   *casebot.Case
	}
	var recs []rec
	err := cases.ForEach(func(k, v []byte) error {
		if db.caseKeyMissing(tx, string(k)) {
			return nil
		}
		c, err := db.decodeCase(k, v)
		if err != nil {
			return err
		}
		recs = append(recs, rec{bytes.Clone(k), c})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read case records: %w", err)
	}
	for _, r := range recs {
		sl, err := db.caseRecordSealer(tx, r.c)
		if err != nil {
			return err
		}
		if err := cases.Put(r.key, encodeCase(sl, r.c)); err != nil {
			return fmt.Errorf("put case %s: %w", r.c.ID, err)
		}
	}
	if err := db.reindex(tx); err != nil {
		return err
	}
	if err := db.resealPartyNotes(tx); err != nil {
		return err
	}
	if err := db.resealPartyActors(tx); err != nil {
		return err
	}
	if err := db.hashOutKeys(tx); err != nil {
		return err
	}
	if err := db.resealOutbox(tx); err != nil {
		return err
	}
	return db.resealQuarantine(tx)
}

// resealQuarantine rewrites the quarantined mails with their sender's
// address sealed (with a key).
func (db *DB) resealQuarantine(tx kv.Tx) error {
	b := tx.Bucket(bucketMailQuar)
	if b == nil || !db.seal.encrypted() {
		return nil
	}
	var qs []*casebot.Quarantined
	err := b.ForEach(func(k, v []byte) error {
		q, err := db.decodeQuarantine(k, v)
		qs = append(qs, q)
		return err
	})
	if err != nil {
		return fmt.Errorf("read quarantine: %w", err)
	}
	for _, q := range qs {
		if err := db.writeQuarantine(b, q); err != nil {
			return err
		}
	}
	return nil
}

// resealOutbox rewrites pending and undeliverable messages to an email
// address with their key, recipient, name and subject sealed, and the
// recipients' outbox_to keys (hashed for an address with a key).
func (db *DB) resealOutbox(tx kv.Tx) error {
	for _, name := range [][]byte{bucketOutbox, bucketDead} {
		b := tx.Bucket(name)
		if b == nil {
			continue // made after the migrations (outbox_dead)
		}
		var ms []*casebot.OutMessage
		err := b.ForEach(func(k, v []byte) error {
			m, err := db.decodeOut(k, v)
			ms = append(ms, m)
			return err
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		for _, m := range ms {
			v, err := db.encodeOut(tx, be64(m.ID), m)
			if err != nil {
				return err
			}
			if err := b.Put(be64(m.ID), v); err != nil {
				return fmt.Errorf("put %s message: %w", name, err)
			}
			if !bytes.Equal(name, bucketOutbox) {
				continue
			}
			to := tx.Bucket(bucketOutboxTo)
			if err := to.Delete(append(prefixOf(m.To), be64(m.ID)...)); err != nil {
				return fmt.Errorf("delete outbox recipient: %w", err)
			}
			if err := to.Put(append(append(db.outTo(m.To), sep), be64(m.ID)...), []byte{}); err != nil {
				return fmt.Errorf("put outbox recipient: %w", err)
			}
		}
	}
	return nil
}

// hashOutKeys rewrites the outbox_key and sent keys, which were message
// keys in the clear, as outKey hashes.
func (db *DB) hashOutKeys(tx kv.Tx) error {
	for _, name := range [][]byte{bucketOutboxKey, bucketSent} {
		b := tx.Bucket(name)
		var keys, vals [][]byte
		err := b.ForEach(func(k, v []byte) error {
			keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range keys {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("delete %s key: %w", name, err)
			}
			if err := b.Put(db.outKey(string(k)), vals[i]); err != nil {
				return fmt.Errorf("put %s key: %w", name, err)
			}
		}
	}
	return nil
}

// caseKeyMissing reports whether case id's content uses a data key that
// the keyring lacks (lost, or destroyed by a purge after this copy of the
// file was made).
func (db *DB) caseKeyMissing(tx kv.Tx, id string) bool {
	if db.keys == nil {
		return false
	}
	mark := tx.Bucket(bucketCaseKeys).Get([]byte(id))
	if len(mark) == 0 {
		return false
	}
	_, ok, err := db.keys.find(id)
	return err == nil && !ok
}

// resealPartyNotes rewrites the notes whose clear header names an email
// address as their author, under their case's data key.
func (db *DB) resealPartyNotes(tx kv.Tx) error {
	notes := tx.Bucket(bucketNotes)
	var keys [][]byte
	err := notes.ForEach(func(k, v []byte) error {
		n, flags, _, err := decodeNoteFrame(k, v)
		if err != nil {
			return err
		}
		if flags&noteAuthorSealed == 0 && sealsAuthor(n) && !keyDestroyedTx(tx, n.CaseID) && !db.caseKeyMissing(tx, n.CaseID) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan notes: %w", err)
	}
	for _, k := range keys {
		n, err := db.decodeNote(k, notes.Get(k))
		if err != nil {
			return err
		}
		v, err := db.encodeCaseNote(tx, k, n)
		if err != nil {
			return err
		}
		if err := notes.Put(k, v); err != nil {
			return fmt.Errorf("put note %s/%d: %w", n.CaseID, n.N, err)
		}
	}
	return nil
}

// resealPartyActors rewrites the audit events whose actor is an email
// address, in whatever format they were written, as sealed events.
func (db *DB) resealPartyActors(tx kv.Tx) error {
	log := tx.Bucket(bucketAudit)
	var keys [][]byte
	err := log.ForEach(func(k, v []byte) error {
		if len(v) > 0 && v[0] == auditSealed {
			h, _, err := unframe2(v[1:])
			if err != nil {
				return fmt.Errorf("audit event %x: %w", k, err)
			}
			d := dec{b: h}
			id, _, actor := d.str(), d.time(), d.str()
			if d.err != nil || casebot.Anonymize(actor) == actor || db.caseKeyMissing(tx, id) {
				return d.err
			}
			keys = append(keys, bytes.Clone(k))
			return nil
		}
		ev, err := db.decodeAudit(k, v)
		if err != nil {
			return fmt.Errorf("audit event %x: %w", k, err)
		}
		if casebot.Anonymize(ev.Actor) != ev.Actor && !db.caseKeyMissing(tx, ev.CaseID) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan audit trail: %w", err)
	}
	for _, k := range keys {
		ev, err := db.decodeAudit(k, log.Get(k))
		if errors.Is(err, errKeyDestroyed) {
			continue
		} else if err != nil {
			return fmt.Errorf("audit event %x: %w", k, err)
		}
		v, err := db.encodeAudit(tx, k, &ev)
		if err != nil {
			return err
		}
		if err := log.Put(k, v); err != nil {
			return fmt.Errorf("put audit event: %w", err)
		}
	}
	return nil
}
