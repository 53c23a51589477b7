package vm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/test/internal/testbed"
	"golang.org/x/sys/unix"
)

// Environment knobs (all optional):
//
//	ARMHF_SHIM_VM_CPUS      comma-separated QEMU CPU models (default: all of cpuModels)
//	ARMHF_SHIM_VM_PARALLEL  VMs booted at once (default 2)
//	ARMHF_SHIM_VM_TIMEOUT   seconds one boot may take, all cases included (default 600)
//	ARMHF_SHIM_VM_CACHE     asset cache (default <repo>/.cache/vm)
//
// Serial logs and every case's output stay in <cache>/logs/<model>/.

// artifact is a binary cross-built on the host and put into the VM.
type artifact struct {
	name   string   // for messages
	vmPath string   // where the VM finds it
	pkg    string   // relative to the repository root
	test   bool     // go test -c instead of go build
	engine string   // instead: this binary of scripts/engines.sh (pkg unused)
	env    []string // GOARCH etc.
	// filled by build
	hostPath string
	err      error
}

func artifacts() []*artifact {
	arm64 := []string{"GOARCH=arm64"}
	armv7 := []string{"GOARCH=arm", "GOARM=7"}
	return []*artifact{
		{name: "armhf-shim (arm64)", vmPath: "/usr/local/bin/armhf-shim", pkg: "./cmd/armhf-shim", env: arm64},
		{name: "platformprobe (arm v7)", vmPath: "/usr/local/bin/platformprobe", pkg: "./test/vm/platformprobe", env: armv7},
		{name: "uname tests (arm64)", vmPath: "/src/uname/uname.test", pkg: "./uname", test: true, env: arm64},
		{name: "uname tests (arm v7)", vmPath: "/src/uname/uname.arm.test", pkg: "./uname", test: true, env: armv7},
		{name: "cpuinfo tests (arm64)", vmPath: "/src/cpuinfo/cpuinfo.test", pkg: "./cpuinfo", test: true, env: arm64},
		{name: "crictl (arm64)", vmPath: "/usr/local/bin/crictl", engine: "crictl", env: arm64},
		{name: "buildkitd (arm64)", vmPath: "/usr/local/bin/buildkitd", engine: "buildkitd", env: arm64},
		{name: "buildctl (arm64)", vmPath: "/usr/local/bin/buildctl", engine: "buildctl", env: arm64},
	}
}

