package pgkv

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/casebot/casebot/store/kv"
)

// testURL returns the URL of a fresh schema of the database in
// CASEBOT_POSTGRES_URL, dropped at cleanup; it skips without it.
func testURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("CASEBOT_POSTGRES_URL")
	if base == "" {
		tb.Skip("CASEBOT_POSTGRES_URL not set: PostgreSQL tests skipped")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("pgkv_%x", rand.Text()[:10])
	schema = strings.ToLower(schema)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openURL(tb testing.TB, u string, opts Options) *Engine {
	tb.Helper()
	e, err := Open(context.Background(), u, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e
}

func openTest(tb testing.TB) *Engine { return openURL(tb, testURL(tb), Options{}) }

var ctx = context.Background()

func mustUpdate(tb testing.TB, e *Engine, fn func(kv.Tx) error) {
	tb.Helper()
	if err := e.Update(ctx, fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

func key(i int) []byte { return fmt.Appendf(nil, "k%05d", i) }

func TestOwnWritesAndBuckets(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte("b")); !errors.Is(err, kv.ErrBucketExists) {
			t.Errorf("second CreateBucket: %v", err)
		}
		_ = b.Put([]byte("x"), []byte("1"))
		_ = b.Put([]byte("e"), nil)
		if got := b.Get([]byte("x")); string(got) != "1" {
			t.Errorf("own write: %q", got)
		}
		if got := b.Get([]byte("e")); got == nil || len(got) != 0 {
			t.Errorf("empty value: %#v, want non-nil empty", got)
		}
		return nil
	})
	err := e.View(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("b"))
		if b == nil {
			t.Fatal("bucket b missing after commit")
		}
		if got := b.Get([]byte("e")); got == nil || len(got) != 0 {
			t.Errorf("committed empty value: %#v", got)
		}
		if err := b.Put([]byte("y"), nil); !errors.Is(err, kv.ErrTxNotWritable) {
			t.Errorf("Put in View: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failing function commits nothing.
	boom := errors.New("boom")
	if err := e.Update(ctx, func(tx kv.Tx) error {
		_ = tx.Bucket([]byte("b")).Put([]byte("x"), []byte("2"))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	// Delete and recreate in one transaction: the old keys are gone.
	mustUpdate(t, e, func(tx kv.Tx) error {
		if err := tx.DeleteBucket([]byte("b")); err != nil {
			return err
		}
		if tx.Bucket([]byte("b")) != nil {
			t.Error("deleted bucket still there")
		}
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		if got := b.Get([]byte("x")); got != nil {
			t.Errorf("recreated bucket has old key: %q", got)
		}
		_, err = tx.CreateBucket([]byte("a"))
		return err
	})
	_ = e.View(ctx, func(tx kv.Tx) error {
		var names []string
		_ = tx.ForEachBucket(func(n []byte) error { names = append(names, string(n)); return nil })
		if strings.Join(names, ",") != "a,b" {
			t.Errorf("buckets %v", names)
		}
		if n := tx.Bucket([]byte("b")).KeyN(); n != 0 {
			t.Errorf("KeyN of recreated bucket = %d", n)
		}
		return nil
	})
}

func TestCursorOverOverlayAndDatabase(t *testing.T) {
	e := openTest(t)
	const n = 700 // several pages
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, _ := tx.CreateBucket([]byte("c"))
		for i := 0; i < n; i += 2 {
			_ = b.Put(key(i), key(i))
		}
		return nil
	})
	mustUpdate(t, e, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("c"))
		if got := b.KeyN(); got != n/2 {
			t.Errorf("KeyN = %d, want %d", got, n/2)
		}
		// Odd keys in the overlay, interleaved with the database's.
		for i := 1; i < n; i += 2 {
			_ = b.Put(key(i), key(i))
		}
		_ = b.Delete(key(10))
		// Walk forward, deleting every third key we land on and putting a
		// key ahead of us: the walk must see the put, not the deleted.
		var seen []int
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var i int
			fmt.Sscanf(string(k), "k%d", &i)
			if !bytes.Equal(k, v) {
				t.Fatalf("value of %s = %s", k, v)
			}
			seen = append(seen, i)
			if i%3 == 0 {
				_ = b.Delete(k)
				_ = b.Delete(key(i + 1)) // the next key: skipped
			}
			if i == 101 {
				_ = b.Put([]byte("k00101x"), []byte("k00101x")) // right after us
			}
		}
		want := 0
		for _, i := range seen {
			if i == 10 {
				t.Errorf("saw deleted key 10")
			}
			if i < want {
				t.Fatalf("out of order: %d after %d", i, want)
			}
			want = i
		}
		// every key is seen except 10 and those deleted just ahead
		if len(seen) < n/2 {
			t.Errorf("saw %d keys", len(seen))
		}
		// Backwards over the merged view: the keys left, in reverse.
		var fwd, back [][]byte
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			fwd = append(fwd, k)
		}
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			back = append(back, k)
		}
		if len(fwd) != len(back) || len(fwd) != b.KeyN() {
			t.Fatalf("forward %d keys, backward %d, KeyN %d", len(fwd), len(back), b.KeyN())
		}
		for i := range fwd {
			if !bytes.Equal(fwd[i], back[len(back)-1-i]) {
				t.Fatalf("backward walk differs at %d: %s vs %s", i, fwd[i], back[len(back)-1-i])
			}
		}
		if k, _ := c.Seek([]byte("k00100")); string(k) != "k00101" {
			t.Errorf("Seek(k00100) = %s, want k00101 (k00100 was deleted)", k)
		}
		if k, _ := c.Next(); string(k) != "k00101x" {
			t.Errorf("Next = %s, want k00101x", k)
		}
		at := slices.IndexFunc(fwd, func(k []byte) bool { return string(k) == "k00299" })
		if k, _ := c.Seek([]byte("k00299")); at < 1 || string(k) != "k00299" {
			t.Fatalf("Seek(k00299) = %s", k)
		}
		if k, _ := c.Prev(); !bytes.Equal(k, fwd[at-1]) {
			t.Errorf("Prev after Seek = %s, want %s", k, fwd[at-1])
		}
		if k, _ := c.Seek([]byte("z")); k != nil {
			t.Errorf("Seek past the end = %s", k)
		}
		return nil
	})
	// What was committed is what the transaction saw at its end.
	_ = e.View(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("c"))
		if b.Get(key(10)) != nil || b.Get(key(3)) != nil || b.Get([]byte("k00101x")) == nil || b.Get(key(2)) == nil {
			t.Error("committed state differs from the transaction's view")
		}
		return nil
	})
}

