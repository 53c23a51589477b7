package dind_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/dind"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// debianDaemon lists Debian's docker.io daemon binaries (and what they are
// called in a docker:dind image or the static tgz).
var debianDaemon = []string{"dockerd", "containerd", "containerd-shim-runc-v2", "runc", "docker-init", "docker-proxy"}

// daemonFiles requires Debian's daemon binaries and returns name -> path.
func daemonFiles(t *testing.T) map[string]string {
	t.Helper()
	testenv.SkipShort(t, "a 32-bit dockerd")
	testenv.RequireRoot(t)
	m := map[string]string{}
	for _, n := range debianDaemon {
		m[n] = testenv.RequireCommand(t, n)
	}
	return m
}

// staticTgz builds a tgz like Docker's static binaries (docker/dockerd, ...).
func staticTgz(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "docker-static.tgz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "docker/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, n := range debianDaemon {
		b, err := os.ReadFile(files[n])
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Name: "docker/" + n, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))})
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// dindRootfs builds a directory laid out like the docker:dind image: the
// binaries in usr/local/bin, plus the usual tree.
func dindRootfs(t *testing.T, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "dind-rootfs")
	for _, d := range []string{"usr/local/bin", "etc", "var/lib/docker", "proc", "dev"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for _, n := range debianDaemon {
		b, err := os.ReadFile(files[n])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "usr/local/bin", n), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("/usr/local/bin/dockerd", filepath.Join(root, "usr/local/bin/dockerd-entrypoint-link"))
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=alpine\n"), 0o644)
	return root
}

type cli struct {
	t    *testing.T
	shim string
	dir  string
	env  []string
}

type out struct {
	stdout, stderr string
	code           int
}

func (c *cli) run(args ...string) out {
	c.t.Helper()
	cmd := exec.Command(c.shim, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		c.t.Fatalf("armhf-shim %q: %v", args, err)
	}
	return out{o.String(), e.String(), cmd.ProcessState.ExitCode()}
}

func (c *cli) dind(sub string, args ...string) out {
	c.t.Helper()
	return c.run(append([]string{"dind", sub, "--dir", c.dir}, args...)...)
}

// newCLI returns a runner for a fresh state directory that is stopped and
// removed at the end of the test.
func newCLI(t *testing.T) *cli {
	t.Helper()
	shim := testenv.BuildBinary(t, "./cmd/armhf-shim")
	// Short: the socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "dind-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, shim: shim, dir: dir}
	t.Cleanup(func() {
		if r := c.dind("stop", "--timeout", "20s"); r.code != 0 {
			t.Errorf("cleanup stop: %+v", r)
		}
		testenv.UnmountBelow(dir)
		os.RemoveAll(dir)
	})
	return c
}

func (c *cli) docker(args ...string) out {
	c.t.Helper()
	cmd := exec.Command(testenv.DockerCLI, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(c.dir, "docker.sock"), "DOCKER_CONFIG="+filepath.Join(c.dir, "cli"))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		c.t.Fatal(err)
	}
	return out{o.String(), e.String(), cmd.ProcessState.ExitCode()}
}

// leftovers lists what of the daemon in dir still exists: processes whose
// command line points into it (dockerd, containerd, shims) and all their
// descendants (containers), mounts below it, pidfile, socket.
func leftovers(t *testing.T, dir string, pid int) []string {
	t.Helper()
	type proc struct {
		ppid int
		cmd  string
	}
	procs := map[int]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == os.Getpid() {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		i := bytes.LastIndexByte(st, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		procs[p] = proc{pp, strings.ReplaceAll(string(b), "\x00", " ")}
	}
	in := map[int]bool{}
	for p, pr := range procs {
		if p == pid || strings.Contains(pr.cmd, dir+"/") {
			in[p] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for p, pr := range procs {
			if !in[p] && in[pr.ppid] {
				in[p], changed = true, true
			}
		}
	}
	var left []string
	for p := range in {
		left = append(left, "process "+strconv.Itoa(p)+": "+procs[p].cmd)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, " "+dir+"/") {
			left = append(left, "mount: "+l)
		}
	}
	for _, f := range []string{"docker.pid", "docker.sock"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			left = append(left, "file "+f)
		}
	}
	return left
}

func statusJSON(t *testing.T, c *cli) (dind.Status, int) {
	t.Helper()
	r := c.dind("status", "--json")
	var s dind.Status
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status --json: %v: %+v", err, r)
	}
	return s, r.code
}

