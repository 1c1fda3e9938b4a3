package casefile

import (
	"encoding/json"
	"fmt"
	"time"
)

// Format names the layout of case.json; it changes when a field changes
// meaning.
const Format = "casebot case file 1"

// CaseJSON is case.json: the case with its parties, deadlines, sessions,
// documents (without content: their files are under documents/) and
// offers. Times are RFC 3339 in UTC; a time not set is left out. The
// case's reply token is a secret of the daemon's, not part of the file.
type CaseJSON struct {
	Format      string         `json:"format"`
	Exported    time.Time      `json:"exported"`
	ExportedBy  string         `json:"exported_by"`
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Type        string         `json:"type,omitempty"`
	Priority    string         `json:"priority"`
	Status      string         `json:"status"`
	Mediator    string         `json:"mediator"`
	Outcome     string         `json:"outcome,omitempty"`
	OutcomeText string         `json:"outcome_text,omitempty"`
	CreatedBy   string         `json:"created_by,omitempty"`
	Created     *time.Time     `json:"created,omitempty"`
	Updated     *time.Time     `json:"updated,omitempty"`
	Closed      *time.Time     `json:"closed,omitempty"`
	Notes       int            `json:"notes"`
	Parties     []PartyJSON    `json:"parties"`
	Deadlines   []DeadlineJSON `json:"deadlines"`
	Sessions    []SessionJSON  `json:"sessions"`
	Documents   []DocumentJSON `json:"documents"`
	// Offers is the case's confidential log of settlement offers.
	Offers []OfferJSON `json:"offers"`
	// Source is the referral source; CoMediators share the case.
	Source      string   `json:"source,omitempty"`
	CoMediators []string `json:"co_mediators,omitempty"`
}

// OfferJSON is an offer in case.json.
type OfferJSON struct {
	N        int        `json:"n"`
	Role     string     `json:"role"`
	Terms    string     `json:"terms"`
	Status   string     `json:"status"`
	By       string     `json:"by"`
	Made     *time.Time `json:"made"`
	ClosedBy string     `json:"closed_by,omitempty"`
	Closed   *time.Time `json:"closed,omitempty"`
}

// PartyJSON is a party in case.json.
type PartyJSON struct {
	Role     string     `json:"role"`
	Name     string     `json:"name"`
	Email    string     `json:"email"`
	Bouncing bool       `json:"bouncing,omitempty"`
	Added    *time.Time `json:"added,omitempty"`
}

// DeadlineJSON is a deadline in case.json.
type DeadlineJSON struct {
	N       int        `json:"n"`
	Due     *time.Time `json:"due"`
	Text    string     `json:"text"`
	Met     bool       `json:"met"`
	MetAt   *time.Time `json:"met_at,omitempty"`
	MetBy   string     `json:"met_by,omitempty"`
	Created *time.Time `json:"created,omitempty"`
}

// SessionJSON is a session in case.json; Minutes is its length.
type SessionJSON struct {
	N         int        `json:"n"`
	Start     *time.Time `json:"start"`
	Minutes   int        `json:"minutes"`
	Title     string     `json:"title"`
	Where     string     `json:"where,omitempty"`
	Cancelled bool       `json:"cancelled,omitempty"`
	Created   *time.Time `json:"created,omitempty"`
	Agenda    []string   `json:"agenda,omitempty"`
}

// DocumentJSON is a document in case.json. File is its entry in the zip,
// empty for a document not kept (over the size limit when it arrived).
type DocumentJSON struct {
	N            int           `json:"n"`
	Name         string        `json:"name"`
	DeclaredType string        `json:"declared_type,omitempty"`
	DetectedType string        `json:"detected_type,omitempty"`
	Size         int64         `json:"size"`
	SHA256       string        `json:"sha256,omitempty"`
	Kept         bool          `json:"kept"`
	File         string        `json:"file,omitempty"`
	Arrivals     []ArrivalJSON `json:"arrivals"`
}

// ArrivalJSON is one email that brought a document.
type ArrivalJSON struct {
	From string     `json:"from"`
	At   *time.Time `json:"at"`
	Note int        `json:"note"`
	Name string     `json:"name"`
}

// ts is t in UTC, nil when it is not set.
func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// caseDocument returns case.json for f, indented.
func caseDocument(f *File) ([]byte, error) {
	c := f.Case
	out := CaseJSON{
		Format: Format, Exported: f.Exported.UTC(), ExportedBy: f.By,
		ID: c.ID, Title: c.Title, Type: c.Type, Priority: string(c.Priority), Status: string(c.Status), Mediator: c.Mediator,
		Outcome: string(c.Outcome), OutcomeText: c.OutcomeText, CreatedBy: c.CreatedBy,
		Created: ts(c.Created), Updated: ts(c.Updated), Closed: ts(c.Closed), Notes: len(f.Notes),
		Parties: []PartyJSON{}, Deadlines: []DeadlineJSON{}, Sessions: []SessionJSON{}, Documents: []DocumentJSON{},
		Offers: []OfferJSON{}, Source: c.Source, CoMediators: c.CoMediators,
	}
	for _, o := range f.Offers {
		out.Offers = append(out.Offers, OfferJSON{N: o.N, Role: string(o.Role), Terms: o.Terms, Status: string(o.Status), By: o.By,
			Made: ts(o.Made), ClosedBy: o.ClosedBy, Closed: ts(o.Closed)})
	}
	for _, p := range c.Parties {
		out.Parties = append(out.Parties, PartyJSON{Role: string(p.Role), Name: p.Name, Email: p.Email, Bouncing: p.Bouncing, Added: ts(p.Added)})
	}
	for _, d := range c.Deadlines {
		out.Deadlines = append(out.Deadlines, DeadlineJSON{N: d.N, Due: ts(d.Due), Text: d.Text, Met: d.Met, MetAt: ts(d.MetAt), MetBy: d.MetBy, Created: ts(d.Created)})
	}
	for _, s := range c.Sessions {
		out.Sessions = append(out.Sessions, SessionJSON{N: s.N, Start: ts(s.Start), Minutes: int(s.Duration / time.Minute), Title: s.Title,
			Where: s.Where, Cancelled: s.Cancelled, Created: ts(s.Created), Agenda: s.Agenda})
	}
	for i := range f.Documents {
		d := &f.Documents[i]
		dj := DocumentJSON{N: d.N, Name: d.Name, DeclaredType: d.DeclaredType, DetectedType: d.DetectedType, Size: d.Size,
			SHA256: d.SHA256, Kept: d.Kept, Arrivals: []ArrivalJSON{}}
		if d.Kept {
			dj.File = DocumentEntry(d)
		}
		for _, a := range d.Arrivals {
			dj.Arrivals = append(dj.Arrivals, ArrivalJSON{From: a.From, At: ts(a.At), Note: a.Note, Name: a.Name})
		}
		out.Documents = append(out.Documents, dj)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("casefile: case.json: %w", err)
	}
	return append(b, '\n'), nil
}
