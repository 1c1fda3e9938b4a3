package bot

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

var (
	testNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday
	testLoc = time.FixedZone("CET", 3600)
)

// parse reads text the way Run does, without running it.
func parse(t *testing.T, text string) (string, Args, error) {
	t.Helper()
	b := New(Config{})
	toks, err := tokenize(text)
	if err != nil {
		return "", Args{}, err
	}
	cands, rest, err := b.lookup(toks)
	if err != nil {
		return "", Args{}, err
	}
	cmd, a, err := choose(cands, rest, testNow, testLoc)
	return cmd.Name(), a, err
}

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, testLoc)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseCommands(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name string
		text string
		cmd  string
		want Args
	}{
		{"help", "help", "help", Args{}},
		{"help command", "HELP Party add", "help", Args{Text: "Party add", Words: []string{"Party", "add"}}},
		{"new", "new Smith v Jones", "new", Args{Text: "Smith v Jones", Words: []string{"Smith", "v", "Jones"}}},
		{"new with flags anywhere", `new --priority URGENT Smith --type family v "Jones" --mediator <@U0B2|bob>`, "new", Args{
			Text: `Smith v "Jones"`, Words: []string{"Smith", "v", "Jones"}, Priority: casebot.PriorityUrgent, Mediator: "U0B2",
			Flags: map[string]string{"priority": "URGENT", "type": "family", "mediator": "<@U0B2|bob>"},
		}},
		{"new quoted title", `new “Smith v Jones”`, "new", Args{Text: "Smith v Jones", Words: []string{"Smith v Jones"}}},
		{"new mrkdwn kept", "new <!channel> *bold*  _it_", "new", Args{Text: "<!channel> *bold*  _it_", Words: []string{"<!channel>", "*bold*", "_it_"}}},
		{"new flag value with =", "new X --priority=low", "new", Args{Text: "X", Words: []string{"X"}, Priority: casebot.PriorityLow, Flags: map[string]string{"priority": "low"}}},
		{"new -- ends options", "new Fees -- --type", "new", Args{Text: "Fees --type", Words: []string{"Fees", "--type"}}},
		{"new title of 200", "new " + long, "new", Args{Text: long, Words: []string{long}}},
		{"list", "list", "list", Args{}},
		{"list overdue", "list Overdue", "list", Args{Word: "overdue"}},
		{"list all page", "list all page 2", "list", Args{Word: "all", Page: 2}},
		{"list page", "list Page 3", "list", Args{Page: 3}},
		{"show", "show med-2026-0001", "show", Args{ID: "MED-2026-0001"}},
		{"party add", "party add MED-2026-0001 Claimant John  Smith <mailto:J@X.example|J@X.example>", "party add", Args{
			ID: "MED-2026-0001", Role: casebot.RoleClaimant, Name: "John  Smith", Email: "j@x.example", Words: []string{"John", "Smith"}}},
		{"party add quoted name", `party add MED-2026-0001 counsel "Smith, John" j@x.example`, "party add", Args{
			ID: "MED-2026-0001", Role: casebot.RoleCounsel, Name: "Smith, John", Email: "j@x.example", Words: []string{"Smith, John"}}},
		{"party remove", "party remove MED-2026-0001 j@x.example", "party remove", Args{ID: "MED-2026-0001", Email: "j@x.example"}},
		{"assign user", "assign MED-2026-0001 <@U0B2>", "assign", Args{ID: "MED-2026-0001", User: "U0B2"}},
		{"assign bare user", "assign MED-2026-0001 W0B2", "assign", Args{ID: "MED-2026-0001", User: "W0B2"}},
		{"assign auto", "assign MED-2026-0001 AUTO", "assign", Args{ID: "MED-2026-0001", User: "auto"}},
		{"conflicts name", "conflicts John Smith", "conflicts", Args{Text: "John Smith", Words: []string{"John", "Smith"}}},
		{"conflicts email", "conflicts <mailto:j@x.example|j@x.example>", "conflicts", Args{
			Text: "<mailto:j@x.example|j@x.example>", Words: []string{"<mailto:j@x.example|j@x.example>"}}},
		{"deadline date", "deadline MED-2026-0001 2026-12-01 Position papers", "deadline", Args{
			ID: "MED-2026-0001", When: at("2026-12-01 09:00"), Text: "Position papers", Words: []string{"Position", "papers"}}},
		{"deadline date and time unquoted", "deadline MED-2026-0001 2026-12-01 14:30 Papers", "deadline", Args{
			ID: "MED-2026-0001", When: at("2026-12-01 14:30"), Text: "Papers", Words: []string{"Papers"}}},
		{"deadline relative", "deadline MED-2026-0001 +10d Papers", "deadline", Args{
			ID: "MED-2026-0001", When: testNow.In(testLoc).AddDate(0, 0, 10), Text: "Papers", Words: []string{"Papers"}}},
		{"deadline hours", "deadline MED-2026-0001 +3h Call", "deadline", Args{
			ID: "MED-2026-0001", When: testNow.Add(3 * time.Hour), Text: "Call", Words: []string{"Call"}}},
		{"deadline business days", "deadline MED-2026-0001 +5bd Call", "deadline", Args{
			ID: "MED-2026-0001", When: at("2026-03-09 11:00"), Text: "Call", Words: []string{"Call"}}},
		{"done", "done MED-2026-0001 #2", "done", Args{ID: "MED-2026-0001", N: 2}},
		{"session", `session MED-2026-0001 "2026-12-01 14:30" 2h Opening session --where “Room 4”`, "session", Args{
			ID: "MED-2026-0001", When: at("2026-12-01 14:30"), Duration: 2 * time.Hour, Text: "Opening session",
			Words: []string{"Opening", "session"}, Flags: map[string]string{"where": "Room 4"}}},
		{"session unquoted time", "session MED-2026-0001 2026-12-01 9:00 90m Opening", "session", Args{
			ID: "MED-2026-0001", When: at("2026-12-01 09:00"), Duration: 90 * time.Minute, Text: "Opening", Words: []string{"Opening"}}},
		{"note", "note MED-2026-0001 Called <!here> back", "note", Args{ID: "MED-2026-0001", Text: "Called <!here> back", Words: []string{"Called", "<!here>", "back"}}},
		{"note keeps lines", "note MED-2026-0001 First line\n\n  second  line", "note", Args{
			ID: "MED-2026-0001", Text: "First line\n\n  second  line", Words: []string{"First", "line", "second", "line"}}},
		{"note private", "note MED-2026-0001 --private Offer 5k", "note", Args{
			ID: "MED-2026-0001", Text: "Offer 5k", Words: []string{"Offer", "5k"}, Flags: map[string]string{"private": ""}}},
		{"email", "email MED-2026-0001 --to respondent Please confirm", "email", Args{
			ID: "MED-2026-0001", To: casebot.RoleRespondent, Text: "Please confirm", Words: []string{"Please", "confirm"},
			Flags: map[string]string{"to": "respondent"}}},
		{"status", "status MED-2026-0001 Active", "status", Args{ID: "MED-2026-0001", Status: casebot.StatusActive}},
		{"close", "close MED-2026-0001 settled", "close", Args{ID: "MED-2026-0001", Status: casebot.StatusSettled}},
		{"close with text", "close MED-2026-0001 partial Fees agreed", "close", Args{
			ID: "MED-2026-0001", Status: casebot.StatusPartial, Text: "Fees agreed", Words: []string{"Fees", "agreed"}}},
		{"timeline", "timeline MED-2026-0001", "timeline", Args{ID: "MED-2026-0001"}},
		{"search", `search rent "back pay"`, "search", Args{Text: `rent "back pay"`, Words: []string{"rent", "back pay"}}},
		{"quarantine", "quarantine", "quarantine", Args{}},
		{"accept", "accept 3 MED-2026-0001", "accept", Args{N: 3, ID: "MED-2026-0001"}},
		{"reject", "reject 3", "reject", Args{N: 3}},
		{"digest", "digest", "digest", Args{}},
		{"stats", "stats", "stats", Args{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, got, err := parse(t, tt.text)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.text, err)
			}
			if cmd != tt.cmd {
				t.Errorf("command = %q, want %q", cmd, tt.cmd)
			}
			if tt.want.Flags == nil {
				tt.want.Flags = map[string]string{}
			}
			if !got.When.Equal(tt.want.When) {
				t.Errorf("When = %v, want %v", got.When, tt.want.When)
			}
			got.When, tt.want.When = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parse(%q)\n got %+v\nwant %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unclosed quote", `new "Smith v Jones`, "A quote is not closed."},
		{"unknown command", "frobnicate MED-2026-0001", `"frobnicate" is not a command.`},
		{"party without sub", "party", "party needs add, remove or clear."},
		{"party bad sub", "party invite MED-2026-0001", `party "invite" is not a command; use party add, remove or clear.`},
		{"reschedule without when", "reschedule MED-2026-0001 1", "Missing <when>."},
		{"reschedule bad number", "reschedule MED-2026-0001 x +2d", `"x" is not a number like 1, 2, 3.`},
		{"cancel without number", "cancel MED-2026-0001", "Missing <session#>."},
		{"unknown option", "new X --prio high", "Unknown option --prio."},
		{"option twice", "new X --type a --type b", "--type is given twice."},
		{"switch with value", "note MED-2026-0001 --private=yes hi", "--private takes no value."},
		{"option without value", "new X --type", "--type needs a value."},
		{"option with empty value", `new X --type ""`, "--type needs a value."},
		{"option too long", "new X --type " + strings.Repeat("t", 51), "The type is 51 characters; at most 50 are allowed."},
		{"bad priority", "new X --priority asap", `"asap" is not a priority; use one of low, normal, high, urgent.`},
		{"bad mediator", "new X --mediator bob", `"bob" is not a Slack user; use @name, <@U123> or U123.`},
		{"bad --to", "email MED-2026-0001 --to judge hi", `"judge" is not a role; use one of claimant, respondent, counsel, interpreter, observer, other.`},
		{"new without title", "new", "Missing <title>."},
		{"new with empty quoted title", `new ""`, "Missing <title>."},
		{"title too long", "new " + strings.Repeat("é", 201), "The title is 201 characters; at most 200 are allowed."},
		{"list bad choice", "list everything", `"everything" is not one of mine, all, open, closed, overdue.`},
		{"list too many", "list mine all", `Unexpected "all".`},
		{"list page without number", "list all page", "Missing the page number after page."},
		{"list page zero", "list all page 0", `"0" is not a page number like 1, 2, 3.`},
		{"show without ID", "show", "Missing <ID>."},
		{"show bad ID", "show 42", `"42" is not a case ID (like MED-2026-0042).`},
		{"show extra words", "show MED-2026-0001 please now", `Unexpected "please now".`},
		{"party add bad role", "party add MED-2026-0001 judge J j@x.example", `"judge" is not a role; use one of claimant, respondent, counsel, interpreter, observer, other.`},
		{"party add without name", "party add MED-2026-0001 claimant j@x.example", "Missing <name>."},
		{"party add without email", "party add MED-2026-0001 claimant", "Missing <name>."},
		{"party add bad email", "party add MED-2026-0001 claimant John john@", `"john@" is not a valid email address.`},
		{"party add name too long", "party add MED-2026-0001 claimant " + strings.Repeat("n", 201) + " j@x.example", "The name is 201 characters; at most 200 are allowed."},
		{"party remove without email", "party remove MED-2026-0001", "Missing <email>."},
		{"party remove bad email", "party remove MED-2026-0001 <mailto:nope|nope>", `"nope" is not a valid email address.`},
		{"assign without user", "assign MED-2026-0001", "Missing <USER|auto>."},
		{"assign bad user", "assign MED-2026-0001 @bob", `"@bob" is not a Slack user; use @name, <@U123> or U123.`},
		{"conflicts empty", "conflicts", "Missing <name or email>."},
		{"deadline without text", "deadline MED-2026-0001 +3d", "Missing <text>."},
		{"deadline bad when", "deadline MED-2026-0001 tomorrow Papers", `"tomorrow" is not a time: the date or time does not parse. Use 2026-12-01, "2026-12-01 14:30", +10d, +3h or +5bd.`},
		{"deadline bad unit", "deadline MED-2026-0001 +3y Papers", `"+3y" is not a time: the unit must be m, h, d, w or bd. Use 2026-12-01, "2026-12-01 14:30", +10d, +3h or +5bd.`},
		{"deadline in the past", "deadline MED-2026-0001 2026-03-01 Papers", "2026-03-01 09:00 CET is in the past."},
		{"deadline earlier today", "deadline MED-2026-0001 2026-03-02 10:59 Papers", "2026-03-02 10:59 CET is in the past."},
		{"deadline text too long", "deadline MED-2026-0001 +1d " + strings.Repeat("t", 10001), "The text is 10001 characters; at most 10000 are allowed."},
		{"done without number", "done MED-2026-0001", "Missing <deadline#>."},
		{"done bad number", "done MED-2026-0001 first", `"first" is not a number like 1, 2, 3.`},
		{"done zero", "done MED-2026-0001 0", `"0" is not a number like 1, 2, 3.`},
		{"session bad duration", "session MED-2026-0001 +1d two-hours Opening", `"two-hours" is not a duration; use 90m, 1h30m, 2h or 7d.`},
		{"session negative duration", "session MED-2026-0001 +1d -1h Opening", `"-1h" is not a positive duration.`},
		{"session in the past", `session MED-2026-0001 "2025-12-01 14:30" 2h Opening`, "2025-12-01 14:30 CET is in the past."},
		{"session without title", "session MED-2026-0001 +1d 2h", "Missing <title>."},
		{"session where without value", "session MED-2026-0001 +1d 2h Opening --where", "--where needs a value."},
		{"note without text", "note MED-2026-0001 --private", "Missing <text>."},
		{"status closed", "status MED-2026-0001 settled", "settled closes a case; use close <ID> settled [text]."},
		{"status unknown", "status MED-2026-0001 done", `"done" is not a status; use one of intake, scheduled, active, settled, partial, impasse, withdrawn.`},
		{"close without outcome", "close MED-2026-0001", "Missing <outcome>."},
		{"close open outcome", "close MED-2026-0001 active", `"active" is not an outcome; use one of settled, partial, impasse, withdrawn.`},
		{"timeline without ID", "timeline", "Missing <ID>."},
		{"search without words", "search", "Missing <words>."},
		{"quarantine extra", "quarantine all", `Unexpected "all".`},
		{"accept bad mail#", "accept x MED-2026-0001", `"x" is not a number like 1, 2, 3.`},
		{"reject missing", "reject", "Missing <mail#>."},
		{"stats extra", "stats mine", `Unexpected "mine".`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parse(t, tt.text)
			if err == nil {
				t.Fatalf("parse(%q) succeeded, want %q", tt.text, tt.want)
			}
			if got := casebot.ErrorMessage(err); got != tt.want {
				t.Errorf("parse(%q) error\n got %s\nwant %s", tt.text, got, tt.want)
			}
			if code := casebot.ErrorCode(err); code != casebot.EINVALID {
				t.Errorf("code = %q, want %q", code, casebot.EINVALID)
			}
		})
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"  a \t b\n", []string{"a", "b"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`“a b” c`, []string{"a b", "c"}},
		{`O’Brien's 12" pipe`, []string{"O’Brien's", `12"`, "pipe"}},
		{`say "it" now`, []string{"say", "it", "now"}},
		{`"a"b c"`, []string{`a"b c`}},
	}
	for _, tt := range tests {
		toks, err := tokenize(tt.text)
		if err != nil {
			t.Fatalf("tokenize(%q): %v", tt.text, err)
		}
		var got []string
		for _, tk := range toks {
			got = append(got, tk.val)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestParseUserAndEmail(t *testing.T) {
	users := map[string]string{"<@U0A1|ann>": "U0A1", "<@U0A1>": "U0A1", "U0A1": "U0A1", "W0A1": "W0A1"}
	for in, want := range users {
		if got, err := ParseUser(in); err != nil || got != want {
			t.Errorf("ParseUser(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"ann", "@ann", "<@ann>", "u0a1", "<!channel>", ""} {
		if got, err := ParseUser(in); err == nil {
			t.Errorf("ParseUser(%q) = %q, want an error", in, got)
		}
	}
	emails := map[string]string{"<mailto:A@B.example|A@B.example>": "a@b.example", "<mailto:a@b.example>": "a@b.example", "A@B.example": "a@b.example"}
	for in, want := range emails {
		if got, err := ParseEmail(in); err != nil || got != want {
			t.Errorf("ParseEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// Every usage line of the table parses and is listed by help.
func TestTableAndHelp(t *testing.T) {
	b := New(Config{})
	help := b.Run(t.Context(), "U0A1", "help")
	if help.Err != nil {
		t.Fatalf("help: %v", help.Err)
	}
	for _, c := range b.Commands() {
		if !strings.Contains(help.Text, c.Usage) {
			t.Errorf("help does not list %q", c.Usage)
		}
	}
	if err := b.Register(Command{Usage: "bogus <nonsense>", Handle: handleHelp}); err == nil {
		t.Error("Register accepted an unknown placeholder")
	}
	got := b.Run(t.Context(), "U0A1", "help party")
	for _, want := range []string{"party add <ID> <role> <name> <email>", "party remove <ID> <email>", "Roles: claimant"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("help party = %q, want it to contain %q", got.Text, want)
		}
	}
	got = b.Run(t.Context(), "U0A1", "help assign")
	if !strings.Contains(got.Text, "urgent 4, high 3, normal 2, low 1") {
		t.Errorf("help assign does not document the weights: %q", got.Text)
	}
	got = b.Run(t.Context(), "U0A1", "help nothing")
	if got.Err == nil || !strings.HasPrefix(got.Text, `"nothing" is not a command.`) || !strings.Contains(got.Text, "Usage: help [command]") {
		t.Errorf("help nothing = %q, %v", got.Text, got.Err)
	}
	if empty := b.Run(t.Context(), "U0A1", "   "); empty.Err != nil || empty.Text != help.Text {
		t.Errorf("empty text = %q, %v; want the help", empty.Text, empty.Err)
	}
}

// A malformed command replies with what was wrong and the usage.
func TestUsageReplies(t *testing.T) {
	b := New(Config{})
	tests := []struct{ text, first, usage string }{
		{"show", "Missing <ID>.", "Usage: show <ID>"},
		{"party", "party needs add, remove or clear.", "Usage: party add <ID> <role> <name> <email>\nUsage: party remove <ID> <email>\nUsage: party clear <ID> <email>"},
		{`note "x`, "A quote is not closed.", "Usage: note <ID> [--private] <text>"},
		{"nonsense", `"nonsense" is not a command.`, "Commands:"},
		{"close MED-2026-0001", "Missing <outcome>.", "Usage: close <ID> <outcome> [text]"},
	}
	for _, tt := range tests {
		got := b.Run(t.Context(), "U0A1", tt.text)
		if casebot.ErrorCode(got.Err) != casebot.EINVALID {
			t.Errorf("%q: Err = %v, want EINVALID", tt.text, got.Err)
		}
		if !strings.HasPrefix(got.Text, tt.first+"\n") || !strings.Contains(got.Text, tt.usage) {
			t.Errorf("%q: reply\n%s\nwant %q then %q", tt.text, got.Text, tt.first, tt.usage)
		}
	}
}

