package bot

import (
	"regexp"
	"strings"
)

// Button action IDs for quarantined mail (show_case and deadline_done are in
// commands.go). Each press runs the command it stands for through the
// command table, so a press by someone who may not act on the case is
// refused like the command.
const (
	ActionMailAccept = "mail_accept" // value "17/MED-2026-0042": accept 17 MED-2026-0042
	ActionMailReject = "mail_reject" // value "17": reject 17
)

var (
	caseIDRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[0-9]{4}-[0-9]{4,}$`)
	numberRe = regexp.MustCompile(`^[0-9]{1,9}$`)
)

// ButtonText returns the command text a press of any of casebot's buttons
// stands for (those of ActionText and the quarantine buttons), so a
// transport runs it like a typed command. It returns false for an unknown
// action or a malformed value.
func ButtonText(actionID, value string) (string, bool) {
	if text, ok := ActionText(actionID, value); ok {
		return text, true
	}
	a, b, _ := strings.Cut(value, "/")
	switch actionID {
	case ActionMailAccept:
		if numberRe.MatchString(a) && caseIDRe.MatchString(b) {
			return "accept " + a + " " + b, true
		}
	case ActionMailReject:
		if numberRe.MatchString(a) && b == "" {
			return "reject " + a, true
		}
	}
	return "", false
}

// ButtonText is the function ButtonText as a method, so that a transport
// can ask the Bot it is handed what a button press stands for.
func (b *Bot) ButtonText(actionID, value string) (string, bool) { return ButtonText(actionID, value) }
