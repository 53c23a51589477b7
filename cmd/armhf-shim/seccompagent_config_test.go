package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/config"
)

// TestAgentSocketMalformedConfig: a config file the runtime wrapper cannot
// read is an error naming it, not a silent fall back to the default
// socket (where the wrapper, refusing that file, does not look); other
// install targets do not read it.
func TestAgentSocketMalformedConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "config.json")
	if err := os.WriteFile(bad, []byte("{\"uname\": {\"seccompAgent\": \"/run/x.sock\",}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.EnvPath, bad)
	unit := filepath.Join(dir, "system", "x.socket")
	var out bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run([]string{"armhf-shim", "install", "seccomp-agent", "--config", unit, "--binary", "/opt/bin/armhf-shim", "--dry-run"})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("install seccomp-agent with a malformed %s: err = %v, want one naming the file and the problem\n%s", bad, err, out.String())
	}
	if strings.Contains(out.String(), "ListenStream=") {
		t.Errorf("install planned a socket unit anyway:\n%s", out.String())
	}

	// The docker target does not read the wrapper's config.
	cfg := filepath.Join(dir, "daemon.json")
	os.WriteFile(cfg, []byte("{}\n"), 0o644)
	out.Reset()
	app = newApp()
	app.Writer, app.ErrWriter = &out, &out
	if err := app.Run([]string{"armhf-shim", "install", "docker", "--config", cfg, "--binary", "/opt/bin/armhf-shim", "--dry-run"}); err != nil {
		t.Errorf("install docker with a malformed wrapper config: %v\n%s", err, out.String())
	}
}
