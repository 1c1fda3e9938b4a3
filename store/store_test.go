package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testclock"
	"github.com/casebot/casebot/store/kv"
)

// TestHelperProcess is not a test: the tests below re-run the test binary
// with CASEBOT_STORE_HELPER set to act as a second process.
func TestHelperProcess(t *testing.T) {
	mode, path := os.Getenv("CASEBOT_STORE_HELPER"), os.Getenv("CASEBOT_STORE_PATH")
	if mode == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	switch mode {
	case "lock":
		start := time.Now()
		db, err := Open(ctx, path, Options{})
		took := time.Since(start)
		if err == nil {
			_ = db.Close()
			fmt.Println("RESULT opened")
			os.Exit(0)
		}
		fmt.Printf("RESULT %s\nTOOK %d\n", err, took.Milliseconds())
		os.Exit(0)
	case "crash":
		db, err := Open(ctx, path, Options{})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		for i := 0; ; i++ {
			c, err := db.CreateCase(ctx, &casebot.Case{Title: fmt.Sprintf("crash %d", i), Mediator: "U1"}, casebot.Change{Actor: "U1"})
			if err != nil {
				fmt.Println("ERROR", err)
				os.Exit(1)
			}
			fmt.Println("ID", c.ID) // printed only after the commit
		}
	}
	os.Exit(2)
}

func helper(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "CASEBOT_STORE_HELPER="+mode, "CASEBOT_STORE_PATH="+path)
	return cmd
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	skipOnPostgres(t, "the file lock (several instances share a PostgreSQL store)")
	db, _ := openTest(t)
	start := time.Now()
	out, err := helper(t, "lock", db.Path()).CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "RESULT store: ") || !strings.Contains(s, "in use") || !strings.Contains(s, db.Path()) {
		t.Fatalf("second process: got %q, want an error saying %s is in use", s, db.Path())
	}
	var ms int
	if i := strings.Index(s, "TOOK "); i < 0 {
		t.Fatalf("no TOOK line in %q", s)
	} else if _, err := fmt.Sscanf(s[i:], "TOOK %d", &ms); err != nil {
		t.Fatal(err)
	}
	if ms > 2000 {
		t.Errorf("second process gave up after %d ms, want within 2000", ms)
	}
	t.Logf("second process refused after %d ms (whole helper %s)", ms, time.Since(start))
}

// bbolt's flock is per open file description, so a second Open in the same
// process is refused too.
func TestOpenLockedInProcess(t *testing.T) {
	skipOnPostgres(t, "the file lock (several instances share a PostgreSQL store)")
	db, _ := openTest(t)
	start := time.Now()
	_, err := Open(context.Background(), db.Path(), Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrInUse) || !errors.Is(err, bolt.ErrTimeout) || !strings.Contains(err.Error(), db.Path()) {
		t.Fatalf("second Open: got %v, want ErrInUse (and bbolt's ErrTimeout) naming %s", err, db.Path())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %s", d)
	}
}

func TestOpenFileMode(t *testing.T) {
	skipOnPostgres(t, "the file's mode")
	db, _ := openTest(t)
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := openAt(t, path, newClock(), Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx kv.Tx) error { return tx.Bucket(bucketMeta).Put(metaSchemaVersion, be64(99)) })
	_, err := Open(context.Background(), storePath(t, path), Options{})
	want := fmt.Sprintf("schema version 99 is newer than this casebot (%d); upgrade casebot", currentVersion)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open: got %v, want %q", err, want)
	}
}

