package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/casebot/casebot/internal/proctest"
	"github.com/casebot/casebot/internal/testserver"
)

// Soak parameters. CASEBOT_SOAK_SECONDS shortens or lengthens the load
// phase (default 150 s; reminders need at least 150 s to fall due).
const (
	nClients     = 64
	nEmails      = 5000
	nKills       = 5
	maxPerClient = 600
	botToken     = "xoxb-soak"
	secret       = "soak-signing-secret"
)

// reminderOffsets is schedule.reminders of the soak config.
var reminderOffsets = []time.Duration{90 * time.Second, 30 * time.Second}

// TestSoak runs the real binary under load, kills it at random moments,
// and then audits that every acknowledged command, every email and every
// due reminder took effect exactly once. See the package comment. It runs
// on bbolt, then again on PostgreSQL (a database of its own) when
// CASEBOT_POSTGRES_URL is set.
func TestSoak(t *testing.T) {
	if os.Getenv("CASEBOT_SOAK") != "1" {
		t.Skip("the whole-daemon soak runs with CASEBOT_SOAK=1 (.ci/run sets it)")
	}
	loadFor := 150 * time.Second
	if s := os.Getenv("CASEBOT_SOAK_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if min := int((killLead + killTail + nKills*minKillGap) / time.Second); err != nil || n < min {
			t.Fatalf("CASEBOT_SOAK_SECONDS=%q: want a whole number of seconds >= %d (room for %d kills %v apart)", s, min, nKills, minKillGap)
		}
		loadFor = time.Duration(n) * time.Second
	}
	bin := proctest.BuildCasebot(t, t.TempDir())
	t.Run("bbolt", func(t *testing.T) { soak(t, bin, loadFor, bboltStore) })
	t.Run("postgres", func(t *testing.T) { soak(t, bin, loadFor, postgresStore) })
}

