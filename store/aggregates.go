package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Aggregates (schema 5): counters kept in the transaction of every change
// to a case, so that list pages, stats and reports read a number of keys
// that grows with months and groups, not with cases. Like the indexes,
// every counter but the purge count is a pure function of the case
// records (caseCounters): a write applies the difference between what the
// old and the new record imply, the migration and a zone change rebuild
// them, and Check recomputes and compares them.
//
// bucketAgg, counter key -> value:
//
//	s \0 status \0 priority                  -> count: cases now
//	m \0 mediator \0 status \0 priority      -> count: the same per mediator
//	a \0 month \0 scope \0 dim \0 value      -> count: cases opened
//	c \0 month \0 scope \0 dim \0 value      -> closing record: cases closed
//	h \0 scope \0 day                        -> count: sessions (not cancelled) by start day
//	z \0 scope \0 month \0 o|c|s              -> count: cases opened, closed, settled (schema 14)
//	p \0 month                               -> count: cases purged (not derived: Check leaves it alone)
//
// scope is "" (the programme) or a mediator (their own cases); dim is
// "all" (value ""), "type", "priority", "source" or, for the programme,
// "mediator". month "*" in a 'c' key is all time (for stats), and a
// quarter ("2026-Q2", schema 13) sums its three months, so that a report
// of twelve months reads four sets of closing records, not twelve. The 'z'
// counters repeat the "all" group's opened, closed and settled counts with
// the month last, so that a report's month rows are one walk of adjacent
// keys, not three lookups a month. A closing
// record holds the closed and settled counts and a histogram of tenths of
// days to close (closingRecord). Months ("2006-01") and days
// ("2006-01-02") are read in the programme's zone (Options.Zone, kept in
// meta as report_zone).
var bucketAgg = []byte("aggregates")

// metaReportZone names the zone of the aggregates' months and days.
var metaReportZone = []byte("report_zone")

// Counter kinds: the first byte of a counter key.
const (
	aggStatus   = 's'
	aggMediator = 'm'
	aggOpened   = 'a'
	aggClosed   = 'c'
	aggSessions = 'h'
	aggPurged   = 'p'
	aggMonths   = 'z'
)

// The last part of a 'z' key: which count of the month it is.
const (
	monthOpened  = 'o'
	monthClosed  = 'c'
	monthSettled = 's'
)

// monthKey is the 'z' counter of scope's month for count (monthOpened…).
func monthKey(scope, month string, count byte) string {
	return "z\x00" + scope + "\x00" + month + "\x00" + string(count)
}

// zones caches loaded zones by name (loading one reads the zone database).
var zones sync.Map

