package store

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// pollAnswer reads note n, a party's reply to c (an edited copy) whose poll
// is open, as an answer: a readable one replaces the party's earlier
// answer; either way the mediators get a poll notice (the tally, or why
// the reply needs a look) in place of the plain email-note notice, and the
// audit trail records the answer. It reports whether it queued a notice.
func (in *ingester) pollAnswer(c *casebot.Case, n *casebot.Note) (bool, error) {
	i := c.Party(n.Author)
	if i < 0 || c.Mediator == "" {
		return false, nil
	}
	party := c.Parties[i]
	a := casebot.ParsePollAnswer(n.Body, len(c.Poll.Slots))
	problem := ""
	var nums []int
	switch {
	case a.OK:
		p := *c.Poll
		p.Answers = maps.Clone(p.Answers)
		if p.Answers == nil {
			p.Answers = map[string][]int{}
		}
		p.Answers[party.Email] = a.Slots
		c.Poll = &p
		nums = a.Slots
	case len(a.OutOfRange) > 0:
		problem, nums = casebot.PollOutOfRange, a.OutOfRange
	default:
		problem = casebot.PollUnreadable
	}
	msgs := casebot.PollAnswerNotices(c, party, n, problem)
	if problem == casebot.PollOutOfRange {
		for j := range msgs {
			msgs[j].Notice.Text = joinInts(nums)
		}
	}
	about := casebot.About{N: n.N, Who: casebot.Mailbox(party.Name, party.Email), Text: joinInts(nums)}
	if a.OK && len(nums) == 0 {
		about.Text = "none"
	}
	action := "poll.answer"
	if problem != "" {
		action, about.Text = "poll.unread", problem
	}
	if err := in.db.appendAudit(in.tx, casebot.AuditEvent{CaseID: c.ID, At: in.now, Actor: party.Email, Action: action, About: about}); err != nil {
		return false, err
	}
	if err := in.db.enqueueTx(in.tx, in.now, msgs); err != nil {
		return false, err
	}
	return len(msgs) > 0, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// PollsDue returns the cases whose open poll's reminder time is at or
// before now (not yet reminded), and the earliest reminder time after now
// (zero when none), through the poll index.
func (db *DB) PollsDue(ctx context.Context, now time.Time) ([]string, time.Time, error) {
	var ids []string
	var next time.Time
	err := db.view(ctx, func(tx kv.Tx) error {
		end := timeKey(now.Add(time.Nanosecond))
		c := tx.Bucket(bucketIdxPoll).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 8 {
				return fmt.Errorf("bad poll index key %q", k)
			}
			if string(k[:8]) >= string(end) {
				next = time.Unix(0, int64(u64(k[:8])^(1<<63))).UTC()
				break
			}
			ids = append(ids, string(k[8:]))
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: polls due: %w", err)
	}
	return ids, next, nil
}
