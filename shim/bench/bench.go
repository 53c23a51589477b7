// Package bench measures what the runtime wrapper costs on `runc run` of
// a trivial container.
//
// The model: four ways to start the same container are timed alternately
// (A B C A B C …, benchkit.Alternate) in one run, so machine noise hits
// them alike:
//
//   - bare: runc itself;
//   - floor: internal/floor, a static Go program that does nothing but
//     exec runc — the least any Go wrapper can cost;
//   - armhf-runc: the lean runtime-wrapper binary `install` registers;
//   - armhf-shim runtime: the same code in the multi-call binary.
//
// for a 32-bit bundle (the wrapper detects it, rewrites config.json,
// renders or reuses the cpuinfo and execs runc in LINUX32), a 64-bit bundle
// (the wrapper reads config.json, checks the ELF header, and passes
// through) and `--version` (pure passthrough: no file is read). A 32-bit
// bundle's config.json is restored before each wrapper run, outside the
// timed part. Results are ratios of medians and lower quartiles: the
// wrapper's added time over bare runc against the floor's added time (the
// goal: at most 1.25× for a 32-bit container, 1.1× for passthrough), and
// the total against the floor. No time is asserted.
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/benchkit"
	"github.com/armhf-shim/armhf-shim/uname"
)

// Config names the binaries and bundles.
type Config struct {
	Runc, Shim, Floor string
	// Lean (optional) is cmd/armhf-runc: the runtime wrapper alone, the
	// binary `armhf-shim install` registers. Shim is the multi-call
	// armhf-shim run as `armhf-shim runtime`.
	Lean string
	// Bundle32 and Bundle64 are runc bundles running a trivial command.
	Bundle32, Bundle64 string
	// Root is runc's --root; StateRoot the wrapper's state root.
	Root, StateRoot string
	Warmup, Rounds  int
}

// Group is the cases of one situation.
type Group struct {
	Name                 string
	Bare, Floor, Wrapper benchkit.Result
	Lean                 *benchkit.Result // when Config.Lean is set
	// BareModified and FloorModified (the modified group only): runc and
	// the floor started in LINUX32 on the bundle as the wrapper leaves it —
	// the same runc work as behind the wrapper.
	BareModified, FloorModified *benchkit.Result
	Goal                        float64 // limit of the added time over the floor's added time
}

