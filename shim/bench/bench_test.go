package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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

// bundle writes a runc bundle over rootfs running /bin/true.
func bundle(t *testing.T, rootfs string) string {
	dir := t.TempDir()
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
		Bundle32:  bundle(t, testenv.BusyboxRootfs(t, "i386")),
		Bundle64:  bundle(t, testenv.BusyboxRootfs(t, "amd64")),
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
