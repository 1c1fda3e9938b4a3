package bot

import (
	"context"
	"strings"
)

// builtins is the command table, in the order help lists it. Each usage line
// is parsed once: it names the command, drives the argument parser and is
// the help text.
func builtins() []Command {
	return []Command{
		{Usage: "help [command]", Summary: "list the commands, or explain one", Handle: handleHelp},
		{Usage: "new <title> [--type T] [--priority P] [--mediator USER] [--source S]", Summary: "open a case; you become its mediator", Wakes: true,
			Help: "Priority is low, normal (default), high or urgent. Only admins may name another mediator. " +
				"--source is the referral source (court, agency, self, …) that reports group by.", Handle: handleNew},
		{Usage: "list [mine|all|open|closed|overdue] [page N]", Summary: "your caseload, most urgent first, 50 a page",
			Help: "mine (default): your open cases. open, closed, all: every case for admins, your own for mediators. overdue: unmet deadlines past due. " +
				"page 2, page 3, …: the next pages.", Handle: handleList},
		{Usage: "show <ID>", Summary: "everything about a case", Handle: handleShow},
		{Usage: "party add <ID> <role> <name> <email>", Summary: "add a party; runs the conflict check", Wakes: true,
			Help: "Roles: claimant, respondent, counsel, interpreter, observer, other. Quote a name with spaces if you like: \"Smith, John\".", Handle: handlePartyAdd},
		{Usage: "party remove <ID> <email>", Summary: "remove a party", Wakes: true, Handle: handlePartyRemove},
		{Usage: "party clear <ID> <email>", Summary: "mail a party again after their address bounced", Wakes: true,
			Help: "casebot stops mailing an address whose mail bounced; clear it once the party's address works again.", Handle: handlePartyClear},
		{Usage: "assign <ID> <USER|auto>", Summary: "give a case to a mediator (admins)", AdminOnly: true, Wakes: true,
			Help: "auto picks the mediator with the lightest weighted open caseload who has no conflict " +
				"(none of this case's parties appears in another of their cases). Weights: urgent 4, high 3, normal 2, low 1; " +
				"this case itself is not counted; a case shared with co-mediators counts half for each; ties go to the lower user ID.", Handle: handleAssign},
		{Usage: "assign <ID> <+USER|-USER>", Variant: "co", Summary: "add (+) or remove (-) a co-mediator (admins)", AdminOnly: true, Wakes: true,
			Help: "A co-mediator sees and changes the case like its mediator and gets its reminders, notices and digest items. " +
				"Example: assign MED-2026-0001 +<@U123>", Handle: handleCoMediator},
		{Usage: "conflicts <name or email>", Summary: "every case in which a person appears",
			Help: "Admins see every case; a mediator sees their own cases and a count of the others.", Handle: handleConflicts},
		{Usage: "deadline <ID> <when> <text>", Summary: "add a deadline", Wakes: true,
			Help: "When: 2026-12-01 (09:00), \"2026-12-01 14:30\", +10d, +3h, +5bd (business days), in your time zone.", Handle: handleDeadline},
		{Usage: "done <ID> <deadline#>", Summary: "mark a deadline met", Wakes: true, Handle: handleDone},
		{Usage: "session <ID> <when> <duration> <title> [--where W] [--agenda A]", Summary: "schedule a session", Wakes: true,
			Help: "Duration: 90m, 1h30m, 2h. --agenda gives the agenda's items, separated by semicolons; the invitation carries them. " +
				"Example: session MED-2026-0001 \"2026-12-01 14:30\" 2h Opening --where \"Room 4\" --agenda \"Introductions; Positions\"", Handle: handleSession},
		{Usage: "session <ID> poll <slot#> <title> [--where W]", Variant: "poll", Summary: "schedule a session at a time from the case's poll", Wakes: true,
			Help:   "The parties get the invitation, the poll closes, and the reply names who cannot come. Example: session MED-2026-0001 poll 2 Opening --where \"Room 4\"",
			Handle: handleSessionPoll},
		{Usage: "poll <ID>", Summary: "the open poll: each time with who can come, and who has not answered", Handle: handlePollShow},
		{Usage: "poll <ID> <when…> [--duration D]", Variant: "ask", Summary: "ask every party by email which of these times suit them", Wakes: true,
			Help: "Two to ten times, numbered 1, 2, …; parties answer by replying (1, 3 / all / none / all but 2, also in German, French or Spanish). " +
				"--duration is the session's length (default 2h). Example: poll MED-2026-0001 \"2026-12-01 14:30\" \"2026-12-02 10:00\" +5bd --duration 3h",
			Handle: handlePollAsk},
		{Usage: "reschedule <ID> <session#> <when> [duration]", Summary: "move a session; parties get an updated invitation", Wakes: true,
			Help: "Keeps the session's length unless a new duration is given. Example: reschedule MED-2026-0001 1 \"2026-12-03 10:00\" 3h", Handle: handleReschedule},
		{Usage: "cancel <ID> <session#>", Summary: "cancel a session; parties get a cancellation", Wakes: true, Handle: handleCancel},
		{Usage: "agenda <ID> <session#>", Summary: "a session's agenda", Handle: handleAgenda,
			Help: "Invitations, their calendar files and the reminders carry the agenda."},
		{Usage: "agenda <ID> <session#> add <text>", Variant: "add", Summary: "add an item to a session's agenda", Wakes: true, Handle: handleAgendaAdd,
			Help: "Within a week of the session the parties get an updated invitation at once; further off, the next reminder carries the agenda."},
		{Usage: "agenda <ID> <session#> remove <item#>", Variant: "remove", Summary: "take an item off a session's agenda", Wakes: true, Handle: handleAgendaRemove},
		{Usage: "note <ID> [--private] <text>", Summary: "add a note; --private marks a caucus note", Handle: handleNote},
		{Usage: "email <ID> [--to ROLE] [--attach DOC#[,DOC#…]] <text>", Summary: "email the parties (or one role), with case documents attached", Slow: true,
			Help: "Parties get the text by email with the case ID in the subject; their replies come back as notes. " +
				"--to narrows it to one role (claimant, respondent, counsel, interpreter, observer, other). " +
				"--attach 2,5 attaches documents 2 and 5 of the case (docs <ID> lists them).", Handle: handleEmail},
		{Usage: "request <ID> <role> <when> <what>", Summary: "ask the parties of a role by email for a document by then; adds a deadline", Slow: true, Wakes: true,
			Help: "The parties of that role get an email asking for <what> by <when>, and the case gets a deadline for it. " +
				"The first document one of them sends after the request meets the deadline by itself, and your notice of that email says so. " +
				"Example: request MED-2026-0001 respondent +10d \"Signed lease and payment records\"", Handle: handleRequest},
		{Usage: "docs <ID>", Summary: "a case's documents: number, name, type, size, from whom, when",
			Help: "Every attachment of a party's email is a document of its case; the same file sent again is one document with several arrivals. " +
				"Files over the attachment size limit are listed but not kept.", Handle: handleDocs},
		{Usage: "doc <ID> <doc#>", Summary: "send a document to your Slack direct messages", Slow: true,
			Help: "The file goes to your own direct messages with casebot, never to a channel, and the view is in the case's audit trail.", Handle: handleDoc},
		{Usage: "offer <ID>", Summary: "a case's confidential log of settlement offers", Handle: handleOffers,
			Help: "Offers are caucus material: never emailed, shown only to those who may see the case, encrypted at rest."},
		{Usage: "offer <ID> <role> <terms>", Variant: "add", Summary: "log an offer from one side (never emailed)", Handle: handleOfferAdd,
			Help: "The role is the side making the offer and must be a party of the case. Example: offer MED-2026-0001 respondent 12,000 in two instalments"},
		{Usage: "offer <ID> <offer#> <accepted|rejected|withdrawn>", Variant: "close", Summary: "close an offer", Handle: handleOfferClose,
			Help: "close <ID> settled names the accepted offer in the closing record."},
		{Usage: "agreement <ID> [template]", Summary: "fill an agreement template with the case's data and file it as a PDF document", Slow: true,
			Help: "Templates: settlement (default: a memorandum of settlement, with the accepted offer's terms) and agreement-to-mediate; " +
				"more from records.templates_dir. The PDF is a document of the case: doc fetches it, email --attach sends it.",
			Handle: handleAgreement},
		{Usage: "status <ID> <status>", Summary: "move an open case (intake, scheduled, active); reopens a closed one",
			Wakes: true, Handle: handleStatus},
		{Usage: "close <ID> <outcome> [text]", Summary: "close a case: settled, partial, impasse or withdrawn", Wakes: true, Handle: handleClose},
		{Usage: "timeline <ID>", Summary: "every event of a case in order", Handle: handleTimeline},
		{Usage: "search <words>", Summary: "notes that contain all the words, from your cases", Slow: true, Handle: handleSearch},
		{Usage: "quarantine", Summary: "emails that matched no case or came from a stranger",
			Help: "Admins see every quarantined email; a mediator sees those that named one of their cases.", Handle: handleQuarantine},
		{Usage: "accept <mail#> <ID>", Summary: "file a quarantined email under a case as a note", Handle: handleAccept},
		{Usage: "reject <mail#>", Summary: "discard a quarantined email", Handle: handleReject},
		{Usage: "digest", Summary: "your daily digest now", Slow: true,
			Help: "The same summary the daily digest sends: today's sessions, deadlines in the next 7 days, overdue items, " +
				"party emails since your last digest, cases without activity for 14 days; for admins also the quarantine and caseload balance.",
			Handle: handleDigest},
		{Usage: "stats", Summary: "caseload figures (yours; every case for admins)", Slow: true, Handle: handleStats},
		{Usage: "purge <ID>", Summary: "destroy a closed case's content now (admins)", AdminOnly: true, Wakes: true,
			Help: "Notes, emails, raw messages, documents, offers, party names and addresses go for good, also from backups taken afterwards; " +
				"a record for statistics and the audit trail, without content, stay. No confirmation is asked. " +
				"Refused for an open case and for a case on hold.", Handle: handlePurge},
		{Usage: "hold <ID> [on|off]", Summary: "keep a case from purge, or release it (admins)", AdminOnly: true,
			Help:   "A case on hold is never purged, by purge or by the retention period (records.retain_days); hold <ID> off releases it.",
			Handle: handleHold},
		{Usage: "report [from] [to]", Summary: "figures for a period; a CSV and a chart to your direct messages", Slow: true,
			Help: "From and to are months (2026-01) or dates (2026-01-15, counted as their month); the default is the last 12 months. " +
				"Opened and closed by month, settlement rate and days to close by type, priority, source and mediator, sessions held. " +
				"Admins see the programme, a mediator their own cases. The CSV lists each closed case without parties or content.",
			Handle: handleReport},
	}
}

// helpText lists every command.
func (b *Bot) helpText() string {
	var t text
	t.line("Commands:")
	for _, c := range b.Commands() {
		t.linef("  %s — %s", c.Usage, c.Summary)
	}
	t.line("Cases are named by ID (MED-2026-0042). Type help <command> for more.")
	return t.String()
}

func handleHelp(_ context.Context, r *Request) Reply {
	if len(r.Args.Words) == 0 {
		return Reply{Text: r.bot.helpText()}
	}
	g := r.bot.group(strings.ToLower(r.Args.Words[0]))
	if len(g) == 0 {
		return r.Usage(invalid("%q is not a command.", r.Args.Words[0]))
	}
	var t text
	for _, c := range g {
		t.line(c.Usage)
		t.line("  " + c.Summary)
		if c.Help != "" {
			t.line("  " + c.Help)
		}
		if c.AdminOnly {
			t.line("  Admins only.")
		}
	}
	return Reply{Text: t.String()}
}
