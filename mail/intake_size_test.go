package mail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/casebot/casebot/mail"
)

// The mailbox listing reads each message's size before its body: every
// size class must end where its real size says, under the limit a note,
// over it quarantine, for a small and a large limit.
func TestIntakeSizesFromListing(t *testing.T) {
	for _, limit := range []int64{4 << 10, 96 << 10} {
		ctx := context.Background()
		s := startIMAP(t)
		db := openStore(t, nil)
		c := newCase(t, db, ann)
		pad := func(n int) string { return strings.Repeat("padding line of text\r\n", n/22+1) }
		bodies := map[string]string{
			"small@example.com":      "A short note.",
			"near-limit@example.com": pad(int(limit) - 1024),
			"over@example.com":       pad(int(limit) + 1024),
		}
		for id, body := range bodies {
			s.append(t, "INBOX", rawMail(ann.Email, plain, "Re: ["+c.ID+"] size", id, body))
		}
		in := newIntake(t, s, db, func(cfg *mail.IntakeConfig) { cfg.Limits = mail.Limits{MaxMessageBytes: limit} })
		if err := in.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		notes, err := db.Notes(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, n := range notes {
			got[n.Email.MessageID] = true
		}
		if len(notes) != 2 || !got["small@example.com"] || !got["near-limit@example.com"] {
			t.Errorf("limit %d: notes %v, want the small and the near-limit message", limit, got)
		}
		q, err := db.Quarantine(ctx, false)
		if err != nil || len(q) != 1 || q[0].MessageID != "over@example.com" || !strings.Contains(q[0].Reason, "limit") {
			t.Errorf("limit %d: quarantine %+v, %v; want the oversize message", limit, q, err)
		}
		st, err := db.MailState(ctx, "INBOX")
		if err != nil || st.LastUID != 3 {
			t.Errorf("limit %d: state %+v, %v", limit, st, err)
		}
	}
}
