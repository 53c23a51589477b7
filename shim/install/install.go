// Package install registers armhf-shim with the container engines of a
// host, and takes it out again.
//
// The model: each target's edit is a pure function from the current
// content of the files it owns or edits to their new content
// ([DockerInstall], [ContainerdDropIn], [BuildkitdInstall], [PodmanHook],
// ...), so every edit is unit-tested on bytes. The target's plan function
// (planDocker, planContainerd, ...; [BuildPlan] picks it) is the edge: it
// reads the files, asks the running engines what the advice needs, and
// returns a [Plan] of file and symlink changes; [Run] then shows or
// applies that plan:
//
//   - docker: /etc/docker/daemon.json gets runtimes.<name>.path (and
//     default-runtime with --set-as-default), spliced in place so every
//     other byte is kept (jsonedit.go); the advice names the dockerd that
//     reads the file (advice.go);
//   - containerd: a drop-in (conf.d/armhf-shim.toml next to config.toml)
//     for config version 2 or 3 declaring the runtime handler
//     (runtime_type io.containerd.runc.v2, options.BinaryName), usable as a
//     Kubernetes RuntimeClass handler, and the drop-in in config.toml's
//     imports;
//   - podman: an OCI hooks.d file (version 1.0.0) running `armhf-shim hook`
//     at createRuntime and poststop (CRI-O reads the same directory);
//   - podman-runtime, crio: a drop-in (containers.conf.d, crio.conf.d)
//     registering the runtime wrapper as a named OCI runtime (CRI-O: a
//     runtime handler, usable by a Kubernetes RuntimeClass), the default
//     with --set-as-default; unlike the hook, it sets the personality
//     (runtimedropin.go);
//   - buildkit: dockerd's embedded BuildKit runs `runc` from dockerd's PATH
//     and ignores the configured runtime, so a `runc` link to armhf-shim
//     goes in a directory put first in dockerd's PATH by a systemd drop-in;
//   - buildkitd: a standalone buildkitd's buildkitd.toml gets the wrapper
//     as the OCI worker's binary and as the runc of the containerd worker's
//     runc shim, spliced in place (tomledit.go, buildkitd.go);
//   - docker-cli: a `docker` link to the CLI wrapper in the standard PATH
//     directory before the real docker's, which is written into the
//     wrapper's config file as the docker it execs (dockercli.go);
//   - seccomp-agent: a systemd socket unit and service for
//     `armhf-shim seccomp-agent` on the socket the runtime wrapper's config
//     names (seccompagent.go).
//
// The runtime is registered as armhf-runc next to the armhf-shim binary:
// the lean runtime-only binary when it is there, else a link to the
// multi-call binary (which acts as the runtime when called by that name).
//
// Every change is idempotent (installing twice changes nothing the second
// time), shown as a unified diff with --dry-run, and refused with a clear
// error — leaving the file untouched — when the existing file is
// malformed. Nothing of the user's is lost (files.go, state.go): a plan is
// made and applied under a lock on the file's directory, a file is
// replaced atomically and only if it still holds what was read, the
// previous file is backed up under a name never reused, and what install
// replaced or created is recorded beside the file so uninstall puts back
// exactly what was there.
package install

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Targets are the engines install knows.
var Targets = []string{"docker", "containerd", "podman", "buildkit", "buildkitd", "docker-cli", "podman-runtime", "crio", "seccomp-agent"}

// Default paths.
const (
	DefaultRuntimeName  = "armhf"
	DefaultDockerConfig = "/etc/docker/daemon.json"
	DefaultContainerd   = "/etc/containerd/config.toml"
	// DefaultHookFile is the hooks file without containers.conf's hooks_dir.
	DefaultHookFile = PackagedHooksDir + "/armhf-shim.json"
	// LegacyHookFile is where earlier versions put it, where podman 4.3
	// does not look.
	LegacyHookFile         = "/etc/containers/oci/hooks.d/armhf-shim.json"
	DefaultBuildkitDropIn  = "/etc/systemd/system/docker.service.d/armhf-shim-buildkit.conf"
	DefaultBuildkitLinkDir = "/usr/local/lib/armhf-shim/buildkit"
	// RuntimeLinkName is the multi-call name that runs the runtime wrapper.
	RuntimeLinkName = "armhf-runc"
)

