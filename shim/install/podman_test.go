package install

import (
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
	"golang.org/x/sys/unix"
)

// limit is a podman --ulimit of this process's own limit: podman's
// defaults for a rootful container (RLIMIT_NOFILE 1048576) can be above
// the hard limit of the machine's sandbox, which runc may not raise (and
// its own RLIMIT_NPROC was refused there too: the test asks for 4096).
func limit(name string, resource int) string {
	var l unix.Rlimit
	unix.Getrlimit(resource, &l)
	n := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "-1"
		}
		return fmt.Sprint(v)
	}
	return name + "=" + n(l.Cur) + ":" + n(l.Max)
}

// Issue 17.16: the hooks file goes where the engine reads: containers.conf's
// hooks_dir when set (one under /etc when it lists several), else the
// packaged directory that Debian 12's podman 4.3 and CRI-O read; a hooks
// file of ours in the old /etc place goes.
func TestHookFileWhereTheEngineReads(t *testing.T) {
	for _, c := range []struct {
		name  string
		confs map[string]string
		want  string
	}{
		{"no containers.conf", nil, PackagedHooksDir},
		{"containers.conf", map[string]string{"etc/containers/containers.conf": "[engine]\nhooks_dir = [\"/opt/hooks\"]\n"}, "/opt/hooks"},
		{"drop-in wins, /etc preferred", map[string]string{
			"usr/share/containers/containers.conf":       "[engine]\nhooks_dir = [\"/opt/hooks\"]\n",
			"etc/containers/containers.conf.d/10-x.conf": "[engine]\nhooks_dir = [\"/usr/share/containers/oci/hooks.d\", \"/etc/containers/oci/hooks.d\"]\n",
		}, "/etc/containers/oci/hooks.d"},
		{"other keys only", map[string]string{"etc/containers/containers.conf": "[engine]\nruntime = \"runc\"\n"}, PackagedHooksDir},
	} {
		root, bin := setup(t)
		for f, content := range c.confs {
			os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
			os.WriteFile(filepath.Join(root, f), []byte(content), 0o644)
		}
		if got := defaultHookFile(root); got != filepath.Join(root, c.want, "armhf-shim.json") {
			t.Errorf("%s: hook file %s, want it in %s", c.name, got, c.want)
		}
		legacy := filepath.Join(root, LegacyHookFile)
		os.MkdirAll(filepath.Dir(legacy), 0o755)
		os.WriteFile(legacy, PodmanHook("/old/armhf-shim"), 0o644)
		o := Options{Target: "podman", Binary: bin, Root: root}
		run(t, o)
		want := filepath.Join(root, c.want, "armhf-shim.json")
		if b, err := os.ReadFile(want); err != nil || !isOurHook(b) {
			t.Errorf("%s: %s: %v", c.name, want, err)
		}
		if _, err := os.Stat(legacy); want != legacy && err == nil {
			t.Errorf("%s: the old hooks file %s stays beside the new one", c.name, legacy)
		}
		o.Uninstall = true
		run(t, o)
		if _, err := os.Stat(want); err == nil {
			t.Errorf("%s: uninstall left %s", c.name, want)
		}
	}
}

