package main

import (
	"os"
	"strings"
	"testing"

	"github.com/casebot/casebot/config"
)

// TestDeployFiles keeps the shipped deployment files loadable and hardened.
func TestDeployFiles(t *testing.T) {
	cfg, err := config.Load("../../deploy/docker.toml", func(string) string { return "" })
	if err != nil {
		t.Fatalf("deploy/docker.toml: %v", err)
	}
	if cfg.Store.Path != "/data/casebot.db" {
		t.Errorf("docker store path = %q, want the /data volume", cfg.Store.Path)
	}
	unit, err := os.ReadFile("../../deploy/casebot.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=casebot", "NoNewPrivileges=yes", "ExecStart=/usr/local/bin/casebot serve"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("deploy/casebot.service lacks %q", want)
		}
	}
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "USER 65532", "AS build"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