// Options of an install or uninstall.
type Options struct {
	Target       string
	Config       string // the target's file ("" = its default)
	RuntimeName  string // docker/containerd runtime name ("" = armhf)
	SetAsDefault bool
	// Replace lets docker install replace a runtime entry of that name
	// that does not run armhf-shim (uninstall puts it back).
	Replace   bool
	DryRun    bool
	Uninstall bool
	// Binary is the armhf-shim binary ("" = this executable).
	Binary string
	// LinkDir is where buildkit's runc link goes, or docker-cli's docker
	// link ("" = default).
	LinkDir string
	// Docker is the docker CLI docker-cli fronts ("" = the configured one,
	// else the first on PATH).
	Docker string
	// IPv6: install docker also sets ipv6, fixed-cidr-v6 (FixedCIDRv6, ""
	// = a random ULA /64) and ip6tables in daemon.json (dockeripv6.go).
	IPv6        bool
	FixedCIDRv6 string
	// DockerdMajor is the major version of the dockerd that reads
	// daemon.json (0 = ask it, as the apply advice finds it).
	DockerdMajor int
	// ContainerdVersion is the version of the containerd that reads the
	// config, "1.6.20" ("" = ask Containerd).
	ContainerdVersion string
	// Containerd is that containerd's binary ("" = the first on PATH).
	Containerd string
	// AgentSocket is the seccomp agent's socket (seccomp-agent: where the
	// runtime wrapper looks for it).
	AgentSocket string
	// Root is where the host's root directory is mounted ("" = /): every
	// path install reads, writes and records (--config, --binary,
	// --link-dir and the defaults) is a host path used below Root, and
	// what it writes into files and records is the host path, so the
	// host's engines read it and an uninstall on the host finds it (a
	// Kubernetes DaemonSet installs with --root /host).
	Root string
	// BeforeChange, when set, is called under install's lock once the plan
	// is made and only when it changes something (Plan.Changes), before
	// anything is written: a caller records what it is about to change
	// (setup) from the same look as the change, not from an earlier one a
	// concurrent install may have made stale. partial says part of the
	// target is installed already (an uninstall now would change
	// something), so an uninstall later would remove more than this run
	// adds. Its error stops the run with nothing changed. Not called with
	// DryRun.
	BeforeChange func(partial bool) error
	Out          io.Writer
	Now          func() time.Time
	procRoot     string // where the running dockerds are looked for ("" = /proc)
	pathEnv      string // the PATH docker-cli searches ("" = systemd's)
}

// root is Root, "/" when not given.
func (o *Options) root() string {
	if o.Root == "" {
		return "/"
	}
	return o.Root
}

// configFile is --config below Root ("" when not given).
func (o *Options) configFile() string { return inRoot(o.Root, o.Config) }

// fileChange replaces (New != nil) or removes (New == nil) a file.
type fileChange struct {
	Path string
	Old  []byte // nil: absent
	New  []byte
	Mode fs.FileMode
	// NoBackup: Old is armhf-shim's own (its record, or content as
	// install wrote it), which install can make again.
	NoBackup bool
	Record   bool // the record of what install changed (not shown as a diff)
}

// linkChange creates (Target != "") or removes a symlink.
type linkChange struct {
	Path, Target string
}

// Plan is what a target wants done.
type Plan struct {
	Files []fileChange
	Links []linkChange
	// Apply says how to make the running engine pick it up.
	Apply []string
	Notes []string
	// RemoveDirs are directories install created, removed once empty.
	RemoveDirs []string
}

