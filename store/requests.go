package store

import (
	"fmt"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// meetRequestsTx meets the document requests of c (an edited copy, written
// by the caller) that email note n answers: each kept document the note
// filed (docs, the "doc.add" events noteDocumentsTx returned) meets the
// unmet request to the sender's role due first that was made before the
// email reached casebot (arrived), one request per document. It returns
// the "deadline.done" events, naming the document, for the caller to
// record after the documents' own; the notice of the note names the met
// deadlines (casebot.EmailNoteNotice reads Deadline.MetNote).
func (db *DB) meetRequestsTx(tx kv.Tx, c *casebot.Case, n *casebot.Note, docs []casebot.AuditEvent, arrived, now time.Time) ([]casebot.AuditEvent, error) {
	open := false
	for _, d := range c.Deadlines {
		open = open || (d.Request() && !d.Met)
	}
	i := c.Party(n.Author)
	if !open || i < 0 {
		return nil, nil
	}
	role := c.Parties[i].Role
	var evs []casebot.AuditEvent
	done := map[int]bool{}
	for _, ev := range docs {
		num := ev.About.N
		if ev.Action != "doc.add" || done[num] {
			continue
		}
		done[num] = true
		key := numberedKey(c.ID, num)
		h, _, err := decodeDocHeader(key, tx.Bucket(bucketDocMeta).Get(key))
		if err != nil {
			return nil, err
		}
		if !h.kept {
			continue // listed "not kept": nothing the mediator can open
		}
		j := -1
		for k, d := range c.Deadlines {
			if d.MeetsRequest(role, arrived) && (j < 0 || d.Due.Before(c.Deadlines[j].Due)) {
				j = k
			}
		}
		if j < 0 {
			break
		}
		d := &c.Deadlines[j]
		d.Met, d.MetAt, d.MetBy, d.MetNote, d.MetDoc = true, now, n.Author, n.N, num
		evs = append(evs, casebot.AuditEvent{CaseID: c.ID, At: now, Actor: n.Author, Action: "deadline.done",
			Detail: fmt.Sprintf("met by document #%d %s", num, ev.About.Text),
			About:  casebot.About{N: d.N, When: d.Due, Who: n.Author, Text: casebot.Headline(d.Text)}})
	}
	return evs, nil
}
