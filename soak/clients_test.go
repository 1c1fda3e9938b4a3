package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/casebot/casebot/internal/testserver"
)

// cmdRecord is one slash command a client sent and what became of it.
type cmdRecord struct {
	client, n int
	kind      string // new, note, party, deadline, rdeadline, done, session, email, or a read
	text      string
	marker    string // unique text whose effect the audit counts
	caseID    string // for done: the case
	dlN       int    // for done: the deadline number
	acked     bool   // the final answer arrived (HTTP body or response_url)
	ok        bool   // the answer says the command took effect
	reply     string
}

// writes are the command kinds whose effect the audit counts.
var writes = map[string]bool{"new": true, "note": true, "party": true, "deadline": true, "rdeadline": true, "done": true, "session": true}

// epoch tells clients that the daemon they talk to was killed, so a
// pending late answer will never come.
type epoch struct {
	mu sync.Mutex
	ch chan struct{}
}

func newEpoch() *epoch { return &epoch{ch: make(chan struct{})} }

func (e *epoch) current() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ch
}

// next ends the current epoch (a kill).
func (e *epoch) next() {
	e.mu.Lock()
	close(e.ch)
	e.ch = make(chan struct{})
	e.mu.Unlock()
}

// slackClient is one signed Slack client: a mediator sending commands.
type slackClient struct {
	id     int
	user   string
	base   string
	secret string
	http   *http.Client
	slack  *testserver.Slack // its response_url endpoint takes late answers
	epoch  *epoch
	rng    *rand.Rand

	baseCase string
	cases    []string
	doneable []cmdRecord // deadlines (+30d) that done may meet
	records  []cmdRecord
	n        int
}

var (
	caseIDRe     = regexp.MustCompile(`MED-\d{4}-\d{4,}`)
	deadlineRe   = regexp.MustCompile(`^Deadline #(\d+) of (MED-\d{4}-\d{4,}):`)
	errNotServed = errors.New("daemon not reachable")
)

const workingText = "Working on it…"

// send posts one signed command and waits for its final answer. acked is
// false when the answer never came (the daemon died, or the request broke
// off): the command may or may not have taken effect. A request the daemon
// never received (connection refused) is retried until it is, within ctx.
func (c *slackClient) send(ctx context.Context, text string) (reply string, acked bool) {
	c.n++
	id := fmt.Sprintf("%d-%d", c.id, c.n)
	for {
		reply, acked, err := c.try(ctx, id, text)
		if !errors.Is(err, errNotServed) {
			return reply, acked
		}
		select {
		case <-ctx.Done():
			return "", false
		case <-time.After(100 * time.Millisecond): // the daemon is restarting
		}
	}
}

func (c *slackClient) try(ctx context.Context, id, text string) (string, bool, error) {
	rurl, late, forget := c.slack.Expect(id)
	defer forget()
	form := testserver.SlashForm(c.user, text, id+"."+strconv.FormatInt(time.Now().UnixNano(), 36), rurl)
	form.Set("user_name", "m")
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/slack/commands", strings.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header = testserver.SignSlack(c.secret, time.Now(), body)
	killed := c.epoch.current()
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return "", false, errNotServed
		}
		return "", false, nil // sent, perhaps run: unacknowledged
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, b), false, nil
	}
	var msg struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return "bad JSON: " + string(b), false, nil
	}
	if msg.Text != workingText {
		return msg.Text, true, nil
	}
	select {
	case b := <-late:
		return lateText(b)
	case <-killed:
		select {
		case b := <-late:
			return lateText(b)
		default:
			return "", false, nil
		}
	case <-time.After(30 * time.Second):
		return "", false, nil
	case <-ctx.Done():
		return "", false, nil
	}
}

// lateText is the text of an answer posted to response_url; one that is
// not a JSON message does not count as an answer.
func lateText(b []byte) (string, bool, error) {
	var m struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "bad JSON at response_url: " + string(b), false, nil
	}
	return m.Text, true, nil
}

// do sends a command and keeps its record.
func (c *slackClient) do(ctx context.Context, r cmdRecord) cmdRecord {
	r.client = c.id
	r.reply, r.acked = c.send(ctx, r.text)
	r.n = c.n
	if r.acked {
		r.ok = succeeded(r.kind, r.reply)
	}
	c.records = append(c.records, r)
	return r
}

// succeeded tells from the answer whether a write took effect.
func succeeded(kind, reply string) bool {
	switch kind {
	case "new":
		return strings.HasPrefix(reply, "Opened MED-")
	case "note":
		return strings.HasPrefix(reply, "Note #") && strings.Contains(reply, " added to ")
	case "party":
		return strings.HasPrefix(reply, "Added ")
	case "deadline", "rdeadline":
		return deadlineRe.MatchString(reply)
	case "done":
		return strings.HasPrefix(reply, "Deadline #") && strings.Contains(reply, " met: ")
	case "session":
		return strings.HasPrefix(reply, "Session #")
	case "email":
		return strings.HasPrefix(reply, "Queued to ")
	}
	return reply != ""
}

