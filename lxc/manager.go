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
	"slices"
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

// CheckCreateFlags rejects create flags that would be silently ignored
// without the flag they belong to: --mirror without --debootstrap,
// --docker-arg or --docker-socket without --docker.
func CheckCreateFlags(debootstrap, mirror, docker, dockerArgs, dockerSocket bool) error {
	switch {
	case mirror && !debootstrap:
		return errors.New("--mirror without --debootstrap: the mirror is only used by debootstrap (drop --mirror, or build the rootfs with --debootstrap SUITE)")
	case dockerArgs && !docker:
		return errors.New("--docker-arg without --docker: dockerd's arguments are only used when start runs dockerd (add --docker --nesting, or drop --docker-arg)")
	case dockerSocket && !docker:
		return errors.New("--docker-socket without --docker: the socket is only used when start runs dockerd (add --docker --nesting, or drop --docker-socket)")
	}
	return nil
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
	if err := CheckCreateFlags(o.Debootstrap != "", o.Mirror != "", o.Docker, len(o.DockerArgs) > 0, o.DockerSocket != "" && o.DockerSocket != DefaultDockerSocket); err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
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
			return fmt.Errorf("create %s: --cpus %q: %w", o.Name, o.CPUs, err)
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
			if _, cerr := os.Stat(filepath.Join(dir, ConfigFile)); errors.Is(cerr, fs.ErrNotExist) {
				if b := m.createInProgress(o.Name); b != nil {
					return fmt.Errorf("create %s: %w", o.Name, b)
				}
				return fmt.Errorf("create %s: %s already exists but defines no container (left by a failed create or destroy?): %s", o.Name, dir, m.leftoverAdvice(o.Name))
			}
			return fmt.Errorf("create %s: container %q already exists in %s (destroy it first: %s; or pick another name)", o.Name, o.Name, m.lxcpath(), m.command("destroy", o.Name))
		}
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	// Held until create is done (the rollback included): until the LXC
	// config is written, the directory looks like a failed create's, and
	// destroy (or a second create's advice) must not take it for one.
	lk, err := lockNew(dir, o.Name)
	if err != nil {
		return err
	}
	defer lk.unlock()
	ownRootfs := ""
	defer func() {
		if err == nil {
			return
		}
		if rerr := m.removeDir(dir, ownRootfs); rerr != nil {
			err = fmt.Errorf("%w (and rolling back failed: %v; once that is fixed, remove what is left with %s)", err, rerr, m.command("destroy", o.Name))
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
	case tarball != "":
		st.Rootfs, st.OwnsRootfs, st.Source = filepath.Join(dir, RootfsDir), true, tarball
	default:
		st.Rootfs, st.OwnsRootfs, st.Source = filepath.Join(dir, RootfsDir), true, "debootstrap:"+o.Debootstrap
	}
	// The state first, the LXC config last: should the rollback fail too
	// (a mount below dir), what is left is marked as armhf-lxc's, with
	// whether it owns the rootfs, and destroy can finish the job.
	if err := WriteState(dir, st); err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	if st.OwnsRootfs {
		ownRootfs = st.Rootfs
		if err := os.Mkdir(ownRootfs, 0o755); err != nil {
			return err
		}
		if tarball != "" {
			m.logf("unpacking %s into %s", tarball, ownRootfs)
			if err := Unpack(ctx, tarball, ownRootfs); err != nil {
				return fmt.Errorf("create %s: %w", o.Name, err)
			}
		} else {
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
		return nil, nil, m.noContainer(name)
	}
	c, err := golxc.NewContainer(name, m.lxcpath())
	if err != nil {
		return nil, nil, fmt.Errorf("container %q: liblxc: %w", name, err)
	}
	if !c.Defined() {
		c.Release()
		if b := m.createInProgress(name); b != nil {
			return nil, nil, fmt.Errorf("container %q: %w", name, b)
		}
		return nil, nil, fmt.Errorf("container %q: %s has no LXC config (left by a failed create or destroy?): %s", name, dir, m.leftoverAdvice(name))
	}
	st, err := ReadState(dir)
	if err != nil {
		c.Release()
		return nil, nil, fmt.Errorf("container %q: %w", name, err)
	}
	return st, c, nil
}

// lockFor checks what every command on a container checks first (root, a
// valid name) and takes the container's lock for op (see lock: it reports
// a container that does not exist).
func (m *Manager) lockFor(ctx context.Context, name, op string) (*ctLock, error) {
	if err := requireRoot(); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return m.lock(ctx, name, op, LockWait)
}

// command is the armhf-lxc command line that runs cmd on container name of
// this lxcpath.
func (m *Manager) command(cmd, name string) string {
	if m.lxcpath() == DefaultLXCPath() {
		return "armhf-lxc " + cmd + " " + name
	}
	return "armhf-lxc --lxcpath " + m.lxcpath() + " " + cmd + " " + name
}

// leftoverAdvice says what to do with the directory of name when it has no
// LXC config: destroy removes what armhf-lxc left there (see
// Destroy), anything else is not armhf-lxc's to delete.
func (m *Manager) leftoverAdvice(name string) string {
	dir := m.Dir(name)
	if b := m.createInProgress(name); b != nil {
		return b.Error()
	}
	_, serr := os.Stat(filepath.Join(dir, StateFile))
	if ok, _ := onlyOwnFiles(dir); serr == nil || ok {
		return "remove what is left with " + m.command("destroy", name)
	}
	return fmt.Sprintf("it has no %s either, so it is not armhf-lxc's: check it and remove it by hand (rm -r %s)", StateFile, dir)
}

// ownFiles are the files armhf-lxc creates in a container directory (its
// rootfs aside), in the order removeDir removes them: the config first (LXC
// no longer sees a container), the state last but one (until then
// armhf-lxc can retry), the lock file last (held by the caller: a command
// waiting for it finds it gone, see lock).
var ownFiles = []string{ConfigFile, CPUInfoFile, InitFile, LogFile, DockerdLog, StateFile, LockFile}

// onlyOwnFiles reports whether dir holds nothing but ownFiles (a rootfs is
// not one of them), and lists the others.
func onlyOwnFiles(dir string) (bool, []string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, nil
	}
	var other []string
	for _, e := range ents {
		if !slices.Contains(ownFiles, e.Name()) {
			other = append(other, e.Name())
		}
	}
	return len(other) == 0, other
}

