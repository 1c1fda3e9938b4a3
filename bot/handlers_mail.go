package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/casebot/casebot"
)

// The refusals of mail commands while their service is off (Config.Mail,
// Config.Quarantine nil).
const (
	emailOff  = "email is not configured on this casebot."
	intakeOff = "mail intake is not configured on this casebot."
)

// featureOff refuses a command whose feature is off, with code EUNAVAIL.
func featureOff(msg string) Reply {
	err := casebot.Errorf(casebot.EUNAVAIL, "%s", msg)
	return Reply{Text: err.Message, Err: err}
}

func handleEmail(ctx context.Context, r *Request) Reply {
	k := r.bot.cfg.Mail
	if k == nil {
		return featureOff(emailOff)
	}
	if err := casebot.ValidateText("email", r.Args.Text); err != nil {
		return r.Usage(err)
	}
	var roles []casebot.Role
	if r.Args.To != "" {
		roles = []casebot.Role{r.Args.To}
	}
	attach := r.Args.Attach
	if len(attach) > 0 {
		if err := r.checkAttach(ctx, r.Args.ID, attach); err != nil {
			return r.Fail(err)
		}
	}
	var n, skipped int
	key := fmt.Sprintf("email/%s/%s/%d", r.Args.ID, r.Actor.ID, r.Now.UnixNano())
	c, err := r.UpdateCase(ctx, r.Args.ID, func(c *casebot.Case) (casebot.Change, error) {
		msgs, err := k.CaseMail(c, roles, c.Title, r.Args.Text, false, key)
		if err != nil {
			return casebot.Change{}, fmt.Errorf("bot: compose email for %s: %w", c.ID, err)
		}
		for _, p := range c.Parties {
			if p.Bouncing && (len(roles) == 0 || p.Role == roles[0]) {
				skipped++
			}
		}
		if len(msgs) == 0 {
			who := "parties"
			if len(roles) > 0 {
				who = string(roles[0]) + " parties"
			}
			return casebot.Change{}, casebot.Errorf(casebot.EINVALID, "%s has no %s to email (add one with party add, or check for bouncing addresses).", c.ID, who)
		}
		n = len(msgs)
		for i := range msgs {
			msgs[i].Attach = attach
		}
		return casebot.Change{Action: "email.send", Detail: sentTo(n, roles) + attachedDocs(attach), About: emailAbout(msgs), Outbox: msgs}, nil
	})
	if err != nil {
		return r.Fail(err)
	}
	text := fmt.Sprintf("Queued to %s of %s%s.", plural(n, "party", "parties"), c.ID, attachedDocs(attach))
	if skipped > 0 {
		text += fmt.Sprintf(" %s skipped.", plural(skipped, "bouncing address", "bouncing addresses"))
	}
	return Reply{Text: text}
}

// sentTo says how many parties an email went to, and of which role.
func sentTo(n int, roles []casebot.Role) string {
	s := plural(n, "party", "parties")
	if len(roles) > 0 {
		s = fmt.Sprintf("%s, %s only", s, roles[0])
	}
	return s
}

// emailAbout names an email to the parties for the audit trail: its
// recipients and subject (never its text).
func emailAbout(msgs []casebot.OutMessage) casebot.About {
	names := make([]string, len(msgs))
	for i, m := range msgs {
		names[i] = m.ToName
		if names[i] == "" {
			names[i] = m.To
		}
	}
	return casebot.About{Who: casebot.Headline(strings.Join(names, ", ")), Text: casebot.Headline(msgs[0].Subject)}
}

// mayHandle reports whether the actor may see and decide quarantined item
// q: admins every item, a mediator those that named one of their cases.
func mayHandle(ctx context.Context, r *Request, q *casebot.Quarantined) bool {
	if r.Actor.Admin {
		return true
	}
	if q.CaseID == "" {
		return false
	}
	c, err := r.Store.Case(ctx, q.CaseID)
	return err == nil && r.Actor.CanSee(c)
}

func handleQuarantine(ctx context.Context, r *Request) Reply {
	qs := r.bot.cfg.Quarantine
	if qs == nil {
		return featureOff(intakeOff)
	}
	items, err := qs.Quarantine(ctx, false)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: list quarantine: %w", err))
	}
	loc := r.Actor.Location()
	var b strings.Builder
	var buttons []casebot.Button
	shown := 0
	for i := range items {
		q := &items[i]
		if !mayHandle(ctx, r, q) {
			continue
		}
		shown++
		fmt.Fprintf(&b, "#%d %s from %s: %q — %s", q.N, formatTime(q.Received, loc), q.From, q.Subject, q.Reason)
		if q.CaseID != "" {
			fmt.Fprintf(&b, " (named %s)", q.CaseID)
			buttons = append(buttons, casebot.Button{ActionID: casebot.ActionMailAccept, Label: fmt.Sprintf("Accept #%d into %s", q.N, q.CaseID),
				Value: fmt.Sprintf("%d/%s", q.N, q.CaseID)})
		}
		buttons = append(buttons, casebot.Button{ActionID: casebot.ActionMailReject, Label: fmt.Sprintf("Reject #%d", q.N), Value: strconv.FormatUint(q.N, 10)})
		b.WriteString("\n")
	}
	if shown == 0 {
		return Reply{Text: "No email is waiting in quarantine."}
	}
	head := fmt.Sprintf("%s in quarantine (accept <mail#> <ID> files one as a note, reject <mail#> discards it):\n", plural(shown, "email", "emails"))
	return Reply{Text: head + b.String(), Buttons: buttons}
}

func handleAccept(ctx context.Context, r *Request) Reply {
	qs := r.bot.cfg.Quarantine
	if qs == nil {
		return featureOff(intakeOff)
	}
	id := r.Args.ID
	target, err := r.Case(ctx, id)
	if err != nil {
		return r.Fail(err)
	}
	n := uint64(r.Args.N)
	q, err := qs.QuarantineItem(ctx, n)
	if err != nil || !mayHandle(ctx, r, q) {
		return r.Fail(noMail(n))
	}
	// The mediator who files it needs no notice of it.
	notify := !target.IsMediator(r.Actor.ID)
	note, err := qs.AcceptMail(ctx, n, id, r.Actor.ID, func(_ *casebot.Quarantined, c *casebot.Case) error {
		if !r.Actor.CanSee(c) {
			return casebot.ErrHidden(id)
		}
		return nil
	}, notify)
	if err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Email #%d from %s is note #%d of %s.", n, note.Author, note.N, id)}
}

func handleReject(ctx context.Context, r *Request) Reply {
	qs := r.bot.cfg.Quarantine
	if qs == nil {
		return featureOff(intakeOff)
	}
	n := uint64(r.Args.N)
	q, err := qs.QuarantineItem(ctx, n)
	if err != nil || !mayHandle(ctx, r, q) {
		return r.Fail(noMail(n))
	}
	if err := qs.RejectMail(ctx, n, r.Actor.ID, nil); err != nil {
		return r.Fail(err)
	}
	return Reply{Text: fmt.Sprintf("Email #%d rejected; its content is deleted.", n)}
}

// noMail is the refusal for a quarantined email that does not exist or that
// the actor may not handle: the two look the same.
func noMail(n uint64) error {
	return casebot.Errorf(casebot.ENOTFOUND, "There is no quarantined email #%d.", n)
}
