package systemd

import (
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/test/vm"
)

// checks holds each case's assertions, by case name (bed/cases/NAME.sh).
var checks = map[string]func(t *testing.T, r *vm.CaseResult){
	"00-boot": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		u := units(r.Stdout)
		for _, n := range []string{"docker.service", "containerd.service"} {
			if u[n]["ActiveState"] != "active" || u[n]["UnitFileState"] != "enabled" {
				t.Errorf("%s is %s/%s, want active and enabled (by its package):\n%s", n, u[n]["ActiveState"], u[n]["UnitFileState"], r.Output())
			}
		}
	},
	"10-dpkg-install": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		for _, f := range []string{"/usr/bin/armhf-shim", "/usr/bin/armhf-runc", "/usr/bin/armhf-docker",
			"/usr/lib/systemd/system/armhf-buildkitd.socket", "/usr/lib/systemd/system/armhf-buildkitd.service",
			"/usr/lib/systemd/system/armhf-shim-cpuinfo.service", "/usr/lib/systemd/system/armhf-shim-dind.service",
			"/usr/lib/systemd/system/armhf-shim-seccomp-agent.socket", "/usr/lib/systemd/system/armhf-shim-seccomp-agent.service"} {
			wantLine(t, r, f)
		}
		// systemctl list-unit-files: UNIT STATE PRESET; the package enables nothing (Debian's
		// preset says enabled: no maintainer script applies it).
		for _, l := range strings.Split(r.Stdout, "\n") {
			f := strings.Fields(l)
			if len(f) == 3 && strings.HasPrefix(f[0], "armhf-") && f[0] != "armhf-bed.service" && f[1] == "enabled" {
				t.Errorf("dpkg -i enabled %s (the package registers nothing)", f[0])
			}
		}
	},
	"20-setup-restart": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		wantIn(t, r, "setup rc=0", "doctor rc=0")
		before, after := units(section(r.Stdout, "before")), units(section(r.Stdout, "after"))
		for _, n := range []string{"docker.service", "containerd.service"} {
			if before[n]["MainPID"] == after[n]["MainPID"] || before[n]["ActiveEnterTimestampMonotonic"] == after[n]["ActiveEnterTimestampMonotonic"] {
				t.Errorf("%s was not restarted by setup --restart: MainPID %s -> %s, ActiveEnterTimestampMonotonic %s -> %s",
					n, before[n]["MainPID"], after[n]["MainPID"], before[n]["ActiveEnterTimestampMonotonic"], after[n]["ActiveEnterTimestampMonotonic"])
			}
			if after[n]["ActiveState"] != "active" {
				t.Errorf("%s is %s after setup --restart", n, after[n]["ActiveState"])
			}
		}
		if s := section(r.Stdout, "containerd config dump"); !strings.Contains(s, "armhf") {
			t.Errorf("containerd config dump names no armhf runtime:\n%s", r.Output())
		}
	},
	"30-docker-i386": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		wantIn(t, r, "uname=i686", "CPU architecture: 7", "build: i686", "build: CPU architecture: 7", "build image: linux/386")
	},
	"40-buildkitd": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		before, after := units(section(r.Stdout, "before")), units(section(r.Stdout, "after"))
		if before["armhf-buildkitd.socket"]["ActiveState"] != "active" || before["armhf-buildkitd.service"]["ActiveState"] != "inactive" {
			t.Errorf("after enable --now of the socket: socket %s, service %s; want active, inactive (socket activation)",
				before["armhf-buildkitd.socket"]["ActiveState"], before["armhf-buildkitd.service"]["ActiveState"])
		}
		if after["armhf-buildkitd.service"]["ActiveState"] != "active" {
			t.Errorf("buildctl did not socket-activate armhf-buildkitd.service: %v", after["armhf-buildkitd.service"])
		}
		wantIn(t, r, "result: i686", "result: CPU architecture: 7", "doctor rc=0")
	},
	"50-units-enable": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 100)
	},
	"60-after-reboot": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		u := units(r.Stdout)
		if s := u["armhf-shim-cpuinfo.service"]; s["ActiveState"] != "active" || s["Result"] != "success" {
			t.Errorf("armhf-shim-cpuinfo.service after the reboot: %v", s)
		}
		if s := u["armhf-shim-seccomp-agent.socket"]; s["ActiveState"] != "active" {
			t.Errorf("armhf-shim-seccomp-agent.socket after the reboot: %v", s)
		}
		if s := units(section(r.Stdout, "seccomp agent"))["armhf-shim-seccomp-agent.service"]; s["ActiveState"] != "active" {
			t.Errorf("the container's connection did not start armhf-shim-seccomp-agent.service: %v", s)
		}
		// The docker CLI wrapper mounts the file the unit made (uname is the runtime wrapper's, not
		// the CLI's); the seccomp agent answers a container that asks for a machine.
		wantIn(t, r, "/usr/local/bin/docker\n", "uname=x86_64\nCPU architecture: 7", "machine=armv7l", "buildctl ok", "doctor rc=0")
		if s := section(r.Stdout, "cpuinfo file"); !strings.Contains(s, "CPU architecture: 7") {
			t.Errorf("no armv7 /run/armhf-shim/cpuinfo after the reboot, before any docker ran:\n%s", r.Output())
		}
	},
	"65-seccomp-agent-restart": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		wantIn(t, r, "run rc=0", "restart rc=0", "stop start rc=0")
		const svc = "armhf-shim-seccomp-agent.service"
		// phase is the container's uname lines of a phase (twice a second for 4 s), and the
		// agent's state after it.
		phase := func(name string) ([]string, map[string]string) {
			var unames []string
			for _, l := range strings.Split(section(r.Stdout, name), "\n") {
				if u, ok := strings.CutPrefix(l, "uname: "); ok {
					unames = append(unames, u)
				}
			}
			return unames, units(section(r.Stdout, name))[svc]
		}
		armv7l := func(unames []string) bool {
			for _, u := range unames {
				if u != "armv7l" {
					return false
				}
			}
			return len(unames) >= 4
		}
		run, before := phase("running")
		if !armv7l(run) || before["NFileDescriptorStore"] != "1" || before["FileDescriptorStoreMax"] != "2048" {
			t.Errorf("the running container: uname %q, agent %v; want armv7l, its listener in the store", run, before)
		}
		prev := before
		// Both restarts keep the listener: every uname of the container, also those made while no
		// agent ran, says armv7l, and a new agent (MainPID) serves the listener systemd kept.
		for _, name := range []string{"after systemctl restart", "after kill -9"} {
			unames, st := phase(name)
			if !armv7l(unames) || st["MainPID"] == prev["MainPID"] || st["NFileDescriptorStore"] != "1" {
				t.Errorf("%s: uname %q, agent %v (before %v); want armv7l from a new agent, the listener still stored", name, unames, st, prev)
			}
			prev = st
		}
		if _, st := phase("after kill -9"); st["NRestarts"] == before["NRestarts"] {
			t.Errorf("kill -9: Restart=always did not restart the agent: NRestarts %s -> %s", before["NRestarts"], st["NRestarts"])
		}
		// systemd 252 empties the store when the service stops (FileDescriptorStorePreserve=
		// came with 254): the container's uname fails from then on.
		if unames, st := phase("after stop and start"); st["NFileDescriptorStore"] != "0" || len(unames) < 4 || unames[len(unames)-1] == "armv7l" {
			t.Errorf("after stop and start: uname %q, agent %v; want the store empty and uname failing (systemd 252)", unames, st)
		}
		if running, ended := units(section(r.Stdout, "container running"))[svc], units(section(r.Stdout, "container ended"))[svc]; running["NFileDescriptorStore"] != "1" || ended["NFileDescriptorStore"] != "0" {
			t.Errorf("a container that ends: its listener stored %s while it ran, %s after; want 1, then 0", running["NFileDescriptorStore"], ended["NFileDescriptorStore"])
		}
		wantIn(t, r, "ended: armv7l\n")
		if j := section(r.Stdout, "journal"); strings.Count(j, "serving the 1 listener(s) systemd kept") != 2 ||
			strings.Contains(j, "reception") || strings.Contains(j, "FileDescriptorStoreMax") {
			t.Errorf("the agent's journal: want two restarts serving the kept listener, and no complaint of systemd's:\n%s", j)
		}
	},
	"70-dind": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		if s := units(section(r.Stdout, "started"))["armhf-shim-dind.service"]; s["ActiveState"] != "active" || s["SubState"] != "running" {
			t.Errorf("armhf-shim-dind.service after systemctl start: %v, want active (running)", s)
		}
		// The unit's main PID is dockerd itself (its pidfile), the input's 32-bit one.
		wantIn(t, r, "start rc=0", "main=/var/lib/armhf-shim/dind/", "DOCKER_HOST=unix:///var/lib/armhf-shim/dind/docker.sock\n",
			"info: i686 linux default=armhf", "server: linux/386", "uname=i686\nCPU architecture: 7", "stop rc=0", "status rc=3")
		if s := units(section(r.Stdout, "stopped"))["armhf-shim-dind.service"]; s["ActiveState"] != "inactive" || s["Result"] != "success" {
			t.Errorf("armhf-shim-dind.service after systemctl stop: %v, want inactive with result success", s)
		}
		if s := strings.TrimSpace(section(r.Stdout, "left running")); s != "" {
			t.Errorf("left after systemctl stop armhf-shim-dind:\n%s", s)
		}
	},
	"90-undo-purge": func(t *testing.T, r *vm.CaseResult) {
		wantRC(t, r, 0)
		if u := units(r.Stdout)["armhf-buildkitd.service"]; u["Result"] != "success" {
			t.Errorf("armhf-buildkitd.service stopped with result %q, want success", u["Result"])
		}
		if s := strings.TrimSpace(section(r.Stdout, "undo left")); s != "" {
			t.Errorf("setup --undo left %s", s)
		}
		if s := section(r.Stdout, "broken config"); strings.Contains(s, "restart rc=0") || strings.Contains(s, "broken: Result=success") {
			t.Errorf("armhf-buildkitd.service started on a broken buildkitd.toml without failing:\n%s", s)
		}
		wantIn(t, r, "undo rc=0", "ran systemctl restart armhf-buildkitd.service", "purge rc=0", "uninstall seccomp-agent rc=0", "uninstall docker-cli rc=0", "uname=x86_64", "default=runc runtimes=io.containerd.runc.v2,io.containerd.runtime.v1.linux,runc,")
		// What stays on purpose (docs/fleet.md): install's backup of a file it changed (never
		// deleted: it was the user's) and the cache of the buildkitd armhf-buildkitd.service ran
		// (systemd's StateDirectory).
		for _, l := range strings.Split(strings.TrimSpace(section(r.Stdout, "left")), "\n") {
			if l == "" || l == "/var/lib/armhf-buildkit" || strings.HasPrefix(l, "/etc/containerd/config.toml.armhf-shim-") && strings.HasSuffix(l, ".bak") {
				continue
			}
			t.Errorf("left behind after setup --undo, the units disabled and dpkg -P: %s", l)
		}
	},
}

func wantRC(t *testing.T, r *vm.CaseResult, rc int) {
	t.Helper()
	if r.RC != rc {
		t.Errorf("%s: rc=%d, want %d:\n%s", r.Name, r.RC, rc, r.Output())
	}
}

func wantIn(t *testing.T, r *vm.CaseResult, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("%s: stdout lacks %q:\n%s", r.Name, s, r.Output())
		}
	}
}

func wantLine(t *testing.T, r *vm.CaseResult, line string) {
	t.Helper()
	for _, l := range strings.Split(r.Stdout, "\n") {
		if l == line {
			return
		}
	}
	t.Errorf("%s: no line %q:\n%s", r.Name, line, r.Output())
}

// TestSection: the helper the checks read case output with.
func TestSection(t *testing.T) {
	out := "x\n== a\none\ntwo\n== b\n== c\nthree\n"
	for name, want := range map[string]string{"a": "one\ntwo\n", "b": "", "c": "three\n", "d": ""} {
		if got := section(out, name); got != want {
			t.Errorf("section %q = %q, want %q", name, got, want)
		}
	}
}