// StartOptions are the options of Manager.Start.
type StartOptions struct {
	Timeout       time.Duration // for the container to run; 0 = 30s
	DockerTimeout time.Duration // for dockerd's socket (--docker); 0 = 60s
}

// Start starts a stopped container: regenerates its cpuinfo and init, has
// liblxc start it (daemonized), and with --docker starts the rootfs's
// dockerd and waits until its socket answers. On every failure after
// liblxc was asked to start it — liblxc's start failing, a container not
// running in time, dockerd not coming up, ctx cancelled (Ctrl-C) — the
// container is stopped again and its stale cgroups removed.
//
// Start holds the container's lock (see LockFile) throughout: a second
// start waits for the first and then finds the container running.
func (m *Manager) Start(ctx context.Context, name string, o StartOptions) error {
	lk, err := m.lockFor(ctx, name, "start")
	if err != nil {
		return err
	}
	defer lk.unlock()
	st, c, err := m.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if c.Running() {
		return fmt.Errorf("container %q is already running (pid %d)", name, c.InitPid())
	}
	dir := m.Dir(name)
	if err := CheckRootfs(st.Rootfs); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if err := writeRuntimeFiles(dir, st); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return m.start(ctx, c, st, o)
}

// container is what Start, startDockerd and stopContainer use of a
// *golxc.Container (an interface so that the failure paths can be tested
// with states a real container rarely shows).
type container interface {
	Name() string
	ConfigPath() string
	Start() error
	Running() bool
	State() golxc.State
	Wait(golxc.State, time.Duration) bool
	Shutdown(time.Duration) error
	Stop() error
	InitPid() int
	RunCommandNoWait([]string, golxc.AttachOptions) (int, error)
}

