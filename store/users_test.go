package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/casebot/casebot"
)

func TestUsersCache(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openAt(t, path, clk, Options{})

	if _, ok, err := db.User(ctx, "U1"); err != nil || ok {
		t.Fatalf("User on empty store = ok %v, err %v; want false, nil", ok, err)
	}
	want := casebot.UserInfo{ID: "U1", Name: "ana", RealName: "Ana Lima", TZ: "America/Sao_Paulo", Fetched: clk.Now()}
	if err := db.PutUser(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(ctx, casebot.UserInfo{}); err == nil {
		t.Error("PutUser without ID succeeded")
	}
	want.TZ = "Europe/Lisbon"
	want.Fetched = want.Fetched.Add(24 * time.Hour)
	if err := db.PutUser(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openAt(t, path, clk, Options{})
	got, ok, err := db.User(ctx, "U1")
	if err != nil || !ok {
		t.Fatalf("User after reopen = ok %v, err %v", ok, err)
	}
	if got.TZ != want.TZ || got.RealName != want.RealName || !got.Fetched.Equal(want.Fetched) {
		t.Errorf("User = %+v, want %+v", got, want)
	}
}
