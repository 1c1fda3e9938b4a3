package slackbot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// NewClient returns the Slack Web API client for a bot token, with the
// app-level token for Socket Mode when appToken is set, talking to apiURL
// instead of Slack when it is set (tests, Enterprise proxies; it must end
// with a slash).
func NewClient(botToken, appToken, apiURL string) *slack.Client {
	var opts []slack.Option
	if apiURL != "" {
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	if appToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(appToken))
	}
	return slack.New(botToken, opts...)
}

// TeamID asks Slack (auth.test) which workspace the bot token belongs to,
// so requests from any other workspace can be refused.
func TeamID(ctx context.Context, client *slack.Client) (string, error) {
	r, err := client.AuthTestContext(ctx)
	if err != nil {
		return "", fmt.Errorf("slackbot: auth.test: %w", err)
	}
	return r.TeamID, nil
}
