package casebot

import (
	"strings"
	"testing"
)

func TestParseEnums(t *testing.T) {
	tests := []struct {
		name    string
		parse   func(string) (string, error)
		in      string
		want    string
		wantErr string
	}{
		{"status", func(s string) (string, error) { v, err := ParseStatus(s); return string(v), err }, "Settled", "settled", ""},
		{"priority", func(s string) (string, error) { v, err := ParsePriority(s); return string(v), err }, "URGENT", "urgent", ""},
		{"role", func(s string) (string, error) { v, err := ParseRole(s); return string(v), err }, "counsel", "counsel", ""},
		{"bad status", func(s string) (string, error) { v, err := ParseStatus(s); return string(v), err }, "done", "",
			`"done" is not a status; use one of intake, scheduled, active, settled, partial, impasse, withdrawn.`},
		{"bad priority", func(s string) (string, error) { v, err := ParsePriority(s); return string(v), err }, "asap", "",
			`"asap" is not a priority; use one of low, normal, high, urgent.`},
		{"bad role", func(s string) (string, error) { v, err := ParseRole(s); return string(v), err }, "judge", "",
			`"judge" is not a role; use one of claimant, respondent, counsel, interpreter, observer, other.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.wantErr != "" {
				if ErrorCode(err) != EINVALID || ErrorMessage(err) != tt.wantErr {
					t.Fatalf("error %v (%s), want %s %q", err, ErrorCode(err), EINVALID, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestLengthLimits checks that Validate applies each limit through
// CheckLength, which the command parser calls with the same constants: what
// the parser accepts Validate accepts, and both refuse with one message.
func TestLengthLimits(t *testing.T) {
	tests := []struct {
		name  string
		set   func(c *Case, v string)
		limit int
	}{
		{"title", func(c *Case, v string) { c.Title = v }, MaxTitleLen},
		{"type", func(c *Case, v string) { c.Type = v }, MaxTypeLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{tt.limit, tt.limit + 1} {
				c := Case{Title: "Lease", Mediator: "U1", Priority: PriorityNormal, Status: StatusIntake}
				v := strings.Repeat("é", n)
				tt.set(&c, v)
				got, want := c.Validate(), CheckLength(tt.name, v, tt.limit)
				if (got == nil) != (want == nil) || ErrorMessage(got) != ErrorMessage(want) {
					t.Errorf("%d characters: Validate = %v, CheckLength = %v", n, got, want)
				}
				if wantOK := n <= tt.limit; (want == nil) != wantOK {
					t.Errorf("%d characters: CheckLength = %v, want accepted %v", n, want, wantOK)
				}
			}
		})
	}
	p := Party{Role: RoleClaimant, Name: strings.Repeat("n", MaxNameLen+1), Email: "a@x.example"}
	if got, want := ErrorMessage(p.Validate()), "The name is 201 characters; at most 200 are allowed."; got != want {
		t.Errorf("Party.Validate = %q, want %q", got, want)
	}
	if got, want := ErrorMessage(ValidateText("note", strings.Repeat("x", MaxTextLen+1))), "The note is 10001 characters; at most 10000 are allowed."; got != want {
		t.Errorf("ValidateText = %q, want %q", got, want)
	}
}
