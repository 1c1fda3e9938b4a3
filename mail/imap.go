package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
)

// oversizePrefix is how much of an oversize message is fetched and kept:
// enough for its header and the start of its text.
const oversizePrefix = 64 << 10

// maxBatchBytes bounds the raw bytes held for one batch, so memory stays
// flat whatever the mailbox holds.
const maxBatchBytes = 16 << 20

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
		if err := in.sync(ctx, c, sel.UIDValidity, sel.UIDNext); err != nil {
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

// sync ingests every message above the high-water mark (or, after a
// UIDVALIDITY change, every message, de-duplicated), in batches.
//
// It fetches UID ranges of the batch size up to uidNext (from SELECT) and
// then the open range "from:*", which also takes what arrived since. No
// listing pass comes first: a body is fetched as a prefix of
// max_message_bytes+1, so a longer literal marks an oversize message,
// whose head is kept and the rest read past without holding it. Batches
// are cut from the stream by count, bytes and the pages their commits
// write, so memory stays flat whatever the mailbox and the store hold.
//
// Fetching, parsing (on parseWorkers goroutines) and committing overlap:
// store writes run in order on one goroutine (w); \Seen/MOVE of the
// batches committed so far is set between two FETCH commands and recorded
// by the next commit, so neither an fsync nor a round trip holds up the
// fetch.
func (in *Intake) sync(ctx context.Context, c *imapclient.Client, uidValidity uint32, uidNext imap.UID) error {
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
	w := newWriter()
	defer w.close()
	b := in.newBatcher(ctx, w, uidValidity)
	// finish marks \Seen, with one STORE, the messages of the batches
	// whose commits are done (all of them, waiting, when wait is set). The
	// next commit records it; at the end (wait) a transaction of its own
	// does.
	var pending []*commit
	var applied uint32
	finish := func(wait bool) error {
		pending = append(pending, b.takeCommitted()...)
		var set imap.UIDSet
		var last uint32
		for len(pending) > 0 {
			p := pending[0]
			if wait {
				<-p.done
			} else if !p.isDone() {
				break
			}
			if p.err != nil {
				return p.err
			}
			set.AddSet(p.set)
			last = max(last, p.last)
			pending = pending[1:]
		}
		if len(set) > 0 {
			if err := in.applySeen(c, set); err != nil {
				return err
			}
			applied = max(applied, last)
			b.seen.Store(applied)
		}
		if wait && applied > 0 {
			done := applied
			w.do(func() error { return in.cfg.Store.MailDone(ctx, in.cfg.Mailbox, uidValidity, done) })
		}
		return nil
	}
	top := uint32(0)
	if uidNext > 0 {
		top = uint32(uidNext) - 1
	}
	// The parse workers, the collector and the writer run across the
	// ranges: the next FETCH goes out as soon as the last one is read,
	// without waiting for its messages to be parsed and committed.
	span := uint32(min(firstBatch, in.cfg.BatchSize))
	for {
		open := top == 0 || from > top || top-from < span
		set := imap.UIDSet{{Start: imap.UID(from), Stop: 0}}
		if !open {
			set[0].Stop = imap.UID(from + span - 1)
		}
		if err := b.read(c, set, from); err != nil {
			return errors.Join(err, b.close(), finish(true), w.wait())
		}
		if err := errors.Join(b.failed(), finish(false)); err != nil {
			return errors.Join(err, b.close(), w.wait())
		}
		if open {
			break
		}
		from += span
		span = min(2*span, uint32(in.cfg.BatchSize))
	}
	if err := b.close(); err != nil {
		return errors.Join(err, finish(true), w.wait())
	}
	return errors.Join(finish(true), w.wait())
}

// read streams UID, RFC822.SIZE and BODY.PEEK[]<0.max+1> of the messages
// in set (those with UIDs >= from: "n:*" always includes the last
// message, even below n) to the workers, reading each literal before
// moving on. Of an oversize message only its head is kept:
// oversizePrefix bytes, or max if less.
func (b *batcher) read(c *imapclient.Client, set imap.UIDSet, from uint32) error {
	f := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: b.max + 1}}}})
	for msg := f.Next(); msg != nil; msg = f.Next() {
		var r fetched
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				r.uid = uint32(it.UID)
			case imapclient.FetchItemDataRFC822Size:
				r.size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				n := it.Literal.Size()
				keep := n
				if n > b.max {
					keep = min(n, oversizePrefix, b.max)
					r.size = max(r.size, n)
				}
				r.raw = make([]byte, keep)
				_, err := io.ReadFull(it.Literal, r.raw)
				if err == nil && keep < n {
					_, err = io.Copy(io.Discard, it.Literal)
				}
				if err != nil {
					_ = f.Close()
					return fmt.Errorf("imap: read message %d: %w", r.uid, err)
				}
			}
		}
		if r.uid < from {
			continue
		}
		if r.size == 0 {
			r.size = int64(len(r.raw))
		}
		b.add(r)
	}
	b.flush()
	if err := f.Close(); err != nil {
		return fmt.Errorf("imap: fetch: %w", err)
	}
	return nil
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
