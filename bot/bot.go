// Package bot is casebot's command language: a table of commands whose
// handlers return a Reply and never see the transport. The same table serves
// Slack slash commands, Socket Mode and `casebot do`.
package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casebot/casebot"
)

// Config is what a Bot needs.
type Config struct {
	Store  casebot.CaseStore
	Admins []string // Slack user IDs of admins (case coordinators)
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Location returns a user's time zone; the default zone when nil or when
	// it returns nil.
	Location func(userID string) *time.Location
	// DefaultLocation is used when a user's zone is unknown; UTC when nil.
	DefaultLocation *time.Location
	Logger          *slog.Logger
	// Mail, when set, builds the party email of the email command and the
	// invitations (.ics) queued with a new, rescheduled or cancelled session
	// in the same transaction. When nil, email answers that it is not
	// configured, and sessions are stored with nobody invited (outbound mail
	// is off).
	Mail casebot.Composer
	// Quarantine serves quarantine, accept and reject; when nil they answer
	// that mail intake is not configured.
	Quarantine casebot.QuarantineService
	// Digests serves the digest command; when nil it answers that digests
	// are not configured.
	Digests casebot.DigestService
	// Files delivers the doc command's file to the actor's own Slack
	// direct messages; when nil (Slack is off), doc says so and points to
	// casebot export.
	Files casebot.FileSender
	// Purger serves the purge command; when nil it answers that purging is
	// not available.
	Purger casebot.Purger
	// Agreements fills the agreement command's templates; when nil it
	// answers that agreements are not configured.
	Agreements casebot.Agreements
	// Reports makes report's CSV and chart, which go to the actor's Slack
	// direct messages through Files; when either is nil, report replies
	// with its summary and says the files need Slack.
	Reports casebot.ReportFiles
	// Wake, when set, is called after a command marked Wakes succeeds: it
	// may have changed what falls due, so the scheduler should look again
	// now. It must not block.
	Wake func()
}

// Reply is a command's answer (casebot.Reply): the language's handlers
// return it and every transport renders it.
type Reply = casebot.Reply

// Command is one entry of the command table. Its Usage line is the single
// source of its name, its arguments and options, the parser and the help:
// "session <ID> <when> <duration> <title> [--where W]". The placeholders a
// usage may use are ID, when, duration, role, status, outcome, email, USER,
// USER|auto, deadline#, mail#, doc#, n, title, name, text, words, name or email,
// command, and choices such as mine|all; options are [--name VALUE] or
// [--switch].
type Command struct {
	Usage   string
	Summary string // one line for the command list
	Help    string // more detail for `help <command>`; may be empty
	// AdminOnly commands refuse everyone but admins before anything else.
	AdminOnly bool
	// Slow commands may take long; transports answer them later.
	Slow bool
	// Wakes commands can change what falls due (a deadline, a session, a
	// case's mediator or status): when one succeeds the bot calls
	// Config.Wake. Reads leave it unset, so a busy caseload does not make
	// the scheduler rescan after every show or list.
	Wakes bool
	// Variant names one of several usages that share the command words
	// (offer, offer add, offer close): the parser tries each and takes the
	// one the words fit. Name is the words and the variant; the metric
	// label is the words alone.
	Variant string
	// Handle runs the command.
	Handle func(ctx context.Context, r *Request) Reply

	sp spec
}

// Name returns the command words, e.g. "party add".
func (c *Command) Name() string {
	if c.Variant != "" {
		return c.label() + " " + c.Variant
	}
	return c.label()
}

// label is the command's metric label: its words.
func (c *Command) label() string { return strings.Join(c.sp.words, " ") }

// Request is one command being run: who runs it, when, and its arguments
// already read and checked against the usage line.
type Request struct {
	Actor   casebot.Actor
	Now     time.Time
	Args    Args
	Command *Command
	Store   casebot.CaseStore
	Logger  *slog.Logger
	bot     *Bot
}

// Bot runs command texts for actors.
type Bot struct {
	cfg    Config
	admins map[string]bool

	mu   sync.RWMutex
	cmds []*Command // in help order
}

