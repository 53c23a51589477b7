package doctor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// verdict is what a table row expects of a route.
type verdict struct {
	installed, active bool
	detail            []string // substrings of Detail
	problems          []string // substrings, one per problem, in order
}

func check(t *testing.T, name string, r Route, want verdict) {
	t.Helper()
	if r.Installed != want.installed || r.Active != want.active {
		t.Errorf("%s: installed %v active %v, want %v %v (%s)", name, r.Installed, r.Active, want.installed, want.active, r.Detail)
	}
	for _, s := range want.detail {
		if !strings.Contains(r.Detail, s) {
			t.Errorf("%s: detail %q lacks %q", name, r.Detail, s)
		}
	}
	if len(r.Problems) != len(want.problems) {
		t.Errorf("%s: problems %q, want %d like %q", name, r.Problems, len(want.problems), want.problems)
		return
	}
	for i, s := range want.problems {
		if !strings.Contains(r.Problems[i], s) {
			t.Errorf("%s: problem %q lacks %q", name, r.Problems[i], s)
		}
	}
}

var (
	shimRT   = Runtime{Name: "armhf", Path: "/usr/local/bin/armhf-runc", Shim: true}
	runcRT   = Runtime{Name: "runc", Path: "runc"}
	nvidiaRT = Runtime{Name: "nvidia", Path: "nvidia-container-runtime"}
)

func TestJudgeDocker(t *testing.T) {
	const cfg = "/etc/docker/daemon.json"
	svc := Dockerd{Pid: 42, Unit: "docker.service", Socket: "/run/docker.sock", Default: "runc"}
	with := func(d Dockerd, def string, rts ...Runtime) Dockerd { d.Runtimes, d.Default = rts, def; return d }
	for _, tc := range []struct {
		name string
		f    DockerFacts
		want verdict
	}{
		{"nothing", DockerFacts{ConfigFile: cfg}, verdict{detail: []string{"no armhf-shim runtime", "no running dockerd"}}},
		{"installed, no daemon", DockerFacts{ConfigFile: cfg, Runtimes: []Runtime{shimRT}},
			verdict{installed: true, detail: []string{`runtime "armhf" -> /usr/local/bin/armhf-runc`, "no running dockerd reads"}}},
		{"installed and active", DockerFacts{ConfigFile: cfg, Runtimes: []Runtime{shimRT}, Daemons: []Dockerd{with(svc, "runc", runcRT, shimRT)}},
			verdict{installed: true, active: true, detail: []string{"dockerd pid 42 runs with runtime(s) armhf"}}},
		// daemon.json edited, dockerd not reloaded.
		{"installed, not active", DockerFacts{ConfigFile: cfg, Runtimes: []Runtime{shimRT}, Daemons: []Dockerd{with(svc, "runc", runcRT)}},
			verdict{installed: true, detail: []string{"installed, not active"}, problems: []string{"systemctl reload docker"}}},
		// uninstalled, dockerd still has it; a dockerd without a unit is named by pid.
		{"active, not installed", DockerFacts{ConfigFile: cfg, Runtimes: []Runtime{nvidiaRT}, Daemons: []Dockerd{with(Dockerd{Pid: 7}, "runc", runcRT, shimRT)}},
			verdict{active: true, detail: []string{"active, not installed"}, problems: []string{"restart the dockerd with pid 7"}}},
		{"default not applied", DockerFacts{ConfigFile: cfg, Runtimes: []Runtime{shimRT}, Default: "armhf", Daemons: []Dockerd{with(svc, "runc", runcRT, shimRT)}},
			verdict{installed: true, active: true, problems: []string{"systemctl restart docker"}}},
		{"missing binary", DockerFacts{ConfigFile: cfg, Runtimes: []Runtime{{Name: "armhf", Path: "/gone/armhf-runc", Shim: true, Missing: true}}},
			verdict{installed: true, problems: []string{"/gone/armhf-runc does not exist"}}},
		{"api down", DockerFacts{ConfigFile: cfg, Runtimes: []Runtime{shimRT}, Daemons: []Dockerd{{Pid: 9, Socket: "/s", InfoErr: errors.New("connection refused")}}},
			verdict{installed: true, detail: []string{"does not answer"}, problems: []string{"cannot tell whether dockerd pid 9"}}},
		{"malformed", DockerFacts{ConfigFile: cfg, ConfigErr: errors.New("malformed: x")}, verdict{problems: []string{"malformed"}}},
	} {
		check(t, tc.name, JudgeDocker(tc.f), tc.want)
	}
}

