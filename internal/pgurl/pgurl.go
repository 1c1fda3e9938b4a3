// Package pgurl recognises PostgreSQL store URLs and shows them without
// their password: the one place config, store, its engine and the command
// line ask either question.
package pgurl

import (
	"net/url"
	"strings"
)

// hidden stands for a location Redact does not show.
const hidden = "(not a URL; not shown)"

// Is reports whether s is a PostgreSQL URL (postgres:// or postgresql://)
// rather than a file path.
func Is(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns s fit for logs and messages: a file path as it is, a URL
// with its password (in the user info or a password= parameter) replaced,
// and anything else that may hold a password (a URL that does not parse,
// a "host=… password=…" connection string) not at all.
func Redact(s string) string {
	if !Is(s) && !strings.Contains(s, "://") && !strings.Contains(strings.ToLower(s), "password") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return hidden
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
