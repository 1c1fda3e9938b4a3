package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gomail "github.com/emersion/go-message/mail"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
)

// Markers planted in a session. The first group is content SPEC §8 says is
// encrypted at rest (note bodies, email bodies, raw messages, attachments);
// the second is case data kept in the clear but still never logged.
const (
	mNote     = "NOTEMARKq7w1x"
	mCaucus   = "CAUCUSMARKz3x8"
	mOutMail  = "OUTMAILMARKk2j4"
	mBody     = "BODYMARKp5r6v"
	mSubject  = "SUBJMARKm8n9t"
	mAttach   = "ATTACHMARKc4v2"
	mQuar     = "QUARMARKb1g0q"
	mTitle    = "TITLEMARKh6y3"
	mDeadline = "DEADLINEMARKf9d5"
)

var (
	sealedMarkers = []string{mNote, mCaucus, mOutMail, mBody, mSubject, mAttach, mQuar}
	clearMarkers  = []string{mTitle, mDeadline}
	secrets       = []string{secSigning, secBotToken, secIMAPPass, secSMTPPass}
	// pings are mrkdwn control sequences that must reach Slack escaped.
	pings = []string{"<!channel>", "<!here>", "<@U999>"}
)

const pingText = "<!channel> <!here> <@U999>"

// session is what a realistic session left behind.
type session struct {
	id       string
	views    []string // texts of show, timeline, search, list, quarantine
	hostile  []string // the hostile attachment names sent
	partyOut []testserver.Message
}

