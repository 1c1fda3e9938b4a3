package failover

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/internal/proctest"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/store"
)

const (
	botToken = "xoxb-failover"
	secret   = "failover-signing-secret"
	lease    = 3 * time.Second
	// reminderOffsets is schedule.reminders of the cluster's config.
	reminders = `["90s", "30s"]`
)

var reminderOffsets = []time.Duration{90 * time.Second, 30 * time.Second}

// cluster is n casebot instances on one database with the test servers.
type cluster struct {
	url   string
	dir   string
	slack *testserver.Slack
	imap  *testserver.IMAP
	ins   []*instance
	cases []string // case IDs, one per mediator U0001..
}

// newCluster builds the binary and writes the configs of n instances
// sharing one new database; nothing is started.
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{url: testDatabase(t), dir: t.TempDir()}
	bin := proctest.BuildCasebot(t, c.dir)
	c.slack = testserver.NewSlack(t, botToken)
	c.imap = testserver.NewIMAP(t, "cases", "pw")
	common := fmt.Sprintf(`[store]
backend = "postgres"
path = %q
postgres_url = %q
lease = %q
[slack]
signing_secret = %q
bot_token = %q
api_url = %q
[imap]
addr = %q
tls = "none"
username = "cases"
password = "pw"
poll_interval = "2s"
[schedule]
timezone = "UTC"
reminders = %s
`, filepath.Join(c.dir, "unused.db"), c.url, lease.String(), secret, botToken, c.slack.URL(), c.imap.Addr(), reminders)
	for i := range n {
		c.ins = append(c.ins, newInstance(t, c.dir, bin, fmt.Sprintf("casebot-%d", i+1), common))
	}
	return c
}

var caseIDRe = regexp.MustCompile(`[A-Z]+-\d{4}-\d{4,}`)

// prepare opens nCases cases (mediator U000k, one claimant party each)
// and deadlines on them through the store and command language in this
// process, before any instance runs: deadlines[i] is the "+Nm" of each.
func (c *cluster) prepare(t *testing.T, nCases int, deadlines []string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, c.url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := bot.New(bot.Config{Store: db, DefaultLocation: time.UTC})
	must := func(user, text string) string {
		rep := b.Run(ctx, user, text)
		if rep.Err != nil {
			t.Fatalf("%s: %q refused: %s", user, text, rep.Text)
		}
		return rep.Text
	}
	for k := range nCases {
		user := mediator(k)
		id := caseIDRe.FindString(must(user, fmt.Sprintf("new Failover case %d", k)))
		if id == "" {
			t.Fatal("new: no case ID in the reply")
		}
		must(user, fmt.Sprintf("party add %s claimant \"Party %d\" %s", id, k, partyEmail(k)))
		c.cases = append(c.cases, id)
	}
	for i, when := range deadlines {
		k := i % nCases
		must(mediator(k), fmt.Sprintf("deadline %s %s failover deadline %d", c.cases[k], when, i))
	}
}

func mediator(k int) string   { return fmt.Sprintf("U%04d", k+1) }
func partyEmail(k int) string { return fmt.Sprintf("party-%d@example.com", k) }
func mailID(k int) string     { return fmt.Sprintf("failover-mail-%d@example.com", k) }
func (c *cluster) startAll(t *testing.T) {
	t.Helper()
	for _, in := range c.ins {
		if err := in.start(); err != nil {
			t.Fatal(err)
		}
	}
}

// sendEmails appends n party emails to the INBOX evenly over spread,
// each tagged with its case and with a unique Message-ID.
func (c *cluster) sendEmails(n int, spread time.Duration) error {
	start := time.Now()
	for k := range n {
		if at := start.Add(spread * time.Duration(k) / time.Duration(n)); time.Now().Before(at) {
			time.Sleep(time.Until(at)) // pacing the arrivals
		}
		cs := k % len(c.cases)
		raw := fmt.Sprintf("From: Party %d <%s>\r\nTo: cases@practice.example\r\nSubject: [%s] failover mail %d\r\n"+
			"Date: %s\r\nMessage-ID: <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfailover mail %d\r\n",
			cs, partyEmail(cs), c.cases[cs], k, time.Now().Format(time.RFC1123Z), mailID(k), k)
		if err := c.imap.Append(raw); err != nil {
			return fmt.Errorf("append email %d: %w", k, err)
		}
	}
	return nil
}

