package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/armhf-shim/armhf-shim/dind/dockercli"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

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
	fmt.Printf("\ndocker CLI wrapper, %d rounds (%s):\n\n%s\n", c.Rounds, c.Docker, table)
	for _, g := range groups {
		t.Logf("%s: interquartile spread bare %.1f%%, floor %.1f%%, armhf-shim %.1f%%",
			g.Name, 100*g.Bare.Spread(), 100*g.Floor.Spread(), 100*g.Wrapper.Spread())
	}
	if out := os.Getenv("ARMHF_SHIM_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Setup starts a test daemon with a busybox image and builds the three
// contestants; everything is removed in t.Cleanup.
func Setup(t testing.TB) (Config, *testenv.Dockerd) {
	testenv.RequireRoot(t)
	d := testenv.StartDockerd(t, testenv.DockerdOptions{})
	d.Import(t, testenv.BusyboxRootfs(t, "amd64"), "bench-busybox")
	dir := t.TempDir()
	wrapDir := filepath.Join(dir, "wrap")
	if err := os.MkdirAll(wrapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(wrapDir, "docker")
	if err := os.Symlink(testenv.BuildBinary(t, "./cmd/armhf-shim"), wrapper); err != nil {
		t.Fatal(err)
	}
	// The steady state: the cpuinfo file exists (it is made once).
	data, err := dockercli.HostCPUInfo()
	if err != nil {
		t.Fatal(err)
	}
	cpuinfo := filepath.Join(dir, "cpuinfo")
	if err := fsutil.WriteFileAtomic(cpuinfo, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return Config{
		Docker:  testenv.DockerCLI,
		Floor:   testenv.BuildBinary(t, "./internal/floor"),
		Wrapper: wrapper,
		PATH:    wrapDir + ":" + filepath.Dir(testenv.DockerCLI) + ":/usr/sbin:/sbin:/bin",
		Host:    d.Host,
		Image:   "bench-busybox",
		Noop:    testenv.BuildBinary(t, "./dind/internal/fakedocker"),
		CPUInfo: cpuinfo,
		Warmup:  envInt("ARMHF_SHIM_BENCH_WARMUP", 3),
		Rounds:  envInt("ARMHF_SHIM_BENCH_ROUNDS", 40),
	}, d
}