// soak is one whole-daemon soak of the binary bin on the store that
// storeFor sets up in dir.
func soak(t *testing.T, bin string, loadFor time.Duration, storeFor func(t *testing.T, dir string) soakStore) {
	began := time.Now()
	dir := t.TempDir()
	st := storeFor(t, dir)
	slack := testserver.NewSlack(t, botToken, testserver.RateLimitEvery(200))
	smtpSrv := testserver.NewSMTP(t, testserver.SMTPOptions{})
	imapSrv := testserver.NewIMAP(t, "cases", "pw")

	addr := proctest.FreePort(t)
	cfgPath := filepath.Join(dir, "casebot.toml")
	cfg := fmt.Sprintf(`[store]
%s
[http]
listen = %q
[slack]
signing_secret = %q
bot_token = %q
api_url = %q
[imap]
addr = %q
tls = "none"
username = "cases"
password = "pw"
poll_interval = "5s"
[smtp]
addr = %q
tls = "none"
from = "Mediation Office <cases@practice.example>"
[schedule]
timezone = "UTC"
reminders = ["90s", "30s"]
`, st.config, addr, secret, botToken, slack.URL(), imapSrv.Addr(), smtpSrv.Addr())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "casebot.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d := &daemonProc{bin: bin, cfg: cfgPath, base: "http://" + addr, log: logf, env: st.env}
	ctx := context.Background()
	if err := d.start(ctx); err != nil {
		t.Fatal(err)
	}
	running := true
	defer func() {
		if running {
			_ = d.kill()
		}
		if t.Failed() {
			t.Logf("daemon log: warnings, errors and role changes:\n%s", d.notable(80))
			t.Logf("daemon log tail:\n%s", d.tail(60))
		}
	}()

	// Clients open their cases before the chaos starts.
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: nClients, MaxConnsPerHost: nClients}}
	ep := newEpoch()
	clients := make([]*slackClient, nClients)
	for i := range clients {
		clients[i] = &slackClient{id: i + 1, user: fmt.Sprintf("U%04d", i+1), base: d.base, secret: secret, http: hc,
			slack: slack, epoch: ep, rng: rand.New(rand.NewPCG(uint64(i), uint64(began.UnixNano())))}
	}
	prepCtx, prepCancel := context.WithTimeout(ctx, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, nClients)
	for _, c := range clients {
		wg.Go(func() {
			if err := c.prepare(prepCtx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	prepCancel()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	prepared := time.Now()

	// Load, mail and chaos together.
	loadStart := time.Now()
	remindersUntil := loadStart.Add(loadFor / 4)
	loadCtx, loadCancel := context.WithTimeout(ctx, loadFor)
	defer loadCancel()
	for _, c := range clients {
		wg.Go(func() { c.load(loadCtx, maxPerClient, remindersUntil) })
	}
	mailErr := make(chan error, 1)
	wg.Go(func() { mailErr <- sendEmails(imapSrv, clients, loadFor*4/5) })

	var backupOut string
	var backupRes backupResult
	kills := 0
	chaosErr := make(chan error, 1)
	wg.Go(func() {
		chaosErr <- func() error {
			for i, at := range killTimes(loadFor) {
				select {
				case <-loadCtx.Done():
					return nil
				case <-time.After(time.Until(loadStart.Add(at))):
				}
				if err := d.kill(); err != nil {
					return err
				}
				kills++
				ep.next()
				time.Sleep(time.Duration(rand.IntN(1000)) * time.Millisecond) // downtime
				if err := d.start(ctx); err != nil {
					return fmt.Errorf("restart after kill %d: %w", kills, err)
				}
				if i == 1 { // a hot backup while the clients and the intake write
					backupOut = filepath.Join(dir, "backup.db")
					out, err := d.backup(backupOut)
					if err != nil {
						return fmt.Errorf("casebot backup: %v: %s", err, out)
					}
					backupRes = checkBackup(backupOut, st.key, st.keyring)
				}
			}
			return nil
		}()
	})
	wg.Wait()
	if err := <-chaosErr; err != nil {
		running = d.cmd.ProcessState == nil
		t.Fatal(err)
	}
	if err := <-mailErr; err != nil {
		t.Fatal(err)
	}
	if backupRes.err != nil {
		t.Errorf("backup %s: %v", backupOut, backupRes.err)
	}

	// Drain: every reminder has fallen due, every email is read, the
	// outbox is empty; then a clean stop.
	lastFire := slices.MaxFunc([]time.Time{remindersUntil.Add(2*time.Minute - 30*time.Second), prepared.Add(3*time.Minute - 30*time.Second)},
		func(a, b time.Time) int { return a.Compare(b) })
	time.Sleep(time.Until(lastFire.Add(3 * time.Second))) // until the last reminder's time, a wall-clock event
	if !waitUntil(2*time.Minute, func() bool { n, err := imapSrv.Unseen(); return err == nil && n == 0 }) {
		n, _ := imapSrv.Unseen()
		t.Errorf("%d emails still unread by the intake after 2 minutes", n)
	}
	empty := 0
	if !waitUntil(2*time.Minute, func() bool {
		if d.outboxDepth() == 0 {
			empty++
		} else {
			empty = 0
		}
		return empty >= 3
	}) {
		t.Errorf("outbox depth %d after 2 minutes of draining", d.outboxDepth())
	}
	cutoff := time.Now().Add(-2 * time.Second)
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	running = false

	a := runAudit(t, st.location, st.key, clients, slack, cutoff)
	deliveries, distinct, resent := smtpCounts(smtpSrv.Messages())
	var cmds, acked, refused, unacked int
	for _, c := range clients {
		for _, r := range c.records {
			cmds++
			switch {
			case !r.acked:
				unacked++
			case !r.ok:
				refused++
				acked++
			default:
				acked++
			}
		}
	}
	engine := st.engine
	if st.key != nil {
		engine += ", encrypted"
	}
	figures := fmt.Sprintf("soak figures: engine %s; commands %d (acknowledged %d, of which refused %d; unacknowledged %d) from %d clients; "+
		"emails %d (notes %d); reminders due %d (sent %d); slack posts %d (distinct keys %d, 429s %d, history checks %d); "+
		"smtp deliveries %d (distinct Message-IDs %d, resent after a kill %d); kills %d; backup %s; lost = %d, doubled = %d; took %s",
		engine, cmds, acked, refused, unacked, nClients, nEmails, a.emailNotes, a.remindersDue, a.remindersSent,
		a.posts, a.keys, slack.Limited(), slack.HistoryCalls(), deliveries, distinct, resent, kills,
		backupRes, a.lost, a.doubled, time.Since(began).Round(time.Second))
	t.Log(figures)
	fmt.Println(figures)
	for _, p := range a.problems {
		t.Error(p)
	}
	if a.lost != 0 || a.doubled != 0 {
		t.Errorf("lost %d, doubled %d; want 0 and 0", a.lost, a.doubled)
	}
	if kills != nKills {
		t.Errorf("killed the daemon %d times, want %d", kills, nKills)
	}
	if acked < cmds/2 {
		t.Errorf("only %d of %d commands were acknowledged", acked, cmds)
	}
}

// killTimes returns nKills moments in the load phase, at least 8 s apart,
// none in its first 10 s or last 15 s.
func killTimes(loadFor time.Duration) []time.Duration {
	// One kill in each of nKills equal slots between the lead and the tail,
	// at a random point that leaves at least minKillGap to the next.
	slot := (loadFor - killLead - killTail) / nKills
	ts := make([]time.Duration, nKills)
	for i := range ts {
		var jitter time.Duration
		if free := slot - minKillGap; free > 0 {
			jitter = time.Duration(rand.Int64N(int64(free)))
		}
		ts[i] = killLead + time.Duration(i)*slot + jitter
	}
	return ts
}

// Kills fall between killLead after the start and killTail before the end
// of the load, at least minKillGap apart.
const (
	killLead   = 10 * time.Second
	killTail   = 15 * time.Second
	minKillGap = 8 * time.Second
)

// sendEmails appends nEmails party emails to the INBOX, evenly over
// spread: each from the claimant of a client's base case, tagged with the
// case ID, with a unique Message-ID.
func sendEmails(s *testserver.IMAP, clients []*slackClient, spread time.Duration) error {
	start := time.Now()
	for k := range nEmails {
		if at := start.Add(spread * time.Duration(k) / nEmails); time.Now().Before(at) {
			time.Sleep(time.Until(at)) // pacing the arrivals
		}
		c := clients[k%len(clients)]
		raw := fmt.Sprintf("From: Party %d <%s>\r\nTo: cases@practice.example\r\nSubject: [%s] soak mail %d\r\n"+
			"Date: %s\r\nMessage-ID: <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsoak-mail-%d from party %d\r\n",
			c.id, partyEmail(c.id), c.baseCase, k, time.Now().Format(time.RFC1123Z), mailID(k), k, c.id)
		if err := s.Append(raw); err != nil {
			return fmt.Errorf("append email %d: %w", k, err)
		}
	}
	return nil
}

// mailID is the Message-ID of the k-th party email.
func mailID(k int) string { return fmt.Sprintf("soak-mail-%d@example.com", k) }
