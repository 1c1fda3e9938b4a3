package casebot

// Reply is a command's answer, free of any transport. Text is plain text
// with user content exactly as typed; a transport escapes it for its medium.
type Reply struct {
	Text string
	// Err is non-nil when the command was refused (usage, validation,
	// permission, unknown case); Text then says why and shows the usage.
	Err error
	// Buttons offered with the reply (Slack renders them; `do` ignores them).
	Buttons []Button
}
