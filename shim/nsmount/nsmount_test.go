package nsmount

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/inroot"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"golang.org/x/sys/unix"
)

// procRootfs makes a rootfs with procfs mounted at /proc (unmounted in
// Cleanup).
func procRootfs(t *testing.T) string {
	t.Helper()
	testenv.RequireRoot(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	os.MkdirAll(filepath.Join(root, "proc"), 0o755)
	// A private mount of its own: what is mounted below it does not
	// propagate into the mount namespaces other tests make meanwhile
	// (there, a copy could outlive the cleanup and keep procfs under the
	// temporary directory).
	if err := unix.Mount(root, root, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s: %v", root, err)
	}
	t.Cleanup(func() {
		testenv.UnmountBelow(root)
		// Detaching the bind takes whatever is still mounted below it.
		unix.Unmount(root, unix.MNT_DETACH)
	})
	if err := unix.Mount("", root, "", unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make %s private: %v", root, err)
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mount proc: %v", err)
	}
	return root
}

func TestOpenTargetHostileRootfs(t *testing.T) {
	testenv.RequireRoot(t)
	cases := map[string]func(root string){
		"proc is a symlink to /": func(root string) { os.Symlink("/", filepath.Join(root, "proc")) },
		"proc is a symlink to the host /proc": func(root string) {
			os.Symlink("/proc", filepath.Join(root, "proc"))
		},
		"proc climbs out with ..": func(root string) {
			os.Symlink("../../../../../../../../proc", filepath.Join(root, "proc"))
		},
		"cpuinfo is a symlink to /etc/passwd": func(root string) {
			os.MkdirAll(filepath.Join(root, "proc"), 0o755)
			os.MkdirAll(filepath.Join(root, "etc"), 0o755)
			os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644)
			os.Symlink("/etc/passwd", filepath.Join(root, "proc", "cpuinfo"))
		},
		"cpuinfo is a symlink to the host's /proc/cpuinfo": func(root string) {
			os.MkdirAll(filepath.Join(root, "proc"), 0o755)
			os.Symlink("/proc/cpuinfo", filepath.Join(root, "proc", "cpuinfo"))
		},
		"proc is a plain directory": func(root string) {
			os.MkdirAll(filepath.Join(root, "proc"), 0o755)
			os.WriteFile(filepath.Join(root, "proc", "cpuinfo"), []byte("fake"), 0o644)
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "rootfs")
			os.MkdirAll(root, 0o755)
			mk(root)
			f, err := OpenTarget(root, "/proc/cpuinfo")
			if err == nil {
				f.Close()
				t.Fatal("hostile target accepted")
			}
			if !errors.Is(err, ErrNotProc) && !strings.Contains(err.Error(), "resolving") {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
}

func TestOpenTargetProc(t *testing.T) {
	root := procRootfs(t)
	f, err := OpenTarget(root, "/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := ContainerRoot(root); got != root {
		t.Errorf("ContainerRoot before pivot = %q", got)
	}
	if got := ContainerRoot("/nonexistent/rootfs"); got != "/" {
		t.Errorf("ContainerRoot after pivot = %q", got)
	}
	if got := ContainerRoot("/"); got != "/" {
		t.Errorf("ContainerRoot(/) = %q", got)
	}
}

func writeSource(t *testing.T) string {
	src := filepath.Join(t.TempDir(), "cpuinfo")
	if err := os.WriteFile(src, []byte("processor\t: 0\nCPU architecture: 7\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	return src
}

func TestBindReadOnlySameNamespace(t *testing.T) {
	root := procRootfs(t)
	src := writeSource(t)
	// pid = ourselves: already in the namespace, no setns.
	if err := BindReadOnly(Request{Pid: os.Getpid(), Rootfs: root, Source: src, Target: "/proc/cpuinfo"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "proc", "cpuinfo"))
	if err != nil || !strings.Contains(string(b), "CPU architecture: 7") {
		t.Fatalf("mounted cpuinfo: %v %q", err, b)
	}
	if err := os.WriteFile(filepath.Join(root, "proc", "cpuinfo"), []byte("x"), 0o644); err == nil {
		t.Error("mounted cpuinfo is writable")
	}
}

func TestBindReadOnlyOtherNamespace(t *testing.T) {
	root := procRootfs(t)
	unshare := testenv.RequireCommand(t, "unshare")
	src := writeSource(t)
	// A process in its own private mount namespace that holds a copy of
	// the rootfs with its proc mount.
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	// Wait until unshare has exec'd sleep in the new namespace.
	ours, _ := os.Readlink("/proc/self/ns/mnt")
	deadline := time.Now().Add(10 * time.Second)
	for {
		theirs, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if theirs != "" && theirs != ours && strings.TrimSpace(string(comm)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := BindReadOnly(Request{Pid: pid, Rootfs: root, Source: src, Target: "/proc/cpuinfo"}); err != nil {
		t.Fatal(err)
	}
	inside, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "root", root, "proc", "cpuinfo"))
	if err != nil || !strings.Contains(string(inside), "CPU architecture: 7") {
		t.Errorf("inside the namespace: %v %q", err, inside)
	}
	outside, _ := os.ReadFile(filepath.Join(root, "proc", "cpuinfo"))
	if strings.Contains(string(outside), "CPU architecture: 7") {
		t.Error("the mount leaked into the caller's namespace")
	}
}

func TestBindReadOnlyErrors(t *testing.T) {
	testenv.RequireRoot(t)
	src := writeSource(t)
	if err := BindReadOnly(Request{Pid: -1, Rootfs: "/x", Source: src, Target: "/proc/cpuinfo"}); err == nil {
		t.Error("pid -1 accepted")
	}
	if err := BindReadOnly(Request{Pid: os.Getpid(), Rootfs: "/x", Source: "/nonexistent", Target: "/proc/cpuinfo"}); err == nil ||
		!strings.Contains(err.Error(), "open_tree") {
		t.Errorf("missing source: %v", err)
	}
	// A rootfs whose /proc is not procfs: refused.
	root := filepath.Join(t.TempDir(), "rootfs")
	os.MkdirAll(filepath.Join(root, "proc"), 0o755)
	os.WriteFile(filepath.Join(root, "proc", "cpuinfo"), nil, 0o644)
	if err := BindReadOnly(Request{Pid: os.Getpid(), Rootfs: root, Source: src, Target: "/proc/cpuinfo"}); !errors.Is(err, ErrNotProc) {
		t.Errorf("non-procfs target: %v", err)
	}
}

// bindOverCpuinfo bind-mounts a plain file over root/proc/cpuinfo, as a
// spec with an LXCFS mount does (unmounted with the rootfs).
func bindOverCpuinfo(t *testing.T, root string) {
	t.Helper()
	lxcfs := filepath.Join(t.TempDir(), "lxcfs-cpuinfo")
	os.WriteFile(lxcfs, []byte("processor\t: 0\nlxcfs view\n"), 0o444)
	if err := unix.Mount(lxcfs, filepath.Join(root, "proc", "cpuinfo"), "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount over cpuinfo: %v", err)
	}
}

// A file bind-mounted over /proc/cpuinfo (LXCFS) is accepted and mounted
// over, through both resolvers; symlinks and a non-procfs /proc are not.
func TestOpenTargetBindMountedOverProc(t *testing.T) {
	for _, walk := range []bool{false, true} {
		t.Run(map[bool]string{false: "openat2", true: "walk"}[walk], func(t *testing.T) {
			inroot.ForceWalk(walk)
			defer inroot.ForceWalk(false)
			root := procRootfs(t)
			bindOverCpuinfo(t, root)
			f, err := OpenTarget(root, "/proc/cpuinfo")
			if err != nil {
				t.Fatalf("LXCFS-style target refused: %v", err)
			}
			f.Close()
			src := writeSource(t)
			if err := BindReadOnly(Request{Pid: os.Getpid(), Rootfs: root, Source: src, Target: "/proc/cpuinfo"}); err != nil {
				t.Fatal(err)
			}
			if b := readFile(filepath.Join(root, "proc", "cpuinfo")); !strings.Contains(b, "CPU architecture: 7") {
				t.Errorf("cpuinfo after the mount: %q", b)
			}
			// Hostile trees stay refused by the walk too.
			for name, mk := range map[string]func(root string){
				"proc symlink": func(root string) { os.Symlink("/proc", filepath.Join(root, "proc")) },
				"plain dir": func(root string) {
					os.MkdirAll(filepath.Join(root, "proc"), 0o755)
					os.WriteFile(filepath.Join(root, "proc", "cpuinfo"), nil, 0o644)
				},
			} {
				bad := filepath.Join(t.TempDir(), "rootfs")
				os.MkdirAll(bad, 0o755)
				mk(bad)
				if f, err := OpenTarget(bad, "/proc/cpuinfo"); err == nil {
					f.Close()
					t.Errorf("%s: accepted", name)
				}
			}
		})
	}
}

func readFile(p string) string { b, _ := os.ReadFile(p); return string(b) }

// TestBindReadOnlyPidZeroHelper is the child of TestBindReadOnlyPidZero:
// in its own mount namespace, it mounts with pid 0 (as crun's
// createContainer hooks run) and prints what it sees.
func TestBindReadOnlyPidZeroHelper(t *testing.T) {
	root, src := os.Getenv("NSMOUNT_HELPER_ROOT"), os.Getenv("NSMOUNT_HELPER_SRC")
	if root == "" {
		t.Skip("helper process only")
	}
	if err := BindReadOnly(Request{Pid: 0, Rootfs: root, Source: src, Target: "/proc/cpuinfo"}); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("inside: " + readFile(filepath.Join(root, "proc", "cpuinfo")))
}

// Pid 0 means the caller is in the container's mount namespace (crun's
// createContainer): the mount lands in that namespace, not the parent's.
func TestBindReadOnlyPidZero(t *testing.T) {
	root := procRootfs(t)
	unshare := testenv.RequireCommand(t, "unshare")
	src := writeSource(t)
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", os.Args[0], "-test.run=^TestBindReadOnlyPidZeroHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "NSMOUNT_HELPER_ROOT="+root, "NSMOUNT_HELPER_SRC="+src)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "inside: processor\t: 0\nCPU architecture: 7") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if b := readFile(filepath.Join(root, "proc", "cpuinfo")); strings.Contains(b, "CPU architecture: 7") {
		t.Error("the mount leaked into the parent's namespace")
	}
}
