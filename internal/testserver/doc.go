// Package testserver holds in-process fakes of the services casebot talks
// to, for tests only: a Slack Web API with a response_url endpoint, an SMTP
// sink, an IMAP server with one mailbox, and helpers that sign slash
// commands the way Slack does. Every server listens on 127.0.0.1 and is
// closed by tb.Cleanup.
//
// It lives under internal/ so that only casebot's own tests can import it;
// no production code should.
package testserver
