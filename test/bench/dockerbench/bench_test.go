package dockerbench

import (
	"fmt"
	"os"
	"testing"
)

// TestBenchDocker is `make bench-docker`: it runs only with
// ARMHF_SHIM_BENCH=1 and asserts no time; it prints the table (and writes
// it to $ARMHF_SHIM_BENCH_OUT if set).
func TestBenchDocker(t *testing.T) {
	if os.Getenv("ARMHF_SHIM_BENCH") != "1" {
		t.Skip("set ARMHF_SHIM_BENCH=1 (make bench-docker) to measure the docker wrapper")
	}
	c, d := Setup(t)
	groups, err := Run(c)
	if err != nil {
		t.Fatalf("%v\ndaemon log:\n%s", err, d.LogTail(20))
	}
	table := Table(groups)
	fmt.Printf("\ndocker CLI wrapper, %s (%s):\n\n%s\n", c.RoundsNote(), c.Docker, table)
	for _, g := range groups {
		t.Logf("%s: interquartile spread bare %.1f%%, floor %.1f%%, armhf-docker %.1f%%",
			g.Name, 100*g.Bare.Spread(), 100*g.Floor.Spread(), 100*g.Wrapper.Spread())
	}
	if out := os.Getenv("ARMHF_SHIM_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
