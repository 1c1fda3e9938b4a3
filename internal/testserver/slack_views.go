package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// View is one views.publish or views.open the fake Slack accepted.
type View struct {
	Method    string // "views.publish" or "views.open"
	UserID    string // views.publish
	TriggerID string // views.open
	// View is the view as sent: type, blocks, callback_id, private_metadata…
	View map[string]any
	JSON string // the view JSON as sent
}

// Blocks returns the view's blocks.
func (v View) Blocks() []map[string]any {
	bs, _ := v.View["blocks"].([]any)
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
	walk(v.View["blocks"])
	return b.String()
}

// Views returns every accepted views.publish and views.open, oldest first.
// The fake keeps each view's JSON only (a decoded view is ten times its
// size, and a benchmark publishing hundreds of Homes would have the
// garbage collector scan them all) and decodes them again here.
func (s *Slack) Views() []View {
	s.mu.Lock()
	out := append([]View(nil), s.views...)
	s.mu.Unlock()
	for i := range out {
		_ = json.Unmarshal([]byte(out[i].JSON), &out[i].View) // accepted: valid
	}
	return out
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
	body, _ := io.ReadAll(r.Body)
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
		if req.UserID == "" || view["type"] != "home" {
			fail("views.publish needs user_id and a home view")
			return
		}
	case "views.open":
		if ids != 1 || req.TriggerID == "" {
			fail("views.open needs exactly one of trigger_id, view_id, external_id: a trigger_id")
			return
		}
		if view["type"] != "modal" {
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
	v := View{Method: method, UserID: req.UserID, TriggerID: req.TriggerID, View: view, JSON: req.raw}
	s.mu.Lock()
	s.views = append(s.views, View{Method: v.Method, UserID: v.UserID, TriggerID: v.TriggerID, JSON: v.JSON})
	n := len(s.views)
	s.mu.Unlock()
	select {
	case s.viewed <- v:
	default:
	}
	fmt.Fprintf(w, `{"ok":true,"view":{"id":"V%d","type":%q}}`, n, view["type"])
}

// viewCall is a views.publish or views.open request body.
type viewCall struct {
	UserID, TriggerID, ViewID, ExternalID string
	view                                  map[string]any // nil when the view is not an object
	raw                                   string         // the view's JSON as sent; "" without a view
}

// decodeViewCall reads a view call's JSON body in one pass: the IDs, the
// view decoded and the view's JSON as sent. The body must be one JSON
// object, and nothing after it.
func decodeViewCall(body []byte) (viewCall, error) {
	var c viewCall
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return c, fmt.Errorf("not a JSON object (%v)", err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return c, err
		}
		key, _ := t.(string)
		var dst any
		switch key {
		case "user_id":
			dst = &c.UserID
		case "trigger_id":
			dst = &c.TriggerID
		case "view_id":
			dst = &c.ViewID
		case "external_id":
			dst = &c.ExternalID
		case "view":
			start := dec.InputOffset()
			var v any
			if err := dec.Decode(&v); err != nil {
				return c, err
			}
			c.view, _ = v.(map[string]any)
			c.raw = strings.TrimLeft(string(body[start:dec.InputOffset()]), " \t\r\n:")
			continue
		default:
			dst = new(json.RawMessage)
		}
		if err := dec.Decode(dst); err != nil {
			return c, fmt.Errorf("%s: %w", key, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return c, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return c, fmt.Errorf("data after the request object")
	}
	return c, nil
}

// Viewed delivers accepted views as they arrive (the first 256 nobody took).
func (s *Slack) Viewed() <-chan View { return s.viewed }

func checkModal(view map[string]any) error {
	for _, k := range []string{"title", "submit", "close"} {
		t, ok := view[k].(map[string]any)
		if !ok {
			if k == "title" {
				return fmt.Errorf("modal without a title")
			}
			continue
		}
		if err := checkText(k, t, maxModalTitle, true); err != nil {
			return err
		}
	}
	if pm, _ := view["private_metadata"].(string); len(pm) > maxPrivateMetadata {
		return fmt.Errorf("private_metadata of %d characters", len(pm))
	}
	if cb, _ := view["callback_id"].(string); len(cb) > maxCallbackID {
		return fmt.Errorf("callback_id of %d characters", len(cb))
	}
	return nil
}

func checkView(view map[string]any) error {
	bs, _ := view["blocks"].([]any)
	if len(bs) == 0 || len(bs) > maxViewBlocks {
		return fmt.Errorf("%d blocks; 1 to %d allowed", len(bs), maxViewBlocks)
	}
	blockIDs := map[string]bool{}
	for i, x := range bs {
		b, ok := x.(map[string]any)
		if !ok {
			return fmt.Errorf("block %d is not an object", i)
		}
		typ, _ := b["type"].(string)
		if !blockTypes[typ] {
			return fmt.Errorf("block %d: unknown type %q", i, typ)
		}
		if id, _ := b["block_id"].(string); id != "" {
			if blockIDs[id] || len(id) > maxBlockID {
				return fmt.Errorf("block %d: block_id %q repeated or too long", i, id)
			}
			blockIDs[id] = true
		}
		if err := checkBlock(typ, b); err != nil {
			return fmt.Errorf("block %d (%s): %w", i, typ, err)
		}
	}
	return nil
}

func checkBlock(typ string, b map[string]any) error {
	switch typ {
	case "section":
		t, ok := b["text"].(map[string]any)
		if !ok {
			return fmt.Errorf("section without text")
		}
		if err := checkText("text", t, maxSectionText, false); err != nil {
			return err
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			return checkElement(acc, false)
		}
	case "header":
		t, _ := b["text"].(map[string]any)
		return checkText("header", t, maxHeaderText, true)
	case "actions":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > 25 {
			return fmt.Errorf("%d elements", len(els))
		}
		seen := map[string]bool{}
		for _, x := range els {
			e, _ := x.(map[string]any)
			id, _ := e["action_id"].(string)
			if id != "" && seen[id] {
				return fmt.Errorf("action_id %q repeated", id)
			}
			seen[id] = true
			if err := checkElement(e, false); err != nil {
				return err
			}
		}
	case "input":
		l, _ := b["label"].(map[string]any)
		if err := checkText("label", l, maxInputLabel, true); err != nil {
			return err
		}
		e, ok := b["element"].(map[string]any)
		if !ok {
			return fmt.Errorf("input without an element")
		}
		return checkElement(e, true)
	case "context":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > 10 {
			return fmt.Errorf("%d context elements", len(els))
		}
	}
	return nil
}

func checkElement(e map[string]any, input bool) error {
	typ, _ := e["type"].(string)
	if !elementTypes[typ] || (input && !inputElements[typ]) {
		return fmt.Errorf("element type %q not allowed here", typ)
	}
	if id, _ := e["action_id"].(string); len(id) > maxActionID {
		return fmt.Errorf("action_id too long")
	}
	switch typ {
	case "button":
		t, _ := e["text"].(map[string]any)
		if err := checkText("button", t, maxButtonText, true); err != nil {
			return err
		}
	case "static_select", "checkboxes", "radio_buttons":
		opts, _ := e["options"].([]any)
		if len(opts) == 0 || len(opts) > 100 {
			return fmt.Errorf("%s with %d options", typ, len(opts))
		}
		for _, x := range opts {
			o, _ := x.(map[string]any)
			t, _ := o["text"].(map[string]any)
			if err := checkText("option", t, maxOptionText, typ == "static_select"); err != nil {
				return err
			}
			if v, _ := o["value"].(string); v == "" || len(v) > maxOptionValue {
				return fmt.Errorf("option value %q", v)
			}
		}
	case "plain_text_input":
		if n, ok := e["max_length"].(float64); ok && (n < 1 || n > 3000) {
			return fmt.Errorf("plain_text_input max_length %v", n)
		}
	}
	return nil
}

// checkText checks a text object: a type, non-empty text within max
// characters, plain_text when plainOnly.
func checkText(what string, t map[string]any, max int, plainOnly bool) error {
	if t == nil {
		return fmt.Errorf("%s: no text object", what)
	}
	typ, _ := t["type"].(string)
	if typ != "plain_text" && (plainOnly || typ != "mrkdwn") {
		return fmt.Errorf("%s: text type %q", what, typ)
	}
	s, _ := t["text"].(string)
	if s == "" || utf8.RuneCountInString(s) > max {
		return fmt.Errorf("%s: text of %d characters; 1 to %d allowed", what, utf8.RuneCountInString(s), max)
	}
	return nil
}