// New returns a Bot with the built-in command table.
func New(cfg Config) *Bot {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultLocation == nil {
		cfg.DefaultLocation = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bot{cfg: cfg, admins: map[string]bool{}}
	for _, a := range cfg.Admins {
		b.admins[a] = true
	}
	for _, c := range builtins() {
		if err := b.Register(c); err != nil {
			panic(err) // the built-in table is wrong: a programming error
		}
	}
	return b
}

// Register adds c, a command that is not in the table yet, at its end; tests
// of the transports use it for commands that block or panic. Every real
// command is in the built-in table. It returns an error when the usage line
// does not parse, c has no handler, or its words are taken.
func (b *Bot) Register(c Command) error {
	sp, err := parseUsage(c.Usage)
	if err != nil {
		return fmt.Errorf("bot: register %q: %w", c.Usage, err)
	}
	c.sp = sp
	if c.Handle == nil {
		return fmt.Errorf("bot: register %q: no handler", c.Usage)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, old := range b.cmds {
		if old.Name() == c.Name() {
			return fmt.Errorf("bot: register %q: %s is already a command", c.Usage, c.Name())
		}
	}
	b.cmds = append(b.cmds, &c)
	return nil
}

// Commands returns a copy of the table in help order.
func (b *Bot) Commands() []Command {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Command, len(b.cmds))
	for i, c := range b.cmds {
		out[i] = *c
	}
	return out
}

// Actor returns the actor for a Slack user: admin from Config.Admins, zone
// from Config.Location or the default zone.
func (b *Bot) Actor(userID string) casebot.Actor {
	var loc *time.Location
	if b.cfg.Location != nil {
		loc = b.cfg.Location(userID)
	}
	if loc == nil {
		loc = b.cfg.DefaultLocation
	}
	return casebot.Actor{ID: userID, Admin: userID != "" && b.admins[userID], Loc: loc}
}

// Run executes one command text (what follows the slash command) for the
// Slack user userID and returns the reply. It never panics on bad input.
func (b *Bot) Run(ctx context.Context, userID, text string) (rep Reply) {
	start := time.Now()
	name := "?"
	defer func() {
		if p := recover(); p != nil {
			b.cfg.Logger.Error("command panicked", slog.String("command", name), slog.String("user", userID), slog.Any("panic", p))
			rep = Reply{Text: "Internal error.", Err: casebot.Errorf(casebot.EINTERNAL, "Internal error.")}
		}
		b.cfg.Logger.Info("command", slog.String("command", name), slog.String("user", userID),
			slog.String("code", casebot.ErrorCode(rep.Err)), slog.Duration("took", time.Since(start)))
	}()
	actor := b.Actor(userID)
	now := b.cfg.Now()
	toks, err := tokenize(text)
	if err != nil {
		return b.usageReply(err, b.group(firstWord(text)))
	}
	if len(toks) == 0 {
		return Reply{Text: b.helpText()}
	}
	cands, rest, err := b.lookup(toks)
	if err != nil {
		return b.usageReply(err, b.group(strings.ToLower(toks[0].val)))
	}
	cmd, args, err := choose(cands, rest, now, actor.Location())
	name = cmd.Name()
	if err != nil {
		return b.usageReply(err, cands)
	}
	if cmd.AdminOnly && !actor.Admin {
		err := casebot.Errorf(casebot.EFORBIDDEN, "Only admins may use %s.", cmd.Name())
		return Reply{Text: err.Message, Err: err}
	}
	r := &Request{Actor: actor, Now: now, Args: args, Command: cmd, Store: b.cfg.Store, Logger: b.cfg.Logger, bot: b}
	rep = cmd.Handle(ctx, r)
	if cmd.Wakes && rep.Err == nil && b.cfg.Wake != nil {
		b.cfg.Wake()
	}
	return rep
}

// Slow reports whether the command in text may take long (search, stats,
// anything that sends mail), so a transport should acknowledge at once and
// deliver the reply later.
func (b *Bot) Slow(text string) bool {
	for _, c := range b.group(firstWord(text)) {
		if c.Slow {
			return true
		}
	}
	return false
}

// Label returns the metric label of a command text: the name of the
// command it names ("party add", "reschedule"), "help" for an empty text
// (which lists the commands) and "unknown" for anything else, a malformed
// group command ("party frobnicate") included. Label values come from the
// table, so there are few and every command has one of its own.
func (b *Bot) Label(text string) string {
	toks, err := tokenize(text)
	if err != nil {
		toks = nil
		for _, f := range strings.Fields(text) {
			toks = append(toks, token{val: f})
		}
	}
	if len(toks) == 0 {
		return "help"
	}
	if cands, _, err := b.lookup(toks); err == nil {
		return cands[0].label()
	}
	return "unknown"
}

// Labels returns every value Label can return, in help order and "unknown"
// last, so that metrics can show each command before it first runs.
func (b *Bot) Labels() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]string, 0, len(b.cmds)+1)
	for _, c := range b.cmds {
		if !slices.Contains(out, c.label()) {
			out = append(out, c.label())
		}
	}
	return append(out, "unknown")
}

func firstWord(text string) string {
	f := strings.Fields(text)
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
}

