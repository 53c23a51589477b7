// Package buildkit proves the standalone-buildkitd route with the real
// engines scripts/engines.sh builds (buildkitd, buildctl, buildx, runc;
// pinned in scripts/engines.versions): a buildkitd configured by
// `armhf-shim install buildkitd` runs 32-bit RUN steps as a 32-bit
// machine (i386 standing in for armhf on this x86_64 host) and 64-bit
// ones untouched, driven by buildctl and by `docker buildx` through the
// remote driver, with buildkitd started as deploy/systemd's unit starts it.
//
// Every test starts buildkitd, so it skips under -short and needs root.
package buildkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// tools are the binaries a test uses.
type tools struct {
	shim, wrapper       string // armhf-shim; armhf-runc as installed (its own name)
	buildkitd, buildctl string
	runc                string // the real runc the wrapper finds first on PATH
	path                string // buildkitd's PATH
}

func setup(t *testing.T) tools {
	t.Helper()
	testenv.SkipShort(t, "buildkitd builds")
	testenv.RequireRoot(t)
	var tl tools
	tl.buildkitd = testenv.Engine(t, "buildkitd")
	tl.buildctl = testenv.Engine(t, "buildctl")
	// runc v1.5.3: Debian 12's 1.1.5 ignores linux.personality, which the
	// wrapper covers by its own personality before the exec; the pinned
	// one applies both. The wrapper finds it as the first runc on PATH.
	tl.runc = testenv.Engine(t, "runc")
	tl.shim = testenv.BuildBinary(t, "./cmd/armhf-shim")
	bin := filepath.Join(t.TempDir(), "bin")
	os.MkdirAll(bin, 0o755)
	tl.wrapper = filepath.Join(bin, "armhf-runc")
	if err := os.Symlink(testenv.BuildBinary(t, "./cmd/armhf-runc"), tl.wrapper); err != nil {
		t.Fatal(err)
	}
	tl.path = filepath.Dir(tl.runc) + ":" + os.Getenv("PATH")
	out, _ := exec.Command(tl.runc, "--version").Output()
	t.Logf("real runc (first on buildkitd's PATH): %s", strings.SplitN(string(out), "\n", 2)[0])
	return tl
}

// userConfig is a buildkitd.toml as a user may have it: install must keep
// all of it.
const userConfig = `# buildkitd of the armhf CI farm
[log]
  level = "info"

[worker.oci]
  enabled = true
  gc = false # the test's root is thrown away

[worker.containerd]
  enabled = false
`

