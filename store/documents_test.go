package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/casebot/casebot/store/kv"

	"github.com/casebot/casebot"
)

// att is an attachment as mail.Parse gives it: the whole file, its size
// and hash.
func att(name, typ string, content []byte) casebot.Attachment {
	sum := sha256.Sum256(content)
	return casebot.Attachment{Name: name, Type: typ, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), Content: content}
}

func withAttachments(n *casebot.Note, as ...casebot.Attachment) *casebot.Note {
	n.Email.Attachments = as
	return n
}

// ingest commits notes as one intake batch and fails the test unless
// each became a note.
func ingest(t *testing.T, db *DB, uid0 uint32, notes ...*casebot.Note) {
	t.Helper()
	b := casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1}
	for i, n := range notes {
		uid := uid0 + uint32(i)
		b.Items = append(b.Items, casebot.MailItem{UID: uid, DedupeKey: n.Email.MessageID, Note: n})
		b.LastUID = uid
	}
	res, err := db.Ingest(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Outcome != casebot.OutcomeNote {
			t.Fatalf("uid %d: %s (%s), want a note", r.UID, r.Outcome, r.Reason)
		}
	}
}

func docs(t *testing.T, db *DB, caseID string) []casebot.Document {
	t.Helper()
	ds, total, err := db.Documents(context.Background(), caseID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(ds) {
		t.Fatalf("Documents: %d documents, total %d", len(ds), total)
	}
	return ds
}

var (
	ann = casebot.Party{Role: casebot.RoleClaimant, Name: "Ann", Email: "ann@example.com"}
	bob = casebot.Party{Role: casebot.RoleRespondent, Name: "Bob", Email: "bob@example.com"}
)

// The same bytes twice in one case are one document with two arrivals,
// whether they come in one batch or two, under one name or another; in
// another case they are that case's own document. The notes keep the
// attachments' metadata, not their content.
func TestDocumentsOneDocumentPerContent(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", ann, bob)
	other := newCase(t, db, "Fence", "U2", ann)
	pdf := []byte("%PDF-1.4\n statement of claim")
	ingest(t, db, 1,
		withAttachments(emailNote(c.ID, ann.Email, "Attached.", "m1@x"), att("statement.pdf", "application/pdf", pdf), att("photo.png", "image/png", []byte("\x89PNG\r\n\x1a\nxx"))),
		withAttachments(emailNote(other.ID, ann.Email, "Same file, other case.", "m2@x"), att("statement.pdf", "application/pdf", pdf)))
	first := clk.Now()
	clk.Advance(3600e9)
	ingest(t, db, 3, withAttachments(emailNote(c.ID, bob.Email, "Forwarding it.", "m3@x"), att("copy of statement.pdf", "application/octet-stream", pdf)))

	ds := docs(t, db, c.ID)
	if len(ds) != 2 {
		t.Fatalf("documents %+v, want 2", ds)
	}
	// Newest first: doc 2 (the photo), then doc 1.
	photo, st := ds[0], ds[1]
	if photo.N != 2 || photo.Name != "photo.png" || photo.DetectedType != "image/png" || len(photo.Arrivals) != 1 {
		t.Errorf("doc 2 = %+v", photo)
	}
	sum := sha256.Sum256(pdf)
	if st.N != 1 || st.Name != "statement.pdf" || st.Size != int64(len(pdf)) || st.SHA256 != hex.EncodeToString(sum[:]) ||
		st.DeclaredType != "application/pdf" || st.DetectedType != "application/pdf" || !st.Kept {
		t.Errorf("doc 1 = %+v", st)
	}
	want := []casebot.Arrival{{From: ann.Email, At: first, Note: 1, Name: "statement.pdf"}, {From: bob.Email, At: clk.Now(), Note: 2, Name: "copy of statement.pdf"}}
	if len(st.Arrivals) != 2 || st.Arrivals[0] != want[0] || !st.Arrivals[1].At.Equal(want[1].At) || st.Arrivals[1].Name != want[1].Name || st.Arrivals[1].Note != 2 {
		t.Errorf("doc 1 arrivals %+v, want %+v", st.Arrivals, want)
	}
	if od := docs(t, db, other.ID); len(od) != 1 || od[0].N != 1 || len(od[0].Arrivals) != 1 {
		t.Errorf("other case's documents %+v, want its own doc 1", od)
	}
	d, content, err := db.DocumentFile(ctx, c.ID, 1)
	if err != nil || !bytes.Equal(content, pdf) || d.N != 1 {
		t.Fatalf("DocumentFile = %+v, %q, %v", d, content, err)
	}
	if _, _, err := db.DocumentFile(ctx, c.ID, 3); casebot.ErrorCode(err) != casebot.ENOTFOUND {
		t.Errorf("DocumentFile(3) = %v, want ENOTFOUND", err)
	}
	newest, total, err := db.Documents(ctx, c.ID, 1)
	if err != nil || total != 2 || len(newest) != 1 || newest[0].N != 2 {
		t.Errorf("Documents(newest 1) = %+v, %d, %v", newest, total, err)
	}
	// The note lists its attachment; the content is in the document only.
	ns, err := db.Notes(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a := ns[0].Email.Attachments; len(a) != 2 || a[0].Name != "statement.pdf" || a[0].SHA256 != st.SHA256 || a[0].Content != nil {
		t.Errorf("note 1 attachments %+v, want metadata without content", a)
	}
	var adds []string
	for _, ev := range auditOf(t, db, c.ID) {
		if ev.Action == "doc.add" {
			adds = append(adds, fmt.Sprintf("doc %d %s from %s %s", ev.About.N, ev.About.Text, ev.About.Who, ev.Detail))
		}
	}
	if strings.Join(adds, "; ") != "doc 1 statement.pdf from ann@example.com with note 1; doc 2 photo.png from ann@example.com with note 1; doc 1 copy of statement.pdf from bob@example.com again, with note 2" {
		t.Errorf("doc.add events %q", adds)
	}
	mustCheck(t, db, "documents")
}

func auditOf(t *testing.T, db *DB, id string) []casebot.AuditEvent {
	t.Helper()
	evs, err := db.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// A file over the size limit is a document with its size and no content;
// the same file arriving whole later fills the content in.
func TestDocumentsOversizeNotKept(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", ann)
	big := bytes.Repeat([]byte("x"), 1000)
	cut := att("big.bin", "application/octet-stream", big)
	cut.Content, cut.Truncated = big[:100], true
	ingest(t, db, 1, withAttachments(emailNote(c.ID, ann.Email, "Too big.", "m1@x"), cut))
	d, content, err := db.DocumentFile(ctx, c.ID, 1)
	if err != nil || d.Kept || content != nil || d.Size != 1000 {
		t.Fatalf("DocumentFile = %+v, %d bytes, %v; want size 1000, not kept", d, len(content), err)
	}
	ingest(t, db, 2, withAttachments(emailNote(c.ID, ann.Email, "Again, whole.", "m2@x"), att("big.bin", "application/octet-stream", big)))
	d, content, err = db.DocumentFile(ctx, c.ID, 1)
	if err != nil || !d.Kept || !bytes.Equal(content, big) || len(d.Arrivals) != 2 {
		t.Fatalf("after a whole copy: %+v, %d bytes, %v", d, len(content), err)
	}
}

// Hostile names are stored safe; names that differ only in case stay two
// documents with their own names.
func TestDocumentsHostileNames(t *testing.T) {
	db, _ := openTest(t)
	c := newCase(t, db, "Lease", "U1", ann)
	long := strings.Repeat("ü", 300) + ".pdf"
	ingest(t, db, 1, withAttachments(emailNote(c.ID, ann.Email, "Names.", "m1@x"),
		att("../../etc/passwd", "text/plain", []byte("root:x:0:0")),
		att("evil\r\nname\x00\x1b[31m\u202Egpj.exe", "application/octet-stream", []byte("MZ")),
		att(long, "application/pdf", []byte("%PDF-long")),
		att("Report.pdf", "application/pdf", []byte("%PDF-A")),
		att("report.PDF", "application/pdf", []byte("%PDF-B")),
		att("", "application/pdf", []byte("%PDF-C")),
	))
	ds := docs(t, db, c.ID)
	names := map[int]string{}
	for _, d := range ds {
		names[d.N] = d.Name
		if strings.ContainsAny(d.Name, "/\\\x00\r\n\x1b\u202E") || len(d.Name) > casebot.MaxFileNameBytes || d.Name == "" ||
			strings.HasPrefix(d.Name, ".") || !utf8.ValidString(d.Name) {
			t.Errorf("doc %d stored as %q (%d bytes)", d.N, d.Name, len(d.Name))
		}
	}
	if names[1] != "passwd" || names[2] != "evil name[31mgpj.exe" || !strings.HasSuffix(names[3], ".pdf") || names[4] != "Report.pdf" ||
		names[5] != "report.PDF" || names[6] != "document" {
		t.Errorf("names %v", names)
	}
}

// With a key, neither the content nor the name of a document is in the
// file; without one, both are (nothing pretends to be encrypted).
func TestDocumentsEncryptedAtRest(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		var key []byte
		if keyed {
			key = make([]byte, 32)
			_, _ = rand.Read(key)
		}
		path := filepath.Join(t.TempDir(), "casebot.db")
		db := openAt(t, path, newClock(), Options{EncryptionKey: key})
		c := newCase(t, db, "Lease", "U1", ann)
		ingest(t, db, 1, withAttachments(emailNote(c.ID, ann.Email, "x", "m1@x"), att("NAMEMARKERh5.pdf", "application/pdf", []byte("DOCMARKERv8 content"))))
		if _, content, err := db.DocumentFile(context.Background(), c.ID, 1); err != nil || string(content) != "DOCMARKERv8 content" {
			t.Fatalf("DocumentFile = %q, %v", content, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := readStore(t, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"NAMEMARKERh5", "DOCMARKERv8"} {
			if found(raw, m) == keyed {
				t.Errorf("keyed=%v: marker %s found=%v", keyed, m, !keyed)
			}
		}
	}
}

// A quarantined email accepted into a case brings its attachments as
// documents too.
func TestDocumentsFromAcceptedMail(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	c := newCase(t, db, "Lease", "U1", ann)
	q := &casebot.Quarantined{Reason: "no case", From: "ann@example.com", Body: "See attached.",
		Email: &casebot.EmailMeta{From: ann.Email, Attachments: []casebot.Attachment{att("lease.pdf", "application/pdf", []byte("%PDF lease"))}}}
	if _, err := db.Ingest(ctx, casebot.IngestBatch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1, Items: []casebot.MailItem{{UID: 1, Quarantine: q}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AcceptMail(ctx, 1, c.ID, "U1", nil, false); err != nil {
		t.Fatal(err)
	}
	ds := docs(t, db, c.ID)
	if len(ds) != 1 || ds[0].Name != "lease.pdf" || ds[0].Arrivals[0].Note != 1 || ds[0].Arrivals[0].From != ann.Email {
		t.Fatalf("documents %+v", ds)
	}
	evs := auditOf(t, db, c.ID)
	if last := evs[len(evs)-1]; last.Action != "doc.add" || evs[len(evs)-2].Action != "mail.accept" {
		t.Errorf("audit ends %+v, want mail.accept then doc.add", evs[len(evs)-2:])
	}
}

// A store from before documents (schema 3), whose email notes keep their
// attachments inside, has them as documents after it is opened again:
// numbered per case in note order, the same bytes once, content readable
// (also under a key), the notes without the content.
func TestMigrateAttachmentsToDocuments(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		var key []byte
		if keyed {
			key = make([]byte, 32)
			_, _ = rand.Read(key)
		}
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "casebot.db")
		clk := newClock()
		db := openAt(t, path, clk, Options{EncryptionKey: key})
		c := newCase(t, db, "Lease", "U1", ann, bob)
		other := newCase(t, db, "Fence", "U2", ann)
		pdf := []byte("%PDF-1.4 position paper")
		// AddNote stores an email note as schema 3 did: attachments and all
		// inside the sealed note.
		for _, n := range []*casebot.Note{
			withAttachments(emailNote(c.ID, ann.Email, "one", "m1@x"), att("paper.pdf", "application/pdf", pdf)),
			{CaseID: c.ID, Author: "U1", Body: "a Slack note"},
			withAttachments(emailNote(c.ID, bob.Email, "two", "m2@x"), att("scan.png", "image/png", []byte("\x89PNG\r\n\x1a\n")), att("again.pdf", "application/pdf", pdf)),
			withAttachments(emailNote(other.ID, ann.Email, "three", "m3@x"), att("paper.pdf", "application/pdf", pdf)),
		} {
			if _, err := db.AddNote(ctx, n, casebot.Change{Actor: n.Author}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		downgradeToSchema3(t, path)

		db = openAt(t, path, clk, Options{EncryptionKey: key})
		ds := docs(t, db, c.ID)
		if len(ds) != 2 || ds[1].N != 1 || ds[1].Name != "paper.pdf" || len(ds[1].Arrivals) != 2 || ds[1].Arrivals[1].Note != 3 ||
			ds[1].Arrivals[1].From != bob.Email || ds[1].Arrivals[1].Name != "again.pdf" || ds[0].N != 2 || ds[0].Name != "scan.png" {
			t.Fatalf("keyed=%v: documents %+v", keyed, ds)
		}
		if _, content, err := db.DocumentFile(ctx, c.ID, 1); err != nil || !bytes.Equal(content, pdf) {
			t.Errorf("keyed=%v: DocumentFile = %q, %v", keyed, content, err)
		}
		if od := docs(t, db, other.ID); len(od) != 1 || od[0].Arrivals[0].Note != 1 {
			t.Errorf("keyed=%v: other case's documents %+v", keyed, od)
		}
		ns, err := db.Notes(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a := ns[2].Email.Attachments; len(a) != 2 || a[1].Name != "again.pdf" || a[1].Content != nil || ns[2].Body != "two" {
			t.Errorf("keyed=%v: note 3 after migration %+v", keyed, ns[2].Email)
		}
		mustCheck(t, db, "migration")
	}
}

// downgradeToSchema3 turns a store file into what schema 3 left: no
// document buckets, schema version 3.
func downgradeToSchema3(t *testing.T, path string) {
	t.Helper()
	rawUpdate(t, path, func(tx kv.Tx) error {
		for _, b := range [][]byte{bucketDocMeta, bucketDocData} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaSchemaVersion, be64(3))
	})
}