func TestJudgeBuildkit(t *testing.T) {
	drop := "/etc/systemd/system/docker.service.d/armhf-shim-buildkit.conf"
	link := "/usr/local/lib/armhf-shim/buildkit/runc"
	shimPATH := Dockerd{Pid: 5, Unit: "docker.service", PATH: "/usr/local/lib/armhf-shim/buildkit:/usr/bin", Runc: link, RuncShim: true}
	plain := Dockerd{Pid: 5, Unit: "docker.service", PATH: "/usr/sbin:/usr/bin", Runc: "/usr/sbin/runc"}
	for _, tc := range []struct {
		name string
		f    BuildkitFacts
		want verdict
	}{
		{"nothing", BuildkitFacts{DropIn: drop, Link: link}, verdict{detail: []string{"no " + drop, "no running dockerd"}}},
		{"active", BuildkitFacts{DropIn: drop, DropInPresent: true, Link: link, LinkTarget: "/usr/local/bin/armhf-runc", Daemons: []Dockerd{shimPATH}},
			verdict{installed: true, active: true, detail: []string{"finds runc at " + link + " (armhf-shim)"}}},
		// The drop-in is there, dockerd was not restarted: judged by dockerd's PATH, not the file.
		{"drop-in, dockerd not restarted", BuildkitFacts{DropIn: drop, DropInPresent: true, Link: link, LinkTarget: "/x", Daemons: []Dockerd{plain}},
			verdict{installed: true, detail: []string{"not armhf-shim"}, problems: []string{"installed, not active: dockerd pid 5 started without the drop-in's PATH"}}},
		// A dockerd started with the wrapper on its PATH gets the route without any drop-in.
		{"no drop-in, dockerd has it", BuildkitFacts{DropIn: drop, Link: link, Daemons: []Dockerd{shimPATH}}, verdict{active: true}},
		// dind's dockerd has it by construction and its own route: this one is not active,
		// nor installed-but-inactive for it.
		{"dind's dockerd", BuildkitFacts{DropIn: drop, DropInPresent: true, Link: link, LinkTarget: "/x",
			Daemons: []Dockerd{{Pid: 7, PATH: "/var/lib/armhf-shim/dind/bin:/usr/bin", Runc: "/var/lib/armhf-shim/dind/bin/runc", RuncShim: true, Dind: "/var/lib/armhf-shim/dind"}}},
			verdict{installed: true, detail: []string{"dockerd pid 7 is armhf-shim dind's (/var/lib/armhf-shim/dind; see route dind)"}}},
		{"link missing", BuildkitFacts{DropIn: drop, DropInPresent: true, Link: link}, verdict{installed: true, problems: []string{link + " is missing"}}},
		{"environ unreadable", BuildkitFacts{DropIn: drop, Link: link, Daemons: []Dockerd{{Pid: 3, EnvErr: errors.New("permission denied")}}},
			verdict{detail: []string{"cannot read its environment"}}},
	} {
		check(t, tc.name, JudgeBuildkit(tc.f), tc.want)
	}
}

