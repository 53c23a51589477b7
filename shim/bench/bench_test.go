package bench

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestBenchRuntime is `make bench-runtime`: it only runs with
// ARMHF_SHIM_BENCH=1 and asserts no time; it prints the table (and writes
// it to $ARMHF_SHIM_BENCH_OUT if set).
func TestBenchRuntime(t *testing.T) {
	if os.Getenv("ARMHF_SHIM_BENCH") != "1" {
		t.Skip("set ARMHF_SHIM_BENCH=1 (make bench-runtime) to measure the runtime wrapper")
	}
	testenv.RequireRoot(t)
	runc := testenv.RequireCommand(t, "runc")
	c := Config{
		Runc:      runc,
		Shim:      testenv.BuildBinary(t, "./cmd/armhf-shim"),
		Floor:     testenv.BuildBinary(t, "./internal/floor"),
		Lean:      testenv.BuildBinary(t, "./cmd/armhf-runc"),
		Bundle32:  Bundle(t, testenv.BusyboxRootfs(t, "i386")),
		Bundle64:  Bundle(t, testenv.BusyboxRootfs(t, "amd64")),
		Root:      t.TempDir(),
		StateRoot: t.TempDir(),
		Warmup:    envInt("ARMHF_SHIM_BENCH_WARMUP", 3),
		Rounds:    envInt("ARMHF_SHIM_BENCH_ROUNDS", 30),
	}
	groups, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	table := Table(groups)
	fmt.Printf("\nruntime wrapper, %d rounds (runc %s):\n\n%s\n", c.Rounds, runc, table)
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
