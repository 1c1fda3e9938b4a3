package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/casefile"
	"github.com/casebot/casebot/config"
)

// exportConfig writes a config whose store has a key when encrypt is
// set, with UADM as the one admin, and returns its path.
func exportConfig(t *testing.T, encrypt bool) string {
	t.Helper()
	dir := t.TempDir()
	keyLine := ""
	if encrypt {
		keyPath := filepath.Join(dir, "casebot.key")
		if err := os.WriteFile(keyPath, []byte(strings.Repeat("7c", 32)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		keyLine = fmt.Sprintf("encryption_key_file = %q\n", keyPath)
	}
	cfgPath := filepath.Join(dir, "casebot.toml")
	content := fmt.Sprintf("[store]\npath = %q\n%s[http]\nlisten = \"127.0.0.1:0\"\n[slack]\nadmins = [\"UADM\"]\n",
		filepath.Join(dir, "casebot.db"), keyLine)
	if err := os.WriteFile(cfgPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// offlineDaemon opens the config's store as casebot do does without a
// daemon; it is closed at the end of the test (closing twice is fine).
func offlineDaemon(t *testing.T, cfgPath string) *Daemon {
	t.Helper()
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := NewDaemon(cfg, testLogger(t))
	if err := d.OpenOffline(context.Background(), time.Second); err != nil {
		t.Fatalf("OpenOffline: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// fillCase makes U1's case with a party, a deadline, a session, notes
// (one private) and two of Ann's emails bringing documents, among them
// hostile names, names that differ only in case and one file sent twice.
func fillCase(t *testing.T, d *Daemon) string {
	t.Helper()
	ctx := context.Background()
	rep := d.Command(ctx, "U1", "new Lease dispute")
	id := regexp.MustCompile(`MED-\d{4}-\d{4}`).FindString(rep.Text)
	for _, cmd := range []string{
		`party add ` + id + ` claimant "Ann Lee" ann@example.com`,
		`deadline ` + id + ` +3d Position statements`,
		`session ` + id + ` +4d 1h30m Opening session --where "Room 4"`,
		`note ` + id + ` Called Ann; she will send the lease.`,
		`note ` + id + ` --private Caucus: Ann would take 5k`,
	} {
		if rep := d.Command(ctx, "U1", cmd); rep.Err != nil {
			t.Fatalf("%s: %s", cmd, rep.Text)
		}
	}
	statement := make([]byte, 64<<10)
	_, _ = rand.Read(statement)
	att := func(name string, content []byte) casebot.Attachment {
		sum := sha256.Sum256(content)
		return casebot.Attachment{Name: name, Type: "application/octet-stream", Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), Content: content}
	}
	mail := func(uid uint32, subject, body string, atts ...casebot.Attachment) casebot.MailItem {
		raw := fmt.Sprintf("From: Ann Lee <ann@example.com>\r\nSubject: %s\r\nMessage-ID: <m%d@example.com>\r\n\r\n%s\r\n(and %d attachments)\r\n",
			subject, uid, body, len(atts))
		return casebot.MailItem{UID: uid, DedupeKey: fmt.Sprintf("m%d", uid), Note: &casebot.Note{CaseID: id, Author: "ann@example.com",
			Source: casebot.SourceEmail, Body: body, Email: &casebot.EmailMeta{From: "ann@example.com", FromName: "Ann Lee", Subject: subject,
				MessageID: fmt.Sprintf("<m%d@example.com>", uid), Raw: []byte(raw), Attachments: atts}}}
	}
	items := []casebot.MailItem{
		mail(1, "["+id+"] Written statement", "Attached is our written statement.",
			att("Stellungnahme_Müller.pdf", statement), att("../../etc/passwd", []byte("root:x:0:0"))),
		mail(2, "["+id+"] More", "Two reports, and the statement again.",
			att("evil\x1b[31m\x00name\u202etxt.exe", []byte("evil")), att("Report.PDF", []byte("upper")), att("report.pdf", []byte("lower")),
			att("statement-again.pdf", statement)),
	}
	if _, err := d.DB.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 2, Items: items}); err != nil {
		t.Fatal(err)
	}
	if _, n, err := d.DB.Documents(ctx, id, 0); err != nil || n != 5 {
		t.Fatalf("%d documents (%v), want 5", n, err)
	}
	return id
}

// checkExport unzips out and compares every part with the store, as user
// sees the case, and checks the export is the newest entry of the audit
// trail.
func checkExport(t *testing.T, d *Daemon, user, id, out string) {
	t.Helper()
	ctx := context.Background()
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", out, fi.Mode())
	}
	if left := dirNames(t, filepath.Dir(out)); len(left) != 1 {
		t.Errorf("the folder holds %q, want only the zip", left)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	entries := map[string][]byte{}
	for _, e := range zr.File {
		if !filepath.IsLocal(e.Name) || filepath.Clean(e.Name) != e.Name || strings.ContainsAny(e.Name, "\\\x00\x1b\u202e") {
			t.Errorf("unsafe entry %q", e.Name)
		}
		r, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		_ = r.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		entries[e.Name] = b
	}

	c, err := d.DB.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var cj casefile.CaseJSON
	if err := json.Unmarshal(entries["case.json"], &cj); err != nil {
		t.Fatalf("case.json: %v", err)
	}
	if cj.ID != c.ID || cj.Title != c.Title || cj.Status != string(c.Status) || cj.Priority != string(c.Priority) || cj.Mediator != c.Mediator ||
		cj.ExportedBy != user || cj.Offers == nil || len(cj.Offers) != 0 {
		t.Errorf("case.json %+v, want the case %+v", cj, c)
	}
	if len(cj.Parties) != len(c.Parties) || cj.Parties[0].Name != c.Parties[0].Name || cj.Parties[0].Email != c.Parties[0].Email ||
		cj.Parties[0].Role != string(c.Parties[0].Role) {
		t.Errorf("case.json parties %+v, want %+v", cj.Parties, c.Parties)
	}
	if len(cj.Deadlines) != 1 || cj.Deadlines[0].Text != c.Deadlines[0].Text || !cj.Deadlines[0].Due.Equal(c.Deadlines[0].Due) {
		t.Errorf("case.json deadlines %+v, want %+v", cj.Deadlines, c.Deadlines)
	}
	if len(cj.Sessions) != 1 || cj.Sessions[0].Title != c.Sessions[0].Title || !cj.Sessions[0].Start.Equal(c.Sessions[0].Start) ||
		cj.Sessions[0].Minutes != 90 || cj.Sessions[0].Where != "Room 4" {
		t.Errorf("case.json sessions %+v, want %+v", cj.Sessions, c.Sessions)
	}
	if bytes.Contains(entries["case.json"], []byte(c.Token)) {
		t.Error("case.json holds the case's reply token")
	}

	notes, err := d.DB.Notes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	emails := 0
	for _, n := range notes {
		text, ok := entries[fmt.Sprintf("notes/%04d.txt", n.N)]
		if !ok {
			t.Errorf("no file for note %d", n.N)
			continue
		}
		if !strings.HasSuffix(string(text), "\n\n"+n.Body+"\n") || !strings.Contains(string(text), "Author: "+n.Author+"\n") ||
			!strings.Contains(string(text), fmt.Sprintf("Private: %s\n", map[bool]string{true: "yes", false: "no"}[n.Private])) {
			t.Errorf("notes/%04d.txt:\n%s\nwant note %+v", n.N, text, n)
		}
		if n.Email == nil {
			continue
		}
		emails++
		if !strings.Contains(string(text), "Subject: "+n.Email.Subject+"\n") || !strings.Contains(string(text), "From: Ann Lee <ann@example.com>\n") {
			t.Errorf("notes/%04d.txt lacks the email's sender and subject:\n%s", n.N, text)
		}
		if got := entries[fmt.Sprintf("emails/%04d.eml", n.N)]; len(n.Email.Raw) == 0 || !bytes.Equal(got, n.Email.Raw) {
			t.Errorf("emails/%04d.eml = %q, want the stored raw message %q", n.N, got, n.Email.Raw)
		}
	}
	if emails != 2 || len(notes) != 4 {
		t.Errorf("%d notes with %d emails in the store, want 4 and 2", len(notes), emails)
	}
	count := func(prefix string) int {
		k := 0
		for name := range entries {
			if strings.HasPrefix(name, prefix) {
				k++
			}
		}
		return k
	}
	if count("notes/") != len(notes) || count("emails/") != emails {
		t.Errorf("%d note files and %d emails, want %d and %d", count("notes/"), count("emails/"), len(notes), emails)
	}

	docs, _, err := d.DB.Documents(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docs {
		var found []string
		for name := range entries {
			if strings.HasPrefix(name, fmt.Sprintf("documents/%04d-", doc.N)) {
				found = append(found, name)
			}
		}
		if len(found) != 1 {
			t.Errorf("document #%d (%q) in %q, want one entry", doc.N, doc.Name, found)
			continue
		}
		sum := sha256.Sum256(entries[found[0]])
		_, stored, err := d.DB.DocumentFile(ctx, id, doc.N)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(sum[:]) != doc.SHA256 || !bytes.Equal(entries[found[0]], stored) {
			t.Errorf("%s: SHA-256 %x, want the stored %s", found[0], sum, doc.SHA256)
		}
	}
	if count("documents/") != len(docs) {
		t.Errorf("%d document entries, want %d", count("documents/"), len(docs))
	}
	for _, want := range []string{"documents/0001-Stellungnahme_Müller.pdf", "documents/0002-passwd", "documents/0004-Report.PDF", "documents/0005-report.pdf"} {
		if _, ok := entries[want]; !ok {
			t.Errorf("no entry %q", want)
		}
	}

	// The timeline command, run now, shows the same lines and then the
	// export itself (its own view is recorded after it reads).
	timeline := d.Command(ctx, user, "timeline "+id)
	if timeline.Err != nil {
		t.Fatal(timeline.Text)
	}
	want := strings.Split(timeline.Text, "\n")
	got := strings.Split(strings.TrimRight(string(entries["timeline.txt"]), "\n"), "\n")
	if len(want) != len(got)+1 || strings.Join(got[1:], "\n") != strings.Join(want[1:len(want)-1], "\n") {
		t.Errorf("timeline.txt:\n%s\nwant the timeline command's lines before the export:\n%s", strings.Join(got, "\n"), timeline.Text)
	}
	if head := fmt.Sprintf("%s: Lease dispute — %d events", id, len(got)-1); got[0] != head {
		t.Errorf("timeline.txt starts %q, want %q", got[0], head)
	}
	summary := fmt.Sprintf("%d notes, %d emails, %d documents", len(notes), emails, len(docs))
	if last := want[len(want)-1]; !strings.HasSuffix(last, "  "+user+"  exported the case file ("+summary+")") {
		t.Errorf("the timeline's last line %q does not show the export of %s", last, summary)
	}
	events, err := d.DB.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ev := events[len(events)-2]; ev.Action != "case.export" || ev.Actor != user || ev.Detail != summary {
		t.Errorf("audit event %+v, want %s's case.export of %s", ev, user, summary)
	}
}

// dirNames lists a folder.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// Without a daemon, export opens the (encrypted) store itself.
func TestExportWithoutDaemon(t *testing.T) {
	cfgPath := exportConfig(t, true)
	d := offlineDaemon(t, cfgPath)
	id := fillCase(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "case.zip")
	r := runMain("export", "-config", cfgPath, "-as", "U1", strings.ToLower(id), out)
	if r.code != exitOK || !strings.Contains(r.stdout, "wrote ") || !strings.Contains(r.stdout, "4 notes, 2 emails, 5 documents") {
		t.Fatalf("export = %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	checkExport(t, offlineDaemon(t, cfgPath), "U1", id, out)
}

// While serve runs, export goes through the control socket; an admin may
// export any case, a stranger none.
func TestExportThroughTheDaemon(t *testing.T) {
	cfgPath := exportConfig(t, false)
	rd := startDaemon(t, cfgPath)
	id := fillCase(t, rd.d)
	dir := t.TempDir()

	r := runMain("export", "-config", cfgPath, "-as", "U9", id, filepath.Join(dir, "stranger.zip"))
	if r.code != exitFail || !strings.Contains(r.stderr, casebot.ErrHidden(id).Message) {
		t.Errorf("stranger's export = %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if left := dirNames(t, dir); len(left) != 0 {
		t.Errorf("a refused export left %q", left)
	}

	out := filepath.Join(dir, "case.zip")
	r = runMain("export", "-config", cfgPath, "-as", "UADM", id, out)
	if r.code != exitOK || !strings.Contains(r.stdout, "(from the running daemon)") {
		t.Fatalf("export = %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	checkExport(t, rd.d, "UADM", id, out)
}

// fsImmutableFL is FS_IMMUTABLE_FL of linux/fs.h (chattr +i), which
// x/sys/unix does not name.
const fsImmutableFL = 0x10

// readOnlyDir returns a folder nobody may write in: mode 0500, and for
// root (whom modes do not stop) the immutable attribute, taken off again
// at the end of the test.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if os.Geteuid() != 0 {
		return dir
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags|fsImmutableFL)
	}
	if err != nil {
		t.Skipf("running as root, and cannot make %s immutable: %v", dir, err)
	}
	t.Cleanup(func() {
		if f, err := os.Open(dir); err == nil {
			_ = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags)
			_ = f.Close()
		}
	})
	return dir
}

// Each refusal exits non-zero with a sentence saying what was wrong, and
// writes nothing: no file, no temporary file, no audit event.
func TestExportRefusals(t *testing.T) {
	cfgPath := exportConfig(t, false)
	d := offlineDaemon(t, cfgPath)
	id := fillCase(t, d)
	ctx := context.Background()
	before, err := d.DB.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ro := readOnlyDir(t)
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stranger", []string{"-as", "U9", id, filepath.Join(dir, "a.zip")}, casebot.ErrHidden(id).Message},
		{"stranger, missing case", []string{"-as", "U9", "MED-2026-0999", filepath.Join(dir, "a.zip")}, casebot.ErrHidden("MED-2026-0999").Message},
		{"admin, missing case", []string{"-as", "UADM", "MED-2026-0999", filepath.Join(dir, "a.zip")}, "no such case: MED-2026-0999"},
		{"not a case ID", []string{"-as", "U1", "lease", filepath.Join(dir, "a.zip")}, `"lease" is not a case ID`},
		{"missing folder", []string{"-as", "U1", id, filepath.Join(dir, "nope", "a.zip")}, "The folder " + filepath.Join(dir, "nope") + " does not exist"},
		{"read-only folder", []string{"-as", "U1", id, filepath.Join(ro, "a.zip")}, "The folder " + ro + " is not writable"},
		{"a file as folder", []string{"-as", "U1", id, filepath.Join(file, "a.zip")}, file + " is not a folder"},
		{"a folder as OUT", []string{"-as", "U1", id, dir}, dir + " is a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(append([]string{"export", "-config", cfgPath}, tt.args...)...)
			if r.code == exitOK || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("export %q = %d\nstderr: %s\nwant a refusal saying %q", tt.args, r.code, r.stderr, tt.want)
			}
		})
	}
	if left := dirNames(t, dir); len(left) != 1 || left[0] != "plain" {
		t.Errorf("refused exports left %q", left)
	}
	if left := dirNames(t, ro); len(left) != 0 {
		t.Errorf("refused exports left %q in the read-only folder", left)
	}
	d = offlineDaemon(t, cfgPath)
	if after, err := d.DB.Audit(ctx, id); err != nil || len(after) != len(before) {
		t.Errorf("audit trail grew from %d to %d events (%v)", len(before), len(after), err)
	}

	if r := runMain("export", "-config", cfgPath, "-as", "U1", id); r.code != exitUsage || !strings.Contains(r.stderr, "usage: casebot export") {
		t.Errorf("export without OUT = %d\nstderr: %s", r.code, r.stderr)
	}
}
