package pgkv

import (
	"testing"

	"github.com/casebot/casebot/store/kv"
)

// Prefetch reads present, absent and empty keys in one round trip; the
// Gets after it make none, and the transaction's own writes still win.
func TestPrefetch(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := range 10 {
			_ = b.Put(key(i), []byte{byte('a' + i)})
		}
		return b.Put([]byte("empty"), nil)
	})
	mustUpdate(t, e, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("b"))
		_ = b.Put(key(3), []byte("own"))
		_ = b.Delete(key(4))
		keys := [][]byte{key(1), key(2), key(3), key(4), key(99), []byte("empty"), key(1)}
		trips, _ := e.RoundTrips()
		kv.Prefetch(b, keys)
		if got, _ := e.RoundTrips(); got != trips+1 {
			t.Errorf("Prefetch made %d round trips, want 1", got-trips)
		}
		trips, _ = e.RoundTrips()
		for k, want := range map[string]string{"k00001": "b", "k00002": "c", "k00003": "own"} {
			if got := b.Get([]byte(k)); string(got) != want {
				t.Errorf("Get(%s) = %q, want %q", k, got, want)
			}
		}
		if got := b.Get(key(4)); got != nil {
			t.Errorf("deleted key after Prefetch: %q", got)
		}
		if got := b.Get(key(99)); got != nil {
			t.Errorf("absent key after Prefetch: %q", got)
		}
		if got := b.Get([]byte("empty")); got == nil || len(got) != 0 {
			t.Errorf("empty value after Prefetch: %#v, want non-nil empty", got)
		}
		if got, _ := e.RoundTrips(); got != trips {
			t.Errorf("Gets after Prefetch made %d round trips, want 0", got-trips)
		}
		// Nothing new to read: no round trip.
		kv.Prefetch(b, [][]byte{key(1), key(3)})
		if got, _ := e.RoundTrips(); got != trips {
			t.Errorf("a second Prefetch of known keys made %d round trips", got-trips)
		}
		return nil
	})
}