// TestDindLifecycle: Debian's dockerd, unpacked from a directory laid out
// like docker:dind, runs in the 32-bit world: Docker reports i686, its
// containers (through the armhf-shim runtime) see an armv7 machine, and
// status/env/stop behave and leave nothing behind.
func TestDindLifecycle(t *testing.T) {
	files := daemonFiles(t)
	c := newCLI(t)
	input := dindRootfs(t, files)
	// A daemon.json of the user's own: kept.
	os.WriteFile(filepath.Join(c.dir, "daemon.json"), []byte(`{"debug":true,"runtimes":{"mine":{"path":"/usr/sbin/runc"}}}`), 0o644)

	r := c.dind("start", "--input", input, "--", "--iptables=false", "--bridge=none", "--shutdown-timeout=3")
	if r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if !strings.Contains(r.stdout, "architecture: i686") || !strings.Contains(r.stdout, "personality: linux32") {
		t.Errorf("start output:\n%s", r.stdout)
	}
	st, code := statusJSON(t, c)
	if code != 0 || !st.Running || st.Pid == 0 || st.Architecture != "i686" || st.Runtime != "armhf" || st.Version == "" {
		t.Fatalf("status: %d %+v", code, st)
	}
	pid := st.Pid

	t.Run("env and docker info", func(t *testing.T) {
		r := c.dind("env")
		want := "export DOCKER_HOST=unix://" + filepath.Join(c.dir, "docker.sock") + "\n"
		if r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Fatalf("env: %+v", r)
		}
		info := c.docker("info")
		if info.code != 0 || !strings.Contains(info.stdout, "Architecture: i686") {
			t.Fatalf("docker info (exit %d):\n%s\n%s", info.code, info.stdout, info.stderr)
		}
		if !strings.Contains(info.stdout, "Default Runtime: armhf") || !strings.Contains(info.stdout, "mine") {
			t.Errorf("runtimes not configured:\n%s", info.stdout)
		}
	})
	t.Run("dockerd's own view", func(t *testing.T) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/personality")
		if strings.TrimSpace(string(b)) != "00000008" {
			t.Errorf("personality %q, want PER_LINUX32", b)
		}
		self, _ := os.Readlink("/proc/self/ns/mnt")
		its, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
		if self == its {
			t.Errorf("dockerd shares our mount namespace")
		}
		ci, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/root/proc/cpuinfo")
		if err != nil || !bytes.Contains(ci, []byte("CPU architecture: 7")) {
			t.Errorf("dockerd's /proc/cpuinfo is not armv7: %v\n%s", err, ci)
		}
		host, _ := os.ReadFile("/proc/cpuinfo")
		if bytes.Contains(host, []byte("CPU architecture: 7")) {
			t.Errorf("the host's /proc/cpuinfo changed")
		}
		exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		if exe != filepath.Join(c.dir, "rootfs/usr/local/bin/dockerd") {
			t.Errorf("dockerd runs from %s", exe)
		}
	})
	t.Run("containers see armv7", func(t *testing.T) {
		rootfs := testenv.BusyboxRootfs(t, "i386")
		tarCmd := exec.Command("tar", "-C", rootfs, "-c", ".")
		imp := exec.Command(testenv.DockerCLI, "import", "-", "busybox386")
		imp.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(c.dir, "docker.sock"))
		pipe, _ := tarCmd.StdoutPipe()
		imp.Stdin = pipe
		tarCmd.Start()
		if b, err := imp.CombinedOutput(); err != nil {
			t.Fatalf("import: %v %s", err, b)
		}
		tarCmd.Wait()
		r := c.docker("run", "--rm", "busybox386", "sh", "-c", "uname -m; cat /proc/cpuinfo")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "i686\n") || !strings.Contains(r.stdout, "CPU architecture: 7") {
			t.Fatalf("container (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		cpus := strings.Count(r.stdout, "CPU architecture: 7")
		r = c.docker("run", "--rm", "busybox386", "sh", "-c", "exit 7")
		if r.code != 7 {
			t.Errorf("exit %d, want 7: %s", r.code, r.stderr)
		}
		// Builds: the classic builder runs RUN steps through the default
		// runtime, BuildKit through "runc" on dockerd's PATH; both are the
		// wrapper.
		ctx := t.TempDir()
		os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM busybox386\nRUN uname -m; grep -c 'CPU architecture: 7' /proc/cpuinfo\n"), 0o644)
		want := "i686\n" + strconv.Itoa(cpus) + "\n"
		for _, builder := range []string{"0", "1"} {
			cmd := exec.Command(testenv.DockerCLI, "build", "--no-cache", "--network=none", "--progress=plain", ctx)
			if builder == "0" {
				cmd = exec.Command(testenv.DockerCLI, "build", "--no-cache", "--network=none", ctx)
			}
			cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(c.dir, "docker.sock"), "DOCKER_BUILDKIT="+builder)
			b, err := cmd.CombinedOutput()
			// BuildKit prefixes each output line ("#5 0.052 i686").
			plain := regexp.MustCompile(`(?m)^#\d+ \d+\.\d+ `).ReplaceAllString(string(b), "")
			if err != nil || !strings.Contains(plain, want) {
				t.Errorf("DOCKER_BUILDKIT=%s build: %v, want %q in:\n%s", builder, err, want, b)
			}
		}
		// A container left running: stop must take care of it.
		if r := c.docker("run", "-d", "--name", "sleeper", "busybox386", "sleep", "600"); r.code != 0 {
			t.Fatalf("run -d: %+v", r)
		}
		found := false
		for _, l := range leftovers(t, c.dir, 0) {
			found = found || strings.Contains(l, "sleep 600")
		}
		if !found {
			t.Errorf("the leftover check does not see the running container")
		}
	})
	t.Run("start twice", func(t *testing.T) {
		r := c.dind("start")
		if r.code != 0 || !strings.Contains(r.stderr, "already running (pid "+strconv.Itoa(pid)) {
			t.Errorf("second start: %+v", r)
		}
		r = c.dind("start", "--input", "/nonexistent/other.tgz")
		if r.code != 1 || !strings.Contains(r.stderr, "stop --dir "+c.dir+"` first to switch") {
			t.Errorf("start with another input: %+v", r)
		}
		if s, _ := statusJSON(t, c); s.Pid != pid {
			t.Errorf("daemon changed: %+v", s)
		}
	})

	r = c.dind("stop")
	if r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	if left := leftovers(t, c.dir, pid); len(left) > 0 {
		t.Fatalf("left after stop:\n%s", strings.Join(left, "\n"))
	}
	r = c.dind("stop")
	if r.code != 0 || !strings.Contains(r.stderr, "is not running") {
		t.Errorf("stop when stopped: %+v", r)
	}
	if s, code := statusJSON(t, c); code != 3 || s.Running {
		t.Errorf("status when stopped: %d %+v", code, s)
	}
	if r := c.dind("status"); r.code != 3 || !strings.Contains(r.stdout, "running: no") {
		t.Errorf("status: %+v", r)
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, "daemon.json"))
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil || cfg["debug"] != true || cfg["default-runtime"] != "armhf" {
		t.Errorf("daemon.json: %v %s", err, b)
	}

	// Restart without --input: the unpacked daemon is reused, images kept.
	r = c.dind("start", "--", "--iptables=false", "--bridge=none", "--shutdown-timeout=3")
	if r.code != 0 || strings.Contains(r.stderr, "unpacking") {
		t.Fatalf("restart: %+v", r)
	}
	if r := c.docker("image", "inspect", "busybox386"); r.code != 0 {
		t.Errorf("image lost across restart: %s", r.stderr)
	}
}

