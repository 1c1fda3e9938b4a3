package bot

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// outcome is what an actor gets from a command.
type outcome int

const (
	allowed     outcome = iota
	hidden              // the ErrHidden denial, identical for a missing case
	forbidden           // EFORBIDDEN before any case is looked up
	unavailable         // a command whose service is off (no mail, intake or digests here)
	conflict            // ECONFLICT: allowed to the actor, refused for the case's state (purge of an open case)
)

func (o outcome) String() string {
	return [...]string{"allowed", "hidden", "forbidden", "unavailable", "conflict"}[o]
}

// setupMatrix opens the case under test for uMed with a party, a deadline
// and a note, and returns its ID.
func setupMatrix(e *env) string {
	e.t.Helper()
	id := e.newCase(uAdmin, "Secret Title --mediator "+uMed)
	e.must(uMed, "party add "+id+" claimant Carl Claimant carl@x.example")
	e.must(uMed, "deadline "+id+" +3d Papers")
	e.must(uMed, "note "+id+" hello secret words")
	e.must(uMed, "session "+id+" +4d 2h Opening")
	e.newCase(uOther, "Other mediator's own case") // a mediator, unlike the stranger
	e.must(uAdmin, "assign "+id+" +"+uCo)          // a co-mediator, who may do what the mediator may
	e.must(uMed, "offer "+id+" claimant secret offer terms")
	e.must(uMed, "agenda "+id+" 1 add Introductions")
	// An open poll (asking needs outbound mail, off here: see TestPoll).
	if _, err := e.db.UpdateCase(context.Background(), id, func(c *casebot.Case) (casebot.Change, error) {
		c.Poll = &casebot.Poll{Slots: []time.Time{e.now.Add(72 * time.Hour), e.now.Add(96 * time.Hour)}, Duration: time.Hour, Created: e.now}
		return casebot.Change{Actor: uMed, Action: "poll.create"}, nil
	}); err != nil {
		e.t.Fatal(err)
	}
	// Carl's mail bounced, so party clear has something to clear.
	if _, err := e.db.UpdateCase(context.Background(), id, func(c *casebot.Case) (casebot.Change, error) {
		c.Parties[0].Bouncing = true
		return casebot.Change{Actor: "casebot", Action: "party.bounce", Detail: "carl@x.example"}, nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// uCo is the co-mediator of the case under test.
const uCo = "UCOM1"

// TestAccessMatrix runs every command as an admin, the case's mediator,
// another mediator, a stranger and the case's co-mediator (who gets what
// the mediator gets). Denials reveal nothing: their text is
// byte-identical to the reply for a case that does not exist, and they
// store nothing.
func TestAccessMatrix(t *testing.T) {
	A, H, F, U, C := allowed, hidden, forbidden, unavailable, conflict
	rows := []struct {
		text string
		want [4]outcome // admin, mediator, other mediator, stranger
		// onCase: the command names the case, so a missing case is refused too.
		onCase bool
	}{
		{"help", [4]outcome{A, A, A, A}, false},
		{"help show", [4]outcome{A, A, A, A}, false},
		{"new Another case", [4]outcome{A, A, A, A}, false},
		{"list", [4]outcome{A, A, A, A}, false},
		{"list all", [4]outcome{A, A, A, A}, false},
		{"list overdue", [4]outcome{A, A, A, A}, false},
		{"show {ID}", [4]outcome{A, A, H, H}, true},
		{"party add {ID} observer Olga Observer olga@x.example", [4]outcome{A, A, H, H}, true},
		{"party remove {ID} carl@x.example", [4]outcome{A, A, H, H}, true},
		{"party clear {ID} carl@x.example", [4]outcome{A, A, H, H}, true},
		{"reschedule {ID} 1 +5d", [4]outcome{A, A, H, H}, true},
		{"cancel {ID} 1", [4]outcome{A, A, H, H}, true},
		{"assign {ID} " + uOther, [4]outcome{A, F, F, F}, true},
		{"assign {ID} auto", [4]outcome{A, F, F, F}, true},
		{"assign {ID} +" + uOther, [4]outcome{A, F, F, F}, true},
		{"assign {ID} -" + uCo, [4]outcome{A, F, F, F}, true},
		{"conflicts Carl Claimant", [4]outcome{A, A, A, F}, false},
		{"conflicts carl@x.example", [4]outcome{A, A, A, F}, false},
		{"deadline {ID} +5d Replies", [4]outcome{A, A, H, H}, true},
		{"done {ID} 1", [4]outcome{A, A, H, H}, true},
		{"session {ID} +2d 2h Opening --where \"Room 4\"", [4]outcome{A, A, H, H}, true},
		{"note {ID} more", [4]outcome{A, A, H, H}, true},
		{"note {ID} --private caucus", [4]outcome{A, A, H, H}, true},
		{"email {ID} hello", [4]outcome{U, U, U, U}, false},
		{"email {ID} --attach 1 hello", [4]outcome{U, U, U, U}, false},
		{"request {ID} claimant +5d Papers", [4]outcome{U, U, U, U}, false},
		{"docs {ID}", [4]outcome{A, A, H, H}, true},
		{"doc {ID} 1", [4]outcome{U, U, U, U}, false},
		{"agenda {ID} 1", [4]outcome{A, A, H, H}, true},
		{"agenda {ID} 1 add Remedies", [4]outcome{A, A, H, H}, true},
		{"agenda {ID} 1 remove 1", [4]outcome{A, A, H, H}, true},
		{"agreement {ID}", [4]outcome{U, U, U, U}, false},
		{"poll {ID}", [4]outcome{A, A, H, H}, true},
		{"poll {ID} +5d +6d", [4]outcome{U, U, U, U}, false},
		{"session {ID} poll 2 Opening", [4]outcome{A, A, H, H}, true},
		{"offer {ID}", [4]outcome{A, A, H, H}, true},
		{"offer {ID} claimant 6000 now", [4]outcome{A, A, H, H}, true},
		{"offer {ID} 1 rejected", [4]outcome{A, A, H, H}, true},
		{"status {ID} active", [4]outcome{A, A, H, H}, true},
		{"close {ID} settled", [4]outcome{A, A, H, H}, true},
		{"timeline {ID}", [4]outcome{A, A, H, H}, true},
		{"search secret", [4]outcome{A, A, A, A}, false},
		{"quarantine", [4]outcome{U, U, U, U}, false},
		{"accept 1 {ID}", [4]outcome{U, U, U, U}, false},
		{"reject 1", [4]outcome{U, U, U, U}, false},
		{"digest", [4]outcome{U, U, U, U}, false},
		{"stats", [4]outcome{A, A, A, A}, false},
		{"hold {ID}", [4]outcome{A, F, F, F}, true},
		{"purge {ID}", [4]outcome{C, F, F, F}, false}, // the case is open
		{"report", [4]outcome{A, A, A, A}, false},
	}
	covered := map[string]bool{}
	users := [5]string{uAdmin, uMed, uOther, uStranger, uCo}
	for _, row := range rows {
		covered[strings.Fields(row.text)[0]] = true
		if strings.HasPrefix(row.text, "party ") {
			covered[strings.Join(strings.Fields(row.text)[:2], " ")] = true
		}
		covered[commandName(t, row.text)] = true
		for i, user := range users {
			want := row.want[min(i, 3)]
			if user == uCo {
				want = row.want[1] // the co-mediator: as the mediator
			}
			t.Run(row.text+"/"+user, func(t *testing.T) {
				e := newEnv(t)
				id := setupMatrix(e)
				text := strings.ReplaceAll(row.text, "{ID}", id)
				before := e.snap(id)
				got := e.run(user, text)
				code := casebot.ErrorCode(got.Err)

				// The same command against a store without the case.
				empty := newEnv(t)
				missing := empty.run(user, text)

				switch want {
				case allowed:
					if got.Err != nil {
						t.Fatalf("refused: %s", got.Text)
					}
					if row.onCase {
						wantMissing := casebot.ErrHidden(id).Message
						if user == uAdmin {
							wantMissing = casebot.ErrNoSuchCase(id).Message
						}
						if missing.Text != wantMissing {
							t.Errorf("missing case: %q, want %q", missing.Text, wantMissing)
						}
					}
				case hidden:
					if code != casebot.EFORBIDDEN || got.Text != casebot.ErrHidden(id).Message {
						t.Errorf("got %q (%s), want the hidden denial", got.Text, code)
					}
				case forbidden:
					if code != casebot.EFORBIDDEN {
						t.Errorf("got %q (%s), want forbidden", got.Text, code)
					}
				case unavailable:
					if code != casebot.EUNAVAIL {
						t.Errorf("got %q (%s), want unavailable", got.Text, code)
					}
				case conflict:
					if code != casebot.ECONFLICT {
						t.Errorf("got %q (%s), want a conflict", got.Text, code)
					}
				}
				if want == conflict {
					if after := e.snap(id); !reflect.DeepEqual(before, after) {
						t.Errorf("a refused command stored something:\n before %+v\n after  %+v", before, after)
					}
				} else if want != allowed {
					if got.Text != missing.Text || casebot.ErrorCode(missing.Err) != code {
						t.Errorf("denial differs for a missing case:\n exists  %q\n missing %q", got.Text, missing.Text)
					}
					if after := e.snap(id); !reflect.DeepEqual(before, after) {
						t.Errorf("a denied command stored something:\n before %+v\n after  %+v", before, after)
					}
				}
				if user == uOther || user == uStranger {
					secrets := []string{"Secret Title", "Carl", "carl@", "secret words", "secret offer"}
					if strings.HasPrefix(text, "conflicts ") && user == uOther {
						// The query is echoed; the case is only counted.
						secrets = secrets[:1]
						if !strings.Contains(got.Text, "and 1 case assigned to other mediators.") {
							t.Errorf("conflicts for %s does not count the hidden case:\n%s", user, got.Text)
						}
					}
					if want == allowed { // a denial repeats the ID as typed, nothing more
						secrets = append(secrets, id)
					}
					for _, secret := range secrets {
						if strings.Contains(got.Text, secret) {
							t.Errorf("reply to %s reveals %q:\n%s", user, secret, got.Text)
						}
					}
				}
			})
		}
	}
	for _, c := range New(Config{}).Commands() {
		if !covered[c.Name()] {
			t.Errorf("command %q is not in the access matrix", c.Name())
		}
	}
}

// commandName is the name of the command (variant included) that text runs.
func commandName(t *testing.T, text string) string {
	t.Helper()
	toks, err := tokenize(strings.ReplaceAll(text, "{ID}", "MED-2026-0001"))
	if err != nil {
		t.Fatal(err)
	}
	cands, rest, err := New(Config{}).lookup(toks)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	cmd, _, err := choose(cands, rest, testNow, testLoc)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return cmd.Name()
}
