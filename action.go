package casebot

// Action IDs of the buttons offered with replies and notices
// (Button.ActionID). The bot turns a press back into the command it stands
// for, so a press is checked like that command. Slack echoes these strings
// back, also for messages sent before an upgrade: never change them.
const (
	ActionShowCase     = "show_case"     // value: case ID; "show <ID>"
	ActionDeadlineDone = "deadline_done" // value: "<ID>/<deadline#>"; "done <ID> <n>"
	ActionMailAccept   = "mail_accept"   // value: "17/MED-2026-0042"; "accept 17 MED-2026-0042"
	ActionMailReject   = "mail_reject"   // value: "17"; "reject 17"
)
