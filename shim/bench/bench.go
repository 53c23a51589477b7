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
//   - wrapper: armhf-shim as the runtime.
//
// for a 32-bit bundle (the wrapper detects it, rewrites config.json,
// renders or reuses the cpuinfo and execs runc in LINUX32), a 64-bit bundle
// (the wrapper reads config.json, checks the ELF header, and passes
// through) and `--version` (pure passthrough: no file is read). A 32-bit
// bundle's config.json is restored before each wrapper run, outside the
// timed part. Results are ratios of medians and lower quartiles: the
// wrapper against the floor, and the wrapper's added time against the
// floor's added time over bare runc. Goals: at most 1.25× the floor for a
// 32-bit container and 1.1× for passthrough. No time is asserted.
package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/benchkit"
)

// Config names the binaries and bundles.
type Config struct {
	Runc, Shim, Floor string
	// Lean (optional) is shim/bench/leanruntime: the wrapper without the
	// rest of armhf-shim linked in.
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
	Goal                 float64          // wrapper/floor limit
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
	timed := func(name string, argv func() []string, env []string, before func() error) benchkit.Case {
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
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			if err != nil {
				return 0, fmt.Errorf("%v: %v: %s", a, err, out.String())
			}
			return d, nil
		}}
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
			cases = append(cases, timed("wrapper alone", with(c.Lean, g.args), shimEnv, g.before))
		}
		res, err := benchkit.Alternate(c.Warmup, c.Rounds, cases...)
		if err != nil {
			return groups, fmt.Errorf("%s: %w", g.name, err)
		}
		gr := Group{Name: g.name, Bare: res[0], Floor: res[1], Wrapper: res[2], Goal: g.goal}
		if c.Lean != "" {
			gr.Lean = &res[3]
		}
		groups = append(groups, gr)
	}
	return groups, restore32()
}

// Table renders the groups as Markdown.
func Table(groups []Group) string {
	var rows [][]string
	for _, g := range groups {
		wf := benchkit.Compare(g.Wrapper, g.Floor)
		ov := benchkit.Overhead(g.Wrapper, g.Floor, g.Bare)
		verdict := "meets"
		if wf.Median > g.Goal {
			verdict = "MISSES"
		}
		lean := "-"
		if g.Lean != nil {
			lf := benchkit.Compare(*g.Lean, g.Floor)
			lean = fmt.Sprintf("%s (%.3f / %.3f)", benchkit.Format(g.Lean.Median()), lf.Median, lf.Q1)
		}
		rows = append(rows, []string{
			g.Name,
			benchkit.Format(g.Bare.Median()), benchkit.Format(g.Floor.Median()), benchkit.Format(g.Wrapper.Median()),
			fmt.Sprintf("%.3f / %.3f", wf.Median, wf.Q1),
			fmt.Sprintf("%.2f / %.2f", ov.Median, ov.Q1),
			lean,
			fmt.Sprintf("≤ %.2f: %s", g.Goal, verdict),
		})
	}
	return benchkit.Table([]string{"situation", "bare runc", "floor", "armhf-shim",
		"armhf-shim / floor (median / q1)", "added time vs floor's added time",
		"wrapper alone (/ floor)", "goal"}, rows)
}
