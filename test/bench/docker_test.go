package bench

// Section 3, the Docker path: `docker run --rm` of a trivial container
// through armhf-shim registered as a dockerd runtime versus dockerd's own
// runc, on one test dockerd, for a 32-bit image (the wrapper modifies the
// container) and a 64-bit one (it passes through).

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
	"github.com/armhf-shim/armhf-shim/uname"
)

// shimDockerd is a test dockerd with three runtimes besides its built-in
// "runc": "armhf" (armhf-runc, the lean runtime wrapper `armhf-shim
// install` registers, handing over to the same real runc), "floor" (test/bench/floor: a static Go program that
// only execs that runc — the least any Go wrapper costs) and "counted" (a
// shell script that logs its argv to CallLog and execs that runc; used
// once, untimed, to count the runtime calls of a docker command). Image32 and Image64 are busybox images of the
// host's compat and native architecture.
type shimDockerd struct {
	*testenv.Dockerd
	Runc      string // the real runc both runtimes run
	Floor     string // test/bench/floor
	Lean      string // armhf-runc
	StateRoot string // armhf-shim's state root
	CallLog   string
	Image32   string
	Image64   string
	Arch32    string // Debian architecture of Image32
	Machine32 string // what uname -m prints in a 32-bit container
}

// benchArches returns the Debian architectures of the host's 64-bit native
// and 32-bit compat busybox (amd64/i386 here; arm64/armhf on an AArch32
// capable arm64 host).
func benchArches(t *testing.T) (native64, compat32 string) {
	switch runtime.GOARCH {
	case "amd64":
		return "amd64", "i386"
	case "arm64":
		return "arm64", "armhf"
	}
	t.Skipf("no 32-bit compat target on %s", runtime.GOARCH)
	return "", ""
}

func startShimDockerd(t *testing.T) *shimDockerd {
	t.Helper()
	testenv.RequireRoot(t)
	native64, compat32 := benchArches(t)
	runc := testenv.RequireCommand(t, "runc")
	floor := testenv.BuildBinary(t, "./test/bench/floor")
	lean := testenv.BuildBinary(t, "./cmd/armhf-runc")
	bin := t.TempDir()
	link := filepath.Join(bin, "armhf-runc")
	if err := os.Symlink(lean, link); err != nil {
		t.Fatal(err)
	}
	callLog := filepath.Join(bin, "calls.log")
	counted := filepath.Join(bin, "counted-runc")
	script := fmt.Sprintf("#!/bin/sh\n{ printf '%%s\\037' \"$@\"; echo; } >>'%s'\nexec '%s' \"$@\"\n", callLog, runc)
	if err := os.WriteFile(counted, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	stateRoot := t.TempDir()
	d := testenv.StartDockerd(t, testenv.DockerdOptions{
		DaemonJSON: map[string]any{
			"runtimes": map[string]any{
				"armhf":   map[string]any{"path": link},
				"counted": map[string]any{"path": counted},
				"floor":   map[string]any{"path": floor},
			},
		},
		// The runc runtime is "runc" on dockerd's PATH: make the wrapper
		// hand over to that same binary.
		Env: []string{runtimecfg.EnvStateRoot + "=" + stateRoot, runtimecfg.EnvRuntime + "=" + runc, "ARMHF_FLOOR_TARGET=" + runc},
	})
	sd := &shimDockerd{Dockerd: d, Runc: runc, Floor: floor, Lean: lean, StateRoot: stateRoot, CallLog: callLog,
		Image32: "bb" + compat32, Image64: "bb" + native64, Arch32: compat32, Machine32: uname.HostCompatMachine()}
	d.Import(t, testenv.BusyboxRootfs(t, compat32), sd.Image32)
	d.Import(t, testenv.BusyboxRootfs(t, native64), sd.Image64)
	return sd
}

// docker runs the docker CLI against the daemon, failing t with the
// daemon's log tail on error.
func (sd *shimDockerd) docker(t *testing.T, args ...string) string {
	t.Helper()
	o, e, err := sd.Docker(args...)
	if err != nil {
		t.Fatalf("docker %s: %v\nstdout: %s\nstderr: %s\ndockerd:\n%s", strings.Join(args, " "), err, o, e, sd.LogTail(20))
	}
	return o
}

// countCalls runs `docker args...` through the "counted" runtime and
// returns the runtime subcommands it made, in order.
func (sd *shimDockerd) countCalls(t *testing.T, args ...string) []string {
	t.Helper()
	os.Remove(sd.CallLog)
	sd.docker(t, args...)
	b, err := os.ReadFile(sd.CallLog)
	if err != nil {
		t.Fatalf("the counting runtime was never called: %v", err)
	}
	var cmds []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		argv := strings.Split(strings.TrimSuffix(line, "\x1f"), "\x1f")
		inv, err := runcargs.Parse(argv)
		if err != nil || inv.Command == "" {
			cmds = append(cmds, "?("+strings.Join(argv, " ")+")")
			continue
		}
		cmds = append(cmds, inv.Command)
		t.Logf("runtime call: %s", strings.Join(argv, " "))
	}
	return cmds
}