// loadZone returns the named zone, UTC for "" or an unknown name.
func loadZone(name string) *time.Location {
	if name == "" || name == "UTC" {
		return time.UTC
	}
	if z, ok := zones.Load(name); ok {
		return z.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	zones.Store(name, loc)
	return loc
}

// reportZone returns the zone the aggregates are kept in.
func reportZone(tx kv.Tx) *time.Location {
	if meta := tx.Bucket(bucketMeta); meta != nil {
		return loadZone(string(meta.Get(metaReportZone)))
	}
	return time.UTC
}

// dim makes user text safe as a part of a counter key.
func dim(s string) string { return strings.ReplaceAll(s, "\x00", " ") }

// settled reports whether an outcome counts as a settlement.
func settled(s casebot.Status) bool { return s == casebot.StatusSettled || s == casebot.StatusPartial }

// closedAt returns when the case closed (its last update for records from
// before Closed was kept).
func closedAt(c *casebot.Case) time.Time {
	if c.Closed.IsZero() {
		return c.Updated
	}
	return c.Closed
}

// tenthsToClose returns the days from opening to closing in tenths.
func tenthsToClose(c *casebot.Case) uint32 {
	d := closedAt(c).Sub(c.Created).Hours() / 24
	return uint32(max(0, math.Round(d*10)))
}

// heldSessions counts the case's sessions not cancelled that started by t.
func heldSessions(c *casebot.Case, t time.Time) int {
	n := 0
	for _, s := range c.Sessions {
		if !s.Cancelled && !s.Start.After(t) {
			n++
		}
	}
	return n
}

// allTime is the month of the all-time closing records.
const allTime = "*"

// quarterOf returns the quarter of a month ("2026-04" -> "2026-Q2").
func quarterOf(month string) string {
	m := int(month[5]-'0')*10 + int(month[6]-'0')
	return month[:4] + "-Q" + string(rune('1'+(m-1)/3))
}

// contribution suffix of a closing: tenths (4) | settled (1).
const closingSuffix = 5

// caseCounters returns what case c adds to the counters. It is the one
// definition of the derived aggregates. A 'c' entry's key is the closing
// record's key followed by the closing's tenths of days (4 bytes) and
// whether it settled (1 byte); every other entry's key is the counter's.
func caseCounters(c *casebot.Case, loc *time.Location) map[string]uint64 {
	out := make(map[string]uint64, 24)
	if c == nil {
		return out
	}
	st, pr, med := string(c.Status), string(c.Priority), dim(c.Mediator)
	out["s\x00"+st+"\x00"+pr]++
	out["m\x00"+med+"\x00"+st+"\x00"+pr]++
	groups := func(kind, month string, suffix string) {
		for _, scope := range []string{"", med} {
			p := kind + "\x00" + month + "\x00" + scope + "\x00"
			out[p+"all\x00"+suffix]++
			out[p+"type\x00"+dim(c.Type)+suffix]++
			out[p+"priority\x00"+pr+suffix]++
			out[p+"source\x00"+dim(c.Source)+suffix]++
			if scope == "" {
				out[p+"mediator\x00"+med+suffix]++
			}
		}
	}
	opened := c.Created.In(loc).Format("2006-01")
	groups("a", opened, "")
	for _, scope := range []string{"", med} {
		out[monthKey(scope, opened, monthOpened)]++
	}
	if c.Status.Closed() {
		suffix := string(append(binary.BigEndian.AppendUint32(nil, tenthsToClose(c)), b2u(settled(c.Status))))
		month := closedAt(c).In(loc).Format("2006-01")
		groups("c", month, suffix)
		groups("c", quarterOf(month), suffix)
		groups("c", allTime, suffix)
		for _, scope := range []string{"", med} {
			out[monthKey(scope, month, monthClosed)]++
			if settled(c.Status) {
				out[monthKey(scope, month, monthSettled)]++
			}
		}
	}
	for _, s := range c.Sessions {
		if !s.Cancelled {
			day := s.Start.In(loc).Format("2006-01-02")
			out["h\x00\x00"+day]++
			out["h\x00"+med+"\x00"+day]++
		}
	}
	return out
}

// closingRecord is a 'c' counter's value: closed and settled counts and
// the histogram of tenths of days to close.
type closingRecord struct {
	closed, settled int
	h               histogram
}

// add adds n closings (n < 0 removes) of tenths days, settled or not.
func (r *closingRecord) add(tenths uint32, wasSettled bool, n int) {
	if r.h == nil {
		r.h = histogram{}
	}
	r.closed += n
	if wasSettled {
		r.settled += n
	}
	if r.h[tenths] += n; r.h[tenths] <= 0 {
		delete(r.h, tenths)
	}
}

// encode writes closed, settled, the number of buckets, then each bucket
// (tenths ascending, as a delta from the previous, and its count).
func (r *closingRecord) encode() []byte {
	e := enc{}
	e.uint(uint64(max(r.closed, 0)))
	e.uint(uint64(max(r.settled, 0)))
	keys := slices.Sorted(maps.Keys(r.h))
	e.uint(uint64(len(keys)))
	prev := uint32(0)
	for _, k := range keys {
		e.uint(uint64(k - prev))
		e.uint(uint64(r.h[k]))
		prev = k
	}
	return e.b
}

func decodeClosing(v []byte) (closingRecord, error) {
	d := dec{b: v}
	r := closingRecord{closed: int(d.uint()), settled: int(d.uint()), h: histogram{}}
	n := d.count(2)
	t := uint32(0)
	for i := 0; i < n; i++ {
		t += uint32(d.uint())
		r.h[t] = int(d.uint())
	}
	if d.err != nil {
		return r, fmt.Errorf("closing record: %w", d.err)
	}
	return r, nil
}

// splitClosing splits a 'c' contribution key into the record's key, the
// tenths and whether it settled.
func splitClosing(k string) (string, uint32, bool) {
	n := len(k) - closingSuffix
	return k[:n], binary.BigEndian.Uint32([]byte(k[n : n+4])), k[n+4] == 1
}

// sameCounters reports whether nothing the counters depend on differs
// between a and b (a note only touches NoteCount and times).
func sameCounters(a, b *casebot.Case) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Status != b.Status || a.Priority != b.Priority || a.Mediator != b.Mediator || a.Type != b.Type ||
		a.Source != b.Source || !a.Created.Equal(b.Created) || len(a.Sessions) != len(b.Sessions) {
		return false
	}
	if a.Status.Closed() && !closedAt(a).Equal(closedAt(b)) {
		return false
	}
	for i := range a.Sessions {
		if a.Sessions[i].Cancelled != b.Sessions[i].Cancelled || !a.Sessions[i].Start.Equal(b.Sessions[i].Start) {
			return false
		}
	}
	return true
}

