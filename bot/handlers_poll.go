package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// pollComposer returns the configured composer's poll mail, or an EUNAVAIL
// refusal when outbound mail is off.
func (r *Request) pollComposer() (casebot.PollComposer, error) {
	if pc, ok := r.bot.cfg.Mail.(casebot.PollComposer); ok && r.bot.cfg.Mail != nil {
		return pc, nil
	}
	return nil, casebot.Errorf(casebot.EUNAVAIL, "Polls go to the parties by email, and outbound mail is not configured on this casebot.")
}

// handlePollAsk emails every party the poll's numbered times; a poll
// already open is replaced (its answers dropped).
func handlePollAsk(ctx context.Context, r *Request) Reply {
	a := r.Args
	if err := casebot.ValidatePollSlots(a.Whens, r.Now); err != nil {
		return r.Usage(err)
	}
	d := a.Duration
	if d == 0 {
		d = casebot.DefaultPollDuration
	}
	pc, err := r.pollComposer()
	if err != nil {
		return r.Fail(err)
	}
	replaced := false
	var sent int
	c, err := r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status.Closed() {
			return casebot.Change{}, closedErr(c)
		}
		if len(c.Parties) == 0 {
			return casebot.Change{}, invalid("%s has no parties to ask; add them with party add first.", c.ID)
		}
		replaced = c.Poll != nil
		c.Poll = &casebot.Poll{Slots: a.Whens, Duration: d, By: r.Actor.ID, Created: r.Now}
		msgs, err := pc.PollMail(c, c.Poll, nil, fmt.Sprintf("poll/%s/%d", c.ID, r.Now.UnixNano()))
		if err != nil {
			return casebot.Change{}, fmt.Errorf("bot: poll mail for %s: %w", c.ID, err)
		}
		if len(msgs) == 0 {
			return casebot.Change{}, casebot.Errorf(casebot.ECONFLICT, "Every party's address of %s bounces; nobody can be asked.", c.ID)
		}
		sent = len(msgs)
		return casebot.Change{Action: "poll.create", Outbox: msgs,
			About: casebot.About{N: len(a.Whens), When: a.Whens[0], Length: d, Text: plural(len(a.Whens), "time", "times")}}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	if replaced {
		t.line("The open poll is replaced; its answers are dropped.")
	}
	t.linef("Poll of %s sent to %s (%s each):", c.ID, plural(sent, "party", "parties"), formatDuration(d))
	writeSlots(&t, c.Poll.Slots, r.Actor.Location())
	t.linef("Their replies are read as answers; see them with: poll %s", c.ID)
	return Reply{Text: t.String()}
}

// handlePollShow shows the open poll: each time with who can come and who
// cannot, and who has not answered.
func handlePollShow(ctx context.Context, r *Request) Reply {
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	if c.Poll == nil {
		return Reply{Text: fmt.Sprintf("%s has no open poll. Ask the parties with: poll %s <when> <when> [...]", c.ID, c.ID)}
	}
	if err := r.Store.RecordView(ctx, c.ID, r.Actor.ID, "the poll"); err != nil {
		return r.Fail(fmt.Errorf("bot: record view of %s: %w", c.ID, err))
	}
	var t text
	t.linef("Poll of %s, sent %s:", c.ID, formatTime(c.Poll.Created, r.Actor.Location()))
	writeTally(&t, c.Poll.Tally(c), r.Actor.Location())
	return Reply{Text: t.String()}
}

