package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/armhf-shim/armhf-shim/shim/install"
)

// buildkitdConfig reads the buildkitd.toml at path as seen from root (a
// process's /proc/PID/root, or the host's /), with install's reading of it.
func (h *host) buildkitdConfig(root, path string) BuildkitdConfig {
	c := BuildkitdConfig{Path: path}
	p := filepath.Join(root, path)
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c
	}
	if err == nil {
		c.Mod = st.ModTime()
	}
	b, err := os.ReadFile(p)
	if err != nil {
		c.Err = err
		return c
	}
	c.Present = true
	cfg, err := install.ParseBuildkitdConfig(b)
	if err != nil {
		c.Err = errors.New("malformed: buildkitd refuses to start with it")
		return c
	}
	c.OCIBinary = cfg.Worker.OCI.Binary
	c.OCIShim = c.OCIBinary != "" && h.isShimIn(root, c.OCIBinary)
	c.OCIOff = cfg.Worker.OCI.Enabled != nil && !*cfg.Worker.OCI.Enabled
	c.ContainerdOff = !cfg.ContainerdEnabled()
	c.ContainerdAuto = cfg.Worker.Containerd.Enabled == nil
	c.ContainerdAddress = cfg.Worker.Containerd.Address
	c.Addresses = cfg.GRPC.Address
	c.ContainerdBinary = cfg.ContainerdBinary()
	c.ContainerdShim = c.ContainerdBinary != "" && h.isShimIn(root, c.ContainerdBinary)
	return c
}

// isShimIn reports whether binary p, in the mount namespace whose root is
// root, is armhf-shim's.
func (h *host) isShimIn(root, p string) bool {
	if install.IsShimPath(p) {
		return true
	}
	if root == "/" || root == "" {
		return h.isShim(p)
	}
	return install.IsShimPath(filepath.Join(root, p))
}

// buildkitdFacts reads the default buildkitd.toml and every running
// buildkitd's command line and config (in its own mount namespace: a
// builder container's buildkitd reads the container's file).
func (h *host) buildkitdFacts() BuildkitdFacts {
	f := BuildkitdFacts{Default: h.buildkitdConfig(h.opts.Root, h.opts.BuildkitdConfig)}
	for _, pid := range h.pidsNamed("buildkitd") {
		dir := filepath.Join(h.opts.Proc, strconv.Itoa(pid))
		args := readArgs(filepath.Join(dir, "cmdline"))
		d := Buildkitd{Pid: pid, Started: h.started(pid)}
		cfg := BuildkitdConfigPath(dir, args)
		flag := func(i int, name string) (string, bool) {
			if v, ok := strings.CutPrefix(args[i], "--"+name+"="); ok {
				return v, true
			}
			if args[i] == "--"+name && i+1 < len(args) {
				return args[i+1], true
			}
			return "", false
		}
		for i := 1; i < len(args); i++ {
			if v, ok := flag(i, "oci-worker-binary"); ok {
				d.FlagBinary = v
			} else if v, ok := flag(i, "containerd-worker-runtime"); ok {
				d.ContainerdRuntime = v
			} else if v, ok := flag(i, "containerd-worker-addr"); ok {
				d.ContainerdAddr = v
			} else if v, ok := strings.CutPrefix(args[i], "--oci-worker="); ok {
				d.OCIWorker = v
			} else if args[i] == "--oci-worker" && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				d.OCIWorker = args[i+1]
			} else if v, ok := strings.CutPrefix(args[i], "--containerd-worker="); ok {
				d.ContainerdWorker = v
			} else if args[i] == "--containerd-worker" && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				d.ContainerdWorker = args[i+1]
			}
		}
		root := filepath.Join(dir, "root")
		if fsutilSameRoot(dir) {
			root = h.opts.Root
		}
		d.Config = h.buildkitdConfig(root, cfg)
		if d.FlagBinary != "" {
			d.FlagShim = h.isShimIn(root, d.FlagBinary)
		}
		d.Addr, d.Workers, d.WorkersKnown, d.WorkersNote = h.buildkitdWorkers(root, BuildkitdAddrs(dir, args, d.Config.Addresses))
		f.Daemons = append(f.Daemons, d)
	}
	return f
}