// applyAggregates moves the counters from what old implies to what c
// implies, in tx. old is nil for a new case, c nil for a case removed.
func applyAggregates(tx kv.Tx, old, c *casebot.Case) error {
	if old != nil && c != nil && sameCounters(old, c) {
		return nil
	}
	loc := reportZone(tx)
	delta := make(map[string]int64)
	for k, n := range caseCounters(old, loc) {
		delta[k] -= int64(n)
	}
	for k, n := range caseCounters(c, loc) {
		delta[k] += int64(n)
	}
	b := tx.Bucket(bucketAgg)
	closings := map[string]*closingRecord{}
	for _, k := range slices.Sorted(maps.Keys(delta)) {
		d := delta[k]
		if d == 0 {
			continue
		}
		if k[0] != aggClosed {
			if err := addCounter(b, []byte(k), d); err != nil {
				return err
			}
			continue
		}
		rk, tenths, wasSettled := splitClosing(k)
		r := closings[rk]
		if r == nil {
			r = &closingRecord{h: histogram{}}
			if v := b.Get([]byte(rk)); v != nil {
				dr, err := decodeClosing(v)
				if err != nil {
					return fmt.Errorf("counter %q: %w", rk, err)
				}
				r = &dr
			}
			closings[rk] = r
		}
		r.add(tenths, wasSettled, int(d))
	}
	for _, rk := range slices.Sorted(maps.Keys(closings)) {
		r := closings[rk]
		var err error
		if r.closed <= 0 {
			err = b.Delete([]byte(rk))
		} else {
			err = b.Put([]byte(rk), r.encode())
		}
		if err != nil {
			return fmt.Errorf("put counter %q: %w", rk, err)
		}
	}
	return nil
}

// addCounter adds d to the counter k, deleting it at zero. A count that
// would fall below zero stops at zero (Check reports the difference).
func addCounter(b kv.Bucket, k []byte, d int64) error {
	var n int64
	if v := b.Get(k); len(v) == 8 {
		n = int64(u64(v))
	}
	n += d
	if n <= 0 {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete counter %q: %w", k, err)
		}
		return nil
	}
	if err := b.Put(k, be64(uint64(n))); err != nil {
		return fmt.Errorf("put counter %q: %w", k, err)
	}
	return nil
}

// countPurgedTx counts a case purged at t in its month. Purge calls it in
// the purge's transaction: the count cannot be rebuilt from the records,
// which purge removes, so rebuilds and Check leave it as it is.
func countPurgedTx(tx kv.Tx, at time.Time) error {
	k := "p\x00" + at.In(reportZone(tx)).Format("2006-01")
	return addCounter(tx.Bucket(bucketAgg), []byte(k), 1)
}

