package dind

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/dind/rootfs"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/uname"
)

// Options configure Start.
type Options struct {
	// Input is the daemon to run (see package rootfs). Empty: the one
	// unpacked by an earlier start.
	Input string
	// FromImage is an image of the host's Docker to run instead of Input:
	// it is taken with `docker save` (see prepareFromImage).
	FromImage string
	// Platform picks the image of a multi-platform OCI index.
	Platform string
	// Self is the armhf-shim binary (its exec command starts dockerd; it
	// is the runtime wrapper). Default: os.Executable().
	Self string
	// Runtime makes the armhf-shim runtime wrapper dockerd's default
	// runtime and the "runc" on its PATH.
	Runtime bool
	// Network is NetworkPrivate (default: a network namespace of its own)
	// or NetworkHost (the host's, with dockerd kept off its bridge and
	// iptables chains).
	Network string
	// Machine, if set, is what uname -m says to the daemon's 32-bit
	// programs and its containers (exec --machine: docs/uname.md).
	Machine string
	// DockerdArgs are appended to dockerd's command line.
	DockerdArgs []string
	// Timeout bounds the wait for /_ping (default 60s).
	Timeout time.Duration
	// Out receives progress messages (default os.Stderr).
	Out io.Writer
}

// State is what start records in DIR/state.json.
type State struct {
	Input      string    `json:"input,omitempty"`
	InputSize  int64     `json:"inputSize,omitempty"`
	InputMtime time.Time `json:"inputMtime,omitempty"`
	Platform   string    `json:"platform,omitempty"` // --platform it was unpacked for ("" = the default)
	Kind       string    `json:"kind,omitempty"`
	Image      string    `json:"image,omitempty"`
	FromImage  string    `json:"fromImage,omitempty"` // --from-image
	ImageID    string    `json:"imageID,omitempty"`   // its ID in the host's Docker
	Dockerd    string    `json:"dockerd,omitempty"`
	Path       []string  `json:"path,omitempty"`
	Pid        int       `json:"pid,omitempty"`
	MountNS    string    `json:"mountNS,omitempty"`
	Started    time.Time `json:"started,omitempty"`
	Args       []string  `json:"args,omitempty"`
	Network    string    `json:"network,omitempty"`
	Machine    string    `json:"machine,omitempty"` // --machine
	Net        *Net      `json:"net,omitempty"`     // the private network
}

func readState(l Layout) State {
	var s State
	if b, err := os.ReadFile(l.State()); err == nil {
		json.Unmarshal(b, &s)
	}
	return s
}

func writeState(l Layout, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(l.State(), append(b, '\n'), 0o644)
}

// ErrAlreadyRunning is returned (wrapped) by Start when the daemon runs.
var ErrAlreadyRunning = errors.New("already running")

