package mail

import (
	"fmt"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

// DocumentRequest returns the email asking the parties of c with role for
// a document, what, by due (casebot.Composer): one message per party of
// that role not bouncing, as CaseMail builds them (subject tag, threading,
// the case's reply address at send time), with the due time in the
// practice's zone. key is extended per recipient.
func (k *Composer) DocumentRequest(c *casebot.Case, role casebot.Role, due time.Time, what, key string) ([]casebot.OutMessage, error) {
	loc := k.Loc
	if loc == nil {
		loc = time.UTC
	}
	when := due.In(loc).Format("Monday 2 January 2006, 15:04 MST")
	subject := fmt.Sprintf("Document requested by %s: %s", due.In(loc).Format("2 Jan 2006"), casebot.Headline(what))
	var b strings.Builder
	fmt.Fprintf(&b, "In the mediation %s (%s), your mediator asks you to send the following document by %s:\n\n", c.ID, c.Title, when)
	fmt.Fprintf(&b, "    %s\n\n", strings.ReplaceAll(strings.TrimSpace(what), "\n", "\n    "))
	b.WriteString("Please reply to this email with the document attached. Files attached to your reply are filed with the case,\n")
	b.WriteString("and your mediator is told when it arrives.\n")
	return k.CaseMail(c, []casebot.Role{role}, subject, b.String(), false, key)
}