// runSession drives the daemon like a practice would, over signed Slack
// HTTP and IMAP: a case with parties (one with CR/LF in the name), notes
// and a caucus note with planted markers, a party email out, a party reply
// with a marked subject, body and attachment plus hostile attachment
// names, a stranger's mail, an oversize mail and a later normal mail, a
// deadline reminder, and the views that show all of it.
func runSession(t *testing.T, e *secEnv) *session {
	t.Helper()
	ctx := context.Background()
	s := &session{}
	s.id = caseIDRe.FindString(e.slash(secAdmin, "new "+mTitle+" "+pingText+" --mediator <@"+secMed+"|med>"))
	if s.id == "" {
		t.Fatal("new did not reply with an ID")
	}
	id := s.id
	for _, text := range []string{
		"party add " + id + ` claimant "Ann Lee" ann@example.com`,
		"party add " + id + " respondent \"Bo Ray\r\nBcc: evil@evil.example\r\nX-Evil: 1\" bo@example.com",
		"note " + id + " " + mNote + " " + pingText,
		"note " + id + " --private " + mCaucus,
		"deadline " + id + " +3h " + mDeadline + " " + pingText,
	} {
		if got := e.slash(secMed, text); strings.Contains(got, "Usage") || strings.Contains(got, "no case") {
			t.Fatalf("%q refused: %s", text, got)
		}
	}
	if got := e.slash(secMed, "email "+id+" Please send the lease "+mOutMail+"\r\nSubject: injected\r\nBcc: evil@evil.example\r\n\r\nfake body"); !strings.Contains(got, "Queued to 2 parties") {
		t.Fatalf("email: %s", got)
	}
	waitFor(t, "two party emails", func() bool { return len(e.smtp.Messages()) >= 2 })
	s.partyOut = e.smtp.Messages()
	r, err := gomail.CreateReader(bytes.NewReader(s.partyOut[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	replyTo, _ := r.Header.AddressList("Reply-To")
	msgID, _ := r.Header.MessageID()
	if len(replyTo) != 1 {
		t.Fatalf("Reply-To %v", replyTo)
	}

	s.hostile = []string{"../../etc/passwd", "evil%00name%0D%0ABcc: x.exe", strings.Repeat("A", 10000) + ".pdf"}
	attach := base64.StdEncoding.EncodeToString([]byte(mAttach + " the signed lease, page 1 of 3."))
	reply := "From: Ann Lee <ann@example.com>\r\nTo: " + replyTo[0].Address + "\r\nSubject: Re: [" + id + "] lease " + mSubject +
		"\r\nMessage-ID: <reply1@example.com>\r\nIn-Reply-To: <" + msgID + ">\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + mBody + " here it is " + pingText +
		"\r\n\r\nOn Mon, 2 Mar 2026, Mediation Office wrote:\r\n> Please send the lease\r\n" +
		"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"lease.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + attach + "\r\n" +
		"--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"" + s.hostile[0] + "\"\r\n\r\nroot:x:0:0\r\n" +
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=UTF-8''" + s.hostile[1] + "\r\n\r\nMZ\r\n" +
		"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + s.hostile[2] + "\"\r\n\r\n%PDF\r\n" +
		"--b1--\r\n"
	e.appendMail(reply)
	e.appendMail("From: Eve <eve@example.com>\r\nTo: cases@practice.example\r\nSubject: [" + id + "] let me in\r\nMessage-ID: <eve1@example.com>\r\n\r\n" + mQuar + " hello\r\n")
	big := strings.Repeat("This line pads an oversize message past the limit.\r\n", 80<<10/52)
	e.appendMail("From: Ann Lee <ann@example.com>\r\nTo: " + replyTo[0].Address + "\r\nSubject: Re: [" + id + "] huge\r\nMessage-ID: <big1@example.com>\r\n\r\n" + big)
	e.appendMail("From: Ann Lee <ann@example.com>\r\nTo: " + replyTo[0].Address + "\r\nSubject: Re: [" + id + "] after the big one\r\nMessage-ID: <after1@example.com>\r\n\r\nSent after the big one.\r\n")
	waitFor(t, "two email notes and two quarantined mails", func() bool {
		ns, _ := e.d.DB.Notes(ctx, id)
		q, _ := e.d.DB.Quarantine(ctx, false)
		return len(ns) == 4 && len(q) == 2
	})

	// The reminder 2h before the deadline falls due an hour from now.
	e.clk.Set(e.clk.Now().Add(time.Hour + time.Minute))
	e.d.KickScheduler() // it sleeps on a real timer until the due time
	waitFor(t, "the deadline reminder at Slack", func() bool {
		for _, p := range e.slack.Posts() {
			if strings.Contains(p.Text, "Reminder") {
				return true
			}
		}
		return false
	})
	for _, v := range []struct{ user, text string }{
		{secMed, "show " + id}, {secMed, "timeline " + id}, {secMed, "search " + mNote}, {secAdmin, "list all"},
		{secAdmin, "quarantine"}, {secMed, "digest"}, {secAdmin, "conflicts Bo Ray"},
	} {
		s.views = append(s.views, e.slash(v.user, v.text))
	}
	// Home refreshes fall due at the end of their slot on the daemon's clock.
	e.clk.Advance(casebot.HomeSlot)
	e.d.KickOutbox()
	waitFor(t, "outbox empty", func() bool { n, err := e.d.DB.OutboxDepth(ctx); return err == nil && n == 0 })
	return s
}

// TestSecuritySessionWithKey: after a realistic session with a store key,
// (a) no log line and no check-config output holds a secret or planted
// content, (b) the closed db file holds none of the sealed markers, plain
// or base64, (e) nothing reaching Slack carries an unescaped ping,
// (f) outbound mail has well-formed headers and hostile attachment names
// are stored sanitised, and (g) an oversize mail is quarantined with its
// reason without stopping later mail.
func TestSecuritySessionWithKey(t *testing.T) {
	e := newSecEnv(t, true)
	s := runSession(t, e)
	ctx := context.Background()

	// The session really happened: the content is there to leak.
	show := s.views[0]
	for _, want := range []string{mTitle, mNote, mCaucus, mBody, "Sent after the big one."} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}

	// The timeline names the notes by their first lines and the reply by
	// its subject: the db file check below proves the audit trail seals them.
	for _, want := range []string{mNote, "[private]: " + mCaucus, mSubject} {
		if timeline := s.views[1]; !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}

	t.Run("mrkdwn", func(t *testing.T) { checkPings(t, e, s) })
	t.Run("outbound headers", func(t *testing.T) { checkOutboundMail(t, s) })
	t.Run("attachment names", func(t *testing.T) { checkAttachmentNames(t, e, s) })
	t.Run("oversize mail", func(t *testing.T) {
		q, err := e.d.DB.Quarantine(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, item := range q {
			reasons = append(reasons, item.Reason)
		}
		if !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, "the limit is 65536") }) {
			t.Errorf("no quarantined item says it was over the limit: %q", reasons)
		}
	})
	t.Run("oversize request", func(t *testing.T) { checkOversizeRequest(t, e) })

	// Refusals are logged too: provoke some.
	e.do(signed{path: "/slack/commands", body: e.commandForm(secMed, "note "+s.id+" "+mNote, "x"), ts: time.Now(), secret: "wrong-" + secSigning})
	e.do(signed{path: "/slack/commands", body: e.commandForm(secMed, "note "+s.id+" "+mNote, "x"), ts: time.Now().Add(-6 * time.Minute), secret: secSigning})
	_, metrics := get(e.base + "/metrics")

	e.stop()
	t.Run("logs", func(t *testing.T) {
		logs := e.logs.String()
		if !strings.Contains(logs, "casebot serving") || !strings.Contains(logs, "request refused") {
			t.Fatalf("the log buffer missed the daemon's lines:\n%s", logs)
		}
		for _, leak := range findMarkers([]byte(logs), slices.Concat(secrets, sealedMarkers, clearMarkers)) {
			t.Errorf("the log holds %s", leak)
		}
		for _, leak := range findMarkers([]byte(metrics), slices.Concat(secrets, sealedMarkers, clearMarkers)) {
			t.Errorf("/metrics holds %s", leak)
		}
	})
	t.Run("check-config", func(t *testing.T) {
		for k, v := range secEnvVars {
			t.Setenv(k, v)
		}
		r := runMain("check-config", "-config", e.cfgPath)
		if r.code != exitOK || !strings.Contains(r.stdout, "set (from environment)") || !strings.Contains(r.stdout, "set (from file)") {
			t.Fatalf("check-config: %+v", r)
		}
		for _, leak := range findMarkers([]byte(r.stdout+r.stderr), secrets) {
			t.Errorf("check-config prints %s", leak)
		}
	})
	t.Run("db file", func(t *testing.T) {
		raw, err := os.ReadFile(e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, leak := range findMarkers(raw, slices.Concat(sealedMarkers, secrets, caseRecordMarkers)) {
			t.Errorf("the encrypted db file holds %s", leak)
		}
	})
}

// caseRecordMarkers are what a case record and its party indexes hold:
// with a key they are sealed under the case's data key or hashed, so that
// a purge, destroying the key, takes them from every copy of the file.
var caseRecordMarkers = []string{mTitle, mDeadline, "Ann Lee", "ann@example.com", "ann lee"}

// TestSecuritySessionWithoutKey is the control: the same session without a
// key leaves the sealed markers readable in the db file, so the grep above
// is able to find them.
func TestSecuritySessionWithoutKey(t *testing.T) {
	e := newSecEnv(t, false)
	runSession(t, e)
	e.stop()
	raw, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	// The sent email's text only lived in the outbox, whose record is gone.
	want := slices.DeleteFunc(slices.Clone(sealedMarkers), func(m string) bool { return m == mOutMail })
	found := findMarkers(raw, want)
	if len(found) != len(want) {
		t.Errorf("without a key the db file shows only %q of %q: the marker grep cannot see plaintext", found, want)
	}
}

// checkPings asserts that every message that reached Slack — direct
// messages (text and blocks), response_url posts and immediate answers —
// holds no unescaped <!channel>, <!here> or <@U999>, while the escaped
// forms did arrive (the content was shown).
func checkPings(t *testing.T, e *secEnv, s *session) {
	var bodies []string
	for _, p := range e.slack.Posts() {
		bodies = append(bodies, p.Text)
		bodies = append(bodies, jsonStrings(t, p.Blocks)...)
	}
	dms := strings.Join(bodies, "\n")
	for _, b := range e.slack.AllResponses() {
		bodies = append(bodies, jsonStrings(t, string(b))...)
	}
	e.mu.Lock()
	for _, b := range e.replies {
		bodies = append(bodies, jsonStrings(t, string(b))...)
	}
	e.mu.Unlock()
	for _, b := range bodies {
		for _, p := range pings {
			if strings.Contains(b, p) {
				t.Errorf("Slack was sent an unescaped %s in:\n%.400s", p, b)
			}
		}
	}
	all := strings.Join(bodies, "\n")
	for _, want := range []string{"&lt;!channel&gt;", "&lt;!here&gt;", "&lt;@U999&gt;", mTitle, mNote, mBody} {
		if !strings.Contains(all, want) {
			t.Errorf("no message to Slack holds %q: the content never reached it", want)
		}
	}
	// The email note's notice and the reminder are DMs carrying the pings.
	if !strings.Contains(dms, mBody) || !strings.Contains(dms, mDeadline) || !strings.Contains(dms, "&lt;!here&gt;") {
		t.Errorf("the DMs lack the email notice or reminder:\n%s", dms)
	}
}

// jsonStrings returns every string value in a JSON document.
func jsonStrings(t *testing.T, doc string) []string {
	t.Helper()
	if doc == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, doc)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, y := range x {
				walk(y)
			}
		case map[string]any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return out
}

