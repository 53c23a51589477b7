package bench

import (
	"fmt"
	"os"
	"testing"
)

// TestBenchRuntime is `make bench-runtime`: it only runs with
// ARMHF_SHIM_BENCH=1 and asserts no time; it prints the table (and writes
// it to $ARMHF_SHIM_BENCH_OUT if set).
func TestBenchRuntime(t *testing.T) {
	if os.Getenv("ARMHF_SHIM_BENCH") != "1" {
		t.Skip("set ARMHF_SHIM_BENCH=1 (make bench-runtime) to measure the runtime wrapper")
	}
	c := Setup(t, 30)
	groups, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	table := Table(groups)
	fmt.Printf("\nruntime wrapper, %d rounds (runc %s):\n\n%s\n", c.Rounds, c.Runc, table)
	for _, g := range groups {
		for _, r := range []struct {
			name string
			s    interface{ Spread() float64 }
		}{{"bare", g.Bare}, {"floor", g.Floor}, {"armhf-shim", g.Wrapper}} {
			t.Logf("%s / %s: interquartile spread %.1f%%", g.Name, r.name, 100*r.s.Spread())
		}
	}
	if out := os.Getenv("ARMHF_SHIM_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
