package bot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

// fakeComposer mails each party of the roles asked for who is not bouncing.
type fakeComposer struct{}

func (fakeComposer) CaseMail(c *casebot.Case, roles []casebot.Role, subject, text string, auto bool, key string) ([]casebot.OutMessage, error) {
	var out []casebot.OutMessage
	for _, p := range c.Parties {
		if p.Bouncing || len(roles) > 0 && !slices.Contains(roles, p.Role) {
			continue
		}
		out = append(out, casebot.OutMessage{Key: key + "/" + p.Email, Kind: casebot.OutEmail, To: p.Email, CaseID: c.ID, Subject: subject, Text: text})
	}
	return out, nil
}

func (fakeComposer) Invitation(*casebot.Case, casebot.Session, string) ([]casebot.OutMessage, error) {
	return nil, nil
}

func (fakeComposer) SessionReminder(*casebot.Case, casebot.Session, time.Duration, string) ([]casebot.OutMessage, error) {
	return nil, nil
}

// DocumentRequest mails the parties of the role; the wording is mail's
// (mail.TestDocumentRequestMail).
func (k fakeComposer) DocumentRequest(c *casebot.Case, role casebot.Role, due time.Time, what, key string) ([]casebot.OutMessage, error) {
	return k.CaseMail(c, []casebot.Role{role}, "Document requested", what+" by "+due.UTC().Format(time.RFC3339), false, key)
}

// fakeQuarantine keeps quarantined mail in memory; AcceptMail checks
// against the cases of a real store and records whether the mediator is
// to be told.
type fakeQuarantine struct {
	cases    casebot.CaseStore
	items    map[uint64]*casebot.Quarantined
	notified map[uint64]bool // accepted item -> notify
}

var _ casebot.QuarantineService = (*fakeQuarantine)(nil)

func (f *fakeQuarantine) Quarantine(_ context.Context, all bool) ([]casebot.Quarantined, error) {
	var out []casebot.Quarantined
	for _, q := range f.items {
		if all || q.State == casebot.QuarantinePending {
			out = append(out, *q)
		}
	}
	slices.SortFunc(out, func(a, b casebot.Quarantined) int { return int(a.N) - int(b.N) })
	return out, nil
}

func (f *fakeQuarantine) QuarantineItem(_ context.Context, n uint64) (*casebot.Quarantined, error) {
	q, ok := f.items[n]
	if !ok {
		return nil, casebot.Errorf(casebot.ENOTFOUND, "There is no quarantined email #%d.", n)
	}
	c := *q
	return &c, nil
}

func (f *fakeQuarantine) pending(n uint64) (*casebot.Quarantined, error) {
	q, ok := f.items[n]
	if !ok {
		return nil, casebot.Errorf(casebot.ENOTFOUND, "There is no quarantined email #%d.", n)
	}
	if q.State != casebot.QuarantinePending {
		return nil, casebot.Errorf(casebot.ECONFLICT, "Email #%d was already %s.", n, q.State)
	}
	return q, nil
}

func (f *fakeQuarantine) AcceptMail(ctx context.Context, n uint64, caseID, actor string, check func(*casebot.Quarantined, *casebot.Case) error, notify bool) (*casebot.Note, error) {
	q, err := f.pending(n)
	if err != nil {
		return nil, err
	}
	c, err := f.cases.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(q, c); err != nil {
			return nil, err
		}
	}
	q.State, q.DecidedBy = casebot.QuarantineAccepted, actor
	f.notified[n] = notify
	return &casebot.Note{CaseID: caseID, N: 7, Author: q.From}, nil
}

func (f *fakeQuarantine) RejectMail(_ context.Context, n uint64, actor string, check func(*casebot.Quarantined) error) error {
	q, err := f.pending(n)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(q); err != nil {
			return err
		}
	}
	q.State, q.DecidedBy = casebot.QuarantineRejected, actor
	return nil
}

// fakeDigests answers the digest command with a digest of two open cases
// for the user at now, or err.
type fakeDigests struct{ err error }

func (f fakeDigests) DigestNow(_ context.Context, user string, now time.Time) (casebot.Digest, error) {
	if f.err != nil {
		return casebot.Digest{}, f.err
	}
	return casebot.Digest{User: user, At: now, OpenCases: 2}, nil
}

// A command whose service is nil says that its feature is off, with
// EUNAVAIL, whoever asks and whatever the arguments name.
func TestServiceOffIsUnavailable(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ text, want string }{
		{"email MED-2026-0001 hello", "email is not configured on this casebot."},
		{"quarantine", "mail intake is not configured on this casebot."},
		{"accept 1 MED-2026-0001", "mail intake is not configured on this casebot."},
		{"reject 1", "mail intake is not configured on this casebot."},
		{"digest", "digests are not configured on this casebot."},
	} {
		for _, user := range []string{uAdmin, uStranger} {
			t.Run(tt.text+"/"+user, func(t *testing.T) {
				got := e.run(user, tt.text)
				if casebot.ErrorCode(got.Err) != casebot.EUNAVAIL || got.Text != tt.want {
					t.Errorf("got %q (%s), want %q (%s)", got.Text, casebot.ErrorCode(got.Err), tt.want, casebot.EUNAVAIL)
				}
			})
		}
	}
}