// TestDindStaticTgzAndCrash: the static binaries tgz layout; a daemon that
// was SIGKILLed (containerd orphaned, stale pidfile) is reported and
// cleaned up; a pidfile naming another live process is never acted on.
func TestDindStaticTgzAndCrash(t *testing.T) {
	files := daemonFiles(t)
	c := newCLI(t)
	r := c.dind("start", "--input", staticTgz(t, files), "--runtime=false", "--", "--iptables=false", "--bridge=none")
	if r.code != 0 || !strings.Contains(r.stdout, "architecture: i686") || !strings.Contains(r.stdout, "default runtime: runc") {
		t.Fatalf("start: %+v", r)
	}
	st, _ := statusJSON(t, c)
	if exe, _ := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/exe"); exe != filepath.Join(c.dir, "rootfs/docker/dockerd") {
		t.Errorf("dockerd runs from %s", exe)
	}

	// Crash: SIGKILL dockerd; its containerd lives on, the pidfile stays.
	syscall.Kill(st.Pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/stat"); err != nil || bytes.Contains(b, []byte(") Z ")) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, code := statusJSON(t, c)
	if code != 3 || s.Running || s.StalePid != st.Pid {
		t.Errorf("status after crash: %d %+v", code, s)
	}
	r = c.dind("stop")
	if r.code != 0 || !strings.Contains(r.stderr, "stale pidfile") {
		t.Errorf("stop after crash: %+v", r)
	}
	if left := leftovers(t, c.dir, st.Pid); len(left) > 0 {
		t.Fatalf("left after stop:\n%s", strings.Join(left, "\n"))
	}

	// A pidfile naming a live process that is not the daemon (PID reuse):
	// stale, and that process is left alone.
	sleeper := exec.Command("sleep", "60")
	sleeper.Start()
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	os.WriteFile(filepath.Join(c.dir, "docker.pid"), []byte(strconv.Itoa(sleeper.Process.Pid)+"\n"), 0o644)
	if s, code := statusJSON(t, c); code != 3 || s.StalePid != sleeper.Process.Pid {
		t.Errorf("status with a foreign pid: %d %+v", code, s)
	}
	r = c.dind("start", "--", "--iptables=false", "--bridge=none")
	if r.code != 0 || !strings.Contains(r.stderr, "removing stale pidfile") {
		t.Fatalf("start over a stale pidfile: %+v", r)
	}
	if err := sleeper.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the unrelated process was killed")
	}
	if r := c.dind("stop"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
}

