package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/casebot/casebot"
)

// retentionEvery is how often the retention purge runs.
const retentionEvery = 24 * time.Hour

// runRetention purges, once a day (and at the first tick after start),
// the cases closed more than RetainDays days before now that are not on
// hold. The store works in short batches and records each purge in the
// case's audit trail. It returns when it runs next, zero when retention is
// off.
func (s *Scheduler) runRetention(ctx context.Context, now time.Time) (time.Time, error) {
	if s.cfg.Purger == nil || s.cfg.RetainDays <= 0 {
		return time.Time{}, nil
	}
	if !s.purgedAt.IsZero() && now.Before(s.purgedAt.Add(retentionEvery)) {
		return s.purgedAt.Add(retentionEvery), nil
	}
	why := fmt.Sprintf("retention: closed more than %d days ago", s.cfg.RetainDays)
	ids, err := s.cfg.Purger.PurgeExpired(ctx, now.AddDate(0, 0, -s.cfg.RetainDays), "casebot", why)
	if len(ids) > 0 {
		s.log.Info("scheduler: retention purge", slog.Int("cases", len(ids)), slog.Int("retain_days", s.cfg.RetainDays))
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("scheduler: retention purge: %w", err)
	}
	s.purgedAt = now
	return now.Add(retentionEvery), nil
}

// purgeLists fills an admin's digest with the cases purged since d.Since
// and, with retention on, those the retention purge takes within
// PurgeWarningDays of now, from the closed case records.
func (s *Scheduler) purgeLists(ctx context.Context, d *casebot.Digest, now time.Time) error {
	closed, err := s.cfg.Store.Cases(ctx, casebot.CaseFilter{State: "closed"})
	if err != nil {
		return err
	}
	warn := now.AddDate(0, 0, s.cfg.PurgeWarningDays)
	for _, c := range closed {
		it := casebot.DigestItem{CaseID: c.ID, Title: c.Title, Mediator: c.Mediator, Priority: c.Priority}
		if p := c.Purged; p != nil {
			if p.At.After(d.Since) && !p.At.After(now) {
				it.When = p.At
				d.Purged = append(d.Purged, it)
			}
			continue
		}
		if s.cfg.Purger == nil {
			continue
		}
		if due := c.PurgeDue(s.cfg.RetainDays); !due.IsZero() && !due.After(warn) {
			it.When = due
			d.PurgeSoon = append(d.PurgeSoon, it)
		}
	}
	byWhen := func(a, b casebot.DigestItem) int {
		return cmp.Or(a.When.Compare(b.When), cmp.Compare(a.CaseID, b.CaseID))
	}
	slices.SortFunc(d.Purged, byWhen)
	slices.SortFunc(d.PurgeSoon, byWhen)
	return nil
}