// waitLeader waits for exactly one instance to lead and returns it.
func (c *cluster) waitLeader(t *testing.T, within time.Duration) *instance {
	t.Helper()
	var l *instance
	if !waitUntil(within, func() bool { l = leaderOf(c.ins); return l != nil }) {
		t.Fatalf("no single leader within %s", within)
	}
	return l
}

// drain waits until the intake has read every email and the outbox is
// empty (three readings in a row).
func (c *cluster) drain(t *testing.T, l *instance) {
	t.Helper()
	if !waitUntil(2*time.Minute, func() bool { n, err := c.imap.Unseen(); return err == nil && n == 0 }) {
		n, _ := c.imap.Unseen()
		t.Errorf("%d emails still unread after 2 minutes", n)
	}
	empty := 0
	if !waitUntil(2*time.Minute, func() bool {
		if l.metric("casebot_outbox_depth") == 0 {
			empty++
		} else {
			empty = 0
		}
		return empty >= 3
	}) {
		t.Errorf("outbox depth %d after 2 minutes of draining", l.metric("casebot_outbox_depth"))
	}
}

// stopAll stops every running instance with SIGTERM.
func (c *cluster) stopAll(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	for _, in := range c.ins {
		if in.running() {
			wg.Go(func() {
				if err := in.stop(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
}

// audit is the exactly-once check after the cluster stopped.
type audit struct {
	notes, lostMail, doubledMail       int
	remindersDue, remindersSent        int
	lostReminders, doubledPosts, posts int
	problems                           []string
}

func (a *audit) problem(format string, args ...any) {
	if len(a.problems) < 30 {
		a.problems = append(a.problems, fmt.Sprintf(format, args...))
	}
}

// runAudit reads the store and the fake Slack: every email a note exactly
// once; every reminder due before cutoff posted exactly once; no Slack
// message posted twice.
func (c *cluster) runAudit(t *testing.T, nEmails int, cutoff time.Time) *audit {
	t.Helper()
	ctx := context.Background()
	a := &audit{}
	db, err := store.Open(ctx, c.url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(ctx); err != nil {
		a.problem("store check: %v", err)
	}
	cases, err := db.Cases(ctx, casebot.CaseFilter{State: "all"})
	if err != nil {
		t.Fatal(err)
	}
	mails := map[string]int{}
	expect := map[string]bool{}
	for _, cs := range cases {
		for _, d := range cs.Deadlines {
			for _, o := range reminderOffsets {
				fire := d.Due.Add(-o)
				if fire.Before(d.Created) || !fire.Before(cutoff) {
					continue
				}
				expect[fmt.Sprintf("rem/%s/d%d/%d/%s", cs.ID, d.N, d.Due.Unix(), offsetLabel(o))] = true
				a.remindersDue++
			}
		}
		ns, err := db.Notes(ctx, cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Email != nil {
				mails[strings.Trim(n.Email.MessageID, "<>")]++
				a.notes++
			}
		}
	}
	for k := range nEmails {
		switch n := mails[mailID(k)]; {
		case n == 0:
			a.lostMail++
			a.problem("lost: email %s is not a note", mailID(k))
		case n > 1:
			a.doubledMail++
			a.problem("doubled: email %s is %d notes", mailID(k), n)
		}
	}
	posted := map[string]int{}
	for _, p := range c.slack.Posts() {
		key := p.Key
		if key == "" {
			key = "text:" + p.Channel + ":" + p.Text
		}
		posted[key]++
		a.posts++
	}
	for k, n := range posted {
		if n > 1 {
			a.doubledPosts++
			a.problem("doubled: Slack message %q posted %d times", k, n)
		}
	}
	for k := range expect {
		if posted[k] == 0 {
			a.lostReminders++
			a.problem("lost: reminder %s never reached Slack", k)
		} else {
			a.remindersSent++
		}
	}
	return a
}

// offsetLabel names a reminder offset as the scheduler's outbox keys do.
func offsetLabel(o time.Duration) string {
	switch {
	case o%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", o/(24*time.Hour))
	case o%time.Hour == 0:
		return fmt.Sprintf("%dh", o/time.Hour)
	case o%time.Minute == 0:
		return fmt.Sprintf("%dm", o/time.Minute)
	}
	return o.String()
}

// slashCommand sends a signed /case command to an instance and returns
// the status and the reply body.
func slashCommand(in *instance, user, text string) (int, string) {
	form := testserver.SlashForm(user, text, fmt.Sprintf("trigger-%s-%d", user, time.Now().UnixNano()), "")
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, in.base+"/slack/commands", strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range testserver.SignSlack(secret, time.Now(), body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