func TestARM64VM(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the arm64 VM suite boots Debian's arm64 kernel under QEMU several times")
	}
	for _, c := range []string{"qemu-system-aarch64", "cpio", "gzip", "timeout", "dpkg-deb", "flock"} {
		testenv.RequireCommand(t, c)
	}
	root := testenv.RepoRoot()
	models := selectedModels(t)
	cache := os.Getenv("ARMHF_SHIM_VM_CACHE")
	if cache == "" {
		cache = testenv.CacheDir(t, "vm")
	}

	// Assets (first run: downloads ~60 MB) and builds, side by side.
	var assets map[string]string
	var assetsErr error
	var assetsOut []byte
	assetsCode := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		cmd := exec.Command("bash", filepath.Join(root, "scripts/vm/assets.sh"), cache)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		assetsOut, assetsErr = cmd.Output()
		if ee, ok := assetsErr.(*exec.ExitError); ok {
			assetsCode = ee.ExitCode()
		}
		assets = testbed.KeyValues(string(assetsOut))
		assetsOut = append(assetsOut, stderr.Bytes()...)
		t.Logf("assets ready in %v", time.Since(start).Round(time.Millisecond))
		if assetsErr != nil {
			return
		}
		// The daemons' disk needs the kernel package's modules.
		start = time.Now()
		stderr.Reset()
		cmd = exec.Command("bash", filepath.Join(root, "scripts/vm/disk.sh"), cache, assets["KERNEL_PACKAGE"])
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		for k, v := range testbed.KeyValues(string(out)) {
			assets[k] = v
		}
		assetsOut = append(append(assetsOut, out...), stderr.Bytes()...)
		if ee, ok := err.(*exec.ExitError); ok {
			assetsCode = ee.ExitCode()
		}
		if err != nil {
			assetsErr = fmt.Errorf("scripts/vm/disk.sh: %w", err)
		}
		t.Logf("disk ready in %v", time.Since(start).Round(time.Millisecond))
	}()
	// Reading every input here ties go test's result cache to them: the
	// binaries and scripts reach the VM through child processes, which the
	// cache does not see.
	digest, err := inputsDigest(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inputs digest %s", digest)
	arts := artifacts()
	bin := t.TempDir()
	start := time.Now()
	for _, a := range arts {
		a.hostPath, a.err = build(root, bin, a)
	}
	t.Logf("cross-built %d binaries in %v", len(arts), time.Since(start).Round(time.Millisecond))
	wg.Wait()
	if assetsCode == 3 {
		testenv.Require(t, false, "VM assets: %s", strings.TrimSpace(string(assetsOut)))
	}
	if assetsErr != nil {
		t.Fatalf("scripts/vm/assets.sh: %v\n%s", assetsErr, assetsOut)
	}
	for _, k := range []string{"KERNEL", "BASE_INITRD", "DISK", "MODULES"} {
		if _, err := os.Stat(assets[k]); err != nil {
			t.Fatalf("scripts/vm/assets.sh gave %s=%q: %v\n%s", k, assets[k], err, assetsOut)
		}
	}
	t.Logf("kernel %s, payload packages: %q", assets["KERNEL_PACKAGE"], assets["PAYLOAD"])

	for _, a := range arts {
		t.Run("build/"+a.name, func(t *testing.T) {
			if a.err != nil {
				t.Errorf("%v\n(cases that need %s report NOT BUILT)", a.err, a.vmPath)
			}
		})
	}

	logs := filepath.Join(cache, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	// One run at a time owns the logs (and the kept initrd).
	lock, err := os.OpenFile(filepath.Join(logs, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	// Kept for reruns by hand: scripts/vm/boot.sh CPU KERNEL INITRD [VM_SHELL=1].
	initrd := filepath.Join(logs, "initrd.gz")
	caseNames := stageInitrd(t, root, arts, []string{assets["BASE_INITRD"], assets["MODULES"]}, initrd)
	t.Logf("initrd %s", initrd)
	for name := range checks {
		if !contains(caseNames, name) {
			t.Errorf("a check is registered for case %q, but test/vm/cases/%s.sh does not exist", name, name)
		}
	}

	parallel := envInt(t, "ARMHF_SHIM_VM_PARALLEL", 2)
	timeout := envInt(t, "ARMHF_SHIM_VM_TIMEOUT", 600)
	sem := make(chan struct{}, parallel)
	t.Run("vm", func(t *testing.T) {
		for _, m := range models {
			t.Run(m.Name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				dir := filepath.Join(logs, m.Name)
				os.RemoveAll(dir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				rep := boot(t, root, m, assets["KERNEL"], initrd, assets["DISK"], dir, timeout)
				for _, name := range caseNames {
					t.Run(name, func(t *testing.T) {
						r := rep.Case(name)
						if r == nil {
							t.Fatalf("case %s never ran (the VM stopped before it; see the serial log)", name)
						}
						os.WriteFile(filepath.Join(dir, name+".stdout"), []byte(r.Stdout), 0o644)
						os.WriteFile(filepath.Join(dir, name+".stderr"), []byte(r.Stderr), 0o644)
						if !r.Ended {
							t.Fatalf("case %s did not finish (VM died or hung); output so far:\n%s", name, r.Output())
						}
						if r.TimedOut() {
							t.Fatalf("case %s timed out after %ds (raise it with a \"# vm-timeout: SECS\" line); output so far:\n%s", name, r.Timeout, r.Output())
						}
						if check, ok := checks[name]; ok {
							check(t, m, r)
							return
						}
						switch r.RC {
						case 0:
						case 77:
							t.Skipf("case %s skipped itself on %s:\n%s", name, m.Name, r.Output())
						default:
							t.Errorf("case %s exited %d:\n%s", name, r.RC, r.Output())
						}
					})
				}
			})
		}
	})
}

// boot runs the VM once for model m, writes the serial log to dir, and
// returns the parsed report. On failure the log is attached to the test.
func boot(t *testing.T, root string, m cpuModel, kernel, initrd, disk, dir string, timeout int) *Report {
	t.Helper()
	logPath := filepath.Join(dir, "serial.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("serial log %s:\n%s", logPath, b)
		}
	})

	// Leave the test binary time to report if its own deadline comes first.
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-15*time.Second))
		defer cancel()
	}
	native := "0"
	if m.AArch32 {
		native = "1"
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts/vm/boot.sh"),
		m.Name, kernel, initrd, "ARMHF_SHIM_EXPECT_NATIVE="+native)
	cmd.Env = append(os.Environ(), fmt.Sprintf("ARMHF_SHIM_VM_TIMEOUT=%d", timeout), fmt.Sprintf("ARMHF_SHIM_VM_SMP=%d", vmCPUs),
		"ARMHF_SHIM_VM_DISK="+disk)
	// boot.sh execs timeout(1), which leads its own process group with
	// QEMU in it: on cancel, kill the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	watch := newMarkerWatch()
	cmd.Stdout = io.MultiWriter(logf, watch)
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting scripts/vm/boot.sh: %v", err)
	}
	waitErr := cmd.Wait()
	total := time.Since(start)
	watch.Close()
	bootAt, doneAt := watch.times()
	t.Logf("%s: kernel boot to /init %v, cases %v, total %v (log %s)", m.Name,
		round(bootAt.Sub(start)), round(doneAt.Sub(bootAt)), round(total), logPath)

	text, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ParseSerial(string(text))
	if err != nil {
		t.Fatalf("%v", err)
	}
	if !rep.Started {
		t.Fatalf("%s: /init never started (boot.sh: %v); kernel output in the log", m.Name, waitErr)
	}
	if got := rep.StartFields["nproc"]; got != strconv.Itoa(vmCPUs) {
		t.Errorf("VM reports nproc=%s, want %d", got, vmCPUs)
	}
	if !rep.Done {
		t.Errorf("%s: the VM did not finish its cases within %ds (boot.sh: %v)", m.Name, timeout, waitErr)
	}
	for _, c := range rep.Cases {
		switch {
		case !c.Ended:
			t.Logf("  case %-22s unfinished", c.Name)
		case c.TimedOut():
			t.Logf("  case %-22s TIMED OUT after %ds", c.Name, c.Timeout)
		default:
			t.Logf("  case %-22s rc=%-3d %6.2fs", c.Name, c.RC, c.Secs)
		}
	}
	return rep
}