// BuildkitdConfigPath is the buildkitd.toml the buildkitd of /proc dir,
// run with args, reads: its --config, else $BUILDKITD_CONFIG (buildkitd's
// own fallback for the flag), else its default (a rootless buildkitd's
// under its $XDG_CONFIG_HOME: buildkitdDefaults).
func BuildkitdConfigPath(dir string, args []string) string {
	if len(args) > 1 {
		if v, ok := flagValue(args[1:], "--config"); ok {
			return v
		}
	}
	env := procEnviron(dir)
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "BUILDKITD_CONFIG="); ok && v != "" {
			return v
		}
	}
	uidMap, _ := os.ReadFile(filepath.Join(dir, "uid_map"))
	cfg, _ := buildkitdDefaults(env, string(uidMap))
	return cfg
}

// procEnviron is the environment of the process of /proc dir (nil when
// unreadable).
func procEnviron(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "environ"))
	if err != nil {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// buildkitdDefaults are the config file and address a buildkitd with
// environment env and /proc/PID/uid_map uidMap uses when not told: as
// buildkitd v0.35.0 decides (isRootlessConfig, appdefaults), a rootless
// one — in a user namespace, $USER set and not root — reads
// $XDG_CONFIG_HOME/buildkit/buildkitd.toml (else ~/.config/buildkit) and
// listens in $XDG_RUNTIME_DIR/buildkit; others /etc/buildkit and
// /run/buildkit.
func buildkitdDefaults(env []string, uidMap string) (config, addr string) {
	config, addr = install.DefaultBuildkitdConfig, DefaultBuildkitdAddr
	get := func(k string) string {
		v := ""
		for _, e := range env {
			if s, ok := strings.CutPrefix(e, k+"="); ok {
				v = s
			}
		}
		return v
	}
	// Outside a user namespace uid_map maps all uids onto themselves.
	f := strings.Fields(uidMap)
	inUserNS := len(f) >= 3 && !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
	if u := get("USER"); !inUserNS || u == "" || u == "root" {
		return config, addr
	}
	dir := func(v string) string { d, _, _ := strings.Cut(v, ":"); return d }
	switch {
	case get("XDG_CONFIG_HOME") != "":
		config = filepath.Join(dir(get("XDG_CONFIG_HOME")), "buildkit", "buildkitd.toml")
	case get("HOME") != "":
		config = filepath.Join(get("HOME"), ".config", "buildkit", "buildkitd.toml")
	}
	if r := get("XDG_RUNTIME_DIR"); r != "" {
		addr = "unix://" + filepath.Join(dir(r), "buildkit", "buildkitd.sock")
	}
	return config, addr
}

// fsutilSameRoot reports whether the process of /proc dir has doctor's
// own root directory (then its paths are read as doctor's, under Root).
func fsutilSameRoot(dir string) bool {
	a, err1 := os.Stat(filepath.Join(dir, "root") + "/")
	b, err2 := os.Stat("/")
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// DefaultBuildkitdAddr is the socket a buildkitd that is not rootless
// listens on without --addr or [grpc] address.
const DefaultBuildkitdAddr = "unix:///run/buildkit/buildkitd.sock"

// BuildkitdAddrs are the addresses the buildkitd of /proc dir, run with
// args, listens on: its --addr flags, else its config's [grpc] address
// (cfg), else buildkitd's default (buildkitdDefaults).
func BuildkitdAddrs(dir string, args, cfg []string) []string {
	var addrs []string
	for i := 1; i < len(args); i++ {
		if args[i] == "--addr" && i+1 < len(args) {
			addrs = append(addrs, args[i+1])
			i++
		} else if v, ok := strings.CutPrefix(args[i], "--addr="); ok {
			addrs = append(addrs, v)
		}
	}
	if len(addrs) == 0 {
		addrs = cfg
	}
	if len(addrs) > 0 {
		return resolveFDAddrs(dir, addrs)
	}
	uidMap, _ := os.ReadFile(filepath.Join(dir, "uid_map"))
	_, def := buildkitdDefaults(procEnviron(dir), string(uidMap))
	return []string{def}
}

// resolveFDAddrs replaces an fd:// address (systemd socket activation, as
// armhf-buildkitd.service runs it) with the unix sockets the process of
// /proc dir holds listening: the address names no path, but the inherited
// socket has one, and that is where buildctl can ask it.
func resolveFDAddrs(dir string, addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if !strings.HasPrefix(a, "fd://") {
			out = append(out, a)
			continue
		}
		paths := listeningUnixSockets(dir)
		if len(paths) == 0 {
			out = append(out, a)
		}
		for _, p := range paths {
			out = append(out, "unix://"+p)
		}
	}
	return out
}

// listeningUnixSockets are the paths of the listening unix sockets among
// the open files of the process of /proc dir.
func listeningUnixSockets(dir string) []string {
	ents, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		return nil
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, "fd", e.Name()))
		if ino, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	table, err := os.ReadFile(filepath.Join(dir, "net", "unix"))
	if err != nil {
		return nil
	}
	return unixListeners(table, inodes)
}

