package mail_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/mail"
	"github.com/casebot/casebot/store"
)

// Environment of the crash test's child process.
const (
	envChild     = "CASEBOT_INTAKE_CHILD"
	envChildAddr = "CASEBOT_INTAKE_CHILD_ADDR"
	envChildDB   = "CASEBOT_INTAKE_CHILD_DB"
)

// TestIntakeChild is the child of TestIntakeSurvivesKill: it ingests the
// parent's mailbox into the parent's store, printing a line per stored
// message, and is killed with SIGKILL at random moments.
func TestIntakeChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("runs only as the child of TestIntakeSurvivesKill")
	}
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	in := childIntake(t, os.Getenv(envChildDB), os.Getenv(envChildAddr), func(cfg *mail.IntakeConfig) {
		cfg.BatchSize = 50
		cfg.OnResult = func(r casebot.ItemResult) {
			fmt.Fprintf(out, "%s %d\n", r.Outcome, r.UID)
			_ = out.Flush()
		}
	})
	if err := in.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(out, "DONE")
	_ = out.Flush()
}

// childIntake is the intake of a child test process: the parent's store
// at dbPath (closed when the test ends) and its IMAP server at addr.
func childIntake(t *testing.T, dbPath, addr string, mod func(*mail.IntakeConfig)) *mail.Intake {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath, store.Options{Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, err := mail.NewAddressing("Mediation Office <cases@practice.example>")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mail.IntakeConfig{Addr: addr, TLS: mail.TLSNone, Username: imapUser, Password: imapPass,
		Addressing: a, Store: db, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	in, err := mail.NewIntake(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// A child process ingesting a 2,000-message mailbox is killed with SIGKILL
// at random moments, five times; after a final clean run every message is
// a note exactly once.
func TestIntakeSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	const total = 2000
	s := startIMAP(t)
	dbPath := filepath.Join(t.TempDir(), "casebot.db")
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c := newCase(t, db, ann)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	a := testAddressing(t)
	for i := range total {
		s.append(t, "INBOX", rawMail(ann.Email, a.ReplyTo(c), fmt.Sprintf("msg %d", i), fmt.Sprintf("m%d@example.com", i),
			fmt.Sprintf("Message number %d.", i)))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	run := func(killAfter int) (lines int, done bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIntakeChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"=1", envChildAddr+"="+s.addr, envChildDB+"="+dbPath)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "DONE" {
				done = true
				continue
			}
			lines++
			if killAfter >= 0 && lines >= killAfter {
				// A random extra moment, so some kills land inside a commit.
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				_ = cmd.Process.Kill() // SIGKILL
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		return lines, done
	}
	for i := range 5 {
		k := 1 + rng.IntN(total/5)
		n, _ := run(k)
		t.Logf("run %d: killed after %d stored messages", i+1, n)
	}
	if _, done := run(-1); !done {
		t.Fatal("the final clean run did not finish")
	}
	db, err = store.Open(ctx, dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	notes, err := db.Notes(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, n := range notes {
		seen[n.Email.MessageID]++
	}
	for i := range total {
		id := fmt.Sprintf("m%d@example.com", i)
		if seen[id] != 1 {
			t.Errorf("message %s is %d notes, want exactly 1", id, seen[id])
		}
	}
	if len(notes) != total {
		t.Fatalf("%d notes, want %d", len(notes), total)
	}
	// Each note's mediator notice waits in the notice feed, committed with
	// the note: none lost, none twice.
	if n, err := db.NoticesPending(ctx); err != nil || n != total {
		t.Fatalf("%d notes wait for a notice (%v), want %d", n, err, total)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
