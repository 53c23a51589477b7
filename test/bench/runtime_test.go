package bench

import (
	"fmt"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
	"github.com/armhf-shim/armhf-shim/test/bench/runtimebench"
)

// TestRuntimeWrapper is section 2: bare runc vs the floor vs armhf-runc
// (the registered wrapper), end to end on `runc run` for a 32-bit
// container (modified), a 64-bit one (passthrough after the ELF check) and
// `runc --version`, and the same invocations with a do-nothing runtime,
// which measure the wrapper alone precisely (test/bench/runtimebench).
func TestRuntimeWrapper(t *testing.T) {
	c := runtimebench.Setup(t, 150)
	groups, err := runtimebench.Run(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", runtimebench.Table(groups, c.Resamples))
	var head []string
	for _, g := range groups {
		for _, k := range []struct{ in, say string }{
			{"create of a 32-bit", "a 32-bit create (config.json edited, cpuinfo linked)"},
			{"create of a 64-bit", "a 64-bit create (decided, passed through)"},
			{"--version", "`--version` (passed through)"},
		} {
			if g.Isolated && strings.Contains(g.Name, k.in) {
				lean, floor, bare := g.Results[runtimebench.Lean], g.Results[runtimebench.Floor], g.Results[runtimebench.Bare]
				ov := benchkit.OverheadCI(lean, floor, bare, c.Resamples)
				head = append(head, fmt.Sprintf("%s %+.0f µs beyond the floor, which adds %.2f ms itself (%.2f× the floor's added time)",
					k.say, float64(lean.Median()-floor.Median())/1e3, float64(floor.Median()-bare.Median())/1e6, ov.Est))
			}
		}
	}
	rep.headline(2, "**The runtime wrapper's own cost per call** (armhf-runc against the floor, a static Go program that only execs the runtime; "+
		"measured with a do-nothing runtime): "+strings.Join(head, "; ")+".")
	for _, g := range groups {
		for _, r := range g.Rows(c.Resamples) {
			rep.add("2 runtime wrapper", r.Comparison, r.Medians, r.Ratio.String(), r.Goal)
		}
	}
	rep.note("Section 2 (runtime wrapper): end to end, %d rounds per situation with runc (%s); alone, %d rounds per situation with %s as "+
		"the runtime (the wrapper's own cost, free of runc's millisecond noise), on the config.json Docker 20.10 writes (~10 kB with its "+
		"seccomp profile; the end-to-end groups use a trivial one runc can run here). The floor is test/bench/floor, a static Go program that only "+
		"execs the runtime; the decision floor (64-bit create only) is test/bench/floor built with -tags armhf_decisionfloor, the floor plus exactly the reads and the "+
		"scan a decision takes (config.json, the executable's ELF header on the container's PATH) and nothing else: what deciding itself "+
		"costs. The goal applies to armhf-runc, the binary `armhf-shim install` registers. Ratios are of medians, with 95%% "+
		"bootstrap intervals over the rounds (%d resamples); a goal is met or missed only when the whole interval says so.",
		c.Rounds, c.Runc, c.IsolatedRounds, c.Target, c.Resamples)
}