// TestDindBadInputs: missing, corrupt or unusable inputs and daemons that
// fail to come up give clear errors and change nothing.
func TestDindBadInputs(t *testing.T) {
	testenv.SkipShort(t, "daemons (fake and real)")
	testenv.RequireRoot(t)
	fake := testenv.BuildBinary(t, "./dind/internal/fakedocker")
	c := newCLI(t)
	work := t.TempDir()
	junk := filepath.Join(work, "junk.tar")
	os.WriteFile(junk, bytes.Repeat([]byte("not a tarball "), 100), 0o644)
	noDockerd := filepath.Join(work, "nodockerd")
	os.MkdirAll(filepath.Join(noDockerd, "bin"), 0o755)
	os.WriteFile(filepath.Join(noDockerd, "bin/sh"), []byte("x"), 0o755)

	// Debian's dockerd as it is, but needing armhf's loader, which this
	// host lacks: a dynamic dockerd from the wrong distribution package.
	loader := "/lib/ld-linux-armhf.so.3"
	if _, err := os.Stat(loader); err == nil {
		loader = "/no/such/ld-linux-armhf.so.3"
	}
	noLoader := filepath.Join(work, "noloader")
	os.MkdirAll(noLoader, 0o755)
	b, err := os.ReadFile(testenv.RequireCommand(t, "dockerd"))
	if err != nil {
		t.Fatal(err)
	}
	b = withInterp(t, b, loader)
	os.WriteFile(filepath.Join(noLoader, "dockerd"), b, 0o755)

	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		state bool // the state dir gets an unpacked rootfs
	}{
		{"loader missing", []string{"--input", noLoader}, "dockerd needs the loader " + loader + ", which is not on this host: /dockerd is dynamically linked", false},
		{"missing input", []string{"--input", filepath.Join(work, "nope.tgz")}, "no such file", false},
		{"corrupt input", []string{"--input", junk}, "reading tar", false},
		{"no dockerd", []string{"--input", noDockerd}, "no dockerd found", false},
		{"nothing unpacked", nil, "give --input", false},
		{"reserved dockerd flag", []string{"--input", noDockerd, "--", "--data-root", "/x"}, "sets --data-root itself", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.dind("start", tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("start %q: %+v", tc.args, r)
			}
			if _, err := os.Stat(filepath.Join(c.dir, "rootfs")); err == nil {
				t.Errorf("rootfs created")
			}
			if left, _ := filepath.Glob(filepath.Join(c.dir, "rootfs.new*")); len(left) > 0 {
				t.Errorf("left %q", left)
			}
		})
	}

	// Daemons that do not come up: the error quotes the log, nothing runs.
	daemonDir := func() string {
		d := filepath.Join(t.TempDir(), "in")
		os.MkdirAll(d, 0o755)
		b, _ := os.ReadFile(fake)
		os.WriteFile(filepath.Join(d, "dockerd"), b, 0o755)
		return d
	}
	t.Run("dockerd exits", func(t *testing.T) {
		c.env = []string{"FAKEDOCKER_EXIT=3"}
		defer func() { c.env = nil }()
		r := c.dind("start", "--input", daemonDir())
		if r.code != 1 || !strings.Contains(r.stderr, "dockerd exited during start (exit status 3)") || !strings.Contains(r.stderr, "--- armhf-shim dind start") {
			t.Fatalf("%+v", r)
		}
		if left := leftovers(t, c.dir, 0); len(left) > 0 {
			t.Fatalf("left:\n%s", strings.Join(left, "\n"))
		}
	})
	t.Run("dockerd ignores SIGTERM", func(t *testing.T) {
		c.env = []string{"FAKEDOCKER_SERVE=1", "FAKEDOCKER_IGNORE_TERM=1"}
		defer func() { c.env = nil }()
		r := c.dind("start", "--input", daemonDir(), "--runtime=false")
		if r.code != 0 {
			t.Fatalf("start: %+v", r)
		}
		st, code := statusJSON(t, c)
		if code != 0 || !st.Running || st.Personality != "linux32" {
			t.Fatalf("status: %d %+v", code, st)
		}
		r = c.dind("stop", "--timeout", "1s")
		if r.code != 0 || !strings.Contains(r.stderr, "still running 1s after SIGTERM; killing it") {
			t.Fatalf("stop: %+v", r)
		}
		if left := leftovers(t, c.dir, st.Pid); len(left) > 0 {
			t.Fatalf("left:\n%s", strings.Join(left, "\n"))
		}
	})
	// A 32-bit dockerd (a static i386 stand-in here) gets the SIGSYS note.
	t.Run("32-bit dockerd", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "in386")
		os.MkdirAll(d, 0o755)
		b, _ := os.ReadFile(testenv.BuildBinary(t, "./dind/internal/fakedocker", "GOARCH=386"))
		os.WriteFile(filepath.Join(d, "dockerd"), b, 0o755)
		c.env = []string{"FAKEDOCKER_SERVE=1"}
		defer func() { c.env = nil }()
		r := c.dind("start", "--input", d, "--runtime=false")
		if r.code != 0 || !strings.Contains(r.stderr, "this dockerd is 32-bit (EM_386)") || !strings.Contains(r.stderr, "dies at its first system call with SIGSYS") {
			t.Fatalf("start: %+v", r)
		}
		if r := c.dind("stop"); r.code != 0 {
			t.Fatalf("stop: %+v", r)
		}
	})
	t.Run("dockerd never answers", func(t *testing.T) {
		c.env = []string{"FAKEDOCKER_SLEEP=300"}
		defer func() { c.env = nil }()
		r := c.dind("start", "--input", daemonDir(), "--timeout", "2s")
		if r.code != 1 || !strings.Contains(r.stderr, "did not answer on unix://"+c.dir+"/docker.sock within 2s") {
			t.Fatalf("%+v", r)
		}
		if left := leftovers(t, c.dir, 0); len(left) > 0 {
			t.Fatalf("left:\n%s", strings.Join(left, "\n"))
		}
	})
}

