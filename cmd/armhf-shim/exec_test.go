package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/uname"
)

// shimBinary is the static armhf-shim built from this tree.
func shimBinary(t *testing.T) string {
	t.Helper()
	return testenv.BuildBinary(t, "./cmd/armhf-shim")
}

type result struct {
	stdout, stderr string
	code           int
	signal         syscall.Signal
}

func runShim(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(shimBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.signal = ws.Signal()
		}
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running armhf-shim: %v", err)
	}
	return r
}

func compatMachine(t *testing.T) string {
	m := uname.HostCompatMachine()
	if m == "" {
		t.Skipf("no compat machine on %s", runtime.GOARCH)
	}
	return m
}

func affinityCount(t *testing.T) int {
	set, err := cpuinfo.Affinity()
	if err != nil {
		t.Fatal(err)
	}
	return set.Len()
}

func countProcessors(text string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "processor") {
			n++
		}
	}
	return n
}

func TestExecAsRoot(t *testing.T) {
	testenv.RequireRoot(t)
	want := compatMachine(t)
	hostBefore, _ := os.ReadFile("/proc/cpuinfo")
	mountsBefore := countCPUInfoMounts(t, "self")

	t.Run("uname", func(t *testing.T) {
		r := runShim(t, "", nil, "exec", "--", "uname", "-m")
		if r.code != 0 || strings.TrimSpace(r.stdout) != want {
			t.Fatalf("exec -- uname -m: code %d out %q err %q; want %q", r.code, r.stdout, r.stderr, want)
		}
		if r.stderr != "" {
			t.Errorf("unexpected stderr: %q", r.stderr)
		}
	})
	t.Run("cpuinfo", func(t *testing.T) {
		r := runShim(t, "", nil, "exec", "--", "cat", "/proc/cpuinfo")
		if r.code != 0 {
			t.Fatalf("code %d: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "CPU architecture: 7") || !strings.Contains(r.stdout, "(v7l)") {
			t.Fatalf("not an armv7 cpuinfo:\n%s", r.stdout)
		}
		if n := countProcessors(r.stdout); n != affinityCount(t) {
			t.Errorf("%d processors listed, affinity has %d", n, affinityCount(t))
		}
		// It must equal what `armhf-shim cpuinfo` prints.
		c := runShim(t, "", nil, "cpuinfo")
		if c.code != 0 || c.stdout != r.stdout {
			t.Errorf("cpuinfo command differs from what exec shows:\n%s\n---\n%s", c.stdout, r.stdout)
		}
	})
	t.Run("cpus", func(t *testing.T) {
		r := runShim(t, "", nil, "exec", "--cpus", "0", "--", "sh", "-c", "cat /proc/cpuinfo; nproc")
		if r.code != 0 {
			t.Fatalf("code %d: %s", r.code, r.stderr)
		}
		if n := countProcessors(r.stdout); n != 1 {
			t.Errorf("--cpus 0 lists %d processors", n)
		}
		if !strings.HasSuffix(strings.TrimSpace(r.stdout), "\n1") {
			t.Errorf("--cpus 0: nproc is not 1:\n%s", r.stdout)
		}
		if r := runShim(t, "", nil, "exec", "--cpus", "zero", "--", "true"); r.code != 2 || !strings.Contains(r.stderr, "--cpus") {
			t.Errorf("bad --cpus: code %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("cpuinfo-file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "ci")
		os.WriteFile(f, []byte("processor\t: 0\nCPU architecture: 7\nfrom: file\n"), 0o644)
		r := runShim(t, "", nil, "exec", "--cpuinfo", f, "--", "cat", "/proc/cpuinfo")
		if r.code != 0 || !strings.Contains(r.stdout, "from: file") {
			t.Fatalf("code %d out %q err %q", r.code, r.stdout, r.stderr)
		}
		r = runShim(t, "", nil, "exec", "--cpuinfo", f+".missing", "--", "true")
		if r.code != 2 || !strings.Contains(r.stderr, "no such file") {
			t.Errorf("missing --cpuinfo: code %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		r := runShim(t, "", nil, "exec", "--", "sh", "-c", "echo x > /proc/cpuinfo")
		if r.code == 0 {
			t.Fatal("writing the fake /proc/cpuinfo succeeded")
		}
	})
	t.Run("exit-status", func(t *testing.T) {
		if r := runShim(t, "", nil, "exec", "--", "sh", "-c", "exit 7"); r.code != 7 {
			t.Errorf("exit 7 -> %d (%s)", r.code, r.stderr)
		}
		r := runShim(t, "", nil, "exec", "--", "sh", "-c", "kill -TERM $$")
		if r.signal != syscall.SIGTERM {
			t.Errorf("self-kill by SIGTERM: signal %v code %d", r.signal, r.code)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		in := strings.Repeat("armhf\n", 10000)
		r := runShim(t, in, nil, "exec", "--", "cat")
		if r.code != 0 || r.stdout != in {
			t.Fatalf("stdin not passed through: code %d, %d bytes back", r.code, len(r.stdout))
		}
	})
	t.Run("not-found", func(t *testing.T) {
		r := runShim(t, "", nil, "exec", "--", "no-such-command-armhf")
		if r.code != 127 || !strings.Contains(r.stderr, "no-such-command-armhf: command not found") {
			t.Errorf("code %d stderr %q", r.code, r.stderr)
		}
		dir := t.TempDir()
		noexec := filepath.Join(dir, "noexec")
		os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644)
		if r := runShim(t, "", nil, "exec", "--", noexec); r.code != 126 {
			t.Errorf("non-executable: code %d stderr %q", r.code, r.stderr)
		}
		if r := runShim(t, "", nil, "exec"); r.code != 2 || !strings.Contains(r.stderr, "no command") {
			t.Errorf("no command: code %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("busybox-i386", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("i386 busybox is the x86_64 stand-in")
		}
		bb := filepath.Join(testenv.BusyboxRootfs(t, "i386"), "bin", "busybox")
		r := runShim(t, "", nil, "exec", "--", bb, "sh", "-c", "uname -m; grep -c ^processor /proc/cpuinfo; grep 'CPU architecture' /proc/cpuinfo | head -1")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 || lines[0] != "i686" || lines[1] != strconv.Itoa(affinityCount(t)) || lines[2] != "CPU architecture: 7" {
			t.Fatalf("i386 busybox under exec: code %d out %q err %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("private-mount", func(t *testing.T) {
		// While a command runs under exec, the mount exists in its namespace only.
		cmd := exec.Command(shimBinary(t), "exec", "--", "sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		pid := strconv.Itoa(cmd.Process.Pid)
		deadline := time.Now().Add(10 * time.Second)
		for countCPUInfoMounts(t, pid) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the command's namespace never got a /proc/cpuinfo mount")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := countCPUInfoMounts(t, "self"); n != mountsBefore {
			t.Errorf("host namespace gained a /proc/cpuinfo mount (%d -> %d)", mountsBefore, n)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	hostAfter, _ := os.ReadFile("/proc/cpuinfo")
	if !bytes.Equal(hostBefore, hostAfter) {
		t.Error("the host's /proc/cpuinfo changed")
	}
	if n := countCPUInfoMounts(t, "self"); n != mountsBefore {
		t.Errorf("mounts left behind: %d /proc/cpuinfo mounts, before %d", n, mountsBefore)
	}
}

func countCPUInfoMounts(t *testing.T, pid string) int {
	b, err := os.ReadFile("/proc/" + pid + "/mountinfo")
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == "/proc/cpuinfo" {
			n++
		}
	}
	return n
}

// Without root, exec uses a user namespace; the command keeps its uid.
func TestExecUnprivileged(t *testing.T) {
	testenv.RequireRoot(t) // to switch to an unprivileged user
	want := compatMachine(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	nb := nobodyShim(t)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		nb, "exec", "--", "sh", "-c", "uname -m; id -u; grep -c 'CPU architecture: 7' /proc/cpuinfo; exit 3")
	lines, stderr := runExit(t, cmd, 3)
	if len(lines) != 3 || lines[0] != want || lines[1] != "65534" || lines[2] == "0" {
		t.Fatalf("unprivileged exec: out %q stderr %q", lines, stderr)
	}
}

// Root without CAP_SYS_ADMIN (a Docker container, a capability-dropped
// build user) cannot unshare a mount namespace: exec must go through a user
// namespace, and where none can be made either, run with the personality
// only and a warning that names --no-cpuinfo.
func TestExecRootWithoutSysAdmin(t *testing.T) {
	testenv.RequireRoot(t)
	want := compatMachine(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	bin := shimBinary(t)
	script := "uname -m; grep -c 'CPU architecture: 7' /proc/cpuinfo; exit 5"
	dropped := []string{setpriv, "--inh-caps=-all", "--bounding-set=-sys_admin", "--", bin, "exec", "--", "sh", "-c", script}

	run := func(t *testing.T, argv ...string) (lines []string, stderr string) {
		t.Helper()
		return runExit(t, exec.Command(argv[0], argv[1:]...), 5)
	}
	// A user namespace would map only uid 0 (no chown, no switching to
	// apt's _apt user): root gets the personality only, with a warning.
	lines, stderr := run(t, dropped...)
	if len(lines) != 2 || lines[0] != want || lines[1] != "0" {
		t.Fatalf("want %s and the host's cpuinfo: out %q stderr %q", want, lines, stderr)
	}
	if !strings.HasPrefix(stderr, "armhf-shim: warning: cannot fake /proc/cpuinfo: unshare(CLONE_NEWNS): operation not permitted (root without CAP_SYS_ADMIN;") ||
		!strings.Contains(stderr, "--no-cpuinfo") || strings.Count(stderr, "/proc/cpuinfo") != 2 {
		t.Errorf("no warning naming the failure, CAP_SYS_ADMIN and --no-cpuinfo, once: %q", stderr)
	}
	// The command is still the real root: it can give a file away.
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o644)
	chown := []string{setpriv, "--inh-caps=-all", "--bounding-set=-sys_admin", "--", bin, "exec", "--", "sh", "-c", "chown 1000 " + f + " && exit 5"}
	run(t, chown...)
	var st unix.Stat_t
	if err := unix.Stat(f, &st); err != nil || st.Uid != 1000 {
		t.Errorf("chown under exec as root without CAP_SYS_ADMIN: uid %d, %v", st.Uid, err)
	}
}

// Not root, and no user namespace can be made: the personality only, with
// a warning that names the failure and --no-cpuinfo.
func TestExecUnprivilegedWithoutUserns(t *testing.T) {
	testenv.RequireRoot(t) // to make the namespace the test runs in
	want := compatMachine(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	nb := nobodyShim(t)
	// A user namespace of the test's own (uids 0-65535 mapped to
	// themselves) in which no further one may be made; nobody runs exec.
	cmd := exec.Command("sh", "-c", `echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"`, "sh",
		setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		nb, "exec", "--", "sh", "-c", "uname -m; id -u; grep -c 'CPU architecture: 7' /proc/cpuinfo; exit 6")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		// setpriv --clear-groups calls setgroups.
		GidMappingsEnableSetgroups: true,
	}
	lines, stderr := runExit(t, cmd, 6)
	if len(lines) != 3 || lines[0] != want || lines[1] != "65534" || lines[2] != "0" {
		t.Fatalf("want %s, uid 65534 and the host's cpuinfo: out %q stderr %q", want, lines, stderr)
	}
	if !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "--no-cpuinfo") ||
		!strings.Contains(stderr, "user namespace could not be made") {
		t.Errorf("no warning naming the failure and --no-cpuinfo: %q", stderr)
	}
}

// In a chroot whose / is a plain directory (sbuild, pbuilder, debootstrap),
// / cannot be made a slave mount; exec must still fake /proc/cpuinfo and
// leave no mount behind, in the chroot or on the host.
func TestExecInChroot(t *testing.T) {
	testenv.RequireRoot(t)
	want := compatMachine(t)
	bb := "/bin/busybox"
	if _, err := os.Stat(bb); err != nil {
		t.Skip("no /bin/busybox (apt-get install busybox-static)")
	}
	chroot := testenv.RequireCommand(t, "chroot")
	// The chroot is a plain directory on a shared mount, as on a systemd
	// host, so that a mount leaking out of exec's namespace would show.
	outer := t.TempDir()
	if err := syscall.Mount("armhf-shim-test", outer, "tmpfs", 0, "size=64m"); err != nil {
		t.Fatalf("mounting a tmpfs for the chroot: %v", err)
	}
	defer syscall.Unmount(outer, syscall.MNT_DETACH)
	if err := syscall.Mount("", outer, "", syscall.MS_SHARED, ""); err != nil {
		t.Fatalf("making the chroot's mount shared: %v", err)
	}
	root := filepath.Join(outer, "root")
	for _, d := range []string{"bin", "proc", "tmp", "dev", "run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile := func(src, dst string) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dst), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(bb, "bin/busybox")
	copyFile(shimBinary(t), "bin/armhf-shim")
	proc := filepath.Join(root, "proc")
	if err := syscall.Mount("proc", proc, "proc", 0, ""); err != nil {
		t.Fatalf("mounting proc in the chroot: %v", err)
	}
	defer syscall.Unmount(proc, syscall.MNT_DETACH)
	mountsUnder := func() int {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], root+"/") {
				n++
			}
		}
		return n
	}
	before := mountsUnder()
	// The command also counts, from inside, the mounts the test process sees
	// under the chroot while the fake cpuinfo is in place.
	script := fmt.Sprintf("uname -m; grep -c 'CPU architecture: 7' /proc/cpuinfo; grep -c ' %s/' /proc/%d/mountinfo; exit 4",
		root, os.Getpid())
	cmd := exec.Command(chroot, root, "/bin/armhf-shim", "exec", "--", "/bin/busybox", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH=/bin")
	lines, stderr := runExit(t, cmd, 4)
	if len(lines) != 3 || lines[0] != want || lines[1] == "0" || stderr != "" {
		t.Fatalf("in a chroot: stdout %q stderr %q; want %s and a faked cpuinfo", lines, stderr, want)
	}
	if lines[2] != strconv.Itoa(before) {
		t.Errorf("while exec ran, the host saw %s mounts under the chroot, before %d", lines[2], before)
	}
	if n := mountsUnder(); n != before {
		t.Errorf("mounts left under the chroot: %d, before %d", n, before)
	}
}

// urfave/cli's help subcommand must not shadow a program named help or h.
func TestExecProgramNamedHelp(t *testing.T) {
	compatMachine(t)
	dir := t.TempDir()
	for _, n := range []string{"help", "h"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\necho ran "+n+" \"$@\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
	for _, args := range [][]string{
		{"exec", "--no-cpuinfo", "--", "help"},
		{"exec", "--no-cpuinfo", "--", "h", "x"},
		{"exec", "--no-cpuinfo", "help"},
	} {
		want := "ran " + strings.Join(args[3:], " ")
		if args[2] != "--" {
			want = "ran " + strings.Join(args[2:], " ")
		}
		r := runShim(t, "", env, args...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != want {
			t.Errorf("%q: code %d stdout %q stderr %q; want %q", args, r.code, r.stdout, r.stderr, want)
		}
	}
	r := runShim(t, "", nil, "cpuinfo", "help")
	if r.code != 2 || !strings.Contains(r.stderr, `unexpected argument "help"`) {
		t.Errorf("cpuinfo help: code %d stdout %q stderr %q; want the unexpected-argument error", r.code, r.stdout, r.stderr)
	}
}

// An empty --cpus is an error, not "no --cpus".
func TestEmptyCPUs(t *testing.T) {
	compatMachine(t)
	for _, args := range [][]string{
		{"exec", "--cpus", "", "--", "true"},
		{"exec", "--cpus=", "--no-cpuinfo", "--", "true"},
		{"cpuinfo", "--cpus", ""},
	} {
		r := runShim(t, "", nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, `--cpus ""`) || r.stdout != "" {
			t.Errorf("%q: code %d stdout %q stderr %q; want exit 2 naming --cpus", args, r.code, r.stdout, r.stderr)
		}
	}
}

// --cpus naming CPUs the host does not have online is an error naming
// them, for cpuinfo and for exec in each of its cpuinfo modes; and no
// message says a thing twice.
func TestCPUsNotOnline(t *testing.T) {
	compatMachine(t)
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Skipf("no online CPU list: %v", err)
	}
	online, err := cpuinfo.ParseCPUSet(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if aff := affinityCount(t); aff != online.Len() {
		t.Skipf("this process may run on %d of the %d online CPUs", aff, online.Len())
	}
	ids := online.List()
	n := ids[len(ids)-1] + 1 // the first CPU past the last online one
	list := fmt.Sprintf("0-%d", n+1)
	missing := fmt.Sprintf("CPUs %d-%d", n, n+1)
	notOnline := fmt.Sprintf(`--cpus %q: %s are not online on this host (online: %s)`, list, missing, online)
	cannotRun := fmt.Sprintf(`--cpus %q: cannot run on %s: offline, absent or outside this process's cpuset (online: %s)`, list, missing, online)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cpuinfo", "--cpus", list}, "armhf-shim: cpuinfo: " + notOnline},
		{[]string{"exec", "--cpus", list, "--", "true"}, "armhf-shim: exec: " + notOnline},
		{[]string{"exec", "--cpus", list, "--no-cpuinfo", "--", "true"}, "armhf-shim: exec: " + cannotRun},
		{[]string{"cpuinfo", "--cpus", strconv.Itoa(n)}, fmt.Sprintf(`armhf-shim: cpuinfo: --cpus "%d": CPU %d is not online on this host (online: %s)`, n, n, online)},
		{[]string{"cpuinfo", "--cpus", "abc"}, `armhf-shim: cpuinfo: --cpus "abc": not a CPU number`},
		{[]string{"exec", "--cpus", "0,abc", "--", "true"}, `armhf-shim: exec: --cpus "0,abc": "abc" is not a CPU number`},
		{[]string{"exec", "--cpus", "0,1-x", "--", "true"}, `armhf-shim: exec: --cpus "0,1-x": "x" is not a CPU number (in "1-x")`},
		{[]string{"cpuinfo", "--cpus", "3-1"}, `armhf-shim: cpuinfo: --cpus "3-1": reversed range, write 1-3`},
	} {
		r := runShim(t, "", nil, tc.args...)
		if r.code != 2 || strings.TrimSpace(r.stderr) != tc.want || r.stdout != "" {
			t.Errorf("%q: code %d stdout %q stderr %q; want exit 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

// In the user-namespace path, CAP_SYS_ADMIN (which let the re-executed
// armhf-shim mount) must reach the command in no capability set.
func TestExecUnprivilegedDropsCaps(t *testing.T) {
	testenv.RequireRoot(t) // to switch to an unprivileged user
	compatMachine(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	nb := nobodyShim(t)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		nb, "exec", "--", "sh", "-c", "grep -c 'CPU architecture: 7' /proc/cpuinfo; grep ^Cap /proc/self/status")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: stderr %q", err, e.String())
	}
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	if len(lines) < 6 || lines[0] == "0" {
		t.Fatalf("the user-namespace path was not taken: out %q stderr %q", o.String(), e.String())
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] != "CapBnd:" && strings.Trim(f[1], "0") != "" {
			t.Errorf("the command has capabilities: %s", l)
		}
	}
}

// nobodyShim copies the shim where uid 65534 can run it.
func nobodyShim(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "armhf-shim-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	data, err := os.ReadFile(shimBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	nb := filepath.Join(dir, "armhf-shim")
	if err := os.WriteFile(nb, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return nb
}

// The unprivileged path keeps a parent process; to the shell it must act
// like the command itself: a child killed by a signal kills the parent
// with that signal.
func TestExecUnprivilegedDiesOfSignal(t *testing.T) {
	testenv.RequireRoot(t)
	compatMachine(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	nb := nobodyShim(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
			nb, "exec", "--", "sh", "-c", fmt.Sprintf("grep -c 'CPU architecture: 7' /proc/cpuinfo; kill -%d $$", int(sig)))
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if strings.TrimSpace(o.String()) == "0" {
			t.Fatalf("the user-namespace path was not taken: stderr %q", e.String())
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%v: want death by signal, got %v (stderr %q)", sig, err, e.String())
		}
		ws := ee.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != sig || ws.CoreDump() {
			t.Errorf("child killed by %v: armhf-shim exit code %d, signaled %v by %v (core %v); stderr %q",
				sig, ws.ExitStatus(), ws.Signaled(), ws.Signal(), ws.CoreDump(), e.String())
		}
	}
}

// Under an interactive shell with job control, the paths that keep a
// parent (unprivileged, and --machine's supervisor) must behave like the
// command: one Ctrl-C reaches it once, Ctrl-Z stops the whole job (the
// shell gets the terminal back) and fg resumes it.
func TestExecUnprivilegedTerminal(t *testing.T) {
	testenv.SkipShort(t, "terminal sessions")
	testenv.RequireRoot(t)
	compatMachine(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	nb := nobodyShim(t)
	t.Run("unprivileged", func(t *testing.T) {
		testTerminal(t, setpriv+" --reuid=65534 --regid=65534 --clear-groups -- "+nb+" exec --", filepath.Dir(nb))
	})
	t.Run("machine", func(t *testing.T) {
		testTerminal(t, nb+" exec --machine armv7l --", filepath.Dir(nb))
	})
}

// testTerminal runs a Perl script (written to dir) through the command
// line prefix under an interactive bash on a new terminal, and checks
// Ctrl-C, Ctrl-Z and fg.
func testTerminal(t *testing.T, prefix, dir string) {
	bash := testenv.RequireCommand(t, "bash")
	perl := testenv.RequireCommand(t, "perl")
	script := filepath.Join(dir, "t.pl")
	os.WriteFile(script, []byte(`$| = 1;
my $n = 0;
$SIG{INT} = sub { $n++; print "INT$n\n" };
print "READY\n";
my $t = time;
while (time - $t < 6) { select(undef, undef, undef, 0.05) }
print "END n=$n\n";
`), 0o644)

	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	sh := exec.Command(bash, "--norc", "--noprofile", "-i")
	sh.Env = append(os.Environ(), "PS1=$ ", "TERM=dumb")
	sh.Stdin, sh.Stdout, sh.Stderr = slave, slave, slave
	sh.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sh.Process.Kill(); sh.Wait() }()
	slave.Close()

	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(re string) []string {
		t.Helper()
		rx := regexp.MustCompile(re)
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			m := rx.FindStringSubmatch(out.String())
			s := out.String()
			mu.Unlock()
			if m != nil {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("terminal never showed %q:\n%s", re, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fmt.Fprintf(master, "%s %s %s\n", prefix, perl, script)
	waitFor(`READY`)
	master.Write([]byte{0x03}) // Ctrl-C
	waitFor(`INT1`)
	time.Sleep(300 * time.Millisecond) // room for a second, relayed SIGINT
	master.Write([]byte{0x1a})         // Ctrl-Z
	waitFor(`Stopped`)
	// fg continues the job's process group and waits for it.
	master.Write([]byte("fg; echo \"R\"\"C=$?\"\n"))
	m := waitFor(`END n=(\d+)[\s\S]*RC=(\d+)`)
	if m[1] != "1" || m[2] != "0" {
		mu.Lock()
		t.Errorf("one Ctrl-C reached the command %s times (exit %s):\n%s", m[1], m[2], out.String())
		mu.Unlock()
	}
}

// runExit runs cmd, wants exit status code, and returns the lines of its
// stdout and its stderr.
func runExit(t *testing.T, cmd *exec.Cmd, code int) (lines []string, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code {
		t.Fatalf("want exit %d, got %v; stdout %q stderr %q", code, err, o.String(), e.String())
	}
	return strings.Split(strings.TrimSpace(o.String()), "\n"), e.String()
}

// Without a terminal (a script, CI), a SIGSTOP of the command alone and
// its SIGCONT must not leave the unprivileged path's parent stopped: the
// parent mirrors only job-control stops, under a controlling terminal.
func TestExecUnprivilegedStopContChild(t *testing.T) {
	testenv.RequireRoot(t)
	compatMachine(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	nb := nobodyShim(t)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		nb, "exec", "--", "sh", "-c", "echo $$; read line; exit 7")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var e bytes.Buffer
	cmd.Stderr = &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(stdout, &pid); err != nil {
		cmd.Process.Kill()
		t.Fatalf("reading the command's pid: %v (stderr %q)", err, e.String())
	}
	// The command runs in a user namespace, but in our PID namespace.
	syscall.Kill(pid, syscall.SIGSTOP)
	time.Sleep(300 * time.Millisecond)
	syscall.Kill(pid, syscall.SIGCONT)
	stdin.Write([]byte("go\n"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 {
			t.Fatalf("want exit 7, got %v (stderr %q)", err, e.String())
		}
	case <-time.After(10 * time.Second):
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		syscall.Kill(cmd.Process.Pid, syscall.SIGCONT)
		cmd.Process.Kill()
		t.Fatalf("armhf-shim did not return after the command was stopped and continued; its stat: %s", st)
	}
}

// TestExecHide: --hide (dind's, for the host containerd's socket) covers a
// directory with an empty tmpfs for the command only.
func TestExecHide(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "containerd.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runShim(t, "", nil, "exec", "--hide", dir, "--hide", filepath.Join(dir, "missing"), "--", "ls", "-A", dir)
	if r.code != 0 || r.stdout != "" {
		t.Errorf("exec --hide %s -- ls -A: code %d out %q err %q; want an empty directory", dir, r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "containerd.sock")); err != nil {
		t.Errorf("the host's file: %v", err)
	}
	if r := runShim(t, "", nil, "exec", "--no-cpuinfo", "--hide", dir, "--", "true"); r.code != 2 {
		t.Errorf("--hide with --no-cpuinfo: code %d err %q, want 2", r.code, r.stderr)
	}
}
