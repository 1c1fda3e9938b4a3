package store

import (
	"context"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// OpenOffers returns, for each of caseIDs that has any, the number of its
// open offers, read from the offers' clear headers: no terms are opened.
func (db *DB) OpenOffers(ctx context.Context, caseIDs []string) (map[string]int, error) {
	out := map[string]int{}
	err := db.view(ctx, func(tx kv.Tx) error {
		b := tx.Bucket(bucketOffers)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for _, id := range caseIDs {
			p := prefixOf(id)
			for k, v := c.Seek(p); hasPrefix(k, p); k, v = c.Next() {
				if !isBinary(v) {
					return fmt.Errorf("offer %x: bad record", k)
				}
				h, _, err := unframe2(v)
				if err != nil {
					return fmt.Errorf("offer %x: %w", k, err)
				}
				d := dec{b: h}
				_, _, _ = d.str(), d.uint(), d.str()
				if st := casebot.OfferStatus(d.str()); d.err != nil {
					return fmt.Errorf("offer %x header: %w", k, d.err)
				} else if st == casebot.OfferOpen {
					out[id]++
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: open offers: %w", err)
	}
	return out, nil
}
