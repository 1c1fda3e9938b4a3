package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"

	"github.com/casebot/casebot"
)

// oversizePrefix is how much of an oversize message is fetched and kept:
// enough for its header and the start of its text.
const oversizePrefix = 64 << 10

// maxBatchBytes bounds the raw bytes held for one batch, so memory stays
// flat whatever the mailbox holds.
const maxBatchBytes = 32 << 20

var errClosed = errors.New("imap: connection closed by the server")

func (in *Intake) dial(wake chan<- struct{}) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig:   in.cfg.TLSConfig,
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
		Dialer:      &net.Dialer{Timeout: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var c *imapclient.Client
	var err error
	switch in.cfg.TLS {
	case TLSImplicit:
		c, err = imapclient.DialTLS(in.cfg.Addr, opts)
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(in.cfg.Addr, opts)
	default:
		c, err = imapclient.DialInsecure(in.cfg.Addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("imap: connect to %s: %w", in.cfg.Addr, err)
	}
	return c, nil
}

// session runs one connection: log in, select, ingest; then, when stay is
// set, wait (IDLE or poll) and ingest again until ctx ends or the
// connection fails.
func (in *Intake) session(ctx context.Context, stay bool) error {
	wake := make(chan struct{}, 1)
	c, err := in.dial(wake)
	if err != nil {
		return err
	}
	defer c.Close()
	// Cancellation closes the connection, which unblocks any command.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()

	if err := c.Login(in.cfg.Username, in.cfg.Password).Wait(); err != nil {
		return fmt.Errorf("imap: login as %s: %w", in.cfg.Username, err)
	}
	if p := in.cfg.ProcessedMailbox; p != "" {
		if err := c.Create(p, nil).Wait(); err != nil {
			var ie *imap.Error
			if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAlreadyExists {
				in.log.Debug("imap: create processed mailbox", slog.String("processed_mailbox", p), slog.Any("error", err))
			}
		}
	}
	sel, err := c.Select(in.cfg.Mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("imap: select %s: %w", in.cfg.Mailbox, err)
	}
	idle := c.Caps().Has(imap.CapIdle) || c.Caps().Has(imap.CapIMAP4rev2)
	in.log.Info("imap: connected", slog.String("addr", in.cfg.Addr), slog.Uint64("uidvalidity", uint64(sel.UIDValidity)),
		slog.Uint64("messages", uint64(sel.NumMessages)), slog.Bool("idle", idle))
	for {
		if err := in.sync(ctx, c, sel.UIDValidity); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !stay {
			_ = c.Logout().Wait()
			return nil
		}
		if err := in.wait(ctx, c, wake, idle); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// wait returns when new mail may have arrived: the server said so during
// IDLE, or the poll interval passed. It returns nil also when ctx ends.
func (in *Intake) wait(ctx context.Context, c *imapclient.Client, wake <-chan struct{}, idle bool) error {
	t := time.NewTimer(in.cfg.Poll)
	defer t.Stop()
	if !idle {
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-c.Closed():
			return errClosed
		}
		return nil
	}
	// NOOP first: a server may hold back an EXISTS that arrived during the
	// last FETCH or STORE until a command that allows it, and would not
	// repeat it once IDLE starts. The handler turns it into a wake-up.
	if err := c.Noop().Wait(); err != nil {
		return fmt.Errorf("imap: noop: %w", err)
	}
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("imap: idle: %w", err)
	}
	closed := false
	select {
	case <-ctx.Done():
		return nil
	case <-wake:
	case <-t.C:
	case <-c.Closed():
		closed = true
	}
	if err := cmd.Close(); err != nil && !closed {
		return fmt.Errorf("imap: stop idle: %w", err)
	}
	if err := cmd.Wait(); err != nil || closed {
		return errors.Join(errClosed, err)
	}
	return nil
}

// fetched is one message as read from the wire.
type fetched struct {
	uid  uint32
	size int64
	raw  []byte
}

type uidSize struct {
	uid  uint32
	size int64
}

// sync ingests every message above the high-water mark (or, after a
// UIDVALIDITY change, every message, de-duplicated), in batches.
func (in *Intake) sync(ctx context.Context, c *imapclient.Client, uidValidity uint32) error {
	st, err := in.cfg.Store.MailState(ctx, in.cfg.Mailbox)
	if err != nil {
		return err
	}
	from := uint32(1)
	if st.UIDValidity == uidValidity {
		if st.DoneUID < st.LastUID {
			// A crash between a commit and \Seen: finish the job.
			var set imap.UIDSet
			set.AddRange(imap.UID(st.DoneUID+1), imap.UID(st.LastUID))
			if err := in.markDone(ctx, c, set, uidValidity, st.LastUID); err != nil {
				return err
			}
		}
		from = st.LastUID + 1
	} else if st.UIDValidity != 0 {
		in.log.Warn("imap: UIDVALIDITY changed; re-reading the mailbox, duplicates are recognised",
			slog.Uint64("old", uint64(st.UIDValidity)), slog.Uint64("new", uint64(uidValidity)))
	}
	max := in.cfg.Limits.withDefaults().MaxMessageBytes
	list, err := listFrom(c, from)
	if err != nil {
		return err
	}
	// While one batch commits, the next is fetched and parsed. Store writes
	// run in order on one goroutine (w); \Seen/MOVE of a batch follow its
	// commit, and the record of them is queued behind the next commit, so
	// neither its fsync nor the round trip holds up the fetch.
	w := newWriter()
	defer w.close()
	var prev *commit
	finish := func() error {
		if prev == nil {
			return nil
		}
		p := prev
		prev = nil
		if err := <-p.done; err != nil {
			return err
		}
		if err := in.applySeen(c, p.set); err != nil {
			return err
		}
		w.do(func() error { return in.cfg.Store.MailDone(ctx, in.cfg.Mailbox, uidValidity, p.last) })
		return nil
	}
	limit := min(firstBatch, in.cfg.BatchSize)
	for len(list) > 0 {
		n, bytes := 0, int64(0)
		for n < len(list) && n < limit && (n == 0 || bytes+min(list[n].size, max) <= maxBatchBytes) {
			bytes += min(list[n].size, max)
			n++
		}
		items, err := in.collect(ctx, c, list[:n], max)
		if err != nil {
			return errors.Join(err, finish(), w.wait())
		}
		next := in.commit(ctx, w, uidValidity, list[:n], items)
		if err := finish(); err != nil {
			return errors.Join(err, w.wait())
		}
		prev = next
		list = list[n:]
		limit = min(2*limit, in.cfg.BatchSize)
	}
	return errors.Join(finish(), w.wait())
}

// writer runs store writes one after another on a goroutine of its own.
// After the first failure it runs nothing more and reports that failure.
type writer struct {
	ops  chan func()
	err  error // set by the goroutine before closing idle
	idle chan struct{}
}

func newWriter() *writer {
	w := &writer{ops: make(chan func(), 4), idle: make(chan struct{})}
	go func() {
		for op := range w.ops {
			op()
		}
		close(w.idle)
	}()
	return w
}

// do queues fn and returns a channel that receives its error.
func (w *writer) do(fn func() error) <-chan error {
	done := make(chan error, 1)
	w.ops <- func() {
		if w.err == nil {
			w.err = fn()
		}
		done <- w.err
	}
	return done
}

// wait returns once every queued write has run, with the first failure.
func (w *writer) wait() error {
	return <-w.do(func() error { return nil })
}

// close stops the goroutine once the queue has run.
func (w *writer) close() {
	close(w.ops)
	<-w.idle
}

// commit is a batch being committed in the background.
type commit struct {
	done <-chan error
	set  imap.UIDSet
	last uint32
}

// commit queues a batch's store transaction on w (no network I/O).
func (in *Intake) commit(ctx context.Context, w *writer, uidValidity uint32, list []uidSize, items []casebot.MailItem) *commit {
	p := &commit{last: list[len(list)-1].uid}
	for _, m := range list {
		p.set.AddNum(imap.UID(m.uid))
	}
	p.done = w.do(func() error {
		res, err := in.cfg.Store.Ingest(ctx, casebot.IngestBatch{
			Mailbox: in.cfg.Mailbox, UIDValidity: uidValidity, LastUID: p.last, Items: items,
			Notice: NoteNotice, BounceNotice: BounceNotice,
		})
		if err != nil {
			return err
		}
		debug := in.log.Enabled(ctx, slog.LevelDebug)
		for _, r := range res {
			if debug {
				in.log.Debug("imap: message", slog.Uint64("uid", uint64(r.UID)), slog.String("outcome", r.Outcome),
					slog.String("case", r.CaseID), slog.Int("note", r.N), slog.Uint64("mail", r.Mail), slog.String("reason", r.Reason))
			}
			if in.cfg.OnResult != nil {
				in.cfg.OnResult(r)
			}
		}
		return nil
	})
	return p
}

// listFrom returns the UIDs (>= from) and sizes in the selected mailbox.
// (A UID SEARCH for the UIDs plus one for the messages larger than the
// batch's share would move less over the wire, but go-imap's memory server
// parses every message's header to answer a SEARCH: with it, listing 10k
// messages took 90 ms against 60 ms for this FETCH.)
func listFrom(c *imapclient.Client, from uint32) ([]uidSize, error) {
	f := c.Fetch(imap.UIDSet{{Start: imap.UID(from), Stop: 0}}, &imap.FetchOptions{UID: true, RFC822Size: true})
	var list []uidSize
	for msg := f.Next(); msg != nil; msg = f.Next() {
		buf, err := msg.Collect()
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("imap: list: %w", err)
		}
		// "n:*" always includes the last message, even below n.
		if uint32(buf.UID) >= from {
			list = append(list, uidSize{uint32(buf.UID), buf.RFC822Size})
		}
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("imap: list: %w", err)
	}
	slices.SortFunc(list, func(a, b uidSize) int { return int(a.uid) - int(b.uid) })
	return list, nil
}