// stateLeftovers lists what is below the wrapper's state root besides the
// shared cpuinfo cache (cache/cpuinfo-<cpuset>) and the empty
// containers directory: per-container files, temporary files of atomic
// writes. It also lists mounts below the root.
func (sd *shimDockerd) stateLeftovers(t *testing.T) []string {
	t.Helper()
	var left []string
	err := filepath.Walk(sd.StateRoot, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			left = append(left, fmt.Sprintf("%s (%v)", p, err))
			return nil
		}
		rel, _ := filepath.Rel(sd.StateRoot, p)
		parts := strings.Split(rel, string(filepath.Separator))
		switch {
		case rel == "." || rel == "containers" || rel == "cache":
		case len(parts) == 2 && parts[0] == "cache" && fi.Mode().IsRegular() && strings.HasPrefix(parts[1], "cpuinfo-") &&
			!strings.Contains(parts[1], ".tmp"):
		default:
			left = append(left, fmt.Sprintf("%s (%s, %d bytes)", rel, fi.Mode(), fi.Size()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(mi), "\n") {
			if f := strings.Fields(l); len(f) > 4 && (f[4] == sd.StateRoot || strings.HasPrefix(f[4], sd.StateRoot+"/")) {
				left = append(left, "mount point "+f[4])
			}
		}
	}
	sort.Strings(left)
	return left
}

// TestDockerPath: `docker run --rm IMAGE true` with --runtime armhf versus
// --runtime runc (and the floor runtime), alternately, for a 32-bit and a
// 64-bit image. A docker run takes ~150–200 ms here with an interquartile
// spread of 15–20%, and the wrapper's share is a few ms, so the verdict
// comes with a 95% bootstrap interval and says "not settled" when the
// interval spans the goal; ARMHF_SHIM_BENCH_DOCKER_ROUNDS (default 60)
// narrows it.
func TestDockerPath(t *testing.T) {
	sd := startShimDockerd(t)
	rounds := benchkit.EnvInt("ARMHF_SHIM_BENCH_DOCKER_ROUNDS", 60)
	warmup := benchkit.EnvInt("ARMHF_SHIM_BENCH_DOCKER_WARMUP", 2)

	// What is measured does what it claims (untimed).
	if o := sd.docker(t, "run", "--rm", "--runtime", "armhf", sd.Image32, "sh", "-c", scaleProbe); o != sd.Machine32+"\nCPU architecture: 7\n" {
		t.Fatalf("a 32-bit container through the armhf runtime printed %q, want %s and an armv7 cpuinfo", o, sd.Machine32)
	}
	if o := sd.docker(t, "run", "--rm", "--runtime", "armhf", sd.Image64, "sh", "-c", "grep -c 'CPU architecture: 7' /proc/cpuinfo; true"); strings.TrimSpace(o) != "0" {
		t.Fatalf("a 64-bit container through the armhf runtime was modified (armv7 cpuinfo lines: %q)", o)
	}
	calls := sd.countCalls(t, "run", "--rm", "--runtime", "counted", sd.Image32, "true")
	t.Logf("runtime calls of one docker run --rm: %d: %s", len(calls), strings.Join(calls, ", "))

	run := func(name, rt, image string) benchkit.Case {
		return benchkit.Case{Name: name, Run: func() (time.Duration, error) {
			start := time.Now()
			o, e, err := sd.Docker("run", "--rm", "--runtime", rt, image, "true")
			d := time.Since(start)
			if err != nil {
				return 0, fmt.Errorf("docker run --rm --runtime %s %s true: %v\n%s%s\ndockerd:\n%s", rt, image, err, o, e, sd.LogTail(20))
			}
			return d, nil
		}}
	}
	if err := benchkit.Reload(sd.Runc, sd.Floor, sd.Lean); err != nil {
		t.Fatal(err)
	}
	res, err := benchkit.Alternate(warmup, rounds,
		run("32-bit via armhf", "armhf", sd.Image32),
		run("32-bit via floor", "floor", sd.Image32),
		run("32-bit via runc", "runc", sd.Image32),
		run("64-bit via armhf", "armhf", sd.Image64),
		run("64-bit via floor", "floor", sd.Image64),
		run("64-bit via runc", "runc", sd.Image64),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%-20s median %s  q1 %s  spread %.1f%%", r.Name, benchkit.Format(r.Median()), benchkit.Format(r.Q1()), 100*r.Spread())
	}
	if left := sd.stateLeftovers(t); len(left) > 0 {
		t.Errorf("after %d docker run --rm through the armhf runtime, left in the state root %s: %s",
			2*(warmup+rounds), sd.StateRoot, strings.Join(left, "; "))
	}
	var head []string
	for i, what := range []string{"32-bit " + sd.Arch32 + " image (modified)", "64-bit image (passthrough)"} {
		shim, floor, bare := res[3*i], res[3*i+1], res[3*i+2]
		r := benchkit.CompareCI(shim, bare, 2000)
		head = append(head, fmt.Sprintf("**%.3f×** runc for a %s (%s against %s; 95%% CI %.3f–%.3f)",
			r.Est, what, benchkit.Format(shim.Median()), benchkit.Format(bare.Median()), r.Lo, r.Hi))
		rep.add("3 docker path", "docker run --rm, --runtime armhf / --runtime runc: "+what,
			benchkit.Format(shim.Median())+" / "+benchkit.Format(bare.Median()), r.String(), "≤ 1.05: "+r.Verdict(1.05))
		rf := benchkit.CompareCI(floor, bare, 2000)
		rep.add("3 docker path", "docker run --rm, floor runtime (Go program that only execs runc) / runc: "+what,
			benchkit.Format(floor.Median())+" / "+benchkit.Format(bare.Median()), rf.String(), "the least any Go wrapper costs")
		t.Logf("%s: per docker run (median), armhf adds %+.2f ms, the floor %+.2f ms", what,
			float64(shim.Median()-bare.Median())/1e6, float64(floor.Median()-bare.Median())/1e6)
	}
	rep.headline(1, "**`docker run --rm IMAGE true` through the registered runtime** (armhf-runc in a test dockerd): "+strings.Join(head, "; ")+".")
	rep.note("Section 3 (docker path): `docker run --rm IMAGE true` against one test dockerd %s, %d rounds after %d warm-up, "+
		"the six cases in a balanced order; each docker run made %d runtime calls (%s), every one of which goes through the wrapper with "+
		"--runtime armhf (the 32-bit create rewrites config.json and links the cached cpuinfo; the second delete is containerd's --force).",
		strings.TrimSpace(sd.docker(t, "version", "--format", "{{.Server.Version}}")), rounds, warmup, len(calls), strings.Join(calls, ", "))
}
