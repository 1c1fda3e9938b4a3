package slackbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/casebot/casebot"
	"github.com/slack-go/slack"
)

// UserStore caches user profiles (store.DB implements it).
type UserStore interface {
	// User returns the cached profile and whether there is one.
	User(ctx context.Context, id string) (casebot.UserInfo, bool, error)
	// PutUser stores or replaces a profile.
	PutUser(ctx context.Context, u casebot.UserInfo) error
}

// UserDirectory knows each mediator's time zone and name from Slack
// users.info. Lookups never wait on Slack: they answer from memory or the
// store, and unknown or stale users are fetched by Run in the background.
type UserDirectory struct {
	client *slack.Client
	store  UserStore
	log    *slog.Logger
	now    func() time.Time
	maxAge time.Duration

	mu    sync.Mutex
	users map[string]casebot.UserInfo // what we know (possibly stale)
	locs  map[string]*time.Location   // zone name -> location
	want  map[string]struct{}         // users to fetch or refresh
	kick  chan struct{}
}

// NewUserDirectory returns a directory fetching with client (nil: never
// fetch, answer from the store only) and caching in store. now may be nil.
func NewUserDirectory(client *slack.Client, store UserStore, logger *slog.Logger, now func() time.Time) *UserDirectory {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &UserDirectory{
		client: client, store: store, log: logger, now: now, maxAge: 24 * time.Hour,
		users: map[string]casebot.UserInfo{}, locs: map[string]*time.Location{},
		want: map[string]struct{}{}, kick: make(chan struct{}, 1),
	}
}

// Info returns what is known of a user without waiting on Slack; false
// when nothing is. An unknown or stale user is queued for a fetch.
func (d *UserDirectory) Info(userID string) (casebot.UserInfo, bool) {
	if userID == "" {
		return casebot.UserInfo{}, false
	}
	d.mu.Lock()
	u, ok := d.users[userID]
	d.mu.Unlock()
	if !ok && d.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		su, found, err := d.store.User(ctx, userID)
		cancel()
		if err != nil {
			d.log.Warn("users: read cache", slog.String("user", userID), slog.Any("error", err))
		} else if found {
			u, ok = su, true
			d.mu.Lock()
			d.users[userID] = su
			d.mu.Unlock()
		}
	}
	if !ok || d.now().Sub(u.Fetched) > d.maxAge {
		d.Watch(userID)
	}
	return u, ok
}

// Location returns the user's time zone, or nil when it is not known (the
// caller then uses the configured default). It fits bot.Config.Location.
func (d *UserDirectory) Location(userID string) *time.Location {
	u, ok := d.Info(userID)
	if !ok || u.TZ == "" {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if loc, ok := d.locs[u.TZ]; ok {
		return loc
	}
	loc, err := time.LoadLocation(u.TZ)
	if err != nil {
		d.log.Warn("users: unknown time zone", slog.String("user", userID), slog.String("tz", u.TZ))
		loc = nil
	}
	d.locs[u.TZ] = loc
	return loc
}

// Name returns the user's display name, or the ID when unknown.
func (d *UserDirectory) Name(userID string) string {
	u, ok := d.Info(userID)
	if !ok {
		return userID
	}
	return u.Label()
}

// Watch queues users for a fetch and wakes Run.
func (d *UserDirectory) Watch(userIDs ...string) {
	d.mu.Lock()
	for _, id := range userIDs {
		if id != "" {
			d.want[id] = struct{}{}
		}
	}
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Refresh fetches one user from users.info and caches the profile.
func (d *UserDirectory) Refresh(ctx context.Context, userID string) (casebot.UserInfo, error) {
	if d.client == nil {
		return casebot.UserInfo{}, fmt.Errorf("users: refresh %s: slack is off", userID)
	}
	su, err := d.client.GetUserInfoContext(ctx, userID)
	if err != nil {
		return casebot.UserInfo{}, fmt.Errorf("users: users.info %s: %w", userID, classify("users.info", err))
	}
	u := casebot.UserInfo{
		ID: su.ID, Name: su.Name, RealName: su.RealName, DisplayName: su.Profile.DisplayName,
		TZ: su.TZ, Fetched: d.now(),
	}
	if u.ID == "" {
		u.ID = userID
	}
	if d.store != nil {
		if err := d.store.PutUser(ctx, u); err != nil {
			return u, fmt.Errorf("users: cache %s: %w", userID, err)
		}
	}
	d.mu.Lock()
	d.users[userID] = u
	d.mu.Unlock()
	return u, nil
}

// Run fetches queued users and re-queues known ones once their profile is
// a day old, until ctx ends; it returns nil then. Failed fetches are
// retried on the next round (at most every interval, 1 min when zero).
func (d *UserDirectory) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d.refreshDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-d.kick:
		case <-t.C:
			d.mu.Lock()
			for id, u := range d.users {
				if d.now().Sub(u.Fetched) > d.maxAge {
					d.want[id] = struct{}{}
				}
			}
			d.mu.Unlock()
		}
	}
}

func (d *UserDirectory) refreshDue(ctx context.Context) {
	if d.client == nil {
		return
	}
	d.mu.Lock()
	ids := make([]string, 0, len(d.want))
	for id := range d.want {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if _, err := d.Refresh(ctx, id); err != nil {
			d.log.Warn("users: refresh failed", slog.String("user", id), slog.Any("error", err))
			if !isPermanent(err) {
				continue // stays wanted; next round tries again
			}
		}
		d.mu.Lock()
		delete(d.want, id)
		d.mu.Unlock()
	}
}

func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
