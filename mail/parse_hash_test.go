package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// bodyHashV1 and dedupeKeyV1 are the first implementations, kept as the
// reference: de-duplication keys already stored were made by them, so the
// faster versions must hash exactly the same bytes.
func bodyHashV1(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(strings.Join(lines, "\n"))))
	return hex.EncodeToString(sum[:])
}

func dedupeKeyV1(m *Message, raw []byte) string {
	h := sha256.New()
	switch {
	case m == nil:
		h.Write([]byte("raw\x00"))
		h.Write(raw)
	case m.MessageID != "":
		fmt.Fprintf(h, "id\x00%s\x00%s", m.MessageID, m.BodySHA256)
	default:
		fmt.Fprintf(h, "noid\x00%s\x00%d\x00%s\x00%s", m.From, m.Date.Unix(), m.Subject, m.BodySHA256)
	}
	return "m1:" + hex.EncodeToString(h.Sum(nil))
}

func TestHashesMatchTheirFirstVersion(t *testing.T) {
	texts := []string{"", " ", "\r\n", "a\r\r\nb", "a \r\n\tb\t\r\n\r\n", "\u00a0x\u00a0", "x\u0085", "\xff\xfe \r", "line\rnext\n  \n",
		"Dear mediator,\n\nhere is my answer.\n\nRegards\n\nOn Mon, Office wrote:\n> old"}
	for _, file := range testdataFiles(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(raw))
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab \t\r\n\u00a0\u2028\xff"
	for range 2000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for _, s := range texts {
		if got, want := bodyHash(s), bodyHashV1(s); got != want {
			t.Fatalf("bodyHash(%q) = %s, first version %s", s, got, want)
		}
	}
	date := time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)
	for _, m := range []*Message{nil, {MessageID: "a@b", BodySHA256: bodyHash("x")}, {From: "f@x", Subject: "s\x00", Date: date, BodySHA256: bodyHash("")},
		{From: "f@x", BodySHA256: "h"}} {
		if got, want := DedupeKey(m, []byte("raw bytes")), dedupeKeyV1(m, []byte("raw bytes")); got != want {
			t.Errorf("DedupeKey(%+v) = %s, first version %s", m, got, want)
		}
	}
}

// Two messages that reuse a Message-ID and a text but carry different files
// are different messages: their keys differ. The same message twice, and a
// message without files, keep one key.
func TestDedupeKeyCountsAttachments(t *testing.T) {
	base := Message{MessageID: "reused@x", BodySHA256: bodyHash("see attached")}
	a, b := base, base
	a.Attachments = []casebot.Attachment{{Name: "offer.pdf", SHA256: "aa"}}
	b.Attachments = []casebot.Attachment{{Name: "offer.pdf", SHA256: "bb"}}
	ka, kb := DedupeKey(&a, nil), DedupeKey(&b, nil)
	if ka == kb {
		t.Fatal("different attachments give one de-duplication key: the second message would be lost")
	}
	if again := a; DedupeKey(&again, nil) != ka {
		t.Fatal("the same message gives two keys")
	}
	if DedupeKey(&base, nil) != dedupeKeyV1(&base, nil) || ka == DedupeKey(&base, nil) {
		t.Fatal("a message without attachments must keep its first-version key, and differ from one with files")
	}
}