// collect fetches and decides one batch.
func (in *Intake) collect(ctx context.Context, c *imapclient.Client, list []uidSize, max int64) ([]casebot.MailItem, error) {
	var normal, over imap.UIDSet
	for _, m := range list {
		if m.size > max {
			over.AddNum(imap.UID(m.uid))
		} else {
			normal.AddNum(imap.UID(m.uid))
		}
	}
	items := make([]casebot.MailItem, 0, len(list))
	lk := &batchLookup{Lookup: in.cfg.Store, cases: map[string]caseOrErr{}}
	decide := func(r fetched) error {
		var m *Message
		var perr error
		if r.size > max {
			m, _ = Parse(bytes.NewReader(r.raw), Limits{MaxMessageBytes: int64(len(r.raw)) + 1})
			perr = &ParseError{Reason: fmt.Sprintf("message is %d bytes; the limit is %d", r.size, max)}
		} else {
			m, perr = Parse(bytes.NewReader(r.raw), in.cfg.Limits)
		}
		it, err := in.cfg.Addressing.Decide(ctx, lk, r.uid, m, perr, r.raw)
		if err != nil {
			return err
		}
		items = append(items, it)
		return nil
	}
	// Parsing runs beside the fetch (one goroutine, so order is kept): the
	// two cores read the wire and parse at once.
	ch := make(chan fetched, 64)
	errc := make(chan error, 1)
	go func() {
		var err error
		for r := range ch {
			if err == nil {
				err = decide(r)
			}
		}
		errc <- err
	}()
	add := func(uid uint32, size int64, raw []byte) error {
		ch <- fetched{uid, size, raw}
		return nil
	}
	var ferr error
	if len(normal) > 0 {
		ferr = fetchBodies(c, normal, nil, max, add)
	}
	if ferr == nil && len(over) > 0 {
		ferr = fetchBodies(c, over, &imap.SectionPartial{Offset: 0, Size: oversizePrefix}, oversizePrefix, add)
	}
	close(ch)
	if err := errors.Join(ferr, <-errc); err != nil {
		return nil, err
	}
	return items, nil
}