// installConfig writes userConfig to dir/buildkitd.toml and runs
// `armhf-shim install buildkitd` on it.
func (tl tools) installConfig(t *testing.T, dir string) string {
	t.Helper()
	cfg := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(cfg, []byte(userConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tl.shim, "install", "buildkitd", "--config", cfg, "--binary", tl.wrapper).CombinedOutput()
	if err != nil {
		t.Fatalf("armhf-shim install buildkitd: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(cfg)
	want := userConfig[:strings.Index(userConfig, "[worker.containerd]")-1] + "  binary = \"" + tl.wrapper + "\"\n\n[worker.containerd]\n  enabled = false\n"
	if string(b) != want {
		t.Fatalf("install buildkitd wrote\n%s\nwant\n%s", b, want)
	}
	return cfg
}

// buildkitd is a running buildkitd.
type buildkitd struct {
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// start runs argv (buildkitd and its arguments, possibly behind
// systemd-socket-activate) and waits until buildctl reaches addr's workers.
func (tl tools) start(t *testing.T, root, addr string, argv ...string) *buildkitd {
	t.Helper()
	b := &buildkitd{addr: addr, log: &bytes.Buffer{}}
	b.cmd = exec.Command(argv[0], argv[1:]...)
	b.cmd.Env = append(cleanEnv(), "PATH="+tl.path)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		testenv.UnmountBelow(root)
		if t.Failed() {
			t.Logf("buildkitd log:\n%s", tail(b.log.String(), 60))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command(tl.buildctl, "--addr", addr, "debug", "workers").CombinedOutput()
		if err == nil && strings.Contains(string(out), "linux/amd64") {
			t.Logf("buildkitd workers:\n%s", out)
			return b
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("buildkitd exited (%v):\n%s", err, tail(b.log.String(), 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd at %s: workers not ready (%v: %s); log:\n%s", addr, err, out, tail(b.log.String(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cleanEnv is the test's environment without armhf-shim's settings: the
// wrapper must find the real runc on its own.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ARMHF_SHIM") && !strings.HasPrefix(e, "PATH=") {
			env = append(env, e)
		}
	}
	return env
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// dockerfile probes the machine a RUN step sees: uname -m, its cpuinfo,
// and the platform containerd's own detection reports in it.
const dockerfile = `FROM scratch AS probe
ARG TARGETARCH
COPY rootfs-${TARGETARCH}/ /
COPY platformprobe-${TARGETARCH} /bin/platformprobe
RUN mkdir /out && uname -m > /out/uname && cat /proc/cpuinfo > /out/cpuinfo && /bin/platformprobe > /out/platform

FROM scratch
COPY --from=probe /out/ /
`

// buildContext makes the context: the Dockerfile, a busybox root
// filesystem and a static platformprobe for each architecture.
func buildContext(t *testing.T) string {
	t.Helper()
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644)
	for arch, deb := range map[string]string{"386": "i386", "amd64": "amd64"} {
		rootfs := testenv.BusyboxRootfs(t, deb)
		if out, err := exec.Command("cp", "-a", rootfs, filepath.Join(ctx, "rootfs-"+arch)).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, out)
		}
		probe := testenv.BuildBinary(t, "./test/vm/platformprobe", "GOARCH="+arch)
		b, err := os.ReadFile(probe)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ctx, "platformprobe-"+arch), b, 0o755)
	}
	return ctx
}

// checkPlatform checks what the RUN step of a build for arch saw, in dir.
func checkPlatform(t *testing.T, dir, arch string) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		return string(b)
	}
	uname, cpuinfo, platform := strings.TrimSpace(read("uname")), read("cpuinfo"), strings.TrimSpace(read("platform"))
	switch arch {
	case "386":
		if uname != "i686" {
			t.Errorf("linux/386 RUN: uname -m = %q, want i686", uname)
		}
		if !strings.Contains(cpuinfo, "CPU architecture: 7\n") {
			t.Errorf("linux/386 RUN: cpuinfo is not armhf-shim's armv7 one:\n%s", tail(cpuinfo, 12))
		}
		// containerd's detection in the step agrees with the machine it sees.
		if platform != "linux/386" {
			t.Errorf("linux/386 RUN: platforms.DefaultSpec() = %q, want linux/386", platform)
		}
	case "amd64":
		if uname != "x86_64" {
			t.Errorf("linux/amd64 RUN: uname -m = %q, want x86_64", uname)
		}
		host, _ := os.ReadFile("/proc/cpuinfo")
		if want := modelNames(string(host)); strings.Contains(cpuinfo, "CPU architecture") || modelNames(cpuinfo) != want || want == "" {
			t.Errorf("linux/amd64 RUN: cpuinfo is not the host's (model names %q, want %q)", modelNames(cpuinfo), want)
		}
		if platform != "linux/amd64" {
			t.Errorf("linux/amd64 RUN: platforms.DefaultSpec() = %q, want linux/amd64", platform)
		}
	}
}

