package casebot

import "time"

// UserInfo is what casebot knows of a Slack user: the display name and time
// zone from users.info, cached in the store and refreshed daily.
type UserInfo struct {
	ID          string
	Name        string // the handle (user.name)
	RealName    string
	DisplayName string
	TZ          string // IANA zone name, e.g. "Europe/Berlin"; "" when unknown
	Fetched     time.Time
}

// Label returns the best name to show for the user.
func (u UserInfo) Label() string {
	switch {
	case u.DisplayName != "":
		return u.DisplayName
	case u.RealName != "":
		return u.RealName
	case u.Name != "":
		return u.Name
	}
	return u.ID
}
