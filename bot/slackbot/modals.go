package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// FormLanguage is what the transport asks of the command language about
// forms. *bot.Bot implements it; the forms and their fields derive from
// the command table.
type FormLanguage interface {
	// Form returns the form of a command as userID would see it, or false.
	Form(userID, command string) (casebot.Form, bool)
	// FormCommand returns the command whose form a bare command text
	// (`/case new`) opens, or false.
	FormCommand(text string) (string, bool)
	// FormText returns the command text a submitted form stands for, or
	// a refusal (a *casebot.FieldError where it concerns one field).
	FormText(userID, command string, values map[string]string) (string, error)
}

// Form callback IDs: "form:" and the command ("form:party add"). A view
// submission with any other callback ID was not opened by casebot.
const formCallbackPrefix = "form:"

// valueAction is the action ID of every form input; the block ID is the
// field's name, and a FieldWhen's time picker is in block "<name>.time".
const (
	valueAction = "value"
	timeSuffix  = ".time"
	// maxFieldError bounds the message shown at a field.
	maxFieldError = 300
	// Modal texts: title, submit and close at most 24 characters.
	maxModalText = 24
	// maxOptions is how many options a select or a suggestion offers.
	maxOptions = 100
	// maxNoteLink is the longest permalink a note keeps.
	maxNoteLink = 500
	// maxReplyURL is the longest response_url a form keeps to confirm to.
	maxReplyURL = 1000
)

// formMeta is a form's private_metadata: the case it is for when it was
// opened for one, and the Slack message it takes text from (add_to_case).
type formMeta struct {
	Case string `json:"case,omitempty"`
	Link string `json:"link,omitempty"`
	// Reply is the response_url of the slash command, button or message
	// shortcut that opened the form, where Slack gave one (a channel or
	// a DM): the confirmation goes there, ephemeral, and else by DM.
	Reply string `json:"reply,omitempty"`
}

// openForm opens the form of command for user (views.open with trigger),
// for caseID when not empty, with initial values by field name.
func (h *Handler) openForm(ctx context.Context, trigger, user, command string, meta formMeta, initial map[string]string) error {
	if h.cfg.Forms == nil || h.cfg.Client == nil {
		return errors.New("slackbot: forms are off")
	}
	f, ok := h.cfg.Forms.Form(user, command)
	if !ok {
		return errors.New("slackbot: no form for " + command)
	}
	if len(meta.Reply) > maxReplyURL {
		meta.Reply = "" // private_metadata holds 3,000 characters: confirm by DM
	}
	md, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(f.Title, maxModalText),
		Submit:          plain(f.Submit, maxModalText),
		Close:           plain("Cancel", maxModalText),
		CallbackID:      formCallbackPrefix + f.Command,
		PrivateMetadata: string(md),
		Blocks:          slack.Blocks{BlockSet: formBlocks(f, meta, initial)},
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := h.cfg.Client.OpenViewContext(ctx, trigger, view); err != nil {
		return classify("views.open", err)
	}
	return nil
}

