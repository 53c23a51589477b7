//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	golxc "github.com/lxc/go-lxc"

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
						Binds: []Bind{{Source: "/usr", Target: "/usr", ReadOnly: true}}, Shim: "/usr/local/bin/armhf-runc"}
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
