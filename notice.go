package casebot

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// NoticeKind says what a Notice is about. The values are stored in the
// outbox: never renumber them, only add.
type NoticeKind uint8

// Notice kinds.
const (
	// NoticeEmailNote tells a mediator of a party's email filed as a note.
	NoticeEmailNote NoticeKind = iota + 1
	// NoticeBounce tells a mediator that mail to a party bounces.
	NoticeBounce
	// NoticeDeadlineReminder reminds a mediator of a deadline ahead.
	NoticeDeadlineReminder
	// NoticeOverdue tells a mediator, daily, of a deadline past due.
	NoticeOverdue
	// NoticeSessionReminder reminds a mediator of a session ahead.
	NoticeSessionReminder
	// NoticeDigest is a user's daily digest.
	NoticeDigest
	// NoticePollAnswer tells a mediator of a party's answer to the case's
	// poll, with the running tally; or that a reply needs a look.
	NoticePollAnswer
)

// Notice is a message to a person about the domain, as values: what
// happened, not how it reads. The scheduler and intake build notices with
// the constructors below, the outbox carries them (OutMessage.Notice), and
// the adapter of each channel renders them in its words when it sends.
// Which fields are set depends on Kind.
type Notice struct {
	Kind NoticeKind
	// CaseID and CaseTitle name the case; empty for a digest.
	CaseID    string
	CaseTitle string
	// Zone is the IANA name of the reader's zone that times are shown in
	// ("" is UTC).
	Zone string
	// N is the number of the note, deadline or session.
	N int

	// From ("Name <address>" or the address), Subject and Excerpt (its
	// first lines) describe a party's email note.
	From    string
	Subject string
	Excerpt string

	// Party, Role and Reason describe a bounce: the address, the party's
	// role and what the mail server said.
	Party  string
	Role   Role
	Reason string

	// At is a deadline's due time or a session's start.
	At time.Time
	// Text is a deadline's text, or a session's agenda (AgendaText).
	Text string
	// Title, Duration and Where describe a session.
	Title    string
	Duration time.Duration
	Where    string
	// Offset is how long before At a reminder is sent.
	Offset time.Duration
	// DaysOverdue counts the days since an overdue deadline fell due (0 on
	// the day itself).
	DaysOverdue int

	// Digest is a digest's content.
	Digest *Digest
	// Poll is a poll's tally after a party's answer (NoticePollAnswer).
	// Reason then says why the reply was not read as an answer ("" when it
	// was), Party and From name the party, N is the note and Excerpt its
	// first lines.
	Poll *PollTally

	// Met are the document requests a party's email note met by itself
	// (see Deadline.MeetsRequest), oldest first.
	Met []DeadlineMet
}

// DeadlineMet names a deadline in a notice: its number and text.
type DeadlineMet struct {
	N    int
	Text string
}

// noticeMessage is notice n as a Slack direct message to user to.
func noticeMessage(key, to string, n *Notice) OutMessage {
	return OutMessage{Key: key, Kind: OutSlack, To: to, CaseID: n.CaseID, Notice: n}
}

// EmailNoteNotice is the Slack direct message to a case's mediator about
// a new party note n of c (SPEC §6: one per note): the sender, the subject
// and the first lines, and the document requests of c the note met. Its key, "email-note/<case>/<n>", makes it
// idempotent in the outbox.
func EmailNoteNotice(c *Case, n *Note) OutMessage {
	// Built for every stored email note: few allocations.
	nt := &Notice{Kind: NoticeEmailNote, CaseID: c.ID, CaseTitle: c.Title, N: n.N, From: n.Author, Excerpt: firstLines(n.Body, 3, 300)}
	if n.Email != nil {
		if n.Email.FromName != "" {
			nt.From = n.Email.FromName + " <" + n.Author + ">"
		}
		nt.Subject = n.Email.Subject
	}
	for _, d := range c.Deadlines {
		if d.Met && d.MetNote == n.N {
			nt.Met = append(nt.Met, DeadlineMet{N: d.N, Text: d.Text})
		}
	}
	return noticeMessage("email-note/"+c.ID+"/"+strconv.Itoa(n.N), c.Mediator, nt)
}

