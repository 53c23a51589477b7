//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	golxc "github.com/lxc/go-lxc"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
)

// DefaultLXCPath is liblxc's lxcpath (lxc.lxcpath, normally /var/lib/lxc).
func DefaultLXCPath() string { return golxc.DefaultConfigPath() }

// Manager creates and runs armhf-lxc containers under one lxcpath.
type Manager struct {
	LXCPath string    // "" = DefaultLXCPath()
	Log     io.Writer // progress and warnings (never the exec'd command's output); nil = discard
}

// NewManager is a Manager of lxcpath ("" = DefaultLXCPath()), made
// absolute because liblxc and the LXC config need absolute paths.
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
	if st.Machine != "" {
		if err := fsutil.WriteFileAtomic(filepath.Join(dir, SeccompFile), []byte(SeccompProfile), 0o444); err != nil {
			return err
		}
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
