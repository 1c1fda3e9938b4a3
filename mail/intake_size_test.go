package mail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/casebot/casebot/mail"
)

// exactMail is a party's message of exactly n bytes.
func exactMail(from, subject, msgID string, n int) string {
	m := rawMail(from, plain, subject, msgID, "")
	if pad := n - len(m); pad > 0 {
		line := "padding line of text\r\n"
		body := strings.Repeat(line, pad/len(line)) + strings.Repeat("x", pad%len(line))
		m = rawMail(from, plain, subject, msgID, body)
	}
	if len(m) != n {
		panic(fmt.Sprintf("exactMail: %d bytes, want %d", len(m), n))
	}
	return m
}

// Intake reads no listing first: each body is fetched as a prefix of
// max_message_bytes+1, and the literal's length decides. A message of
// exactly the limit is a note, one byte more is quarantined with its real
// size, keeping only its head, for a small and a large limit.
func TestIntakeSizesAtTheLimit(t *testing.T) {
	for _, limit := range []int{4 << 10, 96 << 10, 256 << 10} {
		ctx := context.Background()
		s := startIMAP(t)
		db := openStore(t, nil)
		c := newCase(t, db, ann)
		subject := "Re: [" + c.ID + "] size"
		for _, m := range []struct {
			id string
			n  int
		}{{"small@example.com", 600}, {"at-limit@example.com", limit}, {"over@example.com", limit + 1}, {"far-over@example.com", 3 * limit}} {
			s.append(t, "INBOX", exactMail(ann.Email, subject, m.id, m.n))
		}
		in := newIntake(t, s, db, func(cfg *mail.IntakeConfig) { cfg.Limits = mail.Limits{MaxMessageBytes: int64(limit)} })
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
		if len(notes) != 2 || !got["small@example.com"] || !got["at-limit@example.com"] {
			t.Errorf("limit %d: notes %v, want the small and the at-limit message", limit, got)
		}
		q, err := db.Quarantine(ctx, false)
		if err != nil || len(q) != 2 {
			t.Fatalf("limit %d: quarantine %+v, %v; want the two oversize messages", limit, q, err)
		}
		for i, want := range []struct {
			id string
			n  int
		}{{"over@example.com", limit + 1}, {"far-over@example.com", 3 * limit}} {
			if q[i].MessageID != want.id || !strings.Contains(q[i].Reason, fmt.Sprintf("is %d bytes; the limit is %d", want.n, limit)) {
				t.Errorf("limit %d: quarantined %s with %q, want %s with its size", limit, q[i].MessageID, q[i].Reason, want.id)
			}
			item, err := db.QuarantineItem(ctx, q[i].N)
			if err != nil {
				t.Fatal(err)
			}
			if raw := len(item.Email.Raw); raw == 0 || raw > 64<<10 || raw >= want.n {
				t.Errorf("limit %d: %s keeps %d raw bytes, want its head only (at most 64 KiB)", limit, want.id, raw)
			}
		}
		st, err := db.MailState(ctx, "INBOX")
		if err != nil || st.LastUID != 4 || st.DoneUID != 4 {
			t.Errorf("limit %d: state %+v, %v", limit, st, err)
		}
	}
}
