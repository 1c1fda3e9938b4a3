package testserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// View is one views.publish or views.open the fake Slack accepted.
type View struct {
	Method    string // "views.publish" or "views.open"
	UserID    string // views.publish
	TriggerID string // views.open
	// Type, CallbackID and PrivateMetadata are the view's.
	Type, CallbackID, PrivateMetadata string
	JSON                              string // the view JSON as sent
	// Received is when the fake had read the whole request, before it
	// checked it: what the sender is answerable for ends there, and the
	// fake's own checking is Slack's time, not the sender's.
	Received time.Time
}

// Map returns the view decoded: type, blocks, callback_id,
// private_metadata… The fake checks a view through typed structs and keeps
// its JSON only (a view decoded into maps is ten times its size and costs
// a benchmark publishing hundreds of Homes more than building them); Map,
// Blocks and Text decode it when asked.
func (v View) Map() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(v.JSON), &m) // accepted: valid
	return m
}

// Blocks returns the view's blocks.
func (v View) Blocks() []map[string]any {
	bs, _ := v.Map()["blocks"].([]any)
	out := make([]map[string]any, 0, len(bs))
	for _, b := range bs {
		if m, ok := b.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Text returns every text of the view's blocks, one per line.
func (v View) Text() string {
	var b strings.Builder
	var walk func(x any)
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			if s, ok := t["text"].(string); ok {
				b.WriteString(s)
				b.WriteString("\n")
			}
			for _, y := range t {
				walk(y) // a string (a text's own) adds nothing
			}
		case []any:
			for _, y := range t {
				walk(y)
			}
		}
	}
	walk(v.Map()["blocks"])
	return b.String()
}

// Views returns every accepted views.publish and views.open, oldest first.
func (s *Slack) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]View(nil), s.views...)
}

// Refused returns the view calls refused as invalid, with Slack's error.
func (s *Slack) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// Limits Slack enforces on views (docs.slack.dev; FIELD-NOTES).
const (
	maxViewBlocks      = 100
	maxSectionText     = 3000
	maxButtonText      = 150
	maxInputLabel      = 150
	maxModalTitle      = 24
	maxHeaderText      = 150
	maxOptionText      = 75
	maxOptionValue     = 150
	maxPrivateMetadata = 3000
	maxCallbackID      = 255
	maxBlockID         = 255
	maxActionID        = 255
)

var blockTypes = map[string]bool{"section": true, "divider": true, "header": true, "actions": true, "context": true, "input": true, "image": true}

var elementTypes = map[string]bool{"button": true, "static_select": true, "external_select": true, "users_select": true,
	"conversations_select": true, "channels_select": true, "multi_static_select": true, "multi_external_select": true,
	"datepicker": true, "timepicker": true, "plain_text_input": true, "checkboxes": true, "radio_buttons": true,
	"overflow": true, "image": true, "file_input": true, "number_input": true, "email_text_input": true}

var inputElements = map[string]bool{"static_select": true, "external_select": true, "users_select": true,
	"conversations_select": true, "channels_select": true, "multi_static_select": true, "multi_external_select": true,
	"datepicker": true, "timepicker": true, "plain_text_input": true, "checkboxes": true, "radio_buttons": true,
	"file_input": true, "number_input": true, "email_text_input": true}

// views answers views.publish and views.open after checking the request as
// Slack would: JSON with a view; views.publish names a user, views.open a
// trigger and nothing else (exactly one of view_id, external_id or
// trigger_id); at most 100 blocks of known types with valid elements;
// text lengths; unique block IDs; modal title, submit and close.
func (s *Slack) viewCall(w http.ResponseWriter, r *http.Request, method string) {
	// A body of known length is read into one buffer of that length (a
	// Home is 30 kB: io.ReadAll would grow three times that).
	var body []byte
	if n := r.ContentLength; n > 0 && n <= 1<<20 {
		body = make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			body = nil
		}
	} else {
		body, _ = io.ReadAll(r.Body)
	}
	received := time.Now()
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.mu.Lock()
		s.refused = append(s.refused, method+": "+msg)
		s.mu.Unlock()
		fmt.Fprintf(w, `{"ok":false,"error":"invalid_arguments","response_metadata":{"messages":[%q]}}`, msg)
	}
	req, err := decodeViewCall(body)
	if err != nil || req.raw == "" {
		fail("not JSON with a view: %v", err)
		return
	}
	view := req.view
	if view == nil {
		fail("view: not an object")
		return
	}
	ids := 0
	for _, id := range []string{req.TriggerID, req.ViewID, req.ExternalID} {
		if id != "" {
			ids++
		}
	}
	switch method {
	case "views.publish":
		if req.UserID == "" || view.Type != "home" {
			fail("views.publish needs user_id and a home view")
			return
		}
	case "views.open":
		if ids != 1 || req.TriggerID == "" {
			fail("views.open needs exactly one of trigger_id, view_id, external_id: a trigger_id")
			return
		}
		if view.Type != "modal" {
			fail("views.open needs a modal")
			return
		}
		if err := checkModal(view); err != nil {
			fail("%v", err)
			return
		}
	}
	if err := checkView(view); err != nil {
		fail("%v", err)
		return
	}
	v := View{Method: method, UserID: req.UserID, TriggerID: req.TriggerID, Type: view.Type, CallbackID: view.CallbackID,
		PrivateMetadata: view.PrivateMetadata, JSON: req.raw, Received: received}
	s.mu.Lock()
	s.views = append(s.views, v)
	n := len(s.views)
	s.mu.Unlock()
	select {
	case s.viewed <- v:
	default:
	}
	fmt.Fprintf(w, `{"ok":true,"view":{"id":"V%d","type":%q}}`, n, view.Type)
}

