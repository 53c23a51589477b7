package runtimebench

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
	c := Setup(t, 100)
	groups, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	table := Table(groups, c.Resamples)
	fmt.Printf("\nruntime wrapper (runc %s):\n\n%s\n", c.Runc, table)
	for _, g := range groups {
		for name, r := range g.Results {
			t.Logf("%s / %s: median %v, interquartile spread %.1f%%", g.Name, name, r.Median(), 100*r.Spread())
		}
	}
	if out := os.Getenv("ARMHF_SHIM_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
