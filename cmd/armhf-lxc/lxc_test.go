//go:build cgo && linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/lxc"
	"github.com/armhf-shim/armhf-shim/uname"
)

// harness runs the real armhf-lxc binary (cgo) against its own lxcpath.
type harness struct {
	t       *testing.T
	bin     string
	lxcpath string
}

// n makes a container name unique to this test process: liblxc names its
// cgroups after the container alone, so runs in parallel (other lxcpaths)
// must not share names.
func (h *harness) n(base string) string { return fmt.Sprintf("%s-%d", base, os.Getpid()) }

// newHarness is the harness of a test that starts containers, which
// -short skips.
func newHarness(t *testing.T) *harness {
	t.Helper()
	testenv.SkipShort(t, "LXC containers")
	return cliHarness(t)
}

// cliHarness is the harness of a test that only runs commands that start
// nothing (bad input, no root).
func cliHarness(t *testing.T) *harness {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "lxc-start")
	return &harness{t: t, bin: testenv.BuildBinary(t, "./cmd/armhf-lxc", "CGO_ENABLED=1"), lxcpath: filepath.Join(t.TempDir(), "lxc")}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

func (h *harness) runIn(stdin string, args ...string) result {
	h.t.Helper()
	cmd := exec.Command(h.bin, append([]string{"--lxcpath", h.lxcpath}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("armhf-lxc %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func (h *harness) run(args ...string) result { h.t.Helper(); return h.runIn("", args...) }

// must runs a command that has to succeed and returns its stdout.
func (h *harness) must(args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("armhf-lxc %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs a command that has to fail with code (0: any non-zero) and an
// error message containing msg.
func (h *harness) fails(code int, msg string, args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code == 0 || (code != 0 && r.code != code) || !strings.Contains(r.stderr, msg) {
		h.t.Errorf("armhf-lxc %s: want exit %d and %q in stderr, got %s", strings.Join(args, " "), code, msg, r)
	}
	return r
}

// create makes a container and registers its destruction.
func (h *harness) create(name string, args ...string) {
	h.t.Helper()
	h.must(append([]string{"create", name}, args...)...)
	h.t.Cleanup(func() { h.destroy(name) })
}

func (h *harness) destroy(name string) {
	if _, err := os.Stat(filepath.Join(h.lxcpath, name)); err != nil {
		return
	}
	if r := h.run("destroy", "--force", name); r.code != 0 {
		h.t.Errorf("cleanup: destroy %s: %s", name, r)
		exec.Command("lxc-stop", "-k", "-n", name, "-P", h.lxcpath).Run()
	}
	if left := lxc.LeftoverCgroups(name); len(left) > 0 {
		h.t.Errorf("cleanup: cgroups of %s left behind: %q", name, left)
		lxc.RemoveStaleCgroups(name)
	}
}

func (h *harness) status(name string) lxc.Status {
	h.t.Helper()
	var s lxc.Status
	if err := json.Unmarshal([]byte(h.must("status", "--json", name)), &s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// compat is what uname -m must say in the container: i686 here, armv8l on
// arm64.
func compat(t *testing.T) string {
	m := uname.HostCompatMachine()
	testenv.Require(t, m != "", "no 32-bit compat machine on this kernel")
	return m
}

func checkARMv7CPUInfo(t *testing.T, text string, wantCPUs int) {
	t.Helper()
	info, err := cpuinfo.Parse([]byte(text))
	if err != nil {
		t.Fatalf("the container's /proc/cpuinfo does not parse: %v\n%s", err, text)
	}
	if n := info.NumProcessors(); n != wantCPUs {
		t.Errorf("the container's /proc/cpuinfo has %d processors, want %d", n, wantCPUs)
	}
	for i, p := range info.Processors {
		if v, _ := p.Get("CPU architecture"); v != "7" {
			t.Errorf("processor %d: CPU architecture %q, want 7", i, v)
		}
		if v, _ := p.Get("model name"); !strings.Contains(v, "(v7l)") {
			t.Errorf("processor %d: model name %q, want ARMv7 (v7l)", i, v)
		}
	}
}

func hostCPUs(t *testing.T) int {
	a, err := cpuinfo.Affinity()
	if err != nil {
		t.Fatal(err)
	}
	return a.Len()
}

// TestUnameAndCPUInfo: a busybox-static:i386 container says i686 (armv8l
// on arm64) and shows the armv7 cpuinfo, through exec and status.
func TestUnameAndCPUInfo(t *testing.T) {
	h := newHarness(t)
	u1 := h.n("u1")
	rootfs := testenv.BusyboxRootfs(t, "i386")
	h.create(u1, "--rootfs", rootfs)
	if s := h.status(u1); s.State != "STOPPED" || s.PID != 0 || !s.Managed || s.Rootfs != rootfs || s.OwnsRootfs {
		t.Errorf("status after create: %+v", s)
	}
	h.must("start", u1)

	if got := strings.TrimSpace(h.must("exec", u1, "--", "uname", "-m")); got != compat(t) {
		t.Errorf("exec uname -m = %q, want %q", got, compat(t))
	}
	// Without "--" too, and the personality reaches grandchildren.
	if got := strings.TrimSpace(h.must("exec", u1, "sh", "-c", "sh -c 'uname -m'")); got != compat(t) {
		t.Errorf("nested uname -m = %q, want %q", got, compat(t))
	}
	checkARMv7CPUInfo(t, h.must("exec", u1, "--", "cat", "/proc/cpuinfo"), hostCPUs(t))

	s := h.status(u1)
	if s.State != "RUNNING" || s.PID <= 0 || s.Machine != compat(t) {
		t.Errorf("status: %+v, want RUNNING with a pid and machine %s", s, compat(t))
	}
	wantArch, _ := lxc.LXCArch(uname.HostCompatMachine())
	if s.Arch != wantArch && !(wantArch == "armv7l" && s.Arch != "") {
		t.Errorf("status arch %q, want %q", s.Arch, wantArch)
	}
	text := h.must("status", u1)
	for _, w := range []string{"State:", "RUNNING", "PID:", strconv.Itoa(s.PID), "Machine:", compat(t), "IPs:"} {
		if !strings.Contains(text, w) {
			t.Errorf("status output lacks %q:\n%s", w, text)
		}
	}
	list := h.must("list")
	if !strings.Contains(list, u1) || !strings.Contains(list, "RUNNING") {
		t.Errorf("list:\n%s", list)
	}
}

// TestExecStatus: exec passes the command's exit status, signals, stdin,
// stdout and stderr through.
func TestExecStatus(t *testing.T) {
	h := newHarness(t)
	x1 := h.n("x1")
	rootfs := testenv.BusyboxRootfs(t, "i386")
	os.MkdirAll(filepath.Join(rootfs, "src", "tools"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "src", "configure"), []byte("#!/bin/sh\necho \"configure in $PWD\"\n"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "src", "tools", "gen"), []byte("#!/bin/sh\necho \"gen in $PWD\"\n"), 0o755)
	h.create(x1, "--rootfs", rootfs)
	h.must("start", x1)

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"true"}, 0},
		{[]string{"false"}, 1},
		{[]string{"sh", "-c", "exit 42"}, 42},
		{[]string{"sh", "-c", "kill -9 $$"}, 128 + 9},
		{[]string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
		{[]string{"no-such-command"}, 127},
		{[]string{"/bin/no-such-command"}, 127},
	} {
		r := h.run(append([]string{"exec", x1, "--"}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("exec %q: exit %d, want %d (%s)", tc.args, r.code, tc.code, r)
		}
		if tc.code == 127 && !strings.Contains(r.stderr, tc.args[0]+": ") && !strings.Contains(r.stderr, "not found in the container") {
			t.Errorf("exec %q: no clear not-found message: %s", tc.args, r)
		}
	}
	r := h.runIn("hello from stdin\n", "exec", x1, "--", "sh", "-c", "read l; echo \"out:$l\"; echo err >&2")
	if r.code != 0 || r.stdout != "out:hello from stdin\n" || !strings.Contains(r.stderr, "err") {
		t.Errorf("stdio passthrough: %s", r)
	}
	r = h.run("exec", "--env", "CC=arm-linux-gnueabihf-gcc", "--cwd", "/etc", x1, "--", "sh", "-c", "echo $CC $PWD $HOME; echo $PATH")
	if want := "arm-linux-gnueabihf-gcc /etc /root\n" + lxc.DefaultPath + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("exec --env --cwd: %s\nwant stdout %q", r, want)
	}
	// The host's environment does not leak in.
	t.Setenv("ARMHF_LXC_SECRET", "leak")
	if r := h.run("exec", x1, "--", "env"); strings.Contains(r.stdout, "ARMHF_LXC_SECRET") {
		t.Errorf("host environment leaked into exec: %s", r.stdout)
	}
	// --cwd: relative commands and PATH entries are found from it, and
	// one that is not a directory is an error, not a command run in /.
	for _, tc := range []struct {
		args []string
		code int
		out  string // stdout, or what stderr must contain when code != 0
	}{
		{[]string{"--cwd", "/src", x1, "--", "./configure"}, 0, "configure in /src\n"},
		{[]string{"--cwd", "/src", x1, "--", "tools/gen"}, 0, "gen in /src\n"},
		{[]string{"--cwd", "/src/tools", x1, "--", "../configure"}, 0, "configure in /src/tools\n"},
		{[]string{"--cwd", "/src", "--env", "PATH=/bin:.", x1, "--", "configure"}, 0, "configure in /src\n"},
		{[]string{"--cwd", "/", x1, "--", "./configure"}, 127, "./configure: not found in the container"},
		{[]string{"--cwd", "/does-not-exist", x1, "--", "true"}, 1, "--cwd /does-not-exist: no such directory in the container"},
		{[]string{"--cwd", "/etc/passwd", x1, "--", "true"}, 1, "--cwd /etc/passwd: not a directory in the container"},
		{[]string{"--cwd", "etc", x1, "--", "true"}, 2, "--cwd etc: want an absolute path"},
	} {
		r := h.run(append([]string{"exec"}, tc.args...)...)
		if r.code != tc.code || tc.code == 0 && r.stdout != tc.out || tc.code != 0 && !strings.Contains(r.stderr, tc.out) {
			t.Errorf("exec %q: %s\nwant exit %d and %q", tc.args, r, tc.code, tc.out)
		}
	}
	h.fails(2, "KEY=VALUE", "exec", "--env", "NOEQUALS", x1, "--", "true")
	h.fails(2, "missing CMD", "exec", x1)
	h.fails(2, "missing CMD", "exec", x1, "--")
}

// TestCommaValues: the repeatable flags take a comma as part of the value
// (urfave/cli would split it into two values).
func TestCommaValues(t *testing.T) {
	h := newHarness(t)
	cv1 := h.n("cv1")
	src := filepath.Join(t.TempDir(), "a,b")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "f"), []byte("comma\n"), 0o644)
	pool := "--default-address-pool=base=10.10.0.0/16,size=24"
	// --docker-arg needs --docker (never started here: the args are
	// checked in armhf-lxc.json).
	cv2 := h.n("cv2")
	h.create(cv2, "--rootfs", testenv.BusyboxRootfs(t, "i386"), "--nesting", "--docker",
		"--docker-arg="+pool, "--docker-arg", "--iptables=false")
	st, err := lxc.ReadState(filepath.Join(h.lxcpath, cv2))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{pool, "--iptables=false"}; !slices.Equal(st.DockerArgs, want) {
		t.Errorf("docker args = %q, want %q", st.DockerArgs, want)
	}
	h.create(cv1, "--rootfs", testenv.BusyboxRootfs(t, "i386"), "--nesting",
		"--bind", src+":/mnt/x,y:ro")
	if st, err = lxc.ReadState(filepath.Join(h.lxcpath, cv1)); err != nil {
		t.Fatal(err)
	}
	if want := []string{src + ":/mnt/x,y:ro"}; !slices.Equal(st.Binds, want) {
		t.Errorf("binds = %q, want %q", st.Binds, want)
	}
	h.must("start", cv1)
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"--env", "NO_PROXY=localhost,127.0.0.1", cv1, "--", "sh", "-c", "echo $NO_PROXY"}, "localhost,127.0.0.1\n"},
		{[]string{"-e", "A=1,B=2", "-e", "C=3", cv1, "--", "sh", "-c", "echo $A $B $C"}, "1,B=2 3\n"},
		{[]string{cv1, "--", "cat", "/mnt/x,y/f"}, "comma\n"},
	} {
		r := h.run(append([]string{"exec"}, tc.args...)...)
		if r.code != 0 || r.stdout != tc.out {
			t.Errorf("exec %q: %s\nwant stdout %q", tc.args, r, tc.out)
		}
	}
}

// TestShell: shell runs a login shell with stdin passed through.
func TestShell(t *testing.T) {
	h := newHarness(t)
	sh1 := h.n("sh1")
	h.create(sh1, "--rootfs", testenv.BusyboxRootfs(t, "i386"))
	h.must("start", sh1)
	r := h.runIn("uname -m\nexit 3\n", "shell", sh1)
	if r.code != 3 || strings.TrimSpace(r.stdout) != compat(t) {
		t.Errorf("shell: %s; want exit 3 and %s", r, compat(t))
	}
}

// TestLifecycle: repeated commands behave, state survives restarts, the
// cpuinfo is regenerated on each start, and the user's rootfs is neither
// written nor deleted.
func TestLifecycle(t *testing.T) {
	h := newHarness(t)
	l1 := h.n("l1")
	rootfs := testenv.BusyboxRootfs(t, "i386")
	before := testenv.TreeDigest(t, rootfs)
	dir := filepath.Join(h.lxcpath, l1)

	h.create(l1, "--rootfs", rootfs)
	cfg, _ := os.ReadFile(filepath.Join(dir, lxc.ConfigFile))
	h.fails(1, "already exists", "create", l1, "--rootfs", rootfs, "--nesting")
	if cfg2, _ := os.ReadFile(filepath.Join(dir, lxc.ConfigFile)); !bytes.Equal(cfg, cfg2) {
		t.Error("a second create changed the first container's config")
	}

	h.fails(1, "is not running", "exec", l1, "--", "true")
	if r := h.run("stop", l1); r.code != 0 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("stop of a stopped container: %s", r)
	}

	var pids []int
	for round := 0; round < 2; round++ {
		// Whatever is in the cpuinfo file, start rewrites it.
		os.WriteFile(filepath.Join(dir, lxc.CPUInfoFile), []byte("corrupt\n"), 0o444)
		h.must("start", l1)
		pid := h.status(l1).PID
		h.fails(1, "already running", "start", l1)
		if p := h.status(l1).PID; p != pid {
			t.Errorf("a second start changed the init pid %d -> %d", pid, p)
		}
		checkARMv7CPUInfo(t, h.must("exec", l1, "--", "cat", "/proc/cpuinfo"), hostCPUs(t))
		h.fails(1, "is running", "destroy", l1)
		h.must("stop", l1)
		if s := h.status(l1); s.State != "STOPPED" {
			t.Errorf("after stop: %+v", s)
		}
		if r := h.run("stop", l1); r.code != 0 {
			t.Errorf("second stop: %s", r)
		}
		pids = append(pids, pid)
	}
	if pids[0] == pids[1] {
		t.Errorf("restart kept init pid %d", pids[0])
	}
	h.must("destroy", l1)
	h.fails(1, "no container", "destroy", l1)
	h.fails(1, "no container", "start", l1)
	h.fails(1, "no container", "status", l1)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("destroy left %s: %v", dir, err)
	}
	if after := testenv.TreeDigest(t, rootfs); after != before {
		t.Errorf("the container's lifecycle changed the user's rootfs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out := h.must("list"); strings.Contains(out, l1) {
		t.Errorf("list after destroy:\n%s", out)
	}
}