// Issue 17.16 with Debian's podman (and runc): install podman, then a
// plain podman run of a 32-bit container sees the armv7 cpuinfo.
func TestPodmanRunsTheHook(t *testing.T) {
	testenv.SkipShort(t, "podman")
	testenv.RequireRoot(t)
	podman := testenv.RequireCommand(t, "podman")
	testenv.RequireCommand(t, "runc")
	bin := testenv.BuildBinary(t, "./cmd/armhf-shim")
	var out strings.Builder
	if err := Run(Options{Target: "podman", Binary: bin, Out: &out}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Run(Options{Target: "podman", Binary: bin, Uninstall: true, Out: &out}) })
	t.Logf("install podman:\n%s", out.String())

	store := t.TempDir()
	base := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"),
		"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}
	podmanRun := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(podman, append(append([]string(nil), base...), args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	podmanBusybox386(t, podman, store, base)
	got := podmanRun("run", "--rm", "--network", "none", "--ulimit", limit("nofile", unix.RLIMIT_NOFILE), "--ulimit", "nproc=4096:4096", "localhost/armhf-shim-bb386", "grep", "-m1", "CPU architecture", "/proc/cpuinfo")
	if strings.TrimSpace(got) != "CPU architecture: 7" {
		t.Errorf("podman run of an i386 container after install podman: cpuinfo says %q, want the armv7 one", got)
	}

	// The hook's program gone: podman skips the hook without a word and
	// runs the container with the host's cpuinfo (what doctor says).
	hookFile := defaultHookFile("/")
	installed, err := os.ReadFile(hookFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(hookFile, installed, 0o644) })
	if err := os.WriteFile(hookFile, PodmanHook(filepath.Join(t.TempDir(), "gone", "armhf-shim")), 0o644); err != nil {
		t.Fatal(err)
	}
	got = podmanRun("run", "--rm", "--network", "none", "--ulimit", limit("nofile", unix.RLIMIT_NOFILE), "--ulimit", "nproc=4096:4096", "localhost/armhf-shim-bb386", "sh", "-c", `grep -c "CPU architecture: 7" /proc/cpuinfo || true`)
	if strings.TrimSpace(got) != "0" {
		t.Errorf("podman run with the hook's program gone: %q armv7 lines, want the host's cpuinfo", got)
	}
}

// Issue 17.17 with Debian's podman and runc: install podman-runtime
// --set-as-default (the hook installed as well), then a plain podman run
// of a 32-bit container is i686 (the personality, which the hook cannot
// set) with the armv7 cpuinfo mounted once (the hook steps aside), with no
// per-run flag; podman gives the runtime an empty PATH.
func TestPodmanRunsTheRuntime(t *testing.T) {
	testenv.SkipShort(t, "podman")
	testenv.RequireRoot(t)
	podman := testenv.RequireCommand(t, "podman")
	testenv.RequireCommand(t, "runc")
	bin := testenv.BuildBinary(t, "./cmd/armhf-shim")
	var out strings.Builder
	for _, target := range []string{"podman", "podman-runtime"} {
		target := target
		if err := Run(Options{Target: target, Binary: bin, SetAsDefault: true, Out: &out}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Run(Options{Target: target, Binary: bin, Uninstall: true, Out: &out}) })
	}
	t.Logf("install:\n%s", out.String())

	store := t.TempDir()
	base := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"),
		"--cgroup-manager", "cgroupfs", "--events-backend", "file"}
	podmanRun := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(podman, append(append([]string(nil), base...), args...)...)
		// No PATH, as podman was seen to give its runtime: the wrapper
		// finds runc in the standard locations.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "PATH=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	podmanBusybox386(t, podman, store, base)
	if got := strings.TrimSpace(podmanRun("info", "--format", "{{.Host.OCIRuntime.Name}}")); got != DefaultRuntimeName {
		t.Errorf("podman's default runtime after install podman-runtime --set-as-default: %q", got)
	}
	got := podmanRun("run", "--rm", "--network", "none", "--ulimit", limit("nofile", unix.RLIMIT_NOFILE), "--ulimit", "nproc=4096:4096",
		"localhost/armhf-shim-bb386", "sh", "-c", `uname -m; grep -m1 "CPU architecture" /proc/cpuinfo; grep -c " /proc/cpuinfo " /proc/self/mountinfo`)
	if strings.TrimSpace(got) != "i686\nCPU architecture: 7\n1" {
		t.Errorf("podman run of an i386 container after install podman-runtime: printed %q, want i686 / CPU architecture: 7 / 1 mount", got)
	}
}

