package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestMicro is section 5: the Go micro-benchmarks (go test -bench
// -benchmem) of the pure work on the hot paths, the static binaries' sizes
// and the peak RSS of one wrapper invocation.
func TestMicro(t *testing.T) {
	benches := []struct{ pkg, pattern, what, goal, tmpdir string }{
		{"./cpuinfo/", "^BenchmarkRender(2|64|192)$", "cpuinfo rendering", "< 100 µs and a handful of allocations at 64 CPUs", ""},
		{"./cpuinfo/", "^BenchmarkParse$", "cpuinfo parsing", "", ""},
		// Docker's and containerd's bundles live on tmpfs (/run); BuildKit's
		// under /var/lib/docker, on disk.
		{"./shim/modify/", "^BenchmarkSpecLoadModifyFlush$", "spec load-modify-flush, Docker 20.10 config.json, bundle on tmpfs", "", "/dev/shm"},
		{"./shim/modify/", "^BenchmarkSpecLoadModifyFlush$", "spec load-modify-flush, Docker 20.10 config.json, bundle on disk", "", testenv.CacheDir(t, "bench-disk")},
		{"./dockercli/dockerargs/", "^BenchmarkRewrite", "docker argv rewrite", "", ""},
		{"./shim/detect/", "^BenchmarkInspect$", "ELF detection through PATH and a symlink", "", ""},
	}
	for _, b := range benches {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", b.pattern, "-benchmem", "-count", "1", b.pkg)
		cmd.Dir = testenv.RepoRoot()
		if b.tmpdir != "" {
			cmd.Env = append(os.Environ(), "TMPDIR="+b.tmpdir)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go test -bench %s %s: %v\n%s", b.pattern, b.pkg, err, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
				continue
			}
			name := strings.TrimPrefix(f[0], "Benchmark")
			measured := strings.Join(f[2:], " ")
			goal := ""
			if strings.HasPrefix(name, "Render64") {
				goal = b.goal
			}
			rep.add("5 micro", b.what+": "+name, measured, "", goal)
		}
	}
	for _, c := range []string{"./cmd/armhf-shim", "./cmd/armhf-runc"} {
		bin := testenv.BuildBinary(t, c)
		st, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		rep.add("5 micro", "static binary size: "+strings.TrimPrefix(c, "./cmd/"), fmt.Sprintf("%.1f MiB", float64(st.Size())/(1<<20)), "", "")
	}
	// Peak RSS of one passthrough runtime call: the wrapper execs /bin/true,
	// whose own RSS is far smaller, so the high-water mark is the wrapper's.
	// GNU time measures it (a Go parent would vfork, and the child's
	// high-water mark would start at the parent's RSS).
	gnuTime := testenv.RequireCommand(t, "/usr/bin/time")
	for _, tc := range []struct {
		name string
		argv []string
		env  []string
	}{
		{"armhf-runc --version (passthrough)", []string{testenv.BuildBinary(t, "./cmd/armhf-runc"), "--version"}, []string{"ARMHF_SHIM_RUNTIME=/bin/true"}},
		{"armhf-shim runtime --version", []string{testenv.BuildBinary(t, "./cmd/armhf-shim"), "runtime", "--version"}, []string{"ARMHF_SHIM_RUNTIME=/bin/true"}},
		{"test/bench/floor", []string{testenv.BuildBinary(t, "./test/bench/floor")}, []string{"ARMHF_FLOOR_TARGET=/bin/true"}},
		{"/bin/true alone", []string{"/bin/true"}, nil},
	} {
		cmd := exec.Command(gnuTime, append([]string{"-f", "maxrss=%M"}, tc.argv...)...)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", tc.name, err, out)
		}
		_, kb, ok := strings.Cut(strings.TrimSpace(string(out)), "maxrss=")
		if !ok {
			t.Fatalf("%s: no maxrss in %q", tc.name, out)
		}
		rep.add("5 micro", "peak RSS: "+tc.name, kb+" KiB", "", "")
	}
}
