package setup

import (
	"fmt"
	"path/filepath"

	"github.com/armhf-shim/armhf-shim/shim/install"
)

// Daemon is a running engine process.
type Daemon struct {
	Pid    int
	Config string // the config file it reads (absolute)
	Unit   string // its systemd service ("docker.service"), "" if none
	Binary string // its executable
	Parent string // its parent's command name
	// OtherMountNS: it runs in another mount namespace (a container, a
	// 32-bit dockerd): its paths are not this host's.
	OtherMountNS bool
	// OtherRoot: it runs in another root than setup's (install.InRoot: an
	// armhf-lxc container's dockerd, a chroot's daemon): it reads that
	// root's files, not the ones setup edits.
	OtherRoot bool
}

// elsewhere: the daemon runs in another root or mount namespace, on files
// that are not the ones setup edits.
func (p Daemon) elsewhere() bool { return p.OtherMountNS || p.OtherRoot }

// Engine is one engine on this host: its binary on PATH and its running
// daemons.
type Engine struct {
	Binary  string // on PATH, "" if none
	Running []Daemon
}

// runsHere: one of e's daemons runs in setup's root and mount namespace
// (one elsewhere leaves an engine installed here "not running").
func (e Engine) runsHere() bool {
	for _, p := range e.Running {
		if !p.elsewhere() {
			return true
		}
	}
	return false
}

// Builder is a buildx builder instance.
type Builder struct {
	Name, Driver string
}

// Facts are what setup knows of the host, gathered by Gather.
type Facts struct {
	Systemd    bool // PID 1 is systemd
	Dockerd    Engine
	Containerd Engine
	Crio       Engine
	Buildkitd  Engine
	Podman     string // podman on PATH, "" if none
	Builders   []Builder
}

// How a change reaches a running engine.
type ApplyKind int

const (
	// ApplyNone: nothing runs that reads it now, or the engine reads it
	// on every use (podman).
	ApplyNone ApplyKind = iota
	// ApplyReload: the engine picks it up on SIGHUP without stopping
	// anything (dockerd re-reads runtimes).
	ApplyReload
	// ApplyRestart: only a restart picks it up.
	ApplyRestart
)

// Apply says how to make a running engine pick up a step.
type Apply struct {
	Kind   ApplyKind
	Engine string // "dockerd", "containerd", …
	Unit   string // its systemd service, "" if none
	Pid    int
	// DaemonReload: the step writes a systemd drop-in (systemctl
	// daemon-reload before the restart).
	DaemonReload bool
}

// Step is one install target setup runs.
type Step struct {
	Target     string `json:"target"`
	Config     string `json:"config,omitempty"`     // the file install edits ("" = its default)
	Containerd string `json:"containerd,omitempty"` // the containerd binary that reads Config
	Apply      Apply  `json:"-"`
	Why        string `json:"-"`
}

// Key identifies a step: a target and the file it edits, the default
// named as such, so that a step recorded while its engine was not running
// (no config named: install's default) is the same step once the engine
// runs and names that file (undo then finds how the running engine picks
// the removal up).
func (s Step) Key() string {
	c := s.Config
	if c == "" {
		c = defaultConfig[s.Target]
	}
	return s.Target + " " + c
}

// defaultConfig is the file install edits for a target given no --config,
// for the targets whose running engine names its own.
var defaultConfig = map[string]string{
	"docker":     install.DefaultDockerConfig,
	"containerd": install.DefaultContainerd,
	"buildkitd":  install.DefaultBuildkitdConfig,
}

// Detection is what setup would do on a host with these facts.
type Detection struct {
	Steps []Step
	// Notes are engines setup cannot set up by itself, each with what to
	// do instead.
	Notes []string
}

// dockerManaged: the containerd dockerd starts itself when no system
// containerd runs; dockerd writes its config at every start (below its
// exec-root) and passes it the runtimes of daemon.json.
func dockerManaged(p Daemon) bool {
	return p.Parent == "dockerd"
}