func TestPagingAndLargeValues(t *testing.T) {
	e := openTest(t)
	big := make([]byte, 20<<20)
	_, _ = rand.Read(big)
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, _ := tx.CreateBucket([]byte("p"))
		for i := range 1000 {
			_ = b.Put(key(i), []byte{byte(i)})
		}
		_ = b.Put([]byte("m1"), big)
		_ = b.Put([]byte("m2"), big)
		_ = b.Put([]byte("m3"), big)
		return nil
	})
	err := e.View(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("p"))
		n := 0
		if err := b.ForEach(func(k, v []byte) error {
			if n < 1000 && (!bytes.Equal(k, key(n)) || v[0] != byte(n)) {
				return fmt.Errorf("key %d: %s", n, k)
			}
			if n >= 1000 && !bytes.Equal(v, big) {
				return fmt.Errorf("big value %s differs", k)
			}
			n++
			return nil
		}); err != nil {
			return err
		}
		if n != 1003 {
			t.Errorf("ForEach saw %d keys", n)
		}
		c := b.Cursor()
		if k, v := c.Last(); string(k) != "m3" || !bytes.Equal(v, big) {
			t.Errorf("Last = %s", k)
		}
		if k, _ := c.Prev(); string(k) != "m2" {
			t.Errorf("Prev = %s", k)
		}
		if !bytes.Equal(b.Get([]byte("m1")), big) {
			t.Error("20 MiB value differs")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSequences(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, _ := tx.CreateBucket([]byte("s"))
		for want := uint64(1); want <= 3; want++ {
			if got, _ := b.NextSequence(); got != want {
				t.Errorf("NextSequence = %d, want %d", got, want)
			}
		}
		return nil
	})
	mustUpdate(t, e, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("s"))
		if b.Sequence() != 3 {
			t.Errorf("Sequence = %d", b.Sequence())
		}
		return b.SetSequence(1 << 62)
	})
	mustUpdate(t, e, func(tx kv.Tx) error {
		if s := tx.Bucket([]byte("s")).Sequence(); s != 1<<62 {
			t.Errorf("Sequence = %d", s)
		}
		if err := tx.DeleteBucket([]byte("s")); err != nil {
			return err
		}
		_, err := tx.CreateBucket([]byte("s"))
		return err
	})
	_ = e.View(ctx, func(tx kv.Tx) error {
		if s := tx.Bucket([]byte("s")).Sequence(); s != 0 {
			t.Errorf("Sequence of a recreated bucket = %d", s)
		}
		return nil
	})
}

