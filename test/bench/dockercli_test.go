package bench

import (
	"fmt"
	"testing"

	dockerbench "github.com/armhf-shim/armhf-shim/dind/bench"
	"github.com/armhf-shim/armhf-shim/internal/benchkit"
)

// TestDockerCLIWrapper is section 4: the docker CLI wrapper against the
// real docker and the floor (a static Go program that only execs docker),
// for `run` (rewritten) and `version` (passthrough).
func TestDockerCLIWrapper(t *testing.T) {
	c, d := dockerbench.Setup(t)
	c.Rounds = benchkit.EnvInt("ARMHF_SHIM_BENCH_DOCKERCLI_ROUNDS", 30)
	groups, err := dockerbench.Run(c)
	if err != nil {
		t.Fatalf("%v\ndaemon log:\n%s", err, d.LogTail(20))
	}
	t.Logf("\n%s", dockerbench.Table(groups))
	for _, g := range groups {
		wf := benchkit.CompareCI(g.Wrapper, g.Floor, 2000)
		ov := benchkit.OverheadCI(g.Wrapper, g.Floor, g.Bare, 2000)
		goal := fmt.Sprintf("≤ %.2f: %s", dockerbench.Goal, wf.Verdict(dockerbench.Goal))
		if g.Diagnostic {
			goal = "(diagnostic: a no-op stands in for docker)"
		}
		rep.add("4 docker CLI wrapper", g.Name+": armhf-shim / floor",
			fmt.Sprintf("bare %s, floor %s, armhf-shim %s", benchkit.Format(g.Bare.Median()), benchkit.Format(g.Floor.Median()), benchkit.Format(g.Wrapper.Median())),
			wf.String(), goal)
		rep.add("4 docker CLI wrapper", g.Name+": added time / floor's added time", "", ov.String(), "")
	}
	rep.note("Section 4 (docker CLI wrapper): %d rounds; the real docker is %s against a test dockerd.", c.Rounds, c.Docker)
}
