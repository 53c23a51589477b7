package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// chrootRootfs returns a busybox root filesystem of the host's 32-bit
// stand-in (i386 on x86_64, armhf on arm64), with /build/configure (a
// script printing what config.guess looks at), on a tmpfs of its own that
// is a shared mount, as on a systemd host, so that a mount leaking out of
// exec's namespace would show in the test's. Its directories are open to
// uid 65534.
func chrootRootfs(t *testing.T) string {
	t.Helper()
	arch := map[string]string{"amd64": "i386", "arm64": "armhf"}[runtime.GOARCH]
	if arch == "" {
		t.Skipf("no 32-bit stand-in for %s", runtime.GOARCH)
	}
	src := testenv.BusyboxRootfs(t, arch)
	outer, err := os.MkdirTemp("", "armhf-chroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outer) })
	if err := syscall.Mount("armhf-shim-test", outer, "tmpfs", 0, "size=64m,mode=0755"); err != nil {
		t.Fatalf("mounting a tmpfs for the chroot: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(outer, syscall.MNT_DETACH) })
	if err := syscall.Mount("", outer, "", syscall.MS_SHARED, ""); err != nil {
		t.Fatalf("making the chroot's mount shared: %v", err)
	}
	root := filepath.Join(outer, "root")
	if out, err := exec.Command("cp", "-a", src, root).CombinedOutput(); err != nil {
		t.Fatalf("copying the rootfs: %v: %s", err, out)
	}
	os.MkdirAll(filepath.Join(root, "build"), 0o755)
	configure := "#!/bin/sh\n" +
		`echo "machine=$(uname -m)"` + "\n" +
		`echo "arch=$(grep -m1 '^CPU architecture' /proc/cpuinfo)"` + "\n" +
		`echo "model=$(grep -m1 '^model name' /proc/cpuinfo)"` + "\n" +
		`echo "processors=$(grep -c ^processor /proc/cpuinfo)"` + "\n" +
		`echo "pwd=$(pwd)"` + "\n"
	if err := os.WriteFile(filepath.Join(root, "build", "configure"), []byte(configure), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// chrootChecks is the script run in the chroot: facts as key=value lines,
// then READY and a wait for a line on stdin, so that the test can look at
// the mounts while the command runs.
const chrootChecks = `./configure
echo "pid=$$"
echo "uid=$(id -u)"
echo "passwd=$(cut -d: -f1 /etc/passwd | tr '\n' ,)"
echo "devnull=$(test -c /dev/null && echo hi > /dev/null && echo ok)"
echo "dev=$(ls /dev | tr '\n' ,)"
echo "pts=$(test -e /dev/pts/ptmx && echo ok)"
echo "sys=$(test -d /sys/devices/system/cpu && echo ok)"
echo "cpuinfo-ro=$( (echo x > /proc/cpuinfo) 2>/dev/null && echo writable || echo ok)"
echo "caps=$(grep ^CapEff /proc/self/status | cut -f2)"
echo READY
read line
exit 3
`

// runChroot starts cmd (an exec --chroot running chrootChecks), reads its
// facts until READY, calls during, lets it finish and wants exit status 3.
func runChroot(t *testing.T, cmd *exec.Cmd, during func(facts map[string]string)) map[string]string {
	t.Helper()
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	facts := map[string]string{}
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				done <- nil
				io.Copy(io.Discard, stdout)
				return
			}
			k, v, _ := strings.Cut(sc.Text(), "=")
			facts[k] = v
		}
		done <- fmt.Errorf("no READY")
	}()
	select {
	case err := <-done:
		if err != nil {
			cmd.Wait()
			t.Fatalf("%v; facts %q stderr %q", err, facts, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the chroot command did not get ready; facts %q stderr %q", facts, stderr.String())
	}
	during(facts)
	stdin.Write([]byte("go\n"))
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v; stderr %q", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
	return facts
}

// checkChrootFacts checks what the command saw in the chroot.
func checkChrootFacts(t *testing.T, facts map[string]string, uid string) {
	t.Helper()
	want := map[string]string{
		"machine":    compatMachine(t),
		"arch":       "CPU architecture: 7",
		"processors": strconv.Itoa(affinityCount(t)),
		"pwd":        "/build",
		"uid":        uid,
		"passwd":     "root,nobody,", // the rootfs's, not the host's
		"devnull":    "ok",
		"dev":        "fd,full,null,ptmx,pts,random,shm,stderr,stdin,stdout,tty,urandom,zero,",
		"pts":        "ok",
		"sys":        "ok",
		"cpuinfo-ro": "ok",
		"caps":       "0000000000000000",
	}
	if uid == "0" {
		delete(want, "caps") // root keeps its capabilities, as with chroot(8)
	}
	for k, v := range want {
		if facts[k] != v {
			t.Errorf("in the chroot %s=%q, want %q", k, facts[k], v)
		}
	}
	if !strings.HasSuffix(facts["model"], "(v7l)") {
		t.Errorf("in the chroot model name %q is not armv7", facts["model"])
	}
}

// mountsOf returns the mount points pid sees (relative to its root).
func mountsOf(t *testing.T, pid string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 {
			out = append(out, mountinfo.Unescape(f[4]))
		}
	}
	return out
}

// The README's quick start: a build in an armhf (here i386) root
// filesystem gets uname, cpuinfo, /proc, /sys and /dev, and the mounts
// exist in the command's namespace only and are gone afterwards.
func TestExecChroot(t *testing.T) {
	testenv.RequireRoot(t)
	root := chrootRootfs(t)
	digest := testenv.TreeDigest(t, root)
	hostCPUInfo, _ := os.ReadFile("/proc/cpuinfo")
	before := mountinfo.Below(root)

	cmd := exec.Command(shimBinary(t), "exec", "--chroot", root, "--cwd", "/build", "--", "sh", "-c", chrootChecks)
	facts := runChroot(t, cmd, func(facts map[string]string) {
		if got := mountinfo.Below(root); !slices.Equal(got, before) {
			t.Errorf("while the command ran, the host saw mounts %q under the chroot, before %q", got, before)
		}
		mounts := mountsOf(t, facts["pid"])
		for _, m := range []string{"/proc", "/proc/cpuinfo", "/sys", "/dev", "/dev/null", "/dev/pts", "/dev/shm"} {
			if !slices.Contains(mounts, m) {
				t.Errorf("the command's namespace has no mount at %s: %q", m, mounts)
			}
		}
	})
	checkChrootFacts(t, facts, "0")
	if got := mountinfo.Below(root); !slices.Equal(got, before) {
		t.Errorf("mounts left under the chroot: %q, before %q", got, before)
	}
	if testenv.TreeDigest(t, root) != digest {
		t.Error("the root filesystem changed")
	}
	if after, _ := os.ReadFile("/proc/cpuinfo"); !bytes.Equal(after, hostCPUInfo) {
		t.Error("the host's /proc/cpuinfo changed")
	}

	// The other cpuinfo flags combine with --chroot.
	count := "grep -c 'CPU architecture: 7' /proc/cpuinfo; grep -c ^processor /proc/cpuinfo; nproc; true"
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--cpus", "0"}, "1\n1\n1\n"},
		{[]string{"--no-cpuinfo"}, fmt.Sprintf("0\n%d\n%d\n", countProcessors(string(hostCPUInfo)), affinityCount(t))},
	} {
		args := append(append([]string{"exec", "--chroot", root}, tc.flags...), "--", "sh", "-c", count)
		if r := runShim(t, "", nil, args...); r.code != 0 || r.stdout != tc.want {
			t.Errorf("%q: code %d stdout %q stderr %q; want %q", args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if got := mountinfo.Below(root); !slices.Equal(got, before) {
		t.Errorf("mounts left under the chroot: %q, before %q", got, before)
	}
}

// Without root, --chroot runs in a user namespace: the command keeps its
// uid, /proc is the host's bound in, and nothing is left behind either.
func TestExecChrootUnprivileged(t *testing.T) {
	testenv.RequireRoot(t) // to switch to an unprivileged user
	setpriv := testenv.RequireCommand(t, "setpriv")
	root := chrootRootfs(t)
	nb := nobodyShim(t)
	before := mountinfo.Below(root)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		nb, "exec", "--chroot", root, "--cwd", "build", "--", "sh", "-c", chrootChecks)
	facts := runChroot(t, cmd, func(facts map[string]string) {
		if got := mountinfo.Below(root); !slices.Equal(got, before) {
			t.Errorf("while the command ran, the host saw mounts %q under the chroot, before %q", got, before)
		}
		if mounts := mountsOf(t, facts["pid"]); !slices.Contains(mounts, "/proc/cpuinfo") || !slices.Contains(mounts, "/dev/null") {
			t.Errorf("the command's namespace lacks the chroot's mounts: %q", mounts)
		}
	})
	checkChrootFacts(t, facts, "65534")
	if got := mountinfo.Below(root); !slices.Equal(got, before) {
		t.Errorf("mounts left under the chroot: %q, before %q", got, before)
	}
}

// --chroot is never entered without its mounts: where no private mount
// namespace can be made it fails and says why; bad arguments say what is
// wrong, once.
func TestExecChrootErrors(t *testing.T) {
	compatMachine(t)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"exec", "--cwd", "/build", "--", "true"}, 2,
			"armhf-shim: exec: --cwd is for --chroot; without it, change directory before exec"},
		{[]string{"exec", "--chroot", "/nonexistent-armhf", "--", "true"}, 2,
			`armhf-shim: exec: --chroot "/nonexistent-armhf": no such file or directory`},
		{[]string{"exec", "--chroot", notDir, "--", "true"}, 2,
			fmt.Sprintf(`armhf-shim: exec: --chroot %q: not a directory`, notDir)},
	} {
		r := runShim(t, "", nil, tc.args...)
		if r.code != tc.code || strings.TrimSpace(r.stderr) != tc.want {
			t.Errorf("%q: code %d stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}

	testenv.RequireRoot(t)
	empty := t.TempDir()
	r := runShim(t, "", nil, "exec", "--chroot", empty, "--", "true")
	want := fmt.Sprintf("armhf-shim: exec: --chroot %s: /proc: no such file or directory (a root filesystem has /proc, /sys and /dev directories, not links)", empty)
	if r.code != 1 || strings.TrimSpace(r.stderr) != want {
		t.Errorf("a directory without /proc: code %d stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
	// A /proc that is a link to the host's is not followed.
	linked := t.TempDir()
	os.Symlink("/proc", filepath.Join(linked, "proc"))
	r = runShim(t, "", nil, "exec", "--chroot", linked, "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "/proc: too many levels of symbolic links") {
		t.Errorf("a /proc link: code %d stderr %q", r.code, r.stderr)
	}

	setpriv := testenv.RequireCommand(t, "setpriv")
	cmd := exec.Command(setpriv, "--inh-caps=-all", "--bounding-set=-sys_admin", "--", shimBinary(t), "exec", "--chroot", empty, "--", "true")
	out, err := cmd.CombinedOutput()
	want = "armhf-shim: exec: --chroot needs a private mount namespace: unshare(CLONE_NEWNS): operation not permitted " +
		"(root without CAP_SYS_ADMIN; a user namespace is not used for root: it would map no uid but 0); " +
		"run with CAP_SYS_ADMIN (docker run --cap-add SYS_ADMIN)"
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.TrimSpace(string(out)) != want {
		t.Errorf("root without CAP_SYS_ADMIN: %v %q; want exit 1 and %q", err, out, want)
	}

	// Not root, in a user namespace of the test's own in which no further
	// one may be made (as TestExecUnprivilegedWithoutUserns).
	nb := nobodyShim(t)
	cmd = exec.Command("sh", "-c", `echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"`, "sh",
		setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", nb, "exec", "--chroot", "/", "--", "true")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		GidMappingsEnableSetgroups: true,
	}
	out, err = cmd.CombinedOutput()
	wantStart := "armhf-shim: exec: --chroot needs a private mount namespace: unshare(CLONE_NEWNS): operation not permitted; " +
		"a user namespace could not be made either: "
	wantEnd := "(allow user namespaces: sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone; or run as root)"
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), wantStart) ||
		!strings.HasSuffix(strings.TrimSpace(string(out)), wantEnd) {
		t.Errorf("no user namespaces: %v %q; want exit 1 and %q…%q", err, out, wantStart, wantEnd)
	}
}