// Two instances increment one sequence; their first increments are made
// to overlap, so one must be retried; none is lost.
func TestConcurrentIncrementsRetry(t *testing.T) {
	u := testURL(t)
	a, b := openURL(t, u, Options{}), openURL(t, u, Options{})
	mustUpdate(t, a, func(tx kv.Tx) error { _, err := tx.CreateBucket([]byte("n")); return err })
	const n = 40
	var read sync.WaitGroup
	read.Add(2)
	var wg sync.WaitGroup
	for _, e := range []*Engine{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for range n {
				err := e.Update(ctx, func(tx kv.Tx) error {
					bk := tx.Bucket([]byte("n"))
					_, err := bk.NextSequence()
					if first {
						first = false
						read.Done()
						read.Wait() // both have read the sequence
					}
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = a.View(ctx, func(tx kv.Tx) error {
		if s := tx.Bucket([]byte("n")).Sequence(); s != 2*n {
			t.Errorf("sequence = %d, want %d", s, 2*n)
		}
		return nil
	})
	if a.Retries()+b.Retries() == 0 {
		t.Error("no transaction was retried")
	}
	t.Logf("retries: %d", a.Retries()+b.Retries())
}

func TestFencing(t *testing.T) {
	e := openTest(t)
	if _, err := e.Pool().Exec(ctx, `INSERT INTO casebot_lease VALUES ('leader', 'me', 7, now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, e, func(tx kv.Tx) error { _, err := tx.CreateBucket([]byte("f")); return err })
	put := func(fctx context.Context, k string) error {
		return e.Update(fctx, func(tx kv.Tx) error { return tx.Bucket([]byte("f")).Put([]byte(k), []byte("v")) })
	}
	if err := put(kv.WithFence(ctx, kv.Fence{Name: "leader", Token: 7}), "held"); err != nil {
		t.Fatalf("write with the current token: %v", err)
	}
	if _, err := e.Pool().Exec(ctx, `UPDATE casebot_lease SET token = 8, holder = 'other'`); err != nil {
		t.Fatal(err)
	}
	stale := kv.WithFence(ctx, kv.Fence{Name: "leader", Token: 7})
	if err := put(stale, "stale"); !errors.Is(err, kv.ErrFenced) {
		t.Fatalf("write with a stale token: %v, want ErrFenced", err)
	}
	err := e.Batch(stale, func(tx kv.Tx) error { return tx.Bucket([]byte("f")).Put([]byte("stale2"), []byte("v")) })
	if !errors.Is(err, kv.ErrFenced) {
		t.Fatalf("batch with a stale token: %v, want ErrFenced", err)
	}
	// Callers of different fences never share a batch transaction.
	var wg sync.WaitGroup
	var heldErr, staleErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		heldErr = e.Batch(kv.WithFence(ctx, kv.Fence{Name: "leader", Token: 8}), func(tx kv.Tx) error {
			return tx.Bucket([]byte("f")).Put([]byte("held2"), []byte("v"))
		})
	}()
	go func() {
		defer wg.Done()
		staleErr = e.Batch(stale, func(tx kv.Tx) error { return tx.Bucket([]byte("f")).Put([]byte("stale3"), []byte("v")) })
	}()
	wg.Wait()
	if heldErr != nil || !errors.Is(staleErr, kv.ErrFenced) {
		t.Fatalf("concurrent batches: held %v, stale %v", heldErr, staleErr)
	}
	// An expired lease fences its own token too.
	if _, err := e.Pool().Exec(ctx, `UPDATE casebot_lease SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if err := put(kv.WithFence(ctx, kv.Fence{Name: "leader", Token: 8}), "expired"); !errors.Is(err, kv.ErrFenced) {
		t.Fatalf("write under an expired lease: %v, want ErrFenced", err)
	}
	_ = e.View(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("f"))
		if b.Get([]byte("held")) == nil || b.Get([]byte("held2")) == nil || b.Get([]byte("stale3")) != nil || b.Get([]byte("stale")) != nil || b.Get([]byte("stale2")) != nil || b.Get([]byte("expired")) != nil {
			t.Error("a fenced transaction committed, or the held one did not")
		}
		return nil
	})
}

func TestDatabaseGoneMidTransaction(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error { _, err := tx.CreateBucket([]byte("g")); return err })
	err := e.Update(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("g"))
		_ = b.Put([]byte("half"), []byte("written"))
		var pid int
		if err := tx.(*Tx).conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			return err
		}
		if _, err := e.Pool().Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			return err
		}
		if v := b.Get([]byte("other")); v != nil {
			t.Errorf("Get after the connection died = %q", v)
		}
		return nil // the engine must return its failure instead
	})
	if !errors.Is(err, kv.ErrUnavailable) {
		t.Fatalf("Update = %v, want ErrUnavailable", err)
	}
	_ = e.View(ctx, func(tx kv.Tx) error {
		if tx.Bucket([]byte("g")).Get([]byte("half")) != nil {
			t.Error("half a transaction committed")
		}
		return nil
	})
}

