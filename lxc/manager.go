//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/uname"
)

// DefaultLXCPath is liblxc's lxcpath (lxc.lxcpath, normally /var/lib/lxc).
func DefaultLXCPath() string { return golxc.DefaultConfigPath() }

// Manager creates and runs armhf-lxc containers under one lxcpath.
type Manager struct {
	LXCPath string    // "" = DefaultLXCPath()
	Log     io.Writer // progress and warnings (never the exec'd command's output); nil = discard
}

// NewManager is a Manager of lxcpath ("" = DefaultLXCPath()), made
// absolute: liblxc and the LXC config need absolute paths, and a relative
// one would otherwise fail only after the root filesystem was unpacked.
func NewManager(lxcpath string, log io.Writer) (*Manager, error) {
	if lxcpath == "" {
		lxcpath = DefaultLXCPath()
	}
	abs, err := filepath.Abs(lxcpath)
	if err != nil {
		return nil, fmt.Errorf("--lxcpath %s: %w (give an absolute path)", lxcpath, err)
	}
	return &Manager{LXCPath: abs, Log: log}, nil
}

// lxcpath is LXCPath ("" = DefaultLXCPath()), absolute (relative to the
// working directory) when the Manager was not made by NewManager.
func (m *Manager) lxcpath() string {
	p := m.LXCPath
	if p == "" {
		p = DefaultLXCPath()
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func (m *Manager) logf(format string, args ...any) {
	if m.Log != nil {
		fmt.Fprintf(m.Log, format+"\n", args...)
	}
}

// Dir is the directory of container name.
func (m *Manager) Dir(name string) string { return filepath.Join(m.lxcpath(), name) }

// ErrNotRoot is returned when not running as root: armhf-lxc makes
// privileged containers.
var ErrNotRoot = errors.New("armhf-lxc must run as root (it creates privileged LXC containers): use sudo")

func requireRoot() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	return nil
}

// CreateOptions are the options of Manager.Create (the create command's
// flags).
type CreateOptions struct {
	Name         string
	Rootfs       string // directory (used in place, never deleted) or tarball (unpacked into <dir>/rootfs)
	Debootstrap  string // suite: build <dir>/rootfs with debootstrap instead of Rootfs
	Mirror       string // debootstrap mirror ("" = debootstrap's default)
	Nesting      bool
	Docker       bool
	DockerArgs   []string
	DockerSocket string // "" = DefaultDockerSocket
	CPUs         string // "" = all
	Network      string // "none" or "veth:BRIDGE"
	Binds        []string
	Init         []string // nil = armhf-lxc's init script
}

// Create defines a stopped container. On any error nothing is left behind:
// what Create made (the container directory, an unpacked rootfs) is
// removed, and a user-supplied rootfs directory is never written to.
func (m *Manager) Create(ctx context.Context, o CreateOptions) (err error) {
	if err := requireRoot(); err != nil {
		return err
	}
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	// Checked before anything is made: lxc.init.cmd cannot hold quotes.
	if err := ValidateInit(o.Init); err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	if (o.Rootfs == "") == (o.Debootstrap == "") {
		return fmt.Errorf("create %s: give exactly one of --rootfs DIR|TARBALL and --debootstrap SUITE", o.Name)
	}
	if o.Docker && !o.Nesting {
		return fmt.Errorf("create %s: --docker runs dockerd in the container, which needs --nesting", o.Name)
	}
	if o.DockerSocket == "" {
		o.DockerSocket = DefaultDockerSocket
	}
	if err := ValidateDockerSocket(o.DockerSocket); err != nil {
		return err
	}
	net, err := ParseNetwork(o.Network)
	if err != nil {
		return err
	}
	if net.Bridge != "" {
		if fi, err := os.Stat(filepath.Join("/sys/class/net", net.Bridge, "bridge")); err != nil || !fi.IsDir() {
			return fmt.Errorf("create %s: --network %s: no bridge %q on this host (create one, e.g. ip link add %s type bridge, or use lxcbr0)", o.Name, net, net.Bridge, net.Bridge)
		}
	}
	cpus := ""
	if o.CPUs != "" {
		set, err := cpuinfo.ParseCPUSet(o.CPUs)
		if err != nil {
			return fmt.Errorf("create %s: --cpus: %w", o.Name, err)
		}
		avail, err := cpuinfo.Affinity()
		if err != nil {
			return err
		}
		for _, c := range set.List() {
			if !avail.Contains(c) {
				return fmt.Errorf("create %s: --cpus %s: CPU %d is not available here (available: %s)", o.Name, o.CPUs, c, avail)
			}
		}
		cpus = set.String()
	}
	var binds []Bind
	for _, s := range o.Binds {
		b, err := ParseBind(s)
		if err != nil {
			return err
		}
		fi, err := os.Stat(b.Source)
		if err != nil {
			return fmt.Errorf("--bind %s: %w", s, err)
		}
		b.File = !fi.IsDir()
		binds = append(binds, b)
	}
	arch, err := LXCArch(uname.HostCompatMachine())
	if err != nil {
		return err
	}
	if p := uname.ProbeCompat(); !p.Native {
		if !p.Emulated() {
			return fmt.Errorf("create %s: %w", o.Name, p.Err())
		}
		m.logf("warning: %v; the container's 32-bit programs will run under %s", p.Err(), p.Emulator)
	}
	host, err := DetectHost()
	if err != nil {
		return err
	}

	// Where the root filesystem comes from; check what can be checked
	// before anything is created.
	var userRootfs, tarball string
	if o.Rootfs != "" {
		abs, err := filepath.Abs(o.Rootfs)
		if err != nil {
			return err
		}
		fi, err := os.Stat(abs)
		switch {
		case err != nil:
			return fmt.Errorf("create %s: --rootfs: %w", o.Name, err)
		case fi.IsDir():
			if err := CheckRootfs(abs); err != nil {
				return fmt.Errorf("create %s: %w", o.Name, err)
			}
			if o.Init != nil && !HasPath(abs, o.Init[0]) {
				return fmt.Errorf("create %s: --init %q: no such program in the root filesystem %s", o.Name, strings.Join(o.Init, " "), abs)
			}
			userRootfs = abs
		case fi.Mode().IsRegular():
			tarball = abs
		default:
			return fmt.Errorf("create %s: --rootfs %s is neither a directory nor a tarball", o.Name, o.Rootfs)
		}
	}

	if err := os.MkdirAll(m.lxcpath(), 0o755); err != nil {
		return fmt.Errorf("create %s: lxcpath: %w", o.Name, err)
	}
	dir := m.Dir(o.Name)
	if userRootfs != "" && within(userRootfs, dir) {
		return fmt.Errorf("create %s: --rootfs %s lies inside the container directory %s armhf-lxc manages; move it elsewhere", o.Name, userRootfs, dir)
	}
	// Mkdir is the atomic claim on the name: a second create fails here.
	if err := os.Mkdir(dir, 0o750); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: container %q already exists in %s (destroy it first, or pick another name)", o.Name, o.Name, m.lxcpath())
		}
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	ownRootfs := ""
	defer func() {
		if err == nil {
			return
		}
		if rerr := m.removeDir(dir, ownRootfs); rerr != nil {
			err = fmt.Errorf("%w (and rolling back failed: %v)", err, rerr)
		}
	}()

	st := &State{
		Name: o.Name, Arch: arch, Nesting: o.Nesting, CPUs: cpus, Network: net.String(),
		Init: o.Init, Docker: o.Docker, DockerArgs: o.DockerArgs,
	}
	if o.Docker {
		st.DockerSocket = o.DockerSocket
	}
	for _, b := range binds {
		st.Binds = append(st.Binds, b.String())
	}
	switch {
	case userRootfs != "":
		st.Rootfs, st.Source = userRootfs, userRootfs
	default:
		ownRootfs = filepath.Join(dir, RootfsDir)
		st.Rootfs, st.OwnsRootfs = ownRootfs, true
		if err := os.Mkdir(ownRootfs, 0o755); err != nil {
			return err
		}
		if tarball != "" {
			st.Source = tarball
			m.logf("unpacking %s into %s", tarball, ownRootfs)
			if err := Unpack(ctx, tarball, ownRootfs); err != nil {
				return fmt.Errorf("create %s: %w", o.Name, err)
			}
		} else {
			st.Source = "debootstrap:" + o.Debootstrap
			m.logf("debootstrap --arch=%s %s into %s", DebootstrapArch(arch), o.Debootstrap, ownRootfs)
			w := m.Log
			if w == nil {
				w = io.Discard
			}
			if err := Debootstrap(ctx, DebootstrapArch(arch), o.Debootstrap, ownRootfs, o.Mirror, w); err != nil {
				return fmt.Errorf("create %s: %w", o.Name, err)
			}
		}
		if err := CheckRootfs(ownRootfs); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	if msg := CheckUserland(st.Rootfs, arch); msg != "" {
		m.logf("warning: %s", msg)
	}
	if o.Init != nil && (len(o.Init) == 0 || !HasPath(st.Rootfs, o.Init[0])) {
		return fmt.Errorf("create %s: --init %q: no such program in the root filesystem", o.Name, strings.Join(o.Init, " "))
	}

	spec := Spec{
		Name: o.Name, Dir: dir, Rootfs: st.Rootfs, Arch: arch, Nesting: o.Nesting, CPUs: cpus,
		Network: net, Binds: binds, Init: o.Init, RunDir: HasPath(st.Rootfs, "/run"),
	}
	items, err := Config(spec, host)
	if err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	if err := writeRuntimeFiles(dir, st); err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	if err := WriteState(dir, st); err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	if err := saveConfig(o.Name, m.lxcpath(), items); err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	return nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// saveConfig defines the container: every item through liblxc's own
// parser (SetConfigItem rejects unknown keys and bad values), then
// SaveConfigFile. go-lxc's Create would insist on a template.
func saveConfig(name, lxcpath string, items []Item) error {
	c, err := golxc.NewContainer(name, lxcpath)
	if err != nil {
		return fmt.Errorf("liblxc: %w", err)
	}
	defer c.Release()
	for _, it := range items {
		if err := c.SetConfigItem(it.Key, it.Value); err != nil {
			return fmt.Errorf("liblxc rejected %q: %w", it.String(), err)
		}
	}
	if err := c.SaveConfigFile(filepath.Join(lxcpath, name, ConfigFile)); err != nil {
		return fmt.Errorf("saving the LXC config: %w", err)
	}
	return nil
}

// writeRuntimeFiles (re)writes the files bind-mounted into the container:
// the init script and the armv7 cpuinfo of the container's CPUs.
func writeRuntimeFiles(dir string, st *State) error {
	var set cpuinfo.CPUSet
	if st.CPUs != "" {
		s, err := cpuinfo.ParseCPUSet(st.CPUs)
		if err != nil {
			return fmt.Errorf("cpus %q in %s: %w", st.CPUs, StateFile, err)
		}
		set = s
	}
	text, err := cpuinfo.HostARMv7(set)
	if err != nil {
		return fmt.Errorf("making the armv7 cpuinfo: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, CPUInfoFile), text, 0o444); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, InitFile), []byte(InitScript), 0o555)
}

// open returns the managed container name, its state and its liblxc handle
// (Release it).
func (m *Manager) open(name string) (*State, *golxc.Container, error) {
	if err := requireRoot(); err != nil {
		return nil, nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	dir := m.Dir(name)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no container %q in %s (armhf-lxc list shows the containers)", name, m.lxcpath())
	}
	st, err := ReadState(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("container %q: %w", name, err)
	}
	c, err := golxc.NewContainer(name, m.lxcpath())
	if err != nil {
		return nil, nil, fmt.Errorf("container %q: liblxc: %w", name, err)
	}
	if !c.Defined() {
		c.Release()
		return nil, nil, fmt.Errorf("container %q: %s has no LXC config (half-destroyed? remove the directory by hand)", name, dir)
	}
	return st, c, nil
}

// StartOptions are the options of Manager.Start.
type StartOptions struct {
	Timeout       time.Duration // for the container to run; 0 = 30s
	DockerTimeout time.Duration // for dockerd's socket (--docker); 0 = 60s
}

// Start starts a stopped container: regenerates its cpuinfo and init, has
// liblxc start it (daemonized), and with --docker starts the rootfs's
// dockerd and waits until its socket answers. If dockerd does not come up
// the container is stopped again.
func (m *Manager) Start(ctx context.Context, name string, o StartOptions) error {
	st, c, err := m.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if c.Running() {
		return fmt.Errorf("container %q is already running (pid %d)", name, c.InitPid())
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.DockerTimeout == 0 {
		o.DockerTimeout = 60 * time.Second
	}
	dir := m.Dir(name)
	if err := CheckRootfs(st.Rootfs); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if err := writeRuntimeFiles(dir, st); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	logOff := fileSize(filepath.Join(dir, LogFile))
	if err := c.Start(); err != nil {
		return fmt.Errorf("start %s: %v%s", name, err, m.logTail(dir, logOff))
	}
	// liblxc reports RUNNING once init is spawned, before its exec: an init
	// that cannot run (a missing or foreign-architecture /bin/sh, an --init
	// that exits) shows as a container that stops again at once, which
	// Wait may see or not. Watch it for a moment.
	running := c.Wait(golxc.RUNNING, o.Timeout)
	for i := 0; running && i < 6; i++ {
		time.Sleep(50 * time.Millisecond)
		running = c.Running()
	}
	if !running {
		if state := c.State(); state != golxc.STOPPED {
			return fmt.Errorf("start %s: not running after %s (state %s)%s", name, o.Timeout, state, m.logTail(dir, logOff))
		}
		RemoveStaleCgroups(name)
		init := "/bin/sh " + InitTarget
		if st.Init != nil {
			init = strings.Join(st.Init, " ")
		}
		return fmt.Errorf("start %s: the container stopped right after starting: its init (%s) exited or could not be executed%s", name, init, m.logTail(dir, logOff))
	}
	if !st.Docker {
		return nil
	}
	if err := m.startDockerd(ctx, c, st, o.DockerTimeout); err != nil {
		m.logf("stopping %s again: dockerd did not start", name)
		if c.Running() {
			c.Stop()
			c.Wait(golxc.STOPPED, 10*time.Second)
		}
		RemoveStaleCgroups(name)
		return fmt.Errorf("start %s: %w", name, err)
	}
	return nil
}

// errorLines keeps liblxc's ERROR lines when there are any (its WARN lines
// are mostly cgroup cleanup noise).
func errorLines(log string) string {
	var errs []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " ERROR ") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		return log
	}
	return strings.Join(errs, "\n")
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail is liblxc's log written since offset off, for error messages.
func (m *Manager) logTail(dir string, off int64) string {
	f, err := os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	s := strings.TrimSpace(lastLines(errorLines(string(b)), 8))
	if s == "" {
		return ""
	}
	return "\nliblxc log (" + filepath.Join(dir, LogFile) + "):\n" + s
}

// startDockerd runs dockerd in the container (detached; when armhf-lxc
// exits the container's init adopts it) with stdout and stderr to
// <dir>/dockerd.log, and waits for its API socket.
func (m *Manager) startDockerd(ctx context.Context, c *golxc.Container, st *State, timeout time.Duration) error {
	dir := m.Dir(st.Name)
	logPath := filepath.Join(dir, DockerdLog)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer logf.Close()
	logOff := fileSize(logPath)
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	argv := DockerdArgv(st.DockerSocket, st.DockerArgs)
	if err := LookPathIn(ContainerPath(c.InitPid(), ""), argv[0], DefaultPath, "/"); err != nil {
		return fmt.Errorf("--docker: %w: install docker.io (or a static dockerd) in the root filesystem", err)
	}
	opts := attachOptions(nil, "/", null, logf, logf)
	pid, err := c.RunCommandNoWait(argv, opts)
	if err != nil {
		return fmt.Errorf("starting %s in the container: %w", strings.Join(argv, " "), err)
	}
	m.logf("dockerd started (pid %d); waiting for %s", pid, st.DockerSocket)
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		var ws unix.WaitStatus
		if wpid, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); wpid == pid {
			return fmt.Errorf("dockerd exited (%s) before its socket answered%s", describeStatus(ws), fileTail(logPath, logOff, "dockerd log"))
		}
		// Resolved on every try: dockerd may create the directories and
		// links on the way (and a symlink such as /var/run -> /run must
		// not lead to the host's socket).
		sock, err := ContainerSocket(c.InitPid(), st.DockerSocket)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err = PingDocker(pctx, sock)
			cancel()
		}
		lastErr = err
		if lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			reap(pid)
			return fmt.Errorf("dockerd did not answer on %s within %s: %v%s", st.DockerSocket, timeout, lastErr, fileTail(logPath, logOff, "dockerd log"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// reap ends an attached process that is still our child: SIGTERM, up to 5s,
// SIGKILL, and waits for it. liblxc starts attached processes with
// CLONE_PARENT, so they are armhf-lxc's children, and one left as a zombie
// keeps the container's PID namespace (and so its init, and liblxc's
// monitor, and a stop waiting for the monitor) from ever finishing.
func reap(pid int) {
	unix.Kill(pid, unix.SIGTERM)
	var ws unix.WaitStatus
	for i := 0; i < 50; i++ {
		if wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); wpid == pid || (err != nil && err != unix.EINTR) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	unix.Kill(pid, unix.SIGKILL)
	for {
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
			return
		}
	}
}

func fileTail(p string, off int64, what string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	f.Seek(off, io.SeekStart)
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	s := strings.TrimSpace(lastLines(string(b), 10))
	if s == "" {
		return ""
	}
	return "\n" + what + " (" + p + "):\n" + s
}

func describeStatus(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

// Stop stops a running container: SIGTERM to its init (which passes it on
// to every process) and up to timeout for it to exit, then SIGKILL. A
// timeout of 0 kills at once. Stopping a stopped container does nothing
// and returns stopped=false.
func (m *Manager) Stop(name string, timeout time.Duration) (stopped bool, err error) {
	_, c, err := m.open(name)
	if err != nil {
		return false, err
	}
	defer c.Release()
	if !c.Running() {
		return false, nil
	}
	return true, stopContainer(c, timeout)
}

func stopContainer(c *golxc.Container, timeout time.Duration) error {
	if timeout > 0 {
		// An error only means the grace period ran out: killed below.
		c.Shutdown(ShutdownTimeout(timeout))
	}
	// Whatever Shutdown said, the container is stopped only when liblxc
	// says STOPPED.
	if c.State() != golxc.STOPPED {
		if err := c.Stop(); err != nil && c.State() != golxc.STOPPED {
			return fmt.Errorf("stop %s: killing it: %w (see %s)", c.Name(), err, filepath.Join(c.ConfigPath(), c.Name(), LogFile))
		}
	}
	if !c.Wait(golxc.STOPPED, 30*time.Second) {
		return fmt.Errorf("stop %s: still %s 30s after SIGKILL (see %s; lxc-stop -k -n %s -P %s)", c.Name(), c.State(), filepath.Join(c.ConfigPath(), c.Name(), LogFile), c.Name(), c.ConfigPath())
	}
	RemoveStaleCgroups(c.Name())
	return nil
}

func attachOptions(env []string, cwd string, stdin, stdout, stderr *os.File) golxc.AttachOptions {
	o := golxc.DefaultAttachOptions // namespaces, personality (Arch -1 = the container's), uid, gid of the container
	o.ClearEnv = true
	o.Env = ExecEnv(os.Getenv("TERM"), env)
	o.Cwd = cwd
	o.StdinFd, o.StdoutFd, o.StderrFd = stdin.Fd(), stdout.Fd(), stderr.Fd()
	return o
}

// ExecOptions are the options of Manager.Exec.
type ExecOptions struct {
	Env                   []string // extra KEY=VALUE
	Cwd                   string   // "" = /
	Stdin, Stdout, Stderr *os.File // nil = this process's
}

// Exec runs argv in the running container (its namespaces, cgroup and
// LINUX32 personality) and returns its exit status: the exit code, or 128+N
// when killed by signal N, like a shell. SIGINT, SIGTERM, SIGHUP and
// SIGQUIT received meanwhile are passed on to the command.
func (m *Manager) Exec(name string, argv []string, o ExecOptions) (int, error) {
	if len(argv) == 0 {
		return -1, fmt.Errorf("exec %s: no command given (armhf-lxc exec %s -- CMD [ARG...])", name, name)
	}
	_, c, err := m.open(name)
	if err != nil {
		return -1, err
	}
	defer c.Release()
	if !c.Running() {
		return -1, fmt.Errorf("exec %s: container %q is not running (start it: armhf-lxc start %s)", name, name, name)
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Cwd == "" {
		o.Cwd = "/"
	}
	if !path.IsAbs(o.Cwd) {
		return -1, fmt.Errorf("exec %s: --cwd %s: want an absolute path in the container", name, o.Cwd)
	}
	root := ContainerPath(c.InitPid(), "")
	// liblxc only warns when it cannot chdir, and runs the command in /.
	if err := CheckDirIn(root, o.Cwd); err != nil {
		return -1, fmt.Errorf("exec %s: --cwd %w (create it first, or give an existing directory)", name, err)
	}
	env := ExecEnv(os.Getenv("TERM"), o.Env)
	if err := LookPathIn(root, argv[0], envValue(env, "PATH"), o.Cwd); err != nil {
		return 127, fmt.Errorf("exec %s: %w", name, err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	opts := attachOptions(nil, o.Cwd, o.Stdin, o.Stdout, o.Stderr)
	opts.Env = env
	// Quote only what liblxc logs about this attach, not the log's start.
	logOff := fileSize(filepath.Join(m.Dir(name), LogFile))
	pid, err := c.RunCommandNoWait(argv, opts)
	if err != nil {
		return -1, fmt.Errorf("exec %s: attaching %q failed: %w%s", name, argv[0], err, m.logTail(m.Dir(name), logOff))
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				unix.Kill(pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return -1, fmt.Errorf("exec %s: waiting for %s (pid %d): %w", name, argv[0], pid, err)
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Shell runs an interactive login shell in the container; see Exec.
func (m *Manager) Shell(name string) (int, error) {
	st, c, err := m.open(name)
	if err != nil {
		return -1, err
	}
	c.Release()
	return m.Exec(name, ShellArgv(st.Rootfs), ExecOptions{})
}

// Status is what status and list report about a container.
type Status struct {
	Name    string   `json:"name"`
	State   string   `json:"state"`         // STOPPED, RUNNING, ...
	PID     int      `json:"pid,omitempty"` // init's pid on the host
	Arch    string   `json:"arch"`          // lxc.arch
	Machine string   `json:"machine,omitempty"`
	IPs     []string `json:"ips,omitempty"`
	Managed bool     `json:"managed"` // created by armhf-lxc
	// From armhf-lxc.json (Managed only).
	Rootfs       string `json:"rootfs,omitempty"`
	OwnsRootfs   bool   `json:"owns_rootfs,omitempty"`
	Nesting      bool   `json:"nesting,omitempty"`
	Docker       bool   `json:"docker,omitempty"`
	DockerSocket string `json:"docker_socket,omitempty"` // host path of the API socket while running
	CPUs         string `json:"cpus,omitempty"`
	Network      string `json:"network,omitempty"`
}

// Status reports on container name, managed by armhf-lxc or not.
func (m *Manager) Status(name string) (Status, error) {
	if err := requireRoot(); err != nil {
		return Status{}, err
	}
	if err := ValidateName(name); err != nil {
		return Status{}, err
	}
	c, err := golxc.NewContainer(name, m.lxcpath())
	if err != nil {
		return Status{}, fmt.Errorf("container %q: liblxc: %w", name, err)
	}
	defer c.Release()
	if !c.Defined() {
		return Status{}, fmt.Errorf("no container %q in %s (armhf-lxc list shows the containers)", name, m.lxcpath())
	}
	return m.status(c), nil
}

func (m *Manager) status(c *golxc.Container) Status {
	s := Status{Name: c.Name(), State: c.State().String()}
	if a := c.ConfigItem("lxc.arch"); len(a) > 0 {
		s.Arch = a[0]
	}
	if st, err := ReadState(m.Dir(s.Name)); err == nil {
		s.Managed = true
		s.Rootfs, s.OwnsRootfs, s.Nesting, s.Docker = st.Rootfs, st.OwnsRootfs, st.Nesting, st.Docker
		s.CPUs, s.Network = st.CPUs, st.Network
	}
	if c.Running() {
		s.PID = c.InitPid()
		s.Machine = machineOf(s.PID)
		if ips, err := c.IPAddresses(); err == nil {
			s.IPs = ips
		}
		if s.Docker {
			if st, err := ReadState(m.Dir(s.Name)); err == nil {
				if sock, err := ContainerSocket(s.PID, st.DockerSocket); err == nil {
					s.DockerSocket = sock
				}
			}
		}
	}
	return s
}

// machineOf is what uname -m says in process pid: the personality decides
// between the kernel's machine and its LINUX32 compat machine.
func machineOf(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/personality")
	if err != nil {
		return ""
	}
	p, err := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 32)
	if err != nil {
		return ""
	}
	if uint32(p)&0xff == uname.PerLinux32 {
		return uname.HostCompatMachine()
	}
	mach, _ := uname.Machine()
	return mach
}

// List reports on every container defined in lxcpath, sorted by name.
func (m *Manager) List() ([]Status, error) {
	if err := requireRoot(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(m.lxcpath()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	cs := golxc.DefinedContainers(m.lxcpath())
	var out []Status
	for _, c := range cs {
		out = append(out, m.status(c))
		c.Release()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Destroy removes a stopped container armhf-lxc created (with force, a
// running one is stopped first): its LXC config and armhf-lxc's files, the
// root filesystem only if armhf-lxc unpacked it. A rootfs directory the
// user supplied is never deleted, and neither are files armhf-lxc did not
// create in the container directory (which then stays).
func (m *Manager) Destroy(name string, force bool) error {
	st, c, err := m.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if c.Running() {
		if !force {
			return fmt.Errorf("destroy %s: container %q is running (stop it first, or destroy --force)", name, name)
		}
		if err := stopContainer(c, 10*time.Second); err != nil {
			return fmt.Errorf("destroy %s: %w", name, err)
		}
	}
	RemoveStaleCgroups(name)
	dir := m.Dir(name)
	own := ""
	if st.OwnsRootfs {
		own = filepath.Join(dir, RootfsDir)
		if filepath.Clean(st.Rootfs) != own {
			return fmt.Errorf("destroy %s: %s says armhf-lxc owns rootfs %s, which is not %s; refusing to delete it", name, StateFile, st.Rootfs, own)
		}
	}
	return m.removeDir(dir, own)
}

// removeDir deletes what armhf-lxc puts in a container directory: ownRootfs
// (if not ""; it must be dir/rootfs), the LXC config, armhf-lxc's files and
// at last the directory itself if that leaves it empty. Nothing mounted
// below dir is touched: that is an error.
func (m *Manager) removeDir(dir, ownRootfs string) error {
	// mountinfo has canonical paths: compare with dir's, whatever links
	// (a symlinked lxcpath) or relative path lead to it.
	real, err := filepath.Abs(dir)
	if err == nil {
		real, err = filepath.EvalSymlinks(real)
	}
	if err != nil {
		return fmt.Errorf("resolving %s to check for mounts below it: %w; nothing was removed", dir, err)
	}
	if mnts := mountinfo.Below(real); len(mnts) > 0 {
		return fmt.Errorf("%s has mounts below it (%s); unmount them first (umount -R), nothing was removed", dir, strings.Join(mnts, ", "))
	}
	if ownRootfs != "" {
		if ownRootfs != filepath.Join(dir, RootfsDir) {
			return fmt.Errorf("internal error: rootfs %s is not in %s", ownRootfs, dir)
		}
		if err := os.RemoveAll(ownRootfs); err != nil {
			return fmt.Errorf("removing %s: %w", ownRootfs, err)
		}
	}
	// The config first (LXC no longer sees a container), the state last
	// (until then armhf-lxc can retry).
	for _, f := range []string{ConfigFile, CPUInfoFile, InitFile, LogFile, DockerdLog, StateFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(dir); err != nil {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return fmt.Errorf("removed armhf-lxc's files but left %s: it holds files armhf-lxc did not create (%s)", dir, strings.Join(names, ", "))
	}
	return nil
}