// start is Start from liblxc's start on.
func (m *Manager) start(ctx context.Context, c container, st *State, o StartOptions) (err error) {
	name := c.Name()
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.DockerTimeout == 0 {
		o.DockerTimeout = 60 * time.Second
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: interrupted (%v); nothing was started", name, context.Cause(ctx))
	}
	dir := m.Dir(name)
	logOff := fileSize(filepath.Join(dir, LogFile))
	// Only a container this call starts is stopped again on failure: one
	// that lxc-start (or anyone) is starting, stopping or running is left
	// alone.
	if state := c.State(); state != golxc.STOPPED {
		if state == golxc.RUNNING {
			return fmt.Errorf("container %q is already running (pid %d)", name, c.InitPid())
		}
		return fmt.Errorf("start %s: the container is %s, not STOPPED (is lxc-start or lxc-stop working on it?); left as it is", name, state)
	}
	// From here on, whatever fails leaves the container stopped and its
	// cgroups removed: liblxc may have got part of the way.
	ours := true
	defer func() {
		if err == nil || !ours {
			return
		}
		if c.State() != golxc.STOPPED {
			m.logf("stopping %s again: the start failed", name)
			if serr := stopContainer(c, 0); serr != nil {
				err = fmt.Errorf("%w\n(and stopping it again failed: %v)", err, serr)
			}
		}
		RemoveStaleCgroups(name)
	}()
	if err := c.Start(); err != nil {
		if isAlreadyRunning(err) {
			// Started by someone else (lxc-start) since the check above:
			// theirs, not to be stopped.
			ours = false
			return fmt.Errorf("container %q is already running (started meanwhile by another program, pid %d)", name, c.InitPid())
		}
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
			return fmt.Errorf("start %s: not running after %s (state %s); stopped it again%s", name, o.Timeout, state, m.logTail(dir, logOff))
		}
		init := "/bin/sh " + InitTarget
		if st.Init != nil {
			init = strings.Join(st.Init, " ")
		}
		return fmt.Errorf("start %s: the container stopped right after starting: its init (%s) exited or could not be executed%s", name, init, m.logTail(dir, logOff))
	}
	// Ctrl-C or SIGTERM while the container came up (liblxc's start and
	// the wait above do not watch ctx): stopped again, as with --docker.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: interrupted (%v); stopped the container again", name, context.Cause(ctx))
	}
	if !st.Docker {
		return nil
	}
	if err := m.startDockerd(ctx, c, st, o.DockerTimeout); err != nil {
		if ctx.Err() == nil {
			m.logf("stopping %s again: dockerd did not start", name)
		}
		return fmt.Errorf("start %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: interrupted (%v) as dockerd answered; stopped the container again", name, context.Cause(ctx))
	}
	return nil
}