// Changes reports whether applying p would change anything but install's
// own record: a file, or a symlink not already as wanted (armhf-shim setup
// records only what it changed, so that its undo leaves alone what was
// there before it).
func (p Plan) Changes() bool {
	for _, f := range p.Files {
		if !f.Record {
			return true
		}
	}
	return len(pendingLinks(p.Links)) > 0
}

func (o *Options) defaults() error {
	if o.RuntimeName == "" {
		o.RuntimeName = DefaultRuntimeName
	}
	if strings.ContainsAny(o.RuntimeName, " /\"'\\.") {
		return fmt.Errorf("invalid runtime name %q: use letters, digits, - and _", o.RuntimeName)
	}
	if o.Root != "" {
		abs, err := filepath.Abs(o.Root)
		if err != nil {
			return err
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return fmt.Errorf("--root %s: not a directory: name where the host's root is mounted", o.Root)
		}
		o.Root = abs
		switch o.Target {
		case "docker-cli":
			return fmt.Errorf("--root: docker-cli looks for docker on this machine's PATH, not the host's: run it on the host, without --root")
		case "seccomp-agent":
			return fmt.Errorf("--root: seccomp-agent's socket comes from this machine's armhf-shim config, not the host's: run it on the host, without --root")
		}
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Binary = exe
		if o.Root != "" {
			host := onHost(o.Root, exe)
			if host == exe {
				return fmt.Errorf("--root %s: this armhf-shim (%s) is not on the host, so the host's engines could not run it: "+
					"copy it below %[1]s and name it as the host sees it with --binary PATH", o.Root, exe)
			}
			o.Binary = host
		}
	} else if o.Root != "" && !filepath.IsAbs(o.Binary) {
		return fmt.Errorf("--binary %s: with --root, name the binary by its absolute path on the host", o.Binary)
	}
	abs, err := filepath.Abs(o.Binary)
	if err != nil {
		return err
	}
	o.Binary = abs
	if v := o.ContainerdVersion; v != "" {
		if _, _, ok := majorMinor(strings.TrimPrefix(v, "v")); !ok {
			return fmt.Errorf("--containerd-version %q: want the version `containerd --version` prints, such as 1.6.20 or 2.1.4", v)
		}
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// runtimeLink is the runtime to register: the lean armhf-runc binary
// when it sits beside armhf-shim (make build ships it: it starts faster
// than the multi-call binary, which matters on every container operation),
// else an armhf-runc link to the multi-call binary.
// The path is the host's; the link is made below Root.
func (o *Options) runtimeLink() (path string, link *linkChange) {
	if filepath.Base(o.Binary) == RuntimeLinkName {
		return o.Binary, nil
	}
	p := filepath.Join(filepath.Dir(o.Binary), RuntimeLinkName)
	if st, err := os.Lstat(inRoot(o.Root, p)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	return p, &linkChange{Path: inRoot(o.Root, p), Target: o.Binary}
}

// readExisting returns a file's content (nil if absent) and mode; a
// symlink is followed below root, as apply writes it.
func readExisting(root, path string) ([]byte, fs.FileMode, error) {
	path, err := resolve(root, path)
	if err != nil {
		return nil, 0, err
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o644, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := os.ReadFile(path)
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, st.Mode().Perm(), err
}

// BuildPlan computes what Run would do.
func BuildPlan(o Options) (Plan, error) {
	if err := o.defaults(); err != nil {
		return Plan{}, err
	}
	switch o.Target {
	case "docker":
		return planDocker(o)
	case "containerd":
		return planContainerd(o)
	case "podman":
		return planPodman(o)
	case "buildkit":
		return planBuildkit(o)
	case "buildkitd":
		return planBuildkitd(o)
	case "docker-cli":
		return planDockerCLI(o)
	case "seccomp-agent":
		return planSeccompAgent(o)
	}
	if t, ok := runtimeDropIns[o.Target]; ok {
		return planRuntimeDropIn(o, t)
	}
	return Plan{}, fmt.Errorf("unknown target %q: want one of %s", o.Target, strings.Join(Targets, ", "))
}

// primaryPath is the file of o's target that install edits first: its
// directory is locked while a plan is made and applied.
func (o *Options) primaryPath() string {
	if o.Config != "" {
		return o.configFile()
	}
	switch o.Target {
	case "docker":
		return inRoot(o.Root, DefaultDockerConfig)
	case "containerd":
		return inRoot(o.Root, DefaultContainerd)
	case "podman":
		return defaultHookFile(o.root())
	case "docker-cli":
		return DefaultCLIConfig
	case "seccomp-agent":
		return DefaultAgentSocketUnit
	case "buildkitd":
		return inRoot(o.Root, DefaultBuildkitdConfig)
	}
	if t, ok := runtimeDropIns[o.Target]; ok {
		return filepath.Join(o.root(), t.defaultPath)
	}
	return inRoot(o.Root, DefaultBuildkitDropIn)
}

// Run shows (--dry-run) or applies the plan of o. The plan is made and
// applied under a lock on the edited file's directory, so concurrent runs
// take turns and each sees what the one before it wrote.
func Run(o Options) error {
	_, err := RunChanged(o)
	return err
}

// RunChanged is Run that also reports whether the plan it made under the
// lock changes anything but install's own record (Plan.Changes; with
// DryRun, whether it would): a caller that acts on a change (setup records
// it) asks this, because a look taken before the lock can be stale by the
// time install runs.
func RunChanged(o Options) (bool, error) {
	if err := o.defaults(); err != nil {
		return false, err
	}
	primary, err := resolve(o.Root, o.primaryPath())
	if err != nil {
		return false, err
	}
	unlock, err := lockDir(filepath.Dir(primary))
	if err != nil {
		return false, err
	}
	defer unlock()
	if !o.DryRun {
		removeStaleTemps(primary)
		removeStaleTemps(statePath(primary))
	}
	p, err := BuildPlan(o)
	if err != nil {
		return false, err
	}
	changes := p.Changes()
	if changes && !o.DryRun && o.BeforeChange != nil {
		// A target uninstall cannot plan (a foreign entry, an enabled
		// unit) counts as partly installed: nothing claims it wrongly.
		un := o
		un.Uninstall, un.BeforeChange = true, nil
		up, err := BuildPlan(un)
		if err := o.BeforeChange(err != nil || up.Changes()); err != nil {
			return false, err
		}
	}
	verb := "install"
	if o.Uninstall {
		verb = "uninstall"
	}
	links := pendingLinks(p.Links)
	if len(p.Files) == 0 && len(links) == 0 {
		fmt.Fprintf(o.Out, "armhf-shim %s %s: nothing to do (already %sed)\n", verb, o.Target, verb)
		return changes, nil
	}
	if o.DryRun {
		fmt.Fprintf(o.Out, "armhf-shim %s %s --dry-run: would change:\n", verb, o.Target)
		for _, f := range p.Files {
			if f.Record {
				fmt.Fprintf(o.Out, "would note what it changed in %s\n", f.Path)
				continue
			}
			fmt.Fprint(o.Out, unifiedDiff(f.Path, f.Old, f.New))
		}
		for _, l := range links {
			if l.Target == "" {
				fmt.Fprintf(o.Out, "would remove symlink %s\n", l.Path)
			} else {
				fmt.Fprintf(o.Out, "would create symlink %s -> %s\n", l.Path, l.Target)
			}
		}
		return changes, nil
	}
	done, err := apply(o.Root, p, links, o.Now().UTC().Format("20060102-150405"))
	if err != nil {
		return false, err
	}
	removeCreatedDirs(p.RemoveDirs)
	for _, d := range done {
		fmt.Fprintln(o.Out, d)
	}
	for _, a := range p.Apply {
		fmt.Fprintln(o.Out, "to apply: "+a)
	}
	for _, n := range p.Notes {
		fmt.Fprintln(o.Out, "note: "+n)
	}
	return changes, nil
}

// apply makes the changes of a plan, all or nothing: each change made is
// undone if a later one fails, and what was done is reported only once
// everything is.
func apply(root string, p Plan, links []linkChange, stamp string) (done []string, err error) {
	var undo []func()
	var backups []string
	fail := func(err error) ([]string, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		for _, b := range backups {
			os.Remove(b)
		}
		return nil, fmt.Errorf("%w; nothing was changed (what was already done is undone)", err)
	}
	for _, f := range p.Files {
		// A file that is a symlink (a config managed elsewhere) is written
		// where it points, and stays a symlink.
		target, err := resolve(root, f.Path)
		if err != nil {
			return fail(err)
		}
		saved := ""
		if f.Old != nil && !f.NoBackup {
			name, made, err := backup(target, f.Old, stamp)
			if err != nil {
				return fail(fmt.Errorf("backing up %s: %w", f.Path, err))
			}
			if made {
				backups = append(backups, name)
			}
			saved = name
		}
		restore := func() { replaceFile(target, f.New, f.Old, f.Mode) }
		if f.Old == nil {
			restore = func() { removeFile(target, f.New) }
		}
		if f.New == nil {
			// Removing a symlink removes the link; undo puts the link back.
			if link, err := os.Readlink(f.Path); err == nil {
				restore = func() { os.Symlink(link, f.Path) }
				err = os.Remove(f.Path)
			} else {
				err = removeFile(f.Path, f.Old)
			}
			if err != nil {
				return fail(fmt.Errorf("removing %s: %w", f.Path, err))
			}
			undo = append(undo, restore)
			done = append(done, "removed "+f.Path+backupNote(saved))
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fail(err)
		}
		if err := replaceFile(target, f.Old, f.New, f.Mode); err != nil {
			return fail(fmt.Errorf("writing %s: %w", target, err))
		}
		undo = append(undo, restore)
		done = append(done, "wrote "+f.Path+backupNote(saved))
	}
	for _, l := range links {
		prev, perr := os.Readlink(l.Path)
		if err := applyLink(l); err != nil {
			return fail(err)
		}
		undo = append(undo, func() {
			os.Remove(l.Path)
			if perr == nil {
				os.Symlink(prev, l.Path)
			}
		})
		if l.Target == "" {
			done = append(done, "removed symlink "+l.Path)
		} else {
			done = append(done, "created symlink "+l.Path+" -> "+l.Target)
		}
	}
	return done, nil
}

func backupNote(b string) string {
	if b == "" {
		return ""
	}
	return " (previous version saved as " + b + ")"
}

// pendingLinks drops links that are already as wanted.
func pendingLinks(ls []linkChange) []linkChange {
	var out []linkChange
	for _, l := range ls {
		cur, err := os.Readlink(l.Path)
		if l.Target == "" {
			if err == nil {
				out = append(out, l)
			}
			continue
		}
		if err != nil || cur != l.Target {
			out = append(out, l)
		}
	}
	return out
}

// applyLink makes or removes a symlink atomically; it never replaces
// something that is not a symlink.
func applyLink(l linkChange) error {
	st, err := os.Lstat(l.Path)
	if err == nil && st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symlink: left unchanged (remove it or choose another location)", l.Path)
	}
	if l.Target == "" {
		return os.Remove(l.Path)
	}
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp-%d", l.Path, os.Getpid())
	os.Remove(tmp)
	if err := os.Symlink(l.Target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.Path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// change returns the file change from old to new, or none if equal.
func change(path string, old, new []byte, mode fs.FileMode) []fileChange {
	if (old == nil) == (new == nil) && string(old) == string(new) {
		return nil
	}
	return []fileChange{{Path: path, Old: old, New: new, Mode: mode}}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
