package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/casebot/casebot"
)

// defaultTemplate is the template agreement fills when none is named.
const defaultTemplate = "settlement"

// handleAgreement fills an agreement template with the case's data (the
// accepted offer's terms included, today's date in the mediator's zone) and
// files the PDF as a case document, ready for doc and email --attach.
func handleAgreement(ctx context.Context, r *Request) Reply {
	ag := r.bot.cfg.Agreements
	if ag == nil {
		return r.Fail(casebot.Errorf(casebot.EUNAVAIL, "Agreements are not configured on this casebot."))
	}
	name := strings.ToLower(r.Args.Word)
	if name == "" {
		name = defaultTemplate
	}
	c, err := r.Case(ctx, r.Args.ID)
	if err != nil {
		return r.Fail(err)
	}
	offers, err := r.Store.Offers(ctx, c.ID)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: offers of %s: %w", c.ID, err))
	}
	loc := r.bot.Actor(c.Mediator).Location()
	pdf, err := ag.Render(name, casebot.NewAgreementData(c, offers, r.Now, loc))
	if err != nil {
		return r.Fail(err)
	}
	file := fmt.Sprintf("%s %s %s.pdf", c.ID, name, r.Now.In(loc).Format("2006-01-02"))
	n, _, err := r.Store.FileDocument(ctx, c.ID, casebot.Attachment{Name: file, Type: "application/pdf", Size: int64(len(pdf)), Content: pdf},
		casebot.Arrival{From: r.Actor.ID, At: r.Now, Name: file, Via: casebot.ViaCasebot},
		func(c *casebot.Case) error {
			if !r.Actor.CanSee(c) {
				return r.hidden(c.ID)
			}
			return nil
		})
	if err != nil {
		return r.Fail(err)
	}
	var t text
	t.linef("Document #%d of %s: %s (%s).", n, c.ID, file, formatSize(int64(len(pdf))))
	t.linef("Get it with doc %s %d; send it to the parties with email %s --attach %d <text>.", c.ID, n, c.ID, n)
	return Reply{Text: t.String()}
}
