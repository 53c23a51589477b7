package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// dockerInfo asks a test daemon one field of docker info.
func dockerInfo(t *testing.T, d *testenv.Dockerd, format string) string {
	t.Helper()
	out, stderr, err := d.Docker("info", "--format", format)
	if err != nil {
		t.Fatalf("docker info: %v: %s", err, stderr)
	}
	return strings.TrimSpace(out)
}

// waitInfo waits until docker info's field is want (dockerd reloads
// asynchronously after SIGHUP), returning what it last saw.
func waitInfo(t *testing.T, d *testenv.Dockerd, format, want string) string {
	t.Helper()
	var got string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got = dockerInfo(t, d, format); got == want {
			break
		}
	}
	return got
}

// fakeProc is a /proc with systemd as pid 1, the packaged dockerd (pid
// 100, docker.service, Docker 20.10) and a second one started by hand
// (pid 200, --config-file cfg32, Docker 24), plus a containerd.
func fakeProc(t *testing.T, cfg32 string) string {
	root := t.TempDir()
	proc := func(pid, comm, cmdline, cgroup, version string) {
		dir := filepath.Join(root, pid)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.ReplaceAll(cmdline, " ", "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroup+"\n"), 0o644)
		exe := filepath.Join(dir, "dockerd-binary")
		os.WriteFile(exe, []byte("#!/bin/sh\necho '"+version+"'\n"), 0o755)
		os.Symlink(exe, filepath.Join(dir, "exe"))
		os.Symlink("/", filepath.Join(dir, "cwd"))
	}
	os.MkdirAll(filepath.Join(root, "1"), 0o755)
	os.WriteFile(filepath.Join(root, "1", "comm"), []byte("systemd\n"), 0o644)
	proc("100", "dockerd", "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock", "0::/system.slice/docker.service", "Docker version 20.10.24+dfsg1, build 5d6db84")
	proc("200", "dockerd", "dockerd --config-file "+cfg32+" -H unix:///run/d32.sock", "0::/user.slice/user-0.slice/session-3.scope", "Docker version 24.0.7, build afdd53b")
	proc("300", "containerd", "containerd", "0::/system.slice/containerd.service", "containerd v1.6.20")
	return root
}

// Issue 17.7: the hints name the one dockerd that reads the file (its
// service, or its pid), ask for a restart where a SIGHUP does not apply
// the change, and mention --annotation only on a Docker that has it.
func TestApplyHints(t *testing.T) {
	dir, bin := setup(t)
	cfg32 := filepath.Join(dir, "d32.json")
	proc := fakeProc(t, cfg32)
	po := &Options{procRoot: proc}
	ds := append(po.dockerdsReading(DefaultDockerConfig), po.dockerdsReading(cfg32)...)
	if len(ds) != 2 || ds[0].Unit != "docker.service" || ds[0].Major != 20 || ds[0].ConfigFile != DefaultDockerConfig ||
		ds[1].Unit != "" || ds[1].Major != 24 || ds[1].ConfigFile != cfg32 {
		t.Fatalf("dockerds: %+v", ds)
	}
	for _, c := range []struct {
		path    string
		restart bool
		want    string
	}{
		{DefaultDockerConfig, false, "systemctl reload docker "},
		{DefaultDockerConfig, true, "systemctl restart docker "},
		{cfg32, false, "kill -HUP 200 "},
		{cfg32, true, "restart the dockerd with pid 200 "},
		{filepath.Join(dir, "other.json"), true, "nothing now: no running dockerd reads"},
	} {
		var readers []dockerDaemon
		for _, d := range ds {
			if fsutil.SameFile(d.ConfigFile, c.path) {
				readers = append(readers, d)
			}
		}
		got := applyHints(c.path, readers, dockerChange{any: true, restart: c.restart})
		if len(got) != 1 || !strings.HasPrefix(got[0], c.want) {
			t.Errorf("%s (restart %v): %q, want %q...", c.path, c.restart, got, c.want)
		}
	}
	if n := runNote("armhf", 20, false); strings.Contains(n, "--annotation") {
		t.Errorf("Docker 20.10 has no docker run --annotation: %s", n)
	}
	if n := runNote("armhf", 20, true); strings.Contains(n, "--runtime") || !strings.Contains(n, "default runtime") {
		t.Errorf("as the default runtime, the note still asks for --runtime: %q", n)
	}
	if n := runNote("armhf", 24, false); !strings.Contains(n, "--annotation io.armhf-shim.enable=true") {
		t.Errorf("Docker 24: %s", n)
	}

	// Through Run: runtimes only (a reload), then a default (a restart).
	os.WriteFile(cfg32, []byte("{\n  \"runtimes\": {}\n}\n"), 0o644)
	o := Options{Target: "docker", Config: cfg32, Binary: bin, procRoot: proc}
	out := run(t, o)
	if !strings.Contains(out, "to apply: kill -HUP 200 ") || strings.Contains(out, "pidof") || !strings.Contains(out, "--annotation") {
		t.Errorf("install:\n%s", out)
	}
	o.SetAsDefault = true
	if out := run(t, o); !strings.Contains(out, "to apply: restart the dockerd with pid 200 ") {
		t.Errorf("install --set-as-default:\n%s", out)
	}
}

// Issue 17.7 with Debian's dockerd: the hints are what this daemon needs.
// A SIGHUP applies a runtime added; after an uninstall that removes the
// default-runtime and runtimes keys, the SIGHUP install used to advise
// leaves dockerd on the old default, and the hint says restart.
func TestApplyHintsRealDockerd(t *testing.T) {
	testenv.SkipShort(t, "dockerd")
	d := testenv.StartDockerd(t, testenv.DockerdOptions{})
	cfg := filepath.Join(d.Root, "daemon.json")
	_, bin := setup(t)
	o := Options{Target: "docker", Config: cfg, Binary: bin}
	out := run(t, o)
	hup := fmt.Sprintf("to apply: kill -HUP %d ", d.Pid)
	if !strings.Contains(out, hup) {
		t.Fatalf("install: want %q in\n%s", hup, out)
	}
	if strings.Contains(out, "--annotation") {
		t.Errorf("the --annotation hint on Docker 20.10 (API 1.41), which has no docker run --annotation:\n%s", out)
	}
	syscall.Kill(d.Pid, syscall.SIGHUP)
	if got := waitInfo(t, d, "{{index .Runtimes \"armhf\"}}", "{"+filepath.Join(filepath.Dir(bin), "armhf-runc")+" []}"); !strings.Contains(got, "armhf-runc") {
		t.Errorf("after the hinted SIGHUP, dockerd has no runtime armhf: %q", got)
	}

	o.SetAsDefault = true
	restart := fmt.Sprintf("to apply: restart the dockerd with pid %d ", d.Pid)
	if out := run(t, o); !strings.Contains(out, restart) {
		t.Errorf("install --set-as-default: want %q in\n%s", restart, out)
	}
	syscall.Kill(d.Pid, syscall.SIGHUP)
	waitInfo(t, d, "{{.DefaultRuntime}}", "armhf")

	un := o
	un.Uninstall = true
	if out := run(t, un); !strings.Contains(out, restart) {
		t.Errorf("uninstall: want %q in\n%s", restart, out)
	}
	// Why not a SIGHUP: this dockerd keeps the removed default.
	syscall.Kill(d.Pid, syscall.SIGHUP)
	time.Sleep(time.Second)
	if got := dockerInfo(t, d, "{{.DefaultRuntime}}"); got != "armhf" {
		t.Logf("this dockerd applied the removal on SIGHUP (default %q): the restart hint is more than it needs", got)
	}
}

// The apply hint after a containerd config edit names how to restart the
// containerd that reads the file: its service under systemd, else by hand
// (on a host without systemd, `systemctl restart containerd` cannot work),
// or nothing when none reads it.
func TestContainerdApplyHints(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte("version = 2\n"), 0o644)
	proc := fakeProc(t, filepath.Join(dir, "d32.json"))
	started := func(pid, cmdline string) {
		d := filepath.Join(proc, pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "comm"), []byte("containerd\n"), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte(strings.ReplaceAll(cmdline, " ", "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "cgroup"), []byte("0::/user.slice/session-1.scope\n"), 0o644)
		os.Symlink("/", filepath.Join(d, "cwd"))
	}
	o := Options{Target: "containerd", Config: cfg, Binary: bin, ContainerdVersion: "2.1.4", procRoot: proc}
	if got := containerdApply(o, cfg); len(got) != 1 || !strings.HasPrefix(got[0], "nothing now: no running containerd reads "+cfg) {
		t.Errorf("none reads it: %q", got)
	}
	if got := containerdApply(o, DefaultContainerd); len(got) != 1 || !strings.HasPrefix(got[0], "systemctl restart containerd ") {
		t.Errorf("containerd.service reads it: %q", got)
	}
	started("400", "/usr/bin/containerd --config "+cfg)
	if out := run(t, o); !strings.Contains(out, "to apply: restart the containerd with pid 400 (stop it, start it with the same arguments)") || strings.Contains(out, "systemctl") {
		t.Errorf("install, containerd started by hand:\n%s", out)
	}
	// No systemd: a cgroup path names no service.
	os.WriteFile(filepath.Join(proc, "1", "comm"), []byte("init\n"), 0o644)
	if got := containerdApply(o, DefaultContainerd); len(got) != 1 || !strings.HasPrefix(got[0], "restart the containerd with pid 300 ") {
		t.Errorf("without systemd: %q", got)
	}
}

// containerd's flags are parsed as Go's flag package does: the value
// follows the flag or its "=", and a repeated flag's last value counts.
func TestContainerdConfigArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"containerd"}, DefaultContainerd},
		{[]string{"containerd", "--config", "/a.toml"}, "/a.toml"},
		{[]string{"containerd", "-c", "/a.toml", "--log-level", "debug"}, "/a.toml"},
		{[]string{"containerd", "--config=/a.toml"}, "/a.toml"},
		{[]string{"containerd", "-c", "/a.toml", "--config=/b.toml"}, "/b.toml"},
		{[]string{"containerd", "--config=/a.toml", "-c", "/b.toml"}, "/b.toml"},
		{[]string{"containerd", "--config"}, DefaultContainerd},
	} {
		if got := containerdConfigArg(tc.args); got != tc.want {
			t.Errorf("containerdConfigArg(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// dockerd's flags are parsed by pflag: a repeated --config-file's last
// value counts, as for containerd.
func TestConfigFileArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dockerd"}, DefaultDockerConfig},
		{[]string{"dockerd", "--config-file", "/a.json"}, "/a.json"},
		{[]string{"dockerd", "--config-file=/a.json", "--debug"}, "/a.json"},
		{[]string{"dockerd", "--config-file", "/a.json", "--config-file=/b.json"}, "/b.json"},
		{[]string{"dockerd", "--config-file=/a.json", "--config-file", "/b.json"}, "/b.json"},
		{[]string{"dockerd", "--config-file"}, DefaultDockerConfig},
	} {
		if got := configFileArg(tc.args); got != tc.want {
			t.Errorf("configFileArg(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
