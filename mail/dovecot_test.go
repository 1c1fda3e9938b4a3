package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/mail"
)

// dovecot returns a logged-in client of the Dovecot server that .ci/run
// starts (CASEBOT_DOVECOT_ADDR, _USER, _PASS), and a fresh mailbox on it;
// the test is skipped when the variables are unset.
func dovecot(t *testing.T) (addr, user, pass, mailbox string, c *imapclient.Client) {
	t.Helper()
	addr, user, pass = os.Getenv("CASEBOT_DOVECOT_ADDR"), os.Getenv("CASEBOT_DOVECOT_USER"), os.Getenv("CASEBOT_DOVECOT_PASS")
	if addr == "" {
		t.Skip("CASEBOT_DOVECOT_ADDR is not set (.ci/run starts Dovecot and sets it)")
	}
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	mailbox = fmt.Sprintf("casebot-%s-%d", t.Name(), time.Now().UnixNano())
	if err := c.Create(mailbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	return addr, user, pass, mailbox, c
}

func appendTo(t *testing.T, c *imapclient.Client, mailbox, raw string) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// Intake against a real Dovecot: notes, a duplicate delivery, a stranger in
// quarantine, \Seen and the move to the processed mailbox, then IDLE.
func TestDovecotIntake(t *testing.T) {
	addr, user, pass, mailbox, c := dovecot(t)
	ctx := context.Background()
	db := openStore(t, nil)
	cs := newCase(t, db, ann)
	a := testAddressing(t)
	m1 := rawMail(ann.Email, a.ReplyTo(cs), "one", "d1@example.com", "First over Dovecot.")
	appendTo(t, c, mailbox, m1)
	appendTo(t, c, mailbox, m1) // delivered twice
	appendTo(t, c, mailbox, rawMail("eve@example.com", a.From(), "["+cs.ID+"]", "d2@example.com", "Stranger."))
	processed := mailbox + "-done"
	results := make(chan casebot.ItemResult, 10)
	cfg := mail.IntakeConfig{Addr: addr, TLS: mail.TLSNone, Username: user, Password: pass, Mailbox: mailbox,
		ProcessedMailbox: processed, Addressing: a, Store: db, Poll: time.Hour,
		MinBackoff: 10 * time.Millisecond, OnResult: func(r casebot.ItemResult) { results <- r }}
	in, err := mail.NewIntake(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 3 {
		got[(<-results).Outcome]++
	}
	if got["note"] != 1 || got["duplicate"] != 1 || got["quarantine"] != 1 {
		t.Fatalf("outcomes %v", got)
	}
	st, err := c.Status(processed, &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
	if err != nil || *st.NumMessages != 3 || *st.NumUnseen != 0 {
		t.Fatalf("processed mailbox status %+v, %v; want 3 messages, all seen", st, err)
	}
	if st, _ := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait(); *st.NumMessages != 0 {
		t.Fatalf("%d messages left in %s", *st.NumMessages, mailbox)
	}

	// IDLE: with a one-hour poll, only the server's notice brings this in.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Run(runCtx) }()
	defer func() {
		cancel()
		<-done
	}()
	appendTo(t, c, mailbox, rawMail(ann.Email, a.ReplyTo(cs), "two", "d3@example.com", "Second, by IDLE."))
	select {
	case r := <-results:
		if r.Outcome != "note" || r.N != 2 {
			t.Fatalf("after IDLE: %+v", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("IDLE did not bring the message within 15 s")
	}
}

// UIDVALIDITY against a real Dovecot: the mailbox is deleted and created
// again holding the same two messages plus a new one; the intake resyncs
// and only the new message becomes a note.
func TestDovecotUIDValidityChange(t *testing.T) {
	addr, user, pass, mailbox, c := dovecot(t)
	ctx := context.Background()
	db := openStore(t, nil)
	cs := newCase(t, db, ann)
	a := testAddressing(t)
	old := []string{
		rawMail(ann.Email, a.ReplyTo(cs), "one", "v1@example.com", "First."),
		rawMail(ann.Email, a.ReplyTo(cs), "two", "v2@example.com", "Second."),
	}
	for _, m := range old {
		appendTo(t, c, mailbox, m)
	}
	cfg := mail.IntakeConfig{Addr: addr, TLS: mail.TLSNone, Username: user, Password: pass, Mailbox: mailbox,
		Addressing: a, Store: db, Poll: time.Hour, MinBackoff: 10 * time.Millisecond}
	in, err := mail.NewIntake(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := noteCount(t, db, cs.ID); n != 2 {
		t.Fatalf("%d notes after the first run, want 2", n)
	}
	before, err := c.Status(mailbox, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(mailbox).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(mailbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, m := range old {
		appendTo(t, c, mailbox, m)
	}
	appendTo(t, c, mailbox, rawMail(ann.Email, a.ReplyTo(cs), "three", "v3@example.com", "Third, after the change."))
	after, err := c.Status(mailbox, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if after.UIDValidity == before.UIDValidity {
		t.Fatalf("Dovecot kept UIDVALIDITY %d for the re-created mailbox; the test needs a change", after.UIDValidity)
	}
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := noteCount(t, db, cs.ID); n != 3 {
		t.Fatalf("%d notes after the UIDVALIDITY change, want 3 (two duplicates, one new)", n)
	}
}

// A dropped connection against a real Dovecot: `doveadm kick` ends every
// session of the user, the intake's IDLE among them; the intake reconnects
// with back-off and takes the next message, once.
func TestDovecotReconnectAfterKick(t *testing.T) {
	addr, user, pass, mailbox, c := dovecot(t)
	conf := os.Getenv("CASEBOT_DOVECOT_CONF")
	doveadm, err := exec.LookPath("doveadm")
	if conf == "" || err != nil {
		t.Skip("needs CASEBOT_DOVECOT_CONF and doveadm (.ci/run sets them up)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	db := openStore(t, nil)
	cs := newCase(t, db, ann)
	a := testAddressing(t)
	results := make(chan casebot.ItemResult, 10)
	var logs testserver.Buffer
	in, err := mail.NewIntake(mail.IntakeConfig{Addr: addr, TLS: mail.TLSNone, Username: user, Password: pass, Mailbox: mailbox,
		Addressing: a, Store: db, Poll: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnResult: func(r casebot.ItemResult) { results <- r },
		Logger:   slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	next := func(what string) casebot.ItemResult {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: no message within 15 s", what)
		}
		return casebot.ItemResult{}
	}
	appendTo(t, c, mailbox, rawMail(ann.Email, a.ReplyTo(cs), "one", "k1@example.com", "Before the kick."))
	if r := next("before the kick"); r.Outcome != "note" || r.N != 1 {
		t.Fatalf("before the kick: %+v", r)
	}
	if out, err := exec.Command(doveadm, "-c", conf, "kick", user).CombinedOutput(); err != nil {
		t.Fatalf("doveadm kick: %v: %s", err, out)
	}
	// The kick ended this client's session too: deliver on a new one.
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("doveadm kick did not end the sessions")
	}
	c2, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	appendTo(t, c2, mailbox, rawMail(ann.Email, a.ReplyTo(cs), "two", "k2@example.com", "After the kick."))
	if r := next("after the kick"); r.Outcome != "note" || r.N != 2 {
		t.Fatalf("after the kick: %+v", r)
	}
	select {
	case r := <-results:
		t.Fatalf("an extra result after the reconnect: %+v", r)
	default:
	}
	if n := noteCount(t, db, cs.ID); n != 2 {
		t.Fatalf("%d notes, want 2", n)
	}
	if l := logs.String(); strings.Count(l, "imap: connected") != 2 || !strings.Contains(l, "imap: connection lost, reconnecting") {
		t.Fatalf("the intake did not lose its connection and connect again:\n%s", l)
	}
}