// build cross-builds a into dir and returns the binary's path.
func build(root, dir string, a *artifact) (string, error) {
	if a.engine != "" {
		cmd := exec.Command("bash", filepath.Join(root, "scripts/engines.sh"), a.engine)
		cmd.Env = append(os.Environ(), a.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("%s: scripts/engines.sh %s (%s): %v\n%s", a.name, a.engine, strings.Join(a.env, " "), err, stderr.Bytes())
		}
		for _, p := range strings.Fields(string(out)) {
			if filepath.Base(p) == a.engine {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s: scripts/engines.sh %s printed no %s: %q", a.name, a.engine, a.engine, out)
	}
	out := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_", "(", "", ")", "").Replace(a.name))
	args := []string{"build", "-trimpath", "-o", out, a.pkg}
	if a.test {
		args = []string{"test", "-c", "-trimpath", "-o", out, a.pkg}
	}
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux"), a.env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: go %s (%s): %v\n%s", a.name, strings.Join(args, " "), strings.Join(a.env, " "), err, b)
	}
	if _, err := os.Stat(out); err != nil {
		return "", fmt.Errorf("%s: go %s wrote no binary (no test files?): %s", a.name, strings.Join(args, " "), b)
	}
	return out, nil
}

// inputsDigest hashes the sources that end up in the VM: the module's Go
// files, go.mod/go.sum, the scripts and case files, the engines' recipe
// (crictl) and testdata.
func inputsDigest(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if !strings.HasSuffix(p, ".go") && rel != "go.mod" && rel != "go.sum" &&
			!strings.HasPrefix(rel, "scripts/vm/") && !strings.HasPrefix(rel, "scripts/engines.") && !strings.HasPrefix(rel, "test/vm/") &&
			!strings.Contains("/"+rel, "/testdata/") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)[:8]), err
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// stageInitrd writes the per-run archive (/init, /cases, the binaries and
// the testdata their tests read) and concatenates the base archives and it
// into out.
// It returns the case names, sorted as the VM runs them.
func stageInitrd(t *testing.T, root string, arts []*artifact, base []string, out string) []string {
	t.Helper()
	stage := filepath.Join(t.TempDir(), "run")
	put := func(src, dst string, mode os.FileMode) {
		t.Helper()
		testbed.CopyFile(t, src, filepath.Join(stage, dst), mode)
	}
	put(filepath.Join(root, "scripts/vm/init.sh"), "init", 0o755)
	put(filepath.Join(root, "scripts/vm/runcase.sh"), "runcase.sh", 0o644)
	scripts, _ := filepath.Glob(filepath.Join(root, "test/vm/cases/*.sh"))
	var names []string
	for _, s := range scripts {
		put(s, filepath.Join("cases", filepath.Base(s)), 0o755)
		if n := strings.TrimSuffix(filepath.Base(s), ".sh"); !strings.HasPrefix(n, "_") {
			names = append(names, n)
		}
	}
	sort.Strings(names) // the VM's glob order (C locale)
	if len(names) == 0 {
		t.Fatal("no case scripts in test/vm/cases")
	}
	testdirs := map[string]bool{}
	for _, a := range arts {
		if a.err != nil {
			continue
		}
		put(a.hostPath, a.vmPath, 0o755)
		if a.test {
			testdirs[strings.TrimPrefix(a.pkg, "./")] = true
		}
	}
	// Tests run from /src/<pkg> and find ../testdata and testdata as in the repo.
	copies := map[string]string{filepath.Join(root, "testdata"): "src/testdata"}
	for pkg := range testdirs {
		copies[filepath.Join(root, pkg, "testdata")] = filepath.Join("src", pkg, "testdata")
	}
	for src, dst := range copies {
		if _, err := os.Stat(src); os.IsNotExist(err) {
			continue // a package without testdata
		}
		testbed.CopyTree(t, src, filepath.Join(stage, dst))
	}
	run := filepath.Join(filepath.Dir(stage), "run.cpio.gz")
	if b, err := exec.Command("bash", filepath.Join(root, "scripts/vm/mkcpio.sh"), stage, run).CombinedOutput(); err != nil {
		t.Fatalf("scripts/vm/mkcpio.sh: %v\n%s", err, b)
	}
	// The kernel unpacks concatenated gzip'd cpio archives in order.
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range append(base, run) {
		in, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(f, in)
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return names
}

// markerWatch notes when the serial console shows /init starting and
// finishing, for boot timings.
type markerWatch struct {
	pw *io.PipeWriter
	mu sync.Mutex
	// zero until seen
	start, done time.Time
	finished    chan struct{}
}

func newMarkerWatch() *markerWatch {
	pr, pw := io.Pipe()
	w := &markerWatch{pw: pw, finished: make(chan struct{})}
	go func() {
		defer close(w.finished)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			w.mu.Lock()
			if strings.HasPrefix(line, "@@VM-START") && w.start.IsZero() {
				w.start = time.Now()
			}
			if strings.HasPrefix(line, "@@VM-DONE") && w.done.IsZero() {
				w.done = time.Now()
			}
			w.mu.Unlock()
		}
		io.Copy(io.Discard, pr)
	}()
	return w
}

func (w *markerWatch) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *markerWatch) Close() {
	w.pw.Close()
	<-w.finished
}

func (w *markerWatch) times() (start, done time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	start, done = w.start, w.done
	now := time.Now()
	if start.IsZero() {
		start = now
	}
	if done.IsZero() {
		done = now
	}
	return start, done
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func selectedModels(t *testing.T) []cpuModel {
	s := os.Getenv("ARMHF_SHIM_VM_CPUS")
	if s == "" {
		return cpuModels
	}
	var out []cpuModel
	for _, name := range strings.Split(s, ",") {
		found := false
		for _, m := range cpuModels {
			if m.Name == strings.TrimSpace(name) {
				out = append(out, m)
				found = true
			}
		}
		if !found {
			t.Fatalf("ARMHF_SHIM_VM_CPUS: unknown CPU model %q (known: %v)", name, cpuModels)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