var headerLine = regexp.MustCompile(`^([!-9;-~]+):`)

// checkOutboundMail asserts the party emails have well-formed headers: no
// injected Bcc or X-Evil, no bare CR or LF, recipients only the parties.
func checkOutboundMail(t *testing.T, s *session) {
	if len(s.partyOut) != 2 {
		t.Fatalf("%d party emails, want 2", len(s.partyOut))
	}
	for _, m := range s.partyOut {
		head, _, ok := bytes.Cut(m.Data, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("no header/body separator:\n%s", m.Data)
		}
		for _, line := range strings.Split(string(head), "\r\n") {
			if strings.ContainsAny(line, "\r\n\x00") {
				t.Errorf("bare CR, LF or NUL in header line %q", line)
			}
			if line != "" && line[0] != ' ' && line[0] != '\t' && !headerLine.MatchString(line) {
				t.Errorf("malformed header line %q", line)
			}
		}
		hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(m.Data))).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("headers do not parse: %v", err)
		}
		for _, bad := range []string{"Bcc", "X-Evil"} {
			if _, ok := hdr[bad]; ok {
				t.Errorf("an injected %s header arrived: %q", bad, hdr[bad])
			}
		}
		if len(hdr["Subject"]) != 1 {
			t.Errorf("%d Subject headers", len(hdr["Subject"]))
		}
		if len(m.Rcpt) != 1 || (m.Rcpt[0] != "ann@example.com" && m.Rcpt[0] != "bo@example.com") {
			t.Errorf("RCPT TO %q, want one party", m.Rcpt)
		}
		r, err := gomail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		to, err := r.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != m.Rcpt[0] {
			t.Errorf("To %v (%v), want only %s", to, err, m.Rcpt)
		}
		if !bytes.Contains(m.Data, []byte(mOutMail)) {
			t.Errorf("the email text is missing")
		}
	}
}

