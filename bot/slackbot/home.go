package slackbot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// Slack's limits on a view (views.publish, views.open).
const (
	maxViewBlocks   = 100
	maxHeaderChars  = 150
	homeTimeLayout  = "Mon 2 Jan 15:04"
	homeDateLayout  = "Mon 2 Jan"
	homeCaseLabel   = "Show"
	homeListAllText = "List them"
)

// ActionOpenForm is the action ID of a button that opens a form.
const ActionOpenForm = casebot.ActionOpenForm

// ActionListCases is the action ID of Home's "and N more" button; the
// language turns it into "list mine" (bot.ButtonText).
const ActionListCases = casebot.ActionListCases

// HomeView builds a user's App Home from the domain (casebot.HomeService)
// and publishes it (views.publish). It is also the outbox's sender of
// casebot.OutHome messages, which republish a Home when the user's cases
// change.
type HomeView struct {
	client *slack.Client
	svc    casebot.HomeService
	now    func() time.Time
	forms  bool
}

// NewHomeView returns a HomeView publishing with client (bot token) what
// svc builds at now (time.Now when nil). With forms, Home offers the New
// case button.
func NewHomeView(client *slack.Client, svc casebot.HomeService, now func() time.Time, forms bool) *HomeView {
	if now == nil {
		now = time.Now
	}
	return &HomeView{client: client, svc: svc, now: now, forms: forms}
}

// Publish builds user's Home now and publishes it. Errors are classified as
// the DM sender's are (a rate limit carries Retry-After).
func (v *HomeView) Publish(ctx context.Context, user string) error {
	h, err := v.svc.HomeNow(ctx, user, v.now())
	if err != nil {
		return fmt.Errorf("slackbot: home of %s: %w", user, err)
	}
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: RenderHome(&h, v.forms)}}
	if _, err := v.client.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view}); err != nil {
		return classify("views.publish", err)
	}
	return nil
}

// Send publishes the Home of the user a casebot.OutHome message names, as
// it is now (so one message shows every change before it).
func (v *HomeView) Send(ctx context.Context, m casebot.OutMessage) error {
	user, ok := casebot.HomeUser(m.To)
	if m.Kind != casebot.OutHome || !ok {
		return permanentErr{fmt.Errorf("slackbot: home sender given a %q message to %q", m.Kind, m.To)}
	}
	return v.Publish(ctx, user)
}

// RenderHome returns the blocks of a Home, within Slack's view limits:
// overdue deadlines first (each with Mark met), today's sessions, the next
// 7 days' deadlines, party emails since the last digest, for admins the
// quarantine and caseload balance, then the open cases by priority (each
// with Show) as far as the block limit allows, then "and N more" with a
// button listing them. Someone with no cases gets one line saying so.
func RenderHome(h *casebot.Home, forms bool) []slack.Block {
	loc := casebot.LoadZone(h.Zone)
	bs := make([]slack.Block, 0, maxViewBlocks)
	bs = append(bs, slack.NewHeaderBlock(plain("Your caseload", maxHeaderChars)))
	if forms {
		bs = append(bs, actions([]casebot.Button{{ActionID: ActionOpenForm, Label: "New case", Value: "new"}}))
	}
	if len(h.Cases) == 0 && !h.Admin {
		return append(bs, section("You have no cases. Cases you open or are assigned appear here."))
	}
	if h.Admin {
		var t strings.Builder
		fmt.Fprintf(&t, "*Quarantine:* %s waiting to be filed or rejected.", plural(h.Quarantine, "email", "emails"))
		if len(h.Caseloads) > 0 {
			t.WriteString("\n*Caseload balance* (open cases):")
			for _, c := range h.Caseloads {
				fmt.Fprintf(&t, "\n• <@%s>: %d (urgent %d, high %d)", escapeSlack(c.Mediator), c.Open,
					c.ByPriority[casebot.PriorityUrgent], c.ByPriority[casebot.PriorityHigh])
			}
		}
		bs = append(bs, textSections(t.String(), 2)...)
	}
	if len(h.Overdue) > 0 {
		bs = append(bs, slack.NewDividerBlock(), section("*Overdue deadlines*"))
		shown := h.Overdue[:min(len(h.Overdue), casebot.HomeOverdueShown)]
		lines, values := make([]string, len(shown)), make([]string, len(shown))
		for i, it := range shown {
			lines[i] = fmt.Sprintf("*%s* #%d, due %s: %s\n%s", escapeSlack(it.CaseID), it.N, it.When.In(loc).Format(homeTimeLayout),
				escapeSlack(oneLine(it.Text, 200)), escapeSlack(oneLine(it.Title, 200)))
			values[i] = it.CaseID + "/" + strconv.Itoa(it.N)
		}
		bs = appendButtonSections(bs, lines, values, casebot.ActionDeadlineDone, "Mark met")
		if more := max(h.OverdueTotal, len(h.Overdue)) - len(shown); more > 0 {
			bs = append(bs, section(fmt.Sprintf("_… and %d more overdue; /case list overdue shows them all._", more)))
		}
	}
	var t strings.Builder
	t.Grow(64 * (len(h.Sessions) + len(h.Deadlines) + len(h.Emails) + 1)) // a line is about 50 bytes
	if len(h.Sessions) > 0 {
		t.WriteString("*Today's sessions*")
		for _, it := range h.Sessions {
			where := ""
			if it.Session != nil && it.Session.Where != "" {
				where = ", " + it.Session.Where
			}
			title := it.Title
			if it.Session != nil {
				title = it.Session.Title
			}
			fmt.Fprintf(&t, "\n• %s *%s* %s%s", it.When.In(loc).Format("15:04"), escapeSlack(it.CaseID), escapeSlack(oneLine(title, 200)), escapeSlack(where))
		}
		t.WriteString("\n")
	}
	if len(h.Deadlines) > 0 {
		t.WriteString("*Deadlines in the next 7 days*")
		var b []byte
		for _, it := range h.Deadlines {
			// "\n• <when> *<case>* #<n>: <text>"
			b = appendHomeTime(append(b[:0], "\n• "...), it.When, loc, true)
			b = strconv.AppendInt(append(append(append(b, " *"...), escapeSlack(it.CaseID)...), "* #"...), int64(it.N), 10)
			t.Write(append(append(b, ": "...), escapeSlack(oneLine(it.Text, 200))...))
		}
		t.WriteString("\n")
	}
	if len(h.Emails) > 0 {
		fmt.Fprintf(&t, "*Party emails since %s*", h.Since.In(loc).Format(homeTimeLayout))
		for _, e := range h.Emails {
			fmt.Fprintf(&t, "\n• *%s* %s: %d", escapeSlack(e.CaseID), escapeSlack(oneLine(e.Title, 200)), e.Count)
		}
	}
	if s := strings.TrimSpace(t.String()); s != "" {
		bs = append(bs, slack.NewDividerBlock())
		bs = append(bs, textSections(s, 3)...)
	}
	// h.Cases may be the first casebot.HomeCasesShown of more.
	total := max(h.OpenCases, len(h.Cases))
	bs = append(bs, slack.NewDividerBlock(), section(fmt.Sprintf("*Your open cases* (%d)", total)))
	// Room for the cases, keeping two blocks for "and N more" and its button.
	shown := h.Cases[:min(len(h.Cases), maxViewBlocks-len(bs)-2)]
	// The lines are written into one string and cut from it.
	var all strings.Builder
	all.Grow(96 * len(shown))
	ends, values := make([]int, len(shown)), make([]string, len(shown))
	var when []byte
	for i, c := range shown {
		all.WriteByte('*')
		all.WriteString(escapeSlack(c.ID))
		all.WriteString("* ")
		all.WriteString(escapeSlack(oneLine(c.Title, 200)))
		all.WriteByte('\n')
		all.WriteString(string(c.Priority))
		all.WriteString(", ")
		all.WriteString(string(c.Status))
		if c.Next.N > 0 {
			all.WriteString("; next deadline ")
			when = appendHomeTime(when[:0], c.Next.Due, loc, false)
			all.Write(when)
		}
		ends[i], values[i] = all.Len(), c.ID
	}
	text, lines, start := all.String(), make([]string, len(shown)), 0
	for i, end := range ends {
		lines[i], start = text[start:end], end
	}
	bs = appendButtonSections(bs, lines, values, casebot.ActionShowCase, homeCaseLabel)
	if more := total - len(shown); more > 0 {
		bs = append(bs, section(fmt.Sprintf("_… and %d more open cases._", more)),
			actions([]casebot.Button{{ActionID: ActionListCases, Label: homeListAllText, Value: "mine"}}))
	}
	return bs
}

