// Package soak holds the whole-daemon soak test: the real casebot binary on
// loopback with in-process IMAP, SMTP and Slack test servers, 64 signed
// Slack clients, 5,000 party emails, reminders falling due and repeated
// SIGKILLs, followed by an exactly-once audit of the store and of what the
// test servers received. It runs only with CASEBOT_SOAK=1 (.ci/run sets it),
// on an encrypted bbolt store (TestSoak/bbolt: the kills also fall on the
// keyring file's appends) and, when CASEBOT_POSTGRES_URL is set, again
// on PostgreSQL in a database of its own (TestSoak/postgres), where
// `casebot backup` writes a bbolt file that must pass the same checks:
//
//	CASEBOT_SOAK=1 go test -run TestSoak -count=1 -timeout 15m -v ./soak/
//	CASEBOT_SOAK=1 CASEBOT_POSTGRES_URL=postgres://… go test -run 'TestSoak/postgres' -count=1 -timeout 15m -v ./soak/
//
// The package has no non-test code.
package soak
