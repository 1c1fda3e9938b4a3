package pgkv

// trip counts one round trip of the transaction to the database: kind
// says what it was (begin, get, page, prefetch, seq, keyn, commit) and
// bucket, when it read one, which. A build with the pgkvtrace tag also
// records them per transaction (trace_on.go).
//
// It first reads the results of a flush sent ahead (settle), since the
// connection serves one query at a time.
func (t *Tx) trip(kind string, bucket []byte) {
	t.settle()
	t.e.roundTrips.Add(1)
	if tracing {
		t.traceTrip(kind, bucket)
	}
}
