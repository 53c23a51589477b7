package setup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

// TestApplyAll: one action per daemon, the strongest wins, a drop-in asks
// for daemon-reload first; restarts only with --restart; a reload always.
func TestApplyAll(t *testing.T) {
	svc := Daemon{Pid: 10, Config: "/etc/docker/daemon.json", Unit: "docker.service"}
	steps := Detect(Facts{Systemd: true, Dockerd: Engine{Running: []Daemon{svc}}, Podman: "/usr/bin/podman",
		Containerd: Engine{Running: []Daemon{{Pid: 21, Config: "/etc/containerd/config.toml", Parent: "systemd"}}}}).Steps
	for _, c := range []struct {
		restart bool
		want    []string
		pending []string
	}{
		{false, []string{
			"setup: would run systemctl daemon-reload",
			"setup: would run systemctl reload docker.service",
			"setup: dockerd needs a restart to pick this up: systemctl restart docker.service (or run setup --restart)",
			"setup: containerd (pid 21) needs a restart to pick this up and is not a systemd service",
		}, []string{"docker.service", "containerd (pid 21)"}},
		{true, []string{
			"setup: would run systemctl daemon-reload",
			"setup: would run systemctl restart docker.service",
			"setup: containerd (pid 21) needs a restart to pick this up and is not a systemd service, which --restart cannot restart: stop it",
		}, []string{"containerd (pid 21)"}},
	} {
		var out bytes.Buffer
		pending, _ := Options{DryRun: true, Restart: c.restart, Out: &out, Systemctl: "systemctl"}.applyAll(steps)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != len(c.want) {
			t.Fatalf("restart=%v:\n%s", c.restart, out.String())
		}
		for i, w := range c.want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("restart=%v: line %d %q, want %q", c.restart, i, lines[i], w)
			}
		}
		if strings.Join(pending, ",") != strings.Join(c.pending, ",") {
			t.Errorf("restart=%v: pending %q, want %q", c.restart, pending, c.pending)
		}
	}
	// A reload alone (dockerd not a service): SIGHUP, nothing pending.
	var out bytes.Buffer
	pending, _ := Options{DryRun: true, Out: &out}.applyAll(Detect(Facts{Dockerd: Engine{Running: []Daemon{{Pid: 7, Config: "/x.json"}}}}).Steps)
	if len(pending) != 0 || !strings.Contains(out.String(), "would send SIGHUP to dockerd (pid 7)") {
		t.Errorf("pending %q:\n%s", pending, out.String())
	}
}

func TestFlagValue(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"containerd"}, ""},
		{[]string{"containerd", "--config", "/a.toml"}, "/a.toml"},
		{[]string{"containerd", "-c", "b.toml", "--log-level", "debug"}, "b.toml"},
		{[]string{"containerd", "--config=/c.toml"}, "/c.toml"},
		{[]string{"containerd", "--config"}, ""},
		// Repeated: the last, as containerd reads it (setup edited the first).
		{[]string{"containerd", "-c", "/a.toml", "--config=/b.toml"}, "/b.toml"},
		{[]string{"containerd", "--config", "/a.toml", "-c", "/b.toml"}, "/b.toml"},
	} {
		if got := flagValue(c.argv, "--config", "-c"); got != c.want {
			t.Errorf("%q: %q, want %q", c.argv, got, c.want)
		}
	}
}

