package store

import (
	"encoding/hex"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// De-duplication keys are hashes, so each batch's keys land all over their
// bucket's tree: a commit rewrites about one page per key until the bucket
// has more pages than a batch has keys, and then nearly every page of it.
// That cost grows with the size of each entry, so entries are kept small:
// mail_seen2 holds for a key of mail's form "m1:" + 64 hex digits the first
// seenHashLen bytes of the hash (a collision needs ~2^96 work), other keys
// as they are, and a one-byte outcome. Stores written before keep their
// keys in mail_seen (text key, "outcome case" value); it is still
// consulted, never written, so every message seen then is still a duplicate.
const seenHashLen = 24

// Key forms in mail_seen2.
const (
	seenHashed = 1 // seenHashLen bytes of an "m1:" key's hash
	seenText   = 2 // any other key, verbatim
)

// seenKey is the mail_seen2 key of a de-duplication key.
func seenKey(dst []byte, k string) []byte {
	if len(k) == 3+64 && k[:3] == "m1:" {
		var h [32]byte
		if _, err := hex.Decode(h[:], []byte(k[3:])); err == nil {
			return append(append(dst, seenHashed), h[:seenHashLen]...)
		}
	}
	return append(append(dst, seenText), k...)
}

// seenOutcome is the stored code of an ingest outcome: its first letter.
func seenOutcome(outcome string) []byte {
	if outcome == "" {
		return []byte{'?'}
	}
	return []byte{outcome[0]}
}

// seenSet looks up and records de-duplication keys in one transaction.
type seenSet struct {
	b      kv.Bucket
	legacy kv.Bucket // mail_seen when it holds keys, else nil
}

func newSeenSet(tx kv.Tx) (*seenSet, error) {
	b, err := mailBucket(tx, bucketMailSeen2)
	if err != nil {
		return nil, err
	}
	s := &seenSet{b: b}
	if old := tx.Bucket(bucketMailSeen); old != nil {
		if k, _ := old.Cursor().First(); k != nil {
			s.legacy = old
		}
	}
	return s, nil
}

// prefetch reads the keys of a batch's items in one go where the engine
// can (PostgreSQL: one round trip instead of one per item).
func (s *seenSet) prefetch(items []casebot.MailItem) {
	if s.b == nil {
		return
	}
	keys := make([][]byte, 0, len(items))
	for _, it := range items {
		if it.DedupeKey != "" {
			keys = append(keys, seenKey(nil, it.DedupeKey))
		}
	}
	kv.Prefetch(s.b, keys)
}

func (s *seenSet) has(k string) bool {
	var buf [1 + 64]byte
	if s.b != nil && s.b.Get(seenKey(buf[:0], k)) != nil {
		return true
	}
	return s.legacy != nil && s.legacy.Get([]byte(k)) != nil
}

// add records k, which has just reported absent.
func (s *seenSet) add(k, outcome string) error {
	if err := s.b.PutNew(seenKey(nil, k), seenOutcome(outcome)); err != nil {
		return fmt.Errorf("put seen key: %w", err)
	}
	return nil
}
