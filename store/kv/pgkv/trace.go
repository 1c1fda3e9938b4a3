package pgkv

// trip counts one round trip of the transaction to the database: kind
// says what it was (begin, get, page, prefetch, seq, keyn, commit) and
// bucket, when it read one, which. A build with the pgkvtrace tag also
// records them per transaction (trace_on.go).
func (t *Tx) trip(kind string, bucket []byte) {
	t.e.roundTrips.Add(1)
	if tracing {
		t.traceTrip(kind, bucket)
	}
}
