package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/casebot/casebot"
)

// listChoices are list's words, which a Next button's value may name.
var listChoices = map[string]bool{"mine": true, "all": true, "open": true, "closed": true, "overdue": true}

// pageFooter says which page a list shows and, when there are more, the
// command for the next one, with a Next button standing for it.
func pageFooter(t *text, what string, page, pages int) []casebot.Button {
	if pages <= 1 {
		return nil
	}
	t.linef("Page %d of %d.", page, pages)
	if page >= pages {
		return nil
	}
	t.linef("Next page: list %s page %d", what, page+1)
	return []casebot.Button{{ActionID: casebot.ActionListPage, Label: "Next", Value: what + "/" + strconv.Itoa(page+1)}}
}

func handleList(ctx context.Context, r *Request) Reply {
	what := r.Args.Word
	if what == "" {
		what = "mine"
	}
	page := max(r.Args.Page, 1)
	if what == "overdue" {
		return listOverdue(ctx, r, page)
	}
	f := casebot.CaseFilter{State: what}
	if what == "mine" || !r.Actor.Admin {
		f.Mediator = r.Actor.ID
	}
	if what == "mine" {
		f.State = "open"
	}
	if f.Mediator == "" && !r.Actor.Admin {
		return Reply{Text: "No cases."}
	}
	pg, err := r.Store.CasePage(ctx, f, page)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: list cases: %w", err))
	}
	loc := r.Actor.Location()
	var t text
	n := 0
	// The store chose the cases through the mediator index for everyone
	// but admins; the (co-)mediator is checked again as a second guard.
	for _, c := range pg.Cases {
		if !r.Actor.Admin && c.Mediator != r.Actor.ID && !slices.Contains(c.CoMediators, r.Actor.ID) {
			continue
		}
		n++
		t.line("  " + summaryLine(c, r.Now, loc))
	}
	if n == 0 {
		return Reply{Text: "No cases."}
	}
	buttons := pageFooter(&t, what, pg.Page, pg.Pages)
	return Reply{Text: fmt.Sprintf("Cases (%s, %d):\n", what, pg.Total) + t.String(), Buttons: buttons}
}

// listOverdue lists one page of the unmet deadlines past due, read from
// the deadline index.
func listOverdue(ctx context.Context, r *Request, page int) Reply {
	mediator := r.Actor.ID
	if r.Actor.Admin {
		mediator = ""
	}
	refs, err := r.Store.Overdue(ctx, r.Now, mediator)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: list overdue: %w", err))
	}
	var mine []casebot.DeadlineRef
	for _, d := range refs {
		if r.Actor.Admin || r.Actor.ID != "" && (d.Mediator == r.Actor.ID || slices.Contains(d.CoMediators, r.Actor.ID)) {
			mine = append(mine, d)
		}
	}
	if len(mine) == 0 {
		return Reply{Text: "No overdue deadlines."}
	}
	size := casebot.ListPageSize
	pages := (len(mine) + size - 1) / size
	page = min(page, pages)
	loc := r.Actor.Location()
	var t text
	for _, d := range mine[(page-1)*size : min(page*size, len(mine))] {
		t.linef("  %s  [%s] #%d due %s  %s  (case: %s, mediator %s)", d.CaseID, d.Priority, d.Deadline.N,
			formatTime(d.Deadline.Due, loc), d.Deadline.Text, d.Title, d.Mediator)
	}
	buttons := pageFooter(&t, "overdue", page, pages)
	return Reply{Text: fmt.Sprintf("Overdue deadlines (%d):\n", len(mine)) + t.String(), Buttons: buttons}
}
