package bench

// Section 6, scale: a batch of containers of the 32-bit image started at
// once on the test dockerd, through the armhf runtime versus runc (and the
// floor runtime: a Go program that only execs runc). Each
// batch is checked (every container ran, printed the 32-bit machine and an
// armv7 cpuinfo through armhf, and after `docker rm -f` nothing of them is
// left in the wrapper's state root); the wall time of the batch, from the
// first `docker run -d` to the last container's exit, is compared.

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
)

// scaleProbe prints uname -m and the cpuinfo's architecture line (none on
// an x86 host's own cpuinfo) and exits 0.
const scaleProbe = "uname -m; grep -m1 'CPU architecture' /proc/cpuinfo; true"

// scaleBatch starts n containers of image through runtime rt concurrently
// (`docker run -d`, then `docker wait`, one goroutine each) and returns
// the wall time until all exited. Then, untimed, it checks each
// container's exit status and output (want: what it must print), removes
// them all and checks the state root. Failures are reported on t; the
// error is set when the batch did not run at all.
func scaleBatch(t *testing.T, sd *shimDockerd, rt, image, name string, n int, want string) (time.Duration, error) {
	t.Helper()
	type result struct {
		id, exit string
		err      error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range res {
		wg.Add(1)
		go func(r *result) {
			defer wg.Done()
			o, e, err := sd.Docker("run", "-d", "--runtime", rt, "--label", "armhf-shim-bench=scale", image, "sh", "-c", scaleProbe)
			if err != nil {
				r.err = fmt.Errorf("docker run -d --runtime %s: %v: %s%s", rt, err, o, e)
				return
			}
			r.id = strings.TrimSpace(o)
			o, e, err = sd.Docker("wait", r.id)
			if err != nil {
				r.err = fmt.Errorf("docker wait %.12s: %v: %s%s", r.id, err, o, e)
				return
			}
			r.exit = strings.TrimSpace(o)
		}(&res[i])
	}
	wg.Wait()
	elapsed := time.Since(start)

	var ids []string
	failed := 0
	for _, r := range res {
		if r.id != "" {
			ids = append(ids, r.id)
		}
		switch {
		case r.err != nil:
			failed++
			t.Errorf("%s: %v", name, r.err)
		case r.exit != "0":
			failed++
			logs, _, _ := sd.Docker("logs", r.id)
			t.Errorf("%s: container %.12s exited %s; output %q", name, r.id, r.exit, logs)
		default:
			o, e, err := sd.Docker("logs", r.id)
			if err != nil {
				t.Errorf("%s: docker logs %.12s: %v: %s", name, r.id, err, e)
			} else if o != want {
				t.Errorf("%s: container %.12s printed %q, want %q", name, r.id, o, want)
			}
		}
	}
	if len(ids) > 0 {
		if o, e, err := sd.Docker(append([]string{"rm", "-f"}, ids...)...); err != nil {
			t.Errorf("%s: docker rm -f: %v: %s%s", name, err, o, e)
		}
	}
	if o, _, err := sd.Docker("ps", "-aq", "--filter", "label=armhf-shim-bench=scale"); err == nil && strings.TrimSpace(o) != "" {
		t.Errorf("%s: containers left after docker rm -f: %s", name, strings.Join(strings.Fields(o), " "))
	}
	if left := sd.stateLeftovers(t); len(left) > 0 {
		t.Errorf("%s: after docker rm -f of all %d containers, left in the armhf-shim state root %s: %s",
			name, len(ids), sd.StateRoot, strings.Join(left, "; "))
	}
	if failed > 0 {
		return 0, fmt.Errorf("%d of %d containers failed (see above); dockerd:\n%s", failed, n, sd.LogTail(20))
	}
	return elapsed, nil
}

// TestScale: N containers of the 32-bit image at once through the armhf
// runtime versus the same through runc, alternately.
func TestScale(t *testing.T) {
	sd := startShimDockerd(t)
	n := benchkit.EnvInt("ARMHF_SHIM_BENCH_SCALE_N", 32)
	rounds := benchkit.EnvInt("ARMHF_SHIM_BENCH_SCALE_ROUNDS", 3)
	warmup := benchkit.EnvInt("ARMHF_SHIM_BENCH_SCALE_WARMUP", 1)

	wantShim := sd.Machine32 + "\nCPU architecture: 7\n"
	wantRunc := strings.TrimSpace(sd.docker(t, "run", "--rm", "--runtime", "runc", sd.Image32, "uname", "-m")) + "\n"
	if wantRunc == sd.Machine32+"\n" {
		t.Fatalf("a 32-bit container through plain runc already reports %s: nothing to compare", sd.Machine32)
	}
	// The leftover check sees a running container's state (so it can fail).
	id := strings.TrimSpace(sd.docker(t, "run", "-d", "--runtime", "armhf", sd.Image32, "sleep", "60"))
	left := sd.stateLeftovers(t)
	for _, l := range left {
		if !strings.HasPrefix(l, "containers/"+id) {
			t.Errorf("state root of one running 32-bit container %.12s holds %s", id, l)
		}
	}
	if len(left) == 0 {
		t.Errorf("state root of one running 32-bit container %.12s: nothing seen (want containers/<id>/cpuinfo)", id)
	}
	sd.docker(t, "rm", "-f", id)
	if left := sd.stateLeftovers(t); len(left) != 0 {
		t.Errorf("state root after docker rm -f of one running container: %v", left)
	}

	batch := func(rt, want string) benchkit.Case {
		name := fmt.Sprintf("%d × %s via %s", n, sd.Image32, rt)
		return benchkit.Case{Name: name, Run: func() (time.Duration, error) {
			return scaleBatch(t, sd, rt, sd.Image32, name, n, want)
		}}
	}
	res, err := benchkit.Alternate(warmup, rounds, batch("armhf", wantShim), batch("floor", wantRunc), batch("runc", wantRunc))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%-22s median %s  q1 %s  spread %.1f%%  samples %v", r.Name, benchkit.Format(r.Median()), benchkit.Format(r.Q1()), 100*r.Spread(), r.Samples)
	}
	r := benchkit.Compare(res[0], res[2])
	rep.add("6 scale", fmt.Sprintf("%d concurrent docker run -d of the 32-bit image, start to all exited: armhf / runc", n),
		benchkit.Format(res[0].Median())+" / "+benchkit.Format(res[2].Median()), ratioCell(r), "none set (≈ 1 expected)")
	rf := benchkit.Compare(res[1], res[2])
	rep.add("6 scale", "the same, floor runtime (Go program that only execs runc) / runc",
		benchkit.Format(res[1].Median())+" / "+benchkit.Format(res[2].Median()), ratioCell(rf), "the least any Go wrapper costs")
	checks := "every armhf batch checked: all exited 0 and printed %s and `CPU architecture: 7`, and after `docker rm -f` " +
		"nothing per container was left in the wrapper's state root (only the shared cpuinfo cache)"
	if t.Failed() {
		checks = "the checks of the armhf batches (all exit 0, print %s and `CPU architecture: 7`, nothing left in the state root) " +
			"FAILED: see the test log"
	}
	rep.note("Section 6 (scale): %d containers (`sh -c 'uname -m; grep CPU architecture /proc/cpuinfo'`) started at once with "+
		"`docker run -d` + `docker wait` from %d goroutines, %d rounds after %d warm-up, alternating; "+checks+".",
		n, n, rounds, warmup, sd.Machine32)
}
