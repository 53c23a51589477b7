package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// probeMounts is probe plus the number of mounts at /proc/cpuinfo.
const probeMounts = probe + `; grep -c " /proc/cpuinfo " /proc/self/mountinfo`

// withCPUInfoMount adds a bind mount of a file saying "CPU architecture:
// arch" at /proc/cpuinfo from src (made here), as `docker run -v` does.
func withCPUInfoMount(t *testing.T, dir, src, arch string) {
	t.Helper()
	if err := os.WriteFile(src, []byte("processor\t: 0\nCPU architecture: "+arch+"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	editConfig(t, dir, func(m map[string]any) {
		m["mounts"] = append(m["mounts"].([]any), map[string]any{"destination": "/proc/cpuinfo", "type": "bind",
			"source": src, "options": []any{"rbind", "ro"}})
	})
}

// lxcfsNamespace returns a command prefix that runs a command in a private
// mount namespace with the test's own tmpfs at /var/lib/lxcfs, and the path
// of a file in it. /var/lib there is a tmpfs that binds back every host entry
// but lxcfs, so the host's /var/lib/lxcfs (a real LXCFS, or one another test
// process makes and removes) neither matters nor changes: making and removing
// the real directory raced with other test processes doing the same.
func lxcfsNamespace(t *testing.T, arch string) (prefix []string, src string) {
	t.Helper()
	keep := t.TempDir()
	if strings.Contains(keep, "'") {
		t.Fatalf("temporary directory %q cannot be quoted for sh", keep)
	}
	script := `set -e
keep='` + keep + `'
mount --rbind /var/lib "$keep"
mount -t tmpfs varlib /var/lib
for e in "$keep"/* "$keep"/.[!.]* "$keep"/..?*; do
	n=/var/lib/${e##*/}
	if [ "$n" = /var/lib/lxcfs ]; then continue
	elif [ -L "$e" ]; then cp -P "$e" "$n"
	elif [ -d "$e" ]; then mkdir "$n" && mount --rbind "$e" "$n"
	elif [ -e "$e" ]; then : > "$n" && mount --bind "$e" "$n"
	fi
done
mkdir /var/lib/lxcfs
mount -t tmpfs lxcfs-test /var/lib/lxcfs
mkdir /var/lib/lxcfs/proc
printf 'processor\t: 0\nCPU architecture: ` + arch + `\n' > /var/lib/lxcfs/proc/cpuinfo
exec "$@"`
	return []string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"}, "/var/lib/lxcfs/proc/cpuinfo"
}

func lines(out string) []string { return strings.Split(strings.TrimSpace(out), "\n") }

// TestWrapperKeepsTheUsersCPUInfo: docker run -v X:/proc/cpuinfo in a
// 32-bit container keeps X (and still gets the personality); LXCFS's
// cpuinfo is replaced.
func TestWrapperKeepsTheUsersCPUInfo(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "i386", "sh", "-c", probeMounts)
	withCPUInfoMount(t, dir, filepath.Join(t.TempDir(), "cpuinfo"), "99")
	e.cleanup("w-user")
	out, stderr, err := e.wrapper(nil, "--debug", "run", "--bundle", dir, "w-user")
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s\nlog: %s", err, stderr, readFile(e.log))
	}
	if got := lines(out); len(got) != 4 || got[0] != "i686" || got[1] != "CPU architecture: 99" || got[3] != "1" {
		t.Errorf("container printed %q, want i686 / the user's CPU architecture: 99 / one mount", out)
	}
	if log := readFile(e.log); !strings.Contains(log, "own bind mount from") {
		t.Errorf("--debug log does not say why:\n%s", log)
	}

	prefix, src := lxcfsNamespace(t, "8")
	dir = runcBundle(t, e.runc, "i386", "sh", "-c", probeMounts)
	editConfig(t, dir, func(m map[string]any) {
		m["mounts"] = append(m["mounts"].([]any), map[string]any{"destination": "/proc/cpuinfo", "type": "bind",
			"source": src, "options": []any{"rbind", "ro"}})
	})
	e.cleanup("w-lxcfs")
	args := append(prefix[1:], e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
		"--root", e.root, "run", "--bundle", dir, "w-lxcfs")
	out, stderr, err = e.run(prefix[0], nil, args...)
	if err != nil {
		t.Fatalf("run over LXCFS: %v\nstderr: %s", err, stderr)
	}
	if got := lines(out); len(got) != 4 || got[0] != "i686" || got[1] != "CPU architecture: 7" || got[3] != "1" {
		t.Errorf("container printed %q, want i686 / CPU architecture: 7 / one mount", out)
	}
}

// TestHookKeepsTheUsersCPUInfo: the hook leaves a user's mount at
// /proc/cpuinfo alone.
func TestHookKeepsTheUsersCPUInfo(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "i386", "sh", "-c", probeMounts)
	withCPUInfoMount(t, dir, filepath.Join(t.TempDir(), "cpuinfo"), "99")
	hook := map[string]any{"path": e.shim, "args": []any{"armhf-shim", "hook", "--armhf-shim-state-root", e.stateRoot}}
	editConfig(t, dir, func(m map[string]any) { m["hooks"] = installedHooks(t, e, hook) })
	e.cleanup("hook-user")
	out, stderr, err := e.run(e.runc, nil, "--root", e.root, "run", "--bundle", dir, "hook-user")
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, stderr)
	}
	if got := lines(out); len(got) != 4 || got[1] != "CPU architecture: 99" || got[3] != "1" {
		t.Errorf("container printed %q, want the user's CPU architecture: 99 / one mount", out)
	}
}

// TestWrapperAndHookTogether: with the wrapper as the runtime and the hook
// registered too (podman with both installed), the hook sees the
// wrapper's mount and steps aside.
func TestWrapperAndHookTogether(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "i386", "sh", "-c", probeMounts)
	hook := map[string]any{"path": e.shim, "args": []any{"armhf-shim", "hook", "--armhf-shim-state-root", e.stateRoot}}
	editConfig(t, dir, func(m map[string]any) { m["hooks"] = installedHooks(t, e, hook) })
	e.cleanup("both")
	out, stderr, err := e.wrapper(nil, "run", "--bundle", dir, "both")
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s\nlog: %s", err, stderr, readFile(e.log))
	}
	if got := lines(out); len(got) != 4 || got[0] != "i686" || got[1] != "CPU architecture: 7" || got[3] != "1" {
		t.Errorf("container printed %q, want i686 / CPU architecture: 7 / one mount", out)
	}
}
