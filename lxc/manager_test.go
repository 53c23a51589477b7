//go:build linux && cgo

package lxc

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// requireLXC needs root and Debian's lxc (liblxc at run time).
func requireLXC(t *testing.T) {
	t.Helper()
	testenv.SkipShort(t, "LXC containers")
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "lxc-start")
}

// TestLiblxcAcceptsConfig feeds every configuration Config writes (both
// architectures, both cgroup generations, nesting or not) through this
// liblxc's parser and reads it back.
func TestLiblxcAcceptsConfig(t *testing.T) {
	requireLXC(t)
	for _, arch := range []string{"armv7l", "i686"} {
		for _, h := range []Host{
			{Cgroups: CgroupKeys{Cpuset: "lxc.cgroup", Devices: "lxc.cgroup"}},
			{Cgroups: CgroupKeys{Cpuset: "lxc.cgroup2", Devices: "lxc.cgroup2"}, AppArmor: true},
		} {
			for _, nesting := range []bool{false, true} {
				name := fmt.Sprintf("cfg-%s-%s-%t", arch, strings.ReplaceAll(h.Cgroups.Cpuset, ".", ""), nesting)
				t.Run(name, func(t *testing.T) {
					lxcpath := t.TempDir()
					dir := filepath.Join(lxcpath, "c1")
					os.Mkdir(dir, 0o750)
					s := Spec{Name: "c1", Dir: dir, Rootfs: "/srv/my rootfs", Arch: arch, Nesting: nesting, CPUs: "0",
						Network: Network{Bridge: "br0"}, RunDir: true,
						Binds: []Bind{{Source: "/usr", Target: "/usr", ReadOnly: true}}}
					items, err := Config(s, h)
					if err != nil {
						t.Fatal(err)
					}
					if err := saveConfig("c1", lxcpath, items); err != nil {
						t.Fatal(err)
					}
					c, err := golxc.NewContainer("c1", lxcpath)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Release()
					if !c.Defined() {
						t.Fatal("liblxc does not see the saved container")
					}
					// The saved file is what we set, line by line, in order.
					b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
					if err != nil {
						t.Fatal(err)
					}
					var lines []string
					for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
						lines = append(lines, strings.TrimSpace(l))
					}
					var want []string
					for _, it := range items {
						want = append(want, strings.TrimSpace(it.String()))
					}
					if !reflect.DeepEqual(lines, want) {
						t.Errorf("saved config:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
					}
					// And liblxc parsed it as meant.
					for _, k := range []string{"lxc.uts.name", "lxc.init.cmd", "lxc.mount.entry", "lxc.net.0.type", "lxc.net.0.link", h.Cgroups.Cpuset + ".cpuset.cpus"} {
						if got, w := c.ConfigItem(k), values(items, k); !reflect.DeepEqual(got, w) {
							t.Errorf("%s: liblxc has %q, we wrote %q", k, got, w)
						}
					}
					if got := c.ConfigItem("lxc.arch"); len(got) != 1 || got[0] != "i686" && got[0] != "armv7l" && got[0] != "linux32" {
						t.Errorf("lxc.arch reads back as %q: not a 32-bit personality", got)
					}
					if got := c.ConfigItem("lxc.signal.halt"); !reflect.DeepEqual(got, []string{"15"}) {
						t.Errorf("lxc.signal.halt = %q, want SIGTERM (15)", got)
					}
				})
			}
		}
	}
}

// tarDir writes dir as a gzip'd tarball (GNU tar, as users make them).
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	if b, err := exec.Command("tar", "-C", dir, "-czf", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
}