func TestOpenKeys(t *testing.T) {
	key := func() []byte { k := make([]byte, 32); _, _ = rand.Read(k); return k }
	dir := t.TempDir()
	enc, plain := filepath.Join(dir, "enc.db"), filepath.Join(dir, "plain.db")
	k1 := key()
	for _, p := range []struct {
		path string
		key  []byte
	}{{enc, k1}, {plain, nil}} {
		db, err := Open(context.Background(), storePath(t, p.path), Options{EncryptionKey: p.key})
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	}
	tests := []struct {
		name, path string
		key        []byte
		want       string // "" means success
	}{
		{"right key", enc, k1, ""},
		{"wrong key", enc, key(), "wrong encryption key"},
		{"no key for encrypted store", enc, nil, "is encrypted; set store.encryption_key_file"},
		{"key for plain store", plain, key(), "created without an encryption key"},
		{"short key", plain, make([]byte, 16), "encryption key is 16 bytes"},
		{"no key, plain store", plain, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), storePath(t, tt.path), Options{EncryptionKey: tt.key})
			if err == nil {
				_ = db.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Open: got %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	clk := newClock()
	db := openAt(t, path, clk, Options{})
	c := newCase(t, db, "Read only", "U1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro := openAt(t, path, clk, Options{ReadOnly: true})
	if got, err := ro.Case(context.Background(), c.ID); err != nil || got.Title != "Read only" {
		t.Fatalf("Case: %v, %v", got, err)
	}
	if _, err := ro.CreateCase(context.Background(), &casebot.Case{Title: "x", Mediator: "U1"}, casebot.Change{}); err == nil {
		t.Fatal("CreateCase on a read-only store succeeded")
	}
	if _, err := Open(context.Background(), storePath(t, filepath.Join(t.TempDir(), "missing.db")), Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only Open of a missing file succeeded")
	}
}

func TestBackupWhileWriting(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		newCase(t, db, fmt.Sprintf("case %d", i), "U1")
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.AddNote(ctx, &casebot.Note{CaseID: fmt.Sprintf("MED-2026-%04d", i%20+1), Author: "U1", Body: "during backup"}, casebot.Change{Actor: "U1"}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var buf bytes.Buffer
	n, err := db.Backup(ctx, &buf)
	close(stop)
	wg.Wait()
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup: n=%d len=%d err=%v", n, buf.Len(), err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b := openAt(t, out, newClock(), Options{})
	cs, err := b.Cases(ctx, casebot.CaseFilter{State: "all"})
	if err != nil || len(cs) != 20 {
		t.Fatalf("backup has %d cases (%v), want 20", len(cs), err)
	}
	mustCheck(t, b, "backup")
}

// A process killed (SIGKILL) while creating cases never makes the next
// process hand out one of its IDs again.
func TestCaseIDsSurviveCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := helper(t, "crash", path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	var last string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && len(seen) < 25 {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "ID "); ok {
			seen[id] = true
			last = id
		} else if strings.HasPrefix(line, "ERROR") {
			t.Fatal(line)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(seen) < 25 {
		t.Fatalf("helper printed %d IDs", len(seen))
	}
	db := openAt(t, path, testclock.New(time.Now()), Options{})
	c := newCase(t, db, "after crash", "U1")
	if seen[c.ID] || c.ID <= last {
		t.Fatalf("after the crash got ID %s, want one after %s that was never handed out", c.ID, last)
	}
	mustCheck(t, db, "crash")
}

func TestErrNotFound(t *testing.T) {
	db, _ := openTest(t)
	_, err := db.Case(context.Background(), "MED-2026-0999")
	if casebot.ErrorCode(err) != casebot.ENOTFOUND || !errors.Is(err, casebot.ErrNotFound) {
		t.Fatalf("Case(missing): got %v (code %s), want ENOTFOUND", err, casebot.ErrorCode(err))
	}
	if msg := casebot.ErrorMessage(err); msg != "no such case: MED-2026-0999" {
		t.Errorf("message = %q", msg)
	}
	for name, f := range map[string]func() error{
		"AddNote": func() error {
			_, err := db.AddNote(context.Background(), &casebot.Note{CaseID: "MED-2026-0999", Body: "x"}, casebot.Change{})
			return err
		},
		"Notes":      func() error { _, err := db.Notes(context.Background(), "MED-2026-0999"); return err },
		"Audit":      func() error { _, err := db.Audit(context.Background(), "MED-2026-0999"); return err },
		"RecordView": func() error { return db.RecordView(context.Background(), "MED-2026-0999", "U1", "show") },
		"UpdateCase": func() error {
			_, err := db.UpdateCase(context.Background(), "MED-2026-0999", func(*casebot.Case) (casebot.Change, error) { return casebot.Change{}, nil })
			return err
		},
	} {
		if err := f(); casebot.ErrorCode(err) != casebot.ENOTFOUND {
			t.Errorf("%s(missing): got %v, want ENOTFOUND", name, err)
		}
	}
}
