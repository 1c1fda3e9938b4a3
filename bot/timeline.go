package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// TimelineText is the timeline command's text for case c: a heading, then
// one line per event of its audit trail, times in loc. casebot export writes
// the same text as the case file's timeline.txt.
func TimelineText(c *casebot.Case, events []casebot.AuditEvent, loc *time.Location) string {
	var t text
	t.linef("%s: %s — %s", c.ID, c.Title, plural(len(events), "event", "events"))
	for _, e := range events {
		t.line("  " + timelineLine(e, loc))
	}
	return t.String()
}

// timelineLine renders one audit event as a line of the case's story:
// "2026-03-02 09:14 CET  U01  added deadline #1 due Mon 9 Mar 17:00:
// Position statements", times in loc. Events recorded before they named
// what they were about (a zero About), and actions this table does not
// know, read as their action and detail.
func timelineLine(e casebot.AuditEvent, loc *time.Location) string {
	s := fmt.Sprintf("%s  %s  ", formatTime(e.At, loc), e.Actor)
	phrase := eventPhrases[e.Action]
	if phrase == nil || e.About.IsZero() {
		s += e.Action
		if e.Detail != "" {
			s += "  " + e.Detail
		}
		if a := e.About; a.Who != "" {
			s += "  " + a.Who
		}
		return titled(s, e.About.Text)
	}
	w := func(t time.Time) string { return aboutTime(t, e.At, loc) }
	return s + phrase(e.About, e.Detail, w)
}

