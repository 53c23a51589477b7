// Package runtimecfg says which real OCI runtime armhf-shim hands over to
// and where its runtime state lives.
//
// The model: each setting comes from the first of
//
//  1. armhf-shim's own global flag (--armhf-shim-runtime,
//     --armhf-shim-state-root; handy as daemon.json runtimeArgs),
//  2. the environment (ARMHF_SHIM_RUNTIME, ARMHF_SHIM_STATE_ROOT),
//  3. the config file (--armhf-shim-config, ARMHF_SHIM_CONFIG, else
//     /etc/armhf-shim/config.json, which may be absent; keys "runtime" and
//     "stateRoot"; see internal/config),
//  4. the default: "runc" on PATH, else "buildkit-runc" (the name of the
//     runc in moby/buildkit images, so the wrapper set as a builder's OCI
//     worker binary needs no setting there); state under /run/armhf-shim
//     ($XDG_RUNTIME_DIR/armhf-shim when rootless: not root, or root only
//     inside a user namespace, as runc tells).
//
// The wrapper is often installed AS runc (a link named runc early in
// dockerd's PATH, for BuildKit), so the lookup of the real runtime skips
// every candidate that is this very binary (the same file: device and
// inode), and every binary listed in ARMHF_SHIM_SEEN: the identities of
// the armhf-shim copies this exec chain has already passed through. A
// wrapper that finds SEEN set knows another armhf-shim already did the
// work and only forwards, so even two different copies on PATH can never
// loop.
package runtimecfg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
)

// Defaults and environment variable names (the config file's are
// internal/config's).
const (
	DefaultStateRoot = "/run/armhf-shim"
	DefaultRuntime   = "runc"
	// BuildKitRunc is the runc of moby/buildkit images (/usr/bin/buildkit-runc),
	// the runtime looked up when no runc is found and none is configured.
	BuildKitRunc = "buildkit-runc"
	// SourceDefault is Config.RuntimeSource when nothing configured the runtime.
	SourceDefault = "default"

	EnvRuntime   = "ARMHF_SHIM_RUNTIME"
	EnvStateRoot = "ARMHF_SHIM_STATE_ROOT"
	// EnvMachine names the machine 32-bit containers' uname reports
	// (through the seccomp agent); unset: the kernel's.
	EnvMachine = "ARMHF_SHIM_MACHINE"

	DefaultSeccompAgent = "/run/armhf-shim/seccomp-agent.sock"
	// EnvSeen lists (":"-separated) the identities ("dev.ino") of the
	// armhf-shim binaries already in this exec chain.
	EnvSeen = "ARMHF_SHIM_SEEN"
)

// Config is the resolved configuration.
type Config struct {
	Runtime       string // as configured (a path or a name)
	RuntimeSource string // where Runtime came from, for error messages
	StateRoot     string
	ConfigPath    string // the config file read ("" if none)
	// Uname is set when the configuration names a machine for 32-bit
	// containers' uname or the agent's socket (nil otherwise).
	Uname *Uname
}

// SeccompAgent is the agent's socket the wrapper names as a container's
// listenerPath: the configured one, else DefaultSeccompAgent. The agent
// (armhf-shim seccomp-agent) and doctor look for it there too.
func (c Config) SeccompAgent() string {
	if c.Uname != nil {
		return c.Uname.SeccompAgent
	}
	return DefaultSeccompAgent
}

// Uname configures uname in 32-bit containers (docs/uname.md): Machine is
// what uname -m says ("" = the kernel's, unless a container asks), and
// SeccompAgent the agent's socket, linux.seccomp.listenerPath.
type Uname = config.Uname

// unameConfig completes the config file's uname keys (nil if none) with
// the environment and the default socket; nil when nothing is set.
func unameConfig(file *Uname, getenv func(string) string) *Uname {
	u := Uname{SeccompAgent: DefaultSeccompAgent}
	if file != nil {
		u.Machine = file.Machine
		if file.SeccompAgent != "" {
			u.SeccompAgent = file.SeccompAgent
		}
	}
	if v := getenv(EnvMachine); v != "" {
		u.Machine = v
	}
	if u.Machine == "" && u.SeccompAgent == DefaultSeccompAgent {
		return nil
	}
	return &u
}

