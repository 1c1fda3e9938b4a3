package casebot

import (
	"context"
	"time"
)

// ListPageSize is how many cases one page of list shows.
const ListPageSize = 50

// CaseSummary is what a list line shows of a case.
type CaseSummary struct {
	ID          string
	Title       string
	Mediator    string
	CoMediators []string
	Priority    Priority
	Status      Status
	// Next is the earliest unmet deadline; nil when there is none.
	Next *Deadline
}

// Summary returns what a list line shows of c.
func (c *Case) Summary() CaseSummary {
	s := CaseSummary{ID: c.ID, Title: c.Title, Mediator: c.Mediator, CoMediators: c.CoMediators, Priority: c.Priority, Status: c.Status}
	if ds := c.OpenDeadlines(); len(ds) > 0 {
		s.Next = &ds[0]
	}
	return s
}

// CasePage is one page of a case list, most urgent first.
type CasePage struct {
	Cases []CaseSummary
	// Page is the page shown (1-based), Pages how many there are (at least
	// 1) and Total how many cases the filter selects.
	Page, Pages, Total int
}

// ReportQuery selects a report: whole months from FromMonth to ToMonth
// (both "2006-01", inclusive) in the programme's zone, for one mediator's
// cases or ("") the programme's.
type ReportQuery struct {
	FromMonth, ToMonth string
	Mediator           string
	// Now bounds the sessions counted as held.
	Now time.Time
}

// MonthFigures are one month's cases opened and closed.
type MonthFigures struct {
	Month   string // "2006-01"
	Opened  int
	Closed  int
	Settled int // settled or partial
}

// GroupFigures are the closed cases of one group (a type, priority,
// source or mediator, or all of them): how many, how many settled (settled
// or partial), and the median and 90th-percentile days from opening to
// closing (0 when none closed).
type GroupFigures struct {
	Key        string
	Closed     int
	Settled    int
	MedianDays float64
	P90Days    float64
}

// SettlementRate returns the share of closed cases that settled, 0 to 1.
func (g GroupFigures) SettlementRate() float64 {
	if g.Closed == 0 {
		return 0
	}
	return float64(g.Settled) / float64(g.Closed)
}

// ClosedCase is one closed case as a report lists it: no party, no content.
type ClosedCase struct {
	ID       string
	Type     string
	Priority Priority
	Source   string
	Mediator string
	Opened   time.Time
	Closed   time.Time
	Outcome  Status
	Days     float64 // days from opening to closing, to a tenth
	Sessions int     // sessions held (not cancelled, started by closing)
}

// Report dimensions, the keys of Report.By.
const (
	ByType     = "type"
	ByPriority = "priority"
	BySource   = "source"
	ByMediator = "mediator"
)

// Report is the programme's (or one mediator's) figures for a period.
type Report struct {
	FromMonth, ToMonth string
	Mediator           string
	Months             []MonthFigures
	Opened             int
	All                GroupFigures
	// By holds, per dimension (ByType, …), one entry per value seen,
	// ordered by key.
	By           map[string][]GroupFigures
	SessionsHeld int
	// OffersMade and OffersAccepted count settlement offers; they stay 0
	// until the store keeps offers.
	OffersMade, OffersAccepted int
	// Purged counts cases whose content was destroyed in the period.
	Purged int
	// Cases are the period's closed cases, in order of closing, when
	// read (InsightStore.ClosedCases).
	Cases []ClosedCase
}

// InsightStore is what list, stats, search and report need beyond reading
// single cases: pages from the urgency index, figures from the aggregates
// kept as cases change, and reports.
type InsightStore interface {
	// CasePage returns page page (1-based; past the end gives the last) of
	// the cases f selects, ListPageSize a page, most urgent first (priority,
	// then earliest open deadline, then ID), as the summaries the urgency
	// index keeps: no case record is read.
	CasePage(ctx context.Context, f CaseFilter, page int) (CasePage, error)
	// StatsFor returns caseload figures at now for one mediator's cases,
	// or ("") every case.
	StatsFor(ctx context.Context, now time.Time, mediator string) (Stats, error)
	// Report returns the figures of q's months, without Cases: its work
	// grows with months and groups, not cases. EINVALID for a bad month.
	Report(ctx context.Context, q ReportQuery) (*Report, error)
	// ClosedCases returns the cases closed in q's months (one mediator's or
	// all), in order of closing, for the report's CSV.
	ClosedCases(ctx context.Context, q ReportQuery) ([]ClosedCase, error)
}

// ReportFiles turns a report into files for the actor: a CSV of the
// closed cases and a chart. It is implemented in report/; nil means the
// files are off.
type ReportFiles interface {
	// Files returns the report's files, or an error when one cannot be made.
	Files(r *Report) ([]File, error)
}
