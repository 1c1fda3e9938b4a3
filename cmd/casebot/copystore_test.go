package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot/store"
)

// copy-store from the command line: the copy holds the case and the
// report counts every bucket; a second copy to the same target is
// refused; a store held by a running process is reported in use within
// 2 s; usage errors exit 2.
func TestCopyStoreCommand(t *testing.T) {
	cfgPath, storePath := testConfig(t, "")
	r := runMain("do", "-config", cfgPath, "-as", "U01", "new Boundary wall")
	id := caseIDRe.FindString(r.stdout)
	if r.code != exitOK || id == "" {
		t.Fatalf("do new: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	target := filepath.Join(t.TempDir(), "moved.db")
	r = runMain("copy-store", "-config", cfgPath, "-to", target)
	if r.code != exitOK {
		t.Fatalf("copy-store: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`verified it record by record`),
		regexp.MustCompile(`(?m)^\s*cases\s+1\s+\d+\s+0\s*$`),
		regexp.MustCompile(`(?m)^\s*total \(\d+ buckets\)\s+\d+\s+\d+\s*$`),
		regexp.MustCompile(`keyring: none`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("copy-store output lacks %s:\n%s", want, r.stdout)
		}
	}
	assertStoreHasCase(t, target, id, "Boundary wall")

	before, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	r = runMain("copy-store", "-config", cfgPath, "-to", target)
	if r.code != exitFail || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("copy-store to a non-empty target: exit %d, stderr %q; want it refused", r.code, r.stderr)
	}
	if after, err := os.ReadFile(target); err != nil || string(after) != string(before) {
		t.Errorf("the refused target changed (%v)", err)
	}

	db, err := store.Open(context.Background(), storePath, store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r = runMain("copy-store", "-config", cfgPath, "-to", filepath.Join(t.TempDir(), "other.db"))
	_ = db.Close()
	if r.code != exitFail || !strings.Contains(r.stderr, "in use") || !strings.Contains(r.stderr, storePath) {
		t.Errorf("copy-store from a held store: exit %d, stderr %q; want it in use", r.code, r.stderr)
	}
	if r.took >= 2*time.Second {
		t.Errorf("copy-store from a held store took %v, want under 2s", r.took)
	}

	for _, args := range [][]string{
		{"copy-store", "-config", cfgPath},
		{"copy-store", "-config", cfgPath, "-to", target, "extra"},
	} {
		if r := runMain(args...); r.code != exitUsage {
			t.Errorf("casebot %q: exit %d, want %d", args, r.code, exitUsage)
		}
	}
}