// Load resolves the configuration from flags, the environment (getenv)
// and the config file. A config file named explicitly must exist; the
// default one may be absent. A malformed file is an error naming it.
func Load(flags runcargs.Shim, getenv func(string) string) (Config, error) {
	c := Config{Runtime: DefaultRuntime, RuntimeSource: SourceDefault}
	path, explicit := config.Locate(flags.Config, getenv)
	f, found, err := config.Load(path, explicit)
	switch {
	case err != nil && found:
		return c, err
	case err != nil:
		return c, fmt.Errorf("armhf-shim config: %w", err)
	case found:
		c.ConfigPath = path
		if f.Runtime != "" {
			c.Runtime, c.RuntimeSource = f.Runtime, "config file "+path
		}
		c.StateRoot = f.StateRoot
		c.Uname = f.Uname
	}
	if v := getenv(EnvRuntime); v != "" {
		c.Runtime, c.RuntimeSource = v, "$"+EnvRuntime
	}
	if v := getenv(EnvStateRoot); v != "" {
		c.StateRoot = v
	}
	c.Uname = unameConfig(c.Uname, getenv)
	if flags.Runtime != "" {
		c.Runtime, c.RuntimeSource = flags.Runtime, "--armhf-shim-runtime"
	}
	if flags.StateRoot != "" {
		c.StateRoot = flags.StateRoot
	}
	if c.StateRoot == "" {
		c.StateRoot = defaultStateRoot(getenv)
	}
	if !filepath.IsAbs(c.StateRoot) {
		return c, fmt.Errorf("armhf-shim state root %q must be an absolute path", c.StateRoot)
	}
	return c, nil
}

// defaultStateRoot is /run/armhf-shim, or $XDG_RUNTIME_DIR/armhf-shim for
// a rootless runtime (as runc's own default root moves there). Rootless is
// runc's test: not root, or root only in a user namespace (rootless
// podman runs the runtime and its hooks as the root of its own user
// namespace, with the user's XDG_RUNTIME_DIR).
func defaultStateRoot(getenv func(string) string) string {
	// The environment first: a system call spared for root services,
	// which have no XDG_RUNTIME_DIR.
	if xdg := getenv("XDG_RUNTIME_DIR"); xdg != "" && (os.Geteuid() != 0 || InUserNamespace()) {
		return filepath.Join(xdg, "armhf-shim")
	}
	return DefaultStateRoot
}

// uidMapPath is the process's uid map (tests point it elsewhere).
var uidMapPath = "/proc/self/uid_map"

