package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/casebot/casebot/store/kv"
)

// bucketDeliveries remembers the Slack deliveries already handled (schema
// 10): delivery key (an Events API event_id) -> the time it was first seen
// (8 bytes, Unix nanoseconds); prunedKey -> when expired entries were last
// removed. Its keys name no case and no person.
var bucketDeliveries = []byte("slack_deliveries")

// prunedKey sorts before every delivery key.
var prunedKey = []byte("\x00pruned")

// FirstDelivery records a delivery's key at the store's clock and reports
// whether it is the first delivery of that key within ttl: a retry that
// arrives after a restart finds the key here and is not handled again.
// Entries older than ttl are removed in the same transaction, at most once
// per ttl, so the bucket holds about one ttl's deliveries.
func (db *DB) FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" || ttl <= 0 {
		return false, fmt.Errorf("store: first delivery: empty key or ttl %v", ttl)
	}
	now := db.now()
	var first bool
	err := db.update(ctx, func(tx kv.Tx) error {
		b := tx.Bucket(bucketDeliveries)
		k := append([]byte("d"), key...)
		if at, ok := nanoTime(b.Get(k)); ok && now.Sub(at) < ttl {
			first = false
			return nil
		}
		first = true
		if err := b.Put(k, nanoBytes(now)); err != nil {
			return err
		}
		if last, ok := nanoTime(b.Get(prunedKey)); ok && now.Sub(last) < ttl {
			return nil
		}
		var old [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if at, ok := nanoTime(v); !ok || now.Sub(at) >= ttl {
				if string(k) != string(prunedKey) {
					old = append(old, append([]byte(nil), k...))
				}
			}
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Put(prunedKey, nanoBytes(now))
	})
	if err != nil {
		return false, fmt.Errorf("store: first delivery: %w", err)
	}
	return first, nil
}

func nanoBytes(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }

func nanoTime(v []byte) (time.Time, bool) {
	if len(v) != 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))), true
}
