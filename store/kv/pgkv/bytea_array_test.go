package pgkv

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/casebot/casebot/store/kv"
)

// encodeByteaArray writes what pgx's own bytea[] encoding writes.
func TestByteaArrayEncoding(t *testing.T) {
	m := pgtype.NewMap()
	for _, a := range [][][]byte{
		{},
		{[]byte("one")},
		{[]byte("a"), {}, bytes.Repeat([]byte{0xff}, 70000), []byte("z")},
		{[]byte("a"), nil, []byte("c")},
	} {
		want, err := m.Encode(pgtype.ByteaArrayOID, pgtype.BinaryFormatCode, a, []byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeByteaArray{}.Encode(byteaArray(a), []byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d elements: got %x…, want %x…", len(a), got[:min(len(got), 40)], want[:min(len(want), 40)])
		}
	}
	fastByteaArrays(m)
	fastByteaArrays(m) // twice: wrapped once
	ty, _ := m.TypeForOID(pgtype.ByteaArrayOID)
	if c, ok := ty.Codec.(byteaArrayCodec); !ok {
		t.Fatalf("codec %T", ty.Codec)
	} else if _, twice := c.Codec.(byteaArrayCodec); twice {
		t.Error("codec wrapped twice")
	}
	// Other values still go through the codec wrapped.
	if _, err := m.Encode(pgtype.ByteaArrayOID, pgtype.BinaryFormatCode, [][]byte{[]byte("x")}, nil); err != nil {
		t.Errorf("plain [][]byte: %v", err)
	}
}

// One commit flushes many keys, big and empty values, a key put then
// deleted and one deleted then put, and deletes of absent keys; a fenced
// commit of the same writes leaves nothing.
func TestFlushShapes(t *testing.T) {
	e := openTest(t)
	if _, err := e.Pool().Exec(ctx, `INSERT INTO casebot_lease VALUES ('leader', 'other', 2, now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, e, func(tx kv.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put([]byte("dp"), []byte("old"))
	})
	const many = 5000
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // 3 MiB
	value := func(i int) []byte {
		switch {
		case i%1000 == 7:
			return big[:i*100]
		case i%10 == 3:
			return []byte{}
		}
		return fmt.Appendf(nil, "v%d", i)
	}
	writes := func(tx kv.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		c, err := tx.CreateBucket([]byte("new"))
		if err != nil {
			return err
		}
		for i := range many {
			if err := b.Put(key(i), value(i)); err != nil {
				return err
			}
		}
		_ = c.Put([]byte("big"), big)
		_ = b.Put([]byte("pd"), []byte("x"))
		_ = b.Delete([]byte("pd"))
		_ = b.Delete([]byte("dp"))
		_ = b.Put([]byte("dp"), []byte("new"))
		_ = b.Delete([]byte("absent"))
		return nil
	}
	if err := e.Update(kv.WithFence(ctx, kv.Fence{Name: "leader", Token: 1}), writes); !errors.Is(err, kv.ErrFenced) {
		t.Fatalf("fenced commit: %v, want ErrFenced", err)
	}
	_ = e.View(ctx, func(tx kv.Tx) error {
		if n := tx.Bucket([]byte("b")).KeyN(); n != 1 || tx.Bucket([]byte("new")) != nil {
			t.Errorf("after a fenced commit: %d keys, bucket new exists: %v", n, tx.Bucket([]byte("new")) != nil)
		}
		return nil
	})
	mustUpdate(t, e, writes)
	_ = e.View(ctx, func(tx kv.Tx) error {
		b := tx.Bucket([]byte("b"))
		if n := b.KeyN(); n != many+1 {
			t.Errorf("%d keys, want %d", n, many+1)
		}
		for i := range many {
			got := b.Get(key(i))
			if got == nil || !bytes.Equal(got, value(i)) {
				t.Fatalf("key %d: %d bytes (nil %v), want %d", i, len(got), got == nil, len(value(i)))
			}
		}
		if b.Get([]byte("pd")) != nil || string(b.Get([]byte("dp"))) != "new" || b.Get([]byte("absent")) != nil {
			t.Errorf("pd %q, dp %q", b.Get([]byte("pd")), b.Get([]byte("dp")))
		}
		if got := tx.Bucket([]byte("new")).Get([]byte("big")); !bytes.Equal(got, big) {
			t.Errorf("big value: %d bytes", len(got))
		}
		return nil
	})
}
