package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/casebot/casebot"
)

// Composer builds case email as outbox messages (casebot.Composer): one per
// recipient party, never to an address flagged as bouncing, each with a
// fresh Message-ID that the store remembers for threading replies.
type Composer struct {
	Addr Addressing
	// Loc is the zone session times are written in; UTC when nil.
	Loc *time.Location
	// Now returns the current time (DTSTAMP); time.Now when nil.
	Now func() time.Time
}

var _ casebot.Composer = (*Composer)(nil)

var msgIDEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// newMessageID returns a Message-ID (without angle brackets) of our domain.
func (k *Composer) newMessageID(caseID string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // never fails on supported platforms
	return strings.ToLower(caseID) + "." + strings.ToLower(msgIDEnc.EncodeToString(b)) + "@" + k.Addr.Domain
}

// Subject returns "[ID] subject" with control characters removed; a
// subject that already carries the tag keeps it once.
func Subject(caseID, subject string) string {
	s := strings.Join(strings.Fields(cleanHeader(subject)), " ")
	tag := "[" + caseID + "]"
	if strings.Contains(s, tag) {
		return s
	}
	return strings.TrimSpace(tag + " " + s)
}

func wantRole(roles []casebot.Role, r casebot.Role) bool {
	if len(roles) == 0 {
		return true
	}
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// CaseMail returns one message per party of c whose role is in roles (all
// when empty), skipping bouncing addresses. It returns an EINVALID error
// when the text is empty and none when no party qualifies (an empty list).
func (k *Composer) CaseMail(c *casebot.Case, roles []casebot.Role, subject, text string, auto bool, key string) ([]casebot.OutMessage, error) {
	if strings.TrimSpace(text) == "" {
		return nil, casebot.Errorf(casebot.EINVALID, "The email is empty.")
	}
	if subject == "" {
		subject = c.Title
	}
	var out []casebot.OutMessage
	for _, p := range c.Parties {
		if p.Bouncing || p.Email == "" || !wantRole(roles, p.Role) {
			continue
		}
		out = append(out, casebot.OutMessage{
			Key: key + "/" + p.Email, Kind: casebot.OutEmail, To: p.Email, ToName: cleanHeader(p.Name), CaseID: c.ID,
			Subject: Subject(c.ID, subject), Text: text, MessageID: k.newMessageID(c.ID), Auto: auto,
		})
	}
	return out, nil
}

// Invitation returns a session's invitation (casebot.MethodRequest) or
// cancellation (casebot.MethodCancel) to every party not bouncing, each
// with an iCalendar attachment whose UID is stable per session and whose
// SEQUENCE is Session.Sequence.
func (k *Composer) Invitation(c *casebot.Case, s casebot.Session, method string) ([]casebot.OutMessage, error) {
	if method != casebot.MethodRequest && method != casebot.MethodCancel {
		return nil, fmt.Errorf("mail: invitation method %q", method)
	}
	loc := k.Loc
	if loc == nil {
		loc = time.UTC
	}
	when := s.Start.In(loc).Format("Monday 2 January 2006, 15:04 MST")
	title := cleanHeader(s.Title)
	var subject string
	var body strings.Builder
	switch {
	case method == casebot.MethodCancel:
		subject = "Cancelled: " + title + " — " + when
		fmt.Fprintf(&body, "The mediation session %q of %s on %s is cancelled.\n", title, c.ID, when)
	case s.AgendaUpdate():
		subject = "Updated agenda: " + title + " — " + when
		fmt.Fprintf(&body, "The agenda of the mediation session %q of %s on %s (%s) has changed.\n", title, c.ID, when, durationText(s.Duration))
	case s.Sequence > 0:
		subject = "Rescheduled: " + title + " — " + when
		fmt.Fprintf(&body, "The mediation session %q of %s has moved to %s (%s).\n", title, c.ID, when, durationText(s.Duration))
	default:
		subject = "Invitation: " + title + " — " + when
		fmt.Fprintf(&body, "You are invited to the mediation session %q of %s on %s (%s).\n", title, c.ID, when, durationText(s.Duration))
	}
	if s.Where != "" && method == casebot.MethodRequest {
		fmt.Fprintf(&body, "Where: %s\n", s.Where)
	}
	if len(s.Agenda) > 0 && method == casebot.MethodRequest {
		fmt.Fprintf(&body, "\nAgenda:\n%s", casebot.AgendaText(s.Agenda))
	}
	body.WriteString("\nThe attached calendar file adds it to your calendar. Reply to this email to write to the mediator.\n")
	var out []casebot.OutMessage
	for _, p := range c.Parties {
		if p.Bouncing || p.Email == "" {
			continue
		}
		ics, err := k.ICS(c, s, method, []casebot.Party{p})
		if err != nil {
			return nil, err
		}
		out = append(out, casebot.OutMessage{
			Key:  fmt.Sprintf("session/%s/%d/%d/%s/%s", c.ID, s.N, s.Sequence, strings.ToLower(method), p.Email),
			Kind: casebot.OutEmail, To: p.Email, ToName: cleanHeader(p.Name), CaseID: c.ID,
			Subject: Subject(c.ID, subject), Text: body.String(), MessageID: k.newMessageID(c.ID), Calendar: ics,
		})
	}
	return out, nil
}

// SessionReminder returns the parties' reminder email offset before
// session s of c (casebot.Composer): automatic mail to every party not
// bouncing, with the session's details in the practice's zone and a
// reference to its invitation. key is extended per recipient.
func (k *Composer) SessionReminder(c *casebot.Case, s casebot.Session, offset time.Duration, key string) ([]casebot.OutMessage, error) {
	loc := k.Loc
	if loc == nil {
		loc = time.UTC
	}
	subject := fmt.Sprintf("Reminder: %s on %s", s.Title, reminderTime(s.Start, loc))
	var b strings.Builder
	fmt.Fprintf(&b, "This is a reminder that your mediation session in %s (%s) starts in %s.\n\n", c.ID, c.Title, casebot.DurationWords(offset))
	fmt.Fprintf(&b, "Session:  %s\n", s.Title)
	fmt.Fprintf(&b, "When:     %s\n", reminderTime(s.Start, loc))
	fmt.Fprintf(&b, "Length:   %s\n", reminderLength(s.Duration))
	if s.Where != "" {
		fmt.Fprintf(&b, "Where:    %s\n", s.Where)
	}
	if len(s.Agenda) > 0 {
		fmt.Fprintf(&b, "\nAgenda:\n%s", casebot.AgendaText(s.Agenda))
	}
	fmt.Fprintf(&b, "\nCalendar invitation: %s. The invitation you received for this revision is current;\n", CalendarRef(c.ID, s))
	b.WriteString("if the session changes you will receive an updated invitation.\n\n")
	b.WriteString("You can reply to this email to reach your mediator.\n")
	return k.CaseMail(c, nil, subject, b.String(), true, key)
}

// CalendarRef names a session's calendar invitation as the parties' mail
// shows it: the case, the session number and the invitation's revision
// (iCalendar SEQUENCE).
func CalendarRef(caseID string, s casebot.Session) string {
	return fmt.Sprintf("%s session #%d, revision %d", caseID, s.N, s.Sequence)
}

// reminderTime shows a session's start in a reminder email.
func reminderTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// reminderLength shows a session's length in a reminder email: 2h,
// 1h30m, 45m.
func reminderLength(d time.Duration) string {
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return d.String()
	}
	return s
}

