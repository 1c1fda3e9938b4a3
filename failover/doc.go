// Package failover holds the end-to-end tests of several casebot
// instances on one PostgreSQL database (SPEC §11): the real binary, three
// `casebot serve` processes, the in-process IMAP and Slack test servers,
// leaders killed with SIGKILL or frozen with SIGSTOP, then an
// exactly-once audit of the store and of what Slack received. They run
// only with CASEBOT_POSTGRES_URL (each test makes its own database):
//
//	CASEBOT_POSTGRES_URL=postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable \
//	  go test -count=1 -timeout 15m -v ./failover/
//
// The package has no non-test code.
package failover