// modelNames are the distinct "model name" lines of a cpuinfo.
func modelNames(cpuinfo string) string {
	seen := map[string]bool{}
	var out []string
	for _, l := range strings.Split(cpuinfo, "\n") {
		if strings.HasPrefix(l, "model name") && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A buildkitd configured by install buildkitd, driven by buildctl: the
// linux/386 build's RUN sees i686 and an armv7 cpuinfo and containerd's
// platform detection in it says linux/386; the linux/amd64 build's sees
// the host; a multi-platform build gets each right.
func TestBuildctl(t *testing.T) {
	tl := setup(t)
	dir := t.TempDir()
	cfg := tl.installConfig(t, dir)
	root := filepath.Join(dir, "root")
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	tl.start(t, root, addr, tl.buildkitd, "--config", cfg, "--root", root, "--addr", addr)
	tl.doctorSees(t, cfg)
	ctx := buildContext(t)
	for _, platforms := range []string{"linux/386", "linux/amd64", "linux/amd64,linux/386"} {
		t.Run(strings.NewReplacer("/", "_", ",", "+").Replace(platforms), func(t *testing.T) {
			out := t.TempDir()
			c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(c, tl.buildctl, "--addr", addr, "build", "--frontend", "dockerfile.v0",
				"--local", "context="+ctx, "--local", "dockerfile="+ctx, "--opt", "platform="+platforms,
				"--no-cache", "--output", "type=local,dest="+out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("buildctl build --opt platform=%s: %v\n%s", platforms, err, tail(string(b), 30))
			}
			checkOutputs(t, out, platforms)
		})
	}
}

// doctorSees checks that armhf-shim doctor finds the running buildkitd
// and its config, and judges the route installed and active.
func (tl tools) doctorSees(t *testing.T, cfg string) {
	t.Helper()
	out, err := exec.Command(tl.shim, "doctor", "--json", "--buildkitd-config", cfg).Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("armhf-shim doctor: %v", err)
	}
	var r struct {
		Routes []struct {
			Name              string
			Installed, Active bool
			Detail            string
		}
		Problems []string
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	for _, rt := range r.Routes {
		if rt.Name != "buildkitd" {
			continue
		}
		if !rt.Installed || !rt.Active || !strings.Contains(rt.Detail, cfg) || !strings.Contains(rt.Detail, tl.wrapper) {
			t.Errorf("doctor's buildkitd route: %+v", rt)
		}
		for _, p := range r.Problems {
			if strings.HasPrefix(p, "buildkitd:") {
				t.Errorf("doctor: %s", p)
			}
		}
		return
	}
	t.Errorf("doctor --json has no buildkitd route:\n%s", out)
}

// The containerd worker: install buildkitd gives its runc shim the
// wrapper as BinaryName; a linux/386 build's RUN sees a 32-bit machine and
// a linux/amd64 one the host. The wrapper here finds the runc on
// containerd's PATH, Debian's 1.1.5 (which ignores linux.personality: the
// personality the wrapper sets on itself before the exec is what counts).
func TestContainerdWorker(t *testing.T) {
	tl := setup(t)
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "buildkitd.toml")
	user := "[worker.oci]\n  enabled = false\n\n[worker.containerd]\n  enabled = true\n  address = \"" + ctd.Address + "\"\n  namespace = \"armhf-test\"\n"
	os.WriteFile(cfg, []byte(user), 0o644)
	if out, err := exec.Command(tl.shim, "install", "buildkitd", "--config", cfg, "--binary", tl.wrapper).CombinedOutput(); err != nil {
		t.Fatalf("armhf-shim install buildkitd: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(cfg)
	// New keys go last in the tables that hold them: the containerd
	// worker's runtime as dotted keys of [worker.containerd].
	want := strings.Replace(user, "  enabled = false\n", "  enabled = false\n  binary = \""+tl.wrapper+"\"\n", 1) +
		"  runtime.name = \"io.containerd.runc.v2\"\n  runtime.options.BinaryName = \"" + tl.wrapper + "\"\n"
	if string(b) != want {
		t.Fatalf("install buildkitd wrote\n%s\nwant\n%s", b, want)
	}
	if out, err := exec.Command("runc", "--version").Output(); err == nil {
		t.Logf("runc on containerd's PATH: %s", strings.SplitN(string(out), "\n", 2)[0])
	}
	root := filepath.Join(dir, "root")
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	tl.start(t, root, addr, tl.buildkitd, "--config", cfg, "--root", root, "--addr", addr)
	ctx := buildContext(t)
	for _, platforms := range []string{"linux/386", "linux/amd64"} {
		out := t.TempDir()
		cmd := exec.Command(tl.buildctl, "--addr", addr, "build", "--frontend", "dockerfile.v0",
			"--local", "context="+ctx, "--local", "dockerfile="+ctx, "--opt", "platform="+platforms,
			"--no-cache", "--output", "type=local,dest="+out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("buildctl build --opt platform=%s: %v\n%s\ncontainerd log:\n%s", platforms, err, tail(string(b), 30), ctd.LogTail(20))
		}
		checkOutputs(t, out, platforms)
	}
}

// checkOutputs checks a local output: the files themselves for one
// platform, a directory per platform (linux_386) for several.
func checkOutputs(t *testing.T, out, platforms string) {
	t.Helper()
	list := strings.Split(platforms, ",")
	for _, p := range list {
		arch := strings.TrimPrefix(p, "linux/")
		dir := out
		if len(list) > 1 {
			dir = filepath.Join(out, strings.ReplaceAll(p, "/", "_"))
		}
		checkPlatform(t, dir, arch)
	}
}

// unitExec is the ExecStart of a deploy/systemd unit, split into words.
func unitExec(t *testing.T, unit string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "systemd", unit))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatalf("%s has no ExecStart", unit)
	return nil
}

// unitValue is the value of key in a deploy/systemd unit.
func unitValue(t *testing.T, unit, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "systemd", unit))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	t.Fatalf("%s has no %s", unit, key)
	return ""
}

