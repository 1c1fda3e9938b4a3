package soak

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/pgurl"
	"github.com/casebot/casebot/internal/testserver"
	"github.com/casebot/casebot/store"
)

// audit is the outcome of the final exactly-once check.
type audit struct {
	lost, doubled               int
	emailNotes                  int
	remindersDue, remindersSent int
	posts, keys                 int
	problems                    []string
}

func (a *audit) problem(counter *int, format string, args ...any) {
	if counter != nil {
		*counter++
	}
	if len(a.problems) < 40 {
		a.problems = append(a.problems, fmt.Sprintf(format, args...))
	}
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

// runAudit opens the stopped daemon's store read-only and checks, against
// what the clients were told and what the fake Slack received: every
// acknowledged write exactly once, every unacknowledged one at most once;
// every email a note exactly once; every reminder due before cutoff and
// every email-note notice posted exactly once; no Slack message posted
// twice; the outbox empty; the store's indexes and bbolt's pages sound.
// path is a bbolt file or a PostgreSQL URL.
func runAudit(t *testing.T, path string, key []byte, clients []*slackClient, slack *testserver.Slack, cutoff time.Time) *audit {
	t.Helper()
	ctx := context.Background()
	a := &audit{}
	db, err := store.Open(ctx, path, store.Options{ReadOnly: true, EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		a.problem(nil, "store check: %v", err)
	}
	if n, err := db.OutboxDepth(ctx); err != nil || n != 0 {
		a.problem(nil, "outbox depth %d (%v), want 0", n, err)
	}
	cases, err := db.Cases(ctx, casebot.CaseFilter{State: "all"})
	if err != nil {
		t.Fatal(err)
	}
	titles, parties, deadlines, sessions, notes, mails := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	met := map[string]bool{}
	expect := map[string]string{} // Slack key that must be posted -> what
	for _, c := range cases {
		titles[c.Title]++
		for _, p := range c.Parties {
			parties[p.Email]++
		}
		for _, d := range c.Deadlines {
			deadlines[d.Text]++
			met[fmt.Sprintf("%s/%d", c.ID, d.N)] = d.Met
			for _, o := range reminderOffsets {
				fire := d.Due.Add(-o)
				if fire.Before(d.Created) || !fire.Before(cutoff) || (d.Met && !d.MetAt.After(fire)) {
					continue
				}
				expect[fmt.Sprintf("rem/%s/d%d/%d/%s", c.ID, d.N, d.Due.Unix(), offsetLabel(o))] = "deadline reminder"
				a.remindersDue++
			}
		}
		for _, s := range c.Sessions {
			sessions[s.Title]++
			for _, o := range reminderOffsets {
				fire := s.Start.Add(-o)
				if s.Cancelled || fire.Before(s.Created) || !fire.Before(cutoff) {
					continue
				}
				expect[fmt.Sprintf("rem/%s/s%d/seq%d/%d/%s", c.ID, s.N, s.Sequence, s.Start.Unix(), offsetLabel(o))] = "session reminder"
				a.remindersDue++
			}
		}
		ns, err := db.Notes(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Email == nil {
				notes[n.Body]++
				continue
			}
			mails[strings.Trim(n.Email.MessageID, "<>")]++
			a.emailNotes++
			expect[fmt.Sprintf("email-note/%s/%d", c.ID, n.N)] = "email notice"
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !pgurl.Is(path) {
		if err := boltCheck(path); err != nil {
			a.problem(nil, "bbolt check %s: %v", path, err)
		}
	}

	// Commands.
	for _, c := range clients {
		for _, r := range c.records {
			if !writes[r.kind] {
				continue
			}
			var n int
			switch r.kind {
			case "new":
				n = titles[r.marker]
			case "note":
				n = notes[r.marker]
			case "party":
				n = parties[r.marker]
			case "deadline", "rdeadline":
				n = deadlines[r.marker]
			case "session":
				n = sessions[r.marker]
			case "done":
				if r.acked && r.ok && !met[fmt.Sprintf("%s/%d", r.caseID, r.dlN)] {
					a.problem(&a.lost, "lost: %q was acknowledged (%q) but the deadline is not met", r.text, r.reply)
				}
				continue
			}
			switch {
			case n > 1:
				a.problem(&a.doubled, "doubled: %q took effect %d times (acked %v)", r.text, n, r.acked)
			case r.acked && r.ok && n == 0:
				a.problem(&a.lost, "lost: %q was acknowledged (%q) but is not in the store", r.text, r.reply)
			case r.acked && !r.ok && n == 1:
				a.problem(&a.doubled, "refused %q (%q) took effect", r.text, r.reply)
			}
		}
	}

	// Emails.
	for k := range nEmails {
		switch n := mails[mailID(k)]; {
		case n == 0:
			a.problem(&a.lost, "lost: email %s is not a note", mailID(k))
		case n > 1:
			a.problem(&a.doubled, "doubled: email %s is %d notes", mailID(k), n)
		}
	}
	if len(mails) != nEmails {
		a.problem(nil, "%d distinct emails became notes, want %d", len(mails), nEmails)
	}

	// Slack: nothing twice, everything expected once.
	posted := map[string]int{}
	for _, p := range slack.Posts() {
		posted[postKey(p)]++
		a.posts++
	}
	a.keys = len(posted)
	for k, n := range posted {
		if n > 1 {
			a.problem(&a.doubled, "doubled: Slack message %q posted %d times", k, n)
		}
	}
	for k, what := range expect {
		if posted[k] == 0 {
			a.problem(&a.lost, "lost: %s %s never reached Slack", what, k)
		} else if strings.HasPrefix(k, "rem/") {
			a.remindersSent++
		}
	}
	return a
}

// boltCheck runs bbolt's page consistency check over the file.
func boltCheck(path string) error {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer bdb.Close()
	return bdb.View(func(tx *bolt.Tx) error {
		var errs []string
		for err := range tx.Check() {
			errs = append(errs, err.Error())
		}
		if len(errs) > 0 {
			return fmt.Errorf("%d errors: %s", len(errs), strings.Join(errs[:min(len(errs), 5)], "; "))
		}
		return nil
	})
}

// backupResult describes the hot backup taken during the soak.
type backupResult struct {
	size  int64
	cases int
	err   error
}

func (b backupResult) String() string {
	if b.err != nil {
		return "FAILED: " + b.err.Error()
	}
	return fmt.Sprintf("%d bytes, %d cases, bbolt check and store check pass", b.size, b.cases)
}

// checkBackup opens a backup file: bbolt's check, then the store's index
// check through a read-only store. An encrypted store's backup is opened
// with its key and a copy of the running store's keyring taken now, as an
// operator keeps one: it holds every key the backup's content uses (each
// was appended before the commit that first used it), and may end in a
// key being appended this moment, which Open drops.
func checkBackup(path string, key []byte, keyring string) backupResult {
	fi, err := os.Stat(path)
	if err != nil {
		return backupResult{err: err}
	}
	r := backupResult{size: fi.Size()}
	if err := boltCheck(path); err != nil {
		r.err = fmt.Errorf("bbolt check: %w", err)
		return r
	}
	if key != nil {
		ring, err := os.ReadFile(keyring)
		if err == nil {
			err = os.WriteFile(path+".keys", ring, 0o600)
		}
		if err != nil {
			r.err = fmt.Errorf("copy the keyring: %w", err)
			return r
		}
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{ReadOnly: true, EncryptionKey: key})
	if err != nil {
		r.err = err
		return r
	}
	defer db.Close()
	if err := db.Check(ctx); err != nil {
		r.err = fmt.Errorf("store check: %w", err)
		return r
	}
	cs, err := db.Cases(ctx, casebot.CaseFilter{State: "all"})
	if err != nil {
		r.err = err
		return r
	}
	r.cases = len(cs)
	return r
}
