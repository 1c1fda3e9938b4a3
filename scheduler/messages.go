package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// Button action IDs; the bot turns a press into the command "done <ID> <n>"
// / "show <ID>".
const (
	actionDeadlineDone = casebot.ActionDeadlineDone
	actionShowCase     = casebot.ActionShowCase
)

func markMet(caseID string, n int) casebot.Button {
	return casebot.Button{ActionID: actionDeadlineDone, Label: "Mark met", Value: fmt.Sprintf("%s/%d", caseID, n)}
}

func showCase(caseID string) casebot.Button {
	return casebot.Button{ActionID: actionShowCase, Label: "Show case", Value: caseID}
}

// deadlineReminder is the mediator's direct message o before a deadline.
func deadlineReminder(r casebot.DeadlineRef, o time.Duration, key string, loc *time.Location) casebot.OutMessage {
	d := r.Deadline
	text := fmt.Sprintf("Reminder: deadline #%d of %s (%s) is due in %s, %s:\n%s",
		d.N, r.CaseID, r.Title, inWords(o), fmtTime(d.Due, loc), d.Text)
	return casebot.OutMessage{Key: key, Kind: casebot.OutSlack, To: r.Mediator, CaseID: r.CaseID,
		Subject: "Deadline reminder", Text: text, Buttons: []casebot.Button{markMet(r.CaseID, d.N), showCase(r.CaseID)}}
}

// overdueNotice is the mediator's daily direct message about a deadline
// that is past due and not met; k counts the days since it fell due.
func overdueNotice(r casebot.DeadlineRef, k int, key string, now time.Time, loc *time.Location) casebot.OutMessage {
	d := r.Deadline
	when := "is due now"
	if k > 0 {
		when = fmt.Sprintf("is overdue: it was due %s ago", plural(k, "day"))
	}
	text := fmt.Sprintf("Deadline #%d of %s (%s) %s, %s, and is not marked met:\n%s",
		d.N, r.CaseID, r.Title, when, fmtTime(d.Due, loc), d.Text)
	return casebot.OutMessage{Key: key, Kind: casebot.OutSlack, To: r.Mediator, CaseID: r.CaseID,
		Subject: "Overdue deadline", Text: text, Buttons: []casebot.Button{markMet(r.CaseID, d.N), showCase(r.CaseID)}}
}

// sessionLine describes a session for a reader in loc.
func sessionLine(s casebot.Session, loc *time.Location) string {
	line := fmt.Sprintf("%s, %s, %s", s.Title, fmtTime(s.Start, loc), fmtDuration(s.Duration))
	if s.Where != "" {
		line += ", " + s.Where
	}
	return line
}

// sessionReminder is the mediator's direct message o before a session.
func sessionReminder(r casebot.SessionRef, o time.Duration, key string, loc *time.Location) casebot.OutMessage {
	text := fmt.Sprintf("Reminder: session #%d of %s (%s) starts in %s:\n%s",
		r.Session.N, r.CaseID, r.Title, inWords(o), sessionLine(r.Session, loc))
	return casebot.OutMessage{Key: key, Kind: casebot.OutSlack, To: r.Mediator, CaseID: r.CaseID,
		Subject: "Session reminder", Text: text, Buttons: []casebot.Button{showCase(r.CaseID)}}
}

// CalendarRef names a session's calendar invitation as the parties' mail
// shows it: the case, the session number and the invitation's revision
// (iCalendar SEQUENCE).
func CalendarRef(caseID string, s casebot.Session) string {
	return fmt.Sprintf("%s session #%d, revision %d", caseID, s.N, s.Sequence)
}

// sessionMail is the parties' reminder email o before a session: its
// details in the practice's zone and a reference to its invitation.
func sessionMail(c *casebot.Case, s casebot.Session, o time.Duration, loc *time.Location) (subject, text string) {
	subject = fmt.Sprintf("Reminder: %s on %s", s.Title, fmtTime(s.Start, loc))
	var b strings.Builder
	fmt.Fprintf(&b, "This is a reminder that your mediation session in %s (%s) starts in %s.\n\n", c.ID, c.Title, inWords(o))
	fmt.Fprintf(&b, "Session:  %s\n", s.Title)
	fmt.Fprintf(&b, "When:     %s\n", fmtTime(s.Start, loc))
	fmt.Fprintf(&b, "Length:   %s\n", fmtDuration(s.Duration))
	if s.Where != "" {
		fmt.Fprintf(&b, "Where:    %s\n", s.Where)
	}
	fmt.Fprintf(&b, "\nCalendar invitation: %s. The invitation you received for this revision is current;\n", CalendarRef(c.ID, s))
	b.WriteString("if the session changes you will receive an updated invitation.\n\n")
	b.WriteString("You can reply to this email to reach your mediator.\n")
	return subject, b.String()
}
