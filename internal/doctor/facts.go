package doctor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/dind"
	"github.com/armhf-shim/armhf-shim/dockercli"
	"github.com/armhf-shim/armhf-shim/dockercli/dockerbin"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
)

// The edge: facts gathered from the host's files, /proc and the engines'
// APIs. Nothing here judges.

// host gathers facts; Proc and Root are /proc and / (tests move them).
type host struct {
	opts Options
	self string // this executable, resolved
	// dockerds are the running dockerds, scanned from /proc once per run
	// (runningDockerds): dockerFacts and allDockerds both walk them.
	dockerds        []install.RunningDockerd
	dockerdsScanned bool
}

// runningDockerds are the dockerds running in Root (install.RunningDockerds),
// from the first call's scan of /proc.
func (h *host) runningDockerds() []install.RunningDockerd {
	if !h.dockerdsScanned {
		h.dockerds, h.dockerdsScanned = install.RunningDockerds(h.opts.Proc, h.opts.Root), true
	}
	return h.dockerds
}

func newHost(o Options) *host {
	h := &host{opts: o}
	if exe, err := os.Executable(); err == nil {
		h.self, _ = filepath.EvalSymlinks(exe)
	}
	return h
}

// isShim reports whether a runtime or runc path runs armhf-shim.
func (h *host) isShim(p string) bool {
	if install.IsShimPath(p) {
		return true
	}
	rp, err := filepath.EvalSymlinks(p)
	return err == nil && h.self != "" && rp == h.self
}

// runtime reads what a registered runtime's path points at: whether it
// exists and whether it is armhf-shim. Shim is decided by the path as
// registered: a bare name that PATH resolves to armhf-shim (dockerd's
// runc, BuildKit's route) is not a runtime registered as armhf-shim's.
func (h *host) runtime(name, path, searchPATH string) Runtime {
	rt := Runtime{Name: name, Path: path}
	if path == "" {
		return rt // a shim-based runtime (io.containerd.runc.v2): no binary of its own
	}
	p := path
	if !strings.Contains(p, "/") {
		p = lookPath(p, searchPATH)
	} else {
		rt.Shim = h.isShim(p)
	}
	if p == "" {
		rt.Missing = true
	} else if _, err := os.Stat(p); err != nil {
		rt.Missing = true
	}
	return rt
}