// aboutTime shows a time an event was about ("Mon 9 Mar 17:00"), with the
// year when it differs from the event's.
func aboutTime(t, at time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	t = t.In(loc)
	if t.Year() != at.In(loc).Year() {
		return t.Format("Mon 2 Jan 2006 15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// titled appends ": text" when there is a text.
func titled(s, text string) string {
	if text == "" {
		return s
	}
	return s + ": " + text
}

// paren appends " (detail)" when there is a detail.
func paren(s, detail string) string {
	if detail == "" {
		return s
	}
	return s + " (" + detail + ")"
}

// eventPhrases say, by action, what an event did, from the facts it
// recorded (see the handlers and the store for what each records).
var eventPhrases = map[string]func(a casebot.About, detail string, when func(time.Time) string) string{
	"offer.add": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return titled(fmt.Sprintf("logged offer #%d from the %s", a.N, a.Who), a.Text)
	},
	"offer.close": func(a casebot.About, d string, _ func(time.Time) string) string {
		return fmt.Sprintf("marked offer #%d (from the %s) %s", a.N, a.Who, d)
	},
	"agenda.add": func(a casebot.About, _ string, when func(time.Time) string) string {
		return titled(fmt.Sprintf("added agenda item #%d to the session at %s", a.N, when(a.When)), a.Text)
	},
	"agenda.remove": func(a casebot.About, _ string, when func(time.Time) string) string {
		return titled(fmt.Sprintf("removed agenda item #%d from the session at %s", a.N, when(a.When)), a.Text)
	},
	"poll.create": func(a casebot.About, _ string, when func(time.Time) string) string {
		return fmt.Sprintf("asked the parties which of %d times suit them, the first %s", a.N, when(a.When))
	},
	"poll.answer": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return fmt.Sprintf("%s answered the poll (note #%d): %s", a.Who, a.N, a.Text)
	},
	"poll.unread": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return fmt.Sprintf("%s replied to the poll (note #%d), not read as an answer (%s)", a.Who, a.N, a.Text)
	},
	"case.comediator.add": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return "made " + a.Who + " a co-mediator"
	},
	"case.comediator.remove": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return a.Who + " is no longer a co-mediator"
	},
	"case.create": func(a casebot.About, d string, _ func(time.Time) string) string {
		return paren(titled("opened the case", a.Text), d)
	},
	"doc.add": func(a casebot.About, d string, _ func(time.Time) string) string {
		return paren(titled(fmt.Sprintf("filed document #%d from %s", a.N, a.Who), a.Text), d)
	},
	"case.export": func(a casebot.About, d string, _ func(time.Time) string) string {
		return paren("exported "+a.Text, d)
	},
	"doc.view": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return fmt.Sprintf("viewed document #%d", a.N)
	},
	"case.import": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return titled("imported the case", a.Text)
	},
	"case.assign": func(a casebot.About, d string, _ func(time.Time) string) string {
		return paren("assigned the case to "+a.Who, d)
	},
	"case.status": func(a casebot.About, d string, _ func(time.Time) string) string {
		return paren("changed the status to "+a.Text, d)
	},
	"case.reopen": func(a casebot.About, d string, _ func(time.Time) string) string {
		return paren("reopened the case as "+a.Text, d)
	},
	"case.close": func(a casebot.About, d string, _ func(time.Time) string) string {
		s := "closed the case: " + a.Text
		if d != "" {
			s += " — " + d
		}
		return s
	},
	"party.add": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return fmt.Sprintf("added %s %s", a.Text, a.Who)
	},
	"party.remove": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return fmt.Sprintf("removed %s %s", a.Text, a.Who)
	},
	"party.clear": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return "cleared the bounce flag: mail goes to " + a.Who + " again"
	},
	"party.bounce": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return titled("flagged mail to "+a.Who+" as bouncing", a.Text)
	},
	"deadline.add": func(a casebot.About, d string, when func(time.Time) string) string {
		s := fmt.Sprintf("added deadline #%d due %s", a.N, when(a.When))
		if a.Who != "" { // a document request: the role asked, and how
			s = paren(s+", a document from "+a.Who, d)
		}
		return titled(s, a.Text)
	},
	"deadline.done": func(a casebot.About, d string, when func(time.Time) string) string {
		return paren(titled(fmt.Sprintf("met deadline #%d (due %s)", a.N, when(a.When)), a.Text), d)
	},
	"session.add": func(a casebot.About, _ string, when func(time.Time) string) string {
		return titled(fmt.Sprintf("scheduled session #%d for %s, %s", a.N, when(a.When), formatDuration(a.Length)), a.Text)
	},
	"session.move": func(a casebot.About, _ string, when func(time.Time) string) string {
		return titled(fmt.Sprintf("moved session #%d to %s, %s", a.N, when(a.When), formatDuration(a.Length)), a.Text)
	},
	"session.cancel": func(a casebot.About, _ string, when func(time.Time) string) string {
		return titled(fmt.Sprintf("cancelled session #%d of %s", a.N, when(a.When)), a.Text)
	},
	"note.add": func(a casebot.About, _ string, _ func(time.Time) string) string {
		s := fmt.Sprintf("added note #%d", a.N)
		if a.Who != "" {
			s += ", an email from " + a.Who
		}
		if a.Private {
			s += " [private]"
		}
		return titled(s, a.Text)
	},
	"email.send": func(a casebot.About, d string, _ func(time.Time) string) string {
		return titled(paren("emailed "+a.Who, d), a.Text)
	},
	"email.note": func(a casebot.About, d string, _ func(time.Time) string) string {
		if d == "" {
			d = fmt.Sprintf("note %d", a.N)
		}
		return titled(fmt.Sprintf("email from %s became %s", a.Who, d), a.Text)
	},
	"mail.accept": func(a casebot.About, d string, _ func(time.Time) string) string {
		return titled(fmt.Sprintf("filed quarantined %s from %s as note #%d", d, a.Who, a.N), a.Text)
	},
	"mail.reject": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return titled(fmt.Sprintf("rejected quarantined mail #%d from %s", a.N, a.Who), a.Text)
	},
	"view": func(a casebot.About, _ string, _ func(time.Time) string) string {
		return "viewed " + a.Text
	},
}

// quoted is a user's query as the audit trail names it: "rent arrears".
func quoted(s string) string {
	return `"` + strings.Join(strings.Fields(s), " ") + `"`
}
