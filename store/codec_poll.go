package store

import (
	"time"

	"github.com/casebot/casebot"
)

// A poll's tally in a notice (notice format 2).

func appendPollTally(e *enc, t *casebot.PollTally) {
	e.uint(uint64(len(t.Slots)))
	for _, s := range t.Slots {
		e.time(s)
	}
	e.int(int64(t.Duration))
	for _, names := range [...][][]string{t.Can, t.Cannot} {
		e.uint(uint64(len(names)))
		for _, ns := range names {
			appendStrings(e, ns)
		}
	}
	appendStrings(e, t.Waiting)
	appendStrings(e, t.None)
	e.bool(t.Complete)
	e.uint(uint64(len(t.Suit)))
	for _, k := range t.Suit {
		e.int(int64(k))
	}
}

func decodePollTally(d *dec) *casebot.PollTally {
	t := &casebot.PollTally{}
	if n := d.count(1); n > 0 {
		t.Slots = make([]time.Time, n)
		for i := range t.Slots {
			t.Slots[i] = d.time()
		}
	}
	t.Duration = time.Duration(d.int())
	for _, names := range [...]*[][]string{&t.Can, &t.Cannot} {
		if n := d.count(1); n > 0 {
			*names = make([][]string, n)
			for i := range *names {
				(*names)[i] = decodeStrings(d)
			}
		}
	}
	t.Waiting = decodeStrings(d)
	t.None = decodeStrings(d)
	t.Complete = d.bool()
	if n := d.count(1); n > 0 {
		t.Suit = make([]int, n)
		for i := range t.Suit {
			t.Suit[i] = int(d.int())
		}
	}
	return t
}

func appendStrings(e *enc, ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func decodeStrings(d *dec) []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}
