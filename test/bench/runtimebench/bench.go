// Package runtimebench measures what the runtime wrapper costs on `runc run` of
// a trivial container.
//
// The model: several ways to start the same container are timed
// alternately (benchkit.Alternate: every case once per round, in a balanced
// order that changes from round to round) in one run, so machine noise
// hits them alike:
//
//   - bare: runc itself;
//   - floor: test/bench/floor, a static Go program that does nothing but
//     exec runc — the least any Go wrapper can cost;
//   - decision floor: test/bench/floor built with -tags armhf_decisionfloor,
//     the floor plus exactly the reads and the scan a decision takes — the
//     least a wrapper that decides per container can cost (only where a
//     container is passed through after deciding: the isolated 64-bit
//     create);
//   - armhf-runc: the lean runtime-wrapper binary `install` registers;
//   - armhf-shim runtime: the same code in the multi-call binary (only in
//     the isolated groups, below).
//
// Three situations: a 32-bit bundle (the wrapper detects it, rewrites
// config.json, links the cached cpuinfo and execs runc in LINUX32), a
// 64-bit bundle (it reads config.json, checks the ELF header and passes
// through) and `--version` (pure passthrough: no file is read). A 32-bit
// bundle's config.json is restored before each run, outside the timed
// part. The result is the wrapper's added time over bare runc against the
// floor's added time (the goal: at most 1.25× for a 32-bit container, 1.1×
// for passthrough), as a ratio of medians with a 95% bootstrap interval
// (benchkit.OverheadCI); no time is asserted.
//
// Every binary is reloaded into the page cache before each group
// (benchkit.Reload), so all start from the state of a program loaded from
// disk.
//
// `runc run` itself varies by milliseconds between runs while the wrapper
// costs a fraction of one, so the end-to-end groups say "not settled"
// unless they run for a long time. The isolated groups answer precisely:
// the same invocations with the runtime replaced by a do-nothing program
// (Config.Target), so each takes ~2 ms and thousands of rounds fit in
// seconds. They hand the wrapper the config.json Docker writes
// (DockerBundle: ~10 kB of compact JSON, most of it the seccomp profile)
// rather than a trivial one: that is what it reads, validates and
// rewrites in practice, and a trivial config made the 32-bit ratio look
// about 0.1 lower. What the wrapper changes for runc itself (a LINUX32 runc, one
// more bind mount) is the "equal work" pair of the 32-bit end-to-end
// group: bare runc and the floor started in LINUX32 on the bundle as the
// wrapper leaves it.
package runtimebench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
	"github.com/armhf-shim/armhf-shim/uname"
)

// Config names the binaries and bundles.
type Config struct {
	Runc, Shim, Floor string
	// DecisionFloor is test/bench/floor built with -tags armhf_decisionfloor.
	DecisionFloor string
	// Lean is cmd/armhf-runc: the runtime wrapper alone, the binary
	// `armhf-shim install` registers; the goal applies to it. Shim is the
	// multi-call armhf-shim run as `armhf-shim runtime`.
	Lean string
	// Target is a do-nothing program (/bin/true) standing in for runc in
	// the isolated groups.
	Target string
	// Bundle32 and Bundle64 are runc bundles running a trivial command:
	// the end-to-end groups run them.
	Bundle32, Bundle64 string
	// DockerBundle32 and DockerBundle64 hold the config.json Docker 20.10
	// writes for a container (DockerBundle): what the wrapper reads and
	// rewrites in practice, twenty times the size of a trivial one. The
	// isolated groups hand them to the wrapper.
	DockerBundle32, DockerBundle64 string
	// Root is runc's --root; StateRoot the wrapper's state root.
	Root, StateRoot string
	Warmup, Rounds  int
	// IsolatedRounds is the number of rounds of each isolated group.
	IsolatedRounds int
	// Resamples is the number of bootstrap resamples of an interval.
	Resamples int
}

// Case names.
const (
	Bare          = "bare"
	Floor         = "floor"
	DecisionFloor = "decision floor"
	Lean          = "armhf-runc"
	Multi         = "armhf-shim runtime"
	BareModified  = "bare, modified bundle, LINUX32"
	FloorModified = "floor, modified bundle, LINUX32"
)

// Group is the results of one situation.
type Group struct {
	Name     string
	Isolated bool    // the runtime is Config.Target, not runc
	Goal     float64 // limit of armhf-runc's added time over the floor's
	Rounds   int
	Results  map[string]benchkit.Result
}

// Has reports whether the group measured case name.
func (g Group) Has(name string) bool { _, ok := g.Results[name]; return ok }

