package pgkv

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/casebot/casebot/store/kv"
)

// Writes in random key order (which wait in the overlay's pend until a
// walk needs them sorted) and in order, deletes and reads, interleaved
// with cursor walks and Seeks, read as a map of the same writes would;
// the commit stores what the map holds.
func TestOverlayRandomOrder(t *testing.T) {
	e := openTest(t)
	rng := rand.New(rand.NewPCG(7, 11))
	model := map[string]string{}
	k := func() []byte { return fmt.Appendf(nil, "k%04d", rng.IntN(400)) }
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, _ := tx.CreateBucket([]byte("o"))
		for range 150 {
			key := k()
			model[string(key)] = "db" + string(key)
			if err := b.Put(key, []byte("db"+string(key))); err != nil {
				return err
			}
		}
		return nil
	})
	// walk returns an error rather than failing the test: it runs inside
	// a transaction.
	walk := func(b kv.Bucket) error {
		want := slices.Sorted(maps.Keys(model))
		var got []string
		c := b.Cursor()
		for key, v := c.First(); key != nil; key, v = c.Next() {
			if string(v) != model[string(key)] {
				return fmt.Errorf("walk: %s = %q, want %q", key, v, model[string(key)])
			}
			got = append(got, string(key))
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("forward walk: %d keys, want %d", len(got), len(want))
		}
		got = got[:0]
		for key, _ := c.Last(); key != nil; key, _ = c.Prev() {
			got = append(got, string(key))
		}
		slices.Reverse(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("backward walk: %d keys, want %d", len(got), len(want))
		}
		seek := k()
		i, _ := slices.BinarySearch(want, string(seek))
		if key, _ := c.Seek(seek); (i == len(want)) != (key == nil) || (key != nil && string(key) != want[i]) {
			return fmt.Errorf("Seek(%s) = %s", seek, key)
		}
		return nil
	}
	// A run of the transaction starts again from the committed keys and
	// the same random operations: a PutNew of a key already stored makes
	// the engine run it twice.
	base := maps.Clone(model)
	runs := 0
	mustUpdate(t, e, func(tx kv.Tx) error {
		runs++
		model, rng = maps.Clone(base), rand.New(rand.NewPCG(13, 17))
		b := tx.Bucket([]byte("o"))
		next := 500 // keys past every other: written in order
		for step := range 3000 {
			switch op := rng.IntN(10); {
			case op < 4:
				key := k()
				v := fmt.Sprintf("put%d", step)
				if err := b.Put(key, []byte(v)); err != nil {
					return err
				}
				model[string(key)] = v
			case op < 6:
				key := k()
				v := fmt.Sprintf("new%d", step)
				if err := b.PutNew(key, []byte(v)); err != nil {
					return err
				}
				model[string(key)] = v
			case op < 7:
				key := fmt.Appendf(nil, "k%04d", next)
				next++
				if err := b.Put(key, []byte("tail")); err != nil {
					return err
				}
				model[string(key)] = "tail"
			case op < 8:
				key := k()
				if err := b.Delete(key); err != nil {
					return err
				}
				delete(model, string(key))
			default:
				key := k()
				want, ok := model[string(key)]
				if got := b.Get(key); (got != nil) != ok || string(got) != want {
					return fmt.Errorf("step %d: Get(%s) = %q, want %q", step, key, got, want)
				}
			}
			if step%250 == 0 {
				if err := walk(b); err != nil {
					return err
				}
			}
		}
		return walk(b)
	})
	_ = e.View(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("o"))
		n := 0
		_ = b.ForEach(func(key, v []byte) error {
			n++
			if want, ok := model[string(key)]; !ok || !bytes.Equal(v, []byte(want)) {
				t.Errorf("stored %s = %q, want %q (%v)", key, v, want, ok)
			}
			return nil
		})
		if n != len(model) {
			t.Errorf("stored %d keys, want %d", n, len(model))
		}
		return nil
	})
	if runs != 2 || e.FreshClashes() != 1 {
		t.Errorf("%d runs, %d clashes; want a PutNew of a stored key to make a second run", runs, e.FreshClashes())
	}
}
