package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
)

// access outcomes through Slack HTTP.
type secOutcome int

const (
	okay     secOutcome = iota // runs
	hide                       // "You have no case <ID>.", as for a missing case
	deny                       // refused before any case is looked up
	noMailID                   // "There is no quarantined email #N.", as for a missing one
	conflict                   // allowed to the actor, refused for the case's state (purge of an open case)
)

const (
	missingID  = "MED-2099-9999"
	missingMsg = "999999"
)

// refusedTotal sums casebot_commands_total{outcome="refused"} from /metrics.
func (e *secEnv) refusedTotal() float64 {
	e.t.Helper()
	code, body := get(e.base + "/metrics")
	if code != http.StatusOK {
		e.t.Fatalf("/metrics: %d", code)
	}
	var sum float64
	for _, m := range refusedRe.FindAllStringSubmatch(body, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			e.t.Fatal(err)
		}
		sum += v
	}
	return sum
}

var refusedRe = regexp.MustCompile(`(?m)^casebot_commands_total\{[^}]*outcome="refused"[^}]*\} (\S+)$`)

// snapshot is everything a command could change about a case and the store.
func (e *secEnv) snapshot(id string) string {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.d.DB.Case(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	ns, _ := e.d.DB.Notes(ctx, id)
	au, _ := e.d.DB.Audit(ctx, id)
	q, _ := e.d.DB.Quarantine(ctx, true)
	all, _ := e.d.DB.Cases(ctx, casebot.CaseFilter{State: "all"})
	depth, _ := e.d.DB.OutboxDepth(ctx)
	b, err := json.Marshal([]any{c, ns, au, q, len(all), depth})
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// matrixCase opens a case of secMed's with a party, a deadline, a session
// and a note, each carrying a tag unique to the case; bounce flags the
// party's address, quarantine adds a stranger's mail naming the case and
// returns its number.
func (e *secEnv) matrixCase(bounce, quarantine bool) (id string, q uint64, tag string) {
	e.t.Helper()
	ctx := context.Background()
	tag = letters(int(e.triggers.Add(1)))
	id = caseIDRe.FindString(e.run(secAdmin, "new Secret Title T"+tag+" --mediator "+secMed))
	e.run(secAdmin, "assign "+id+" +"+secCo)
	e.run(secMed, "party add "+id+" claimant \"Carl P"+tag+"\" carl."+tag+"@x.example")
	e.run(secMed, "deadline "+id+" +3d Papers")
	e.run(secMed, "session "+id+" +4d 2h Opening")
	e.run(secMed, "note "+id+" hello secret words N"+tag)
	e.run(secMed, "offer "+id+" claimant offer O"+tag)
	e.run(secMed, "agenda "+id+" 1 add Introductions")
	e.run(secMed, "poll "+id+" +5d +6d")
	// Carl's email brings a document, its name tagged.
	doc := []byte("%PDF-1.4 exhibit " + tag)
	sum := sha256.Sum256(doc)
	uid := uint32(e.triggers.Add(1))
	if _, err := e.d.DB.Ingest(ctx, casebot.IngestBatch{Mailbox: "matrix", UIDValidity: 1, LastUID: uid, Items: []casebot.MailItem{{UID: uid,
		Note: &casebot.Note{CaseID: id, Author: "carl." + tag + "@x.example", Source: casebot.SourceEmail, Body: "exhibit",
			Email: &casebot.EmailMeta{From: "carl." + tag + "@x.example", Attachments: []casebot.Attachment{{Name: "D" + tag + ".pdf",
				Type: "application/pdf", Size: int64(len(doc)), SHA256: hex.EncodeToString(sum[:]), Content: doc}}}}}}}); err != nil {
		e.t.Fatal(err)
	}
	if bounce {
		if _, err := e.d.DB.FlagBouncing(ctx, "carl."+tag+"@x.example", id, "550 test"); err != nil {
			e.t.Fatal(err)
		}
		// The store queued the mediator's notice of the bounce behind the
		// worker's back (in the daemon the worker itself flags bounces).
		e.d.KickOutbox()
	}
	if quarantine {
		e.appendMail("From: eve@example.com\r\nTo: cases@practice.example\r\nSubject: [" + id + "] hi\r\nMessage-ID: <q-" + id + "@example.com>\r\n\r\nhi\r\n")
		waitFor(e.t, "the mail in quarantine", func() bool {
			items, _ := e.d.DB.Quarantine(ctx, false)
			for _, it := range items {
				if it.CaseID == id {
					q = it.N
					return true
				}
			}
			return false
		})
	}
	// Home refreshes fall due at the end of their slot on the daemon's clock.
	e.clk.Advance(casebot.HomeSlot)
	e.d.KickOutbox()
	waitFor(e.t, "outbox empty", func() bool { n, err := e.d.DB.OutboxDepth(ctx); return err == nil && n == 0 })
	return id, q, tag
}

// letters spells n in lowercase letters, so tags survive name
// normalisation.
func letters(n int) string {
	s := ""
	for {
		s = string(rune('a'+n%26)) + s
		n /= 26
		if n == 0 {
			return "x" + s
		}
	}
}

// secCo is the co-mediator of every matrix case.
const secCo = "UCOMED"

// TestSecurityAccessMatrixOverSlack runs every command word as an admin, the
// case's mediator, another mediator, a stranger and the case's co-mediator
// (who gets what the mediator gets) as correctly signed
// POST /slack/commands requests to the whole daemon (Slack, IMAP, SMTP on).
// A denial is counted as refused, reads exactly like the denial for a case
// (or quarantined mail) that does not exist, reveals nothing of the case,
// and changes nothing in the store: case, notes, audit trail, quarantine,
// case count, outbox.
func TestSecurityAccessMatrixOverSlack(t *testing.T) {
	e := newSecEnv(t, false)
	e.run(secOther, "new The other mediator's own case")
	A, H, D, N, C := okay, hide, deny, noMailID, conflict
	rows := []struct {
		text       string
		want       [4]secOutcome // admin, mediator, other mediator, stranger
		bounce     bool
		quarantine bool
	}{
		{"help", [4]secOutcome{A, A, A, A}, false, false},
		{"help show", [4]secOutcome{A, A, A, A}, false, false},
		{"list", [4]secOutcome{A, A, A, A}, false, false},
		{"list all", [4]secOutcome{A, A, A, A}, false, false},
		{"list overdue", [4]secOutcome{A, A, A, A}, false, false},
		{"show {ID}", [4]secOutcome{A, A, H, H}, false, false},
		{"party add {ID} observer Olga Observer olga@x.example", [4]secOutcome{A, A, H, H}, false, false},
		{"party remove {ID} carl.{TAG}@x.example", [4]secOutcome{A, A, H, H}, false, false},
		{"party clear {ID} carl.{TAG}@x.example", [4]secOutcome{A, A, H, H}, true, false},
		{"assign {ID} " + secOther, [4]secOutcome{A, D, D, D}, false, false},
		{"assign {ID} auto", [4]secOutcome{A, D, D, D}, false, false},
		{"assign {ID} +" + secOther, [4]secOutcome{A, D, D, D}, false, false},
		{"assign {ID} -" + secCo, [4]secOutcome{A, D, D, D}, false, false},
		{"conflicts Carl P{TAG}", [4]secOutcome{A, A, A, D}, false, false},
		{"conflicts carl.{TAG}@x.example", [4]secOutcome{A, A, A, D}, false, false},
		{"deadline {ID} +5d Replies", [4]secOutcome{A, A, H, H}, false, false},
		{"done {ID} 1", [4]secOutcome{A, A, H, H}, false, false},
		{"session {ID} +2d 2h Opening --where \"Room 4\"", [4]secOutcome{A, A, H, H}, false, false},
		{"reschedule {ID} 1 +5d", [4]secOutcome{A, A, H, H}, false, false},
		{"cancel {ID} 1", [4]secOutcome{A, A, H, H}, false, false},
		{"note {ID} more", [4]secOutcome{A, A, H, H}, false, false},
		{"note {ID} --private caucus", [4]secOutcome{A, A, H, H}, false, false},
		{"email {ID} hello", [4]secOutcome{A, A, H, H}, false, false},
		{"email {ID} --to claimant hello", [4]secOutcome{A, A, H, H}, false, false},
		{"email {ID} --attach 1 exhibit attached", [4]secOutcome{A, A, H, H}, false, false},
		{"request {ID} claimant +5d Signed lease", [4]secOutcome{A, A, H, H}, false, false},
		{"docs {ID}", [4]secOutcome{A, A, H, H}, false, false},
		{"doc {ID} 1", [4]secOutcome{A, A, H, H}, false, false},
		{"agenda {ID} 1", [4]secOutcome{A, A, H, H}, false, false},
		{"agenda {ID} 1 add Remedies", [4]secOutcome{A, A, H, H}, false, false},
		{"agenda {ID} 1 remove 1", [4]secOutcome{A, A, H, H}, false, false},
		{"agreement {ID}", [4]secOutcome{A, A, H, H}, false, false},
		{"poll {ID}", [4]secOutcome{A, A, H, H}, false, false},
		{"poll {ID} +7d +8d", [4]secOutcome{A, A, H, H}, false, false},
		{"session {ID} poll 2 Opening", [4]secOutcome{A, A, H, H}, false, false},
		{"offer {ID}", [4]secOutcome{A, A, H, H}, false, false},
		{"offer {ID} claimant 6000", [4]secOutcome{A, A, H, H}, false, false},
		{"offer {ID} 1 rejected", [4]secOutcome{A, A, H, H}, false, false},
		{"status {ID} active", [4]secOutcome{A, A, H, H}, false, false},
		{"close {ID} settled", [4]secOutcome{A, A, H, H}, false, false},
		{"timeline {ID}", [4]secOutcome{A, A, H, H}, false, false},
		{"search secret words", [4]secOutcome{A, A, A, A}, false, false},
		{"quarantine", [4]secOutcome{A, A, A, A}, false, true},
		{"accept {Q} {ID}", [4]secOutcome{A, A, H, H}, false, true},
		{"reject {Q}", [4]secOutcome{A, A, N, N}, false, true},
		{"digest", [4]secOutcome{A, A, A, A}, false, false},
		{"stats", [4]secOutcome{A, A, A, A}, false, false},
		{"hold {ID}", [4]secOutcome{A, D, D, D}, false, false},
		{"purge {ID}", [4]secOutcome{C, D, D, D}, false, false}, // the case is open
		{"report", [4]secOutcome{A, A, A, A}, false, false},
		// Last: it makes the stranger a mediator.
		{"new Another case", [4]secOutcome{A, A, A, A}, false, false},
	}
	users := [5]string{secAdmin, secMed, secOther, secStranger, secCo}
	covered := map[string]bool{}
	for _, row := range rows {
		// The other mediator and the stranger cannot change the case (the
		// test checks it), so they share one.
		var shared struct {
			id, tag string
			q       uint64
		}
		f := strings.Fields(row.text)
		covered[f[0]] = true
		if f[0] == "party" {
			covered["party "+f[1]] = true
		}
		if f[0] == "assign" && strings.ContainsAny(f[2][:1], "+-") {
			covered["assign co"] = true
		}
		if f[0] == "poll" && len(f) > 2 {
			covered["poll ask"] = true
		}
		if f[0] == "session" && f[2] == "poll" {
			covered["session poll"] = true
		}
		if f[0] == "agenda" && len(f) > 3 { // the variants: agenda add, agenda remove
			covered["agenda "+f[3]] = true
		}
		if f[0] == "offer" && len(f) > 2 { // the variants: offer add, offer close
			covered[map[bool]string{true: "offer close", false: "offer add"}[f[2] == "1"]] = true
		}
		for i, user := range users {
			want := row.want[min(i, 3)]
			if user == secCo {
				want = row.want[1] // as the mediator
			}
			t.Run(row.text+"/"+user, func(t *testing.T) {
				e.t = t
				var id, tag string
				var q uint64
				switch {
				case i < 2 || user == secCo:
					id, q, tag = e.matrixCase(row.bounce, row.quarantine)
				case shared.id == "":
					shared.id, shared.q, shared.tag = e.matrixCase(row.bounce, row.quarantine)
					fallthrough
				default:
					id, q, tag = shared.id, shared.q, shared.tag
				}
				fill := func(id, q string) string {
					return strings.NewReplacer("{ID}", id, "{Q}", q, "{TAG}", tag).Replace(row.text)
				}
				before := e.snapshot(id)
				refused := e.refusedTotal()
				got := e.slash(user, fill(id, strconv.FormatUint(q, 10)))
				wasRefused := e.refusedTotal() > refused
				if want == okay {
					if wasRefused {
						t.Fatalf("refused: %s", got)
					}
				} else {
					if !wasRefused {
						t.Fatalf("not refused: %s", got)
					}
					wantText := map[secOutcome]string{
						hide:     casebot.ErrHidden(id).Message,
						noMailID: fmt.Sprintf("There is no quarantined email #%d.", q),
					}[want]
					if wantText != "" && got != wantText {
						t.Errorf("denial %q, want %q", got, wantText)
					}
					if after := e.snapshot(id); after != before {
						t.Errorf("a denied command changed the store:\n before %s\n after  %s", before, after)
					}
					// The same command through do (Daemon.Command, the control
					// socket's path) is refused alike and stores nothing.
					rep := e.d.Command(context.Background(), user, fill(id, strconv.FormatUint(q, 10)))
					if rep.Err == nil || rep.Text != got {
						t.Errorf("through do: refused %v, %q; through Slack %q", rep.Err != nil, rep.Text, got)
					}
					if after := e.snapshot(id); after != before {
						t.Errorf("a command denied through do changed the store:\n before %s\n after  %s", before, after)
					}
					if want == conflict {
						return // an admin may learn that the case exists
					}
					missing := e.slash(user, fill(missingID, missingMsg))
					missing = strings.NewReplacer(missingID, id, missingMsg, strconv.FormatUint(q, 10)).Replace(missing)
					if missing != got {
						t.Errorf("the denial differs for a missing case:\n exists  %q\n missing %q", got, missing)
					}
				}
				if user == secOther || user == secStranger {
					secrets := []string{"T" + tag, "N" + tag, "D" + tag, "O" + tag, "eve@"}
					if f[0] != "conflicts" { // the query is echoed
						secrets = append(secrets, "Carl P"+tag, "carl."+tag)
					} else if user == secOther && !strings.Contains(got, "and 1 case assigned to other mediators.") {
						t.Errorf("conflicts does not count the hidden case:\n%s", got)
					}
					if want == okay {
						secrets = append(secrets, id) // a denial repeats the ID as typed
					}
					for _, s := range secrets {
						if strings.Contains(got, s) {
							t.Errorf("the reply to %s reveals %q:\n%s", user, s, got)
						}
					}
				}
			})
		}
	}
	e.t = t
	for _, c := range e.d.Bot.Commands() {
		if !covered[c.Name()] {
			t.Errorf("command %q is not in the access matrix", c.Name())
		}
	}
}

// TestSecuritySlackSignatures: requests with a missing, wrong, malformed or
// stale (6 minutes old) signature get 401 on both endpoints and change
// nothing; a replayed request (same body and signature) and a Slack retry
// run the command once, with or without a trigger_id.
func TestSecuritySlackSignatures(t *testing.T) {
	e := newSecEnv(t, false)
	ctx := context.Background()
	id, _, _ := e.matrixCase(false, false)
	notes := func() int {
		ns, err := e.d.DB.Notes(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return len(ns)
	}
	now := time.Now()
	cmd := e.commandForm(secMed, "note "+id+" signed?", "sig")
	press := url.Values{"payload": {`{"type":"block_actions","user":{"id":"` + secMed + `"},"team":{"id":"T1"},"response_url":"` +
		e.slack.ResponseURL("press") + `","trigger_id":"p.1","actions":[{"action_id":"deadline_done","value":"` + id + `/1"}]}`}}.Encode()
	before := e.snapshot(id)
	for _, path := range []string{"/slack/commands", "/slack/interactions"} {
		body := cmd
		if path == "/slack/interactions" {
			body = press
		}
		for _, tc := range []struct {
			name string
			req  signed
		}{
			{"missing", signed{path: path, body: body}},
			{"wrong secret", signed{path: path, body: body, ts: now, secret: "not-" + secSigning}},
			{"malformed", signed{path: path, body: body, ts: now, sig: "v0=zz"}},
			{"other version", signed{path: path, body: body, ts: now, sig: strings.Replace(testserver.SlackSignature(secSigning, now, body), "v0=", "v1=", 1)}},
			{"stale", signed{path: path, body: body, ts: now.Add(-6 * time.Minute), secret: secSigning}},
			{"body changed", signed{path: path, body: body + "&x=1", ts: now, sig: testserver.SlackSignature(secSigning, now, body)}},
		} {
			if code, resp := e.do(tc.req); code != http.StatusUnauthorized {
				t.Errorf("%s %s: status %d %s, want 401", path, tc.name, code, resp)
			}
		}
	}
	if after := e.snapshot(id); after != before {
		t.Errorf("refused requests changed the store:\n before %s\n after  %s", before, after)
	}

	// Replays: the same signed bytes again, then as Slack's retry.
	n0 := notes()
	for _, form := range []string{
		cmd, // with a trigger_id
		url.Values{"command": {"/case"}, "text": {"note " + id + " no trigger"}, "user_id": {secMed}, "team_id": {"T1"},
			"response_url": {e.slack.ResponseURL("nt")}}.Encode(),
	} {
		req := signed{path: "/slack/commands", body: form, ts: time.Now(), secret: secSigning}
		var first string
		for i, retry := range []string{"", "", "1", "2"} {
			req.retryNum = retry
			code, resp := e.do(req)
			if code != http.StatusOK {
				t.Fatalf("delivery %d: status %d %s", i+1, code, resp)
			}
			if i == 0 {
				first = resp
			} else if resp != first {
				t.Errorf("delivery %d answered %s, the first %s", i+1, resp, first)
			}
		}
		n0++
		if got := notes(); got != n0 {
			t.Errorf("four deliveries of one request made %d notes, want 1", got-n0+1)
		}
	}
	// A new request with the same text is a new command.
	e.slash(secMed, "note "+id+" signed?")
	if got := notes(); got != n0+1 {
		t.Errorf("a fresh request did not run: %d notes, want %d", got, n0+1)
	}
}
