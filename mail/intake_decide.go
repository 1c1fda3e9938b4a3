package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/casebot/casebot"
)

// DedupeKey identifies a message for de-duplication across UIDs, UIDVALIDITY
// changes and re-deliveries: its Message-ID together with a hash of its
// body, so a re-delivered or re-numbered copy is recognised while two
// different messages that reuse one Message-ID are both kept. Without a
// Message-ID the sender, date and subject stand in for it; without a
// parsed message, the raw bytes.
func DedupeKey(m *Message, raw []byte) string {
	// The bytes hashed are fixed: stores keep these keys.
	var sum [sha256.Size]byte
	switch {
	case m == nil:
		h := sha256.New()
		h.Write([]byte("raw\x00"))
		h.Write(raw)
		h.Sum(sum[:0])
	case m.MessageID != "":
		b := make([]byte, 0, 128)
		b = append(append(append(append(b, "id\x00"...), m.MessageID...), 0), m.BodySHA256...)
		sum = sha256.Sum256(withAttachments(b, m))
	default:
		b := make([]byte, 0, 192)
		b = append(append(append(b, "noid\x00"...), m.From...), 0)
		b = append(strconv.AppendInt(b, m.Date.Unix(), 10), 0)
		b = append(append(append(b, m.Subject...), 0), m.BodySHA256...)
		sum = sha256.Sum256(withAttachments(b, m))
	}
	var out [3 + 2*sha256.Size]byte
	copy(out[:], "m1:")
	hex.Encode(out[3:], sum[:])
	return string(out[:])
}

// withAttachments appends the SHA-256 of each attachment to a key's bytes,
// so two messages that share a Message-ID and text but carry different
// files are both kept. A message without attachments hashes exactly the
// bytes it always has.
func withAttachments(b []byte, m *Message) []byte {
	if len(m.Attachments) == 0 {
		return b
	}
	b = append(b, "\x00att"...)
	for _, a := range m.Attachments {
		b = append(append(b, 0), a.SHA256...)
	}
	return b
}

// Decide turns one fetched message into what the store should do with it
// (SPEC §6): auto-replies are skipped, permanent bounces flag the address,
// unreadable mail, mail that matches no case and mail from someone who is
// not a party of the matched case go to quarantine; the rest becomes a
// note. parseErr is Parse's error; raw is the message as fetched (a prefix
// for an oversize one). It returns an error only when the store fails.
func (a Addressing) Decide(ctx context.Context, lk Lookup, uid uint32, m *Message, parseErr error, raw []byte) (casebot.MailItem, error) {
	it := casebot.MailItem{UID: uid, DedupeKey: DedupeKey(m, raw)}
	if m == nil {
		it.Quarantine = &casebot.Quarantined{Reason: reasonOf(parseErr), Subject: "(unreadable)", Body: fixUTF8(head(raw, 4096)),
			Email: &casebot.EmailMeta{Raw: raw}}
		return it, nil
	}
	if m.Auto && parseErr == nil {
		if b := m.Bounce; b != nil && b.Permanent && len(b.Recipients) > 0 {
			it.Bounce = b.Recipients
			if b.OriginalMessageID != "" {
				id, err := lk.CaseForMessageID(ctx, b.OriginalMessageID)
				switch {
				case err == nil:
					it.BounceCase = id
				case casebot.ErrorCode(err) != casebot.ENOTFOUND:
					return it, err
				}
			}
			return it, nil
		}
		it.Skip = "automatic mail: " + m.AutoReason
		return it, nil
	}
	meta := &casebot.EmailMeta{From: m.From, FromName: m.FromName, Subject: m.Subject, MessageID: m.MessageID, Date: m.Date,
		FullText: m.Text, Raw: raw, Attachments: m.Attachments}
	body := strings.TrimSpace(m.Reply)
	if body == "" {
		body = strings.TrimSpace(m.Text)
	}
	quarantine := func(reason, caseID string) casebot.MailItem {
		it.Quarantine = &casebot.Quarantined{Reason: reason, From: m.From, FromName: m.FromName, Subject: m.Subject,
			MessageID: m.MessageID, Date: m.Date, CaseID: caseID, Body: body, Email: meta}
		return it
	}
	c, _, err := a.Match(ctx, lk, m)
	if err != nil {
		return it, err
	}
	caseID := ""
	if c != nil {
		caseID = c.ID
	}
	switch {
	case parseErr != nil:
		return quarantine(reasonOf(parseErr), caseID), nil
	case m.Auto:
		// Automatic mail that was also unreadable is quarantined above.
		it.Skip = "automatic mail: " + m.AutoReason
		return it, nil
	case c == nil:
		return quarantine("matched no case", ""), nil
	case m.From == "" || c.Party(m.From) < 0:
		return quarantine(fmt.Sprintf("sender %s is not a party of %s", orNone(m.From), c.ID), c.ID), nil
	}
	it.Note = &casebot.Note{CaseID: c.ID, Author: m.From, Source: casebot.SourceEmail, Body: body, Email: meta}
	return it, nil
}