func TestEmail(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Mail = fakeComposer{} })
	ctx := context.Background()
	id := e.newCase(uMed, "Lease dispute")
	e.must(uMed, "party add "+id+" claimant Ann ann@x.example")
	e.must(uMed, "party add "+id+" respondent Bob bob@x.example")
	if _, err := e.db.UpdateCase(ctx, id, func(c *casebot.Case) (casebot.Change, error) {
		c.Parties[1].Bouncing = true
		return casebot.Change{Actor: "casebot", Action: "party.bounce", Detail: "bob@x.example"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	before := e.snap(id).outbox
	if got, want := e.must(uMed, "email "+id+" Please send the lease.").Text, "Queued to 1 party of "+id+". 1 bouncing address skipped."; got != want {
		t.Errorf("email = %q, want %q", got, want)
	}
	if got := e.snap(id).outbox; got != before+1 {
		t.Errorf("outbox %d after email, want %d", got, before+1)
	}
	if r := e.refused(uMed, "email "+id+" --to respondent hello", casebot.EINVALID); !strings.Contains(r.Text, "no respondent parties to email") {
		t.Errorf("email to bouncing respondents = %q", r.Text)
	}
	if r := e.refused(uOther, "email "+id+" hello", casebot.EFORBIDDEN); r.Text != casebot.ErrHidden(id).Message {
		t.Errorf("another mediator's email = %q, want the hidden denial", r.Text)
	}
}

func TestQuarantineAcceptReject(t *testing.T) {
	var fq *fakeQuarantine
	e := newEnvWith(t, func(c *Config) {
		fq = &fakeQuarantine{cases: c.Store, notified: map[uint64]bool{}}
		c.Quarantine = fq
	})
	id := e.newCase(uMed, "Lease dispute")
	received := testNow.Add(-time.Hour)
	fq.items = map[uint64]*casebot.Quarantined{
		1: {N: 1, From: "eve@x.example", Subject: "hello", Reason: "not a party", CaseID: id, Received: received, State: casebot.QuarantinePending},
		2: {N: 2, From: "spam@x.example", Subject: "offer", Reason: "no case", Received: received, State: casebot.QuarantinePending},
		3: {N: 3, From: "ann@x.example", Subject: "again", Reason: "not a party", CaseID: id, Received: received, State: casebot.QuarantinePending},
	}

	mine := e.must(uMed, "quarantine")
	if !strings.HasPrefix(mine.Text, "2 emails in quarantine") || !strings.Contains(mine.Text, `#1 `) || strings.Contains(mine.Text, "spam@") {
		t.Errorf("the mediator's quarantine:\n%s", mine.Text)
	}
	wantButtons := []casebot.Button{
		{ActionID: casebot.ActionMailAccept, Label: "Accept #1 into " + id, Value: "1/" + id},
		{ActionID: casebot.ActionMailReject, Label: "Reject #1", Value: "1"},
	}
	if len(mine.Buttons) != 4 || mine.Buttons[0] != wantButtons[0] || mine.Buttons[1] != wantButtons[1] {
		t.Errorf("buttons %+v, want %+v first", mine.Buttons, wantButtons)
	}
	if got := e.must(uAdmin, "quarantine").Text; !strings.HasPrefix(got, "3 emails in quarantine") {
		t.Errorf("the admin's quarantine:\n%s", got)
	}
	if got := e.must(uOther, "quarantine").Text; got != "No email is waiting in quarantine." {
		t.Errorf("another mediator's quarantine: %q", got)
	}

	// Someone who may not handle an item learns nothing about it.
	if r := e.refused(uOther, "reject 1", casebot.ENOTFOUND); r.Text != "There is no quarantined email #1." {
		t.Errorf("another mediator's reject = %q", r.Text)
	}
	if r := e.refused(uOther, "accept 1 "+id, casebot.EFORBIDDEN); r.Text != casebot.ErrHidden(id).Message {
		t.Errorf("another mediator's accept = %q", r.Text)
	}
	if r := e.refused(uMed, "reject 2", casebot.ENOTFOUND); r.Text != "There is no quarantined email #2." {
		t.Errorf("the mediator rejects mail of no case of theirs: %q", r.Text)
	}

	// The mediator who files an email needs no notice of it; an admin's
	// filing tells the mediator.
	if got, want := e.must(uMed, "accept 1 "+id).Text, "Email #1 from eve@x.example is note #7 of "+id+"."; got != want {
		t.Errorf("accept = %q, want %q", got, want)
	}
	e.must(uAdmin, "accept 3 "+id)
	if notify, ok := fq.notified[1]; !ok || notify {
		t.Errorf("the mediator's own accept: notify %v (accepted %v), want false", notify, ok)
	}
	if !fq.notified[3] {
		t.Error("an admin's accept does not tell the mediator")
	}
	if r := e.refused(uAdmin, "reject 1", casebot.ECONFLICT); !strings.Contains(r.Text, "already accepted") {
		t.Errorf("reject after accept = %q", r.Text)
	}
	if got, want := e.must(uAdmin, "reject 2").Text, "Email #2 rejected; its content is deleted."; got != want {
		t.Errorf("reject = %q, want %q", got, want)
	}
}

func TestDigest(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Digests = fakeDigests{} })
	// The reply is the digest in the one renderer's words.
	if got, want := e.must(uMed, "digest").Text, RenderDigest(&casebot.Digest{User: uMed, At: testNow, OpenCases: 2}); got != want || got == "" {
		t.Errorf("digest = %q, want %q", got, want)
	}
	e = newEnvWith(t, func(c *Config) { c.Digests = fakeDigests{err: errors.New("disk on fire")} })
	if r := e.refused(uMed, "digest", casebot.EINTERNAL); r.Text != "Internal error." {
		t.Errorf("failing digest = %q", r.Text)
	}
}