// appendButtonSections appends a section per line of escaped mrkdwn, each
// with a button (label, actionID, the line's value), as
// slack.NewSectionBlock(mrkdwn(line), nil, slack.NewAccessory(button))
// makes them, but allocated together: a Home lists a hundred.
func appendButtonSections(bs []slack.Block, lines, values []string, actionID, label string) []slack.Block {
	n := len(lines)
	secs, accs, btns := make([]slack.SectionBlock, n), make([]slack.Accessory, n), make([]slack.ButtonBlockElement, n)
	texts, emoji := make([]slack.TextBlockObject, 2*n), make([]bool, n)
	label = cutRunes(label, maxButtonLabel)
	for i, line := range lines {
		texts[2*i] = slack.TextBlockObject{Type: slack.MarkdownType, Text: line, Verbatim: true}
		texts[2*i+1] = slack.TextBlockObject{Type: slack.PlainTextType, Text: label, Emoji: &emoji[i]}
		btns[i] = slack.ButtonBlockElement{Type: slack.METButton, ActionID: actionID, Text: &texts[2*i+1], Value: values[i]}
		accs[i] = slack.Accessory{ButtonElement: &btns[i]}
		secs[i] = slack.SectionBlock{Type: slack.MBTSection, Text: &texts[2*i], Accessory: &accs[i]}
		bs = append(bs, &secs[i])
	}
	return bs
}

// textSections cuts escaped mrkdwn into at most max sections, the last one
// saying what was cut.
func textSections(s string, max int) []slack.Block {
	chunks := splitText(s, maxSectionChars)
	var out []slack.Block
	for i, c := range chunks {
		if i == max-1 && len(chunks) > max {
			out = append(out, section(splitText(c, maxSectionChars-60)[0]+"\n_… more not shown; /case digest shows it all._"))
			break
		}
		out = append(out, section(c))
	}
	return out
}

// plain is a plain_text object of at most max characters.
func plain(s string, max int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, cutRunes(s, max), false, false)
}

// mrkdwn is a verbatim mrkdwn object of already escaped text.
func mrkdwn(escaped string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, escaped, false, true)
}

// cutRunes shortens s to at most max runes, ending in "…" when cut.
func cutRunes(s string, max int) string {
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	rs := []rune(s)
	return string(rs[:max-1]) + "…"
}

// oneLine folds s onto one line of at most max runes.
func oneLine(s string, max int) string {
	if !folds(s) {
		return cutRunes(s, max)
	}
	return cutRunes(strings.Join(strings.Fields(s), " "), max)
}

// folds reports whether strings.Fields and a join with single spaces
// would change s: white space other than single inner spaces.
func folds(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			return true // Unicode spaces: leave them to strings.Fields
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return true
			}
		case c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return true
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