// A cancelled context aborts the transaction's queries: nothing is
// read after it, and the transaction returns the context's error.
func TestContextCancelAborts(t *testing.T) {
	e := openTest(t)
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, _ := tx.CreateBucket([]byte("x"))
		return b.Put([]byte("k"), []byte("v"))
	})
	cctx, cancel := context.WithCancel(ctx)
	err := e.Update(cctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("x"))
		_ = b.Put([]byte("k2"), []byte("v"))
		cancel()
		if v := b.Get([]byte("k")); v != nil {
			t.Errorf("Get after cancel = %q", v)
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want context.Canceled", err)
	}
	_ = e.View(ctx, func(tx kv.Tx) error {
		if tx.Bucket([]byte("x")).Get([]byte("k2")) != nil {
			t.Error("a cancelled transaction committed")
		}
		return nil
	})
}

func TestUnreachable(t *testing.T) {
	_, err := Open(ctx, "postgres://casebot:s3cret@127.0.0.1:1/x?connect_timeout=2", Options{})
	if !errors.Is(err, kv.ErrUnavailable) || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open of an unreachable database: %v", err)
	}
}

func TestBatchRerunsFailingCallAlone(t *testing.T) {
	e := openURL(t, testURL(t), Options{MaxBatchSize: 8})
	mustUpdate(t, e, func(tx kv.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err })
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.Batch(ctx, func(tx kv.Tx) error {
				if i == 5 {
					return boom
				}
				return tx.Bucket([]byte("b")).Put(key(i), []byte("v"))
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 5) != errors.Is(err, boom) || i != 5 && err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	_ = e.View(ctx, func(tx kv.Tx) error {
		if n := tx.Bucket([]byte("b")).KeyN(); n != 15 {
			t.Errorf("%d keys committed, want 15", n)
		}
		return nil
	})
}
