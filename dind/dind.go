// Package dind runs a Docker daemon inside a 32-bit world on a 64-bit host,
// as a managed service: armhf-shim dind start | stop | status | env.
//
// The model: Docker decides the platform of everything it pulls and builds
// from what the daemon's own uname(2) and /proc/cpuinfo say. A dockerd
// started in the LINUX32 personality (uname -m: armv8l on arm64, i686 on
// x86_64) with an armv7 /proc/cpuinfo bind-mounted in its own mount
// namespace believes it runs on an armv7 machine and picks linux/arm/v7 by
// itself — the route build farms took on Graviton with the docker:dind armhf
// image. The daemon comes from an input (a docker:dind armhf root
// filesystem, image or Docker's static binaries tgz, see package
// [github.com/armhf-shim/armhf-shim/dind/rootfs]), unpacked under a state
// directory that holds everything of this daemon:
//
//	DIR/rootfs        the unpacked input; the directory holding dockerd goes first on PATH
//	DIR/bin           armhf-runc and runc -> the armhf-shim binary (the runtime wrapper)
//	DIR/cpuinfo       the armv7 cpuinfo of this host
//	DIR/daemon.json   dockerd's --config-file (user keys kept)
//	DIR/data          --data-root
//	DIR/run           --exec-root (containerd's state too)
//	DIR/docker.sock   the API socket; DIR/docker.pid the pidfile; DIR/dockerd.log its log
//	DIR/netns         its network namespace, pinned (see NetworkPrivate)
//	DIR/state.json    what start recorded (input, dockerd, mount namespace, network)
//
// dockerd is started through the armhf-shim binary's own exec command
// (LINUX32 personality, private mount namespace, cpuinfo bind-mounted over
// /proc/cpuinfo, then execve), detached in its own session, so the daemon's
// PID is the pidfile's and its mounts live and die with its namespace.
// Containers inherit the personality, but each gets a fresh /proc showing
// the real CPU again, so the daemon's default runtime is the armhf-shim
// runtime wrapper (daemon.json "runtimes"/"default-runtime"), and "runc" on
// its PATH is the wrapper too, for BuildKit's RUN steps.
//
// Stop sends SIGTERM, waits, then SIGKILLs whatever of the daemon is left:
// every process in its mount namespace or started from DIR (containerd,
// shims) and their descendants. Nothing is left mounted or running, and no
// stale pidfile or socket remains.
package dind

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultDir is the default state directory.
const DefaultDir = "/var/lib/armhf-shim/dind"

// Layout names the files of a state directory.
type Layout struct{ Dir string }

func (l Layout) Rootfs() string      { return filepath.Join(l.Dir, "rootfs") }
func (l Layout) BinDir() string      { return filepath.Join(l.Dir, "bin") }
func (l Layout) CPUInfo() string     { return filepath.Join(l.Dir, "cpuinfo") }
func (l Layout) DaemonJSON() string  { return filepath.Join(l.Dir, "daemon.json") }
func (l Layout) DataRoot() string    { return filepath.Join(l.Dir, "data") }
func (l Layout) ExecRoot() string    { return filepath.Join(l.Dir, "run") }
func (l Layout) Socket() string      { return filepath.Join(l.Dir, "docker.sock") }
func (l Layout) Pidfile() string     { return filepath.Join(l.Dir, "docker.pid") }
func (l Layout) Log() string         { return filepath.Join(l.Dir, "dockerd.log") }
func (l Layout) State() string       { return filepath.Join(l.Dir, "state.json") }
func (l Layout) Lock() string        { return filepath.Join(l.Dir, ".lock") }
func (l Layout) NetNS() string       { return filepath.Join(l.Dir, "netns") }
func (l Layout) Host() string        { return "unix://" + l.Socket() }
func (l Layout) RuntimeLink() string { return filepath.Join(l.BinDir(), RuntimeName+"-runc") }

// RuntimeName is the runtime name registered in daemon.json.
const RuntimeName = "armhf"

// maxSocketPath is the limit of a unix socket path (sun_path minus NUL).
const maxSocketPath = 107

// NewLayout checks dir and returns its layout.
func NewLayout(dir string) (Layout, error) {
	if dir == "" {
		dir = DefaultDir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Layout{}, err
	}
	// One directory, one name: through a symlink, a running daemon's
	// directory must still be recognised as its own (processes are matched
	// by the paths on their command lines).
	abs = resolveExisting(abs)
	l := Layout{Dir: abs}
	if n := len(l.Socket()); n > maxSocketPath {
		return l, fmt.Errorf("state directory %s is too long: its socket path would be %d bytes, unix sockets allow %d; choose a shorter --dir", abs, n, maxSocketPath)
	}
	return l, nil
}

// resolveExisting resolves the symlinks in the longest part of the absolute
// path p that exists, keeping the rest as it is.
func resolveExisting(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p
	}
	return filepath.Join(resolveExisting(parent), filepath.Base(p))
}

// Env returns the shell line that points a docker client at the daemon.
func (l Layout) Env() string {
	return "export DOCKER_HOST=" + shellQuote(l.Host())
}

// shellQuote quotes s for a POSIX shell when needed.
func shellQuote(s string) string {
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == ':' || c == '.' || c == '_' || c == '-' || c == '+' || c == '=' || c == ',') {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	out := "'"
	for _, c := range s {
		if c == '\'' {
			out += `'\''`
		} else {
			out += string(c)
		}
	}
	return out + "'"
}

// exists reports whether p exists (without following a final symlink).
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