// TestSetupRealDockerd: setup against a real dockerd reading a scratch
// daemon.json (the facts gathered from this host, narrowed to that daemon:
// other tests' daemons run beside it). The runtime is registered, dockerd
// reloads it (SIGHUP) and runs with it, doctor says the route works; a
// second setup changes nothing; --undo gives back the file's bytes and
// says that dockerd needs a restart to drop the runtime.
func TestSetupRealDockerd(t *testing.T) {
	d := testenv.StartDockerd(t, testenv.DockerdOptions{DaemonJSON: map[string]any{"log-level": "warn", "max-concurrent-downloads": 2}})
	cfg := filepath.Join(d.Root, "daemon.json")
	orig, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bindir := t.TempDir()
	shim := filepath.Join(bindir, "armhf-shim")
	b, err := os.ReadFile(testenv.BuildBinary(t, "./cmd/armhf-shim"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shim, b, 0o755); err != nil {
		t.Fatal(err)
	}

	facts := func() Facts {
		f := Gather(GatherOptions{BuildxDir: t.TempDir()})
		var mine []Daemon
		for _, p := range f.Dockerd.Running {
			if p.Pid == d.Pid {
				mine = append(mine, p)
			}
		}
		if len(mine) != 1 || mine[0].Config != cfg || mine[0].elsewhere() {
			t.Fatalf("gathered dockerds %+v: want pid %d reading %s", f.Dockerd.Running, d.Pid, cfg)
		}
		return Facts{Dockerd: Engine{Running: mine}}
	}
	state := filepath.Join(t.TempDir(), "setup.json")
	opts := func(out *bytes.Buffer) Options {
		return Options{State: state, Binary: shim, Out: out, Doctor: doctor.Options{BuildkitDropIn: filepath.Join(bindir, "none.conf")}}
	}

	var out bytes.Buffer
	o := opts(&out)
	o.DryRun = true
	if code, err := Run(o, facts()); err != nil || code != 0 {
		t.Fatalf("dry run: %d %v\n%s", code, err, out.String())
	}
	if now, _ := os.ReadFile(cfg); !bytes.Equal(now, orig) {
		t.Fatalf("dry run changed %s", cfg)
	}
	if _, err := os.Stat(state); err == nil {
		t.Fatalf("dry run wrote %s", state)
	}
	if !strings.Contains(out.String(), "would send SIGHUP to dockerd (pid") {
		t.Errorf("dry run:\n%s", out.String())
	}

	out.Reset()
	code, err := Run(opts(&out), facts())
	if err != nil || code != 0 {
		t.Fatalf("setup: %d %v\n%s\ndockerd log:\n%s", code, err, out.String(), d.LogTail(20))
	}
	if !strings.Contains(out.String(), "setup: route docker works") {
		t.Errorf("setup:\n%s", out.String())
	}
	info, _, err := d.Docker("info", "--format", "{{json .Runtimes}}")
	if err != nil || !strings.Contains(info, `"armhf"`) {
		t.Fatalf("dockerd's runtimes after setup: %s %v", info, err)
	}
	rec, _ := os.ReadFile(state)
	if !strings.Contains(string(rec), `"target": "docker"`) || !strings.Contains(string(rec), cfg) {
		t.Errorf("record:\n%s", rec)
	}

	out.Reset()
	if code, err := Run(opts(&out), facts()); err != nil || code != 0 || !strings.Contains(out.String(), "setup: docker: already set up") {
		t.Fatalf("second setup: %d %v\n%s", code, err, out.String())
	}
	if rec2, _ := os.ReadFile(state); !bytes.Equal(rec, rec2) {
		t.Errorf("second setup changed the record:\n%s", rec2)
	}

	out.Reset()
	code, err = Undo(opts(&out), facts())
	if err != nil || code != 1 || !strings.Contains(out.String(), "needs a restart to pick this up and is not a systemd service") {
		t.Fatalf("undo: %d %v (want 1: dockerd keeps the runtime until restarted)\n%s", code, err, out.String())
	}
	if now, _ := os.ReadFile(cfg); !bytes.Equal(now, orig) {
		t.Fatalf("undo: %s is\n%s\nwant\n%s", cfg, now, orig)
	}
	for _, p := range []string{state, cfg + ".armhf-shim-state"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("undo left %s", p)
		}
	}
	// The armhf-runc link beside a binary that has no armhf-runc stays, as
	// after uninstall: any registration may run it.
	if l, err := os.Readlink(filepath.Join(bindir, "armhf-runc")); err != nil || l != shim {
		t.Errorf("armhf-runc link: %q %v", l, err)
	}
	out.Reset()
	if code, err := Undo(opts(&out), facts()); err != nil || code != 0 || !strings.Contains(out.String(), "nothing to undo") {
		t.Errorf("second undo: %d %v\n%s", code, err, out.String())
	}
}

