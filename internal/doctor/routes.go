package doctor

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/armhf-shim/armhf-shim/shim/install"
)

// Route is one route's verdict.
type Route struct {
	Name string `json:"name"`
	// Installed: the route's files say it is set up.
	Installed bool `json:"installed"`
	// Active: a running engine uses it, as the engine itself reports.
	Active bool   `json:"active"`
	Detail string `json:"detail"`
	// Problems are what is wrong with it, each with what would fix it.
	Problems []string `json:"-"`
}

func (r *Route) say(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if r.Detail == "" {
		r.Detail = s
	} else {
		r.Detail += "; " + s
	}
}

func (r *Route) problem(format string, args ...any) {
	r.Problems = append(r.Problems, r.Name+": "+fmt.Sprintf(format, args...))
}

// Runtime is a runtime registered with dockerd (daemon.json or /info).
type Runtime struct {
	Name, Path string
	Shim       bool // the binary is armhf-shim's
	Missing    bool // the binary does not exist
}

// Dockerd is what a running dockerd reports of itself.
type Dockerd struct {
	Pid    int
	Unit   string // its systemd service ("" if none)
	Socket string
	// InfoErr: its API did not answer /info.
	InfoErr  error
	Runtimes []Runtime // /info's Runtimes
	Default  string    // /info's DefaultRuntime
	// PATH is its environment's PATH (EnvErr when unreadable); Runc is
	// the runc found first on it ("" none), RuncShim whether that is
	// armhf-shim's.
	PATH     string
	EnvErr   error
	Runc     string
	RuncShim bool
	// Dind is the state directory when this is armhf-shim dind's daemon,
	// judged by route dind, not as the host's dockerd.
	Dind string
}

// DockerFacts are daemon.json and the dockerds that read it.
type DockerFacts struct {
	ConfigFile string
	ConfigErr  error     // unreadable or malformed (absent is no error)
	Runtimes   []Runtime // daemon.json's runtimes
	Default    string    // daemon.json's default-runtime
	Daemons    []Dockerd
}

func shimNames(rs []Runtime) []string {
	var out []string
	for _, r := range rs {
		if r.Shim {
			out = append(out, r.Name)
		}
	}
	sort.Strings(out)
	return out
}

func (d Dockerd) reload() string { return install.DockerdReload(d.Unit, d.Pid) }

func (d Dockerd) restart() string { return install.Restart("dockerd", d.Unit, d.Pid) }

// JudgeDocker judges the runtime wrapper registered with dockerd: installed
// when daemon.json registers armhf-shim's binary, active when a running
// dockerd reading that file reports it in /info.
func JudgeDocker(f DockerFacts) Route {
	r := Route{Name: "docker"}
	if f.ConfigErr != nil {
		r.say("%s: %v", f.ConfigFile, f.ConfigErr)
		r.problem("%s: %v", f.ConfigFile, f.ConfigErr)
	}
	inst := shimNames(f.Runtimes)
	r.Installed = len(inst) > 0
	if r.Installed {
		for _, rt := range f.Runtimes {
			if !rt.Shim {
				continue
			}
			r.say("runtime %q -> %s in %s", rt.Name, rt.Path, f.ConfigFile)
			if rt.Missing {
				r.problem("runtime %q's binary %s does not exist: containers of that runtime fail to start; run armhf-shim install docker again", rt.Name, rt.Path)
			}
		}
	} else if f.ConfigErr == nil {
		r.say("no armhf-shim runtime in %s", f.ConfigFile)
	}
	if len(f.Daemons) == 0 {
		r.say("no running dockerd reads %s", f.ConfigFile)
		return r
	}
	for _, d := range f.Daemons {
		if d.InfoErr != nil {
			r.say("dockerd pid %d: its API (%s) does not answer: %v", d.Pid, d.Socket, d.InfoErr)
			if r.Installed {
				r.problem("cannot tell whether dockerd pid %d uses it: %v", d.Pid, d.InfoErr)
			}
			continue
		}
		act := shimNames(d.Runtimes)
		if len(act) > 0 {
			r.Active = true
			r.say("dockerd pid %d runs with runtime(s) %s (default runtime %q)", d.Pid, strings.Join(act, ", "), d.Default)
		}
		for _, n := range inst {
			if !contains(act, n) {
				r.say("installed, not active: dockerd pid %d has not loaded runtime %q", d.Pid, n)
				r.problem("runtime %q is in %s but dockerd pid %d has not loaded it: %s", n, f.ConfigFile, d.Pid, d.reload())
			}
		}
		for _, n := range act {
			if !contains(inst, n) {
				r.say("active, not installed: dockerd pid %d still has runtime %q", d.Pid, n)
				r.problem("dockerd pid %d still runs with runtime %q, which %s no longer registers: %s", d.Pid, n, f.ConfigFile, d.restart())
			}
		}
		for _, rt := range d.Runtimes {
			if rt.Shim && rt.Missing {
				r.problem("dockerd pid %d's runtime %q runs %s, which does not exist", d.Pid, rt.Name, rt.Path)
			}
		}
		if f.Default != "" && f.Default != d.Default && f.ConfigErr == nil {
			r.say("default runtime %q in %s, dockerd pid %d runs with %q", f.Default, f.ConfigFile, d.Pid, d.Default)
			r.problem("default-runtime %q in %s is not dockerd pid %d's (%q): dockerd applies a default-runtime change when it starts: %s",
				f.Default, f.ConfigFile, d.Pid, d.Default, d.restart())
		}
	}
	if !r.Active && !r.Installed {
		r.say("no running dockerd uses it")
	}
	return r
}

