package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// bucketUsers caches Slack profiles: user ID -> JSON casebot.UserInfo. It is
// created on first write, so stores from before it need no migration.
var bucketUsers = []byte("users")

// User returns the cached profile of a Slack user and whether there is one.
func (db *DB) User(ctx context.Context, id string) (casebot.UserInfo, bool, error) {
	var u casebot.UserInfo
	var ok bool
	err := db.view(ctx, func(tx kv.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &u)
	})
	if err != nil {
		return casebot.UserInfo{}, false, fmt.Errorf("store: user %s: %w", id, err)
	}
	return u, ok, nil
}

// PutUser stores or replaces the cached profile of a Slack user.
func (db *DB) PutUser(ctx context.Context, u casebot.UserInfo) error {
	if u.ID == "" {
		return fmt.Errorf("store: put user: %w", casebot.Errorf(casebot.EINVALID, "user without ID"))
	}
	v, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("store: put user %s: %w", u.ID, err)
	}
	err = db.batch(ctx, func(tx kv.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketUsers)
		if err != nil {
			return err
		}
		return b.Put([]byte(u.ID), v)
	})
	if err != nil {
		return fmt.Errorf("store: put user %s: %w", u.ID, err)
	}
	return nil
}
