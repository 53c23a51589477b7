//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestStartChecksRootfs: a user rootfs deleted after create gives a clear
// error on start instead of a liblxc failure.
func TestStartChecksRootfs(t *testing.T) {
	requireLXC(t)
	m := newManager(t)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	if err := m.Create(context.Background(), CreateOptions{Name: "gone", Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Destroy("gone", true) })
	os.RemoveAll(rootfs)
	err := m.Start(context.Background(), "gone", StartOptions{})
	if err == nil || !strings.Contains(err.Error(), rootfs) {
		t.Errorf("Start with the rootfs gone = %v, want an error naming %s", err, rootfs)
	}
	if err := m.Destroy("gone", false); err != nil {
		t.Errorf("Destroy after the rootfs vanished: %v", err)
	}
}

// fakeContainer is a container whose liblxc start fails or never reaches
// RUNNING, in states a real one rarely shows.
type fakeContainer struct {
	name, path string
	before     golxc.State // before Start (0 = STOPPED)
	startErr   error
	onStart    func()      // called by Start (e.g. a Ctrl-C meanwhile)
	state      golxc.State // after Start
	started    bool
	stops      int
}

func (f *fakeContainer) Name() string       { return f.name }
func (f *fakeContainer) ConfigPath() string { return f.path }
func (f *fakeContainer) Start() error {
	f.started = true
	if f.onStart != nil {
		f.onStart()
	}
	return f.startErr
}
func (f *fakeContainer) Running() bool { return f.State() == golxc.RUNNING }
func (f *fakeContainer) State() golxc.State {
	if !f.started && f.stops == 0 {
		if f.before == 0 {
			return golxc.STOPPED
		}
		return f.before
	}
	return f.state
}
func (f *fakeContainer) Wait(s golxc.State, _ time.Duration) bool {
	return f.State() == s
}
func (f *fakeContainer) Shutdown(time.Duration) error { return errors.New("timed out") }
func (f *fakeContainer) Stop() error                  { f.stops++; f.state = golxc.STOPPED; return nil }
func (f *fakeContainer) InitPid() int                 { return -1 }
func (f *fakeContainer) RunCommandNoWait([]string, golxc.AttachOptions) (int, error) {
	return -1, errors.New("not attached")
}

// TestStartFailureCleansUp: whatever makes a start fail after liblxc was
// asked to start the container (its start failing, a container neither
// RUNNING nor STOPPED in time, an interrupt), the container is stopped
// and the empty cgroups liblxc left are removed.
func TestStartFailureCleansUp(t *testing.T) {
	requireLXC(t)
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mps := cgroupMountPoints(mi)
	testenv.Require(t, len(mps) > 0, "no cgroup file system mounted")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// Ctrl-C while liblxc starts the container (without --docker).
	during, cancelDuring := context.WithCancel(context.Background())
	defer cancelDuring()
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		c         fakeContainer
		err       string
		wantStops int
		wantState golxc.State // 0 = STOPPED
	}{
		{"start-fails-stopped", context.Background(), fakeContainer{startErr: errors.New("failed to start"), state: golxc.STOPPED}, "failed to start", 0, 0},
		{"start-fails-starting", context.Background(), fakeContainer{startErr: errors.New("failed to start"), state: golxc.STARTING}, "failed to start", 1, 0},
		{"not-running-in-time", context.Background(), fakeContainer{state: golxc.FREEZING}, "not running after 1s (state FREEZING)", 1, 0},
		{"interrupted-before", cancelled, fakeContainer{state: golxc.STOPPED}, "interrupted", 0, 0},
		{"interrupted-while-starting", during, fakeContainer{state: golxc.RUNNING, onStart: cancelDuring}, "interrupted", 1, 0},
		// Someone else (lxc-start, another armhf-lxc) started it between
		// the check and liblxc's start: theirs, left running.
		{"started-meanwhile", context.Background(), fakeContainer{startErr: fmt.Errorf("%s: %q", golxc.ErrAlreadyRunning, "x"), state: golxc.RUNNING}, "already running", 0, golxc.RUNNING},
		// Being started or stopped by someone else: not touched at all.
		{"starting-before", context.Background(), fakeContainer{before: golxc.STARTING, startErr: errors.New("failed to start"), state: golxc.STARTING}, "not STOPPED", 0, golxc.STARTING},
		{"running-before", context.Background(), fakeContainer{before: golxc.RUNNING, startErr: errors.New("failed to start"), state: golxc.RUNNING}, "already running", 0, golxc.RUNNING},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			name := fmt.Sprintf("fake%d", os.Getpid())
			tc.c.name, tc.c.path = name, m.LXCPath
			stale := filepath.Join(mps[0], "lxc.monitor."+name)
			if err := os.Mkdir(stale, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(stale) })
			err := m.start(tc.ctx, &tc.c, &State{Name: name}, StartOptions{Timeout: time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("start = %v, want an error containing %q", err, tc.err)
			}
			want := tc.wantState
			if want == 0 {
				want = golxc.STOPPED
			}
			if tc.c.stops != tc.wantStops || tc.c.State() != want {
				t.Errorf("after the failed start: %d stops, state %s; want %d, %s", tc.c.stops, tc.c.State(), tc.wantStops, want)
			}
			if tc.wantStops > 0 || tc.name == "start-fails-stopped" {
				if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the failed start left the empty cgroup %s (%v)", stale, err)
				}
			}
		})
	}
}

// TestDescribeStatus: dockerd runs under DockerdWrapper's sh, which exits
// 128+N when dockerd is killed by signal N.
func TestDescribeStatus(t *testing.T) {
	exited := func(code int) unix.WaitStatus { return unix.WaitStatus(code << 8) }
	for _, tc := range []struct {
		ws   unix.WaitStatus
		want string
	}{
		{exited(0), "exit status 0"},
		{exited(1), "exit status 1"},
		{exited(127), "exit status 127"},
		{exited(128), "exit status 128"},
		{exited(128 + 9), "killed by signal 9 (SIGKILL)"},
		{exited(128 + 15), "killed by signal 15 (SIGTERM)"},
		{exited(128 + 6), "killed by signal 6 (SIGABRT)"},
		{exited(128 + 40), "killed by signal 40"},
		{exited(255), "exit status 255"},
		{unix.WaitStatus(unix.SIGKILL), "killed by signal 9 (SIGKILL)"},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, "killed by signal 11 (SIGSEGV)"}, // core dumped
	} {
		if got := describeStatus(tc.ws); got != tc.want {
			t.Errorf("describeStatus(%#x) = %q, want %q", uint32(tc.ws), got, tc.want)
		}
	}
}