// BuildkitFacts are install buildkit's files and the running dockerds.
type BuildkitFacts struct {
	DropIn        string
	DropInPresent bool
	Link          string // the runc link install makes
	LinkTarget    string // "" when absent
	Daemons       []Dockerd
}

// JudgeBuildkit judges dockerd's embedded BuildKit, which runs `runc` from
// dockerd's PATH: active when a running dockerd's own PATH finds
// armhf-shim first, however it got there (the drop-in, a dockerd started
// by hand with it). The 32-bit dockerd of dind has the wrapper by
// construction and a route of its own: it does not make this one active.
func JudgeBuildkit(f BuildkitFacts) Route {
	r := Route{Name: "buildkit", Installed: f.DropInPresent}
	switch {
	case f.DropInPresent && f.LinkTarget != "":
		r.say("%s puts %s (runc -> %s) first in dockerd's PATH", f.DropIn, f.Link, f.LinkTarget)
	case f.DropInPresent:
		r.say("%s present but the link %s is missing", f.DropIn, f.Link)
		r.problem("%s is missing: BuildKit finds no runc there; run armhf-shim install buildkit again", f.Link)
	default:
		r.say("no %s", f.DropIn)
	}
	if len(f.Daemons) == 0 {
		r.say("no running dockerd")
		return r
	}
	for _, d := range f.Daemons {
		switch {
		case d.Dind != "":
			r.say("dockerd pid %d is armhf-shim dind's (%s; see route dind)", d.Pid, d.Dind)
		case d.EnvErr != nil:
			r.say("dockerd pid %d: cannot read its environment (%v)", d.Pid, d.EnvErr)
		case d.RuncShim:
			r.Active = true
			r.say("dockerd pid %d finds runc at %s (armhf-shim): BuildKit RUN steps get it", d.Pid, d.Runc)
		case d.Runc == "":
			r.say("dockerd pid %d finds no runc on its PATH %s", d.Pid, d.PATH)
		default:
			r.say("dockerd pid %d finds runc at %s, not armhf-shim", d.Pid, d.Runc)
			if r.Installed {
				r.problem("installed, not active: dockerd pid %d started without the drop-in's PATH (its PATH is %s): systemctl daemon-reload && %s",
					d.Pid, d.PATH, d.restart())
			}
		}
	}
	return r
}

// Containerd is a running containerd.
type Containerd struct {
	Pid        int
	ConfigFile string
	Started    time.Time
	Unit       string // its systemd service, "" when none (or systemd does not run the host)
}

// restart says how to restart this containerd (install.Restart).
func (d Containerd) restart() string { return install.Restart("containerd", d.Unit, d.Pid) }

// ContainerdFacts are install containerd's drop-in and the containerds
// reading its config.toml.
type ContainerdFacts struct {
	Config    string
	DropIn    string
	Present   bool // the drop-in exists
	Imported  bool // config.toml imports it
	InPlace   bool // the handler is in config.toml's own CRI section (DropIn is config.toml)
	Handlers  string
	Err       error
	DropInMod time.Time
	ConfigMod time.Time // config.toml's
	Daemons   []Containerd
}

