package bot

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/casebot/casebot"
)

var (
	monthRe = regexp.MustCompile(`^\d{4}-\d{2}$`)
	dateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// reportSlackOff is said when the report's files cannot be sent.
const reportSlackOff = "The CSV and the chart go to your Slack direct messages; they need Slack, which is not configured."

// parseReportMonth reads a month (2026-01) or a date (2026-01-15, standing
// for its month) and returns the month as "2006-01".
func parseReportMonth(s string) (string, error) {
	layout := "2006-01"
	switch {
	case monthRe.MatchString(s):
	case dateRe.MatchString(s):
		layout = "2006-01-02"
	default:
		return "", invalid("%q is not a month like 2026-01 or a date like 2026-01-15.", s)
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return "", invalid("%q is not a month like 2026-01 or a date like 2026-01-15.", s)
	}
	return t.Format("2006-01"), nil
}

// reportPeriod returns the months of report's arguments: from and to,
// from to this month, or the last 12 months up to this month.
func reportPeriod(args []string, now time.Time) (string, string, error) {
	this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	from, to := this.AddDate(0, -11, 0).Format("2006-01"), this.Format("2006-01")
	var err error
	if len(args) > 0 {
		if from, err = parseReportMonth(args[0]); err != nil {
			return "", "", err
		}
	}
	if len(args) > 1 {
		if to, err = parseReportMonth(args[1]); err != nil {
			return "", "", err
		}
	}
	if to < from {
		return "", "", invalid("The period ends (%s) before it starts (%s).", to, from)
	}
	return from, to, nil
}

func handleReport(ctx context.Context, r *Request) Reply {
	from, to, err := reportPeriod(r.Args.Period, r.Now.In(r.Actor.Location()))
	if err != nil {
		return r.Usage(err)
	}
	scope, q := "the programme", casebot.ReportQuery{FromMonth: from, ToMonth: to, Now: r.Now}
	if !r.Actor.Admin {
		scope, q.Mediator = "your cases", r.Actor.ID
	}
	if q.Mediator == "" && !r.Actor.Admin {
		return Reply{Text: "No cases."}
	}
	rep, err := r.Store.Report(ctx, q)
	if casebot.ErrorCode(err) == casebot.EINVALID {
		return r.Usage(err)
	} else if err != nil {
		return r.Fail(fmt.Errorf("bot: report: %w", err))
	}
	text := reportSummary(rep, scope)
	return Reply{Text: text + "\n" + r.sendReportFiles(ctx, rep, q)}
}

// sendReportFiles sends the report's CSV and chart to the actor's direct
// messages and says what happened.
func (r *Request) sendReportFiles(ctx context.Context, rep *casebot.Report, q casebot.ReportQuery) string {
	files, maker := r.bot.cfg.Files, r.bot.cfg.Reports
	if files == nil || maker == nil {
		return reportSlackOff
	}
	var err error
	if rep.Cases, err = r.Store.ClosedCases(ctx, q); err != nil {
		r.Logger.Error("report: closed cases not read", slog.String("user", r.Actor.ID), slog.Any("error", err))
		return "The CSV and the chart could not be made; the figures above are complete."
	}
	fs, err := maker.Files(rep)
	if err != nil {
		r.Logger.Error("report: files not made", slog.String("user", r.Actor.ID), slog.Any("error", err))
		return "The CSV and the chart could not be made; the figures above are complete."
	}
	for _, f := range fs {
		if err := files.SendFile(ctx, r.Actor.ID, f); err != nil {
			r.Logger.Error("report: file not delivered", slog.String("user", r.Actor.ID), slog.String("file", f.Name), slog.Any("error", err))
			return "Slack did not take the CSV and the chart; try again in a moment."
		}
	}
	return fmt.Sprintf("Sent the CSV (%d closed cases) and the chart to your direct messages.", len(rep.Cases))
}

// groupLine words one group's closed-case figures.
func groupLine(g casebot.GroupFigures) string {
	if g.Closed == 0 {
		return "none closed"
	}
	return fmt.Sprintf("%d closed, %.0f%% settled, median %.1f days, 90th percentile %.1f days",
		g.Closed, 100*g.SettlementRate(), g.MedianDays, g.P90Days)
}

// reportSummary is report's reply: the period's totals, each month, and
// the closed cases by type, priority, source and mediator.
func reportSummary(rep *casebot.Report, scope string) string {
	var t text
	t.linef("Report %s to %s (%s):", rep.FromMonth, rep.ToMonth, scope)
	t.linef("  Opened %d; %s.", rep.Opened, groupLine(rep.All))
	t.linef("  Sessions held %d; offers made %d, accepted %d; cases purged %d.", rep.SessionsHeld, rep.OffersMade, rep.OffersAccepted, rep.Purged)
	t.line("  By month (opened / closed / settled):")
	for _, m := range rep.Months {
		t.linef("    %s  %d / %d / %d", m.Month, m.Opened, m.Closed, m.Settled)
	}
	for _, d := range []string{casebot.ByType, casebot.ByPriority, casebot.BySource, casebot.ByMediator} {
		gs := rep.By[d]
		if len(gs) == 0 {
			continue
		}
		t.linef("  By %s:", d)
		for _, g := range gs {
			key := g.Key
			if strings.TrimSpace(key) == "" {
				key = "(none)"
			}
			t.linef("    %s: %s", key, groupLine(g))
		}
	}
	return strings.TrimRight(t.String(), "\n")
}