// formBlocks renders a form's fields as input blocks (block ID: the
// field's name; action ID: valueAction). A case given in meta is shown,
// not asked.
func formBlocks(f casebot.Form, meta formMeta, initial map[string]string) []slack.Block {
	var bs []slack.Block
	if meta.Case != "" {
		bs = append(bs, slack.NewContextBlock("", mrkdwn("Case *"+escapeSlack(meta.Case)+"*")))
	}
	for _, fl := range f.Fields {
		if fl.Kind == casebot.FieldCase && meta.Case != "" {
			continue
		}
		label := plain(fl.Label, 150)
		var el slack.BlockElement
		switch fl.Kind {
		case casebot.FieldLine, casebot.FieldLongText:
			var ph *slack.TextBlockObject
			if fl.Hint != "" {
				ph = plain(fl.Hint, 150)
			}
			in := slack.NewPlainTextInputBlockElement(ph, valueAction)
			in.Multiline = fl.Kind == casebot.FieldLongText
			if fl.MaxLen > 0 {
				in.MaxLength = min(fl.MaxLen, 3000)
			}
			if v := initial[fl.Name]; v != "" {
				in.InitialValue = cutRunes(v, max(in.MaxLength, 3000))
			}
			el = in
		case casebot.FieldChoice:
			opts := make([]*slack.OptionBlockObject, 0, len(fl.Options))
			for _, o := range fl.Options {
				opts = append(opts, slack.NewOptionBlockObject(o, plain(o, 75), nil))
			}
			el = slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose", 150), valueAction, opts...)
		case casebot.FieldCase:
			sel := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("Type to search your open cases", 150), valueAction)
			zero := 0
			sel.MinQueryLength = &zero
			el = sel
		case casebot.FieldUser:
			el = slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Choose someone", 150), valueAction)
		case casebot.FieldSwitch:
			el = slack.NewCheckboxGroupsBlockElement(valueAction, slack.NewOptionBlockObject("true", plain(fl.Label, 75), nil))
			label = plain(fl.Label, 150)
		case casebot.FieldFile:
			el = slack.NewFileInputBlockElement(valueAction).WithMaxFiles(maxFormFiles)
		case casebot.FieldWhen:
			date := slack.NewInputBlock(fl.Name, plain(fl.Label+" (date)", 150), nil, slack.NewDatePickerBlockElement(valueAction))
			tm := slack.NewInputBlock(fl.Name+timeSuffix, plain(fl.Label+" (time)", 150), nil, slack.NewTimePickerBlockElement(valueAction))
			date.Optional, tm.Optional = fl.Optional, fl.Optional
			bs = append(bs, date, tm)
			continue
		default:
			continue
		}
		in := slack.NewInputBlock(fl.Name, label, nil, el)
		in.Optional = fl.Optional || fl.Kind == casebot.FieldSwitch
		bs = append(bs, in)
	}
	return bs
}

// formValues reads a submitted form's values by field name.
func formValues(f casebot.Form, st *slack.ViewState) map[string]string {
	vals := map[string]string{}
	if st == nil {
		return vals
	}
	get := func(block string) (slack.BlockAction, bool) {
		b, ok := st.Values[block]
		if !ok {
			return slack.BlockAction{}, false
		}
		a, ok := b[valueAction]
		return a, ok
	}
	for _, fl := range f.Fields {
		a, ok := get(fl.Name)
		if !ok {
			continue
		}
		switch fl.Kind {
		case casebot.FieldLine, casebot.FieldLongText:
			vals[fl.Name] = a.Value
		case casebot.FieldChoice, casebot.FieldCase:
			vals[fl.Name] = a.SelectedOption.Value
		case casebot.FieldUser:
			vals[fl.Name] = a.SelectedUser
		case casebot.FieldSwitch:
			for _, o := range a.SelectedOptions {
				if o.Value == "true" {
					vals[fl.Name] = "true"
				}
			}
		case casebot.FieldWhen:
			t, _ := get(fl.Name + timeSuffix)
			vals[fl.Name] = strings.TrimSpace(a.SelectedDate + " " + t.SelectedTime)
		case casebot.FieldFile:
			var ids []string
			for _, f := range a.Files {
				if f.ID != "" {
					ids = append(ids, f.ID)
				}
			}
			vals[fl.Name] = strings.Join(ids, ",")
		}
	}
	return vals
}

