package failover

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFailover: three instances on one database ingest a 2,000-message
// mailbox while 200 reminders fall due; the leader is killed with SIGKILL
// twice (once during the intake, once as reminders fall due). Another
// instance takes over within the lease plus 5 s each time, and in the end
// every email is a note exactly once and every reminder was posted to
// Slack exactly once.
func TestFailover(t *testing.T) {
	const (
		nCases  = 10
		nEmails = 2000
	)
	c := newCluster(t, 3)
	// 100 deadlines, each with two reminders (90 s and 30 s before):
	// 200 reminders falling due between 30 s and 150 s from now.
	var dls []string
	for i := range 100 {
		dls = append(dls, fmt.Sprintf("+%dm", 2+i%2))
	}
	prepared := time.Now()
	c.prepare(t, nCases, dls)
	c.startAll(t)
	l := c.waitLeader(t, 10*time.Second)

	mailErr := make(chan error, 1)
	go func() { mailErr <- c.sendEmails(nEmails, 30*time.Second) }()

	var takeovers []time.Duration
	killLeader := func(at time.Time) {
		t.Helper()
		time.Sleep(time.Until(at)) // a moment in the load, a wall-clock event
		old := leaderOf(c.ins)
		if old == nil {
			t.Fatal("no single leader before the kill")
		}
		if err := old.kill(); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		var next *instance
		if !waitUntil(lease+5*time.Second, func() bool { next = leaderOf(c.ins); return next != nil }) {
			t.Fatalf("no instance took over within lease + 5s of killing %s", old.name)
		}
		took := time.Since(killed)
		takeovers = append(takeovers, took)
		t.Logf("killed leader %s; %s took over after %s", old.name, next.name, took.Round(time.Millisecond))
		if err := old.start(); err != nil { // back as a follower
			t.Fatal(err)
		}
	}
	killLeader(time.Now().Add(10 * time.Second))                    // during the intake
	killLeader(prepared.Add(90*time.Second + 300*time.Millisecond)) // as the first +2m reminders' second fall due
	if err := <-mailErr; err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(prepared.Add(3*time.Minute - 30*time.Second + 3*time.Second))) // until the last reminder's time
	l = c.waitLeader(t, lease+5*time.Second)
	c.drain(t, l)
	cutoff := time.Now().Add(-2 * time.Second)
	c.stopAll(t)

	a := c.runAudit(t, nEmails, cutoff)
	t.Logf("failover figures: emails %d, notes %d (lost %d, doubled %d); reminders due %d, sent %d (lost %d); slack posts %d (doubled %d); take-overs %v (lease %s)",
		nEmails, a.notes, a.lostMail, a.doubledMail, a.remindersDue, a.remindersSent, a.lostReminders, a.posts, a.doubledPosts, takeovers, lease)
	for _, p := range a.problems {
		t.Error(p)
	}
	if a.notes != nEmails || a.remindersDue != 200 || a.remindersSent != 200 {
		t.Errorf("notes %d, reminders due %d sent %d; want %d, 200, 200", a.notes, a.remindersDue, a.remindersSent, nEmails)
	}
}

// TestFencing: a leader frozen with SIGSTOP past its lease while another
// takes over, then resumed, commits nothing: it steps down (its log says
// so), and no email becomes two notes and no Slack message is posted twice.
func TestFencing(t *testing.T) {
	const nEmails = 600
	c := newCluster(t, 2)
	c.prepare(t, 5, nil)
	c.startAll(t)
	mailErr := make(chan error, 1)
	go func() { mailErr <- c.sendEmails(nEmails, 10*time.Second) }()
	time.Sleep(3 * time.Second) // the intake is under way, a wall-clock event
	old := c.waitLeader(t, 5*time.Second)
	if err := old.signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	var next *instance
	if !waitUntil(lease+5*time.Second, func() bool {
		for _, in := range c.ins {
			if in != old && in.leads() {
				next = in
				return true
			}
		}
		return false
	}) {
		t.Fatal("no instance took over from the frozen leader")
	}
	t.Logf("%s frozen; %s took over after %s", old.name, next.name, time.Since(frozen).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // the new leader works while the old one sleeps
	if err := old.signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(lease+5*time.Second, func() bool { return strings.Contains(old.logs(), "stepped down") }) {
		t.Errorf("%s did not log its step-down after SIGCONT", old.name)
	}
	if l := c.waitLeader(t, lease+5*time.Second); l != next {
		t.Logf("after resuming, the leader is %s", l.name)
	}
	if err := <-mailErr; err != nil {
		t.Fatal(err)
	}
	l := c.waitLeader(t, lease+5*time.Second)
	c.drain(t, l)
	c.stopAll(t)
	a := c.runAudit(t, nEmails, time.Now())
	for _, p := range a.problems {
		t.Error(p)
	}
	if a.notes != nEmails {
		t.Errorf("notes %d, want %d", a.notes, nEmails)
	}
	fenced := strings.Count(old.logs(), "fenced")
	t.Logf("fencing figures: the resumed ex-leader logged %d fenced writes; notes %d; slack posts %d (doubled %d)", fenced, a.notes, a.posts, a.doubledPosts)
}

// TestRoles: casebot_leader is 1 on exactly one of three instances, and
// a reminder added through a follower's /case deadline reaches the
// leader's scheduler (NOTIFY) and is sent.
func TestRoles(t *testing.T) {
	c := newCluster(t, 3)
	c.prepare(t, 1, nil)
	c.startAll(t)
	l := c.waitLeader(t, 10*time.Second)
	leaders := 0
	var follower *instance
	for _, in := range c.ins {
		switch in.metric("casebot_leader") {
		case 1:
			leaders++
		case 0:
			follower = in
		default:
			t.Errorf("%s: casebot_leader missing", in.name)
		}
		if !strings.Contains(in.logs(), "role=") {
			t.Errorf("%s: the start-up log does not say the role", in.name)
		}
	}
	if leaders != 1 || follower == nil {
		t.Fatalf("%d leaders, follower %v; want 1 and one", leaders, follower)
	}
	// A deadline in 2 minutes: its 90 s reminder falls due in 30 s.
	code, body := slashCommand(follower, mediator(0), fmt.Sprintf("deadline %s +2m roles deadline", c.cases[0]))
	if code != 200 || !strings.Contains(strings.ToLower(body), "deadline") {
		t.Fatalf("deadline through %s: %d %s", follower.name, code, body)
	}
	added := time.Now()
	key := ""
	if !waitUntil(30*time.Second+15*time.Second, func() bool {
		for _, p := range c.slack.Posts() {
			if strings.HasPrefix(p.Key, "rem/"+c.cases[0]+"/") && strings.HasSuffix(p.Key, "/"+offsetLabel(90*time.Second)) {
				key = p.Key
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the reminder of the deadline added through %s never reached Slack (leader %s)", follower.name, l.name)
	}
	t.Logf("reminder %s posted %s after the deadline was added through %s", key, time.Since(added).Round(time.Millisecond), follower.name)
	c.stopAll(t)
}