// JudgeContainerd judges the containerd runtime handler: installed when
// config.toml imports the drop-in, active when a containerd reading that
// config.toml started after the drop-in was last written (containerd reads
// its configuration only at start).
func JudgeContainerd(f ContainerdFacts) Route {
	r := Route{Name: "containerd", Installed: f.Present && f.Imported && f.Err == nil}
	switch {
	case f.Err != nil:
		r.say("%v", f.Err)
		r.problem("%v", f.Err)
	case r.Installed && f.InPlace:
		r.say("runtime handler(s) %s in the CRI section of %s", f.Handlers, f.Config)
	case r.Installed:
		r.say("runtime handler(s) %s in %s, imported by %s", f.Handlers, f.DropIn, f.Config)
	case f.Present:
		r.say("%s present but not imported by %s", f.DropIn, f.Config)
		r.problem("%s is not in the imports of %s: containerd never reads it; run armhf-shim install containerd again", f.DropIn, f.Config)
	default:
		r.say("no %s", f.DropIn)
	}
	if len(f.Daemons) == 0 {
		r.say("no running containerd reads %s", f.Config)
		return r
	}
	for _, d := range f.Daemons {
		if !r.Installed {
			if !readAtStart(d.Started, f.ConfigMod) {
				// Changed since it started (an uninstall, say): the file no
				// longer tells which handlers it has.
				r.say("containerd pid %d started before %s was last written: it has the handlers the file held then, unknown from here", d.Pid, f.Config)
				r.problem("containerd pid %d started before %s was last written and reads it only at start: %s", d.Pid, f.Config, d.restart())
			}
			continue
		}
		if readAtStart(d.Started, f.DropInMod) {
			r.Active = true
			r.say("containerd pid %d started after it was written", d.Pid)
		} else {
			r.say("installed, not active: containerd pid %d started before it was written", d.Pid)
			r.problem("containerd pid %d started before %s was written and reads it only at start: %s", d.Pid, f.DropIn, d.restart())
		}
	}
	return r
}

// Hook is an armhf-shim hooks file.
type Hook struct {
	Path    string
	Binary  string // what it runs
	Missing bool   // Binary does not exist
	Read    bool   // it is in a directory podman reads
}

// PodmanFacts are the armhf-shim hooks files and where podman reads hooks.
type PodmanFacts struct {
	Podman   string // podman's path, "" when not installed
	ReadDirs []string
	Hooks    []Hook
}

// JudgePodman judges the OCI hook: installed when a hooks file of
// armhf-shim's exists, active when it is in a directory podman reads
// (podman reads hooks.d for every new container).
func JudgePodman(f PodmanFacts) Route {
	r := Route{Name: "podman", Installed: len(f.Hooks) > 0}
	for _, h := range f.Hooks {
		switch {
		case !h.Read:
			r.say("hook %s in %s, which podman does not read", h.Binary, h.Path)
			r.problem("%s is in a directory podman and CRI-O do not read (they read %s): run armhf-shim install podman again",
				h.Path, strings.Join(f.ReadDirs, ", "))
		case h.Missing:
			r.say("hook %s in %s", h.Binary, h.Path)
			r.problem("the hook %s of %s does not exist: podman skips the hook without a word, so 32-bit containers get the host's cpuinfo; "+
				"install armhf-shim there, or run armhf-shim install podman again", h.Binary, h.Path)
		default:
			r.Active = f.Podman != ""
			r.say("hook %s in %s", h.Binary, h.Path)
		}
	}
	if !r.Installed {
		r.say("no armhf-shim.json in %s", strings.Join(f.ReadDirs, ", "))
	}
	if f.Podman == "" {
		r.say("podman is not installed")
	} else {
		r.say("podman %s reads hooks from %s", f.Podman, strings.Join(f.ReadDirs, ", "))
	}
	return r
}

// ShimRuntime is a runtime podman's containers.conf registers whose path
// is armhf-shim's wrapper.
type ShimRuntime struct {
	Name, Path string
	File       string // the containers.conf file that registers it
	Missing    bool   // none of its paths exists
}

// PodmanAnswer is what podman info says of a runtime: the name and path
// it resolved, or its error.
type PodmanAnswer struct {
	Name, Path string
	Err        string
	Shim       bool // Path is armhf-shim's
}

