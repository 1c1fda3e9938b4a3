package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/casebot/casebot/agreement"
	"github.com/casebot/casebot/bot"
	"github.com/casebot/casebot/config"
	"github.com/casebot/casebot/outbox"
	"github.com/casebot/casebot/report"
	"github.com/casebot/casebot/scheduler"
	"github.com/casebot/casebot/store"
)

const (
	// serveLockTimeout bounds how long serve waits for the store file lock.
	serveLockTimeout = 2 * time.Second
	// shutdownTimeout bounds how long in-flight requests and workers get to
	// finish after SIGINT/SIGTERM.
	shutdownTimeout = 10 * time.Second
)

// Daemon is the running casebot: the store, the command bot, the HTTP server,
// the control socket for `casebot do`/`backup`, and the workers that the
// optional parts (Slack, mail, scheduler) add. It owns all their goroutines.
//
// Use: NewDaemon, Open (binds everything, so Addr is known), then Run, which
// serves until its context is cancelled and then shuts down in order: HTTP
// and control socket drain, workers stop, the store closes last.
type Daemon struct {
	Config  *config.Config
	Logger  *slog.Logger
	Version string
	// Now is the clock for the store and bot; time.Now when nil.
	Now func() time.Time
	// UserLocation returns a Slack user's time zone, nil when unknown. The
	// Slack part sets it during set-up; the bot reads it on every command.
	UserLocation func(userID string) *time.Location

	// Set by Open.
	DB      *store.DB
	Bot     *bot.Bot
	Metrics *Metrics

	mux     *http.ServeMux
	server  *http.Server
	ln      net.Listener
	ctl     *controlServer
	workers []worker
	// leaderWorkers run only while this instance leads (roles.go).
	leaderWorkers []worker
	roles         roleState
	senders       map[string]outbox.Sender
	outbox        *outbox.Worker
	drained       []func(ctx context.Context) error
	sched         *scheduler.Scheduler
	slack         *slackParts // the Slack client and DM sender, when Slack is on

	opened    bool
	serving   atomic.Bool
	ready     atomic.Bool            // set up: HTTP goes to mux (storeopen.go)
	startErr  atomic.Pointer[string] // why the store is not open yet
	httpErr   chan error             // Serve's result once serving
	retryOpen bool                   // serve: wait for an unreachable database
	closeOnce sync.Once
	closeErr  error
}

// worker is a long-running part started by Run.
type worker struct {
	name string
	run  func(ctx context.Context) error
}

// NewDaemon returns a Daemon for cfg that logs to logger (discarded when nil).
func NewDaemon(cfg *config.Config, logger *slog.Logger) *Daemon {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Daemon{Config: cfg, Logger: logger, Version: versionString(), Now: time.Now, mux: http.NewServeMux()}
}

// Open opens the store, builds the bot and metrics, binds the HTTP listener
// and the control socket, and runs the optional parts' set-up. Nothing is
// served until Run. On error everything opened so far is closed again.
func (d *Daemon) Open(ctx context.Context) error {
	if d.opened {
		return errors.New("daemon: already open")
	}
	d.opened = true
	if err := d.open(ctx); err != nil {
		_ = d.Close()
		return err
	}
	return nil
}

// OpenOffline opens what a single `casebot do` needs when no daemon runs:
// the store (waiting at most lockWait for its lock), the bot with every
// part's commands registered, and the metrics. Nothing is bound or served
// and Run must not be called; messages commands queue wait in the outbox
// for the next daemon. Close releases it.
func (d *Daemon) OpenOffline(ctx context.Context, lockWait time.Duration) error {
	if d.opened {
		return errors.New("daemon: already open")
	}
	d.opened = true
	d.offlineWake()
	if err := d.openCore(ctx, lockWait); err != nil {
		_ = d.Close()
		return err
	}
	return nil
}