func TestSlow(t *testing.T) {
	b := New(Config{})
	for text, want := range map[string]bool{"search rent": true, "stats": true, "email X hi": true, "digest": true,
		"show MED-2026-0001": false, "party add": false, "": false, "nonsense": false} {
		if got := b.Slow(text); got != want {
			t.Errorf("Slow(%q) = %v, want %v", text, got, want)
		}
	}
}

// Register only adds: a built-in command cannot be replaced from outside
// the table, and a command without a handler is refused.
func TestRegisterOnlyAdds(t *testing.T) {
	b := New(Config{})
	noop := func(context.Context, *Request) Reply { return Reply{Text: "replaced"} }
	if err := b.Register(Command{Usage: "digest", Summary: "now", Handle: noop}); err == nil {
		t.Error("Register replaced the built-in digest")
	}
	if err := b.Register(Command{Usage: "wait", Summary: "no handler"}); err == nil {
		t.Error("Register accepted a command without a handler")
	}
	if n := len(b.group("digest")); n != 1 {
		t.Errorf("digest is in the table %d times", n)
	}
	if got := b.Run(t.Context(), "U0A1", "digest"); got.Text == "replaced" {
		t.Error("the registered digest runs instead of the built-in one")
	}
}

func TestButtonText(t *testing.T) {
	for _, tt := range []struct{ id, value, want string }{
		{casebot.ActionShowCase, "MED-2026-0001", "show MED-2026-0001"},
		{casebot.ActionDeadlineDone, "MED-2026-0001/3", "done MED-2026-0001 3"},
		{casebot.ActionDeadlineDone, "MED-2026-0001/x", ""},
		{casebot.ActionMailAccept, "17/MED-2026-0001", "accept 17 MED-2026-0001"},
		{casebot.ActionMailAccept, "17", ""},
		{casebot.ActionMailReject, "17", "reject 17"},
		{casebot.ActionMailReject, "17/MED-2026-0001", ""},
		{"other", "x", ""},
	} {
		got, ok := ButtonText(tt.id, tt.value)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ButtonText(%q, %q) = %q, %v; want %q", tt.id, tt.value, got, ok, tt.want)
		}
	}
}

