package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/outbox"
)

// feedStore is an outbox in memory that also feeds notices: feed runs on
// each FeedNotices with the lookahead asked for.
type feedStore struct {
	mu    sync.Mutex
	queue []casebot.OutMessage
	next  uint64
	asked []int
	feed  func(s *feedStore) error
}

var _ outbox.NoticeFeeder = (*feedStore)(nil)

func (s *feedStore) add(m casebot.OutMessage) {
	s.next++
	m.ID = s.next
	s.queue = append(s.queue, m)
}

func (s *feedStore) FeedNotices(ctx context.Context, perRecipient int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, perRecipient)
	n := len(s.queue)
	err := s.feed(s)
	return len(s.queue) - n, err
}

func (s *feedStore) OutboxDue(ctx context.Context, now time.Time, limit int, kinds ...string) ([]casebot.OutMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []casebot.OutMessage
	seen := map[string]bool{}
	for _, m := range s.queue {
		if !seen[m.To] && (len(kinds) == 0 || slices.Contains(kinds, m.Kind)) {
			seen[m.To] = true
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *feedStore) OutboxDone(ctx context.Context, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = slices.DeleteFunc(s.queue, func(m casebot.OutMessage) bool { return m.ID == id })
	return nil
}

func (s *feedStore) OutboxRetry(ctx context.Context, id uint64, next time.Time, lastErr string) error {
	return errors.New("no retries in this test")
}

func (s *feedStore) OutboxNext(ctx context.Context, kinds ...string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

type textSender struct {
	mu   sync.Mutex
	sent []string
}

func (t *textSender) Send(ctx context.Context, m casebot.OutMessage) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = append(t.sent, m.Text)
	return nil
}

// A store that feeds notices is fed before each round, with the worker's
// lookahead: what it queues goes out in that round, and a failing feed is
// logged without holding up what is already queued.
func TestNoticeFeederRunsBeforeEachRound(t *testing.T) {
	ctx := context.Background()
	st := &feedStore{}
	st.feed = func(s *feedStore) error {
		if len(s.asked) == 1 {
			s.add(casebot.OutMessage{Kind: casebot.OutSlack, To: "U1", Text: "queued by the feed"})
			return nil
		}
		return errors.New("store unavailable")
	}
	snd := &textSender{}
	w := &outbox.Worker{Store: st, Senders: map[string]outbox.Sender{casebot.OutSlack: snd}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("first round = %d, %v; want the fed message sent", n, err)
	}
	st.mu.Lock()
	st.add(casebot.OutMessage{Kind: casebot.OutSlack, To: "U1", Text: "queued directly"})
	st.mu.Unlock()
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("round with a failing feed = %d, %v; want the queued message sent", n, err)
	}
	if !slices.Equal(st.asked, []int{outbox.NoticeLookahead, outbox.NoticeLookahead}) ||
		!slices.Equal(snd.sent, []string{"queued by the feed", "queued directly"}) {
		t.Fatalf("feeds asked %v, sent %q", st.asked, snd.sent)
	}
}

// Notices are Slack messages: a worker without a Slack sender leaves them
// in the feed rather than queue what it cannot deliver.
func TestNoticeFeederNeedsASlackSender(t *testing.T) {
	st := &feedStore{feed: func(*feedStore) error { return nil }}
	w := &outbox.Worker{Store: st, Senders: map[string]outbox.Sender{casebot.OutEmail: &textSender{}}, FeedLookahead: 4,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := w.RunOnce(context.Background()); err != nil || len(st.asked) != 0 {
		t.Fatalf("RunOnce: %v; feeds asked %v, want none", err, st.asked)
	}
	w = &outbox.Worker{Store: st, Senders: map[string]outbox.Sender{casebot.OutSlack: &textSender{}}, FeedLookahead: 4,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := w.RunOnce(context.Background()); err != nil || !slices.Equal(st.asked, []int{4}) {
		t.Fatalf("RunOnce: %v; feeds asked %v, want one with lookahead 4", err, st.asked)
	}
}
