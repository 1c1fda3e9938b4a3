//go:build pgkvtrace

package pgkv

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// A build with the pgkvtrace tag writes, every second, to $PGKV_TRACE
// (default /tmp/pgkvtrace.txt) the round trips of the transactions run so
// far, grouped by the store functions that ran them (R read, W write; "?"
// for a Batch, whose goroutine has no caller), each kind of trip with its
// count and the time until the transaction's next step (for "fn", the
// function's own time after its start), the rows and KiB each commit
// wrote per bucket, and the time of pool acquisitions and Batch calls.
// For profiling only:
//
//	go test -tags pgkvtrace -run '^$' -bench ... ./mail/ && cat /tmp/pgkvtrace.txt
const tracing = true

type txTrace struct {
	label string
	trips []string
	start time.Time
	last  time.Time
	lastK string
	extra [][2]string
}

type traceAgg struct {
	txs, trips int
	kinds      map[string]int
	kdur       map[string]time.Duration
	dur        time.Duration
}

var (
	traceMu   sync.Mutex
	traceMap  = map[string]*traceAgg{}
	traceOnce sync.Once
)

func traceLabel() string {
	pcs := make([]uintptr, 40)
	n := runtime.Callers(3, pcs)
	fr := runtime.CallersFrames(pcs[:n])
	var out []string
	for {
		f, more := fr.Next()
		fn := f.Function
		if strings.Contains(fn, "/store.") && !strings.Contains(fn, "/store/kv") {
			name := fn[strings.LastIndex(fn, "/")+1:]
			if !strings.Contains(name, "func") && !strings.HasSuffix(name, ".update") && !strings.HasSuffix(name, ".view") && !strings.HasSuffix(name, ".batch") {
				out = append(out, strings.TrimPrefix(name, "store."))
				if len(out) == 2 {
					break
				}
			}
		}
		if !more {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return strings.Join(out, "<")
}

func (t *Tx) traceTrip(kind string, bucket []byte) {
	if t.trace.label == "" {
		t.trace.label = traceLabel()
		t.trace.start = time.Now()
		if t.writable {
			t.trace.label = "W " + t.trace.label
		} else {
			t.trace.label = "R " + t.trace.label
		}
	}
	k := kind
	if bucket != nil {
		k += " " + string(bucket)
	}
	now := time.Now()
	if t.trace.lastK != "" {
		t.trace.trips = append(t.trace.trips, t.trace.lastK+"\x00"+now.Sub(t.trace.last).String())
	}
	t.trace.last, t.trace.lastK = now, k
}

func (t *Tx) traceEnd() {
	if t.trace.label == "" {
		return
	}
	traceOnce.Do(func() { go traceDump() })
	if t.trace.lastK != "" {
		t.trace.trips = append(t.trace.trips, t.trace.lastK+"\x00"+time.Since(t.trace.last).String())
	}
	traceMu.Lock()
	a := traceMap[t.trace.label]
	if a == nil {
		a = &traceAgg{kinds: map[string]int{}, kdur: map[string]time.Duration{}}
		traceMap[t.trace.label] = a
	}
	a.txs++
	a.dur += time.Since(t.trace.start)
	for _, x := range t.trace.extra {
		var n int
		fmt.Sscan(x[1], &n)
		a.kinds[x[0]] += n
	}
	for _, kd := range t.trace.trips {
		k, ds, _ := strings.Cut(kd, "\x00")
		d, _ := time.ParseDuration(ds)
		if k != "fn" {
			a.trips++
		}
		a.kinds[k]++
		a.kdur[k] += d
	}
	traceMu.Unlock()
	t.trace = txTrace{}
}

func traceDump() {
	path := os.Getenv("PGKV_TRACE")
	if path == "" {
		path = "/tmp/pgkvtrace.txt"
	}
	for {
		time.Sleep(time.Second)
		traceMu.Lock()
		var labels []string
		for l := range traceMap {
			labels = append(labels, l)
		}
		sort.Slice(labels, func(i, j int) bool { return traceMap[labels[i]].trips > traceMap[labels[j]].trips })
		var sb strings.Builder
		for _, l := range labels {
			a := traceMap[l]
			fmt.Fprintf(&sb, "%-70s txs %7d trips %8d (%.2f/tx) %v/tx\n", l, a.txs, a.trips, float64(a.trips)/float64(a.txs), a.dur/time.Duration(a.txs))
			var ks []string
			for k := range a.kinds {
				ks = append(ks, k)
			}
			sort.Slice(ks, func(i, j int) bool { return a.kinds[ks[i]] > a.kinds[ks[j]] })
			for _, k := range ks {
				if a.kinds[k] == 0 {
					continue
				}
				fmt.Fprintf(&sb, "    %-40s %8d (%.2f/tx) %v each\n", k, a.kinds[k], float64(a.kinds[k])/float64(a.txs), a.kdur[k]/time.Duration(max(1, a.kinds[k])))
			}
		}
		traceMu.Unlock()
		_ = os.WriteFile(path, []byte(sb.String()), 0o644)
	}
}

// traceRows records the rows a commit writes to h's bucket, as pseudo
// trips "rows <bucket>" and "bytes <bucket>" (counted, not timed).
func (t *Tx) traceRows(h *Bucket) {
	if t.trace.label == "" {
		return
	}
	n := 0
	for _, en := range h.over.sorted() {
		n += len(en.value) + len(en.key)
	}
	t.trace.extra = append(t.trace.extra, [2]string{"rows " + string(h.name), fmt.Sprint(len(h.over.sorted()))}, [2]string{"KB " + string(h.name), fmt.Sprint(n / 1024)})
}

func traceNow() time.Time { return time.Now() }

// traceSince records a timed step outside transactions under the label
// "= what".
func traceSince(what string, t0 time.Time) {
	d := time.Since(t0)
	traceOnce.Do(func() { go traceDump() })
	traceMu.Lock()
	a := traceMap["= "+what]
	if a == nil {
		a = &traceAgg{kinds: map[string]int{}, kdur: map[string]time.Duration{}}
		traceMap["= "+what] = a
	}
	a.txs++
	a.trips++
	a.dur += d
	traceMu.Unlock()
}