// TestSystemdUnitCommands runs the ExecStart/ExecStop lines of the shipped
// unit (with its Environment) against a scratch directory: the flags and
// variables it uses must be the ones armhf-shim understands.
func TestSystemdUnitCommands(t *testing.T) {
	shim := testenv.BuildBinary(t, "./cmd/armhf-shim")
	unit, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy/systemd/armhf-shim-dind.service"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "dind-unit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	input := filepath.Join(dir, "missing-input.tar")
	var env []string
	cmds := map[string][]string{}
	for _, l := range strings.Split(string(unit), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		switch k {
		case "Environment":
			name, _, _ := strings.Cut(v, "=")
			switch name {
			case "ARMHF_SHIM_DIND_DIR":
				env = append(env, name+"="+dir)
			case "ARMHF_SHIM_DIND_INPUT":
				env = append(env, name+"="+input)
			default:
				t.Errorf("unexpected Environment %s", v)
			}
		case "ExecStart", "ExecStop":
			f := strings.Fields(v)
			if f[0] != "/usr/local/bin/armhf-shim" {
				t.Errorf("%s runs %s", k, f[0])
			}
			cmds[k] = f[1:]
		case "PIDFile":
			if v != filepath.Join(dind.DefaultDir, "docker.pid") {
				t.Errorf("PIDFile %s is not the default dir's pidfile", v)
			}
		}
	}
	if len(env) != 2 || len(cmds) != 2 {
		t.Fatalf("unit: env %q exec %q", env, cmds)
	}
	run := func(args []string) (string, int) {
		cmd := exec.Command(shim, args...)
		cmd.Env = append(os.Environ(), env...)
		b, _ := cmd.CombinedOutput()
		return string(b), cmd.ProcessState.ExitCode()
	}
	// Start reaches the input (from the unit's Environment) and the dir.
	if out, code := run(cmds["ExecStart"]); code != 1 || !strings.Contains(out, input) || !strings.Contains(out, "no such file") {
		t.Errorf("ExecStart: exit %d: %s", code, out)
	}
	if out, code := run(cmds["ExecStop"]); code != 0 || !strings.Contains(out, "dind in "+dir+" is not running") {
		t.Errorf("ExecStop: exit %d: %s", code, out)
	}
}