func TestJudgeContainerd(t *testing.T) {
	written := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	base := ContainerdFacts{Config: "/etc/containerd/config.toml", DropIn: "/etc/containerd/conf.d/armhf-shim.toml", Present: true, Imported: true, Handlers: `"armhf"`, DropInMod: written}
	with := func(f ContainerdFacts, started time.Time) ContainerdFacts {
		f.Daemons = []Containerd{{Pid: 11, Started: started, Unit: "containerd.service"}}
		return f
	}
	// A containerd started by hand (no systemd, or not a service): no
	// systemctl restarts it.
	byHand := with(base, written.Add(-time.Hour))
	byHand.Daemons[0].Unit = ""
	notImported := base
	notImported.Imported = false
	// containerd 1.x with a CRI section: the handler is in config.toml.
	inPlace := base
	inPlace.DropIn, inPlace.InPlace, inPlace.Handlers = base.Config, true, `"armhf", "runc"`
	for _, tc := range []struct {
		name string
		f    ContainerdFacts
		want verdict
	}{
		{"installed, none running", base, verdict{installed: true, detail: []string{"no running containerd"}}},
		{"restarted after", with(base, written.Add(time.Minute)), verdict{installed: true, active: true}},
		{"started before", with(base, written.Add(-time.Hour)), verdict{installed: true, problems: []string{"systemctl restart containerd"}}},
		// Started is the latest the start can have been (host.started):
		// started, then set up, within one second is stale; the write at
		// that latest start is taken as read.
		{"started half a second before the write", with(base, written.Add(-500*time.Millisecond)), verdict{installed: true, problems: []string{"systemctl restart containerd"}}},
		{"written at the latest start", with(base, written), verdict{installed: true, active: true}},
		{"started two seconds before", with(base, written.Add(-2*time.Second)), verdict{installed: true, problems: []string{"systemctl restart containerd"}}},
		{"not imported", with(notImported, written.Add(time.Minute)), verdict{problems: []string{"not in the imports"}}},
		{"in place, restarted after", with(inPlace, written.Add(time.Minute)), verdict{installed: true, active: true, detail: []string{"in the CRI section of " + base.Config}}},
		{"in place, started before", with(inPlace, written.Add(-time.Hour)), verdict{installed: true, problems: []string{"systemctl restart containerd"}}},
		{"started before, not a service", byHand, verdict{installed: true, problems: []string{"restart the containerd with pid 11 (stop it, start it with the same arguments)"}}},
		{"absent", ContainerdFacts{Config: base.Config, DropIn: base.DropIn}, verdict{detail: []string{"no " + base.DropIn}}},
		// Uninstalled while it runs: it still has the handler it read at
		// start, which the file no longer tells.
		{"uninstalled, started before", with(ContainerdFacts{Config: base.Config, DropIn: base.DropIn, ConfigMod: written}, written.Add(-time.Hour)),
			verdict{detail: []string{"it has the handlers the file held then, unknown from here"}, problems: []string{"systemctl restart containerd"}}},
		{"not installed, started after", with(ContainerdFacts{Config: base.Config, DropIn: base.DropIn, ConfigMod: written}, written.Add(time.Minute)),
			verdict{detail: []string{"no " + base.DropIn}}},
	} {
		check(t, tc.name, JudgeContainerd(tc.f), tc.want)
	}
}

func TestJudgePodman(t *testing.T) {
	usr := "/usr/share/containers/oci/hooks.d"
	read := []string{usr}
	for _, tc := range []struct {
		name string
		f    PodmanFacts
		want verdict
	}{
		// Debian 12's podman 4.3 reads only /usr/share: a hook in /etc is installed, never run.
		{"hook where podman does not read", PodmanFacts{Podman: "/usr/bin/podman", ReadDirs: read,
			Hooks: []Hook{{Path: "/etc/containers/oci/hooks.d/armhf-shim.json", Binary: "/usr/local/bin/armhf-shim"}}},
			verdict{installed: true, problems: []string{"do not read (they read " + usr + ")"}}},
		{"hook where podman reads", PodmanFacts{Podman: "/usr/bin/podman", ReadDirs: read,
			Hooks: []Hook{{Path: usr + "/armhf-shim.json", Binary: "/usr/local/bin/armhf-shim", Read: true}}},
			verdict{installed: true, active: true}},
		{"no podman", PodmanFacts{ReadDirs: read, Hooks: []Hook{{Path: usr + "/armhf-shim.json", Binary: "/b", Read: true}}},
			verdict{installed: true, detail: []string{"podman is not installed"}}},
		{"hook binary gone", PodmanFacts{Podman: "/usr/bin/podman", ReadDirs: read, Hooks: []Hook{{Path: usr + "/armhf-shim.json", Binary: "/gone", Read: true, Missing: true}}},
			// Debian's podman 4.3 runs the container without the hook (seen).
			verdict{installed: true, problems: []string{"/gone of " + usr + "/armhf-shim.json does not exist: podman skips the hook without a word, so 32-bit containers get the host's cpuinfo"}}},
		{"none", PodmanFacts{Podman: "/usr/bin/podman", ReadDirs: read}, verdict{detail: []string{"no armhf-shim.json in " + usr}}},
	} {
		check(t, tc.name, JudgePodman(tc.f), tc.want)
	}
}

