package bench

import (
	"fmt"
	"testing"

	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
	dockerbench "github.com/armhf-shim/armhf-shim/test/bench/dockerbench"
)

// TestDockerCLIWrapper is section 4: the docker CLI wrapper (the lean
// armhf-docker) against the real docker and the floor (a static Go program
// that only execs docker), for `run` (rewritten) and `version`
// (passthrough). The goal is judged as in section 2: the wrapper's added
// time against the floor's.
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
		rep.add("4 docker CLI wrapper", g.Name+": armhf-docker added time / floor's added time",
			fmt.Sprintf("bare %s, floor %s, armhf-docker %s", benchkit.Format(g.Bare.Median()), benchkit.Format(g.Floor.Median()), benchkit.Format(g.Wrapper.Median())),
			ov.String(), fmt.Sprintf("≤ %.2f: %s", dockerbench.Goal, ov.Verdict(dockerbench.Goal)))
		rep.add("4 docker CLI wrapper", g.Name+": armhf-docker / floor, whole command", "", wf.String(), "")
	}
	rep.note("Section 4 (docker CLI wrapper): %s; the real docker is %s against a test dockerd; the wrapper is armhf-docker "+
		"(cmd/armhf-docker) installed as docker before it on PATH. Ratios of medians with 95%% bootstrap intervals; the goal "+
		"is judged on the added time, as in section 2, and is settled by the no-op groups (docker's own noise is milliseconds).",
		c.RoundsNote(), c.Docker)
}