// withInterp returns the ELF binary b with its loader (PT_INTERP) renamed
// to interp, which must not be longer than the one it has.
func withInterp(t *testing.T, b []byte, interp string) []byte {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			if uint64(len(interp)) >= p.Filesz {
				t.Fatalf("loader name %q longer than the binary's", interp)
			}
			out := bytes.Clone(b)
			field := out[p.Off : p.Off+p.Filesz]
			clear(field)
			copy(field, interp)
			return out
		}
	}
	t.Fatal("not a dynamic binary")
	return nil
}

// TestDindFromImage (issue 17, item 19): `dind start --from-image` takes an
// image the host's Docker has — here an i386 root filesystem with Debian's
// daemon laid out as docker.io installs it (/usr/sbin/dockerd,
// /usr/bin/containerd, ...) — with docker save; the daemon runs with the
// image's own containerd (not reported missing); the same image is not
// saved twice; a missing image is named with the pull to run.
func TestDindFromImage(t *testing.T) {
	files := daemonFiles(t)
	host := testenv.StartDockerd(t, testenv.DockerdOptions{})
	root := testenv.BusyboxRootfs(t, "i386")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	host.Import(t, root, "dind-test:i386")

	c := newCLI(t)
	// The host's docker CLI first on PATH, pointed at the host daemon.
	bin := t.TempDir()
	os.Symlink(testenv.DockerCLI, filepath.Join(bin, "docker"))
	c.env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "DOCKER_HOST=" + host.Host}

	r := c.dind("start", "--from-image", "dind-test:i386")
	if r.code != 0 || !strings.Contains(r.stderr, "docker save dind-test:i386 (linux/amd64)") {
		t.Fatalf("start --from-image: %+v", r)
	}
	if strings.Contains(r.stderr, "the input has no") {
		t.Errorf("companions reported missing: %s", r.stderr)
	}
	if !strings.Contains(r.stderr, "image dind-test:i386 is linux/amd64, not a 32-bit platform") {
		t.Errorf("no note on the image's platform: %s", r.stderr)
	}
	if exe := containerdExe(t, c.dir); exe != filepath.Join(c.dir, "rootfs/usr/bin/containerd") {
		t.Errorf("containerd runs from %q, want the image's", exe)
	}
	if m, _ := filepath.Glob(filepath.Join(c.dir, ".from-image-*")); len(m) > 0 {
		t.Errorf("the saved archive is left: %q", m)
	}
	if r := c.dind("stop"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	// The same image again: not saved and unpacked again.
	r = c.dind("start", "--from-image", "dind-test:i386")
	if r.code != 0 || strings.Contains(r.stderr, "docker save") {
		t.Errorf("second start: %+v", r)
	}
	if r := c.dind("stop"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	r = c.dind("start", "--from-image", "nope:1")
	if r.code != 1 || !strings.Contains(r.stderr, "image nope:1 is not in the host's Docker; pull it first, for armhf: docker pull --platform linux/arm/v7 nope:1") {
		t.Errorf("missing image: %+v", r)
	}
	if r := c.dind("start", "--from-image", "dind-test:i386", "--input", "/x.tar"); r.code != 2 || !strings.Contains(r.stderr, "not both") {
		t.Errorf("--from-image with --input: %+v", r)
	}
}

// containerdExe is the executable of the containerd that the daemon in
// dir runs ("" when none).
func containerdExe(t *testing.T, dir string) string {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) == "containerd" && strings.Contains(string(b), dir+"/") {
			exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
			return exe
		}
	}
	return ""
}
