package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/casebot/casebot"
)

// checkAttach refuses email --attach of a document the case does not
// have or whose content was not kept, naming it; a case the actor may not
// see is refused as show refuses it, before any document is looked at.
func (r *Request) checkAttach(ctx context.Context, id string, attach []int) error {
	c, err := r.Case(ctx, id)
	if err != nil {
		return err
	}
	docs, _, err := r.Store.Documents(ctx, c.ID, 0)
	if err != nil {
		return fmt.Errorf("bot: documents of %s: %w", c.ID, err)
	}
	byN := make(map[int]*casebot.Document, len(docs))
	for i := range docs {
		byN[docs[i].N] = &docs[i]
	}
	for _, n := range attach {
		d := byN[n]
		switch {
		case d == nil:
			return casebot.Errorf(casebot.ENOTFOUND, "%s has no document #%d (docs %s lists them); nothing was sent.", c.ID, n, c.ID)
		case !d.Kept:
			return casebot.Errorf(casebot.EINVALID, "Document #%d of %s (%s) was over the size limit and not kept, so it cannot be attached; nothing was sent.", n, c.ID, d.Name)
		}
	}
	return nil
}

// attachedDocs says which documents an email carries: ", with documents
// #2 and #5 attached"; "" for none.
func attachedDocs(ns []int) string {
	if len(ns) == 0 {
		return ""
	}
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprintf("#%d", n)
	}
	if len(s) == 1 {
		return ", with document " + s[0] + " attached"
	}
	return ", with documents " + strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1] + " attached"
}

// handleRequest asks the parties of a role for a document by a time: their
// email and a deadline tied to the role, in one change. The deadline is
// met by itself when a document from one of them arrives (the store does
// that where it files documents).
func handleRequest(ctx context.Context, r *Request) Reply {
	k := r.bot.cfg.Mail
	if k == nil {
		return featureOff(emailOff)
	}
	a := r.Args
	var d casebot.Deadline
	var sent int
	key := fmt.Sprintf("request/%s/%s/%d", a.ID, r.Actor.ID, r.Now.UnixNano())
	c, err := r.UpdateCase(ctx, a.ID, func(c *casebot.Case) (casebot.Change, error) {
		if c.Status.Closed() {
			return casebot.Change{}, closedErr(c)
		}
		n := 1
		for _, x := range c.Deadlines {
			n = max(n, x.N+1)
		}
		d = casebot.Deadline{N: n, Due: a.When, Text: a.Text, Role: a.Role, Created: r.Now}
		msgs, err := k.DocumentRequest(c, a.Role, a.When, a.Text, key)
		if err != nil {
			return casebot.Change{}, fmt.Errorf("bot: compose document request for %s: %w", c.ID, err)
		}
		if len(msgs) == 0 {
			return casebot.Change{}, casebot.Errorf(casebot.EINVALID, "%s has no %s to ask (add one with party add %s %s <name> <email>, or check for bouncing addresses); nothing was stored.",
				c.ID, a.Role, c.ID, a.Role)
		}
		sent = len(msgs)
		c.Deadlines = append(c.Deadlines, d)
		about := deadlineAbout(d)
		about.Who = string(d.Role)
		return casebot.Change{Action: "deadline.add", Detail: "requested by email from " + plural(sent, "party", "parties"), About: about, Outbox: msgs}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Deadline #%d of %s: %s  %s (a document from %s). The request is on its way to %s; the first document one of them sends meets it.",
		d.N, c.ID, formatTime(d.Due, r.Actor.Location()), d.Text, d.Role, plural(sent, "party", "parties"))}
}
