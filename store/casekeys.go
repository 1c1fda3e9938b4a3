package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/casebot/casebot/store/kv"
)

// A case's content (note bodies, emails, raw messages, attachments, and
// whatever else is sealed for a case) is sealed under the case's data key
// when the store has an encryption key. bucketCaseKeys records, per case,
// the ID of the key its content uses (written in the transaction that
// first seals under it), and an empty value once a purge destroyed it.
// Quarantined mail is sealed under the master key: it is nobody's case's
// until accepted, and then it becomes a note under the case's key.

// caseSealer returns the sealer for content of case id in tx: the case's
// data key with an encryption key (made, and the keyring written, before
// this transaction commits, when the case has none yet), the plain sealer
// without. It refuses a case whose key was recorded but is missing from
// the keyring rather than silently starting a new one.
func (db *DB) caseSealer(tx kv.Tx, id string) (*sealer, error) {
	if db.keys == nil {
		return db.seal, nil
	}
	b := tx.Bucket(bucketCaseKeys)
	if b == nil {
		// A migration from before case keys (schema < 5) writing content:
		// it is sealed under the master key, which openCase still reads.
		return db.seal, nil
	}
	mark := b.Get([]byte(id))
	k, ok, err := db.keys.find(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		if mark != nil {
			return nil, fmt.Errorf("case %s: %w (the keyring was lost or replaced; restore it from its copy)", id, errKeyDestroyed)
		}
		if err := db.keys.ensure(id); err != nil {
			return nil, err
		}
		k, _ = db.keys.get(id)
	}
	if !bytes.Equal(mark, k.id[:]) {
		if mark != nil {
			return nil, fmt.Errorf("case %s: the keyring holds another data key than the one its content uses", id)
		}
		if err := b.Put([]byte(id), k.id[:]); err != nil {
			return nil, fmt.Errorf("put case key mark: %w", err)
		}
	}
	return db.keys.sealer(id, k)
}

// openCase opens a value sealed for case caseID under record key ad: under
// the case's data key, or, for content sealed before case keys (or without
// an encryption key), under the master key. A destroyed key gives an error
// wrapping errKeyDestroyed.
func (db *DB) openCase(caseID string, ad, sealed []byte) ([]byte, error) {
	if len(sealed) > 0 && sealed[0] == sealCaseGCM {
		if db.keys == nil {
			return nil, errNoKey
		}
		k, ok, err := db.keys.find(caseID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("case %s: %w", caseID, errKeyDestroyed)
		}
		s, err := db.keys.sealer(caseID, k)
		if err != nil {
			return nil, err
		}
		return s.open(ad, sealed)
	}
	return db.seal.open(ad, sealed)
}

// settleKeys runs at a writable Open with an encryption key: it destroys
// the keys of purged cases that a crash kept in the keyring after the
// purge committed (their marks in case_keys are empty), and, until the
// store says every case has its data key recorded (metaKeysSettled), gives
// each case that has none yet (cases from before per-case keys) its key,
// in one write of the keyring and one commit. Only that first walk reads
// the case records: on 100,000 cases it paged in 110 MB of the file at
// every Open.
func (db *DB) settleKeys(ctx context.Context) error {
	if db.keys == nil {
		return nil
	}
	var need, stale []string
	settled := false
	err := db.view(ctx, func(tx kv.Tx) error {
		settled = tx.Bucket(bucketMeta).Get(metaKeysSettled) != nil
		marks := tx.Bucket(bucketCaseKeys)
		err := marks.ForEach(func(k, m []byte) error {
			if len(m) == 0 { // purged
				if _, ok := db.keys.get(string(k)); ok {
					stale = append(stale, string(k))
				}
			}
			return nil
		})
		if err != nil || settled {
			return err
		}
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			if marks.Get(k) != nil {
				return nil
			}
			c, _, err := decodeCaseHeader(k, v)
			if err != nil {
				return err
			}
			if c.Purged == nil {
				need = append(need, c.ID)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: settle data keys: %w", err)
	}
	if len(stale) > 0 {
		if err := db.keys.remove(stale...); err != nil {
			return err
		}
		db.log.Info("store: destroyed data keys of purged cases", slog.Int("cases", len(stale)))
	}
	if settled {
		return nil
	}
	if len(need) > 0 {
		if err := db.keys.ensure(need...); err != nil {
			return err
		}
	}
	err = db.update(ctx, func(tx kv.Tx) error {
		for _, id := range need {
			if _, err := db.caseSealer(tx, id); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaKeysSettled, []byte{1})
	})
	if err != nil {
		return fmt.Errorf("store: record data keys: %w", err)
	}
	if len(need) > 0 {
		db.log.Info("store: gave cases their own data keys", slog.Int("cases", len(need)))
	}
	return nil
}

// checkKeys lists the cases whose recorded data key the keyring lacks (or
// holds another key for), and live cases without a recorded key.
func (db *DB) checkKeys(tx kv.Tx) ([]string, error) {
	if db.keys == nil {
		return nil, nil
	}
	var problems []string
	marks := tx.Bucket(bucketCaseKeys)
	err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
		m := marks.Get(k)
		if m != nil && len(m) == 0 {
			return nil // purged: no key wanted
		}
		if m == nil {
			c, _, err := decodeCaseHeader(k, v)
			if err != nil {
				return err
			}
			if c.Purged == nil {
				problems = append(problems, fmt.Sprintf("case %s has no data key recorded", k))
			}
			return nil
		}
		id, _ := keyIDOf(m)
		got, ok, err := db.keys.find(string(k))
		switch {
		case err != nil:
			return err
		case !ok:
			problems = append(problems, fmt.Sprintf("case %s: its data key is missing from the keyring %s", k, db.keys.store))
		case got.id != id:
			problems = append(problems, fmt.Sprintf("case %s: the keyring holds another data key than its content uses", k))
		}
		return nil
	})
	return problems, err
}

// markKeyDestroyed records in tx that case id's data key is to be
// destroyed: its content is gone with this transaction.
// keyDestroyedTx reports whether case id's data key is destroyed in tx
// (the case was purged), whether or not the keyring still holds it.
func keyDestroyedTx(tx kv.Tx, id string) bool {
	b := tx.Bucket(bucketCaseKeys)
	if b == nil {
		return false
	}
	mark := b.Get([]byte(id))
	return mark != nil && len(mark) == 0
}

func markKeyDestroyed(tx kv.Tx, id string) error {
	if err := tx.Bucket(bucketCaseKeys).Put([]byte(id), []byte{}); err != nil {
		return fmt.Errorf("mark data key destroyed: %w", err)
	}
	return nil
}