// unixListeners are the paths, in /proc/net/unix's text, of the listening
// (__SO_ACCEPTCON) sockets whose inodes are in inodes.
func unixListeners(table []byte, inodes map[string]bool) []string {
	var paths []string
	for _, line := range strings.Split(string(table), "\n")[1:] {
		// Num RefCount Protocol Flags Type St Inode [Path]
		f := strings.Fields(line)
		if len(f) < 8 || !inodes[f[6]] || f[3] != "00010000" || !strings.HasPrefix(f[7], "/") {
			continue
		}
		paths = append(paths, f[7])
	}
	return paths
}

// buildkitdWorkers asks the buildkitd listening on addrs (seen from root)
// for its workers with buildctl: what it runs, not what its config asks.
// sock is the socket asked ("" none), note why the workers are unknown.
func (h *host) buildkitdWorkers(root string, addrs []string) (sock string, workers []string, known bool, note string) {
	for _, a := range addrs {
		if p, ok := strings.CutPrefix(a, "unix://"); ok {
			sock = filepath.Join(root, p)
			break
		}
	}
	if sock == "" {
		return "", nil, false, fmt.Sprintf("it listens on no unix socket doctor can reach (%s)", strings.Join(addrs, ", "))
	}
	buildctl, err := exec.LookPath("buildctl")
	if err != nil {
		return sock, nil, false, "buildctl, which doctor asks a buildkitd's workers with, is not on PATH"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, buildctl, "--addr", "unix://"+sock, "debug", "workers", "--format", "{{json .}}")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		workers, err = parseBuildkitWorkers(out)
	}
	if err != nil {
		return sock, nil, false, fmt.Sprintf("buildctl --addr unix://%s debug workers: %v %s", sock, err, strings.TrimSpace(tailLines(stderr.String(), 2)))
	}
	return sock, workers, true, ""
}

// parseBuildkitWorkers is the executor ("oci", "containerd") of each
// worker in buildctl debug workers --format '{{json .}}'.
func parseBuildkitWorkers(out []byte) ([]string, error) {
	var ws []struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(out, &ws); err != nil {
		return nil, fmt.Errorf("unexpected output %q: %w", tailLines(string(out), 2), err)
	}
	var ex []string
	for _, w := range ws {
		ex = append(ex, w.Labels["org.mobyproject.buildkit.worker.executor"])
	}
	return ex, nil
}

// tailLines is the last n lines of s.
func tailLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