// lock takes the state directory's lock, so two dind commands on one
// directory never interleave.
func lock(l Layout) (func(), error) {
	if err := os.MkdirAll(l.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("state directory: %v", err)
	}
	f, err := os.OpenFile(l.Lock(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another armhf-shim dind command holds %s: %v", l.Lock(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reservedArgs are dockerd flags dind sets itself.
var reservedArgs = []string{"--data-root", "-g", "--graph", "--exec-root", "-H", "--host", "--pidfile", "-p", "--config-file"}

func checkArgs(args []string) error {
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		for _, r := range reservedArgs {
			if name == r {
				return fmt.Errorf("dockerd argument %q: armhf-shim dind sets %s itself from --dir", a, r)
			}
		}
		if r := reservedInCluster(a); r != "" {
			return fmt.Errorf("dockerd argument %q: armhf-shim dind sets %s itself from --dir", a, r)
		}
	}
	return nil
}

// reservedInCluster finds a reserved shorthand in a cluster of dockerd's
// one-letter flags ("-DH x", "-Dp/x"): booleans may be grouped, and the
// first flag that takes a value takes the rest of the cluster as it.
func reservedInCluster(a string) string {
	if len(a) < 2 || a[0] != '-' || a[1] == '-' {
		return ""
	}
	for _, c := range a[1:] {
		switch c {
		case 'H', 'p', 'g':
			return "-" + string(c)
		case 'G', 'b', 'l', '=':
			return "" // the rest is this flag's value
		}
	}
	return ""
}

// Start brings the daemon of l up and waits until it answers /_ping.
func Start(l Layout, o Options) (*Status, error) {
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if err := checkArgs(o.DockerdArgs); err != nil {
		return nil, err
	}
	switch o.Network {
	case "":
		o.Network = NetworkPrivate
	case NetworkPrivate:
	case NetworkHost:
		cfg, _ := os.ReadFile(l.DaemonJSON())
		if err := checkHostNetwork(o.DockerdArgs, cfg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("--network %q: want %s or %s", o.Network, NetworkPrivate, NetworkHost)
	}
	if o.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the armhf-shim binary: %v", err)
		}
		o.Self = self
	}
	unlock, err := lock(l)
	if err != nil {
		return nil, err
	}
	defer unlock()

	st := GetStatus(l)
	if st.Running {
		if want, ok := o.source(); ok && want != readState(l).source() {
			return &st, fmt.Errorf("dind is running (pid %d, %s) from %s, not from %s; `armhf-shim dind stop --dir %s` first to switch",
				st.Pid, l.Host(), readState(l).source(), want, l.Dir)
		}
		return &st, fmt.Errorf("dind is %w (pid %d, %s)", ErrAlreadyRunning, st.Pid, l.Host())
	}
	if st.StalePid != 0 {
		fmt.Fprintln(out, staleNote(l, st.StalePid))
	}
	// Whatever a crashed daemon left: processes, mounts, files.
	if err := cleanup(l, 0, 5*time.Second, out); err != nil {
		return nil, err
	}
	// The exec root is runtime state only; what a dead daemon left there
	// misleads the next one (dockerd trusts containerd.pid even when that
	// PID is a zombie nobody reaped yet).
	if m := mountinfo.Below(l.ExecRoot()); len(m) > 0 {
		return nil, fmt.Errorf("%s is still mounted; unmount it (umount -l %s) and retry", m[0], m[0])
	}
	if err := os.RemoveAll(l.ExecRoot()); err != nil {
		return nil, fmt.Errorf("clearing the exec root: %v", err)
	}

	state := readState(l)
	if err := prepareRootfs(l, o, &state, out); err != nil {
		return nil, err
	}
	d, err := rootfs.FindDockerd(l.Rootfs())
	if err != nil {
		return nil, err
	}
	if len(d.Missing) > 0 {
		fmt.Fprintf(out, "armhf-shim: note: the input has no %s; dockerd will take them from the host's PATH\n", strings.Join(d.Missing, ", "))
	}
	if d.Class == elf.ELFCLASS32 {
		fmt.Fprintln(out, seccomp32Note(d.Machine))
	}
	if len(d.Outside) > 0 {
		fmt.Fprintf(out, "armhf-shim: note: the input's %s are absolute symlinks, which lead to the host's files when dockerd runs them; "+
			"make them relative (or copies) in the input to use the input's own\n", strings.Join(d.Outside, ", "))
	}
	if err := prepareFiles(l, o); err != nil {
		return nil, err
	}

	args := []string{
		"--data-root", l.DataRoot(),
		"--exec-root", l.ExecRoot(),
		"-H", l.Host(),
		"--pidfile", l.Pidfile(),
		"--config-file", l.DaemonJSON(),
	}
	args = append(args, o.DockerdArgs...)
	path := append([]string{}, d.Path...)
	if o.Runtime {
		path = append([]string{l.BinDir()}, path...)
	}
	env := daemonEnv(os.Environ(), strings.Join(path, ":"))

	logf, err := os.OpenFile(l.Log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %v", err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, io.SeekEnd)
	// dockerd uses a containerd that listens at /run/containerd/containerd.sock
	// (the host's, of its Docker) instead of starting its own: its shims run
	// outside dockerd's mount namespace and miss every container's rootfs.
	argv := []string{"exec", "--cpuinfo", l.CPUInfo(), "--hide", "/run/containerd"}
	if o.Machine != "" {
		// armhf-shim stays as dockerd's parent and answers uname for it
		// and everything it starts: the filter is inherited, and outranks
		// the allow of a container's own profile.
		argv = append(argv, "--machine", o.Machine)
	}
	argv = append(append(argv, "--", d.Dockerd), args...)
	fmt.Fprintf(logf, "--- armhf-shim dind start %s: %s %s\n", time.Now().UTC().Format(time.RFC3339), o.Self, strings.Join(argv, " "))

	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd := exec.Command(o.Self, argv...)
	cmd.Env = env
	cmd.Dir = l.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var network *Net
	if o.Network == NetworkPrivate {
		if network, err = setupNetwork(l, out); err != nil {
			return nil, err
		}
	}
	if network != nil {
		err = inNetNS(l.NetNS(), cmd.Start)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		teardownNetwork(l)
		return nil, fmt.Errorf("starting %s exec: %v", o.Self, err)
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	fail := func(format string, a ...any) (*Status, error) {
		cleanup(l, pid, 10*time.Second, io.Discard)
		return nil, fmt.Errorf(format+"; last lines of %s:\n%s", append(a, l.Log(), logTail(l.Log(), logStart, 20))...)
	}
	deadline := time.Now().Add(o.Timeout)
	for {
		if err := ping(l); err == nil {
			break
		}
		select {
		case err := <-done:
			if err == nil {
				return fail("dockerd exited during start with status 0")
			}
			return fail("dockerd exited during start (%v)", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail("dockerd did not answer on %s within %s", l.Host(), o.Timeout)
		}
	}
	if o.Machine != "" {
		// The supervisor is dockerd's parent: dockerd is the pidfile's.
		if p := readPid(l); p > 0 && alive(p) && isDaemon(p, l) {
			pid = p
		}
	}
	if p, ok := personality(pid); ok && p&0xff != uname.PerLinux32 {
		fmt.Fprintf(out, "armhf-shim: warning: dockerd runs in personality %#x, not LINUX32; Docker will report the 64-bit architecture\n", p)
	}
	state.Dockerd, state.Path, state.Pid, state.Args = d.Dockerd, path, pid, args
	state.MountNS, state.Started = mntNS(pid), time.Now().UTC()
	state.Network, state.Net, state.Machine = o.Network, network, o.Machine
	if err := writeState(l, state); err != nil {
		fmt.Fprintf(out, "armhf-shim: warning: %v\n", err)
	}
	s := GetStatus(l)
	return &s, nil
}

// seccomp32Note says what a 32-bit dockerd means for 64-bit containers:
// Docker's default seccomp profile lists no architectures for a 32-bit
// daemon, so the filter covers the ABI of its 32-bit runc alone, and a
// 64-bit process dies at its first system call.
func seccomp32Note(machine string) string {
	return "armhf-shim: note: this dockerd is 32-bit (" + machine + "): its containers get a seccomp filter for the 32-bit system call ABI only, " +
		"so a 64-bit container (a linux/arm64 or linux/amd64 image) dies at its first system call with SIGSYS (exit status 159, \"bad system call\"); " +
		"run 64-bit images on the host's Docker, or here with --security-opt seccomp=unconfined"
}

// daemonEnv is dockerd's environment: ours with PATH replaced by path
// first, and without variables meant for us or for systemd.
func daemonEnv(env []string, path string) []string {
	hostPath := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH":
			if v != "" {
				hostPath = v
			}
			continue
		case "NOTIFY_SOCKET", "DOCKER_HOST", "DOCKER_CONTEXT",
			// dockerd takes --tlsverify's default and its certificates from these.
			"DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS":
			continue
		}
		if strings.HasPrefix(k, "ARMHF_SHIM_") && k != "ARMHF_SHIM_CONFIG" {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+path+":"+hostPath)
}

// prepareRootfs unpacks o.Input into l.Rootfs() unless that was already
// done for the same input.
func prepareRootfs(l Layout, o Options, state *State, out io.Writer) error {
	if o.FromImage != "" {
		return prepareFromImage(l, o, state, out)
	}
	if o.Input == "" {
		if !exists(l.Rootfs()) {
			return fmt.Errorf("nothing to run: %s has no unpacked daemon; give --input (a docker:dind armhf root filesystem, image archive or OCI layout, or Docker's static binaries tgz) or --from-image", l.Dir)
		}
		return nil
	}
	in, err := filepath.Abs(o.Input)
	if err != nil {
		return err
	}
	fi, err := os.Stat(in)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if exists(l.Rootfs()) && state.unpackedFrom(in, fi, o.Platform) {
		return nil
	}
	fmt.Fprintf(out, "armhf-shim: unpacking %s into %s\n", in, l.Rootfs())
	res, err := unpackRootfs(l, in, in, o.Platform)
	if err != nil {
		return err
	}
	*state = State{Input: in, InputSize: fi.Size(), InputMtime: fi.ModTime().UTC(), Platform: o.Platform, Kind: string(res.Kind), Image: res.Image}
	return writeState(l, *state)
}

// unpackRootfs unpacks the file or directory in (named what in messages)
// and puts it in place of l.Rootfs() once it holds a dockerd this host can
// start; on failure the previous rootfs is untouched.
func unpackRootfs(l Layout, in, what, platform string) (*rootfs.Result, error) {
	tmp := l.Rootfs() + ".new"
	os.RemoveAll(tmp)
	res, err := rootfs.Unpack(in, tmp, rootfs.Options{Platform: platform})
	if err != nil {
		return nil, fmt.Errorf("unpacking %s: %w (nothing changed in %s)", what, err, l.Dir)
	}
	if _, err := rootfs.FindDockerd(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("input %s: %w (nothing changed in %s)", what, err, l.Dir)
	}
	if err := replaceDir(l.Rootfs(), tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("installing the unpacked %s: %w", what, err)
	}
	return res, nil
}

// unpackedFrom reports whether the state's rootfs was unpacked from this
// very input file (same path, size and mtime), for this platform. A
// directory is always copied again: its mtime does not cover its contents.
func (s State) unpackedFrom(in string, fi fs.FileInfo, platform string) bool {
	return !fi.IsDir() && s.Input == in && s.InputSize == fi.Size() && s.InputMtime.Equal(fi.ModTime().UTC()) && s.Platform == platform
}

// replaceDir puts the directory next in the place of dir: the old one is
// moved aside first and only removed once next is in place, so a failure
// leaves dir as it was.
func replaceDir(dir, next string) error {
	old := dir + ".old"
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("removing what an earlier run left in %s: %v; remove it by hand", old, err)
	}
	hadOld := exists(dir)
	if hadOld {
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("moving the previous %s aside: %v (nothing changed)", dir, err)
		}
	}
	if err := os.Rename(next, dir); err != nil {
		if hadOld {
			os.Rename(old, dir)
		}
		return fmt.Errorf("moving %s into place: %v (the previous one is kept)", dir, err)
	}
	if hadOld {
		os.RemoveAll(old) // best effort: the new one is in place
	}
	return nil
}

// prepareFiles writes the cpuinfo, the runtime links and daemon.json.
func prepareFiles(l Layout, o Options) error {
	data, err := cpuinfo.OnlineARMv7()
	if err != nil {
		return fmt.Errorf("rendering the armv7 cpuinfo: %v", err)
	}
	if err := fsutil.WriteFileAtomic(l.CPUInfo(), data, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(l.BinDir(), 0o755); err != nil {
		return err
	}
	// The runtime links point at the lean armhf-runc when it sits beside
	// armhf-shim (it starts faster on every container operation), else at
	// armhf-shim itself, which acts as the runtime under those names.
	runtime := o.Self
	if lean := filepath.Join(filepath.Dir(o.Self), "armhf-runc"); isExecutableFile(lean) {
		runtime = lean
	}
	for _, name := range []string{filepath.Base(l.RuntimeLink()), "runc"} {
		p := filepath.Join(l.BinDir(), name)
		if !o.Runtime {
			os.Remove(p)
			continue
		}
		if err := symlinkAtomic(runtime, p); err != nil {
			return err
		}
	}
	existing, err := os.ReadFile(l.DaemonJSON())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	b, err := MergeDaemonJSON(existing, l.RuntimeLink(), o.Runtime)
	if err != nil {
		return fmt.Errorf("%s: %w", l.DaemonJSON(), err)
	}
	return fsutil.WriteFileAtomic(l.DaemonJSON(), b, 0o644)
}

func symlinkAtomic(target, p string) error {
	tmp := p + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// logTail returns the last n lines of the log written since offset.
func logTail(p string, offset int64, n int) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if offset > 0 && offset <= int64(len(b)) {
		b = b[offset:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// isExecutableFile reports a regular file (not a link) with an execute bit.
func isExecutableFile(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
