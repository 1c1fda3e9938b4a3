package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casebot/casebot/config"
)

// A template in records.templates_dir that names an unknown field refuses
// the start-up, naming its file and line; the store is not even opened.
func TestDaemonRefusesBadTemplate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "report.md")
	if err := os.WriteFile(bad, []byte("# Report\n\n{{.CaseID}}\n{{.Mediatr}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath, storePath := testConfig(t, fmt.Sprintf("[records]\ntemplates_dir = %q\n", dir))
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := NewDaemon(cfg, testLogger(t))
	err = d.Open(context.Background())
	if err == nil {
		d.Close()
		t.Fatal("the daemon started with a template naming an unknown field")
	}
	if !strings.Contains(err.Error(), bad+":4") || !strings.Contains(err.Error(), "Mediatr") {
		t.Errorf("error %q does not name the file, line and field", err)
	}
	if _, err := os.Stat(storePath); err == nil {
		t.Error("the store was created before the templates were checked")
	}
}

// check-config reads the agreement templates as start-up does: one naming
// an unknown field fails it with the file and line; a good one passes.
func TestCheckConfigChecksTemplates(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "letter.md")
	if err := os.WriteFile(good, []byte("# Letter\n\n{{.CaseID}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath, _ := testConfig(t, fmt.Sprintf("[records]\ntemplates_dir = %q\n", dir))
	if r := runMain("check-config", "-config", cfgPath); r.code != exitOK || !strings.Contains(r.stdout, "config OK") {
		t.Fatalf("check-config with a good template: exit %d, stderr %q", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "report.md")
	if err := os.WriteFile(bad, []byte("# Report\n\n{{.CaseID}}\n{{.Mediatr}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runMain("check-config", "-config", cfgPath)
	if r.code == exitOK || strings.Contains(r.stdout, "config OK") {
		t.Fatalf("check-config passed a template naming an unknown field: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, bad+":4") || !strings.Contains(r.stderr, "Mediatr") {
		t.Errorf("check-config error %q does not name the file, line and field", r.stderr)
	}
}