// submission handles a view_submission: the form's values become the
// command's text, which runs through the runner like the typed command. It
// returns the response: nil (the modal closes; the reply goes to the
// user's DM) or response_action errors at the refused field, with nothing
// stored.
func (h *Handler) submission(cb slack.InteractionCallback, key string) (any, *httpError) {
	command, ok := strings.CutPrefix(cb.View.CallbackID, formCallbackPrefix)
	if !ok || h.cfg.Forms == nil {
		return nil, refuse(400, "view submission for a view casebot did not open (callback_id %q)", cb.View.CallbackID)
	}
	user := cb.User.ID
	f, ok := h.cfg.Forms.Form(user, command)
	if !ok {
		return nil, refuse(400, "view submission for a form casebot does not have (callback_id %q)", cb.View.CallbackID)
	}
	first := firstBlock(f, formMeta{})
	var meta formMeta
	if pm := cb.View.PrivateMetadata; pm != "" {
		if err := json.Unmarshal([]byte(pm), &meta); err != nil {
			return fieldErrors(first, "This form is not one casebot opened; open it again."), nil
		}
	}
	if meta.Case != "" {
		id, err := casebot.NormalizeCaseID(meta.Case)
		if err != nil {
			return fieldErrors(firstBlock(f, meta), "This form is not one casebot opened; open it again."), nil
		}
		meta.Case = id
	}
	first = firstBlock(f, meta)
	vals := formValues(f, cb.View.State)
	if meta.Case != "" {
		vals["ID"] = meta.Case
	}
	if meta.Link != "" && vals["text"] != "" {
		vals["text"] += "\n\n(From Slack: " + cutRunes(meta.Link, maxNoteLink) + ")"
	}
	text, err := h.cfg.Forms.FormText(user, command, vals)
	if err != nil {
		return fieldErrors(h.errorBlock(f, meta, err), casebot.ErrorMessage(err)), nil
	}
	files := formFiles(f, vals)
	if len(files) > 0 {
		if block, msg := h.checkFormFiles(files); msg != "" {
			return fieldErrors(block, msg), nil
		}
	}
	r, isNew := h.dedup.claim(key)
	if !isNew {
		return nil, nil
	}
	h.start(r, user, text, "")
	t := time.NewTimer(h.cfg.AckAfter)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		// Too slow for the form's answer: the reply, refusal or not,
		// is confirmed when it is ready.
		h.wg.Go(func() {
			<-r.done
			reply := r.reply
			if reply.Err == nil {
				reply = h.fileFormFiles(h.ctx, user, vals["ID"], files, reply)
			}
			h.confirm(user, meta, reply)
		})
		return nil, nil
	}
	if r.reply.Err != nil {
		return fieldErrors(h.errorBlock(f, meta, r.reply.Err), casebot.ErrorMessage(r.reply.Err)), nil
	}
	reply := r.reply
	h.wg.Go(func() { h.confirm(user, meta, h.fileFormFiles(h.ctx, user, vals["ID"], files, reply)) })
	return nil, nil
}

// confirm posts a form's reply where the form came from: ephemeral through
// the response_url Slack gave the slash command, button or message
// shortcut that opened it, else (a global shortcut, a Home button) by DM.
func (h *Handler) confirm(user string, meta formMeta, reply casebot.Reply) {
	if meta.Reply != "" {
		h.post(meta.Reply, replyMessages(reply, maxResponsePosts))
		return
	}
	h.replyDM(h.ctx, user, reply)
}

// errorBlock is the block at which a refusal shows: the field it names
// (casebot.FieldError) when the form shows that field, else the form's
// first field.
func (h *Handler) errorBlock(f casebot.Form, meta formMeta, err error) string {
	var fe *casebot.FieldError
	if errors.As(err, &fe) {
		if fl, ok := f.Field(fe.Field); ok && !(fl.Kind == casebot.FieldCase && meta.Case != "") {
			return fl.Name
		}
	}
	return firstBlock(f, meta)
}

// firstBlock is the block ID of the form's first input.
func firstBlock(f casebot.Form, meta formMeta) string {
	for _, fl := range f.Fields {
		if fl.Kind == casebot.FieldCase && meta.Case != "" {
			continue
		}
		return fl.Name
	}
	return ""
}

func fieldErrors(block, msg string) *slack.ViewSubmissionResponse {
	return &slack.ViewSubmissionResponse{ResponseAction: slack.RAErrors, Errors: map[string]string{block: cutRunes(msg, maxFieldError)}}
}

// suggestions answers a block_suggestion of a form's case select: the
// user's open cases whose ID or title holds what they typed.
func (h *Handler) suggestions(ctx context.Context, cb slack.InteractionCallback) (any, *httpError) {
	type option struct {
		Text  *slack.TextBlockObject `json:"text"`
		Value string                 `json:"value"`
	}
	out := struct {
		Options []option `json:"options"`
	}{Options: []option{}}
	if h.cfg.Home == nil {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cases, err := h.cfg.Home.svc.OpenCases(ctx, cb.User.ID, cb.Value, maxOptions)
	if err != nil {
		h.log.Error("slack: case suggestions failed", slog.String("user", cb.User.ID), slog.Any("error", err))
		return out, nil
	}
	for _, c := range cases {
		out.Options = append(out.Options, option{Text: plain(c.ID+" "+oneLine(c.Title, 60), 75), Value: c.ID})
	}
	return out, nil
}