// wantCounters recomputes every derived counter from the case records,
// as stored: key -> value.
func wantCounters(tx kv.Tx) (map[string][]byte, error) {
	loc := reportZone(tx)
	sums := make(map[string]uint64)
	err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
		c, _, err := decodeCaseHeader(k, v) // what is counted is in the clear
		if err != nil {
			return err
		}
		for ck, n := range caseCounters(c, loc) {
			sums[ck] += n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	want := make(map[string][]byte, len(sums))
	closings := map[string]*closingRecord{}
	for k, n := range sums {
		if k[0] != aggClosed {
			want[k] = be64(n)
			continue
		}
		rk, tenths, wasSettled := splitClosing(k)
		if closings[rk] == nil {
			closings[rk] = &closingRecord{h: histogram{}}
		}
		closings[rk].add(tenths, wasSettled, int(n))
	}
	for rk, r := range closings {
		want[rk] = r.encode()
	}
	return want, nil
}

// rebuildAggregates recomputes the derived counters from the case records,
// keeping the purge counts.
func rebuildAggregates(tx kv.Tx) error {
	kept := map[string][]byte{}
	if b := tx.Bucket(bucketAgg); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			if k[0] == aggPurged {
				kept[string(k)] = bytes.Clone(v)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketAgg); err != nil {
			return fmt.Errorf("drop aggregates: %w", err)
		}
	}
	b, err := tx.CreateBucket(bucketAgg)
	if err != nil {
		return fmt.Errorf("create aggregates: %w", err)
	}
	want, err := wantCounters(tx)
	if err != nil {
		return fmt.Errorf("rebuild aggregates: %w", err)
	}
	for k, v := range want {
		kept[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(kept)) {
		if err := b.Put([]byte(k), kept[k]); err != nil {
			return fmt.Errorf("put counter: %w", err)
		}
	}
	return nil
}

// setReportZone records the zone of the aggregates and rebuilds them when
// it changes. A nil zone keeps the stored one.
func setReportZone(tx kv.Tx, zone *time.Location) error {
	if zone == nil {
		return nil
	}
	meta := tx.Bucket(bucketMeta)
	if string(meta.Get(metaReportZone)) == zone.String() {
		return nil
	}
	if err := meta.Put(metaReportZone, []byte(zone.String())); err != nil {
		return fmt.Errorf("store: put report zone: %w", err)
	}
	zones.Store(zone.String(), zone)
	if tx.Bucket(bucketAgg) == nil {
		return nil // a new store: the migration builds them
	}
	return rebuildAggregates(tx)
}

// checkAggregates returns the differences between the stored counters and
// a recomputation from the records.
func checkAggregates(tx kv.Tx) ([]string, error) {
	want, err := wantCounters(tx)
	if err != nil {
		return nil, err
	}
	var diffs []string
	err = tx.Bucket(bucketAgg).ForEach(func(k, v []byte) error {
		if k[0] == aggPurged {
			return nil
		}
		if w, ok := want[string(k)]; !ok || !bytes.Equal(w, v) {
			diffs = append(diffs, fmt.Sprintf("aggregate %q is %x, want %x", k, v, w))
		}
		delete(want, string(k))
		return nil
	})
	for _, k := range slices.Sorted(maps.Keys(want)) {
		diffs = append(diffs, fmt.Sprintf("aggregate %q is missing, want %x", k, want[k]))
	}
	return diffs, err
}

// counterParts splits a counter key after its kind byte into its parts.
func counterParts(k []byte) []string { return strings.Split(string(k[2:]), "\x00") }

// forCounters calls fn with every counter whose key starts with prefix.
func forCounters(tx kv.Tx, prefix string, fn func(k, v []byte) error) error {
	p := []byte(prefix)
	c := tx.Bucket(bucketAgg).Cursor()
	for k, v := c.Seek(p); hasPrefix(k, p); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// histogram counts closed cases by tenths of days to close.
type histogram map[uint32]int

// percentiles returns the median (the mean of the middle two of an even
// count) and the 90th percentile (nearest rank) in days; 0, 0 when empty.
func (h histogram) percentiles() (median, p90 float64) {
	n := 0
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0, 0
	}
	keys := slices.Sorted(maps.Keys(h))
	at := func(rank int) float64 { // rank is 1-based
		seen := 0
		for _, k := range keys {
			seen += h[k]
			if seen >= rank {
				return float64(k) / 10
			}
		}
		return float64(keys[len(keys)-1]) / 10
	}
	median = at((n + 1) / 2)
	if n%2 == 0 {
		median = (at(n/2) + at(n/2+1)) / 2
	}
	p90 = at(int(math.Ceil(0.9 * float64(n))))
	return median, p90
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
