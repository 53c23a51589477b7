package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// compat32 returns the host's 32-bit stand-in for armhf (a Debian
// architecture) and the go build environment of the same ABI.
func compat32(t *testing.T) (debArch string, goEnv []string) {
	t.Helper()
	switch runtime.GOARCH {
	case "amd64":
		return "i386", []string{"GOARCH=386"}
	case "arm64":
		return "armhf", []string{"GOARCH=arm", "GOARM=7"}
	}
	t.Skipf("no 32-bit stand-in for %s", runtime.GOARCH)
	return "", nil
}

// openDir copies files (name: source path) into a new directory that uid
// 65534 can read.
func openDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "armhf-shim-machine-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for name, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exec --machine: 32-bit programs see the machine asked for, and nothing
// else changes.
func TestExecMachine(t *testing.T) {
	testenv.RequireRoot(t)
	want := compatMachine(t)
	arch, goEnv := compat32(t)
	root := testenv.BusyboxRootfs(t, arch)
	dir := openDir(t, map[string]string{
		"busybox": filepath.Join(root, "bin", "busybox"),
		"uname32": testenv.BuildBinary(t, "./uname/notify/testdata/uname32", goEnv...),
	})
	bb, u32 := filepath.Join(dir, "busybox"), filepath.Join(dir, "uname32")

	t.Run("uname-m", func(t *testing.T) {
		if r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", bb, "uname", "-m"); r.code != 0 || r.stdout != "armv7l\n" || r.stderr != "" {
			t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		// Without the option, the kernel's answer as before.
		if r := runShim(t, "", nil, "exec", "--", bb, "uname", "-m"); r.stdout != want+"\n" {
			t.Errorf("without --machine: %q, want %q", r.stdout, want)
		}
	})
	t.Run("uname-a", func(t *testing.T) {
		plain := runShim(t, "", nil, "exec", "--", bb, "uname", "-a")
		r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", bb, "uname", "-a")
		if wantA := strings.ReplaceAll(plain.stdout, " "+want+" ", " armv7l "); r.code != 0 || r.stdout != wantA || wantA == plain.stdout {
			t.Errorf("uname -a = %q, want %q (from %q)", r.stdout, wantA, plain.stdout)
		}
	})
	t.Run("64-bit", func(t *testing.T) {
		// A 64-bit program is not intercepted: it gets the kernel's
		// answer for its personality.
		setarch := testenv.RequireCommand(t, "setarch")
		host := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
		r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", "sh", "-c", "uname -m; "+setarch+" "+host+" uname -m")
		if r.code != 0 || r.stdout != want+"\n"+host+"\n" {
			t.Errorf("64-bit uname under --machine: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("chroot", func(t *testing.T) {
		if r := runShim(t, "", nil, "exec", "--chroot", root, "--machine", "armv7l", "--", "uname", "-m"); r.code != 0 || r.stdout != "armv7l\n" {
			t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("unprivileged", func(t *testing.T) {
		setpriv := testenv.RequireCommand(t, "setpriv")
		nb := nobodyShim(t)
		for _, flags := range [][]string{nil, {"--no-cpuinfo"}} {
			args := append(append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--", nb, "exec"}, flags...),
				"--machine", "armv7l", "--", bb, "sh", "-c", "uname -m; id -u; exit 3")
			lines, stderr := runExit(t, exec.Command(setpriv, args...), 3)
			if len(lines) != 2 || lines[0] != "armv7l" || lines[1] != "65534" {
				t.Errorf("%q: out %q stderr %q", flags, lines, stderr)
			}
		}
	})
	t.Run("status-and-signals", func(t *testing.T) {
		if r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", bb, "sh", "-c", "exit 7"); r.code != 7 {
			t.Errorf("exit 7: code %d stderr %q", r.code, r.stderr)
		}
		if r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", bb, "sh", "-c", "kill -TERM $$"); r.signal != syscall.SIGTERM {
			t.Errorf("kill -TERM: code %d signal %v stderr %q", r.code, r.signal, r.stderr)
		}
		if r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", "no-such-command"); r.code != 127 {
			t.Errorf("missing command: code %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("no-listener-in-command", func(t *testing.T) {
		// Neither the listener nor the socket may reach the command: it
		// could answer itself, and would keep uname blocked after the
		// supervisor's death.
		r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", bb, "ls", "-l", "/proc/self/fd/")
		if r.code != 0 || strings.Contains(r.stdout, "seccomp") || strings.Contains(r.stdout, "socket:") {
			t.Errorf("the command's descriptors:\n%s%s", r.stdout, r.stderr)
		}
	})
	t.Run("bad-pointers", func(t *testing.T) {
		efault := fmt.Sprint(int(syscall.EFAULT))
		if r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", u32, "bad"); r.stdout != strings.Repeat(efault+" ", 3)+efault+"\n" {
			t.Errorf("uname on bad pointers: code %d stdout %q stderr %q; want EFAULT (%s) each", r.code, r.stdout, r.stderr, efault)
		}
	})
	t.Run("hostile", func(t *testing.T) {
		// 10,016 calls from 32 threads; then a process killed while it
		// hammers; then the supervisor must still answer.
		script := fmt.Sprintf("%[1]s hammer 32 313 armv7l; %[1]s hammer 32 1000000 armv7l & sleep 0.3; kill -9 $!; wait; %[1]s new", u32)
		r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", bb, "sh", "-c", script)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 2 || lines[0] != "wrong 0" || !strings.Contains(lines[1], "|armv7l|") {
			t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("supervisor-killed", func(t *testing.T) {
		// Without the supervisor, uname fails with ENOSYS, it does not hang.
		r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", bb, "sh", "-c",
			"kill -9 $PPID; while kill -0 $PPID 2>/dev/null; do sleep 0.01; done; "+u32+" new")
		if r.signal != syscall.SIGKILL || r.stdout != fmt.Sprintf("errno %d\n", int(syscall.ENOSYS)) {
			t.Errorf("signal %v stdout %q stderr %q; want errno %d", r.signal, r.stdout, r.stderr, int(syscall.ENOSYS))
		}
	})
	t.Run("nested", func(t *testing.T) {
		// The kernel allows one listener per process: the outer
		// supervisor keeps answering, and the inner exec says so.
		shim := shimBinary(t)
		r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", shim, "exec", "--machine", "armv6l", "--", bb, "uname", "-m")
		if r.code != 0 || r.stdout != "armv7l\n" || !strings.Contains(r.stderr, "--machine armv6l ignored") {
			t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		if r := runShim(t, "", nil, "exec", "--machine", "armv7l", "--", shim, "exec", "--", bb, "uname", "-m"); r.code != 0 || r.stdout != "armv7l\n" {
			t.Errorf("exec inside exec --machine: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("bad-name", func(t *testing.T) {
		if r := runShim(t, "", nil, "exec", "--machine", "armv7l with spaces", "--", "true"); r.code != 2 || !strings.Contains(r.stderr, "--machine") {
			t.Errorf("code %d stderr %q", r.code, r.stderr)
		}
	})
}