// FuzzParse: no text makes the parser panic, and a refusal always says why.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "new", `session MED-2026-0001 "2026-12-01 14:30" 2h x --where “R”`, "party add", `"`, "“", "--",
		"new -- --", "note MED-2026-0001 --private", "list \u00a0 all", "done MED-2026-0001 #", "new --priority=", "assign MED-2026-0001 <@>"} {
		f.Add(s)
	}
	b := New(Config{})
	f.Fuzz(func(t *testing.T, text string) {
		toks, err := tokenize(text)
		if err != nil {
			return
		}
		if len(toks) == 0 {
			return
		}
		cmd, rest, err := b.lookup(toks)
		if err != nil {
			if casebot.ErrorMessage(err) == "" {
				t.Fatal("empty message")
			}
			return
		}
		if _, _, err := choose(cmd, rest, testNow, testLoc); err != nil && casebot.ErrorMessage(err) == "" {
			t.Fatal("empty message")
		}
	})
}

func TestRunRecoversFromPanics(t *testing.T) {
	b := New(Config{})
	if err := b.Register(Command{Usage: "boom", Handle: func(context.Context, *Request) Reply { panic("boom") }}); err != nil {
		t.Fatal(err)
	}
	got := b.Run(t.Context(), "U0A1", "boom")
	if casebot.ErrorCode(got.Err) != casebot.EINTERNAL || got.Text != "Internal error." {
		t.Errorf("got %q, %v", got.Text, got.Err)
	}
}