// PodmanRuntimeFacts are the runtimes of armhf-shim's that podman's
// containers.conf files register, and what podman itself makes of them.
type PodmanRuntimeFacts struct {
	Podman   string // podman's path, "" when not installed
	Runtimes []ShimRuntime
	// Default is what `podman info` reports as its default runtime (nil:
	// not asked); Asked what `podman --runtime NAME info` reports of each
	// runtime of Runtimes that is not the default.
	Default *PodmanAnswer
	Asked   map[string]PodmanAnswer
	// DefaultBy are the files that set [engine] runtime to a runtime of
	// Runtimes (the drop-in of install --set-as-default), Effective the
	// [engine] runtime of the last file that sets one, and EffectiveFile
	// that file.
	DefaultBy                []string
	Effective, EffectiveFile string
	// ConfErrs: containers.conf files podman cannot read.
	ConfErrs []string
	// Override is $CONTAINERS_CONF: podman reads that file alone.
	Override string
	// RuncErr: why the wrapper, run by podman with an empty PATH, finds
	// no real runtime ("" it does).
	RuncErr string
}

// JudgePodmanRuntime judges the runtime wrapper registered with podman
// (install podman-runtime): installed when a containers.conf file
// registers a runtime whose path is armhf-shim's, active when podman
// itself resolves that runtime to it (podman reads containers.conf at
// every command, so no restart is involved).
func JudgePodmanRuntime(f PodmanRuntimeFacts) Route {
	r := Route{Name: "podman-runtime", Installed: len(f.Runtimes) > 0}
	for _, e := range f.ConfErrs {
		r.problem("podman cannot read %s: every podman command fails; fix the file", e)
	}
	if f.Override != "" {
		r.say("CONTAINERS_CONF=%s: podman reads that file alone", f.Override)
	}
	if !r.Installed {
		r.say("no containers.conf registers armhf-shim's runtime wrapper")
		if f.Podman == "" {
			r.say("podman is not installed")
		}
		return r
	}
	missingDefault := false
	isDefault := func(name string) bool {
		return f.Default != nil && f.Default.Err == "" && f.Default.Name == name && f.Default.Shim
	}
	for _, rt := range f.Runtimes {
		r.say("runtime %q is %s (%s)", rt.Name, rt.Path, rt.File)
		if rt.Missing {
			what := "podman run --runtime " + rt.Name + " fails"
			if f.Effective == rt.Name {
				missingDefault = true
				what = "it is podman's default runtime, so every podman command fails (default OCI runtime " + strconv.Quote(rt.Name) + " not found)"
			}
			r.problem("%s registers runtime %q as %s, which does not exist: %s; install armhf-shim there and run armhf-shim install podman-runtime again, or armhf-shim uninstall podman-runtime",
				rt.File, rt.Name, rt.Path, what)
			continue
		}
		if f.Podman == "" {
			continue
		}
		a, asked := f.Asked[rt.Name]
		switch {
		case isDefault(rt.Name):
			r.Active = true
			r.say("podman's default runtime: every podman run goes through the wrapper")
		case asked && a.Err != "":
			r.problem("podman --runtime %s info: %s", rt.Name, a.Err)
		case asked && !a.Shim:
			r.problem("podman resolves runtime %q to %s, not armhf-shim's wrapper", rt.Name, a.Path)
		case asked:
			r.Active = true
			r.say("podman runs it for podman run --runtime %s", rt.Name)
		}
	}
	if f.Default != nil && f.Default.Err != "" {
		if !missingDefault { // else said above
			r.problem("podman info: %s", f.Default.Err)
		}
	} else if f.Default != nil && len(f.DefaultBy) > 0 && !f.Default.Shim {
		why := fmt.Sprintf("%s, read after it, sets [engine] runtime = %q: remove that line", f.EffectiveFile, f.Effective)
		if f.EffectiveFile == "" || contains(f.DefaultBy, f.EffectiveFile) {
			why = "podman does not read it (is CONTAINERS_CONF set?)"
		}
		r.problem("%s makes armhf-shim's runtime podman's default, but podman's default is %q (%s): %s; or run armhf containers with podman run --runtime %s",
			strings.Join(f.DefaultBy, ", "), f.Default.Name, f.Default.Path, why, f.Runtimes[0].Name)
	}
	if f.RuncErr != "" {
		r.problem("podman runs the wrapper with an empty PATH, where it finds no real runtime: %s", f.RuncErr)
	}
	if f.Podman == "" {
		r.say("podman is not installed")
	}
	return r
}

