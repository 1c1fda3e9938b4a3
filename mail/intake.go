package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/internal/backoff"
)

// IntakeStore is what intake needs of the store.
type IntakeStore interface {
	Lookup
	// MailState returns the intake position of a mailbox.
	MailState(ctx context.Context, mailbox string) (casebot.MailState, error)
	// Ingest commits a batch and the new high-water mark in one transaction.
	Ingest(ctx context.Context, b casebot.IngestBatch) ([]casebot.ItemResult, error)
	// MailDone records that \Seen (and the move) were applied up to uid.
	MailDone(ctx context.Context, mailbox string, uidValidity, uid uint32) error
}

// firstBatch is the size of a sync's first batch; each next one is twice
// the last, up to IntakeConfig.BatchSize.
const firstBatch = 64

// TLS modes of imap.tls and smtp.tls.
const (
	TLSImplicit = "implicit"
	TLSStartTLS = "starttls"
	TLSNone     = "none" // loopback only
)

// IntakeConfig configures an Intake.
type IntakeConfig struct {
	Addr     string // host:port
	TLS      string // TLSImplicit, TLSStartTLS or TLSNone
	Username string
	Password string
	Mailbox  string // "INBOX" when empty
	// ProcessedMailbox, when set, receives each message after it is stored.
	ProcessedMailbox string
	// Poll is how often the mailbox is checked when the server lacks IDLE,
	// and the longest IDLE before a safety-net check; 60 s when zero.
	Poll       time.Duration
	Limits     Limits
	Addressing Addressing
	Store      IntakeStore
	// TLSConfig overrides the TLS settings (tests); nil uses the defaults.
	TLSConfig *tls.Config
	Logger    *slog.Logger
	// BatchSize is the most messages one store transaction commits; 2000
	// when zero. A sync starts with smaller batches (firstBatch, doubling)
	// so the first commit overlaps the fetch early, then commits fewer,
	// larger transactions: each commit has a fixed cost (two fsyncs, whose
	// kernel work takes CPU from the fetch on a small machine, the case
	// records, the de-duplication pages it rewrites). The pages a commit
	// writes (maxWritePages) usually cut batches before this does.
	BatchSize int
	// MinBackoff and MaxBackoff bound the reconnect delay; 1 s and 5 min
	// when zero.
	MinBackoff, MaxBackoff time.Duration
	// OnResult, when set, is called after each commit with what became of
	// every message (metrics: notes and quarantined mail).
	OnResult func(r casebot.ItemResult)
}

// Intake reads party email from one IMAP mailbox into the store: each
// message exactly once, across restarts, crashes, reconnects, UIDVALIDITY
// changes and duplicate deliveries.
//
// The order per batch: fetch (BODY.PEEK, so nothing is marked read), decide,
// commit notes + de-duplication keys + UID high-water mark in one
// transaction, and only then set \Seen and move the messages.
type Intake struct {
	cfg IntakeConfig
	log *slog.Logger
}

// NewIntake checks cfg and returns an Intake. It refuses TLSNone for a
// host that is not loopback, since the password would cross the network in
// the clear.
func NewIntake(cfg IntakeConfig) (*Intake, error) {
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Minute
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 2000
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Store == nil {
		return nil, errors.New("mail: intake needs a store")
	}
	if err := checkTLSMode("imap", cfg.Addr, cfg.TLS); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Intake{cfg: cfg, log: log.With(slog.String("mailbox", cfg.Mailbox))}, nil
}

// checkTLSMode validates a TLS mode and refuses plain connections to
// anything but loopback.
func checkTLSMode(what, addr, mode string) error {
	switch mode {
	case TLSImplicit, TLSStartTLS:
		return nil
	case TLSNone:
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("mail: %s.addr %q: %w", what, addr, err)
		}
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("mail: %s.tls = \"none\" is allowed only for a loopback address, not %q", what, host)
	}
	return fmt.Errorf("mail: %s.tls %q: use implicit, starttls or none", what, mode)
}

// Run reads mail until ctx is cancelled, reconnecting with exponential
// back-off and jitter after any failure. It returns nil on cancellation.
func (in *Intake) Run(ctx context.Context) error {
	failures := 0
	for {
		start := time.Now()
		err := in.session(ctx, true)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > in.cfg.MaxBackoff {
			failures = 0 // a long healthy session: start the back-off afresh
		}
		failures++
		wait := backoff.Policy{Min: in.cfg.MinBackoff, Max: in.cfg.MaxBackoff}.Delay(failures)
		in.log.Warn("imap: connection lost, reconnecting", slog.Any("error", err), slog.Duration("retry_in", wait), slog.Int("failures", failures))
		if !backoff.Sleep(ctx, wait) {
			return nil
		}
	}
}

// RunOnce connects, ingests every message not yet stored, and logs out.
func (in *Intake) RunOnce(ctx context.Context) error {
	return in.session(ctx, false)
}