// lookPath finds an executable name on PATH ("" when none).
func lookPath(name, path string) string {
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// dockerFacts reads daemon.json and asks every dockerd that reads it.
func (h *host) dockerFacts() DockerFacts {
	f := DockerFacts{ConfigFile: h.opts.DaemonJSON}
	b, err := os.ReadFile(f.ConfigFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.ConfigErr = err
	}
	var hosts []string
	if len(bytes.TrimSpace(b)) > 0 {
		var c struct {
			Runtimes map[string]struct{ Path string } `json:"runtimes"`
			Default  string                           `json:"default-runtime"`
			Hosts    []string                         `json:"hosts"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			f.ConfigErr = fmt.Errorf("malformed: %v", err)
		}
		for _, n := range sortedKeys(c.Runtimes) {
			f.Runtimes = append(f.Runtimes, h.runtime(n, c.Runtimes[n].Path, os.Getenv("PATH")))
		}
		f.Default, hosts = c.Default, c.Hosts
	}
	for _, d := range h.runningDockerds() {
		if !fsutil.SameFile(d.ConfigFile, f.ConfigFile) {
			continue
		}
		f.Daemons = append(f.Daemons, h.dockerd(d, hosts))
	}
	return f
}

// dockerd asks a running dockerd for /info and reads its environment.
func (h *host) dockerd(rd install.RunningDockerd, cfgHosts []string) Dockerd {
	d := Dockerd{Pid: rd.Pid, Unit: rd.Unit}
	dir := filepath.Join(h.opts.Proc, strconv.Itoa(rd.Pid))
	d.Socket = unixSocket(hostArgs(readArgs(filepath.Join(dir, "cmdline"))), cfgHosts)
	var info struct {
		Runtimes       map[string]struct{ Path string }
		DefaultRuntime string
	}
	if d.Socket == "" {
		d.InfoErr = errors.New("it listens on no unix socket")
	} else if err := apiGet(d.Socket, "/info", &info); err != nil {
		d.InfoErr = err
	}
	env, err := os.ReadFile(filepath.Join(dir, "environ"))
	if err != nil {
		d.EnvErr = err
	} else {
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				d.PATH = v
			}
		}
		if d.Runc = lookPath("runc", d.PATH); d.Runc != "" {
			d.RuncShim = h.isShim(d.Runc)
		}
	}
	for _, n := range sortedKeys(info.Runtimes) {
		d.Runtimes = append(d.Runtimes, h.runtime(n, info.Runtimes[n].Path, d.PATH))
	}
	d.Default = info.DefaultRuntime
	return d
}

func readArgs(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// hostArgs are dockerd's -H/--host values.
func hostArgs(args []string) []string {
	var out []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-H" || a == "--host") && i+1 < len(args):
			out = append(out, args[i+1])
			i++
		case strings.HasPrefix(a, "--host="):
			out = append(out, strings.TrimPrefix(a, "--host="))
		case strings.HasPrefix(a, "-H") && len(a) > 2:
			out = append(out, strings.TrimPrefix(strings.TrimPrefix(a, "-H"), "="))
		}
	}
	return out
}

// unixSocket is the first unix socket among a dockerd's hosts (its -H,
// else daemon.json's hosts, else the default socket).
func unixSocket(args, cfg []string) string {
	hosts := args
	if len(hosts) == 0 {
		hosts = cfg
	}
	if len(hosts) == 0 {
		return "/var/run/docker.sock"
	}
	for _, h := range hosts {
		if s, ok := strings.CutPrefix(h, "unix://"); ok {
			if s == "" {
				s = "/var/run/docker.sock"
			}
			return s
		}
		if strings.HasPrefix(h, "fd://") {
			return "/var/run/docker.sock" // systemd's socket activation: docker.socket's path
		}
	}
	return ""
}

// apiGet sends GET path to a Docker API socket and decodes the JSON reply.
func apiGet(socket, path string, v any) error {
	status, head, body, err := apiRequest(socket, "GET", path)
	if err != nil {
		return err
	}
	if status != 200 {
		line, _, _ := strings.Cut(head, "\r\n")
		return fmt.Errorf("GET %s: %s", path, line)
	}
	return json.Unmarshal(body, v)
}

func (h *host) buildkitFacts(daemons []Dockerd) BuildkitFacts {
	f := BuildkitFacts{DropIn: h.opts.BuildkitDropIn, Link: install.BuildkitLink(h.opts.BuildkitLinkDir), Daemons: daemons}
	_, err := os.Stat(f.DropIn)
	f.DropInPresent = err == nil
	f.LinkTarget, _ = os.Readlink(f.Link)
	return f
}

// allDockerds are every running dockerd (BuildKit is judged by each,
// whatever daemon.json it reads); dind's, when it runs, is marked with
// its state directory.
func (h *host) allDockerds(known []Dockerd, dind DindFacts) []Dockerd {
	have := map[int]bool{}
	for _, d := range known {
		have[d.Pid] = true
	}
	out := append([]Dockerd(nil), known...)
	for _, rd := range h.runningDockerds() {
		if !have[rd.Pid] {
			out = append(out, h.dockerd(rd, nil))
		}
	}
	for i := range out {
		if dind.Running && out[i].Pid == dind.Pid {
			out[i].Dind = dind.Dir
		}
	}
	return out
}

func (h *host) containerdFacts() ContainerdFacts {
	s := install.InspectContainerd(h.opts.ContainerdConfig)
	f := ContainerdFacts{Config: h.opts.ContainerdConfig, DropIn: s.DropIn, Present: s.Present, Imported: s.Imported, Handlers: s.Handlers, Err: s.Err, InPlace: s.InPlace}
	if st, err := os.Stat(s.DropIn); err == nil {
		f.DropInMod = st.ModTime()
	}
	if st, err := os.Stat(f.Config); err == nil {
		f.ConfigMod = st.ModTime()
	}
	for _, rd := range install.RunningContainerds(h.opts.Proc, h.opts.Root) {
		if !fsutil.SameFile(rd.ConfigFile, f.Config) {
			continue
		}
		d := Containerd{Pid: rd.Pid, ConfigFile: rd.ConfigFile, Unit: rd.Unit, Started: h.started(rd.Pid)}
		f.Daemons = append(f.Daemons, d)
	}
	return f
}

// pidsNamed lists the processes whose comm is name.
func (h *host) pidsNamed(name string) []int {
	ents, _ := os.ReadDir(h.opts.Proc)
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(h.opts.Proc, e.Name(), "comm")); strings.TrimSpace(string(b)) == name && install.InRoot(h.opts.Proc, h.opts.Root, pid) {
			out = append(out, pid)
		}
	}
	return out
}

// readAtStart reports whether a daemon started at started read a file
// last written at mod: started is the latest its start can have been
// (host.started), so a file written after it was written after the start.
func readAtStart(started, mod time.Time) bool {
	return !mod.After(started)
}

// started is the latest a process's start can have been: /proc/PID/stat's
// starttime (clock ticks after boot, USER_HZ 100 on Linux, rounded down)
// after the boot time. /proc/stat's btime gives the boot time only to the
// second, which made a daemon started, then set up, within one second look
// as if it had read the new file; CLOCK_BOOTTIME gives it to the
// microsecond, and is used when it agrees with btime (the same host's
// /proc). Else the second btime may be off is added.
func (h *host) started(pid int) time.Time {
	b, err := os.ReadFile(filepath.Join(h.opts.Proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return time.Time{}
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return time.Time{}
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return time.Time{}
	}
	ticks, _ := strconv.ParseInt(f[19], 10, 64)
	const tick = 10 * time.Millisecond
	after := time.Duration(ticks)*tick + tick
	st, err := os.Open(filepath.Join(h.opts.Proc, "stat"))
	if err != nil {
		return time.Time{}
	}
	defer st.Close()
	sc := bufio.NewScanner(st)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			bt, _ := strconv.ParseInt(v, 10, 64)
			btime := time.Unix(bt, 0)
			if boot, ok := bootTime(); ok && boot.Sub(btime) > -time.Second && boot.Sub(btime) < 2*time.Second {
				return boot.Add(after)
			}
			return btime.Add(after + time.Second)
		}
	}
	return time.Time{}
}

// bootTime is when this host booted, to the microsecond: now less the time
// since boot (CLOCK_BOOTTIME, which /proc's start times count from).
func bootTime() (time.Time, bool) {
	var ts unix.Timespec
	now := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(ts.Nano())), true
}

func (h *host) podmanFacts() PodmanFacts {
	f := PodmanFacts{ReadDirs: install.PodmanHooksDirs(h.opts.Root)}
	f.Podman = lookPath("podman", os.Getenv("PATH")+":/usr/bin:/usr/local/bin")
	dirs := append([]string{}, f.ReadDirs...)
	for _, d := range []string{install.PackagedHooksDir, filepath.Dir(install.LegacyHookFile)} {
		if !contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		ents, _ := os.ReadDir(filepath.Join(h.opts.Root, d))
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".json") {
				continue // the engines read only *.json (a backup is not a hook)
			}
			p := filepath.Join(h.opts.Root, d, e.Name())
			b, err := os.ReadFile(p)
			if err != nil || !install.IsOurHook(b) {
				continue
			}
			hk := Hook{Path: p, Binary: install.HookPath(b), Read: contains(f.ReadDirs, d)}
			if _, err := os.Stat(hk.Binary); err != nil {
				hk.Missing = true
			}
			f.Hooks = append(f.Hooks, hk)
		}
	}
	return f
}

// askPodman asks podman (podman info, after the global flags args) which
// runtime it resolves by default: its own word, from the containers.conf
// files it reads. A variable: tests answer for podman.
var askPodman = func(podman string, args ...string) PodmanAnswer {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args = append(args, "info", "--format", "{{.Host.OCIRuntime.Name}}\n{{.Host.OCIRuntime.Path}}")
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, podman, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(tailLines(stderr.String(), 1))
		if msg == "" {
			msg = err.Error()
		}
		return PodmanAnswer{Err: msg}
	}
	name, path, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return PodmanAnswer{Name: name, Path: path}
}

func (h *host) podmanRuntimeFacts() PodmanRuntimeFacts {
	conf := install.InspectPodmanConf(h.opts.Root)
	f := PodmanRuntimeFacts{ConfErrs: conf.Errs, Effective: conf.Runtime, EffectiveFile: conf.RuntimeFile, Override: conf.Override}
	f.Podman = lookPath("podman", os.Getenv("PATH")+":/usr/bin:/usr/local/bin")
	shim := map[string]bool{}
	for _, name := range sortedKeys(conf.Runtimes) {
		e := conf.Runtimes[name]
		// podman runs the first of the paths that is a regular file.
		rt := ShimRuntime{Name: name, File: e.File, Missing: true}
		for _, p := range e.Paths {
			if st, err := os.Stat(filepath.Join(h.opts.Root, p)); err == nil && st.Mode().IsRegular() {
				rt.Path, rt.Missing = p, false
				break
			}
		}
		if rt.Missing {
			for _, p := range e.Paths {
				if install.IsShimPath(p) {
					rt.Path = p
				}
			}
		}
		if rt.Path == "" || !h.isShim(filepath.Join(h.opts.Root, rt.Path)) {
			continue
		}
		shim[name] = true
		f.Runtimes = append(f.Runtimes, rt)
	}
	for _, file := range sortedKeys(conf.RuntimeSetBy) {
		if shim[conf.RuntimeSetBy[file]] {
			f.DefaultBy = append(f.DefaultBy, file)
		}
	}
	if len(f.Runtimes) == 0 {
		return f
	}
	for _, rt := range f.Runtimes {
		if rt.Missing {
			continue
		}
		// podman gives its runtime an empty environment's PATH: the
		// wrapper looks for runc in the standard directories then.
		cfg, err := runtimecfg.Load(runcargs.Shim{}, func(string) string { return "" })
		if err == nil {
			var self runtimecfg.FileID
			if self, err = runtimecfg.StatID(filepath.Join(h.opts.Root, rt.Path)); err == nil {
				_, err = runtimecfg.Find(cfg.Runtime, cfg.RuntimeSource, "", self, nil)
			}
		}
		if err != nil {
			f.RuncErr = err.Error()
		}
		break
	}
	if f.Podman == "" || h.opts.Root != "/" {
		return f // the host's podman reads the host's files, not Root's
	}
	d := askPodman(f.Podman)
	d.Shim = d.Err == "" && h.isShim(d.Path)
	f.Default = &d
	f.Asked = map[string]PodmanAnswer{}
	for _, rt := range f.Runtimes {
		if rt.Missing || (d.Shim && d.Name == rt.Name) {
			continue
		}
		a := askPodman(f.Podman, "--runtime", rt.Name)
		a.Shim = a.Err == "" && h.isShim(a.Path)
		f.Asked[rt.Name] = a
	}
	return f
}

func (h *host) cliFacts() CLIFacts {
	f := CLIFacts{PATH: os.Getenv("PATH")}
	if s, err := install.InspectDockerCLI(h.opts.CLIConfig); err == nil && s != nil {
		f.Link, f.Fronts = s.Link, s.Fronts
	}
	for _, d := range filepath.SplitList(f.PATH) {
		p := filepath.Join(d, dockerbin.Name)
		if _, exe, err := fsutil.Identify(p); err == nil && exe {
			f.First = p
			break
		}
	}
	if f.First == "" {
		return f
	}
	f.FirstWrapper = install.IsDockerWrapper(f.First)
	if !f.FirstWrapper {
		return f
	}
	cfg, err := os.ReadFile(h.opts.CLIConfig)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.ConfiguredErr = err.Error()
		return f
	}
	s, _, err := dockercli.ParseSettings(nil, func(string) string { return "" }, cfg, h.opts.CLIConfig)
	if err != nil {
		f.ConfiguredErr = err.Error()
		return f
	}
	f.Configured = s.Docker
	real, err := dockerbin.Finder{Explicit: s.Docker, PATH: f.PATH, Self: f.First}.Find()
	if err != nil {
		f.ConfiguredErr = "the wrapper " + f.First + " has no real docker to exec: " + err.Error()
	} else if install.IsDockerWrapper(real) {
		f.ConfiguredErr = "the wrapper " + f.First + " would exec " + real + ", another copy of the wrapper"
	} else if f.Configured == "" {
		f.Configured = real
	}
	return f
}

func (h *host) dindFacts() DindFacts {
	l, err := dind.NewLayout(h.opts.DindDir)
	if err != nil {
		return DindFacts{Dir: h.opts.DindDir, APIError: err.Error()}
	}
	f := DindFacts{Dir: l.Dir}
	if _, err := os.Stat(l.Dir); err != nil {
		return f
	}
	f.Present = true
	s := dind.GetStatus(l)
	f.Running, f.Pid, f.StalePid, f.Personality = s.Running, s.Pid, s.StalePid, s.Personality
	f.Version, f.Arch, f.APIError = s.Version, s.Architecture, s.APIError
	return f
}

// lxcStateFile is armhf-lxc's record in a container directory (package
// lxc's StateFile; that package needs cgo, armhf-shim is static).
const lxcStateFile = "armhf-lxc.json"

func (h *host) lxcFacts() LXCFacts {
	f := LXCFacts{LXCPath: h.opts.LXCPath}
	if f.LXCPath == "" {
		f.LXCPath = lxcPath(filepath.Join(h.opts.Root, "etc/lxc/lxc.conf"))
	}
	ents, _ := os.ReadDir(f.LXCPath)
	for _, e := range ents {
		p := filepath.Join(f.LXCPath, e.Name(), lxcStateFile)
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		c := LXCContainer{Name: e.Name()}
		var s struct {
			Name    string `json:"name"`
			Docker  bool   `json:"docker"`
			Nesting bool   `json:"nesting"`
		}
		if err != nil {
			c.Err = err.Error()
		} else if err := json.Unmarshal(b, &s); err != nil {
			c.Err = fmt.Sprintf("%s is corrupt: %v", p, err)
		}
		c.Docker, c.Nesting = s.Docker, s.Nesting
		if c.Err == "" {
			c.State = lxcState(f.LXCPath, e.Name())
		}
		f.Containers = append(f.Containers, c)
	}
	sort.Slice(f.Containers, func(i, j int) bool { return f.Containers[i].Name < f.Containers[j].Name })
	return f
}

// lxcPath is lxc.lxcpath of lxc.conf, else liblxc's default.
func lxcPath(conf string) string {
	b, _ := os.ReadFile(conf)
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.TrimSpace(k) == "lxc.lxcpath" {
			return strings.TrimSpace(v)
		}
	}
	return "/var/lib/lxc"
}

// lxcState asks lxc-info for a container's state ("" when it cannot).
func lxcState(lxcpath, name string) string {
	out, err := exec.Command("lxc-info", "-P", lxcpath, "-n", name, "-s", "-H").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
