package mail

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParsePlain parses the plain reply Ingest10k delivers: the
// common case, and half the intake pipeline's work per message.
//
//	go test -run='^$' -bench=ParsePlain -benchmem ./mail/
func BenchmarkParsePlain(b *testing.B) {
	raw := []byte(fmt.Sprintf("From: p1@example.com\r\nTo: Mediation Office <cases@practice.example>\r\nSubject: Re: [MED-2026-0001] documents\r\n"+
		"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <b1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		"Dear mediator,\r\n\r\nhere is my answer number 1 about the lease and the deposit.\r\n\r\nRegards\r\n\r\nOn Mon, Mediation Office wrote:\r\n> earlier text\r\n> more earlier text"))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(bytes.NewReader(raw), Limits{})
		if err != nil || m.Reply == "" {
			b.Fatal(m, err)
		}
		_ = DedupeKey(m, raw)
	}
}