// Rootless podman (a user's own, uid 65534 here) with the hook and the
// runtime wrapper registered by install podman and podman-runtime: podman
// runs the runtime as root in the user's namespace, where runc keeps its
// state under the user's XDG_RUNTIME_DIR; podman exec of a 32-bit
// container finds the wrapper's mark there and is i686 like podman run (it
// said x86_64: the wrapper looked in /run/runc); and no container leaves
// its cpuinfo behind.
func TestRootlessPodmanExec(t *testing.T) {
	testenv.SkipShort(t, "podman")
	testenv.RequireRoot(t)
	podman := testenv.RequireCommand(t, "podman")
	testenv.RequireCommand(t, "runc")
	bin := testenv.BuildBinary(t, "./cmd/armhf-shim")
	var out strings.Builder
	for _, target := range []string{"podman", "podman-runtime"} {
		target := target
		if err := Run(Options{Target: target, Binary: bin, Out: &out}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Run(Options{Target: target, Binary: bin, Uninstall: true, Out: &out}) })
	}

	// The user must reach everything it is given: not below t.TempDir(),
	// whose top directory is private to root.
	dir, err := os.MkdirTemp("", "armhf-shim-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	const uid = 65534
	home, xdg := filepath.Join(dir, "home"), filepath.Join(dir, "xdg")
	for _, d := range []string{home, xdg} {
		os.Mkdir(d, 0o700)
		os.Chown(d, uid, uid)
	}
	tar := filepath.Join(dir, "bb386.tar")
	if b, err := exec.Command("tar", "-C", testenv.BusyboxRootfs(t, "i386"), "-cf", tar, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	os.Chmod(tar, 0o644)
	user := func(args ...string) (string, error) {
		cmd := exec.Command(podman, args...)
		cmd.Dir = dir
		cmd.Env = []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + xdg, "USER=nobody", "PATH=/usr/local/bin:/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("podman %s (as uid %d): %v\n%s", strings.Join(args, " "), uid, err, stderr.String())
		}
		return strings.TrimSpace(string(b)), nil
	}
	t.Cleanup(func() { user("system", "reset", "--force") })
	const image = "localhost/armhf-shim-bb386"
	if _, err := user("import", "--quiet", tar, image); err != nil {
		t.Fatal(err)
	}
	if got, err := user("run", "--rm", "--network", "none", "--runtime", DefaultRuntimeName, image, "uname", "-m"); err != nil || got != "i686" {
		t.Fatalf("rootless podman run --runtime armhf of an i386 container: %q %v", got, err)
	}
	id, err := user("run", "-d", "--network", "none", "--runtime", DefaultRuntimeName, image, "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { user("rm", "-f", "-t", "0", id) })
	if got, err := user("exec", id, "uname", "-m"); err != nil || got != "i686" {
		t.Errorf("rootless podman exec in an i386 container on the wrapper: %q %v, want i686", got, err)
	}
	if _, err := user("rm", "-f", "-t", "0", id); err != nil {
		t.Error(err)
	}

	// The hook alone (podman's default runtime, runc): the armv7 cpuinfo,
	// and its poststop cleanup — run by podman with an empty environment —
	// finds the files under the user's XDG_RUNTIME_DIR (they were left).
	if got, err := user("run", "--rm", "--network", "none", image, "grep", "-m1", "CPU architecture", "/proc/cpuinfo"); err != nil || got != "CPU architecture: 7" {
		t.Errorf("rootless podman run with the hook: %q %v", got, err)
	}
	if left, _ := filepath.Glob(filepath.Join(xdg, "armhf-shim", "containers", "*")); len(left) != 0 {
		t.Errorf("cpuinfo files left after the containers were removed: %q", left)
	}
}

// Debian's podman 4.3 with the registered runtime wrapper, killed while
// the runtime's create runs (the create then fails inside runc: a
// createRuntime hook exits 1): conmon outlives podman and sees the create
// fail, but nobody calls the runtime's delete — podman only does after a
// create it saw fail, and podman rm of the container it left "Created"
// never calls the runtime. The wrapper's state for the container
// (/run/armhf-shim/containers/<id>) was left for good.
func TestPodmanKilledDuringFailedCreateLeavesNoState(t *testing.T) {
	testenv.SkipShort(t, "podman")
	testenv.RequireRoot(t)
	podman := testenv.RequireCommand(t, "podman")
	testenv.RequireCommand(t, "runc")
	bin := testenv.BuildBinary(t, "./cmd/armhf-shim")
	var out strings.Builder
	if err := Run(Options{Target: "podman-runtime", Binary: bin, Out: &out}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Run(Options{Target: "podman-runtime", Binary: bin, Uninstall: true, Out: &out}) })

	// podman refuses a runroot longer than 50 characters: not under
	// t.TempDir(), named after this test.
	store, err := os.MkdirTemp("", "armhf-pk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(store) })
	base := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"),
		"--cgroup-manager", "cgroupfs", "--events-backend", "file"}
	podmanCmd := func(args ...string) *exec.Cmd {
		return exec.Command(podman, append(append([]string(nil), base...), args...)...)
	}
	podmanBusybox386(t, podman, store, base)

	// The gate: a createRuntime hook (run by runc, after the wrapper
	// prepared the container) that saves the OCI state, says it started,
	// waits to be let go and fails.
	gate := t.TempDir()
	hooks := filepath.Join(gate, "hooks.d")
	os.Mkdir(hooks, 0o755)
	script := filepath.Join(gate, "gate.sh")
	os.WriteFile(script, []byte("#!/bin/sh\n/bin/cat > "+gate+"/state.json\n/usr/bin/touch "+gate+"/started\n"+
		"while [ ! -e "+gate+"/go ]; do /bin/sleep 0.05; done\nexit 1\n"), 0o755)
	os.WriteFile(filepath.Join(hooks, "gate.json"), []byte(`{"version": "1.0.0", "hook": {"path": "`+script+`"}, "when": {"always": true}, "stages": ["createRuntime"]}`), 0o644)

	run := podmanCmd("--hooks-dir", hooks, "run", "--name", "killed", "--runtime", DefaultRuntimeName, "--network", "none",
		"--ulimit", limit("nofile", unix.RLIMIT_NOFILE), "--ulimit", "nproc=4096:4096", "localhost/armhf-shim-bb386", "true")
	var runOut strings.Builder
	run.Stdout, run.Stderr = &runOut, &runOut
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(gate, "started")); err == nil {
			break
		}
		if i == 600 {
			run.Process.Kill()
			run.Wait()
			t.Fatalf("the create never reached the hook:\n%s", runOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var st struct{ ID string }
	if b, err := os.ReadFile(filepath.Join(gate, "state.json")); err != nil || json.Unmarshal(b, &st) != nil || st.ID == "" {
		t.Fatalf("hook's OCI state: %v %q", err, b)
	}
	state := filepath.Join("/run/armhf-shim/containers", st.ID)
	if _, err := os.Stat(filepath.Join(state, "cpuinfo")); err != nil {
		t.Fatalf("the wrapper prepared no state for container %s during its create: %v", st.ID, err)
	}
	run.Process.Kill()
	run.Wait()
	os.WriteFile(filepath.Join(gate, "go"), nil, 0o644)
	// The create ends (conmon exits) without podman; then podman rm.
	runcState := filepath.Join("/run/runc", st.ID)
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(state); os.IsNotExist(err) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b, err := podmanCmd("rm", "-f", "killed").CombinedOutput(); err != nil {
		t.Errorf("podman rm: %v\n%s", err, b)
	}
	if _, err := os.Stat(runcState); err == nil {
		t.Errorf("runc still knows container %s", st.ID)
	}
	if _, err := os.Stat(state); err == nil {
		os.RemoveAll(state)
		t.Errorf("podman killed during a create that failed in runc: the wrapper's state %s was left behind", state)
	}
}

// podmanBusybox386 imports the i386 busybox rootfs as
// localhost/armhf-shim-bb386 into the private store of podman run with
// base (its store flags), and empties that store when the test ends.
func podmanBusybox386(t *testing.T, podman, store string, base []string) {
	t.Helper()
	t.Cleanup(func() {
		exec.Command(podman, append(append([]string(nil), base...), "system", "reset", "--force")...).Run()
		testenv.UnmountBelow(store)
	})
	tar := filepath.Join(t.TempDir(), "bb386.tar")
	if b, err := exec.Command("tar", "-C", testenv.BusyboxRootfs(t, "i386"), "-cf", tar, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	if b, err := exec.Command(podman, append(append([]string(nil), base...), "import", "--quiet", tar, "localhost/armhf-shim-bb386")...).CombinedOutput(); err != nil {
		t.Fatalf("podman import: %v\n%s", err, b)
	}
}