// TestStop: stop gives processes SIGTERM through the init, and kills what
// ignores it after --timeout.
func TestStop(t *testing.T) {
	h := newHarness(t)
	st1 := h.n("st1")
	rootfs := testenv.BusyboxRootfs(t, "i386")
	h.create(st1, "--rootfs", rootfs)
	h.must("start", st1)
	h.must("exec", st1, "--", "sh", "-c", `(trap 'echo bye > /tmp/bye; exit 0' TERM; while :; do sleep 1; done) >/dev/null 2>&1 </dev/null &`)
	h.must("stop", "--timeout", "20", st1)
	if b, err := os.ReadFile(filepath.Join(rootfs, "tmp", "bye")); err != nil || string(b) != "bye\n" {
		t.Errorf("a process trapping SIGTERM did not get to run its handler on stop: %q, %v", b, err)
	}

	// A process ignoring SIGTERM is killed after the timeout, however
	// short (liblxc counts whole seconds: under 1s must not become "do
	// not wait", reported as stopped while the container still runs).
	for _, timeout := range []string{"1s", "500ms", "1ms", "1500ms"} {
		h.must("start", st1)
		h.must("exec", st1, "--", "sh", "-c", `(trap '' TERM; while :; do sleep 1; done) >/dev/null 2>&1 </dev/null &`)
		if r := h.run("stop", "-t", timeout, st1); r.code != 0 || !strings.Contains(r.stderr, "stopped") {
			t.Errorf("stop -t %s: %s", timeout, r)
		}
		if s := h.status(st1); s.State != "STOPPED" {
			t.Errorf("stop -t %s reported success but the container is %s (pid %d)", timeout, s.State, s.PID)
			h.run("stop", "-t", "0", st1)
		}
	}
	h.must("start", st1)
	h.must("stop", "--timeout", "0", st1)
	h.fails(2, "--timeout", "stop", "--timeout", "soon", st1)
}

