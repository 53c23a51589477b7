package bench

import (
	"fmt"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/benchkit"
	shimbench "github.com/armhf-shim/armhf-shim/shim/bench"
)

// TestRuntimeWrapper is section 2: `runc run` of a trivial container, bare
// runc vs the floor vs armhf-runc (the registered wrapper) vs armhf-shim
// runtime (the multi-call binary), for a 32-bit container (modified), a
// 64-bit one (passthrough after the ELF check) and `runc --version`.
func TestRuntimeWrapper(t *testing.T) {
	c := shimbench.Setup(t, 80)
	groups, err := shimbench.Run(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", shimbench.Table(groups))
	for _, g := range groups {
		j, name := g.Judged()
		ov := benchkit.Overhead(j, g.Floor, g.Bare)
		rep.add("2 runtime wrapper", fmt.Sprintf("%s: %s added time / floor's added time", g.Name, name),
			fmt.Sprintf("bare %s, floor %s, %s %s", benchkit.Format(g.Bare.Median()), benchkit.Format(g.Floor.Median()), name, benchkit.Format(j.Median())),
			ratioCell(ov), goalCell(ov, g.Goal, true))
		rb := benchkit.Compare(j, g.Bare)
		rep.add("2 runtime wrapper", fmt.Sprintf("%s: %s / bare runc", g.Name, name), "", ratioCell(rb), "")
		if g.BareModified != nil {
			eq := benchkit.Overhead(j, *g.FloorModified, *g.BareModified)
			rep.add("2 runtime wrapper", fmt.Sprintf("%s: %s added time / floor's, on equal runc work (runc and floor run in LINUX32 on the bundle as the wrapper leaves it)", g.Name, name),
				fmt.Sprintf("bare %s, floor %s", benchkit.Format(g.BareModified.Median()), benchkit.Format(g.FloorModified.Median())),
				ratioCell(eq), goalCell(eq, g.Goal, true))
		}
		ms := benchkit.Overhead(g.Wrapper, g.Floor, g.Bare)
		rep.add("2 runtime wrapper", fmt.Sprintf("%s: armhf-shim runtime (multi-call) added time / floor's", g.Name),
			benchkit.Format(g.Wrapper.Median()), ratioCell(ms), "(not registered; for comparison)")
	}
	rep.note("Section 2 (runtime wrapper): %d rounds per situation; the floor is internal/floor, a static Go program that only execs runc; "+
		"the goal applies to armhf-runc, the binary `armhf-shim install` registers.", c.Rounds)
}