// TestApplyAllRuns: without --dry-run the actions are run: systemctl
// (a stand-in recording its arguments) for services, daemon-reload first,
// a restart only with --restart; a failing systemctl leaves it pending.
func TestApplyAllRuns(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	systemctl := filepath.Join(dir, "systemctl")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\n[ \"$2\" != broken.service ]\n"
	if err := os.WriteFile(systemctl, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	svc := Daemon{Pid: 10, Config: "/etc/docker/daemon.json", Unit: "docker.service"}
	facts := Facts{Systemd: true, Dockerd: Engine{Running: []Daemon{svc}},
		Containerd: Engine{Running: []Daemon{{Pid: 21, Config: "/etc/containerd/config.toml", Unit: "broken.service"}}}}
	for _, c := range []struct {
		restart bool
		calls   string
		pending string
	}{
		{false, "daemon-reload\nreload docker.service", "docker.service,broken.service"},
		{true, "daemon-reload\nrestart docker.service\nrestart broken.service", "broken.service"},
	} {
		os.Remove(log)
		var out bytes.Buffer
		pending, acted := Options{Restart: c.restart, Out: &out, Systemctl: systemctl}.applyAll(Detect(facts).Steps)
		calls, _ := os.ReadFile(log)
		if strings.TrimSpace(string(calls)) != c.calls {
			t.Errorf("restart=%v: systemctl calls:\n%s\nwant:\n%s", c.restart, calls, c.calls)
		}
		if strings.Join(pending, ",") != c.pending || !acted {
			t.Errorf("restart=%v: pending %q acted %v\n%s", c.restart, pending, acted, out.String())
		}
	}
	// A docker.service reload alone: systemctl reload, nothing pending.
	os.Remove(log)
	var out bytes.Buffer
	steps := Detect(facts).Steps[:1] // the docker step
	pending, acted := Options{Out: &out, Systemctl: systemctl}.applyAll(steps)
	if calls, _ := os.ReadFile(log); strings.TrimSpace(string(calls)) != "reload docker.service" || len(pending) != 0 || !acted {
		t.Errorf("reload: calls %q pending %q acted %v\n%s", calls, pending, acted, out.String())
	}
}

// stateProbe is setup's output; when install reports a file written, it
// reads setup's record, as a setup killed at that moment would leave it.
type stateProbe struct {
	state    string
	out      bytes.Buffer
	recorded []string // the record at each "wrote" line
}

func (p *stateProbe) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte("wrote ")) {
		rec, _ := os.ReadFile(p.state)
		p.recorded = append(p.recorded, string(rec))
	}
	return p.out.Write(b)
}