// TestStopCustomInit: with --init, stop sends liblxc's own halt signal
// (SIGPWR, SIGRTMIN+3 for systemd), not armhf-lxc's SIGTERM, which an init
// such as systemd does not halt on: the init halts at once instead of
// being killed after the timeout.
func TestStopCustomInit(t *testing.T) {
	h := newHarness(t)
	ci1 := h.n("ci1")
	rootfs := testenv.BusyboxRootfs(t, "i386")
	os.WriteFile(filepath.Join(rootfs, "init.sh"), []byte("#!/bin/sh\n"+
		"trap '' TERM\n"+ // as systemd: SIGTERM does not halt it
		"trap 'echo halted > /tmp/halted; exit 0' PWR\n"+
		"while :; do sleep 1 & wait $!; done\n"), 0o755)
	h.create(ci1, "--rootfs", rootfs, "--init", "/bin/sh /init.sh")
	cfg, err := os.ReadFile(filepath.Join(h.lxcpath, ci1, lxc.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), "lxc.signal.halt") {
		t.Errorf("config of an --init container sets lxc.signal.halt:\n%s", cfg)
	}
	h.must("start", ci1)
	start := time.Now()
	h.must("stop", "--timeout", "20", ci1)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %s: the init did not get its halt signal and was killed after the timeout", d.Round(time.Second))
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "tmp", "halted")); err != nil || string(b) != "halted\n" {
		t.Errorf("the init's halt handler did not run: %q, %v", b, err)
	}
}