// The remote buildx driver: buildkitd started with the arguments of
// deploy/systemd/armhf-buildkitd.service on a socket passed as
// armhf-buildkitd.socket passes it (systemd-socket-activate), its files
// moved to the test's directory; docker buildx create --driver remote and
// docker buildx build --platform linux/386 --output type=local see a
// 32-bit machine (and linux/amd64 the host).
func TestBuildxRemote(t *testing.T) {
	tl := setup(t)
	buildx := testenv.Engine(t, "buildx")
	activate := testenv.RequireCommand(t, "systemd-socket-activate")
	dir := t.TempDir()
	cfg := tl.installConfig(t, dir)
	root := filepath.Join(dir, "root")
	sock := filepath.Join(dir, "buildkitd.sock")
	if got := unitValue(t, "armhf-buildkitd.socket", "ListenStream"); got != "/run/armhf-buildkit/buildkitd.sock" {
		t.Fatalf("armhf-buildkitd.socket listens on %s, which docs/buildkit.md's buildx line does not name", got)
	}
	argv := unitExec(t, "armhf-buildkitd.service")
	for i, a := range argv {
		switch a {
		case "/usr/local/bin/buildkitd":
			argv[i] = tl.buildkitd
		case "/etc/buildkit/buildkitd.toml":
			argv[i] = cfg
		case "/var/lib/armhf-buildkit":
			argv[i] = root
		}
	}
	if strings.Join(argv, " ") != tl.buildkitd+" --config "+cfg+" --root "+root+" --addr fd://" {
		t.Fatalf("armhf-buildkitd.service runs %q: update this test with it", argv)
	}
	// A subtest of its own: without systemd-analyze it is skipped where
	// all can see it (failed under ARMHF_SHIM_REQUIRE=1), not just logged.
	t.Run("systemd-analyze verify", func(t *testing.T) { verifyUnits(t, tl.buildkitd) })
	tl.start(t, root, "unix://"+sock, append([]string{activate, "--listen=" + sock}, argv...)...)

	home := t.TempDir()
	env := append(cleanEnv(), "PATH="+os.Getenv("PATH"), "DOCKER_CONFIG="+home, "BUILDX_CONFIG="+filepath.Join(home, "buildx"),
		"DOCKER_HOST=unix://"+filepath.Join(home, "no-dockerd.sock"))
	bx := func(args ...string) (string, error) {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(c, buildx, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// docs/buildkit.md's line, with the test's socket.
	if out, err := bx("create", "--name", "armhf", "--driver", "remote", "unix://"+sock); err != nil {
		t.Fatalf("buildx create --driver remote: %v\n%s", err, out)
	}
	if out, err := bx("inspect", "--bootstrap", "armhf"); err != nil || !strings.Contains(out, "linux/386") {
		t.Fatalf("buildx inspect --bootstrap armhf: %v\n%s", err, out)
	}
	ctx := buildContext(t)
	for _, platforms := range []string{"linux/386", "linux/amd64,linux/386"} {
		out := t.TempDir()
		if b, err := bx("build", "--builder", "armhf", "--platform", platforms, "--no-cache", "--output", "type=local,dest="+out, ctx); err != nil {
			t.Fatalf("buildx build --platform %s: %v\n%s", platforms, err, tail(b, 30))
		}
		checkOutputs(t, out, platforms)
	}
}

// verifyUnits runs systemd-analyze verify on deploy/systemd's buildkitd
// units, with ExecStart's buildkitd at the path this machine has.
func verifyUnits(t *testing.T, buildkitd string) {
	t.Helper()
	analyze := testenv.RequireCommand(t, "systemd-analyze")
	dir := t.TempDir()
	for _, u := range []string{"armhf-buildkitd.service", "armhf-buildkitd.socket"} {
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("/usr/local/bin/buildkitd"), []byte(buildkitd))
		os.WriteFile(filepath.Join(dir, u), b, 0o644)
	}
	cmd := exec.Command(analyze, "verify", filepath.Join(dir, "armhf-buildkitd.socket"), filepath.Join(dir, "armhf-buildkitd.service"))
	out, err := cmd.CombinedOutput()
	// verify also reports on the host's own units it loads for the
	// dependencies (network-online.target); only lines about ours count.
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "armhf-buildkitd") {
			ours = append(ours, l)
		}
	}
	if len(ours) > 0 || (err != nil && len(bytes.TrimSpace(out)) == 0) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	t.Logf("systemd-analyze verify: %v %s", err, fmt.Sprint(len(out), " bytes of output"))
}