// Run measures every group.
func Run(c Config) ([]Group, error) {
	n := 0
	id := func() string { n++; return fmt.Sprintf("bench-%d-%d", os.Getpid(), n) }
	cfg32 := filepath.Join(c.Bundle32, "config.json")
	restore32, err := restorer(cfg32)
	if err != nil {
		return nil, err
	}
	restoreDocker32, err := restorer(filepath.Join(c.DockerBundle32, "config.json"))
	if err != nil {
		return nil, err
	}
	globals := []string{"--root", c.Root}
	runArgs := func(bundle string) func() []string {
		return func() []string {
			return append(append([]string{}, globals...), "run", "--bundle", bundle, id())
		}
	}
	createArgs := func(bundle string) func() []string {
		return func() []string {
			return append(append([]string{}, globals...), "create", "--bundle", bundle, id())
		}
	}
	version := func() []string { return []string{"--version"} }

	// timed runs argv (in LINUX32 when asked) after before, timing only the
	// command.
	timed := func(name string, linux32 bool, argv func() []string, env []string, before func() error) benchkit.Case {
		return benchkit.Case{Name: name, Run: func() (time.Duration, error) {
			if before != nil {
				if err := before(); err != nil {
					return 0, err
				}
			}
			a := argv()
			cmd := exec.Command(a[0], a[1:]...)
			cmd.Env = append(os.Environ(), env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			var d time.Duration
			run := func() error {
				start := time.Now()
				err := cmd.Run()
				d = time.Since(start)
				return err
			}
			var err error
			if linux32 {
				// The child inherits the personality of the thread that
				// forks it: this locked one.
				err = uname.WithPersonality(uname.PerLinux32, run)
			} else {
				err = run()
			}
			if err != nil {
				return 0, fmt.Errorf("%v: %v: %s", a, err, out.String())
			}
			return d, nil
		}}
	}
	with := func(argv0 string, args func() []string, pre ...string) func() []string {
		return func() []string { return append(append([]string{argv0}, pre...), args()...) }
	}
	envFor := func(runtime string) (floorEnv, shimEnv []string) {
		return []string{"ARMHF_FLOOR_TARGET=" + runtime},
			[]string{"ARMHF_SHIM_RUNTIME=" + runtime, "ARMHF_SHIM_STATE_ROOT=" + c.StateRoot}
	}

	// The bundle as the wrapper leaves it, for the equal-work pair.
	_, shimEnv := envFor(c.Runc)
	if _, err := timed("capture", false, with(c.Lean, runArgs(c.Bundle32)), shimEnv, restore32).Run(); err != nil {
		return nil, fmt.Errorf("running %s once on the 32-bit bundle: %w", c.Lean, err)
	}
	restoreMod, err := restorer(cfg32)
	if err != nil {
		return nil, err
	}
	// create leaves a container per id; the isolated create never makes
	// one, but the wrapper links a cpuinfo per id: clear them, untimed.
	// The containers/ directory itself stays, as on a host that has run a
	// container since boot (the very first one also makes containers/).
	clearState := func() error {
		if err := restoreDocker32(); err != nil {
			return err
		}
		dir := filepath.Join(c.StateRoot, "containers")
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}

	type spec struct {
		name     string
		isolated bool
		args     func() []string
		before   func() error
		goal     float64
		decides  bool // passes the container through after deciding: time the decision floor too
	}
	specs := []spec{
		{"runc run, 32-bit container (modified)", false, runArgs(c.Bundle32), restore32, 1.25, false},
		{"runc run, 64-bit container (passthrough after the ELF check)", false, runArgs(c.Bundle64), nil, 1.1, false},
		{"runc --version (passthrough, no file read)", false, version, nil, 1.1, false},
		{"wrapper alone, run of a 32-bit Docker bundle (modified; shared cpuinfo)", true, runArgs(c.DockerBundle32), restoreDocker32, 1.25, false},
		{"wrapper alone, create of a 32-bit Docker bundle (modified; per-container cpuinfo link)", true, createArgs(c.DockerBundle32), clearState, 1.25, false},
		{"wrapper alone, create of a 64-bit Docker bundle (passthrough after the ELF check)", true, createArgs(c.DockerBundle64), nil, 1.1, true},
		{"wrapper alone, --version (passthrough)", true, version, nil, 1.1, false},
	}
	var groups []Group
	for _, s := range specs {
		runtime, rounds := c.Runc, c.Rounds
		if s.isolated {
			runtime, rounds = c.Target, c.IsolatedRounds
		}
		floorEnv, shimEnv := envFor(runtime)
		cases := []benchkit.Case{
			timed(Bare, false, with(runtime, s.args), nil, s.before),
			timed(Floor, false, with(c.Floor, s.args), floorEnv, s.before),
			timed(Lean, false, with(c.Lean, s.args), shimEnv, s.before),
		}
		if s.decides {
			cases = append(cases, timed(DecisionFloor, false, with(c.DecisionFloor, s.args), floorEnv, s.before))
		}
		if s.isolated {
			cases = append(cases, timed(Multi, false, with(c.Shim, s.args, "runtime"), shimEnv, s.before))
		} else if s.before != nil {
			// Equal runc work: runc and the floor in LINUX32 on the bundle
			// as the wrapper leaves it.
			cases = append(cases,
				timed(BareModified, true, with(runtime, s.args), nil, restoreMod),
				timed(FloorModified, true, with(c.Floor, s.args), floorEnv, restoreMod))
		}
		if err := benchkit.Reload(c.Runc, c.Floor, c.DecisionFloor, c.Lean, c.Shim, c.Target); err != nil {
			return groups, err
		}
		res, err := benchkit.Alternate(c.Warmup, rounds, cases...)
		if err != nil {
			return groups, fmt.Errorf("%s: %w", s.name, err)
		}
		g := Group{Name: s.name, Isolated: s.isolated, Goal: s.goal, Rounds: rounds, Results: map[string]benchkit.Result{}}
		for _, r := range res {
			g.Results[r.Name] = r
		}
		groups = append(groups, g)
	}
	if err := restoreDocker32(); err != nil {
		return groups, err
	}
	return groups, restore32()
}

// restorer reads the file path now and returns a function that writes
// that content back (the wrapper rewrites a 32-bit bundle's config.json).
func restorer(path string) (func() error, error) {
	orig, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return func() error { return os.WriteFile(path, orig, 0o644) }, nil
}

// Row is one comparison of a group, ready for a table.
type Row struct {
	Comparison string
	Medians    string
	Ratio      benchkit.Interval
	Goal       string // "≤ 1.25: met" etc.; "" for information
}

// Rows are the comparisons of g: armhf-runc's added time over the floor's
// (judged against the goal), armhf-runc against bare, the equal-work and
// multi-call figures where measured.
func (g Group) Rows(resamples int) []Row {
	r := g.Results
	bare, floor, lean := r[Bare], r[Floor], r[Lean]
	what := "runc"
	if g.Isolated {
		what = "the do-nothing runtime"
	}
	ov := benchkit.OverheadCI(lean, floor, bare, resamples)
	// The goal is judged where the wrapper's cost is measured alone: end to
	// end, runc's own milliseconds of noise swamp the ~1 ms being judged (a
	// floor measured slower than the wrapper is not rare), and two verdicts
	// on one goal could contradict each other.
	verdict := func(iv benchkit.Interval) string {
		if !g.Isolated {
			return fmt.Sprintf("≤ %.2f: judged on the wrapper-alone rows (here: %s)", g.Goal, iv.Verdict(g.Goal))
		}
		return fmt.Sprintf("≤ %.2f: %s", g.Goal, iv.Verdict(g.Goal))
	}
	rows := []Row{{
		Comparison: g.Name + ": armhf-runc added time / floor's added time",
		Medians:    fmt.Sprintf("bare %s, floor %s, armhf-runc %s", benchkit.Format(bare.Median()), benchkit.Format(floor.Median()), benchkit.Format(lean.Median())),
		Ratio:      ov,
		Goal:       verdict(ov),
	}, {
		Comparison: g.Name + ": armhf-runc / bare " + what,
		Ratio:      benchkit.CompareCI(lean, bare, resamples),
	}}
	if g.Has(BareModified) {
		eq := benchkit.OverheadCI(lean, r[FloorModified], r[BareModified], resamples)
		rows = append(rows, Row{
			Comparison: g.Name + ": armhf-runc added time / floor's, on equal runc work (runc and the floor in LINUX32 on the bundle as the wrapper leaves it)",
			Medians:    fmt.Sprintf("bare %s, floor %s", benchkit.Format(r[BareModified].Median()), benchkit.Format(r[FloorModified].Median())),
			Ratio:      eq,
			Goal:       verdict(eq),
		})
	}
	if g.Has(DecisionFloor) {
		dec := r[DecisionFloor]
		rows = append(rows, Row{
			Comparison: g.Name + ": decision floor (only the decision's reads and scan) added time / floor's: what deciding costs",
			Medians:    benchkit.Format(dec.Median()),
			Ratio:      benchkit.OverheadCI(dec, floor, bare, resamples),
		}, Row{
			Comparison: g.Name + ": armhf-runc added time / decision floor's: what armhf-runc adds to deciding",
			Ratio:      benchkit.OverheadCI(lean, dec, bare, resamples),
		})
	}
	if g.Has(Multi) {
		rows = append(rows, Row{
			Comparison: g.Name + ": armhf-shim runtime (multi-call, not registered) added time / floor's",
			Medians:    benchkit.Format(r[Multi].Median()),
			Ratio:      benchkit.OverheadCI(r[Multi], floor, bare, resamples),
		})
	}
	return rows
}

// Table renders the groups as Markdown.
func Table(groups []Group, resamples int) string {
	var rows [][]string
	for _, g := range groups {
		for _, r := range g.Rows(resamples) {
			rows = append(rows, []string{r.Comparison, fmt.Sprint(g.Rounds), r.Medians, r.Ratio.String(), r.Goal})
		}
	}
	return benchkit.Table([]string{"situation", "rounds", "medians", "ratio (95% interval)", "goal"}, rows)
}

// Bundle writes a runc bundle over rootfs running /bin/true.
//
// The bundle goes on tmpfs (/dev/shm) where there is one: Docker's and
// containerd's bundles live under /run, a tmpfs on systemd hosts, and a
// rename over a file on ext4 costs a flush that tmpfs does not.
func Bundle(t testing.TB, rootfs string) string {
	cfg := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{"terminal": false, "user": map[string]any{"uid": 0, "gid": 0},
			"args": []string{"/bin/true"}, "env": []string{"PATH=/bin"}, "cwd": "/"},
		"root":     map[string]any{"path": rootfs},
		"hostname": "bench",
		"mounts": []any{
			map[string]any{"destination": "/proc", "type": "proc", "source": "proc"},
			map[string]any{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		},
		"linux": map[string]any{"namespaces": []any{
			map[string]any{"type": "pid"}, map[string]any{"type": "ipc"}, map[string]any{"type": "uts"}, map[string]any{"type": "mount"},
		}},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return writeBundle(t, b)
}

// DockerBundle is a bundle whose config.json is the one Docker 20.10 wrote
// for a `sleep 100` container (testdata/oci: its default seccomp profile,
// mounts and hooks), compact as Docker writes it (~10 kB), with root.path
// set to rootfs. runc could not run it here (its mount sources are
// Docker's); the isolated groups only hand it to the wrapper.
func DockerBundle(t testing.TB, rootfs string) string {
	var cfg map[string]any
	if err := json.Unmarshal(testenv.DockerConfig(t), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["root"].(map[string]any)["path"] = rootfs
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return writeBundle(t, b)
}

// writeBundle is a new bundle directory (on a tmpfs) holding config.
func writeBundle(t testing.TB, config []byte) string {
	dir := tmpfsDir(t, "armhf-bench-bundle-")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tmpfsDir is a temporary directory on /dev/shm (a tmpfs, as /run is on
// systemd hosts), or t.TempDir() where there is none; removed in t.Cleanup.
func tmpfsDir(t testing.TB, prefix string) string {
	dir, err := os.MkdirTemp("/dev/shm", prefix)
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Setup builds the contestants and the two bundles (i386 and amd64 busybox
// on this x86_64 test bed) for Run; rounds is the default of
// ARMHF_SHIM_BENCH_ROUNDS (the end-to-end groups; the isolated ones run
// ARMHF_SHIM_BENCH_ISOLATED_ROUNDS, default 1500). Everything is removed
// in t.Cleanup.
func Setup(t testing.TB, rounds int) Config {
	testenv.RequireRoot(t)
	stateRoot := tmpfsDir(t, "armhf-bench-state-")
	rootfs32, rootfs64 := testenv.BusyboxRootfs(t, "i386"), testenv.BusyboxRootfs(t, "amd64")
	return Config{
		Runc:           testenv.RequireCommand(t, "runc"),
		Shim:           testenv.BuildBinary(t, "./cmd/armhf-shim"),
		Floor:          testenv.BuildBinary(t, "./test/bench/floor"),
		DecisionFloor:  testenv.BuildBinaryTags(t, "./test/bench/floor", "armhf_decisionfloor"),
		Lean:           testenv.BuildBinary(t, "./cmd/armhf-runc"),
		Target:         testenv.RequireCommand(t, "true"),
		Bundle32:       Bundle(t, rootfs32),
		Bundle64:       Bundle(t, rootfs64),
		DockerBundle32: DockerBundle(t, rootfs32),
		DockerBundle64: DockerBundle(t, rootfs64),
		Root:           t.TempDir(),
		StateRoot:      stateRoot,
		Warmup:         benchkit.EnvInt("ARMHF_SHIM_BENCH_WARMUP", 3),
		Rounds:         benchkit.EnvInt("ARMHF_SHIM_BENCH_ROUNDS", rounds),
		IsolatedRounds: benchkit.EnvInt("ARMHF_SHIM_BENCH_ISOLATED_ROUNDS", 1500),
		Resamples:      benchkit.EnvInt("ARMHF_SHIM_BENCH_RESAMPLES", 2000),
	}
}
