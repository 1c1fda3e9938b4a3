package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// RenderNotice returns the chat text and buttons of a notice: the one place
// where the words of casebot's direct messages are written (email notes,
// bounces, reminders, overdue deadlines, digests). Times are shown in the
// notice's zone.
func RenderNotice(n *casebot.Notice) (text string, buttons []casebot.Button) {
	loc := casebot.LoadZone(n.Zone)
	switch n.Kind {
	case casebot.NoticeEmailNote:
		return emailNoteText(n), showCaseButton(n.CaseID)
	case casebot.NoticeBounce:
		return fmt.Sprintf("Mail to %s (%s, %s) bounces: %s. No more mail goes to this address until it is corrected.",
			n.Party, n.Role, n.CaseID, n.Reason), showCaseButton(n.CaseID)
	case casebot.NoticeDeadlineReminder:
		return fmt.Sprintf("Deadline reminder\nReminder: deadline #%d of %s (%s) is due in %s, %s:\n%s",
			n.N, n.CaseID, n.CaseTitle, casebot.DurationWords(n.Offset), noticeTime(n.At, loc), n.Text), deadlineButtons(n)
	case casebot.NoticeOverdue:
		when := "is due now"
		if n.DaysOverdue > 0 {
			when = "is overdue: it was due " + plural(n.DaysOverdue, "day", "days") + " ago"
		}
		return fmt.Sprintf("Overdue deadline\nDeadline #%d of %s (%s) %s, %s, and is not marked met:\n%s",
			n.N, n.CaseID, n.CaseTitle, when, noticeTime(n.At, loc), n.Text), deadlineButtons(n)
	case casebot.NoticeSessionReminder:
		agenda := ""
		if n.Text != "" {
			agenda = "\nAgenda:\n" + strings.TrimSuffix(n.Text, "\n")
		}
		return fmt.Sprintf("Session reminder\nReminder: session #%d of %s (%s) starts in %s:\n%s%s",
			n.N, n.CaseID, n.CaseTitle, casebot.DurationWords(n.Offset), noticeSessionLine(n.Title, n.At, n.Duration, n.Where, loc), agenda), showCaseButton(n.CaseID)
	case casebot.NoticePollAnswer:
		return pollNoticeText(n), showCaseButton(n.CaseID)
	case casebot.NoticeDigest:
		if n.Digest != nil {
			return "Daily digest\n" + RenderDigest(n.Digest), nil
		}
	}
	// A kind this build does not know (a newer daemon queued it): say so
	// rather than send nothing.
	return fmt.Sprintf("casebot has a notice (kind %d) about %s that this version cannot show.", n.Kind, orDash(n.CaseID)), nil
}

// emailNoteText is the notice of a party's email note: sender, case, note
// number, subject, the first lines as a quote, and the document requests
// its attachments met.
func emailNoteText(n *casebot.Notice) string {
	var b strings.Builder
	b.Grow(64 + len(n.From) + len(n.CaseID) + len(n.CaseTitle) + len(n.Subject) + len(n.Excerpt))
	for _, p := range [...]string{"New email from ", n.From, " on ", n.CaseID, " (", n.CaseTitle, "), note #", strconv.Itoa(n.N)} {
		b.WriteString(p)
	}
	if n.Subject != "" {
		b.WriteString("\nSubject: ")
		b.WriteString(n.Subject)
	}
	if n.Excerpt != "" {
		for rest := n.Excerpt; ; {
			line, tail, more := strings.Cut(rest, "\n")
			b.WriteString("\n> ")
			b.WriteString(line)
			if !more {
				break
			}
			rest = tail
		}
	}
	for _, m := range n.Met {
		fmt.Fprintf(&b, "\nIt meets deadline #%d: %s.", m.N, strings.TrimRight(casebot.Headline(m.Text), "."))
	}
	return b.String()
}

func showCaseButton(caseID string) []casebot.Button {
	return []casebot.Button{{ActionID: casebot.ActionShowCase, Label: "Show case", Value: caseID}}
}

// deadlineButtons mark the notice's deadline met or show its case.
func deadlineButtons(n *casebot.Notice) []casebot.Button {
	return []casebot.Button{{ActionID: casebot.ActionDeadlineDone, Label: "Mark met", Value: fmt.Sprintf("%s/%d", n.CaseID, n.N)},
		{ActionID: casebot.ActionShowCase, Label: "Show case", Value: n.CaseID}}
}

