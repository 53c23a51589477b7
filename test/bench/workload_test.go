package bench

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
	"github.com/armhf-shim/armhf-shim/uname"
)

// writeCorpus writes about mb megabytes of deterministic, text-like lines.
func writeCorpus(t *testing.T, path string, mb int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewSource(7))
	words := strings.Fields("arm armhf aarch64 thumb neon vfpv4 gcc ld configure make install build cache layer runc " +
		"container image kernel personality cpuinfo native emulation qemu graviton ampere neoverse cortex")
	var n int
	for n < mb<<20 {
		k := 4 + rng.Intn(10)
		for i := 0; i < k; i++ {
			s := words[rng.Intn(len(words))]
			w.WriteString(s)
			w.WriteByte(' ')
			n += len(s) + 1
		}
		s := fmt.Sprintf("%08x\n", rng.Uint32())
		w.WriteString(s)
		n += len(s)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestWorkload: (a) 64-bit native, (a') 32-bit run directly, (b) 32-bit
// through armhf-shim exec, (c) 32-bit under QEMU user emulation.
func TestWorkload(t *testing.T) {
	testenv.RequireRoot(t)
	var native64, compat32, qemuName string
	switch runtime.GOARCH {
	case "amd64":
		native64, compat32, qemuName = "amd64", "i386", "qemu-i386-static"
	case "arm64":
		native64, compat32, qemuName = "arm64", "armhf", "qemu-arm-static"
	default:
		t.Skipf("no compat target on %s", runtime.GOARCH)
	}
	qemu := testenv.RequireCommand(t, qemuName)
	shim := testenv.BuildBinary(t, "./cmd/armhf-shim")
	bb64 := filepath.Join(testenv.BusyboxRootfs(t, native64), "bin", "busybox")
	bb32 := filepath.Join(testenv.BusyboxRootfs(t, compat32), "bin", "busybox")
	script := filepath.Join(testenv.RepoRoot(), "test", "bench", "workload.sh")

	mb := benchkit.EnvInt("ARMHF_SHIM_BENCH_CORPUS_MB", 64)
	spawns := benchkit.EnvInt("ARMHF_SHIM_BENCH_SPAWNS", 300)
	rounds := benchkit.EnvInt("ARMHF_SHIM_BENCH_WORKLOAD_ROUNDS", 5)
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	writeCorpus(t, corpus, mb)

	// Every variant runs the workload's steps one after another, each its own
	// invocation (so a step's time is its own), and the case's time is their
	// sum; the steps' times are kept to show where a ratio comes from.
	steps := []string{"gzip", "gunzip", "sha256", "sort", "spawns"}
	perStep := map[string][]benchkit.Result{}
	run := func(name string, argv []string, bb string) benchkit.Case {
		perStep[name] = make([]benchkit.Result, len(steps))
		return benchkit.Case{Name: name, Run: func() (time.Duration, error) {
			work, err := os.MkdirTemp(dir, "w")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(work)
			var total time.Duration
			for i, step := range steps {
				cmd := exec.Command(argv[0], append(argv[1:], "sh", script, corpus, work, step)...)
				cmd.Env = append(os.Environ(), "BB="+bb, fmt.Sprintf("SPAWNS=%d", spawns))
				start := time.Now()
				out, err := cmd.CombinedOutput()
				d := time.Since(start)
				if err != nil {
					return 0, fmt.Errorf("step %s: %v: %s", step, err, out)
				}
				perStep[name][i].Samples = append(perStep[name][i].Samples, d)
				total += d
			}
			return total, nil
		}}
	}
	cases := []benchkit.Case{
		run("a: 64-bit native", []string{bb64}, bb64),
		run("a': 32-bit direct", []string{bb32}, bb32),
		run("b: 32-bit via armhf-shim exec", []string{shim, "exec", "--", bb32}, bb32),
		run("c: 32-bit under "+qemuName, []string{qemu, bb32}, qemu+" "+bb32),
	}
	// One unmeasured round first: the corpus was just written (writeback)
	// and no binary has run yet.
	res, err := benchkit.Alternate(1, rounds, cases...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%-40s median %s  q1 %s  spread %.1f%%", r.Name, benchkit.Format(r.Median()), benchkit.Format(r.Q1()), 100*r.Spread())
	}
	a, a32, b, c := res[0], res[1], res[2], res[3]
	what := fmt.Sprintf("gzip, gunzip+md5, sha256 and sort+md5 of %d MB, %d×2 process spawns, each step its own invocation (the per-step rows: ratios of the steps' medians); %d rounds after 1 warm-up", mb, spawns, rounds)
	sec := "1 native vs emulation: busybox workload"
	rb := benchkit.Compare(b, a)
	rep.add(sec, "(b) 32-bit via exec / (a) 64-bit native",
		benchkit.Format(b.Median())+" / "+benchkit.Format(a.Median()), ratioCell(rb), "the compat code's speed and the shim's cost (goal retired)")
	rs := benchkit.CompareCI(b, a32, 2000)
	rep.add(sec, "(b) 32-bit via exec / (a') same 32-bit binary run directly: the shim's own cost",
		benchkit.Format(b.Median())+" / "+benchkit.Format(a32.Median()), rs.String(), "≤ 1.01: "+rs.Verdict(1.01))
	rn := benchkit.Compare(a32, a)
	rep.add(sec, "(a') 32-bit binary run directly / (a) 64-bit native: the 32-bit code's own speed, (b)/(a) without the shim",
		benchkit.Format(a32.Median())+" / "+benchkit.Format(a.Median()), ratioCell(rn), "the compat code, not the shim")
	// Per step: which steps keep (b)/(a) within the goal, and whether what
	// exceeds it is the shim (b)/(a') or the 32-bit code (a')/(a).
	bySteps := func(x, y string) string {
		var cells []string
		for i, step := range steps {
			cells = append(cells, fmt.Sprintf("%s %.3f", step, benchkit.Compare(perStep[x][i], perStep[y][i]).Median))
		}
		return strings.Join(cells, ", ")
	}
	rep.add(sec, "per step, (b) 32-bit via exec / (a) 64-bit native", "", bySteps(b.Name, a.Name), "")
	rep.add(sec, "per step, (b) 32-bit via exec / (a') same 32-bit binary run directly", "", bySteps(b.Name, a32.Name), "the shim's own cost")
	rep.add(sec, "per step, (a') 32-bit direct / (a) 64-bit native", "", bySteps(a32.Name, a.Name), "the compat code, not the shim")
	rc := benchkit.Compare(c, b)
	rep.add(sec, "(c) 32-bit under QEMU / (b) 32-bit via exec: speed-up over emulation",
		benchkit.Format(c.Median())+" / "+benchkit.Format(b.Median()), ratioCell(rc), "")
	rep.note("Section 1 (busybox workload): %s; 32-bit target %s (compat uname -m %s).", what, compat32, uname.HostCompatMachine())
}