// The runtime wrapper registered with podman (install podman-runtime),
// judged by what podman info itself resolves: the default runtime, or the
// runtime podman run --runtime NAME runs.
func TestJudgePodmanRuntime(t *testing.T) {
	const dropIn = "/etc/containers/containers.conf.d/armhf-shim.conf"
	armhf := []ShimRuntime{{Name: "armhf", Path: "/usr/local/bin/armhf-runc", File: dropIn}}
	gone := []ShimRuntime{{Name: "armhf", Path: "/usr/local/bin/armhf-runc", File: dropIn, Missing: true}}
	runc := &PodmanAnswer{Name: "runc", Path: "/usr/bin/runc"}
	ours := &PodmanAnswer{Name: "armhf", Path: "/usr/local/bin/armhf-runc", Shim: true}
	asked := map[string]PodmanAnswer{"armhf": *ours}
	for _, tc := range []struct {
		name string
		f    PodmanRuntimeFacts
		want verdict
	}{
		{"none", PodmanRuntimeFacts{Podman: "/usr/bin/podman"}, verdict{detail: []string{"no containers.conf registers"}}},
		{"registered, podman runs it with --runtime", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: armhf, Default: runc, Asked: asked},
			verdict{installed: true, active: true, detail: []string{"podman run --runtime armhf"}}},
		{"the default", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: armhf, Default: ours, DefaultBy: []string{dropIn}, Effective: "armhf", EffectiveFile: dropIn},
			verdict{installed: true, active: true, detail: []string{"podman's default runtime"}}},
		// Asked of podman, which refused the runtime: installed, not active.
		{"podman refuses it", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: armhf, Default: runc,
			Asked: map[string]PodmanAnswer{"armhf": {Err: "Error: default OCI runtime \"armhf\" not found: invalid argument"}}},
			verdict{installed: true, problems: []string{"podman --runtime armhf info: Error: default OCI runtime"}}},
		// The binary removed: with --set-as-default every podman command fails.
		{"binary gone, the default", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: gone, DefaultBy: []string{dropIn}, Effective: "armhf", EffectiveFile: dropIn,
			Default: &PodmanAnswer{Err: "Error: default OCI runtime \"armhf\" not found: invalid argument"}},
			verdict{installed: true, problems: []string{"which does not exist: it is podman's default runtime, so every podman command fails"}}},
		{"binary gone", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: gone, Default: runc},
			verdict{installed: true, problems: []string{"which does not exist: podman run --runtime armhf fails"}}},
		// --set-as-default overridden by a file read later.
		{"default overridden", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: armhf, Default: runc, Asked: asked,
			DefaultBy: []string{dropIn}, Effective: "runc", EffectiveFile: "/etc/containers/containers.conf.d/zz-site.conf"},
			verdict{installed: true, active: true, problems: []string{`podman's default is "runc" (/usr/bin/runc): /etc/containers/containers.conf.d/zz-site.conf, read after it, sets [engine] runtime = "runc"`}}},
		{"default not read (CONTAINERS_CONF)", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: armhf, Default: runc, Asked: asked,
			DefaultBy: []string{dropIn}, Effective: "armhf", EffectiveFile: dropIn},
			verdict{installed: true, active: true, problems: []string{"podman does not read it"}}},
		// crun alone (Debian 12's podman pulls in crun, not runc): the wrapper has no runc to exec.
		{"no runc for the wrapper", PodmanRuntimeFacts{Podman: "/usr/bin/podman", Runtimes: armhf, Default: ours, Effective: "armhf", EffectiveFile: dropIn, DefaultBy: []string{dropIn},
			RuncErr: `no real OCI runtime "runc" or "buildkit-runc" (from default) found`},
			verdict{installed: true, active: true, problems: []string{"empty PATH, where it finds no real runtime"}}},
		{"no podman", PodmanRuntimeFacts{Runtimes: armhf}, verdict{installed: true, detail: []string{"podman is not installed"}}},
		{"malformed containers.conf", PodmanRuntimeFacts{Podman: "/usr/bin/podman", ConfErrs: []string{"/etc/containers/containers.conf: toml: expected"}},
			verdict{problems: []string{"podman cannot read /etc/containers/containers.conf"}}},
	} {
		check(t, tc.name, JudgePodmanRuntime(tc.f), tc.want)
	}
}