// handleSessionPoll books a time of the open poll as a session: the
// invitation goes out, the poll closes, and the reply flags the parties
// who cannot come.
func handleSessionPoll(ctx context.Context, r *Request) Reply {
	a := r.Args
	var s casebot.Session
	var tally *casebot.PollTally
	c, err := r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status.Closed() {
			return casebot.Change{}, closedErr(c)
		}
		if c.Poll == nil {
			return casebot.Change{}, invalid("%s has no open poll; ask the parties with poll %s <when> <when> first.", c.ID, c.ID)
		}
		if a.N > len(c.Poll.Slots) {
			return casebot.Change{}, invalid("The poll of %s has %s; there is no time %d.", c.ID, plural(len(c.Poll.Slots), "time", "times"), a.N)
		}
		start := c.Poll.Slots[a.N-1]
		if !start.After(r.Now) {
			return casebot.Change{}, invalid("Time %d of the poll (%s) has passed.", a.N, formatTime(start, r.Actor.Location()))
		}
		tally = c.Poll.Tally(c)
		n := 1
		for _, x := range c.Sessions {
			n = max(n, x.N+1)
		}
		s = casebot.Session{N: n, Start: start, Duration: c.Poll.Duration, Title: a.Text, Where: a.Flags["where"], Created: r.Now}
		c.Sessions = append(c.Sessions, s)
		c.Poll = nil
		ch := casebot.Change{Action: "session.add", Detail: fmt.Sprintf("time %d of the poll", a.N), About: sessionAbout(s)}
		return r.invite(c, s, casebot.MethodRequest, ch)
	})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	t.line(sessionLine(c, s, r.Actor.Location()))
	t.line("The poll is closed.")
	if len(tally.None) > 0 {
		t.linef("Answered that no time suits them: %s.", strings.Join(tally.None, ", "))
	}
	if cannot := tally.Cannot[a.N-1]; len(cannot) > 0 {
		t.linef("Cannot come at this time: %s.", strings.Join(cannot, ", "))
	}
	if len(tally.Waiting) > 0 {
		t.linef("Never answered: %s.", strings.Join(tally.Waiting, ", "))
	}
	r.inviteNote(&t, c, "Invitations are on their way to %s.")
	return Reply{Text: t.String()}
}

// writeSlots lists a poll's times, numbered, in loc.
func writeSlots(t *text, slots []time.Time, loc *time.Location) {
	for i, s := range slots {
		t.linef("  %d. %s", i+1, formatTime(s, loc))
	}
}

// writeTally writes a poll's tally: each time with who can come and who
// cannot, who has not answered, and once all have, the times that suit
// everyone. The poll command and the mediator's notice share it.
func writeTally(t *text, p *casebot.PollTally, loc *time.Location) {
	for i, s := range p.Slots {
		line := fmt.Sprintf("  %d. %s: can come: %s", i+1, formatTime(s, loc), namesOrDash(p.Can[i]))
		if len(p.Cannot[i]) > 0 {
			line += "; cannot: " + strings.Join(p.Cannot[i], ", ")
		}
		t.line(line)
	}
	if len(p.Waiting) > 0 {
		t.linef("Not answered yet: %s.", strings.Join(p.Waiting, ", "))
	}
	if len(p.None) > 0 {
		t.linef("No time suits: %s.", strings.Join(p.None, ", "))
	}
	if p.Complete {
		if len(p.Suit) == 0 {
			t.line("Every party has answered; no time suits everyone.")
		} else {
			var ns []string
			for _, k := range p.Suit {
				ns = append(ns, fmt.Sprint(k))
			}
			t.linef("Every party has answered; suiting everyone: %s.", strings.Join(ns, ", "))
		}
	}
}

func namesOrDash(ns []string) string {
	if len(ns) == 0 {
		return "-"
	}
	return strings.Join(ns, ", ")
}

// pollNoticeText is the mediator's notice of a reply to a poll: the
// answer and the running tally, or why the reply needs a look.
func pollNoticeText(n *casebot.Notice) string {
	var t text
	who := n.From
	if who == "" {
		who = n.Party
	}
	switch n.Reason {
	case casebot.PollUnreadable:
		t.linef("Poll reply from %s on %s (%s), note #%d, could not be read as an answer; it needs a look:", who, n.CaseID, n.CaseTitle, n.N)
	case casebot.PollOutOfRange:
		t.linef("Poll reply from %s on %s (%s), note #%d, names %s, which the poll has no time for; it was not read as an answer and needs a look:",
			who, n.CaseID, n.CaseTitle, n.N, n.Text)
	default:
		t.linef("%s answered the poll of %s (%s), note #%d:", who, n.CaseID, n.CaseTitle, n.N)
	}
	if n.Excerpt != "" {
		t.line("> " + strings.ReplaceAll(n.Excerpt, "\n", "\n> "))
	}
	if n.Poll != nil {
		writeTally(&t, n.Poll, casebot.LoadZone(n.Zone))
	}
	return strings.TrimSuffix(t.String(), "\n")
}