func (c *slackClient) mustDo(ctx context.Context, kind, text, marker string) (cmdRecord, error) {
	r := c.do(ctx, cmdRecord{kind: kind, text: text, marker: marker})
	if !r.ok {
		return r, fmt.Errorf("client %d: %q: acked %v, reply %q", c.id, text, r.acked, r.reply)
	}
	return r, nil
}

// partyEmail is the claimant of client id's base case.
func partyEmail(id int) string { return fmt.Sprintf("party-%d@example.com", id) }

// prepare opens the client's base case with one claimant party (the sender
// of its share of the party emails) and a session in three minutes, whose
// reminders fall due during the run. No daemon is killed meanwhile, so
// every set-up command must succeed.
func (c *slackClient) prepare(ctx context.Context) error {
	m := fmt.Sprintf("soak-case-%d-0", c.id)
	r, err := c.mustDo(ctx, "new", "new "+m, m)
	if err != nil {
		return err
	}
	c.baseCase = caseIDRe.FindString(r.reply)
	c.cases = append(c.cases, c.baseCase)
	if _, err := c.mustDo(ctx, "party", fmt.Sprintf("party add %s claimant \"Party %d\" %s", c.baseCase, c.id, partyEmail(c.id)), partyEmail(c.id)); err != nil {
		return err
	}
	m = fmt.Sprintf("soak-sess-%d-0", c.id)
	if _, err := c.mustDo(ctx, "session", fmt.Sprintf("session %s +3m 1h %s", c.baseCase, m), m); err != nil {
		return err
	}
	return nil
}

// load sends a realistic mix of commands until ctx ends, at most max, one
// every 200-800 ms. Deadlines due in two minutes (whose reminders fall due
// during the run) are added only until remindersUntil.
func (c *slackClient) load(ctx context.Context, max int, remindersUntil time.Time) {
	for i := 0; i < max && ctx.Err() == nil; i++ {
		c.step(ctx, remindersUntil)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(200+c.rng.IntN(600)) * time.Millisecond): // a person's pace
		}
	}
}

func (c *slackClient) step(ctx context.Context, remindersUntil time.Time) {
	k := c.n + 1
	mark := func(what string) string { return fmt.Sprintf("soak-%s-%d-%d", what, c.id, k) }
	cs := c.cases[c.rng.IntN(len(c.cases))]
	p := c.rng.IntN(100)
	switch {
	case p < 22:
		m := mark("note")
		c.do(ctx, cmdRecord{kind: "note", text: fmt.Sprintf("note %s %s", cs, m), marker: m})
	case p < 30:
		m := mark("case")
		r := c.do(ctx, cmdRecord{kind: "new", text: "new " + m + " --priority high", marker: m})
		if r.ok {
			c.cases = append(c.cases, caseIDRe.FindString(r.reply))
		}
	case p < 37:
		m := mark("obs") + "@example.org"
		c.do(ctx, cmdRecord{kind: "party", text: fmt.Sprintf("party add %s observer \"Observer %d %d\" %s", cs, c.id, k, m), marker: m})
	case p < 45:
		m := mark("dl")
		r := c.do(ctx, cmdRecord{kind: "deadline", text: fmt.Sprintf("deadline %s +30d %s", cs, m), marker: m})
		if r.ok {
			sm := deadlineRe.FindStringSubmatch(r.reply)
			n, _ := strconv.Atoi(sm[1])
			c.doneable = append(c.doneable, cmdRecord{caseID: sm[2], dlN: n})
		}
	case p < 50 && time.Now().Before(remindersUntil):
		m := mark("rdl")
		c.do(ctx, cmdRecord{kind: "rdeadline", text: fmt.Sprintf("deadline %s +2m %s", cs, m), marker: m})
	case p < 55 && len(c.doneable) > 0:
		d := c.doneable[0]
		c.doneable = c.doneable[1:]
		c.do(ctx, cmdRecord{kind: "done", text: fmt.Sprintf("done %s %d", d.caseID, d.dlN), caseID: d.caseID, dlN: d.dlN})
	case p < 59:
		m := mark("sess")
		c.do(ctx, cmdRecord{kind: "session", text: fmt.Sprintf("session %s +30d 90m %s --where \"Room %d\"", cs, m, c.id), marker: m})
	case p < 61:
		c.do(ctx, cmdRecord{kind: "email", text: fmt.Sprintf("email %s %s", c.baseCase, mark("email"))})
	case p < 74:
		c.do(ctx, cmdRecord{kind: "show", text: "show " + cs})
	case p < 83:
		c.do(ctx, cmdRecord{kind: "list", text: []string{"list", "list mine", "list open", "list overdue"}[c.rng.IntN(4)]})
	case p < 89:
		c.do(ctx, cmdRecord{kind: "search", text: fmt.Sprintf("search soak-note-%d", c.id)})
	case p < 93:
		c.do(ctx, cmdRecord{kind: "timeline", text: "timeline " + cs})
	case p < 95:
		c.do(ctx, cmdRecord{kind: "conflicts", text: "conflicts " + partyEmail(c.id)})
	case p < 97:
		c.do(ctx, cmdRecord{kind: "stats", text: "stats"})
	default:
		c.do(ctx, cmdRecord{kind: "help", text: []string{"help", "help note", "bogus words"}[c.rng.IntN(3)]})
	}
}
