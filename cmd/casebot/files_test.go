package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/testserver"
)

// fileShareEvent is a message.im event: user shared fileID in the app's DM
// with text.
func fileShareEvent(eventID, user, text, fileID string) string {
	return eventBody(eventID, map[string]any{"type": "message", "subtype": "file_share", "channel": "D-" + user,
		"channel_type": "im", "user": user, "text": text, "ts": "1700000000.000100",
		"files": []any{map[string]any{"id": fileID, "name": "x"}}})
}

// dmSaying waits for a DM to user (not an outbox message) containing want.
func dmSaying(t *testing.T, s *testserver.Slack, user, want string) {
	t.Helper()
	waitFor(t, "a DM to "+user+" saying "+want, func() bool {
		for _, p := range s.Posts() {
			if p.Channel == "D-"+user && p.Key == "" && strings.Contains(p.Text+p.Blocks, want) {
				return true
			}
		}
		return false
	})
}

// A file shared in the app's DM with a message naming a case becomes a
// document of that case with the right bytes, and the reply names its
// doc#; without a case ID the user is asked which case; an empty file,
// one over the limit, or one from someone who may not change the case is
// refused with nothing stored.
func TestFilesSharedInDMBecomeDocuments(t *testing.T) {
	rd, slackAPI := slackDaemon(t, "[mail_limits]\nmax_attachment_bytes = 100000\n")
	ctx := context.Background()
	id := homeCaseRe.FindString(mustRun(t, rd, "U1", "new Lease dispute"))

	content := make([]byte, 50000)
	_, _ = rand.Read(content)
	sum := sha256.Sum256(content)
	fid := slackAPI.AddFile(testserver.SharedFile{Name: "Lease agreement.pdf", Mimetype: "application/pdf", Content: content})

	// No case named: asked which case, nothing stored.
	postEvent(t, rd, fileShareEvent("EvF1", "U1", "here is the lease", fid), nil)
	dmSaying(t, slackAPI, "U1", "Which case is this file for?")

	// A stranger naming the case: refused, nothing downloaded or stored.
	postEvent(t, rd, fileShareEvent("EvF2", "U9", "for "+id, fid), nil)
	dmSaying(t, slackAPI, "U9", casebot.ErrHidden(id).Message)
	if n := slackAPI.Calls("download"); n != 0 {
		t.Errorf("%d downloads before any allowed share", n)
	}

	// Empty and over the limit: refused.
	empty := slackAPI.AddFile(testserver.SharedFile{Name: "empty.txt", Mimetype: "text/plain"})
	postEvent(t, rd, fileShareEvent("EvF3", "U1", id, empty), nil)
	dmSaying(t, slackAPI, "U1", "empty.txt is empty; nothing was filed.")
	big := slackAPI.AddFile(testserver.SharedFile{Name: "huge.bin", Mimetype: "application/octet-stream", Content: make([]byte, 100001)})
	postEvent(t, rd, fileShareEvent("EvF4", "U1", id, big), nil)
	dmSaying(t, slackAPI, "U1", "huge.bin is 97.7 KB; files of at most 97.7 KB are taken")
	// files.info may understate: the download itself is capped.
	liar := slackAPI.AddFile(testserver.SharedFile{Name: "liar.bin", Mimetype: "application/octet-stream", Content: make([]byte, 100001), Size: 10})
	postEvent(t, rd, fileShareEvent("EvF5", "U1", id, liar), nil)
	dmSaying(t, slackAPI, "U1", "liar.bin is over 97.7 KB; nothing was filed.")
	if _, n, err := rd.d.DB.Documents(ctx, id, 0); err != nil || n != 0 {
		t.Fatalf("documents after refusals: %d (%v), want 0", n, err)
	}

	// The mediator shares it naming the case: document #1, its bytes.
	postEvent(t, rd, fileShareEvent("EvF6", "U1", "Lease for "+strings.ToLower(id)+", signed", fid), nil)
	dmSaying(t, slackAPI, "U1", "as document #1 of "+id)
	doc, got, err := rd.d.DB.DocumentFile(ctx, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Name != "Lease agreement.pdf" || doc.SHA256 != hex.EncodeToString(sum[:]) || string(got) != string(content) || doc.Last().From != "U1" {
		t.Errorf("document %+v (%d bytes), want the shared bytes from U1", doc, len(got))
	}
	// The same event again (Slack's retry) is not filed twice.
	postEvent(t, rd, fileShareEvent("EvF6", "U1", "Lease for "+id, fid), nil)
	if doc, _, _ := rd.d.DB.DocumentFile(ctx, id, 1); len(doc.Arrivals) != 1 {
		t.Errorf("a retried event added an arrival: %+v", doc.Arrivals)
	}
	evs, _ := rd.d.DB.Audit(ctx, id)
	if last := evs[len(evs)-1]; last.Action != "doc.add" || last.Actor != "U1" || last.About.N != 1 {
		t.Errorf("last audit event %+v, want U1's doc.add of doc 1", last)
	}
}
