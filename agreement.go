package casebot

import (
	"context"
	"time"
)

// AgreementData is what an agreement template is filled with (Go
// text/template fields: {{.CaseID}}, {{range .Parties}}{{.Name}}…).
type AgreementData struct {
	CaseID   string
	Title    string
	Type     string
	Source   string
	Mediator string
	// CoMediators of the case, by user ID.
	CoMediators []string
	Parties     []AgreementParty
	Sessions    []AgreementSession
	// Offer is the accepted offer, nil when none was accepted.
	Offer *AgreementOffer
	// Date is today in the mediator's zone, written out ("7 December 2026").
	Date string
}

// AgreementParty is a party as an agreement names it.
type AgreementParty struct {
	Role  Role
	Name  string
	Email string
}

// AgreementSession is a held or planned session, its time written out.
type AgreementSession struct {
	N     int
	When  string
	Title string
	Where string
}

// AgreementOffer is the accepted offer's side and terms.
type AgreementOffer struct {
	N     int
	Role  Role
	Terms string
}

// NewAgreementData gathers c's data for an agreement at now, dates in loc
// (the mediator's zone), with the last accepted offer of offers.
func NewAgreementData(c *Case, offers []Offer, now time.Time, loc *time.Location) AgreementData {
	d := AgreementData{CaseID: c.ID, Title: c.Title, Type: c.Type, Source: c.Source, Mediator: c.Mediator,
		CoMediators: append([]string(nil), c.CoMediators...), Date: now.In(loc).Format("2 January 2006")}
	for _, p := range c.Parties {
		d.Parties = append(d.Parties, AgreementParty{Role: p.Role, Name: p.Name, Email: p.Email})
	}
	for _, s := range c.Sessions {
		if s.Cancelled {
			continue
		}
		d.Sessions = append(d.Sessions, AgreementSession{N: s.N, When: s.Start.In(loc).Format("Monday 2 January 2006, 15:04 MST"),
			Title: s.Title, Where: s.Where})
	}
	if o := Accepted(offers); o != nil {
		d.Offer = &AgreementOffer{N: o.N, Role: o.Role, Terms: o.Terms}
	}
	return d
}

// SampleAgreementData is a filled-in case that every template is tried on
// at start-up, so a template naming an unknown field is refused then.
func SampleAgreementData() AgreementData {
	return AgreementData{CaseID: "MED-2026-0001", Title: "Sample", Type: "civil", Source: "court", Mediator: "U1",
		CoMediators: []string{"U2"},
		Parties: []AgreementParty{{Role: RoleClaimant, Name: "Ann Example", Email: "ann@example.com"},
			{Role: RoleRespondent, Name: "Bo Example", Email: "bo@example.com"}},
		Sessions: []AgreementSession{{N: 1, When: "Monday 2 March 2026, 10:00 UTC", Title: "Opening", Where: "Room 4"}},
		Offer:    &AgreementOffer{N: 1, Role: RoleRespondent, Terms: "1,000 within 30 days"}, Date: "2 March 2026"}
}

// Agreements fills agreement templates.
type Agreements interface {
	// Templates returns the template names, sorted.
	Templates() []string
	// Render fills the named template with d and returns the agreement as
	// a PDF. An unknown template is an EINVALID error naming the known ones.
	Render(name string, d AgreementData) ([]byte, error)
}

// DocumentFiler files a document no party's email brought: one casebot
// made (an agreement) or one a user shared in Slack.
type DocumentFiler interface {
	// FileDocument adds a (content whole) to case caseID as the arrival
	// arr (From: who filed it; Via: how it came), after check (run inside
	// the transaction on the case as stored; its error aborts with nothing
	// stored), with its audit event ("doc.add"). It returns the doc# and
	// whether the document is new (the same bytes again are another
	// arrival); ENOTFOUND for a missing case.
	FileDocument(ctx context.Context, caseID string, a Attachment, arr Arrival, check func(*Case) error) (int, bool, error)
}
