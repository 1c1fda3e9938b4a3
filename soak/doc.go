// Package soak holds the whole-daemon soak test: the real casebot binary on
// loopback with in-process IMAP, SMTP and Slack test servers, 64 signed
// Slack clients, 5,000 party emails, reminders falling due and repeated
// SIGKILLs, followed by an exactly-once audit of the store and of what the
// test servers received. It runs only with CASEBOT_SOAK=1 (.ci/run sets it):
//
//	CASEBOT_SOAK=1 go test -run TestSoak -count=1 -timeout 15m -v ./soak/
//
// The package has no non-test code.
package soak
