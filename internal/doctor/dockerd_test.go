package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// judgeNow gathers the docker and buildkit facts of a private dockerd
// reading cfg and judges them.
func judgeNow(cfg, dropIn string) (docker, buildkit Route) {
	o := Options{DaemonJSON: cfg, BuildkitDropIn: dropIn}
	o.defaults()
	h := newHost(o)
	f := h.dockerFacts()
	return JudgeDocker(f), JudgeBuildkit(h.buildkitFacts(f.Daemons))
}

// Against a real dockerd: daemon.json registers the runtime but the
// running daemon has not reloaded it (installed, not active); after
// SIGHUP it has (active); after the entry is removed and no restart, the
// daemon still runs with it (active, not installed). BuildKit is judged by
// the running dockerd's PATH, with or without a drop-in.
func TestRoutesFromARunningDockerd(t *testing.T) {
	bin := t.TempDir()
	runtime := filepath.Join(bin, "armhf-runc") // armhf-shim's name, running the real runc (dockerd asks runc --version through PATH)
	if err := os.WriteFile(runtime, []byte("#!/bin/sh\nexec /usr/sbin/runc \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	linkDir := filepath.Join(bin, "buildkit")
	os.MkdirAll(linkDir, 0o755)
	os.Symlink(runtime, filepath.Join(linkDir, "runc"))
	d := testenv.StartDockerd(t, testenv.DockerdOptions{PathPrepend: []string{linkDir}})
	cfg := filepath.Join(d.Root, "daemon.json")
	noDropIn := filepath.Join(bin, "no-drop-in.conf")

	docker, buildkit := judgeNow(cfg, noDropIn)
	if docker.Installed || docker.Active || len(docker.Problems) != 0 {
		t.Errorf("before install: %+v", docker)
	}
	if !buildkit.Active || buildkit.Installed {
		t.Errorf("dockerd's PATH starts with a runc link to armhf-runc, no drop-in: %+v", buildkit)
	}

	if err := os.WriteFile(cfg, []byte(`{"runtimes": {"armhf": {"path": "`+runtime+`"}}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	docker, _ = judgeNow(cfg, noDropIn)
	if !docker.Installed || docker.Active || len(docker.Problems) != 1 || !strings.Contains(docker.Problems[0], "has not loaded it") {
		t.Errorf("daemon.json edited, dockerd not reloaded: want installed, not active: %+v", docker)
	}

	syscall.Kill(d.Pid, syscall.SIGHUP)
	waitFor(t, func() bool { docker, _ = judgeNow(cfg, noDropIn); return docker.Active })
	if !docker.Installed || len(docker.Problems) != 0 || !strings.Contains(docker.Detail, "runs with runtime(s) armhf") {
		t.Errorf("after SIGHUP: %+v", docker)
	}

	// Uninstalled by hand, dockerd not restarted.
	os.WriteFile(cfg, []byte("{}\n"), 0o644)
	docker, _ = judgeNow(cfg, noDropIn)
	if docker.Installed || !docker.Active || len(docker.Problems) != 1 || !strings.Contains(docker.Problems[0], "no longer registers") {
		t.Errorf("entry removed, dockerd not restarted: want active, not installed: %+v", docker)
	}

	// Another daemon.json: no dockerd reads it.
	other := filepath.Join(bin, "daemon.json")
	os.WriteFile(other, []byte(`{"runtimes": {"armhf": {"path": "`+runtime+`"}}}`), 0o644)
	docker, _ = judgeNow(other, noDropIn)
	if !docker.Installed || docker.Active || !strings.Contains(docker.Detail, "no running dockerd reads "+other) {
		t.Errorf("--daemon-json of no running dockerd: %+v", docker)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 20s")
}