// Detect is the pure part of setup: which install targets the engines of
// f call for, and how each change reaches its running engine.
//
//   - a running dockerd: docker (its daemon.json; dockerd re-reads
//     runtimes on SIGHUP, so a reload) and, when it is a systemd service,
//     buildkit (a docker.service drop-in putting the runc link first in
//     its PATH: only a restart changes a daemon's environment);
//   - containerd, CRI-O, a standalone buildkitd: their target, for the
//     config each running daemon reads (a restart);
//   - podman: the hook and the runtime drop-in (podman reads both on
//     every run: nothing to apply);
//   - an engine installed but not running here (its daemons, if any,
//     elsewhere): its target at the default path, applied when it starts;
//   - buildx builders that run their own buildkitd in a container, and
//     daemons in another root or mount namespace: a note, nothing
//     installed.
func Detect(f Facts) Detection {
	var d Detection
	seen := map[string]bool{}
	add := func(s Step) {
		if !seen[s.Key()] {
			seen[s.Key()] = true
			d.Steps = append(d.Steps, s)
		}
	}
	hostDaemons := func(name string, e Engine, skip func(Daemon) string) []Daemon {
		var out []Daemon
		for _, p := range e.Running {
			if p.elsewhere() {
				d.Notes = append(d.Notes, fmt.Sprintf("%s pid %d runs in another root or mount namespace (a container, a 32-bit dockerd): set it up from inside, not from the host", name, p.Pid))
				continue
			}
			if skip != nil {
				if why := skip(p); why != "" {
					d.Notes = append(d.Notes, why)
					continue
				}
			}
			out = append(out, p)
		}
		return out
	}
	restart := func(engine string, p Daemon) Apply {
		return Apply{Kind: ApplyRestart, Engine: engine, Unit: p.Unit, Pid: p.Pid}
	}

	// dockerd
	dockerds := hostDaemons("dockerd", f.Dockerd, nil)
	for _, p := range dockerds {
		add(Step{Target: "docker", Config: p.Config, Apply: Apply{Kind: ApplyReload, Engine: "dockerd", Unit: p.Unit, Pid: p.Pid},
			Why: fmt.Sprintf("dockerd (pid %d) reads %s", p.Pid, p.Config)})
		switch {
		case p.Unit == "docker.service" && f.Systemd:
			a := restart("dockerd", p)
			a.DaemonReload = true
			add(Step{Target: "buildkit", Apply: a, Why: "docker build: dockerd's embedded BuildKit runs the runc on docker.service's PATH"})
		default:
			d.Notes = append(d.Notes, fmt.Sprintf("docker build on the dockerd with pid %d: it is not docker.service, so setup cannot put the runc link first in its PATH; "+
				"start it with %s first in PATH (armhf-shim install buildkit --link-dir, docs/runtime.md)", p.Pid, install.DefaultBuildkitLinkDir))
		}
	}
	if !f.Dockerd.runsHere() && f.Dockerd.Binary != "" {
		add(Step{Target: "docker", Why: "dockerd is installed (" + f.Dockerd.Binary + "), not running: it reads the change when it starts"})
		if f.Systemd {
			add(Step{Target: "buildkit", Apply: Apply{DaemonReload: true}, Why: "docker build through dockerd's embedded BuildKit, when docker.service starts"})
		}
	}

	// containerd
	ctds := hostDaemons("containerd", f.Containerd, func(p Daemon) string {
		if dockerManaged(p) {
			return fmt.Sprintf("containerd pid %d is dockerd's own (%s): the docker target covers what dockerd runs", p.Pid, p.Config)
		}
		return ""
	})
	for _, p := range ctds {
		add(Step{Target: "containerd", Config: p.Config, Containerd: p.Binary, Apply: restart("containerd", p),
			Why: fmt.Sprintf("containerd (pid %d) reads %s; Kubernetes and nerdctl use its runtime handler", p.Pid, p.Config)})
	}
	if !f.Containerd.runsHere() && f.Containerd.Binary != "" {
		add(Step{Target: "containerd", Containerd: f.Containerd.Binary, Why: "containerd is installed, not running: it reads the change when it starts"})
	}

	// CRI-O: its drop-in directory is fixed (crio.conf.d), whatever it runs with.
	crios := hostDaemons("crio", f.Crio, nil)
	if len(crios) > 0 {
		add(Step{Target: "crio", Apply: restart("crio", crios[0]), Why: fmt.Sprintf("CRI-O (pid %d): a runtime handler for a Kubernetes RuntimeClass", crios[0].Pid)})
	} else if f.Crio.Binary != "" {
		add(Step{Target: "crio", Why: "CRI-O is installed, not running: it reads the change when it starts"})
	}

	// a standalone buildkitd
	for _, p := range hostDaemons("buildkitd", f.Buildkitd, nil) {
		add(Step{Target: "buildkitd", Config: p.Config, Apply: restart("buildkitd", p), Why: fmt.Sprintf("buildkitd (pid %d) reads %s", p.Pid, p.Config)})
	}
	if !f.Buildkitd.runsHere() && f.Buildkitd.Binary != "" {
		add(Step{Target: "buildkitd", Why: "buildkitd is installed, not running: it reads the change when it starts"})
	}

	// podman reads its hooks and containers.conf.d on every run.
	if f.Podman != "" {
		add(Step{Target: "podman", Why: "podman (" + f.Podman + "): the OCI hook gives 32-bit containers the armv7 cpuinfo"})
		add(Step{Target: "podman-runtime", Why: "podman run --runtime armhf: the personality as well"})
	}

	for _, b := range f.Builders {
		switch b.Driver {
		case "docker":
			// dockerd's embedded BuildKit: the buildkit step.
		case "remote":
			d.Notes = append(d.Notes, fmt.Sprintf("buildx builder %s (remote driver): covered when its endpoint is a buildkitd set up here (the buildkitd step); else run setup on its host", b.Name))
		default:
			d.Notes = append(d.Notes, fmt.Sprintf("buildx builder %s (%s driver) runs its own buildkitd and runc in a container, which setup cannot register with: "+
				"recreate it from the builder image with the wrapper inside (armhf-shim buildx image, then armhf-shim buildx config), "+
				"or use a standalone buildkitd set up here (docs/buildkit.md: the buildx remote driver)", b.Name, b.Driver))
		}
	}
	return d
}

// absConfig makes a config path found in a process's arguments absolute
// (relative to its working directory).
func absConfig(cwd, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cwd, p)
}