// checkAttachmentNames asserts the hostile names were stored sanitised.
func checkAttachmentNames(t *testing.T, e *secEnv, s *session) {
	ns, err := e.d.DB.Notes(context.Background(), s.id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range ns {
		if n.Email == nil {
			continue
		}
		for _, a := range n.Email.Attachments {
			names = append(names, a.Name)
			if strings.ContainsAny(a.Name, "/\\\x00\r\n") || utf8.RuneCountInString(a.Name) > 200 || a.Name == "" || strings.HasPrefix(a.Name, ".") {
				t.Errorf("attachment stored as %.80q (%d runes)", a.Name, utf8.RuneCountInString(a.Name))
			}
		}
	}
	if len(names) != 4 || !slices.Contains(names, "passwd") || !slices.Contains(names, "lease.pdf") {
		t.Errorf("attachments %.300q, want lease.pdf, passwd and two more", names)
	}
}

// checkOversizeRequest: a correctly signed 1 MiB command body gets 413
// without the daemon buffering it, and the daemon keeps serving.
func checkOversizeRequest(t *testing.T, e *secEnv) {
	body := e.commandForm(secAdmin, "new "+strings.Repeat("x", 1<<20), "big")
	now := time.Now()
	req := signed{path: "/slack/commands", body: body, ts: now, sig: testserver.SlackSignature(secSigning, now, body)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	code, _ := e.do(req)
	runtime.ReadMemStats(&after)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: status %d, want 413", code)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("serving a refused 1 MiB body allocated %d bytes", grew)
	} else {
		t.Logf("a refused 1 MiB body allocated %d bytes", grew)
	}
	if code, _ := get(e.base + "/healthz"); code != http.StatusOK {
		t.Errorf("healthz after the big body: %d", code)
	}
	if got := e.slash(secAdmin, "list all"); !strings.Contains(got, mTitle) {
		t.Errorf("list after the big body: %s", got)
	}
	cs, _ := e.d.DB.Cases(context.Background(), casebot.CaseFilter{State: "all"})
	if len(cs) != 1 {
		t.Errorf("%d cases after the refused body, want 1", len(cs))
	}
}
