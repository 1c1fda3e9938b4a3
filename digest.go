package casebot

import (
	"context"
	"time"
)

// DigestService builds a user's digest on demand: the digest command shows
// what the daily digest would send. A nil DigestService means digests are
// off.
type DigestService interface {
	// DigestNow returns user's digest at now as text, counting party emails
	// since their last digest. It changes nothing; it returns the store's
	// error when the digest cannot be read.
	DigestNow(ctx context.Context, user string, now time.Time) (string, error)
}