func newManager(t *testing.T) *Manager {
	return &Manager{LXCPath: filepath.Join(t.TempDir(), "lxc"), Log: testLog{t}}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestCreateDestroyOwnership: a user's rootfs directory is used in place
// and survives destroy untouched; an unpacked tarball is deleted with the
// container.
func TestCreateDestroyOwnership(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	m := newManager(t)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	before := testenv.TreeDigest(t, rootfs)

	if err := m.Create(ctx, CreateOptions{Name: "own-dir", Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(m.Dir("own-dir"))
	if err != nil {
		t.Fatal(err)
	}
	if st.OwnsRootfs || st.Rootfs != rootfs || st.Arch == "" {
		t.Errorf("state = %+v: want the user's rootfs, not owned", st)
	}
	for _, f := range []string{ConfigFile, StateFile, CPUInfoFile, InitFile} {
		if _, err := os.Stat(filepath.Join(m.Dir("own-dir"), f)); err != nil {
			t.Errorf("create left no %s: %v", f, err)
		}
	}
	if err := m.Destroy("own-dir", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir("own-dir")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destroy left %s: %v", m.Dir("own-dir"), err)
	}
	if after := testenv.TreeDigest(t, rootfs); after != before {
		t.Errorf("create+destroy changed the user's rootfs:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	tb := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	tarDir(t, rootfs, tb)
	if err := m.Create(ctx, CreateOptions{Name: "own-tar", Rootfs: tb}); err != nil {
		t.Fatal(err)
	}
	st, err = ReadState(m.Dir("own-tar"))
	if err != nil {
		t.Fatal(err)
	}
	if !st.OwnsRootfs || st.Rootfs != filepath.Join(m.Dir("own-tar"), RootfsDir) || st.Source != tb {
		t.Errorf("state = %+v: want an owned rootfs under the container dir", st)
	}
	if err := CheckRootfs(st.Rootfs); err != nil {
		t.Error(err)
	}
	if err := m.Destroy("own-tar", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir("own-tar")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destroy left %s: %v", m.Dir("own-tar"), err)
	}
	if _, err := os.Stat(tb); err != nil {
		t.Errorf("destroy removed the tarball itself: %v", err)
	}

	// A file the user put into the container directory is not deleted
	// (and keeps the directory).
	if err := m.Create(ctx, CreateOptions{Name: "own-extra", Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(m.Dir("own-extra"), "notes.txt")
	os.WriteFile(extra, []byte("mine"), 0o644)
	err = m.Destroy("own-extra", false)
	if err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("Destroy with a foreign file = %v, want it named", err)
	}
	if _, err := os.Stat(extra); err != nil {
		t.Errorf("destroy deleted the user's file: %v", err)
	}
}

// TestCreateRollback: every failing create leaves nothing behind.
func TestCreateRollback(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	rootfs := testenv.BusyboxRootfs(t, "i386")
	before := testenv.TreeDigest(t, rootfs)
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	tarDir(t, rootfs, good)

	truncated := filepath.Join(t.TempDir(), "truncated.tar.gz")
	data, _ := os.ReadFile(good)
	os.WriteFile(truncated, data[:len(data)*2/3], 0o644)

	noShell := filepath.Join(t.TempDir(), "nosh.tar")
	writeTar(t, noShell, false, []tarEntry{{name: "etc/", typ: tar.TypeDir}, {name: "etc/hostname", typ: tar.TypeReg, body: "x\n", mode: 0o644}})

	nested := t.TempDir()
	os.Symlink(rootfs, filepath.Join(nested, "rootfs"))
	nestedTar := filepath.Join(t.TempDir(), "nested.tar.gz")
	if b, err := exec.Command("tar", "-C", nested, "-h", "-czf", nestedTar, "rootfs").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}

	for _, tc := range []struct {
		name string
		o    CreateOptions
		err  string
	}{
		{"truncated-tarball", CreateOptions{Rootfs: truncated}, "unpacking"},
		{"tarball-without-shell", CreateOptions{Rootfs: noShell}, "no executable /bin/sh"},
		{"tarball-extra-top-dir", CreateOptions{Rootfs: nestedTar}, "extra top-level directory"},
		{"init-missing-after-unpack", CreateOptions{Rootfs: good, Init: []string{"/sbin/init"}}, "no such program"},
		{"init-missing-dir-rootfs", CreateOptions{Rootfs: rootfs, Init: []string{"/sbin/init"}}, "no such program"},
		{"init-unquotable", CreateOptions{Rootfs: rootfs, Init: []string{"/bin/sh", "-c", "'x'"}}, "cannot quote"},
		// --init is checked before the tarball is unpacked (the truncated
		// one would fail to unpack).
		{"init-unquotable-before-unpack", CreateOptions{Rootfs: truncated, Init: []string{"/bin/sh", "-c", "'x'"}}, "cannot quote"},
		{"init-relative-before-unpack", CreateOptions{Rootfs: truncated, Init: []string{"sbin/init"}}, "must be an absolute path"},
		{"init-empty-before-debootstrap", CreateOptions{Debootstrap: "no-such-suite", Init: []string{}}, "must be an absolute path"},
		{"missing-rootfs", CreateOptions{Rootfs: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"empty-dir-rootfs", CreateOptions{Rootfs: t.TempDir()}, "no executable /bin/sh"},
		{"docker-without-nesting", CreateOptions{Rootfs: rootfs, Docker: true}, "needs --nesting"},
		{"both-sources", CreateOptions{Rootfs: rootfs, Debootstrap: "bookworm"}, "exactly one"},
		{"no-source", CreateOptions{}, "exactly one"},
		{"bad-cpus", CreateOptions{Rootfs: rootfs, CPUs: "4096"}, "not available"},
		{"bad-cpus-syntax", CreateOptions{Rootfs: rootfs, CPUs: "1-0"}, "--cpus"},
		{"no-bridge", CreateOptions{Rootfs: rootfs, Network: "veth:nobr0"}, "no bridge"},
		{"bad-network", CreateOptions{Rootfs: rootfs, Network: "macvlan:eth0"}, "want none or veth:BRIDGE"},
		{"bind-source-missing", CreateOptions{Rootfs: rootfs, Binds: []string{"/nonexistent-armhf:/x"}}, "no such file"},
		{"bad-docker-socket", CreateOptions{Rootfs: rootfs, Nesting: true, Docker: true, DockerSocket: "docker.sock"}, "--docker-socket"},
		{"mirror-without-debootstrap", CreateOptions{Rootfs: rootfs, Mirror: "http://deb.debian.org/debian"}, "--mirror without --debootstrap"},
		{"docker-arg-without-docker", CreateOptions{Rootfs: rootfs, Nesting: true, DockerArgs: []string{"--iptables=false"}}, "--docker-arg without --docker"},
		{"docker-socket-without-docker", CreateOptions{Rootfs: rootfs, Nesting: true, DockerSocket: "/run/d.sock"}, "--docker-socket without --docker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			tc.o.Name = "rb"
			err := m.Create(ctx, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Create = %v, want an error containing %q", err, tc.err)
			}
			if _, serr := os.Stat(m.Dir("rb")); !errors.Is(serr, fs.ErrNotExist) {
				ents, _ := os.ReadDir(m.Dir("rb"))
				t.Errorf("failed create left %s behind (%v): %v", m.Dir("rb"), serr, ents)
			}
			if names := golxc.DefinedContainerNames(m.LXCPath); len(names) != 0 {
				t.Errorf("liblxc still sees %v", names)
			}
		})
	}
	if after := testenv.TreeDigest(t, rootfs); after != before {
		t.Errorf("failed creates changed the user's rootfs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestLXCPathForms: a relative or symlinked lxcpath works like the
// absolute one, and destroy sees mounts below the container directory
// through it (mountinfo has canonical paths) instead of deleting into them.
func TestLXCPathForms(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	tarDir(t, testenv.BusyboxRootfs(t, "i386"), good)
	for _, tc := range []struct {
		name string
		path func(t *testing.T) (lxcpath, real string)
	}{
		{"symlink", func(t *testing.T) (string, string) {
			real := filepath.Join(t.TempDir(), "real")
			os.Mkdir(real, 0o755)
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link, real
		}},
		{"relative", func(t *testing.T) (string, string) {
			wd := t.TempDir()
			t.Chdir(wd)
			return "rel/lxc", filepath.Join(wd, "rel/lxc")
		}},
		{"relative-through-symlink", func(t *testing.T) (string, string) {
			real := filepath.Join(t.TempDir(), "real")
			os.Mkdir(real, 0o755)
			wd := t.TempDir()
			os.Symlink(real, filepath.Join(wd, "link"))
			t.Chdir(wd)
			return "link", real
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lxcpath, real := tc.path(t)
			m := &Manager{LXCPath: lxcpath, Log: testLog{t}}
			name := "lp-" + tc.name
			if err := m.Create(ctx, CreateOptions{Name: name, Rootfs: good}); err != nil {
				t.Fatalf("Create with lxcpath %q: %v", lxcpath, err)
			}
			st, err := ReadState(filepath.Join(real, name))
			if err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(st.Rootfs) {
				t.Errorf("state rootfs %q is not absolute", st.Rootfs)
			}
			// A mount below the container directory (as a stuck
			// container or a user's bind mount leaves one).
			mnt := filepath.Join(real, name, RootfsDir, "mnt", "data")
			os.MkdirAll(mnt, 0o755)
			if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatal(err)
			}
			mounted := true
			t.Cleanup(func() {
				if mounted {
					unix.Unmount(mnt, unix.MNT_DETACH)
				}
				m.Destroy(name, true)
			})
			keep := filepath.Join(mnt, "keep")
			os.WriteFile(keep, []byte("x"), 0o644)
			err = m.Destroy(name, false)
			if err == nil || !strings.Contains(err.Error(), "has mounts below it") || !strings.Contains(err.Error(), mnt) {
				t.Errorf("Destroy with %s mounted = %v, want a refusal naming it", mnt, err)
			}
			if _, err := os.Stat(keep); err != nil {
				t.Errorf("Destroy deleted a file on the mount below the container: %v", err)
			}
			if err := unix.Unmount(mnt, 0); err != nil {
				t.Fatal(err)
			}
			mounted = false
			if err := m.Destroy(name, false); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(real, name)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("destroy left %s: %v", filepath.Join(real, name), err)
			}
		})
	}
}

func TestNewManager(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	for _, tc := range []struct{ in, want string }{
		{"", DefaultLXCPath()},
		{"/srv/lxc", "/srv/lxc"},
		{"lxc", filepath.Join(wd, "lxc")},
		{"./a/../lxc/", filepath.Join(wd, "lxc")},
	} {
		m, err := NewManager(tc.in, nil)
		if err != nil || m.LXCPath != tc.want || m.Dir("c") != filepath.Join(tc.want, "c") {
			t.Errorf("NewManager(%q) = %+v, %v; want lxcpath %q", tc.in, m, err, tc.want)
		}
	}
}

// TestCreateTwice: the second create fails and leaves the first intact.
func TestCreateTwice(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	m := newManager(t)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	if err := m.Create(ctx, CreateOptions{Name: "twice", Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Destroy("twice", true) })
	cfg, _ := os.ReadFile(filepath.Join(m.Dir("twice"), ConfigFile))
	other := testenv.BusyboxRootfs(t, "i386")
	err := m.Create(ctx, CreateOptions{Name: "twice", Rootfs: other, Nesting: true})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Create = %v, want 'already exists'", err)
	}
	if cfg2, _ := os.ReadFile(filepath.Join(m.Dir("twice"), ConfigFile)); string(cfg2) != string(cfg) {
		t.Errorf("the failed second create changed the config:\n%s\n---\n%s", cfg, cfg2)
	}
	if st, err := ReadState(m.Dir("twice")); err != nil || st.Rootfs != rootfs {
		t.Errorf("state after second create: %+v, %v", st, err)
	}
}

// TestNotManaged: a container made with the lxc-* tools is reported by
// status but never started, stopped or destroyed by armhf-lxc.
func TestNotManaged(t *testing.T) {
	requireLXC(t)
	m := newManager(t)
	dir := m.Dir("foreign")
	os.MkdirAll(dir, 0o750)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("lxc.uts.name = foreign\nlxc.rootfs.path = dir:/nonexistent\nlxc.arch = x86_64\n"), 0o640)
	s, err := m.Status("foreign")
	if err != nil || s.Managed || s.State != "STOPPED" || s.Arch != "x86_64" {
		t.Errorf("Status(foreign) = %+v, %v", s, err)
	}
	if err := m.Destroy("foreign", true); err == nil || !errors.Is(err, ErrNotManaged) {
		t.Errorf("Destroy(foreign) = %v, want ErrNotManaged", err)
	}
	if err := m.Start(context.Background(), "foreign", StartOptions{}); !errors.Is(err, ErrNotManaged) {
		t.Errorf("Start(foreign) = %v, want ErrNotManaged", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err != nil {
		t.Errorf("the foreign config is gone: %v", err)
	}
	ss, err := m.List()
	if err != nil || len(ss) != 1 || ss[0].Name != "foreign" {
		t.Errorf("List = %+v, %v", ss, err)
	}
}

// TestDebootstrapFailureRollsBack: a debootstrap that fails (an unknown
// suite: the mirror has no Release file for it, or there is no network)
// leaves nothing behind.
func TestDebootstrapFailureRollsBack(t *testing.T) {
	requireLXC(t)
	testenv.RequireCommand(t, "debootstrap")
	m := newManager(t)
	err := m.Create(context.Background(), CreateOptions{Name: "deb", Debootstrap: "no-such-suite-armhf", Mirror: "http://deb.debian.org/debian"})
	if err == nil || !strings.Contains(err.Error(), "debootstrap --arch=") {
		t.Fatalf("Create = %v, want a debootstrap error", err)
	}
	if _, serr := os.Stat(m.Dir("deb")); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("failed debootstrap left %s: %v", m.Dir("deb"), serr)
	}
}

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

// TestDestroyLeftovers: what a failed create or destroy leaves (no LXC
// config) is removed by destroy as far as it is armhf-lxc's, and the
// other commands say so instead of "not created by armhf-lxc" or "remove
// the directory by hand".
func TestDestroyLeftovers(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	rootfs := testenv.BusyboxRootfs(t, "i386")
	tarball := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	tarDir(t, rootfs, tarball)
	destroyCmd := func(m *Manager, name string) string {
		return "armhf-lxc --lxcpath " + m.LXCPath + " destroy " + name
	}

	t.Run("state-without-config", func(t *testing.T) {
		m := newManager(t)
		if err := m.Create(ctx, CreateOptions{Name: "lo1", Rootfs: tarball}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Destroy("lo1", true) })
		// What removeDir leaves when it fails after removing the config.
		os.Remove(filepath.Join(m.Dir("lo1"), ConfigFile))
		if err := m.Start(ctx, "lo1", StartOptions{}); err == nil || !strings.Contains(err.Error(), destroyCmd(m, "lo1")) || strings.Contains(err.Error(), "by hand") {
			t.Errorf("Start = %v, want advice to run %s", err, destroyCmd(m, "lo1"))
		}
		if err := m.Create(ctx, CreateOptions{Name: "lo1", Rootfs: rootfs}); err == nil || !strings.Contains(err.Error(), destroyCmd(m, "lo1")) {
			t.Errorf("Create over it = %v, want advice to run %s", err, destroyCmd(m, "lo1"))
		}
		if err := m.Destroy("lo1", false); err != nil {
			t.Fatalf("Destroy = %v", err)
		}
		if _, err := os.Stat(m.Dir("lo1")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("destroy left %s: %v", m.Dir("lo1"), err)
		}
	})

	t.Run("runtime-files-only", func(t *testing.T) {
		m := newManager(t)
		dir := m.Dir("lo2")
		os.MkdirAll(dir, 0o750)
		for _, f := range []string{CPUInfoFile, InitFile, LogFile} {
			os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644)
		}
		if err := m.Destroy("lo2", false); err != nil {
			t.Fatalf("Destroy = %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("destroy left %s: %v", dir, err)
		}
	})

	t.Run("unknown-rootfs-kept", func(t *testing.T) {
		m := newManager(t)
		dir := m.Dir("lo3")
		os.MkdirAll(filepath.Join(dir, RootfsDir, "etc"), 0o755)
		os.WriteFile(filepath.Join(dir, InitFile), []byte("x\n"), 0o644)
		err := m.Destroy("lo3", true)
		if err == nil || !strings.Contains(err.Error(), "remove it by hand (rm -r "+dir+")") || errors.Is(err, ErrNotManaged) {
			t.Errorf("Destroy = %v, want a refusal naming rm -r %s", err, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, RootfsDir, "etc")); err != nil {
			t.Errorf("destroy deleted a rootfs it cannot know is armhf-lxc's: %v", err)
		}
	})
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

// slowDebootstrap puts a debootstrap on PATH that says it runs (marker),
// waits until release exists, then copies rootfs into its target.
func slowDebootstrap(t *testing.T, rootfs string) (marker, release string) {
	t.Helper()
	bin := t.TempDir()
	marker, release = filepath.Join(bin, "running"), filepath.Join(bin, "release")
	script := "#!/bin/sh\nfor a; do dst=$a; done\n" + // the target is the last argument without a mirror
		"touch " + marker + "\nwhile [ ! -e " + release + " ]; do sleep 0.05; done\n" +
		"cp -a " + rootfs + "/. \"$dst\"/\n"
	if err := os.WriteFile(filepath.Join(bin, "debootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return marker, release
}

// TestCreateInProgress: a create that is still building its rootfs looks
// like a failed one (armhf-lxc.json, no LXC config); destroy, a second
// create and start must refuse instead of deleting its files.
func TestCreateInProgress(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	m := newManager(t)
	marker, release := slowDebootstrap(t, testenv.BusyboxRootfs(t, "i386"))
	name := fmt.Sprintf("cip%d", os.Getpid())
	var createErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		createErr = m.Create(ctx, CreateOptions{Name: name, Debootstrap: "bookworm"})
	}()
	t.Cleanup(func() { os.WriteFile(release, nil, 0o644); <-done; m.Destroy(name, true) })
	for i := 0; ; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case <-done:
			t.Fatalf("Create ended before debootstrap ran: %v", createErr)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			t.Fatal("the fake debootstrap never ran")
		}
	}
	inProgress := fmt.Sprintf("create of %s still in progress (pid %d)", name, os.Getpid())
	if err := m.Destroy(name, true); err == nil || !strings.Contains(err.Error(), inProgress) {
		t.Errorf("Destroy during create = %v, want %q", err, inProgress)
	}
	if err := m.Create(ctx, CreateOptions{Name: name, Rootfs: testenv.BusyboxRootfs(t, "i386")}); err == nil || !strings.Contains(err.Error(), inProgress) || strings.Contains(err.Error(), "destroy") {
		t.Errorf("second Create during create = %v, want %q and no advice to destroy", err, inProgress)
	}
	if err := m.Start(ctx, name, StartOptions{}); err == nil || !strings.Contains(err.Error(), inProgress) || strings.Contains(err.Error(), "destroy") {
		t.Errorf("Start during create = %v, want %q", err, inProgress)
	}
	if _, err := os.Stat(filepath.Join(m.Dir(name), StateFile)); err != nil {
		t.Errorf("the running create's %s is gone: %v", StateFile, err)
	}
	os.WriteFile(release, nil, 0o644)
	<-done
	if createErr != nil {
		t.Fatalf("the create that was in progress failed: %v", createErr)
	}
	if err := m.Destroy(name, false); err != nil {
		t.Fatalf("Destroy after create = %v", err)
	}
	if _, err := os.Stat(m.Dir(name)); !errors.Is(err, fs.ErrNotExist) {
		ents, _ := os.ReadDir(m.Dir(name))
		t.Errorf("destroy left %s: %v", m.Dir(name), ents)
	}
}

// TestLockWaits: start, stop and destroy wait for another of them working
// on the container (a lock not yet released), and give up after LockWait.
func TestLockWaits(t *testing.T) {
	requireLXC(t)
	m := newManager(t)
	name := fmt.Sprintf("lw%d", os.Getpid())
	if err := m.Create(context.Background(), CreateOptions{Name: name, Rootfs: testenv.BusyboxRootfs(t, "i386")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Destroy(name, true) })
	lk, err := m.lock(context.Background(), name, "stop", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	old := LockWait
	LockWait = 300 * time.Millisecond
	defer func() { LockWait = old }()
	want := fmt.Sprintf("another armhf-lxc stop is working on %s (pid %d)", name, os.Getpid())
	if err := m.Destroy(name, false); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Destroy while locked = %v, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(m.Dir(name), ConfigFile)); err != nil {
		t.Errorf("Destroy while locked removed the config: %v", err)
	}
	LockWait = 10 * time.Second
	go func() { time.Sleep(200 * time.Millisecond); lk.unlock() }()
	if _, err := m.Stop(name, 0); err != nil {
		t.Errorf("Stop waiting for the lock = %v", err)
	}
	if err := m.Destroy(name, false); err != nil {
		t.Errorf("Destroy = %v", err)
	}
	// A lock taken on the file destroy removed locks nothing: no container.
	if _, err := m.lock(context.Background(), name, "start", time.Second); err == nil || !strings.Contains(err.Error(), "no container") {
		t.Errorf("lock after destroy = %v, want no container", err)
	}
}