// TestTarballRootfs: a tarball is unpacked into the container directory,
// runs, and is deleted by destroy (the tarball itself stays).
func TestTarballRootfs(t *testing.T) {
	h := newHarness(t)
	tb1 := h.n("tb1")
	tb := filepath.Join(t.TempDir(), "busybox-i386.tar.xz")
	if b, err := exec.Command("tar", "-C", testenv.BusyboxRootfs(t, "i386"), "-cJf", tb, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	h.create(tb1, "--rootfs", tb)
	s := h.status(tb1)
	if !s.OwnsRootfs || s.Rootfs != filepath.Join(h.lxcpath, tb1, lxc.RootfsDir) {
		t.Errorf("status: %+v, want an owned rootfs in the container dir", s)
	}
	h.must("start", tb1)
	if got := strings.TrimSpace(h.must("exec", tb1, "--", "uname", "-m")); got != compat(t) {
		t.Errorf("uname -m = %q", got)
	}
	h.must("destroy", "--force", tb1)
	if _, err := os.Stat(filepath.Join(h.lxcpath, tb1)); !os.IsNotExist(err) {
		t.Errorf("destroy left the unpacked rootfs: %v", err)
	}
	if _, err := os.Stat(tb); err != nil {
		t.Errorf("destroy removed the tarball: %v", err)
	}
}

// TestBadInput: clear errors, exit 1 (2 for usage), nothing created.
func TestBadInput(t *testing.T) {
	h := cliHarness(t)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	for _, tc := range []struct {
		code int
		msg  string
		args []string
	}{
		{1, "invalid container name", []string{"create", "bad_name", "--rootfs", rootfs}},
		{1, "invalid container name", []string{"create", "x-", "--rootfs", rootfs}},
		{2, "flag provided but not defined: -x-", []string{"create", "-x-", "--rootfs", rootfs}},
		{1, "invalid container name", []string{"start", "../etc"}},
		{1, "invalid container name", []string{"create", strings.Repeat("n", 64), "--rootfs", rootfs}},
		{2, "missing NAME", []string{"create", "--rootfs", rootfs}},
		{2, "unexpected arguments", []string{"start", "a", "b"}},
		{1, "no such file", []string{"create", "b1", "--rootfs", "/nonexistent/rootfs"}},
		{1, "no executable /bin/sh", []string{"create", "b1", "--rootfs", t.TempDir()}},
		{1, "exactly one", []string{"create", "b1"}},
		{1, "needs --nesting", []string{"create", "b1", "--rootfs", rootfs, "--docker"}},
		{1, "--cpus", []string{"create", "b1", "--rootfs", rootfs, "--cpus", "x"}},
		{1, "no bridge", []string{"create", "b1", "--rootfs", rootfs, "--network", "veth:armhfnobr0"}},
		{1, "want none or veth:BRIDGE", []string{"create", "b1", "--rootfs", rootfs, "--network", "host"}},
		{1, "no container", []string{"exec", "b1", "--", "true"}},
		{1, "no container", []string{"stop", "b1"}},
		{2, "flag provided but not defined", []string{"create", "b1", "--rootfs", rootfs, "--bogus"}},
		{2, "--mirror without --debootstrap", []string{"create", "b1", "--rootfs", rootfs, "--mirror", "http://deb.debian.org/debian"}},
		{2, "--docker-arg without --docker", []string{"create", "b1", "--rootfs", rootfs, "--nesting", "--docker-arg=--iptables=false"}},
		{2, "--docker-socket without --docker", []string{"create", "b1", "--rootfs", rootfs, "--nesting", "--docker-socket", "/run/d.sock"}},
		{2, "unknown command", []string{"bogus"}},
		{2, "--cwd src: want an absolute path", []string{"exec", "b1", "--cwd", "src", "--", "true"}},
	} {
		h.fails(tc.code, tc.msg, tc.args...)
	}
	if ents, _ := os.ReadDir(h.lxcpath); len(ents) != 0 {
		t.Errorf("bad input left %v in the lxcpath", ents)
	}
}

// TestNotRoot: every command refuses clearly without root.
func TestNotRoot(t *testing.T) {
	h := cliHarness(t)
	// The binary and the lxcpath must be reachable by nobody.
	dir, err := os.MkdirTemp("/tmp", "armhf-lxc-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "armhf-lxc")
	data, err := os.ReadFile(h.bin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, data, 0o755)
	for _, args := range [][]string{{"create", "n1", "--rootfs", "/"}, {"start", "n1"}, {"exec", "n1", "--", "true"}, {"list"}, {"status", "n1"}, {"destroy", "n1"}} {
		cmd := exec.Command(bin, append([]string{"--lxcpath", filepath.Join(dir, "lxc")}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "must run as root") {
			t.Errorf("armhf-lxc %s as nobody: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "lxc")); !os.IsNotExist(err) {
		t.Errorf("a non-root run created the lxcpath: %v", err)
	}
}

// TestCPUs: --cpus restricts the cpuset and the cpuinfo shows only those
// CPUs, renumbered from 0.
func TestCPUs(t *testing.T) {
	h := newHarness(t)
	c1 := h.n("c1")
	a, err := cpuinfo.Affinity()
	if err != nil {
		t.Fatal(err)
	}
	last := a.List()[a.Len()-1]
	h.create(c1, "--rootfs", testenv.BusyboxRootfs(t, "i386"), "--cpus", strconv.Itoa(last))
	h.must("start", c1)
	checkARMv7CPUInfo(t, h.must("exec", c1, "--", "cat", "/proc/cpuinfo"), 1)
	if got := strings.TrimSpace(h.must("exec", c1, "--", "nproc")); got != "1" {
		t.Errorf("nproc in a --cpus %d container = %q, want 1", last, got)
	}
	if s := h.status(c1); s.CPUs != strconv.Itoa(last) {
		t.Errorf("status cpus = %q", s.CPUs)
	}
}

// TestNetworkVeth: --network veth:BRIDGE gives the container an eth0 on
// the bridge, and status lists its addresses.
func TestNetworkVeth(t *testing.T) {
	h := newHarness(t)
	n1 := h.n("n1")
	ip := testenv.RequireCommand(t, "ip")
	br := fmt.Sprintf("ahlxc%d", os.Getpid()%100000)
	if b, err := exec.Command(ip, "link", "add", br, "type", "bridge").CombinedOutput(); err != nil {
		testenv.Require(t, false, "cannot create a bridge: %v: %s", err, b)
	}
	t.Cleanup(func() { exec.Command(ip, "link", "del", br).Run() })
	exec.Command(ip, "link", "set", br, "up").Run()

	h.create(n1, "--rootfs", testenv.BusyboxRootfs(t, "i386"), "--network", "veth:"+br)
	if s := h.status(n1); s.Network != "veth:"+br {
		t.Errorf("status network = %q", s.Network)
	}
	h.must("start", n1)
	h.must("exec", n1, "--", "/bin/busybox", "ip", "addr", "add", "10.213.7.2/24", "dev", "eth0")
	s := h.status(n1)
	if !slices.Contains(s.IPs, "10.213.7.2") {
		t.Errorf("status IPs = %q, want 10.213.7.2", s.IPs)
	}
	if out := h.must("list"); !strings.Contains(out, "10.213.7.2") {
		t.Errorf("list lacks the address:\n%s", out)
	}
	out, _ := exec.Command(ip, "-o", "link", "show", "master", br).CombinedOutput()
	if !strings.Contains(string(out), "veth") {
		t.Errorf("no veth on %s: %s", br, out)
	}
	h.must("stop", n1)
	out, _ = exec.Command(ip, "-o", "link", "show", "master", br).CombinedOutput()
	if strings.Contains(string(out), "veth") {
		t.Errorf("stop left a veth on %s: %s", br, out)
	}
}

// hostUserland makes the host's /usr (runc, dockerd, containerd, docker
// and their libraries) usable in a busybox rootfs: the test binds /usr
// read-only and adds the merged-/usr links the dynamic loader needs.
func hostUserland(t *testing.T, rootfs string) []string {
	for _, l := range []string{"lib", "lib64"} {
		if _, err := os.Stat("/" + l); err == nil {
			if err := os.Symlink("usr/"+l, filepath.Join(rootfs, l)); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.MkdirAll(filepath.Join(rootfs, "var"), 0o755)
	// Absolute, as Debian's base-files ships it: resolved on the host
	// it would lead to the host's /run.
	if err := os.Symlink("/run", filepath.Join(rootfs, "var", "run")); err != nil {
		t.Fatal(err)
	}
	return []string{"--bind", "/usr:/usr:ro"}
}

// TestNestingRunc: in a --nesting container runc runs a container, and
// that one says i686 (armv8l) too: the personality is inherited by runc
// and its container.
func TestNestingRunc(t *testing.T) {
	h := newHarness(t)
	nr1 := h.n("nr1")
	runc := testenv.RequireCommand(t, "runc")
	testenv.Require(t, strings.HasPrefix(runc, "/usr/"), "runc is %s, not under /usr (the container gets the host's /usr)", runc)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	args := hostUserland(t, rootfs)

	// An OCI bundle inside the container's rootfs.
	bundle := filepath.Join(rootfs, "bundle")
	os.MkdirAll(bundle, 0o755)
	if b, err := exec.Command("cp", "-a", testenv.BusyboxRootfs(t, "i386"), filepath.Join(bundle, "rootfs")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, b)
	}
	if b, err := exec.Command(runc, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, b)
	}
	var spec map[string]any
	cfgPath := filepath.Join(bundle, "config.json")
	data, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"sh", "-c", "uname -m; cat /proc/self/personality"}
	data, _ = json.Marshal(spec)
	os.WriteFile(cfgPath, data, 0o644)

	h.create(nr1, append([]string{"--rootfs", rootfs, "--nesting"}, args...)...)
	h.must("start", nr1)
	if s := h.status(nr1); !s.Nesting {
		t.Errorf("status: %+v, want nesting", s)
	}
	out := h.must("exec", nr1, "--", "/usr/sbin/runc", "--root", "/tmp/runc-state", "run", "--bundle", "/bundle", "inner")
	lines := strings.Fields(out)
	if len(lines) != 2 || lines[0] != compat(t) {
		t.Fatalf("runc in the container: %q, want uname -m %s", out, compat(t))
	}
	if p, err := strconv.ParseUint(lines[1], 16, 32); err != nil || uint32(p)&0xff != uname.PerLinux32 {
		t.Errorf("personality of runc's container = %q, want PER_LINUX32", lines[1])
	}
	// The cgroup hierarchies runc needs are mounted read-write.
	if out := h.must("exec", nr1, "--", "sh", "-c", "ls /sys/fs/cgroup; touch /sys/fs/cgroup/x 2>&1; grep -c ' /sys/fs/cgroup' /proc/self/mountinfo"); !strings.Contains(out, "devices") {
		t.Errorf("cgroups in the nesting container: %s", out)
	}
}

// TestDockerInside: --nesting --docker starts the rootfs's dockerd on
// start and waits for its socket; docker run in there says i686 (armv8l).
func TestDockerInside(t *testing.T) {
	h := newHarness(t)
	d1 := h.n("d1")
	for _, c := range []string{"dockerd", "containerd", "docker", "runc"} {
		p := testenv.RequireCommand(t, c)
		testenv.Require(t, strings.HasPrefix(p, "/usr/"), "%s is %s, not under /usr (the container gets the host's /usr)", c, p)
	}
	rootfs := testenv.BusyboxRootfs(t, "i386")
	args := hostUserland(t, rootfs)
	img := filepath.Join(rootfs, "busybox.tar")
	if b, err := exec.Command("tar", "-C", testenv.BusyboxRootfs(t, "i386"), "-cf", img, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	// A build context in the container for the BuildKit RUN step below.
	os.MkdirAll(filepath.Join(rootfs, "ctx"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "ctx", "Dockerfile"), []byte("FROM bb:test\nRUN uname -m && grep -m1 'CPU architecture' /proc/cpuinfo\n"), 0o644)
	shim := testenv.BuildBinary(t, "./cmd/armhf-runc")
	h.create(d1, append([]string{"--rootfs", rootfs, "--nesting", "--docker", "--shim", shim,
		"--docker-arg=--iptables=false", "--docker-arg=--bridge=none", "--docker-arg=--ip6tables=false"}, args...)...)
	h.must("start", d1)
	s := h.status(d1)
	// The wrapper is bound as the file itself, links resolved.
	if real, _ := filepath.EvalSymlinks(shim); !s.Docker || s.DockerSocket == "" || s.Shim != real {
		t.Fatalf("status: %+v, want docker with the runtime wrapper %s", s, real)
	}
	if want := fmt.Sprintf("/proc/%d/root/run/docker.sock", s.PID); s.DockerSocket != want {
		t.Errorf("status docker socket = %q, want %q (/var/run -> /run resolved in the container)", s.DockerSocket, want)
	}
	if err := lxcPing(s.DockerSocket); err != nil {
		t.Errorf("dockerd's socket from the host (%s): %v", s.DockerSocket, err)
	}
	// armhf-lxc has exited: dockerd is the container init's child (not the
	// host's PID 1's or a subreaper's, which need not reap it).
	if ppid, err := dockerdParent(s.PID); err != nil || ppid != s.PID {
		t.Errorf("dockerd's parent on the host = %d (%v), want the container's init %d", ppid, err, s.PID)
	}
	if got := strings.TrimSpace(h.must("exec", d1, "--", "docker", "info", "--format", "{{.Architecture}}")); got != compat(t) {
		t.Errorf("docker info Architecture = %q, want %q", got, compat(t))
	}
	h.must("exec", d1, "--", "docker", "import", "/busybox.tar", "bb:test")
	if got := strings.TrimSpace(h.must("exec", d1, "--", "docker", "run", "--rm", "--network", "none", "bb:test", "uname", "-m")); got != compat(t) {
		t.Errorf("docker run uname -m in the LXC container = %q, want %q", got, compat(t))
	}
	// dockerd's runc is the wrapper (first on its PATH): a docker run and a
	// BuildKit RUN step of a 32-bit image see the armv7 cpuinfo, not the
	// kernel's that Docker's fresh /proc would show.
	if got := strings.TrimSpace(h.must("exec", d1, "--", "docker", "run", "--rm", "--network", "none", "bb:test", "grep", "-m1", "CPU architecture", "/proc/cpuinfo")); got != "CPU architecture: 7" {
		t.Errorf("docker run cpuinfo in the LXC container = %q, want CPU architecture: 7", got)
	}
	// Debian's CLI (the host's /usr/local/bin may hold a newer one that wants buildx).
	r := h.run("exec", d1, "--env", "DOCKER_BUILDKIT=1", "--", testenv.DockerCLI, "build", "--no-cache", "--network", "none", "--progress=plain", "/ctx")
	// BuildKit prints step output on stderr: "#5 0.123 i686".
	if r.code != 0 || !strings.Contains(r.stderr, " "+compat(t)+"\n") || !strings.Contains(r.stderr, "CPU architecture: 7") {
		t.Errorf("BuildKit build in the LXC container: want %s and CPU architecture: 7 from its RUN step, got %s", compat(t), r)
	}
	// stop lets dockerd stop its containers: the init signals it alone
	// first, not its containerd with it (dockerd then could not reach its
	// containers: "Error sending stop", and they ended killed, status 255).
	h.must("exec", d1, "--", "docker", "run", "-d", "--name", "term", "--network", "none", "bb:test",
		"sh", "-c", "trap 'exit 3' TERM; while :; do sleep 1; done")
	logOff := fileLen(filepath.Join(h.lxcpath, d1, "dockerd.log"))
	// dockerd comes back after a restart.
	h.must("stop", "--timeout", "30s", d1)
	if log, _ := os.ReadFile(filepath.Join(h.lxcpath, d1, "dockerd.log")); bytes.Contains(log[logOff:], []byte("Error sending stop")) {
		t.Errorf("dockerd could not stop its container when the LXC container stopped:\n%s", log[logOff:])
	}
	h.must("start", d1)
	if out := h.must("exec", d1, "--", "docker", "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "bb:test") {
		t.Errorf("after restart, docker images = %q", out)
	}
	if out := h.must("exec", d1, "--", "docker", "ps", "-a", "--filter", "name=term", "--format", "{{.Status}}"); !strings.HasPrefix(out, "Exited (3)") {
		t.Errorf("the container dockerd ran when the LXC container stopped: %q, want Exited (3) (stopped by dockerd's SIGTERM)", out)
	}
}

// TestDockerFailsToStart: when dockerd is missing, dies or never answers,
// start fails with the reason (and dockerd's log) and leaves the container
// stopped.
func TestDockerFailsToStart(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, script string
		want         []string
	}{
		{"missing", "", []string{"dockerd: command not found in the container"}},
		{"exits", "echo 'failed to start daemon: boom' >&2; exit 1", []string{"dockerd exited (exit status 1)", "boom"}},
		{"killed", "echo 'about to be killed'; kill -KILL $$", []string{"dockerd exited (killed by signal 9 (SIGKILL))", "about to be killed"}},
		{"silent", "echo starting; exec sleep 1000", []string{"did not answer on /var/run/docker.sock within 2s", "starting"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rootfs := testenv.BusyboxRootfs(t, "i386")
			if tc.script != "" {
				os.MkdirAll(filepath.Join(rootfs, "usr/local/bin"), 0o755)
				os.WriteFile(filepath.Join(rootfs, "usr/local/bin/dockerd"), []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755)
			}
			name := h.n("df-" + tc.name)
			h.create(name, "--rootfs", rootfs, "--nesting", "--docker")
			r := h.run("start", "--docker-timeout", "2s", name)
			if r.code != 1 {
				t.Errorf("start: %s, want exit 1", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("start: stderr lacks %q: %s", w, r)
				}
			}
			if s := h.status(name); s.State != "STOPPED" {
				t.Errorf("after a failed dockerd start the container is %s, want STOPPED", s.State)
			}
		})
	}
}

// TestStartFailure: an init that exits at once is reported as a failed
// start, not "started", and leaves no cgroups behind (checked in cleanup).
func TestStartFailure(t *testing.T) {
	h := newHarness(t)
	f1 := h.n("f1")
	h.create(f1, "--rootfs", testenv.BusyboxRootfs(t, "i386"), "--init", "/bin/true")
	h.fails(1, "stopped right after starting: its init (/bin/true) exited", "start", f1)
	if s := h.status(f1); s.State != "STOPPED" {
		t.Errorf("state %s, want STOPPED", s.State)
	}
}

// dockerdParent is the host PPid of the dockerd in the PID namespace of
// the container whose init is initPid.
func dockerdParent(initPid int) (int, error) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
	if err != nil {
		return 0, err
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if l, _ := os.Readlink(p + "/ns/pid"); l != ns {
			continue
		}
		b, err := os.ReadFile(p + "/status")
		if err != nil || !strings.HasPrefix(string(b), "Name:\tdockerd\n") {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PPid:\t"); ok {
				return strconv.Atoi(v)
			}
		}
	}
	return 0, fmt.Errorf("no dockerd in the container")
}

// TestStartInterrupted: SIGTERM (or Ctrl-C) while start waits for dockerd
// stops the container again instead of leaving it and a half-started
// dockerd running.
func TestStartInterrupted(t *testing.T) {
	h := newHarness(t)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	os.MkdirAll(filepath.Join(rootfs, "usr/local/bin"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "usr/local/bin/dockerd"), []byte("#!/bin/sh\necho starting\nexec sleep 1000\n"), 0o755)
	name := h.n("si1")
	h.create(name, "--rootfs", rootfs, "--nesting", "--docker")
	cmd := exec.Command(h.bin, "--lxcpath", h.lxcpath, "start", "--docker-timeout", "60s", name)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(h.lxcpath, name, lxc.DockerdLog)
	for i := 0; i < 200; i++ {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), "starting") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("start after SIGTERM: %v, stderr %s; want exit 1 and 'interrupted'", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("start did not end 30s after SIGTERM: %s", errb.String())
	}
	if s := h.status(name); s.State != "STOPPED" {
		t.Errorf("after an interrupted start the container is %s, want STOPPED", s.State)
	}
}

func lxcPing(sock string) error {
	out, err := exec.Command("/usr/bin/docker", "-H", "unix://"+sock, "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// TestDebootstrap builds a real 32-bit Debian rootfs (about 40 s and 220 MB
// from the mirror), so it runs only when asked: ARMHF_LXC_DEBOOTSTRAP=SUITE.
func TestDebootstrap(t *testing.T) {
	suite := os.Getenv("ARMHF_LXC_DEBOOTSTRAP")
	if suite == "" {
		t.Skip("set ARMHF_LXC_DEBOOTSTRAP=bookworm to debootstrap a rootfs from the Debian mirror")
	}
	h := newHarness(t)
	deb1 := h.n("deb1")
	testenv.RequireCommand(t, "debootstrap")
	h.create(deb1, "--debootstrap", suite)
	s := h.status(deb1)
	if !s.OwnsRootfs {
		t.Errorf("status: %+v, want an owned rootfs", s)
	}
	h.must("start", deb1)
	want := lxc.DebootstrapArch(s.Arch)
	if got := strings.TrimSpace(h.must("exec", deb1, "--", "dpkg", "--print-architecture")); got != want {
		t.Errorf("dpkg --print-architecture = %q, want %q", got, want)
	}
	if got := strings.TrimSpace(h.must("exec", deb1, "--", "uname", "-m")); got != compat(t) {
		t.Errorf("uname -m = %q", got)
	}
	h.must("destroy", "--force", deb1)
}

// TestDebootstrapDocker: --debootstrap with --docker installs docker.io
// from the host's network (the container has none), and the rootfs's own
// 32-bit dockerd runs with the runtime wrapper as its runc. Like
// TestDebootstrap it runs only with ARMHF_LXC_DEBOOTSTRAP=SUITE.
func TestDebootstrapDocker(t *testing.T) {
	suite := os.Getenv("ARMHF_LXC_DEBOOTSTRAP")
	if suite == "" {
		t.Skip("set ARMHF_LXC_DEBOOTSTRAP=bookworm to debootstrap a rootfs with docker.io from the Debian mirror")
	}
	h := newHarness(t)
	dd1 := h.n("dd1")
	testenv.RequireCommand(t, "debootstrap")
	h.create(dd1, "--debootstrap", suite, "--nesting", "--docker", "--shim", testenv.BuildBinary(t, "./cmd/armhf-runc"),
		"--docker-arg=--iptables=false", "--docker-arg=--ip6tables=false", "--docker-arg=--bridge=none")
	s := h.status(dd1)
	img := filepath.Join(s.Rootfs, "busybox.tar")
	if b, err := exec.Command("tar", "-C", testenv.BusyboxRootfs(t, "i386"), "-cf", img, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	h.must("start", dd1)
	want := lxc.DebootstrapArch(s.Arch)
	if got := strings.TrimSpace(h.must("exec", dd1, "--", "dpkg-query", "-W", "-f", "${Architecture}", "docker.io")); got != want {
		t.Errorf("docker.io in the rootfs is %q, want %q", got, want)
	}
	if got := strings.TrimSpace(h.must("exec", dd1, "--", "docker", "info", "--format", "{{.Architecture}}")); got != compat(t) {
		t.Errorf("docker info Architecture = %q, want %q", got, compat(t))
	}
	h.must("exec", dd1, "--", "docker", "import", "/busybox.tar", "bb:test")
	if got := strings.TrimSpace(h.must("exec", dd1, "--", "docker", "run", "--rm", "--network", "none", "bb:test", "grep", "-m1", "CPU architecture", "/proc/cpuinfo")); got != "CPU architecture: 7" {
		t.Errorf("docker run cpuinfo = %q, want CPU architecture: 7", got)
	}
}

// TestConcurrentStart: two starts at once (the per-container lock makes
// the second wait for the first): one starts the container, the other
// says it is already running, and the container stays RUNNING — the loser
// must not stop the winner's container.
func TestConcurrentStart(t *testing.T) {
	h := newHarness(t)
	name := h.n("cs1")
	h.create(name, "--rootfs", testenv.BusyboxRootfs(t, "i386"))
	for round := 0; round < 8; round++ {
		var rs [2]result
		done := make(chan int, 2)
		for i := range rs {
			go func() { rs[i] = h.run("start", name); done <- i }()
		}
		<-done
		<-done
		ok, already := 0, 0
		for _, r := range rs {
			switch {
			case r.code == 0 && strings.Contains(r.stderr, "started "+name):
				ok++
			case r.code == 1 && strings.Contains(r.stderr, "already running"):
				already++
			}
		}
		if ok != 1 || already != 1 {
			t.Errorf("round %d: want one start to succeed and one to say 'already running':\n%s\n%s", round, rs[0], rs[1])
		}
		if s := h.status(name); s.State != "RUNNING" {
			t.Fatalf("round %d: after two concurrent starts the container is %s, want RUNNING", round, s.State)
		}
		h.must("stop", "--timeout", "0", name)
	}
}

// TestStartInterruptedNoDocker: SIGTERM while start brings up a container
// without --docker is not swallowed: start fails naming the interruption
// and stops the container again.
func TestStartInterruptedNoDocker(t *testing.T) {
	h := newHarness(t)
	name := h.n("si2")
	h.create(name, "--rootfs", testenv.BusyboxRootfs(t, "i386"))
	for _, after := range []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 250 * time.Millisecond} {
		cmd := exec.Command(h.bin, "--lxcpath", h.lxcpath, "start", name)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("SIGTERM %s into start: %v, stderr %q; want exit 1 and 'interrupted'", after, err, errb.String())
		}
		if s := h.status(name); s.State != "STOPPED" {
			t.Errorf("SIGTERM %s into start: the container is %s, want STOPPED", after, s.State)
			h.run("stop", "--timeout", "0", name)
		}
	}
}

// fileLen is the size of file p (0 when it does not exist).
func fileLen(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}