// fetchBodies streams BODY.PEEK[] (or a prefix) of the messages in set,
// reading each literal before moving on, and hands each to add in UID order
// of arrival.
func fetchBodies(c *imapclient.Client, set imap.UIDSet, partial *imap.SectionPartial, max int64, add func(uid uint32, size int64, raw []byte) error) error {
	f := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true, Partial: partial}}})
	var addErr error
	for msg := f.Next(); msg != nil; msg = f.Next() {
		var uid uint32
		var size int64
		var raw []byte
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = uint32(it.UID)
			case imapclient.FetchItemDataRFC822Size:
				size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				n := min(it.Literal.Size(), max)
				raw = make([]byte, n)
				if _, err := io.ReadFull(it.Literal, raw); err != nil {
					_ = f.Close()
					return fmt.Errorf("imap: read message: %w", err)
				}
			}
		}
		if uid == 0 || addErr != nil {
			continue
		}
		if size == 0 {
			size = int64(len(raw))
		}
		addErr = add(uid, size, raw)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("imap: fetch: %w", err)
	}
	return addErr
}

// markDone sets \Seen on the messages and moves them to the processed
// mailbox, then records that in the store. It runs only after the commit.
func (in *Intake) markDone(ctx context.Context, c *imapclient.Client, set imap.UIDSet, uidValidity, last uint32) error {
	if err := in.applySeen(c, set); err != nil {
		return err
	}
	return in.cfg.Store.MailDone(ctx, in.cfg.Mailbox, uidValidity, last)
}

// applySeen sets \Seen on the messages and moves them to the processed
// mailbox.
func (in *Intake) applySeen(c *imapclient.Client, set imap.UIDSet) error {
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		return fmt.Errorf("imap: mark seen: %w", err)
	}
	if p := in.cfg.ProcessedMailbox; p != "" {
		if _, err := c.Move(set, p).Wait(); err != nil {
			return fmt.Errorf("imap: move to %s: %w", p, err)
		}
	}
	return nil
}

// batchLookup caches case reads for one batch: many messages of a batch
// name the same few cases. The store checks party membership again when
// it commits, so a change meanwhile is still honoured.
type batchLookup struct {
	Lookup
	cases map[string]caseOrErr
}

type caseOrErr struct {
	c   *casebot.Case
	err error
}

func (l *batchLookup) Case(ctx context.Context, id string) (*casebot.Case, error) {
	if v, ok := l.cases[id]; ok {
		return v.c, v.err
	}
	c, err := l.Lookup.Case(ctx, id)
	if err == nil || casebot.ErrorCode(err) == casebot.ENOTFOUND {
		l.cases[id] = caseOrErr{c, err}
	}
	return c, err
}