func TestJudgeDockerCLI(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    CLIFacts
		want verdict
	}{
		{"real docker only", CLIFacts{First: "/usr/local/bin/docker"}, verdict{detail: []string{"not the wrapper"}}},
		{"installed and first", CLIFacts{Link: "/usr/local/sbin/docker", Fronts: "/usr/local/bin/docker", First: "/usr/local/sbin/docker", FirstWrapper: true, Configured: "/usr/local/bin/docker"},
			verdict{installed: true, active: true, detail: []string{"the wrapper, which execs /usr/local/bin/docker"}}},
		// A user's PATH without /usr/local/sbin.
		{"installed, not on this PATH", CLIFacts{PATH: "/usr/local/bin:/usr/bin", Link: "/usr/local/sbin/docker", Fronts: "/usr/local/bin/docker", First: "/usr/local/bin/docker"},
			verdict{installed: true, problems: []string{"installed, not active on this PATH"}}},
		{"wrapper with nothing to exec", CLIFacts{First: "/usr/local/bin/docker", FirstWrapper: true, ConfiguredErr: "the wrapper /usr/local/bin/docker has no real docker to exec"},
			verdict{installed: true, problems: []string{"no real docker"}}},
		{"no docker", CLIFacts{}, verdict{detail: []string{"no docker on PATH"}}},
	} {
		check(t, tc.name, JudgeDockerCLI(tc.f), tc.want)
	}
}

func TestJudgeDind(t *testing.T) {
	dir := "/var/lib/armhf-shim/dind"
	for _, tc := range []struct {
		name string
		f    DindFacts
		want verdict
	}{
		{"absent", DindFacts{Dir: dir}, verdict{detail: []string{"no " + dir}}},
		{"stopped", DindFacts{Dir: dir, Present: true}, verdict{installed: true, detail: []string{"not running"}}},
		{"running", DindFacts{Dir: dir, Present: true, Running: true, Pid: 3, Personality: "linux32", Version: "20.10.24", Arch: "i686"},
			verdict{installed: true, active: true, detail: []string{"personality linux32", "architecture i686"}}},
		{"api down", DindFacts{Dir: dir, Present: true, Running: true, Pid: 3, Personality: "linux32", APIError: "connection refused"},
			verdict{installed: true, problems: []string{"API does not answer"}}},
		{"64-bit personality", DindFacts{Dir: dir, Present: true, Running: true, Pid: 3, Personality: "linux"},
			verdict{installed: true, problems: []string{"not linux32"}}},
	} {
		check(t, tc.name, JudgeDind(tc.f), tc.want)
	}
}

func TestJudgeLXC(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    LXCFacts
		want verdict
	}{
		{"none", LXCFacts{LXCPath: "/var/lib/lxc"}, verdict{detail: []string{"no armhf-lxc containers in /var/lib/lxc"}}},
		{"one running, one stopped", LXCFacts{Containers: []LXCContainer{{Name: "b1", State: "RUNNING", Docker: true}, {Name: "b2", State: "STOPPED"}}},
			verdict{installed: true, active: true, detail: []string{"b1: running, dockerd inside", "b2: stopped"}}},
		{"stopped", LXCFacts{Containers: []LXCContainer{{Name: "b2", State: "STOPPED"}}}, verdict{installed: true}},
		{"corrupt", LXCFacts{Containers: []LXCContainer{{Name: "b3", Err: "armhf-lxc.json is corrupt"}}}, verdict{installed: true, problems: []string{"corrupt"}}},
	} {
		check(t, tc.name, JudgeLXC(tc.f), tc.want)
	}
}
