package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/casebot/casebot"
)

// remindPolls sends, once per poll, a reminder to the parties who have not
// answered it, half way from the poll to its first time (a poll whose
// reminder fell due while the daemon was down is reminded at start-up,
// unless its first time has come). Each reminder commits with the poll's
// Reminded mark, so it is sent at most once. It returns when the next
// poll reminder falls due.
func (s *Scheduler) remindPolls(ctx context.Context, now time.Time) (time.Time, error) {
	ids, next, err := s.cfg.Store.PollsDue(ctx, now)
	if err != nil || len(ids) == 0 {
		return next, err
	}
	pc, _ := s.cfg.Composer.(casebot.PollComposer)
	for _, id := range ids {
		var n int
		_, err := s.cfg.Store.UpdateCase(ctx, id, func(c *casebot.Case) (casebot.Change, error) {
			p := c.Poll
			if p == nil || p.Reminded {
				return casebot.Change{}, errNothing
			}
			cp := *p
			cp.Reminded = true
			c.Poll = &cp
			ch := casebot.Change{Actor: "casebot", Action: "poll.remind"}
			var to []string
			for _, q := range p.Waiting(c) {
				to = append(to, q.Email)
			}
			first := p.Slots[0]
			for _, t := range p.Slots {
				first = earliest(first, t)
			}
			if pc == nil || len(to) == 0 || !first.After(now) {
				return ch, nil
			}
			msgs, err := pc.PollMail(c, p, to, fmt.Sprintf("poll-remind/%s/%d", c.ID, p.Created.UnixNano()))
			if err != nil {
				return casebot.Change{}, err
			}
			ch.Outbox, ch.Detail = msgs, fmt.Sprintf("%d not answered", len(to))
			n = len(msgs)
			return ch, nil
		})
		if err == errNothing || casebot.ErrorCode(err) == casebot.ENOTFOUND {
			continue
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("scheduler: poll reminder for %s: %w", id, err)
		}
		s.queued(n)
	}
	return next, nil
}

// errNothing aborts an update that has nothing to do.
var errNothing = casebot.Errorf(casebot.ECONFLICT, "nothing to do")