// TestRunRecordsBeforeInstall: the step is in setup's record before
// install changes a file, so a setup killed right after install leaves
// what setup --undo needs; a step whose install fails leaves no record.
func TestRunRecordsBeforeInstall(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{\"log-level\": \"warn\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "bin", "armhf-shim")
	os.MkdirAll(filepath.Dir(shim), 0o755)
	if err := os.WriteFile(shim, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state", "setup.json")
	facts := Facts{Dockerd: Engine{Running: []Daemon{{Pid: 1 << 22, Config: cfg, Unit: "docker.service"}}}}
	probe := &stateProbe{state: state}
	o := Options{State: state, Binary: shim, Out: probe, Systemctl: "true",
		Doctor: doctor.Options{BuildkitDropIn: filepath.Join(dir, "none.conf")}}
	if _, err := Run(o, facts); err != nil {
		t.Fatalf("setup: %v\n%s", err, probe.out.String())
	}
	if len(probe.recorded) == 0 {
		t.Fatalf("install wrote nothing:\n%s", probe.out.String())
	}
	for _, rec := range probe.recorded {
		if !strings.Contains(rec, `"target": "docker"`) || !strings.Contains(rec, cfg) {
			t.Errorf("record when install had written a file:\n%q\nwant the docker step for %s", rec, cfg)
		}
	}

	// A step install refuses: no record of it.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state2 := filepath.Join(dir, "state2", "setup.json")
	o.State, o.Out = state2, &bytes.Buffer{}
	facts.Dockerd.Running[0].Config = bad
	if code, err := Run(o, facts); err != nil || code != 1 {
		t.Fatalf("setup over a malformed daemon.json: %d %v", code, err)
	}
	if rec, err := os.ReadFile(state2); err == nil {
		t.Errorf("a failed install left a record:\n%s", rec)
	}
}

// TestRunConcurrentInstallNotRecorded: an install run by someone else
// between setup's first look and install's lock is not setup's: setup
// --undo must not remove it, so setup does not record it.
func TestRunConcurrentInstallNotRecorded(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{\"log-level\": \"warn\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "bin", "armhf-shim")
	os.MkdirAll(filepath.Dir(shim), 0o755)
	if err := os.WriteFile(shim, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state", "setup.json")
	facts := Facts{Dockerd: Engine{Running: []Daemon{{Pid: 1 << 22, Config: cfg, Unit: "docker.service"}}}}
	out := &bytes.Buffer{}
	o := Options{State: state, Binary: shim, Out: out, Systemctl: "true",
		Doctor: doctor.Options{BuildkitDropIn: filepath.Join(dir, "none.conf")}}
	real := installRun
	t.Cleanup(func() { installRun = real })
	installRun = func(io install.Options) (bool, error) {
		// The user's own `armhf-shim install docker`, just before setup's.
		user := io
		user.BeforeChange, user.Out = nil, &bytes.Buffer{}
		if err := install.Run(user); err != nil {
			t.Fatalf("the user's install: %v", err)
		}
		return real(io)
	}
	if _, err := Run(o, facts); err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	if rec, err := os.ReadFile(state); err == nil && strings.Contains(string(rec), cfg) {
		t.Errorf("setup recorded the user's concurrent install as its own (setup --undo would remove it):\n%s", rec)
	}
	if !strings.Contains(out.String(), "docker: already set up") {
		t.Errorf("setup does not say docker was already set up:\n%s", out.String())
	}
}

// TestRunPartialInstallNotClaimed: a target the user had partly installed
// (their runtime entry in daemon.json, the armhf-runc link gone) is
// completed but not recorded: setup --undo must not remove the user's
// part with setup's.
func TestRunPartialInstallNotClaimed(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{\"log-level\": \"warn\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "bin", "armhf-shim")
	os.MkdirAll(filepath.Dir(shim), 0o755)
	if err := os.WriteFile(shim, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The user's own install, then its runc link removed.
	if err := install.Run(install.Options{Target: "docker", Config: cfg, Binary: shim, Out: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	users, _ := os.ReadFile(cfg)
	link := filepath.Join(dir, "bin", install.RuntimeLinkName)
	if err := os.Remove(link); err != nil {
		t.Fatalf("the user's install made no %s to remove: %v", link, err)
	}
	state := filepath.Join(dir, "state", "setup.json")
	facts := Facts{Dockerd: Engine{Running: []Daemon{{Pid: 1 << 22, Config: cfg, Unit: "docker.service"}}}}
	out := &bytes.Buffer{}
	o := Options{State: state, Binary: shim, Out: out, Systemctl: "true",
		Doctor: doctor.Options{BuildkitDropIn: filepath.Join(dir, "none.conf")}}
	if _, err := Run(o, facts); err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("setup did not complete the install (%v):\n%s", err, out.String())
	}
	if rec, err := os.ReadFile(state); err == nil && strings.Contains(string(rec), cfg) {
		t.Errorf("setup claimed the user's partly installed docker target (setup --undo would remove the user's runtime entry):\n%s", rec)
	}
	if !strings.Contains(out.String(), "setup --undo leaves it") {
		t.Errorf("setup does not say --undo leaves the target:\n%s", out.String())
	}
	o.Out = &bytes.Buffer{}
	if _, err := Undo(o, facts); err != nil {
		t.Fatalf("setup --undo: %v", err)
	}
	if b, _ := os.ReadFile(cfg); string(b) != string(users) {
		t.Errorf("setup --undo changed the user's daemon.json:\n%s\nwant\n%s", b, users)
	}
}

// TestUndoLeavesNoStateDir: setup makes the record's directory
// (/var/lib/armhf-shim), so the undo of its last step removes it, and a
// setup that records nothing leaves none: after setup --undo and dpkg -P
// nothing of armhf-shim is left on the host.
func TestUndoLeavesNoStateDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{\"log-level\": \"warn\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "bin", "armhf-shim")
	os.MkdirAll(filepath.Dir(shim), 0o755)
	for _, b := range []string{shim, filepath.Join(dir, "bin", install.RuntimeLinkName)} {
		if err := os.WriteFile(b, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stateDir := filepath.Join(dir, "var", "armhf-shim")
	state := filepath.Join(stateDir, "setup.json")
	facts := Facts{Dockerd: Engine{Running: []Daemon{{Pid: 1 << 22, Config: cfg, Unit: "docker.service"}}}}
	out := &bytes.Buffer{}
	o := Options{State: state, Binary: shim, Out: out, Systemctl: "true",
		Doctor: doctor.Options{BuildkitDropIn: filepath.Join(dir, "none.conf")}}
	if _, err := Run(o, facts); err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("setup recorded nothing (%v):\n%s", err, out.String())
	}
	if _, err := Undo(o, facts); err != nil {
		t.Fatalf("setup --undo: %v\n%s", err, out.String())
	}
	if _, err := os.Lstat(stateDir); err == nil {
		t.Errorf("setup --undo left %s", stateDir)
	}
	if _, err := Undo(o, facts); err != nil {
		t.Fatalf("second setup --undo: %v", err)
	}
	if _, err := os.Lstat(stateDir); err == nil {
		t.Errorf("a setup --undo with nothing to undo left %s", stateDir)
	}
	// Installed by the user: setup changes nothing, records nothing.
	if err := install.Run(install.Options{Target: "docker", Config: cfg, Binary: shim, Out: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := Run(o, facts); err != nil || !strings.Contains(out.String(), "docker: already set up") {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	if _, err := os.Lstat(stateDir); err == nil {
		t.Errorf("a setup that recorded nothing left %s", stateDir)
	}
}

// TestRestartAfterSetup: setup leaves a containerd restart to the user and
// says "or run setup --restart"; that second run finds everything already
// set up, and must still restart the containerd that has not read its
// config (doctor, from a /proc where it started long before).
func TestRestartAfterSetup(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("version = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "bin", "armhf-shim")
	ctd := filepath.Join(dir, "bin", "containerd")
	os.MkdirAll(filepath.Dir(shim), 0o755)
	os.WriteFile(shim, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", install.RuntimeLinkName), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(ctd, []byte("#!/bin/sh\necho containerd github.com/containerd/containerd v2.1.4 abc\n"), 0o755)
	// A /proc with systemd and containerd.service reading cfg, started at boot, long ago.
	proc := filepath.Join(dir, "proc")
	add := func(pid, comm, cmdline, cgroup string) {
		d := filepath.Join(proc, pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "comm"), []byte(comm+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte(strings.ReplaceAll(cmdline, " ", "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "cgroup"), []byte(cgroup+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "stat"), []byte(pid+" ("+comm+") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"), 0o644)
	}
	add("1", "systemd", "/sbin/init", "0::/init.scope")
	add("4242", "containerd", ctd+" --config "+cfg, "0::/system.slice/containerd.service")
	os.WriteFile(filepath.Join(proc, "stat"), []byte("cpu 0 0 0 0\nbtime 1000000000\n"), 0o644)

	log := filepath.Join(dir, "calls")
	systemctl := filepath.Join(dir, "systemctl")
	os.WriteFile(systemctl, []byte("#!/bin/sh\necho \"$*\" >> "+log+"\n"), 0o755)
	facts := Facts{Systemd: true, Containerd: Engine{Binary: ctd, Running: []Daemon{{Pid: 4242, Config: cfg, Unit: "containerd.service", Binary: ctd}}}}
	out := &bytes.Buffer{}
	o := Options{State: filepath.Join(dir, "state", "setup.json"), Binary: shim, Out: out, Systemctl: systemctl,
		Doctor: doctor.Options{Proc: proc, BuildkitDropIn: filepath.Join(dir, "none.conf")}}
	if code, err := Run(o, facts); err != nil || code != 1 || !strings.Contains(out.String(), "or run setup --restart") {
		t.Fatalf("setup: %d %v (want 1: containerd not restarted)\n%s", code, err, out.String())
	}
	if calls, _ := os.ReadFile(log); len(calls) != 0 {
		t.Errorf("setup without --restart ran systemctl %s", calls)
	}
	out.Reset()
	o.Restart = true
	Run(o, facts)
	if calls, _ := os.ReadFile(log); strings.TrimSpace(string(calls)) != "restart containerd.service" {
		t.Errorf("setup --restart after setup: systemctl calls %q, want a restart of containerd.service\n%s", calls, out.String())
	}
}