// Run measures every group.
func Run(c Config) ([]Group, error) {
	n := 0
	id := func() string { n++; return fmt.Sprintf("bench-%d-%d", os.Getpid(), n) }
	orig32, err := os.ReadFile(filepath.Join(c.Bundle32, "config.json"))
	if err != nil {
		return nil, err
	}
	globals := []string{"--root", c.Root}
	runcRun := func(bundle string) []string {
		return append(append([]string{}, globals...), "run", "--bundle", bundle, id())
	}
	timedIn := func(linux32 bool, name string, argv func() []string, env []string, before func() error) benchkit.Case {
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
	timed := func(name string, argv func() []string, env []string, before func() error) benchkit.Case {
		return timedIn(false, name, argv, env, before)
	}
	floorEnv := []string{"ARMHF_FLOOR_TARGET=" + c.Runc}
	shimEnv := []string{"ARMHF_SHIM_RUNTIME=" + c.Runc, "ARMHF_SHIM_STATE_ROOT=" + c.StateRoot}
	restore32 := func() error { return os.WriteFile(filepath.Join(c.Bundle32, "config.json"), orig32, 0o644) }
	with := func(bin string, args func() []string) func() []string {
		return func() []string { return append([]string{bin}, args()...) }
	}
	shimArgs := func(args func() []string) func() []string {
		return func() []string { return append([]string{c.Shim, "runtime"}, args()...) }
	}
	run32 := func() []string { return runcRun(c.Bundle32) }
	run64 := func() []string { return runcRun(c.Bundle64) }
	version := func() []string { return []string{"--version"} }

	// The bundle as the wrapper leaves it: runc started on it in LINUX32 does
	// the same work as behind the wrapper, so bare runc and the floor on it
	// measure the wrapper's own cost on equal runc work.
	wrapperBin := c.Shim
	wrapperArgs := shimArgs
	if c.Lean != "" {
		wrapperBin = c.Lean
		wrapperArgs = func(args func() []string) func() []string { return with(c.Lean, args) }
	}
	if _, err := timed("capture", wrapperArgs(run32), shimEnv, restore32).Run(); err != nil {
		return nil, fmt.Errorf("running %s once on the 32-bit bundle: %w", wrapperBin, err)
	}
	mod32, err := os.ReadFile(filepath.Join(c.Bundle32, "config.json"))
	if err != nil {
		return nil, err
	}
	restoreMod := func() error { return os.WriteFile(filepath.Join(c.Bundle32, "config.json"), mod32, 0o644) }

	var groups []Group
	for _, g := range []struct {
		name   string
		args   func() []string
		before func() error
		goal   float64
	}{
		{"runc run, 32-bit container (modified)", run32, restore32, 1.25},
		{"runc run, 64-bit container (passthrough after the ELF check)", run64, nil, 1.1},
		{"runc --version (passthrough, no file read)", version, nil, 1.1},
	} {
		cases := []benchkit.Case{
			timed("bare runc", with(c.Runc, g.args), nil, g.before),
			timed("floor", with(c.Floor, g.args), floorEnv, g.before),
			timed("armhf-shim", shimArgs(g.args), shimEnv, g.before),
		}
		if c.Lean != "" {
			cases = append(cases, timed("armhf-runc", with(c.Lean, g.args), shimEnv, g.before))
		}
		equal := g.before != nil // the modified group
		if equal {
			cases = append(cases,
				timedIn(true, "bare runc, modified bundle, LINUX32", with(c.Runc, g.args), nil, restoreMod),
				timedIn(true, "floor, modified bundle, LINUX32", with(c.Floor, g.args), floorEnv, restoreMod))
		}
		res, err := benchkit.Alternate(c.Warmup, c.Rounds, cases...)
		if err != nil {
			return groups, fmt.Errorf("%s: %w", g.name, err)
		}
		gr := Group{Name: g.name, Bare: res[0], Floor: res[1], Wrapper: res[2], Goal: g.goal}
		if c.Lean != "" {
			gr.Lean = &res[3]
		}
		if equal {
			gr.BareModified, gr.FloorModified = &res[len(res)-2], &res[len(res)-1]
		}
		groups = append(groups, gr)
	}
	return groups, restore32()
}

// Judged is the result the goal applies to: armhf-runc, the binary
// `install` registers, when it was measured; else armhf-shim runtime.
func (g Group) Judged() (benchkit.Result, string) {
	if g.Lean != nil {
		return *g.Lean, "armhf-runc"
	}
	return g.Wrapper, "armhf-shim runtime"
}

// Table renders the groups as Markdown. The goal is on the wrapper's added
// time over bare runc against the floor's added time (medians).
func Table(groups []Group) string {
	var rows [][]string
	cell := func(r, floor, bare benchkit.Result) string {
		ov := benchkit.Overhead(r, floor, bare)
		wf := benchkit.Compare(r, floor)
		return fmt.Sprintf("%s (added %.2f / %.2f×; total %.3f×)", benchkit.Format(r.Median()), ov.Median, ov.Q1, wf.Median)
	}
	for _, g := range groups {
		lean := "-"
		if g.Lean != nil {
			lean = cell(*g.Lean, g.Floor, g.Bare)
		}
		j, _ := g.Judged()
		ov := benchkit.Overhead(j, g.Floor, g.Bare)
		verdict := "meets"
		if !(ov.Median <= g.Goal) {
			verdict = "MISSES"
		}
		if g.BareModified != nil {
			eq := benchkit.Overhead(j, *g.FloorModified, *g.BareModified)
			verdict += fmt.Sprintf("; on equal runc work (runc and floor in LINUX32 on the modified bundle: bare %s, floor %s): added %.2f / %.2f×",
				benchkit.Format(g.BareModified.Median()), benchkit.Format(g.FloorModified.Median()), eq.Median, eq.Q1)
		}
		rows = append(rows, []string{
			g.Name,
			benchkit.Format(g.Bare.Median()), benchkit.Format(g.Floor.Median()),
			lean, cell(g.Wrapper, g.Floor, g.Bare),
			fmt.Sprintf("added ≤ %.2f× floor's: %s", g.Goal, verdict),
		})
	}
	return benchkit.Table([]string{"situation", "bare runc", "floor", "armhf-runc (registered)",
		"armhf-shim runtime (multi-call)", "goal (armhf-runc)"}, rows)
}

// Bundle writes a runc bundle over rootfs running /bin/true.
//
// The bundle goes on tmpfs (/dev/shm) where there is one: Docker's and
// containerd's bundles live under /run, a tmpfs on systemd hosts, and a
// rename over a file on ext4 costs a flush that tmpfs does not.
func Bundle(t testing.TB, rootfs string) string {
	dir, err := os.MkdirTemp("/dev/shm", "armhf-bench-bundle-")
	if err != nil {
		dir = t.TempDir()
	} else {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
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
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Setup builds the contestants and the two bundles (i386 and amd64 busybox
// on this x86_64 test bed) for Run; rounds is the default of
// ARMHF_SHIM_BENCH_ROUNDS. Everything is removed in t.Cleanup.
func Setup(t testing.TB, rounds int) Config {
	testenv.RequireRoot(t)
	return Config{
		Runc:      testenv.RequireCommand(t, "runc"),
		Shim:      testenv.BuildBinary(t, "./cmd/armhf-shim"),
		Floor:     testenv.BuildBinary(t, "./internal/floor"),
		Lean:      testenv.BuildBinary(t, "./cmd/armhf-runc"),
		Bundle32:  Bundle(t, testenv.BusyboxRootfs(t, "i386")),
		Bundle64:  Bundle(t, testenv.BusyboxRootfs(t, "amd64")),
		Root:      t.TempDir(),
		StateRoot: t.TempDir(),
		Warmup:    benchkit.EnvInt("ARMHF_SHIM_BENCH_WARMUP", 3),
		Rounds:    benchkit.EnvInt("ARMHF_SHIM_BENCH_ROUNDS", rounds),
	}
}
