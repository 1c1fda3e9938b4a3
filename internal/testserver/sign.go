package testserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Team is the workspace the fake Slack's auth.test reports and SlashForm
// sends commands from.
const Team = "T1"

// SlackSignature returns the v0 signature ("v0=<hex>") Slack would send
// for body at ts, computed without copying body.
func SlackSignature(secret string, ts time.Time, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(mac, "v0:"+strconv.FormatInt(ts.Unix(), 10)+":")
	_, _ = io.WriteString(mac, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignSlack returns the headers of a form POST signed at ts, as Slack sends
// them: Content-Type, X-Slack-Request-Timestamp and X-Slack-Signature.
func SignSlack(secret string, ts time.Time, body string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("X-Slack-Signature", SlackSignature(secret, ts, body))
	return h
}

// SlashForm returns the form of a /case slash command typed by user in
// workspace Team. triggerID should be unique per command (the daemon
// de-duplicates on it); responseURL is where late answers go.
func SlashForm(user, text, triggerID, responseURL string) url.Values {
	return url.Values{"command": {"/case"}, "text": {text}, "user_id": {user}, "team_id": {Team},
		"trigger_id": {triggerID}, "response_url": {responseURL}}
}