// InUserNamespace reports whether the process runs in a user namespace
// other than the initial one: its uid map is not the identity
// "0 0 4294967295" (runc's userns.RunningInUserNS). An unreadable map
// counts as the initial namespace.
func InUserNamespace() bool {
	b, err := fsutil.ReadFile(uidMapPath)
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// FileID identifies a file; ARMHF_SHIM_SEEN lists them as "dev.ino".
type FileID = fsutil.FileID

// StatID returns the identity of the executable regular file p names
// (following symlinks).
func StatID(p string) (FileID, error) {
	id, executable, err := fsutil.Identify(p)
	if err == nil && !executable {
		err = fmt.Errorf("%s is not an executable file", p)
	}
	return id, err
}

// SelfID returns the identity of the running binary. argv0 with a slash —
// how docker, containerd and BuildKit exec a runtime, by its configured
// path — is stat'ed; otherwise /proc/self/exe. (A procfs lookup is the
// dearer one in a fresh process: the kernel instantiates the process's
// /proc entries on first use.) An argv0 naming another file can only make
// the wrapper exec itself once: that second copy gets its own path as
// argv0 and ARMHF_SHIM_SEEN set, and refuses to go on.
func SelfID(argv0 string) (FileID, error) {
	if strings.Contains(argv0, "/") {
		if id, err := StatID(argv0); err == nil {
			return id, nil
		}
	}
	return StatID("/proc/self/exe")
}

// SplitSeen parses an ARMHF_SHIM_SEEN value: ":"-separated identities
// ("dev.ino") of the armhf-shim binaries already in this exec chain.
// Malformed entries are skipped; the caller only needs to know that the
// list is not empty to stop modifying.
func SplitSeen(v string) []FileID {
	if v == "" {
		return nil
	}
	var out []FileID
	for _, e := range strings.Split(v, ":") {
		d, i, ok := strings.Cut(e, ".")
		dev, err1 := strconv.ParseUint(d, 10, 64)
		ino, err2 := strconv.ParseUint(i, 10, 64)
		if ok && err1 == nil && err2 == nil {
			out = append(out, FileID{Dev: dev, Ino: ino})
		}
	}
	return out
}

// StandardPath is searched when PATH is empty or unset, as podman runs
// its OCI runtime with an empty PATH.
const StandardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// SearchPath is the PATH a runtime name is searched in: pathEnv, or
// StandardPath when it is empty.
func SearchPath(pathEnv string) string {
	if pathEnv == "" {
		return StandardPath
	}
	return pathEnv
}

// Find returns the path of the real runtime for configured (a path, or a
// name searched in SearchPath(pathEnv)), never one that is the file self or one of
// seen: "the same file" is the same device and inode, so a symlink, a hard
// link or a bind mount of armhf-shim is recognised without resolving any
// path (one stat per candidate). With nothing configured (source
// SourceDefault), a name not found is followed by BuildKitRunc: runc
// anywhere on the path wins, so a host's dockerd keeps the runc it had.
// (BuildKit's own lookup prefers buildkit-runc; in its image there is no
// runc, so both find the same binary there.)
func Find(configured, source, pathEnv string, self FileID, seen []FileID) (string, error) {
	skip := func(id FileID) bool {
		if id == self {
			return true
		}
		for _, s := range seen {
			if id == s {
				return true
			}
		}
		return false
	}
	if strings.Contains(configured, "/") {
		id, err := StatID(configured)
		if err != nil {
			return "", fmt.Errorf("real OCI runtime %s (from %s): %w", configured, source, err)
		}
		if skip(id) {
			return "", fmt.Errorf("real OCI runtime %s (from %s) is armhf-shim itself: it would call itself forever; "+
				"set it to the real runc, e.g. /usr/sbin/runc", configured, source)
		}
		return configured, nil
	}
	names := []string{configured}
	if source == SourceDefault && configured != BuildKitRunc {
		names = append(names, BuildKitRunc)
	}
	pathEnv = SearchPath(pathEnv)
	found, skipped := search(names, pathEnv, StatID, skip)
	if found != "" {
		return found, nil
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	msg := fmt.Sprintf("no real OCI runtime %s (from %s) found on PATH=%s", strings.Join(quoted, " or "), source, pathEnv)
	if len(skipped) > 0 {
		msg += fmt.Sprintf(" (skipped %s: armhf-shim itself)", strings.Join(skipped, ", "))
	}
	return "", errors.New(msg + "; install runc or set " + EnvRuntime + ", --armhf-shim-runtime or \"runtime\" in " + config.DefaultPath)
}

// search looks for each of names, in order, in every directory of
// pathEnv, and returns the first candidate stat identifies whose identity
// is not to be skipped, with the candidates it skipped.
func search(names []string, pathEnv string, stat func(string) (FileID, error), skip func(FileID) bool) (found string, skipped []string) {
	for _, name := range names {
		for _, dir := range filepath.SplitList(pathEnv) {
			if dir == "" {
				dir = "."
			}
			cand := dir + "/" + name
			id, err := stat(cand)
			if err != nil {
				continue
			}
			if skip(id) {
				skipped = append(skipped, cand)
				continue
			}
			return cand, skipped
		}
	}
	return "", skipped
}