// openCore opens the store and builds the metrics, the bot, the core HTTP
// routes and every optional part, without binding anything.
func (d *Daemon) openCore(ctx context.Context, lockWait time.Duration) error {
	cfg := d.Config
	if d.Now == nil {
		d.Now = time.Now
	}
	// Templates first: one naming an unknown field refuses the start-up,
	// with its file and line, before anything is opened.
	agreements, err := agreement.New(cfg.Records.TemplatesDir)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	db, err := d.openDB(ctx, store.Options{
		CasePrefix:    cfg.Store.CasePrefix,
		EncryptionKey: cfg.Store.Key,
		Now:           d.Now,
		Timeout:       lockWait,
		Logger:        d.Logger.With("component", "store"),
		HomeRefresh:   cfg.SlackEnabled(),
		HomeAdmins:    cfg.Slack.Admins,
		Zone:          cfg.Schedule.Location,
	})
	if err != nil {
		return fmt.Errorf("daemon: open store %s: %w", cfg.Store.Display(), err)
	}
	d.DB = db
	if d.sched, err = d.newScheduler(); err != nil {
		return err
	}
	d.Bot = bot.New(bot.Config{
		Store:  db,
		Admins: cfg.Slack.Admins,
		Now:    d.Now,
		Location: func(user string) *time.Location {
			if d.UserLocation == nil {
				return nil
			}
			return d.UserLocation(user)
		},
		DefaultLocation: cfg.Schedule.Location,
		Logger:          d.Logger.With("component", "bot"),
		Mail:            d.mailComposer(),
		Quarantine:      d.quarantine(),
		Digests:         d.sched,
		Files:           d.slackFiles(),
		Purger:          db,
		Agreements:      agreements,
		Reports:         report.Renderer{},
		Wake:            d.KickScheduler,
	})
	d.Metrics = NewMetrics(db.OutboxDepth, d.Bot, d.Logger)
	d.Metrics.StoreGauge("casebot_notices_pending", "Email notes whose mediator's Slack notice waits in the notice feed to be queued.", db.NoticesPending)
	d.registerLeaderGauge()
	d.Metrics.StoreGauge("casebot_outbox_dead", "Messages set aside as undeliverable (unknown user, refused address, too many failures).", db.OutboxDeadCount)

	d.mux.HandleFunc("GET /healthz", d.handleHealth)
	d.mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(d.Logger.Handler(), slog.LevelWarn),
		Registry: d.Metrics.Registry,
	}))

	for _, setup := range d.extensions() {
		if err := setup(ctx); err != nil {
			return err
		}
	}
	return d.setupOutbox(ctx)
}

func (d *Daemon) open(ctx context.Context) error {
	cfg := d.Config
	if cfg.Store.Postgres() {
		// Serve /healthz (503, saying why) while the database is away.
		if err := d.listenHTTP(); err != nil {
			return err
		}
		d.serveHTTP()
		d.retryOpen = true
		if err := d.newElector(); err != nil {
			return err
		}
	}
	if err := d.openCore(ctx, serveLockTimeout); err != nil {
		return err
	}
	if d.ln == nil {
		if err := d.listenHTTP(); err != nil {
			return err
		}
	}
	var err error
	d.ctl, err = listenControl(socketPath(cfg.Store), d)
	if err != nil {
		return err
	}
	d.ready.Store(true)

	onOff := func(on bool, why string) string {
		if on {
			return "on"
		}
		return "off (" + why + ")"
	}
	d.Logger.Info("casebot starting",
		slog.String("version", d.Version),
		slog.String("config", cmp(cfg.File, "built-in defaults")),
		slog.String("store", cfg.Store.Display()),
		slog.Bool("encrypted", cfg.Store.Key != nil),
		slog.String("http", d.ln.Addr().String()),
		slog.String("socket", cmp(d.ctl.path, "none (PostgreSQL: do, backup and export open the database)")),
		slog.String("role", d.roleName()),
		slog.String("slack", onOff(cfg.SlackEnabled(), "slack.bot_token empty")),
		slog.String("imap", onOff(cfg.IMAPEnabled(), "imap.addr empty")),
		slog.String("smtp", onOff(cfg.SMTPEnabled(), "smtp.addr empty")),
	)
	return nil
}