// doctor judges a containerd worker left on auto (enabled unset) by what
// the running buildkitd reports: started while containerd answered, it has
// the worker (active); started without containerd, it has none (a
// problem); and with no buildctl to ask, doctor says unknown, not active.
func TestDoctorContainerdWorkerAuto(t *testing.T) {
	tl := setup(t)
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	withBuildctl := filepath.Dir(tl.buildctl) + ":" + os.Getenv("PATH")
	for _, tc := range []struct {
		name, ctdAddr string
		path          string // doctor's PATH
		detail        string
		problem       bool
	}{
		{"containerd answered", ctd.Address, withBuildctl, "the containerd worker's runc shim runs " + tl.wrapper + " (buildkitd reports the worker)", false},
		{"no containerd", "/nonexistent/containerd.sock", withBuildctl, "reports no containerd worker", true},
		{"no buildctl", "/nonexistent/containerd.sock", os.Getenv("PATH"),
			"containerd worker unknown (auto: depends on whether containerd answered when buildkitd started", false},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			if tc.path == os.Getenv("PATH") {
				if p, err := exec.LookPath("buildctl"); err == nil {
					t.Fatalf("buildctl is on the test's PATH (%s): the case needs a PATH without it", p)
				}
			}
			dir := t.TempDir()
			cfg := filepath.Join(dir, "buildkitd.toml")
			os.WriteFile(cfg, []byte("[worker.containerd]\n  address = \""+tc.ctdAddr+"\"\n  namespace = \"armhf-test\"\n"), 0o644)
			if out, err := exec.Command(tl.shim, "install", "buildkitd", "--config", cfg, "--binary", tl.wrapper).CombinedOutput(); err != nil {
				t.Fatalf("armhf-shim install buildkitd: %v\n%s", err, out)
			}
			root := filepath.Join(dir, "root")
			addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
			b := tl.start(t, root, addr, tl.buildkitd, "--config", cfg, "--root", root, "--addr", addr)
			pid := fmt.Sprintf("buildkitd pid %d", b.cmd.Process.Pid)
			cmd := exec.Command(tl.shim, "doctor", "--json", "--buildkitd-config", cfg)
			cmd.Env = append(cleanEnv(), "PATH="+tc.path)
			out, err := cmd.Output()
			if err != nil && len(out) == 0 {
				t.Fatalf("armhf-shim doctor: %v", err)
			}
			var r struct {
				Routes []struct {
					Name   string
					Detail string
				}
				Problems []string
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("doctor --json: %v\n%s", err, out)
			}
			var detail string
			for _, rt := range r.Routes {
				if rt.Name == "buildkitd" {
					detail = rt.Detail
				}
			}
			if !strings.Contains(detail, pid+": "+tc.detail) && !strings.Contains(detail, pid+" "+tc.detail) {
				t.Errorf("doctor's buildkitd route does not say %q of %s:\n%s", tc.detail, pid, detail)
			}
			var problems []string
			for _, p := range r.Problems {
				if strings.Contains(p, pid+" ") {
					problems = append(problems, p)
				}
			}
			if tc.problem != (len(problems) > 0) || tc.problem && !strings.Contains(problems[0], "has no containerd worker") {
				t.Errorf("doctor's problems about %s: %q", pid, problems)
			}
			t.Logf("doctor: %s\nproblems: %q", detail, problems)
		})
	}
}