func reasonOf(err error) string {
	var pe *ParseError
	if errors.As(err, &pe) {
		return "unreadable: " + pe.Reason
	}
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return "unreadable"
}

func orNone(s string) string {
	if s == "" {
		return "(no sender)"
	}
	return s
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// NoteNotice is the Slack direct message to a case's mediator about a new
// party note: sender, case and the first lines; the rest behind "Show case".
func NoteNotice(c *casebot.Case, n *casebot.Note) casebot.OutMessage {
	from, subject := noteSender(n)
	// Written piece by piece into one buffer: it is built on the intake's
	// single writer goroutine, once for every stored note.
	var b strings.Builder
	b.Grow(64 + len(from) + len(c.ID) + len(c.Title) + len(subject) + min(len(n.Body), 320))
	for _, p := range [...]string{"New email from ", from, " on ", c.ID, " (", c.Title, "), note #", strconv.Itoa(n.N)} {
		b.WriteString(p)
	}
	if subject != "" {
		b.WriteString("\nSubject: ")
		b.WriteString(subject)
	}
	if fl := firstLines(n.Body, 3, 300); fl != "" {
		for rest := fl; ; {
			line, tail, more := strings.Cut(rest, "\n")
			b.WriteString("\n> ")
			b.WriteString(line)
			if !more {
				break
			}
			rest = tail
		}
	}
	return casebot.OutMessage{
		Key: "email-note/" + c.ID + "/" + strconv.Itoa(n.N), Kind: casebot.OutSlack, To: c.Mediator, CaseID: c.ID, Text: b.String(),
		Buttons: []casebot.Button{{ActionID: casebot.ActionShowCase, Label: "Show case", Value: c.ID}},
	}
}

// noteSender returns who sent an email note ("Name <address>") and its
// subject.
func noteSender(n *casebot.Note) (from, subject string) {
	from = n.Author
	if n.Email != nil {
		if n.Email.FromName != "" {
			from = n.Email.FromName + " <" + n.Author + ">"
		}
		subject = n.Email.Subject
	}
	return from, subject
}

// BounceNotice is the mediator's Slack notice that mail to a party bounces.
func BounceNotice(c *casebot.Case, p casebot.Party, reason string) casebot.OutMessage {
	return casebot.OutMessage{
		Key:  fmt.Sprintf("bounce/%s/%s/%d", c.ID, p.Email, time.Now().UnixNano()),
		Kind: casebot.OutSlack, To: c.Mediator, CaseID: c.ID,
		Text: fmt.Sprintf("Mail to %s (%s, %s) bounces: %s. No more mail goes to this address until it is corrected.",
			p.Email, p.Role, c.ID, reason),
		Buttons: []casebot.Button{{ActionID: casebot.ActionShowCase, Label: "Show case", Value: c.ID}},
	}
}

// firstLines returns up to n non-blank lines of s, at most max bytes.
func firstLines(s string, n, max int) string {
	var out []string
	for rest := s; rest != ""; {
		l, tail, _ := strings.Cut(rest, "\n")
		rest = tail
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		out = append(out, l)
		if len(out) == n {
			break
		}
	}
	r := strings.Join(out, "\n")
	if len(r) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(r[cut]) {
			cut--
		}
		r = r[:cut] + "…"
	} else if len(out) == n && len(strings.TrimSpace(s)) > len(r) {
		r += "\n…"
	}
	return r
}
