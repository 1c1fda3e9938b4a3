package soak

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"

	"github.com/casebot/casebot/internal/testserver"
)

// smtpCounts returns the number of deliveries, of distinct Message-IDs,
// and of Message-IDs delivered more than once (a resend after a crash).
func smtpCounts(msgs []testserver.Message) (deliveries, distinct, resent int) {
	byID := map[string]int{}
	for _, m := range msgs {
		h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(m.Data))).ReadMIMEHeader()
		byID[strings.Trim(h.Get("Message-Id"), "<> ")]++
	}
	for _, n := range byID {
		if n > 1 {
			resent++
		}
	}
	return len(msgs), len(byID), resent
}

// postKey is what the audit counts a Slack post by: the outbox key from
// its metadata, else its channel and text.
func postKey(p testserver.Post) string {
	if p.Key != "" {
		return p.Key
	}
	return "text:" + p.Channel + ":" + p.Text
}