// RenderDigest returns a digest as chat text, in the digest's zone: the
// daily digest message and the digest command's reply.
func RenderDigest(d *casebot.Digest) string {
	loc := casebot.LoadZone(d.Zone)
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("Digest for %s (%s): %s open.", d.At.In(loc).Format("Mon 2 Jan 2006"), loc, plural(d.OpenCases, "case", "cases"))
	if d.Empty() {
		line("Nothing to report: you have no open cases.")
		return b.String()
	}
	prio := func(p casebot.Priority) string {
		if p == casebot.PriorityNormal || p == "" {
			return ""
		}
		return "[" + string(p) + "] "
	}
	who := func(it casebot.DigestItem) string {
		if d.Admin && it.Mediator != d.User {
			return " (mediator " + it.Mediator + ")"
		}
		return ""
	}
	section := func(title string, n int) bool {
		if n == 0 {
			return false
		}
		line("")
		line("%s (%d):", title, n)
		return true
	}
	if section("Sessions today", len(d.Sessions)) {
		for _, it := range d.Sessions {
			s := it.Session
			if s == nil {
				s = &casebot.Session{Start: it.When}
			}
			line("  %s%s %s — session #%d: %s", prio(it.Priority), it.CaseID, it.Title, it.N, noticeSessionLine(s.Title, s.Start, s.Duration, s.Where, loc))
		}
	}
	if section("Deadlines in the next 7 days", len(d.Deadlines)) {
		for _, it := range d.Deadlines {
			line("  %s%s %s — #%d due %s: %s", prio(it.Priority), it.CaseID, it.Title, it.N, noticeTime(it.When, loc), it.Text)
		}
	}
	if section("Overdue", len(d.Overdue)) {
		for _, it := range d.Overdue {
			line("  %s%s %s%s — #%d was due %s: %s", prio(it.Priority), it.CaseID, it.Title, who(it), it.N, noticeTime(it.When, loc), it.Text)
		}
	}
	if section("Party emails since "+noticeTime(d.Since, loc), len(d.Emails)) {
		for _, e := range d.Emails {
			line("  %s%s %s — %s", prio(e.Priority), e.CaseID, e.Title, plural(e.Count, "email", "emails"))
		}
	}
	if section("Open settlement offers", len(d.Offers)) {
		for _, o := range d.Offers {
			line("  %s%s %s — %s", prio(o.Priority), o.CaseID, o.Title, plural(o.Open, "open offer", "open offers"))
		}
	}
	if section("No activity for 14 days", len(d.Idle)) {
		for _, it := range d.Idle {
			line("  %s%s %s — last activity %s", prio(it.Priority), it.CaseID, it.Title, it.When.In(loc).Format("Mon 2 Jan"))
		}
	}
	if section("Missed while casebot was down", len(d.Missed)) {
		for _, m := range d.Missed {
			line("  %s, due %s", m.What, noticeTime(m.Fire, loc))
		}
	}
	if d.Admin {
		line("")
		line("Quarantine: %s waiting.", plural(d.Quarantine, "email", "emails"))
		if section("Caseload balance", len(d.Caseloads)) {
			for _, c := range d.Caseloads {
				var parts []string
				for i := len(casebot.Priorities) - 1; i >= 0; i-- {
					p := casebot.Priorities[i]
					if n := c.ByPriority[p]; n > 0 {
						parts = append(parts, fmt.Sprintf("%s %d", p, n))
					}
				}
				shared := ""
				if n := sumCounts(c.Shared); n > 0 {
					shared = fmt.Sprintf(", %d shared with co-mediators (half each)", n)
				}
				line("  %s: %d open (%s)%s", c.Mediator, c.Open, strings.Join(parts, ", "), shared)
			}
		}
		if section("Purged since "+noticeTime(d.Since, loc), len(d.Purged)) {
			for _, it := range d.Purged {
				line("  %s — content destroyed %s", it.CaseID, noticeTime(it.When, loc))
			}
		}
		if section("To be purged soon (hold <ID> keeps a case)", len(d.PurgeSoon)) {
			for _, it := range d.PurgeSoon {
				line("  %s %s%s — purged from %s", it.CaseID, it.Title, who(it), it.When.In(loc).Format("Mon 2 Jan 2006"))
			}
		}
	}
	return b.String()
}

// noticeSessionLine describes a session in a notice, for a reader in loc.
func noticeSessionLine(title string, start time.Time, length time.Duration, where string, loc *time.Location) string {
	line := title + ", " + noticeTime(start, loc) + ", " + formatDuration(length)
	if where != "" {
		line += ", " + where
	}
	return line
}

// noticeTime shows a time in a notice: "Mon 2 Mar 2026 09:00 CET".
func noticeTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
