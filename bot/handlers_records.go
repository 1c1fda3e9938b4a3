package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/casebot/casebot"
)

func handlePurge(ctx context.Context, r *Request) Reply {
	p := r.bot.cfg.Purger
	if p == nil {
		return r.Fail(casebot.Errorf(casebot.EUNAVAIL, "Purging is not available here."))
	}
	c, err := p.PurgeCase(ctx, r.Args.ID, r.Actor.ID)
	if casebot.ErrorCode(err) == casebot.ENOTFOUND {
		return r.Fail(r.hidden(r.Args.ID))
	} else if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Purged %s: %s destroyed. The statistics record and the audit trail, without content, stay.",
		c.ID, purgedCounts(c))}
}

// purgedCounts says how much content a purge destroyed.
func purgedCounts(c *casebot.Case) string {
	return fmt.Sprintf("%s, %s, %s and %s", plural(c.NoteCount, "note", "notes"), plural(c.Purged.Parties, "party", "parties"),
		plural(c.Purged.Deadlines, "deadline", "deadlines"), plural(c.Purged.Sessions, "session", "sessions"))
}

func handleHold(ctx context.Context, r *Request) Reply {
	on := r.Args.Word != "off"
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) { return c.SetHold(on) })
	if err != nil {
		return r.Fail(err)
	}
	if c.Hold {
		return Reply{Text: fmt.Sprintf("%s is on hold: it will not be purged until hold %s off.", c.ID, c.ID)}
	}
	return Reply{Text: fmt.Sprintf("%s is no longer on hold.", c.ID)}
}

// recordsLines adds to show the case's hold, or what its purge left.
func recordsLines(t *text, c *casebot.Case, loc *time.Location) {
	if p := c.Purged; p != nil {
		t.linef("Purged %s by %s: %s destroyed.", formatTime(p.At, loc), p.By, purgedCounts(c))
	}
	if c.Hold {
		t.linef("On hold: kept from purge (hold %s off releases it).", c.ID)
	}
}