// isAlreadyRunning reports whether err is go-lxc's ErrAlreadyRunning (which
// it formats with the name, unwrapped).
func isAlreadyRunning(err error) bool {
	return errors.Is(err, golxc.ErrAlreadyRunning) || strings.HasPrefix(err.Error(), golxc.ErrAlreadyRunning.Error())
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

// startDockerd runs dockerd in the container, with stdout and stderr to
// <dir>/dockerd.log, and waits for its API socket.
//
// dockerd is not attached directly: liblxc creates attached processes with
// CLONE_PARENT, as children of armhf-lxc in the host's PID namespace, and
// when armhf-lxc exits the kernel reparents such an orphan to a subreaper
// among armhf-lxc's ancestors or to the host's PID 1 — not to the
// container's init (seen before this was changed: dockerd's PPid was the
// host's PID 1, 0 inside the container). A host process that does not reap
// it would leave a zombie that keeps the container's PID namespace, and so
// a stop, from ever finishing. So the attached process is the container's
// /bin/sh, which starts dockerd in the background and waits for it
// (passing its exit status on while armhf-lxc watches); once the socket
// answers, armhf-lxc kills and reaps that sh, and dockerd, orphaned inside
// the container, is adopted by the container's init, which reaps it.
func (m *Manager) startDockerd(ctx context.Context, c container, st *State, timeout time.Duration) error {
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
	pid, err := c.RunCommandNoWait(DockerdWrapper(argv), opts)
	if err != nil {
		return fmt.Errorf("starting %s in the container: %w", strings.Join(argv, " "), err)
	}
	m.logf("dockerd started; waiting for %s", st.DockerSocket)
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
			// dockerd's sh goes, dockerd is the container init's.
			unix.Kill(pid, unix.SIGKILL)
			reap(pid)
			return nil
		}
		if ctx.Err() != nil {
			reap(pid)
			return fmt.Errorf("interrupted (%v) while waiting for dockerd on %s; stopped the container again", context.Cause(ctx), st.DockerSocket)
		}
		if time.Now().After(deadline) {
			reap(pid)
			return fmt.Errorf("dockerd did not answer on %s within %s: %v%s", st.DockerSocket, timeout, lastErr, fileTail(logPath, logOff, "dockerd log"))
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// DockerdWrapper is the command attached for --docker: the container's sh
// running dockerd (argv) in the background and exiting with its status
// (see startDockerd).
func DockerdWrapper(argv []string) []string {
	return append([]string{"/bin/sh", "-c", `"$@" & wait $!`, "sh"}, argv...)
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

// describeStatus is the wait status of DockerdWrapper's sh: its exit status
// is dockerd's, 128+N when dockerd was killed by signal N (sh's own
// convention), so exit statuses above 128 are reported as that signal.
func describeStatus(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return describeSignal(ws.Signal())
	}
	if code := ws.ExitStatus(); code > 128 && code-128 <= 64 {
		return describeSignal(unix.Signal(code - 128))
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

func describeSignal(s unix.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return fmt.Sprintf("killed by signal %d (%s)", int(s), name)
	}
	return fmt.Sprintf("killed by signal %d", int(s))
}

// Stop stops a running container: SIGTERM to its init (which passes it on
// to every process) and up to timeout for it to exit, then SIGKILL. A
// timeout of 0 kills at once. Stopping a stopped container does nothing
// and returns stopped=false.
func (m *Manager) Stop(name string, timeout time.Duration) (stopped bool, err error) {
	lk, err := m.lockFor(context.Background(), name, "stop")
	if err != nil {
		return false, err
	}
	defer lk.unlock()
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

func stopContainer(c container, timeout time.Duration) error {
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
//
// It also removes what a failed create or destroy left (a rollback stopped
// by a mount below the directory): a directory without an LXC config but
// with armhf-lxc.json (which create writes first and removeDir deletes
// last) is cleaned up as that file says; one without either is removed
// only if it holds nothing but armhf-lxc's cpuinfo, init and log files.
func (m *Manager) Destroy(name string, force bool) error {
	// A create still unpacking looks like a failed one: the lock tells
	// them apart (destroy refuses at once while a create holds it).
	lk, err := m.lockFor(context.Background(), name, "destroy")
	if err != nil {
		return err
	}
	defer lk.unlock()
	dir := m.Dir(name)
	c, err := golxc.NewContainer(name, m.lxcpath())
	if err != nil {
		return fmt.Errorf("container %q: liblxc: %w", name, err)
	}
	defer c.Release()
	st, serr := ReadState(dir)
	if !c.Defined() {
		return m.destroyLeftover(c, st, serr)
	}
	if serr != nil {
		return fmt.Errorf("container %q: %w", name, serr)
	}
	if c.Running() {
		if !force {
			return fmt.Errorf("destroy %s: container %q is running (stop it first, or destroy --force)", name, name)
		}
		if err := stopContainer(c, 10*time.Second); err != nil {
			return fmt.Errorf("destroy %s: %w", name, err)
		}
	}
	RemoveStaleCgroups(name)
	return m.removeOwn(name, st)
}

// removeOwn removes the directory of name as its state says.
func (m *Manager) removeOwn(name string, st *State) error {
	dir := m.Dir(name)
	own := ""
	if st.OwnsRootfs {
		own = filepath.Join(dir, RootfsDir)
		if filepath.Clean(st.Rootfs) != own {
			return fmt.Errorf("destroy %s: %s says armhf-lxc owns rootfs %s, which is not %s; refusing to delete it", name, StateFile, st.Rootfs, own)
		}
	}
	if err := m.removeDir(dir, own); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}

// destroyLeftover is Destroy of a directory without an LXC config.
func (m *Manager) destroyLeftover(c *golxc.Container, st *State, stateErr error) error {
	name, dir := c.Name(), m.Dir(c.Name())
	if c.Running() {
		return fmt.Errorf("destroy %s: %s has no LXC config, yet liblxc runs a container %q: stop it with lxc-stop -k -n %s -P %s, then run %s again", name, dir, name, name, m.lxcpath(), m.command("destroy", name))
	}
	RemoveStaleCgroups(name)
	switch {
	case st != nil:
		m.logf("%s has no LXC config (left by a failed create or destroy): removing what %s lists", dir, StateFile)
		return m.removeOwn(name, st)
	case !errors.Is(stateErr, ErrNotManaged):
		return fmt.Errorf("destroy %s: %s has no LXC config and %v: check it and remove it by hand (rm -r %s)", name, dir, stateErr, dir)
	}
	if ok, other := onlyOwnFiles(dir); !ok {
		return fmt.Errorf("destroy %s: %s has neither an LXC config nor %s, so it is not armhf-lxc's (it holds %s): check it and remove it by hand (rm -r %s)", name, dir, StateFile, strings.Join(other, ", "), dir)
	}
	m.logf("%s has no LXC config and no %s, only armhf-lxc's files: removing them", dir, StateFile)
	if err := m.removeDir(dir, ""); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
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
	for _, f := range ownFiles {
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