// CLIFacts are the docker on PATH and what install docker-cli recorded.
type CLIFacts struct {
	PATH string
	// Link, Fronts: install docker-cli's link and the docker it fronts
	// ("" when it is not installed).
	Link, Fronts string
	// First is the first docker on PATH ("" none); FirstWrapper whether it
	// is armhf-shim's wrapper.
	First        string
	FirstWrapper bool
	// Configured is the real docker the wrapper execs (its config file's
	// "docker", "" = the next docker on PATH); ConfiguredErr says why it
	// cannot (missing, the wrapper itself).
	Configured    string
	ConfiguredErr string
}

// JudgeDockerCLI judges the docker CLI wrapper: installed when install
// docker-cli recorded its link (or a wrapper is on PATH), active when the
// docker this PATH finds first is the wrapper and it has a real docker to
// exec.
func JudgeDockerCLI(f CLIFacts) Route {
	r := Route{Name: "docker-cli", Installed: f.Link != "" || f.FirstWrapper}
	if f.Link != "" {
		r.say("install docker-cli: %s fronting %s", f.Link, f.Fronts)
	}
	switch {
	case f.First == "":
		r.say("no docker on PATH")
	case f.FirstWrapper:
		r.Active = f.ConfiguredErr == ""
		real := f.Configured
		if real == "" {
			real = "the next docker on PATH"
		}
		r.say("docker on PATH is %s, the wrapper, which execs %s", f.First, real)
	default:
		r.say("docker on PATH is %s, not the wrapper", f.First)
		if r.Installed {
			r.problem("installed, not active on this PATH (%s): %s comes first; put %s's directory before it", f.PATH, f.First, f.Link)
		}
	}
	if f.ConfiguredErr != "" && r.Installed {
		r.problem("%s", f.ConfiguredErr)
	}
	return r
}

// DindFacts are the 32-bit dockerd's status.
type DindFacts struct {
	Dir         string
	Present     bool // its state directory exists
	Running     bool
	Pid         int
	StalePid    int
	Personality string
	Version     string
	Arch        string
	APIError    string
}

// JudgeDind judges the 32-bit dockerd (armhf-shim dind): installed when its
// state directory exists, active when it runs in the LINUX32 personality
// and its API answers.
func JudgeDind(f DindFacts) Route {
	r := Route{Name: "dind", Installed: f.Present}
	if !f.Present {
		r.say("no %s", f.Dir)
		return r
	}
	if !f.Running {
		r.say("%s: not running", f.Dir)
		if f.StalePid != 0 {
			r.say("stale pidfile")
		}
		return r
	}
	r.say("%s: pid %d, personality %s", f.Dir, f.Pid, f.Personality)
	switch {
	case f.APIError != "":
		r.say("its API does not answer: %s", f.APIError)
		r.problem("the 32-bit dockerd pid %d runs but its API does not answer: %s (armhf-shim dind status; its log)", f.Pid, f.APIError)
	case f.Personality != "linux32":
		r.problem("the 32-bit dockerd pid %d runs in personality %s, not linux32: restart it with armhf-shim dind", f.Pid, f.Personality)
	default:
		r.Active = true
		r.say("Docker %s, architecture %s", f.Version, f.Arch)
	}
	return r
}

// LXCContainer is an armhf-lxc container (its armhf-lxc.json).
type LXCContainer struct {
	Name    string
	Docker  bool   // dockerd starts inside
	State   string // "RUNNING", "STOPPED", ... ("" unknown)
	Err     string // its state file is unreadable
	Nesting bool
}

// LXCFacts are the armhf-lxc containers of an lxcpath.
type LXCFacts struct {
	LXCPath    string
	Containers []LXCContainer
}

// JudgeLXC judges the 32-bit LXC build host: installed when armhf-lxc
// containers exist, active when one runs.
func JudgeLXC(f LXCFacts) Route {
	r := Route{Name: "lxc", Installed: len(f.Containers) > 0}
	if len(f.Containers) == 0 {
		r.say("no armhf-lxc containers in %s", f.LXCPath)
		return r
	}
	for _, c := range f.Containers {
		if c.Err != "" {
			r.say("%s: %s", c.Name, c.Err)
			r.problem("container %s: %s", c.Name, c.Err)
			continue
		}
		s := strings.ToLower(c.State)
		if s == "" {
			s = "state unknown"
		}
		if c.State == "RUNNING" {
			r.Active = true
		}
		if c.Docker {
			s += ", dockerd inside (wrapper route)"
		}
		r.say("%s: %s", c.Name, s)
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
