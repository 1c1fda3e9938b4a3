package bot

import (
	"regexp"
	"strings"

	"github.com/casebot/casebot"
)

var (
	caseIDRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[0-9]{4}-[0-9]{4,}$`)
	numberRe = regexp.MustCompile(`^[0-9]{1,9}$`)
)

// ButtonText returns the command text a press of one of casebot's buttons
// (casebot.Action*) stands for, so a transport runs it through the one
// runner like a typed command, with the same access rules: a press by
// someone who may not act on the case is refused like the command. It
// returns false for an unknown action or a malformed value.
func ButtonText(actionID, value string) (string, bool) {
	a, b, cut := strings.Cut(value, "/")
	switch actionID {
	case casebot.ActionShowCase: // value: case ID
		if value != "" && !strings.ContainsAny(value, " \t\n") {
			return "show " + value, true
		}
	case casebot.ActionDeadlineDone: // value: "<ID>/<deadline#>"
		if cut && a != "" && !strings.ContainsAny(a, " \t\n") && numberRe.MatchString(b) {
			return "done " + a + " " + b, true
		}
	case casebot.ActionMailAccept: // value: "17/MED-2026-0042"
		if numberRe.MatchString(a) && caseIDRe.MatchString(b) {
			return "accept " + a + " " + b, true
		}
	case casebot.ActionMailReject: // value: "17"
		if numberRe.MatchString(a) && !cut {
			return "reject " + a, true
		}
	case casebot.ActionListCases: // value: "mine"
		if value == "mine" {
			return "list mine", true
		}
	case casebot.ActionListPage: // value: "all/2"
		if listChoices[a] && numberRe.MatchString(b) {
			return "list " + a + " page " + b, true
		}
	}
	return "", false
}

// ButtonText is the function ButtonText as a method, so that a transport
// can ask the Bot it is handed what a button press stands for.
func (b *Bot) ButtonText(actionID, value string) (string, bool) { return ButtonText(actionID, value) }
