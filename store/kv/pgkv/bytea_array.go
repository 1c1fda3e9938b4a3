package pgkv

import (
	"encoding/binary"

	"github.com/jackc/pgx/v5/pgtype"
)

// byteaArray is a [][]byte sent as a bytea[] parameter in PostgreSQL's
// binary array format, written directly: pgx's generic array encoding
// looks up a plan for every element, about a microsecond each, which for
// a commit of thousands of rows (three arrays of them) was most of the
// client's time in the flush. A nil element is sent as NULL.
type byteaArray [][]byte

// byteaArrayCodec is the bytea[] codec of a connection with byteaArray
// encoded by encodeByteaArray; everything else goes to the codec it wraps.
type byteaArrayCodec struct{ pgtype.Codec }

// PlanEncode implements pgtype.Codec.
func (c byteaArrayCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(byteaArray); ok && format == pgtype.BinaryFormatCode {
		return encodeByteaArray{}
	}
	return c.Codec.PlanEncode(m, oid, format, value)
}

// fastByteaArrays registers byteaArrayCodec in a connection's type map,
// once: the map is the connection's own, and registering drops its
// memoized encode plans.
func fastByteaArrays(m *pgtype.Map) {
	t, ok := m.TypeForOID(pgtype.ByteaArrayOID)
	if !ok {
		return
	}
	if _, done := t.Codec.(byteaArrayCodec); done {
		return
	}
	m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: byteaArrayCodec{t.Codec}})
}

type encodeByteaArray struct{}

// Encode implements pgtype.EncodePlan: the header (dimensions, a NULL
// flag, the element type), then each element's length and bytes.
func (encodeByteaArray) Encode(value any, buf []byte) ([]byte, error) {
	a := value.(byteaArray)
	if a == nil {
		return nil, nil // NULL
	}
	size := 20
	hasNull := int32(0)
	for _, e := range a {
		size += 4 + len(e)
		if e == nil {
			hasNull = 1
		}
	}
	buf = growBuf(buf, size)
	buf = binary.BigEndian.AppendUint32(buf, 1) // one dimension, as pgx writes even an empty array
	buf = binary.BigEndian.AppendUint32(buf, uint32(hasNull))
	buf = binary.BigEndian.AppendUint32(buf, pgtype.ByteaOID)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(a)))
	buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
	for _, e := range a {
		if e == nil {
			buf = binary.BigEndian.AppendUint32(buf, 0xFFFFFFFF) // -1: NULL
			continue
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(e)))
		buf = append(buf, e...)
	}
	return buf, nil
}

// growBuf returns buf with room for n more bytes.
func growBuf(buf []byte, n int) []byte {
	if cap(buf)-len(buf) >= n {
		return buf
	}
	nb := make([]byte, len(buf), len(buf)+n)
	copy(nb, buf)
	return nb
}
