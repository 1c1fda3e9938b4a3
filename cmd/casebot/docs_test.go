package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
)

// slowCommand posts a signed slash command whose answer comes through
// response_url, and returns that answer.
func slowCommand(t *testing.T, rd *runningDaemon, slackAPI *testserver.Slack, key, user, text string) string {
	t.Helper()
	respURL, got, done := slackAPI.Expect(key)
	defer done()
	form := testserver.SlashForm(user, text, key, respURL)
	if code, body := signedForm(t, rd.base, "s3cret", form); code != http.StatusOK {
		t.Fatalf("%s %q: status %d %s", user, text, code, body)
	}
	select {
	case b := <-got:
		return string(b)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %q: no answer through response_url", user, text)
		return ""
	}
}

// A party's attachment, mailed in over IMAP, is a document; doc over
// signed Slack uploads it to the mediator's own DM through Slack's three
// upload calls, byte for byte, and records the view. A stranger gets
// show's denial and nothing is uploaded.
func TestDocOverSlackUploadsToTheActorsDM(t *testing.T) {
	ctx := context.Background()
	rd, slackAPI, imapSrv, id := startSlackMailDaemon(t, "")
	content := append([]byte("%PDF-1.4\n"), make([]byte, 200<<10)...)
	_, _ = rand.Read(content[9:])
	sum := sha256.Sum256(content)
	raw := "From: Ann Lee <ann@example.com>\r\nTo: cases@practice.example\r\nSubject: [" + id + "] statement\r\n" +
		"Message-ID: <s1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAttached is our written statement.\r\n" +
		"--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename*=UTF-8''Stellungnahme_M%C3%BCller.pdf\r\n\r\n" +
		wrap76(base64.StdEncoding.EncodeToString(content)) + "--b1--\r\n"
	if err := imapSrv.Append(raw); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the attachment to become a document", func() bool {
		_, n, err := rd.d.DB.Documents(ctx, id, 0)
		return err == nil && n == 1
	})

	if got := rd.d.Command(ctx, "U1", "docs "+id).Text; !strings.Contains(got, "#1 Stellungnahme_Müller.pdf — application/pdf, 200.0 KB — from ann@example.com") {
		t.Errorf("docs replied %q", got)
	}

	// A stranger: show's denial, word for word, and no upload call.
	show := rd.d.Command(ctx, "U9", "show "+id)
	if got := slowCommand(t, rd, slackAPI, "stranger", "U9", "doc "+id+" 1"); !strings.Contains(got, show.Text) || show.Text != casebot.ErrHidden(id).Message {
		t.Fatalf("stranger's doc answered %s, want show's denial %q", got, show.Text)
	}
	if n := slackAPI.Calls("files.getUploadURLExternal") + slackAPI.Calls("upload") + slackAPI.Calls("files.completeUploadExternal"); n != 0 {
		t.Fatalf("a stranger's doc made %d upload calls", n)
	}
	if rep := rd.d.Command(ctx, "U1", "doc "+id+" 7"); casebot.ErrorCode(rep.Err) != casebot.ENOTFOUND || !strings.Contains(rep.Text, "has no document #7") {
		t.Fatalf("doc of an unknown doc# = %q (%s)", rep.Text, casebot.ErrorCode(rep.Err))
	}

	got := slowCommand(t, rd, slackAPI, "mediator", "U1", "doc "+id+" 1")
	if !strings.Contains(got, "Sent document #1") {
		t.Fatalf("doc answered %s", got)
	}
	ups := slackAPI.Uploads()
	if len(ups) != 1 {
		t.Fatalf("uploads %+v, want 1", ups)
	}
	u := ups[0]
	if u.Channel != "D-U1" || u.Filename != "Stellungnahme_Müller.pdf" || u.Length != int64(len(content)) || u.Received != u.Length ||
		u.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("upload %+v, want %d bytes with SHA-256 %x to D-U1", u, len(content), sum)
	}
	for _, m := range []string{"files.getUploadURLExternal", "upload", "files.completeUploadExternal"} {
		if n := slackAPI.Calls(m); n != 1 {
			t.Errorf("%s called %d times, want 1", m, n)
		}
	}
	evs, err := rd.d.DB.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Action != "doc.view" || last.Actor != "U1" || last.About.N != 1 {
		t.Errorf("last audit event %+v, want U1's doc.view of doc 1", last)
	}
}

// Without Slack, doc says so and points to casebot export.
func TestDocWithoutSlack(t *testing.T) {
	cfgPath, _ := testConfig(t, "")
	rd := startDaemon(t, cfgPath)
	rep := rd.d.Command(context.Background(), "U1", "doc MED-2026-0001 1")
	if casebot.ErrorCode(rep.Err) != casebot.EUNAVAIL || !strings.Contains(rep.Text, "casebot export") {
		t.Fatalf("doc without Slack = %q (%s)", rep.Text, casebot.ErrorCode(rep.Err))
	}
}

// wrap76 cuts base64 into MIME lines.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}
