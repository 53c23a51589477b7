package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	bin := shimBinary(t)
	// The binary must be reachable by nobody.
	dir, err := os.MkdirTemp("", "armhf-shim-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	data, _ := os.ReadFile(bin)
	nb := filepath.Join(dir, "armhf-shim")
	os.WriteFile(nb, data, 0o755)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		nb, "exec", "--", "sh", "-c", "uname -m; id -u; grep -c 'CPU architecture: 7' /proc/cpuinfo; exit 3")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v; stderr %q", err, e.String())
	}
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	if len(lines) != 3 || lines[0] != want || lines[1] != "65534" || lines[2] == "0" {
		t.Fatalf("unprivileged exec: out %q stderr %q", o.String(), e.String())
	}
}