// viewCall is a views.publish or views.open request body.
type viewCall struct {
	UserID, TriggerID, ViewID, ExternalID string
	view                                  *viewJSON // nil when the view is not an object
	raw                                   string    // the view's JSON as sent; "" without a view
}

// viewJSON is what the fake checks of a view. Block Kit's JSON is decoded
// into these structs, not into maps: a field of the wrong JSON type makes
// the call fail to decode (refused), as an absent one fails its check.
type viewJSON struct {
	Type            string      `json:"type"`
	Blocks          []blockJSON `json:"blocks"`
	Title           *textJSON   `json:"title"`
	Submit          *textJSON   `json:"submit"`
	Close           *textJSON   `json:"close"`
	PrivateMetadata string      `json:"private_metadata"`
	CallbackID      string      `json:"callback_id"`
}

type blockJSON struct {
	Type    string    `json:"type"`
	BlockID string    `json:"block_id"`
	Text    *textJSON `json:"text"`  // section, header
	Label   *textJSON `json:"label"` // input
	// Accessory is a section's element, Element an input's.
	Accessory *elementJSON `json:"accessory"`
	Element   *elementJSON `json:"element"`
	// Elements are an actions block's elements or a context block's
	// texts and images, read by the block's type.
	Elements []json.RawMessage `json:"elements"`
}

type elementJSON struct {
	Type      string       `json:"type"`
	ActionID  string       `json:"action_id"`
	Text      *textJSON    `json:"text"` // a button's
	Options   []optionJSON `json:"options"`
	MaxLength *float64     `json:"max_length"`
}

type optionJSON struct {
	Text  *textJSON `json:"text"`
	Value string    `json:"value"`
}

