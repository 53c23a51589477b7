package shim

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/install"
	"golang.org/x/sys/unix"
)

// TestHookPidZeroLikeCrun runs the hook binary the way crun runs a
// createContainer hook: from a process in the container's own (private)
// mount namespace, after the container's /proc is mounted, with "pid": 0,
// "root" as in the config and "bundle" the working directory. The mount
// must appear in that namespace only.
func TestHookPidZeroLikeCrun(t *testing.T) {
	e := newRuncEnv(t)
	unshare := testenv.RequireCommand(t, "unshare")
	dir := runcBundle(t, e.runc, "i386", "true")
	rootfs := filepath.Join(dir, "rootfs")
	// A relative root.path, resolved against the bundle (crun's cwd).
	editConfig(t, dir, func(m map[string]any) {
		os.Symlink(m["root"].(map[string]any)["path"].(string), rootfs)
		m["root"] = map[string]any{"path": "rootfs"}
	})
	state, _ := json.Marshal(map[string]any{"ociVersion": "1.0", "id": "crun-like", "pid": 0, "root": "rootfs",
		"bundle": dir, "status": "created"})
	stateFile := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(stateFile, state, 0o644)
	script := `set -e
mount -t proc proc rootfs/proc
"$0" hook --armhf-shim-state-root "$1" < "$2"
grep -m1 "CPU architecture" rootfs/proc/cpuinfo`
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script, e.shim, e.stateRoot, stateFile)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "CPU architecture: 7\n" {
		t.Fatalf("hook with pid 0 in a private mount namespace: %v\n%s", err, out)
	}
	// The parent namespace has no proc mount there at all, let alone ours.
	var sfs unix.Statfs_t
	if unix.Statfs(filepath.Join(rootfs, "proc"), &sfs) == nil && sfs.Type == unix.PROC_SUPER_MAGIC {
		t.Error("the namespace's mounts leaked into the parent")
	}
	if b := readFile(filepath.Join(rootfs, "proc", "cpuinfo")); b != "" {
		t.Errorf("the parent sees %q at the rootfs's proc/cpuinfo", b)
	}

	// pid 0 outside the create stages is an error, not a mount on the host.
	bad, _ := json.Marshal(map[string]any{"id": "crun-like", "pid": 0, "bundle": dir, "status": "running"})
	stderr := new(strings.Builder)
	if err := Hook([]string{"--armhf-shim-state-root", e.stateRoot}, strings.NewReader(string(bad)), stderr); err == nil ||
		!strings.Contains(err.Error(), "pid 0") {
		t.Errorf("pid 0 at status running: %v", err)
	}
}

// installedStages are the stages `armhf-shim install podman` registers
// the hook at, minus poststop.
func installedStages(t *testing.T, bin string) []string {
	var h struct{ Stages []string }
	if err := json.Unmarshal(install.PodmanHook(bin), &h); err != nil {
		t.Fatal(err)
	}
	var st []string
	for _, s := range h.Stages {
		if s != "poststop" {
			st = append(st, s)
		}
	}
	if len(st) == 0 {
		t.Fatalf("install podman registers no create stage: %v", h.Stages)
	}
	return st
}

// TestHookUserNamespace: a user-namespaced container (podman --userns,
// --uidmap, rootless podman) with the hook at the stages install podman
// registers gets the armv7 cpuinfo, and poststop cleans up.
func TestHookUserNamespace(t *testing.T) {
	e := newRuncEnv(t)
	// The state root as on a host: owned by root, not writable by others.
	os.Chmod(e.stateRoot, 0o755)
	dir := runcBundle(t, e.runc, "i386", "sh", "-c", probe)
	hook := map[string]any{"path": e.shim, "args": []any{"armhf-shim", "hook", "--armhf-shim-state-root", e.stateRoot}}
	editConfig(t, dir, func(m map[string]any) {
		rootfs := m["root"].(map[string]any)["path"].(string)
		filepath.Walk(rootfs, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, 100000, 100000) })
		// The test's temporary directories are 0700: let the container's
		// root (host uid 100000) through to the rootfs.
		for d := filepath.Dir(rootfs); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		lin := m["linux"].(map[string]any)
		lin["namespaces"] = append(lin["namespaces"].([]any), map[string]any{"type": "user"})
		idmap := []any{map[string]any{"containerID": 0, "hostID": 100000, "size": 65536}}
		lin["uidMappings"], lin["gidMappings"] = idmap, idmap
		// cgroup and sysfs mounts need the cgroup/net namespace's owner:
		// keep only what a busybox probe needs.
		var mounts []any
		for _, mt := range m["mounts"].([]any) {
			switch mt.(map[string]any)["destination"] {
			case "/sys", "/sys/fs/cgroup":
				continue
			}
			mounts = append(mounts, mt)
		}
		m["mounts"] = mounts
		m["hooks"] = installedHooks(t, e, hook)
	})
	id := "hook-userns"
	runWantARMv7(t, e, dir, id)
	if _, err := os.Stat(filepath.Join(e.stateRoot, "containers", id)); !os.IsNotExist(err) {
		t.Errorf("poststop did not clean up: %v", err)
	}
}

// TestHookOverLXCFSMount: a spec that bind-mounts LXCFS's file over
// /proc/cpuinfo gets the armv7 cpuinfo mounted over it.
func TestHookOverLXCFSMount(t *testing.T) {
	e := newRuncEnv(t)
	prefix, lxcfs := lxcfsNamespace(t, "8")
	dir := runcBundle(t, e.runc, "i386", "sh", "-c", probeMounts)
	hook := map[string]any{"path": e.shim, "args": []any{"armhf-shim", "hook", "--armhf-shim-state-root", e.stateRoot}}
	editConfig(t, dir, func(m map[string]any) {
		m["mounts"] = append(m["mounts"].([]any), map[string]any{"destination": "/proc/cpuinfo", "type": "bind",
			"source": lxcfs, "options": []any{"rbind", "ro"}})
		m["hooks"] = installedHooks(t, e, hook)
	})
	e.cleanup("hook-lxcfs")
	out, stderr, err := e.run(prefix[0], nil, append(prefix[1:], e.runc, "--root", e.root, "run", "--bundle", dir, "hook-lxcfs")...)
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, stderr)
	}
	if got := lines(out); len(got) != 4 || got[0] != "x86_64" || got[1] != "CPU architecture: 7" {
		t.Errorf("printed %q", out)
	}
}

// installedHooks is the hooks member `armhf-shim install podman` gives a
// container: hook at the installed stages, and at poststop.
func installedHooks(t *testing.T, e *runcEnv, hook any) map[string]any {
	t.Helper()
	hooks := map[string]any{"poststop": []any{hook}}
	for _, s := range installedStages(t, e.shim) {
		hooks[s] = []any{hook}
	}
	return hooks
}

// runWantARMv7 runs the bundle dir under runc as id, and wants the probe
// to print the armv7 cpuinfo (a hook cannot set the personality).
func runWantARMv7(t *testing.T, e *runcEnv, dir, id string) {
	t.Helper()
	e.cleanup(id)
	out, stderr, err := e.run(e.runc, nil, "--root", e.root, "run", "--bundle", dir, id)
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, stderr)
	}
	if !strings.HasPrefix(out, "x86_64\nCPU architecture: 7\n") {
		t.Errorf("printed %q", out)
	}
}
