//go:build !pgkvtrace

package pgkv

const tracing = false

type txTrace struct{}

func (t *Tx) traceTrip(string, []byte) {}

func (t *Tx) traceEnd() {}

func (t *Tx) traceRows(*Bucket) {}

func traceNow() (z struct{}) { return }

func traceSince(string, struct{}) {}
