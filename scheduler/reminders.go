package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/casebot/casebot"
)

// commitChunk is how many reminders one transaction commits at most, so a
// large catch-up never holds the writer for long.
const commitChunk = 500

// fire is one reminder or notice found due in a scan, or found missed.
type fire struct {
	at     time.Time
	rem    *casebot.Reminder
	missed *casebot.MissedReminder
}

// scanReminders handles the reminders and overdue notices whose fire time
// lies in (last scan, now]: those younger than Catchup are queued, older
// ones recorded as missed for the next digest. stored is the store's scan
// mark. It returns the next overdue notice's time.
//
// Each commit queues the messages and moves the store's mark in one
// transaction, and every message has a key naming its item, its due time
// (and session sequence) and its offset, so a crash or restart at any point
// neither loses nor doubles a reminder, and a moved item gets new reminders
// while the old ones are never sent. A scan that finds nothing writes
// nothing (unless the mark lags by persistEvery): its window holds no fire
// that a rescan after a restart could find, since a reminder never fires
// before its item was created.
func (s *Scheduler) scanReminders(ctx context.Context, stored, now time.Time, zone func(string) *time.Location) (time.Time, error) {
	start := stored
	if s.scanned.After(start) {
		start = s.scanned
	}
	if start.IsZero() {
		start = now.Add(-s.cfg.Catchup) // a new store: catch up what is young enough
	}
	catchFrom := now.Add(-s.cfg.Catchup)
	var fires []fire
	cases := map[string]*casebot.Case{}
	if now.After(start) {
		for _, o := range s.cfg.Reminders {
			fs, err := s.offsetFires(ctx, o, start, now, catchFrom, zone, cases)
			if err != nil {
				return time.Time{}, err
			}
			fires = append(fires, fs...)
		}
	}
	overdue, nextOverdue, err := s.overdueFires(ctx, start, now, catchFrom, zone)
	if err != nil {
		return time.Time{}, err
	}
	fires = append(fires, overdue...)
	if len(fires) == 0 {
		if stored.IsZero() || now.Sub(stored) >= persistEvery {
			if _, err := s.cfg.Store.CommitReminders(ctx, casebot.ReminderBatch{From: stored, To: now}); err != nil {
				return time.Time{}, err
			}
		}
		s.scanned = now
		return nextOverdue, nil
	}
	slices.SortStableFunc(fires, func(a, b fire) int { return a.at.Compare(b.at) })
	s.scanned = time.Time{} // until every chunk is committed, trust only the store's mark
	from := stored
	for i := 0; i < len(fires); {
		j := min(i+commitChunk, len(fires))
		for j < len(fires) && fires[j].at.Equal(fires[j-1].at) {
			j++ // never split one instant: the mark must not fall inside it
		}
		to := fires[j-1].at
		if j == len(fires) {
			to = now
		}
		b := casebot.ReminderBatch{From: from, To: to}
		for _, f := range fires[i:j] {
			if f.rem != nil {
				b.Reminders = append(b.Reminders, s.deliverable(*f.rem))
			} else {
				b.Missed = append(b.Missed, *f.missed)
			}
		}
		n, err := s.cfg.Store.CommitReminders(ctx, b)
		if err != nil {
			return time.Time{}, err
		}
		s.queued(n)
		if len(b.Missed) > 0 {
			s.log.Info("scheduler: reminders missed while down", slog.Int("count", len(b.Missed)))
		}
		from, i = to, j
	}
	s.scanned = now
	return nextOverdue, nil
}

