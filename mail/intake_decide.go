package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