type textJSON struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// decodeViewCall reads a view call's JSON body: the IDs, the view decoded
// and the view's JSON as sent. The body must be one JSON object, and
// nothing after it. json.Unmarshal over the body in hand, not a streaming
// Decoder: a Decoder copies a 30 kB Home into buffers it grows three
// times, garbage that the benchmarks sharing this process would collect.
func decodeViewCall(body []byte) (viewCall, error) {
	var c viewCall
	var top struct {
		UserID     string          `json:"user_id"`
		TriggerID  string          `json:"trigger_id"`
		ViewID     string          `json:"view_id"`
		ExternalID string          `json:"external_id"`
		View       json.RawMessage `json:"view"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return c, err
	}
	c.UserID, c.TriggerID, c.ViewID, c.ExternalID = top.UserID, top.TriggerID, top.ViewID, top.ExternalID
	if len(top.View) == 0 {
		return c, nil // no view: raw stays ""
	}
	c.raw = string(top.View)
	if top.View[0] != '{' { // an array, a string, null…
		return c, nil
	}
	v := new(viewJSON)
	if err := json.Unmarshal(top.View, v); err != nil {
		return c, fmt.Errorf("view: %w", err)
	}
	c.view = v
	return c, nil
}

// Viewed delivers accepted views as they arrive (the first 256 nobody took).
func (s *Slack) Viewed() <-chan View { return s.viewed }

func checkModal(view *viewJSON) error {
	if view.Title == nil {
		return fmt.Errorf("modal without a title")
	}
	for _, t := range []struct {
		what string
		t    *textJSON
	}{{"title", view.Title}, {"submit", view.Submit}, {"close", view.Close}} {
		if t.t == nil {
			continue
		}
		if err := checkText(t.what, t.t, maxModalTitle, true); err != nil {
			return err
		}
	}
	if pm := view.PrivateMetadata; len(pm) > maxPrivateMetadata {
		return fmt.Errorf("private_metadata of %d characters", len(pm))
	}
	if cb := view.CallbackID; len(cb) > maxCallbackID {
		return fmt.Errorf("callback_id of %d characters", len(cb))
	}
	return nil
}

func checkView(view *viewJSON) error {
	bs := view.Blocks
	if len(bs) == 0 || len(bs) > maxViewBlocks {
		return fmt.Errorf("%d blocks; 1 to %d allowed", len(bs), maxViewBlocks)
	}
	blockIDs := map[string]bool{}
	for i := range bs {
		b := &bs[i]
		if !blockTypes[b.Type] {
			return fmt.Errorf("block %d: unknown type %q", i, b.Type)
		}
		if id := b.BlockID; id != "" {
			if blockIDs[id] || len(id) > maxBlockID {
				return fmt.Errorf("block %d: block_id %q repeated or too long", i, id)
			}
			blockIDs[id] = true
		}
		if err := checkBlock(b); err != nil {
			return fmt.Errorf("block %d (%s): %w", i, b.Type, err)
		}
	}
	return nil
}

func checkBlock(b *blockJSON) error {
	switch b.Type {
	case "section":
		if b.Text == nil {
			return fmt.Errorf("section without text")
		}
		if err := checkText("text", b.Text, maxSectionText, false); err != nil {
			return err
		}
		if b.Accessory != nil {
			return checkElement(b.Accessory, false)
		}
	case "header":
		return checkText("header", b.Text, maxHeaderText, true)
	case "actions":
		if len(b.Elements) == 0 || len(b.Elements) > 25 {
			return fmt.Errorf("%d elements", len(b.Elements))
		}
		seen := map[string]bool{}
		for _, raw := range b.Elements {
			var e elementJSON
			if err := json.Unmarshal(raw, &e); err != nil {
				return fmt.Errorf("element: %w", err)
			}
			if e.ActionID != "" && seen[e.ActionID] {
				return fmt.Errorf("action_id %q repeated", e.ActionID)
			}
			seen[e.ActionID] = true
			if err := checkElement(&e, false); err != nil {
				return err
			}
		}
	case "input":
		if err := checkText("label", b.Label, maxInputLabel, true); err != nil {
			return err
		}
		if b.Element == nil {
			return fmt.Errorf("input without an element")
		}
		return checkElement(b.Element, true)
	case "context":
		if len(b.Elements) == 0 || len(b.Elements) > 10 {
			return fmt.Errorf("%d context elements", len(b.Elements))
		}
	}
	return nil
}

func checkElement(e *elementJSON, input bool) error {
	typ := e.Type
	if !elementTypes[typ] || (input && !inputElements[typ]) {
		return fmt.Errorf("element type %q not allowed here", typ)
	}
	if len(e.ActionID) > maxActionID {
		return fmt.Errorf("action_id too long")
	}
	switch typ {
	case "button":
		if err := checkText("button", e.Text, maxButtonText, true); err != nil {
			return err
		}
	case "static_select", "checkboxes", "radio_buttons":
		if len(e.Options) == 0 || len(e.Options) > 100 {
			return fmt.Errorf("%s with %d options", typ, len(e.Options))
		}
		for _, o := range e.Options {
			if err := checkText("option", o.Text, maxOptionText, typ == "static_select"); err != nil {
				return err
			}
			if v := o.Value; v == "" || len(v) > maxOptionValue {
				return fmt.Errorf("option value %q", v)
			}
		}
	case "plain_text_input":
		if n := e.MaxLength; n != nil && (*n < 1 || *n > 3000) {
			return fmt.Errorf("plain_text_input max_length %v", *n)
		}
	}
	return nil
}

// checkText checks a text object: a type, non-empty text within max
// characters, plain_text when plainOnly.
func checkText(what string, t *textJSON, max int, plainOnly bool) error {
	if t == nil {
		return fmt.Errorf("%s: no text object", what)
	}
	if t.Type != "plain_text" && (plainOnly || t.Type != "mrkdwn") {
		return fmt.Errorf("%s: text type %q", what, t.Type)
	}
	if n := utf8.RuneCountInString(t.Text); t.Text == "" || n > max {
		return fmt.Errorf("%s: text of %d characters; 1 to %d allowed", what, n, max)
	}
	return nil
}