func durationText(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}

// SessionUID is the iCalendar UID of a session: stable across reschedules
// and the cancellation, so calendars update the one event.
func (k *Composer) SessionUID(caseID string, n int) string {
	return fmt.Sprintf("%s-session-%d@%s", strings.ToLower(caseID), n, k.Addr.Domain)
}

// ICS returns the iCalendar object (METHOD method) for a session, with
// the given attendees.
func (k *Composer) ICS(c *casebot.Case, s casebot.Session, method string, attendees []casebot.Party) ([]byte, error) {
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//casebot//mediation sessions//EN")
	cal.Props.SetText(ical.PropMethod, method)
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, k.SessionUID(c.ID, s.N))
	ev.Props.SetDateTime(ical.PropDateTimeStamp, now().UTC())
	ev.Props.SetDateTime(ical.PropDateTimeStart, s.Start.UTC())
	ev.Props.SetDateTime(ical.PropDateTimeEnd, s.End().UTC())
	seq := ical.NewProp(ical.PropSequence)
	seq.SetValueType(ical.ValueInt)
	seq.Value = strconv.Itoa(s.Sequence)
	ev.Props.Set(seq)
	ev.Props.SetText(ical.PropSummary, fmt.Sprintf("[%s] %s", c.ID, s.Title))
	if s.Where != "" {
		ev.Props.SetText(ical.PropLocation, s.Where)
	}
	if len(s.Agenda) > 0 {
		ev.Props.SetText(ical.PropDescription, "Agenda:\n"+casebot.AgendaText(s.Agenda))
	}
	if method == casebot.MethodCancel {
		ev.SetStatus(ical.EventCancelled)
	} else {
		ev.SetStatus(ical.EventConfirmed)
	}
	org := ical.NewProp(ical.PropOrganizer)
	org.Value = "mailto:" + k.Addr.From()
	if k.Addr.Name != "" {
		org.Params.Set(ical.ParamCommonName, k.Addr.Name)
	}
	ev.Props.Add(org)
	for _, p := range attendees {
		at := ical.NewProp(ical.PropAttendee)
		at.Value = "mailto:" + p.Email
		at.Params.Set(ical.ParamCommonName, cleanHeader(p.Name))
		at.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		ev.Props.Add(at)
	}
	cal.Children = append(cal.Children, ev.Component)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("mail: encode invitation: %w", err)
	}
	return buf.Bytes(), nil
}