// group returns the commands whose first word is w (party add, party remove).
func (b *Bot) group(w string) []*Command {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var g []*Command
	for _, c := range b.cmds {
		if c.sp.words[0] == w {
			g = append(g, c)
		}
	}
	return g
}

// lookup finds the commands named by the first word (and, for a group, the
// second): one, or the variants sharing those words, in table order; and
// returns the remaining words.
func (b *Bot) lookup(toks []token) ([]*Command, []token, error) {
	w := strings.ToLower(toks[0].val)
	g := b.group(w)
	if len(g) == 0 {
		return nil, nil, invalid("%q is not a command.", toks[0].val)
	}
	var one []*Command
	for _, c := range g {
		if len(c.sp.words) == 1 {
			one = append(one, c)
		}
	}
	if len(one) == len(g) {
		return one, toks[1:], nil
	}
	var subs []string
	for _, c := range g {
		subs = append(subs, c.sp.words[1])
		if len(toks) > 1 && strings.EqualFold(toks[1].val, c.sp.words[1]) {
			return []*Command{c}, toks[2:], nil
		}
	}
	if len(toks) > 1 {
		return nil, nil, invalid("%s %q is not a command; use %s %s.", w, toks[1].val, w, orList(subs))
	}
	return nil, nil, invalid("%s needs %s.", w, orList(subs))
}

// usageReply refuses with what was wrong and the usage of the commands it
// concerns, or the list of commands when it concerns none.
func (b *Bot) usageReply(err error, cmds []*Command) Reply {
	var t text
	t.line(casebot.ErrorMessage(err))
	if len(cmds) == 0 {
		t.line("")
		t.raw(b.helpText())
	} else {
		for _, c := range cmds {
			t.line("Usage: " + c.Usage)
		}
	}
	return Reply{Text: t.String(), Err: err}
}

// Case returns the case id if the actor may see it. For a case the actor may
// not see, and for a missing case, a non-admin gets the same ErrHidden; an
// admin learns that the case does not exist.
func (r *Request) Case(ctx context.Context, id string) (*casebot.Case, error) {
	c, err := r.Store.Case(ctx, id)
	if casebot.ErrorCode(err) == casebot.ENOTFOUND {
		return nil, r.hidden(id)
	} else if err != nil {
		return nil, fmt.Errorf("bot: load case %s: %w", id, err)
	}
	if !r.Actor.CanSee(c) {
		return nil, r.hidden(id)
	}
	return c, nil
}

// CaseRecords is Case with the case's notes and newest documents, read
// together; access is checked on the case before anything else is read.
func (r *Request) CaseRecords(ctx context.Context, id string, newestDocs int) (casebot.CaseRecords, error) {
	rec, err := r.Store.CaseRecords(ctx, id, newestDocs, func(c *casebot.Case) error {
		if !r.Actor.CanSee(c) {
			return r.hidden(id)
		}
		return nil
	})
	if casebot.ErrorCode(err) == casebot.ENOTFOUND {
		return casebot.CaseRecords{}, r.hidden(id)
	} else if err != nil {
		return casebot.CaseRecords{}, fmt.Errorf("bot: load case %s: %w", id, err)
	}
	return rec, nil
}

func (r *Request) hidden(id string) error { return r.Actor.Denied(id) }

// UpdateCase changes case id through the store, checking access inside the
// transaction (a case reassigned meanwhile is refused) and filling in the
// Change's actor. An error from fn aborts with nothing stored.
func (r *Request) UpdateCase(ctx context.Context, id string, fn func(c *casebot.Case) (casebot.Change, error)) (*casebot.Case, error) {
	c, err := r.Store.UpdateCase(ctx, id, func(c *casebot.Case) (casebot.Change, error) {
		if !r.Actor.CanSee(c) {
			return casebot.Change{}, r.hidden(id)
		}
		ch, err := fn(c)
		if ch.Actor == "" {
			ch.Actor = r.Actor.ID
		}
		return ch, err
	})
	if casebot.ErrorCode(err) == casebot.ENOTFOUND {
		return nil, r.hidden(id)
	}
	return c, err
}

// Fail turns err into a refusal. Domain errors keep their message; any
// other error is logged and shown as "Internal error.".
func (r *Request) Fail(err error) Reply {
	if casebot.ErrorCode(err) == casebot.EINTERNAL {
		r.Logger.Error("command failed", slog.String("command", r.Command.Name()), slog.String("user", r.Actor.ID), slog.Any("error", err))
	}
	return Reply{Text: casebot.ErrorMessage(err), Err: err}
}

// Usage refuses with err's message and the command's usage.
func (r *Request) Usage(err error) Reply {
	return r.bot.usageReply(err, []*Command{r.Command})
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