// BounceNotice is the mediator's notice that mail to party p of c bounces
// (SPEC §6), for a bounce found at at.
func BounceNotice(c *Case, p Party, reason string, at time.Time) OutMessage {
	key := "bounce/" + c.ID + "/" + p.Email + "/" + strconv.FormatInt(at.UnixNano(), 10)
	return noticeMessage(key, c.Mediator, &Notice{Kind: NoticeBounce, CaseID: c.ID, CaseTitle: c.Title, Party: p.Email, Role: p.Role, Reason: reason})
}

// DeadlineReminderNotice is the mediator's reminder offset before the
// deadline r, with times in loc. key makes it idempotent in the outbox.
func DeadlineReminderNotice(r DeadlineRef, offset time.Duration, key string, loc *time.Location) OutMessage {
	d := r.Deadline
	return noticeMessage(key, r.Mediator, &Notice{Kind: NoticeDeadlineReminder, CaseID: r.CaseID, CaseTitle: r.Title, Zone: loc.String(),
		N: d.N, At: d.Due, Text: d.Text, Offset: offset})
}

// OverdueNotice is the mediator's daily notice that deadline r is past due
// and unmet, days days after it fell due, with times in loc.
func OverdueNotice(r DeadlineRef, days int, key string, loc *time.Location) OutMessage {
	d := r.Deadline
	return noticeMessage(key, r.Mediator, &Notice{Kind: NoticeOverdue, CaseID: r.CaseID, CaseTitle: r.Title, Zone: loc.String(),
		N: d.N, At: d.Due, Text: d.Text, DaysOverdue: days})
}

// SessionReminderNotice is the mediator's reminder offset before the
// session r, with times in loc.
func SessionReminderNotice(r SessionRef, offset time.Duration, key string, loc *time.Location) OutMessage {
	s := r.Session
	return noticeMessage(key, r.Mediator, &Notice{Kind: NoticeSessionReminder, CaseID: r.CaseID, CaseTitle: r.Title, Zone: loc.String(),
		N: s.N, At: s.Start, Title: s.Title, Duration: s.Duration, Where: s.Where, Offset: offset, Text: AgendaText(s.Agenda)})
}

// DigestNotice is d as the daily digest message to its user.
func DigestNotice(d *Digest, key string) OutMessage {
	return noticeMessage(key, d.User, &Notice{Kind: NoticeDigest, Zone: d.Zone, Digest: d})
}

// firstLines returns up to n non-blank lines of s, trimmed, at most max
// bytes (cut with "…"); "\n…" follows when s goes on after them.
func firstLines(s string, n, max int) string {
	// One buffer on the stack, no slice of lines: this runs once for every
	// email note, and allocates only the result.
	var buf [512]byte
	b := buf[:0]
	lines := 0
	for rest := s; rest != "" && lines < n; {
		l, tail, _ := strings.Cut(rest, "\n")
		rest = tail
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if lines > 0 {
			b = append(b, '\n')
		}
		b = append(b, l...)
		lines++
	}
	if len(b) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		return string(append(b[:cut], "…"...))
	}
	if lines == n && len(strings.TrimSpace(s)) > len(b) {
		b = append(b, "\n…"...)
	}
	return string(b)
}

// PollAnswerNotices are the notices to c's mediator and co-mediators of
// party p's reply (note n) to the case's poll: the running tally, or when
// problem is set, why the reply was not read as an answer.
func PollAnswerNotices(c *Case, p Party, n *Note, problem string) []OutMessage {
	nt := &Notice{Kind: NoticePollAnswer, CaseID: c.ID, CaseTitle: c.Title, N: n.N, Party: p.Email, From: p.Name,
		Excerpt: firstLines(n.Body, 3, 300), Reason: problem}
	if c.Poll != nil {
		nt.Poll = c.Poll.Tally(c)
	}
	if c.Mediator == "" {
		return nil
	}
	return ToMediators(c, noticeMessage("poll-answer/"+c.ID+"/"+strconv.Itoa(n.N), c.Mediator, nt))
}