// offsetFires returns the reminders at offset o whose fire time lies in
// (start, now], read from the deadline and session indexes.
func (s *Scheduler) offsetFires(ctx context.Context, o time.Duration, start, now, catchFrom time.Time,
	zone func(string) *time.Location, cases map[string]*casebot.Case) ([]fire, error) {
	slack := slackOf(o)
	// fire in (start, now] means due in about (start+o, now+o]; [from, to) ranges.
	lo, hi := start.Add(o-slack).Add(time.Nanosecond), now.Add(o+slack).Add(time.Nanosecond)
	var out []fire
	due := func(at, item, made time.Time) bool {
		return at.After(start) && !at.After(now) && item.After(now) && firesAfterMade(at, item, made, o)
	}
	ds, err := s.cfg.Store.DeadlinesBetween(ctx, lo, hi)
	if err != nil {
		return nil, err
	}
	for _, r := range ds {
		loc := zone(r.Mediator)
		at := fireTime(r.Deadline.Due, o, loc)
		if !due(at, r.Deadline.Due, r.Deadline.Made()) {
			continue
		}
		key := fmt.Sprintf("rem/%s/d%d/%d/%s", r.CaseID, r.Deadline.N, r.Deadline.Due.Unix(), offsetLabel(o))
		if !at.After(catchFrom) {
			m := casebot.MissedReminder{Key: key, User: r.Mediator, CaseID: r.CaseID, Fire: at,
				What: fmt.Sprintf("%s deadline #%d due %s (%s before)", r.CaseID, r.Deadline.N, fmtTime(r.Deadline.Due, loc), casebot.DurationWords(o))}
			out = append(out, missedFires(at, m, r.CoMediators)...)
			continue
		}
		rem := &casebot.Reminder{CaseID: r.CaseID, Deadline: r.Deadline.N, Due: r.Deadline.Due,
			Msgs: []casebot.OutMessage{casebot.DeadlineReminderNotice(r, o, key, loc)}}
		for _, u := range r.CoMediators {
			rem.Msgs = append(rem.Msgs, coCopy(casebot.DeadlineReminderNotice(r, o, key, zone(u)), u))
		}
		out = append(out, fire{at: at, rem: rem})
	}
	ss, err := s.cfg.Store.SessionsBetween(ctx, lo, hi)
	if err != nil {
		return nil, err
	}
	for _, r := range ss {
		loc := zone(r.Mediator)
		at := fireTime(r.Session.Start, o, loc)
		if !due(at, r.Session.Start, r.Session.Made()) {
			continue
		}
		key := fmt.Sprintf("rem/%s/s%d/seq%d/%d/%s", r.CaseID, r.Session.N, r.Session.Sequence, r.Session.Start.Unix(), offsetLabel(o))
		if !at.After(catchFrom) {
			m := casebot.MissedReminder{Key: key, User: r.Mediator, CaseID: r.CaseID, Fire: at,
				What: fmt.Sprintf("%s session #%d at %s (%s before)", r.CaseID, r.Session.N, fmtTime(r.Session.Start, loc), casebot.DurationWords(o))}
			out = append(out, missedFires(at, m, r.CoMediators)...)
			continue
		}
		rem := &casebot.Reminder{CaseID: r.CaseID, Session: r.Session.N, Due: r.Session.Start, Sequence: r.Session.Sequence}
		if r.Mediator != "" {
			rem.Msgs = append(rem.Msgs, casebot.SessionReminderNotice(r, o, key, loc))
		}
		for _, u := range r.CoMediators {
			rem.Msgs = append(rem.Msgs, coCopy(casebot.SessionReminderNotice(r, o, key, zone(u)), u))
		}
		if s.cfg.Composer != nil {
			mails, err := s.partyMails(ctx, r, o, key, cases)
			if err != nil {
				return nil, err
			}
			rem.Msgs = append(rem.Msgs, mails...)
		}
		out = append(out, fire{at: at, rem: rem})
	}
	return out, nil
}

// firesAfterMade reports whether the reminder at offset o before due,
// firing at at, is still news when the item was made (or last moved) at
// made: it must fire after made, and the item must have been made more than
// o ahead. A session made "+7d" with a 7d reminder otherwise fired right
// after its invitation (and, across a DST change, an hour either side).
func firesAfterMade(at, due, made time.Time, o time.Duration) bool {
	return at.After(made) && due.Sub(made) > o
}

// missedFires records m, a reminder missed while down, for the mediator
// and each co-mediator (keyed apart), for their next digests.
func missedFires(at time.Time, m casebot.MissedReminder, co []string) []fire {
	out := []fire{{at: at, missed: &m}}
	for _, u := range co {
		c := m
		c.User, c.Key = u, m.Key+"/co/"+u
		out = append(out, fire{at: at, missed: &c})
	}
	return out
}

// coCopy is m, a notice built for a case's mediator, sent to the
// co-mediator u instead (worded in u's zone by its builder).
func coCopy(m casebot.OutMessage, u string) casebot.OutMessage {
	return casebot.CoMediatorCopies(m, []string{u})[0]
}

// partyMails builds the parties' reminder emails for a session.
func (s *Scheduler) partyMails(ctx context.Context, r casebot.SessionRef, o time.Duration, key string, cases map[string]*casebot.Case) ([]casebot.OutMessage, error) {
	c, ok := cases[r.CaseID]
	if !ok {
		var err error
		c, err = s.cfg.Store.Case(ctx, r.CaseID)
		if casebot.ErrorCode(err) == casebot.ENOTFOUND {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("scheduler: session reminder for %s: %w", r.CaseID, err)
		}
		cases[r.CaseID] = c
	}
	msgs, err := s.cfg.Composer.SessionReminder(c, r.Session, o, key+"/mail")
	if err != nil {
		return nil, fmt.Errorf("scheduler: session reminder mail for %s: %w", r.CaseID, err)
	}
	return msgs, nil
}

