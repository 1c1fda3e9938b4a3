package pgurl

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"casebot.db", "casebot.db"},
		{"/var/lib/casebot/casebot.db", "/var/lib/casebot/casebot.db"},
		{"postgres://app:s3cret@db:5432/casebot", "postgres://app:xxxxx@db:5432/casebot"},
		{"postgresql://db/casebot?password=s3cret&sslmode=disable", "postgresql://db/casebot?password=xxxxx&sslmode=disable"},
		{"postgres://app:s3cret@db:5432/%zz", hidden},
		{"host=db password=s3cret", hidden},
	} {
		got := Redact(tt.in)
		if got != tt.want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !Is("postgres://x") || !Is("postgresql://x") || Is("casebot.db") || Is("mysql://x") {
		t.Error("Is misjudges a location")
	}
}
