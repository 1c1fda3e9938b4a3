package bot

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/casebot/casebot"
)

// MayFile returns nil when userID may add documents to case caseID (the
// access rule: admins, and the case's mediator), else the refusal show
// would give, which reveals nothing of a case they may not see.
func (b *Bot) MayFile(ctx context.Context, userID, caseID string) error {
	id, err := casebot.NormalizeCaseID(caseID)
	if err != nil {
		return err
	}
	r := &Request{Actor: b.Actor(userID), Store: b.cfg.Store, Logger: b.cfg.Logger, bot: b}
	_, err = r.Case(ctx, id)
	return err
}

// FileDocument files a file userID shared in Slack (a, content whole) as a
// document of case caseID, if they may change the case, and returns the
// reply naming the new doc#. An empty file is refused; nothing is stored
// on any refusal.
func (b *Bot) FileDocument(ctx context.Context, userID, caseID string, a casebot.Attachment) Reply {
	actor := b.Actor(userID)
	fail := func(err error) Reply {
		if casebot.ErrorCode(err) == casebot.EINTERNAL {
			b.cfg.Logger.Error("file document failed", slog.String("user", userID), slog.Any("error", err))
		}
		return Reply{Text: casebot.ErrorMessage(err), Err: err}
	}
	id, err := casebot.NormalizeCaseID(caseID)
	if err != nil {
		return fail(err)
	}
	hidden := casebot.ErrHidden(id)
	if actor.Admin {
		hidden = casebot.ErrNoSuchCase(id)
	}
	if len(a.Content) == 0 {
		return fail(casebot.Errorf(casebot.EINVALID, "%s is empty; nothing was filed.", orDash(a.Name)))
	}
	a.Size = int64(len(a.Content))
	n, isNew, err := b.cfg.Store.FileDocument(ctx, id, a, casebot.Arrival{From: userID, At: b.cfg.Now(), Name: a.Name, Via: casebot.ViaSlack},
		func(c *casebot.Case) error {
			if !actor.CanSee(c) {
				return hidden
			}
			return nil
		})
	if casebot.ErrorCode(err) == casebot.ENOTFOUND {
		return fail(hidden)
	} else if err != nil {
		return fail(err)
	}
	name := casebot.SafeFileName(a.Name)
	if !isNew {
		return Reply{Text: fmt.Sprintf("%s is already document #%d of %s; this copy is recorded as another arrival.", name, n, id)}
	}
	return Reply{Text: fmt.Sprintf("Filed %s (%s) as document #%d of %s.", name, formatSize(a.Size), n, id),
		Buttons: []casebot.Button{{ActionID: casebot.ActionShowCase, Label: "Show case", Value: id}}}
}