// listenHTTP binds http.listen and makes the server.
func (d *Daemon) listenHTTP() error {
	cfg := d.Config
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("daemon: http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	d.ln = ln
	d.server = &http.Server{
		Handler:           http.HandlerFunc(d.gate),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(d.Logger.Handler(), slog.LevelWarn),
	}
	return nil
}

// cmp returns s, or def when s is empty.
func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Handle mounts an HTTP handler on the daemon's mux with a Go 1.22 pattern
// such as "POST /slack/commands". Call it during set-up, before Run.
func (d *Daemon) Handle(pattern string, h http.Handler) { d.mux.Handle(pattern, h) }

// Go registers a worker that Run starts and stops. fn must return when ctx
// is cancelled (the daemon is shutting down), and must handle transient
// failures itself (retry with back-off): a non-nil error returned before
// shutdown stops the whole daemon, and Run returns it. Call it before Run.
func (d *Daemon) Go(name string, fn func(ctx context.Context) error) {
	d.workers = append(d.workers, worker{name: name, run: fn})
}

// AfterDrain registers fn to run during shutdown once HTTP and the control
// socket have drained and before the store closes (e.g. to wait for
// commands a transport still runs). Call it during set-up.
func (d *Daemon) AfterDrain(fn func(ctx context.Context) error) {
	d.drained = append(d.drained, fn)
}

// Addr returns the bound HTTP address (useful with http.listen port 0), or
// nil before Open.
func (d *Daemon) Addr() net.Addr {
	if d.ln == nil {
		return nil
	}
	return d.ln.Addr()
}

// SocketPath returns the control socket's path (<store.path>.sock; "" on
// PostgreSQL, which has none).
func (d *Daemon) SocketPath() string { return socketPath(d.Config.Store) }

// Command runs one command text for a user through the bot and records it
// in the metrics. Every transport (Slack commands and buttons, Socket Mode,
// the control socket and `casebot do`) goes through here. An internal error
// is logged once, by the bot where it happened (bot.Request.Fail, or Run's
// recovery from a panic), with the command's name and not its text.
func (d *Daemon) Command(ctx context.Context, userID, text string) bot.Reply {
	start := time.Now()
	reply := d.Bot.Run(ctx, userID, text)
	d.Metrics.OnCommand(text, time.Since(start), reply.Err != nil)
	d.KickOutbox() // the command may have queued notices
	return reply
}

// Run serves HTTP and the control socket and runs the workers until ctx is
// cancelled or one of them fails, then shuts down gracefully: in-flight
// requests and commands finish (within shutdownTimeout), workers stop, and
// the store is closed last. It returns nil after a shutdown asked for by ctx,
// else the first failure. Run calls Open if it was not called.
func (d *Daemon) Run(ctx context.Context) error {
	if !d.opened {
		if err := d.Open(ctx); err != nil {
			return err
		}
	}
	if d.DB == nil {
		return errors.New("daemon: not open")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	errc := make(chan error, len(d.workers)+len(d.leaderWorkers)+4)
	start := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("daemon: %s: %w", name, err)
			}
		}()
	}
	if d.httpErr == nil {
		d.serveHTTP()
	}
	start("http", func() error {
		if err := <-d.httpErr; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	start("control socket", d.ctl.serve)
	for _, w := range d.workers {
		start(w.name, func() error { return w.run(runCtx) })
	}
	d.startRoles(runCtx, start)
	d.serving.Store(true)
	d.Logger.Info("casebot serving", slog.String("http", d.ln.Addr().String()), slog.Int("workers", len(d.workers)),
		slog.Int("leader_workers", len(d.leaderWorkers)), slog.String("role", d.roleName()))

	var failure error
	select {
	case <-ctx.Done():
		d.Logger.Info("casebot shutting down", slog.String("reason", context.Cause(ctx).Error()))
	case failure = <-errc:
		d.Logger.Error("casebot stopping after a failure", slog.Any("error", failure))
	}
	d.serving.Store(false)
	cancel() // workers stop while HTTP drains

	shutCtx, shutCancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer shutCancel()
	if err := d.server.Shutdown(shutCtx); err != nil {
		d.Logger.Warn("http shutdown timed out; closing connections", slog.Any("error", err))
		_ = d.server.Close()
	}
	if err := d.ctl.shutdown(shutCtx); err != nil {
		d.Logger.Warn("control socket shutdown timed out", slog.Any("error", err))
	}
	for _, fn := range d.drained {
		if err := fn(shutCtx); err != nil {
			d.Logger.Warn("shutdown step failed", slog.Any("error", err))
		}
	}
	wg.Wait()

	if err := d.Close(); err != nil && failure == nil {
		failure = err
	}
	if failure == nil {
		d.Logger.Info("casebot stopped")
	}
	return failure
}

// Close releases everything Open acquired: listeners, the control socket
// file and, last, the store. It is safe to call more than once and after Run;
// it returns the store's close error.
func (d *Daemon) Close() error {
	d.closeOnce.Do(func() {
		d.serving.Store(false)
		if d.server != nil {
			_ = d.server.Close()
		}
		if d.ln != nil {
			_ = d.ln.Close()
		}
		if d.ctl != nil {
			d.ctl.close()
		}
		d.closeRoles()
		if d.DB != nil {
			if err := d.DB.Close(); err != nil {
				d.closeErr = fmt.Errorf("daemon: close store: %w", err)
			}
		}
	})
	return d.closeErr
}

// handleHealth answers 200 "ok" while the daemon serves and the store reads.
func (d *Daemon) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !d.serving.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if _, err := d.DB.OutboxDepth(ctx); err != nil {
		d.Logger.Warn("health check: store", slog.Any("error", err))
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok"))
}