// overdueFires returns the daily overdue notices that fell due in
// (start, now] and younger than catchFrom (older ones are not listed as
// missed: the digest lists every overdue deadline, and the next notice
// comes a day later), and when the next notice falls due. A notice repeats
// at the deadline's time of day on the mediator's wall clock.
func (s *Scheduler) overdueFires(ctx context.Context, start, now, catchFrom time.Time, zone func(string) *time.Location) ([]fire, time.Time, error) {
	ods, err := s.cfg.Store.Overdue(ctx, now.Add(time.Nanosecond), "")
	if err != nil {
		return nil, time.Time{}, err
	}
	var out []fire
	var next time.Time
	for _, r := range ods {
		loc := zone(r.Mediator)
		at, k, ok := lastDaily(r.Deadline.Due, now, loc)
		if !ok {
			continue
		}
		next = earliest(next, dailyFire(r.Deadline.Due, k+1, loc))
		if !at.After(start) || !at.After(catchFrom) || r.Mediator == "" {
			continue
		}
		key := fmt.Sprintf("overdue/%s/d%d/%d/%s", r.CaseID, r.Deadline.N, r.Deadline.Due.Unix(), at.In(loc).Format("2006-01-02"))
		rem := &casebot.Reminder{CaseID: r.CaseID, Deadline: r.Deadline.N, Due: r.Deadline.Due,
			Msgs: []casebot.OutMessage{casebot.OverdueNotice(r, k, key, loc)}}
		for _, u := range r.CoMediators {
			rem.Msgs = append(rem.Msgs, coCopy(casebot.OverdueNotice(r, k, key, zone(u)), u))
		}
		out = append(out, fire{at: at, rem: rem})
	}
	return out, next, nil
}

// nextReminder returns the earliest reminder fire time after now, reading
// for each offset only the start of the time indexes (one seek, and the few
// entries within a DST slack of the first).
func (s *Scheduler) nextReminder(ctx context.Context, now time.Time, zone func(string) *time.Location) (time.Time, error) {
	var next time.Time
	// The first overdue notice comes at the due time itself.
	if err := s.cfg.Store.EachDeadlineFrom(ctx, now.Add(time.Nanosecond), func(r casebot.DeadlineRef) bool {
		next = r.Deadline.Due
		return false
	}); err != nil {
		return time.Time{}, err
	}
	type item struct {
		due, made time.Time
		mediator  string
	}
	for _, o := range s.cfg.Reminders {
		slack := slackOf(o)
		var band []item
		var stop time.Time
		collect := func(due, created time.Time, mediator string) bool {
			if !stop.IsZero() && due.After(stop) {
				return false
			}
			band = append(band, item{due, created, mediator})
			if stop.IsZero() && due.After(now.Add(o+slack)) {
				// This one fires after now; anything due later than this
				// plus twice the slack fires after it.
				stop = due.Add(2 * slack)
			}
			return true
		}
		from := now.Add(o - slack)
		if err := s.cfg.Store.EachDeadlineFrom(ctx, from, func(r casebot.DeadlineRef) bool {
			return collect(r.Deadline.Due, r.Deadline.Made(), r.Mediator)
		}); err != nil {
			return time.Time{}, err
		}
		stop = time.Time{}
		if err := s.cfg.Store.EachSessionFrom(ctx, from, func(r casebot.SessionRef) bool {
			return collect(r.Session.Start, r.Session.Made(), r.Mediator)
		}); err != nil {
			return time.Time{}, err
		}
		for _, it := range band {
			at := fireTime(it.due, o, zone(it.mediator))
			if at.After(now) && firesAfterMade(at, it.due, it.made, o) {
				next = earliest(next, at)
			}
		}
	}
	return next, nil
}

// deliverable drops the Slack messages of r when Slack is off.
func (s *Scheduler) deliverable(r casebot.Reminder) casebot.Reminder {
	if !s.cfg.NoSlack {
		return r
	}
	var keep []casebot.OutMessage
	for _, m := range r.Msgs {
		if m.Kind != casebot.OutSlack {
			keep = append(keep, m)
		}
	}
	r.Msgs = keep
	return r
}
