// Package bench is `make bench`: every performance comparison of the
// project, measured side by side on the machine at hand and printed as one
// table (written to docs/PERFORMANCE.md with ARMHF_SHIM_BENCH_WRITE=1).
//
// Each comparison alternates its cases (A B A B …) for several rounds and
// reports ratios of medians and lower quartiles (benchkit); no test here
// asserts a time. It runs only with ARMHF_SHIM_BENCH=1.
package bench

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
)

// report collects the rows of the final table.
type report struct {
	mu    sync.Mutex
	rows  [][]string
	notes []string
}

var rep report

func (r *report) add(section, comparison, measured, ratio, goal string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, []string{section, comparison, measured, ratio, goal})
}

func (r *report) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func TestMain(m *testing.M) {
	if os.Getenv("ARMHF_SHIM_BENCH") != "1" {
		fmt.Println("bench: set ARMHF_SHIM_BENCH=1 (make bench) to run the performance comparisons")
		os.Exit(0)
	}
	code := m.Run()
	// Sections run in test order; the table reads in section order.
	sort.SliceStable(rep.rows, func(i, j int) bool { return rep.rows[i][0] < rep.rows[j][0] })
	sort.SliceStable(rep.notes, func(i, j int) bool { return rep.notes[i] < rep.notes[j] })
	table := benchkit.Table([]string{"section", "comparison", "medians", "ratio", "goal"}, rep.rows)
	fmt.Println()
	fmt.Println(table)
	for _, n := range rep.notes {
		fmt.Println("- " + n)
	}
	if os.Getenv("ARMHF_SHIM_BENCH_WRITE") == "1" && code == 0 {
		if err := writeDoc(table, rep.notes); err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing docs/PERFORMANCE.md:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func ratioCell(r benchkit.Ratio) string {
	return fmt.Sprintf("%.3f / %.3f", r.Median, r.Q1)
}

func goalCell(r benchkit.Ratio, limit float64, lessIsBetter bool) string {
	ok := r.Median <= limit
	if !lessIsBetter {
		ok = r.Median >= limit
	}
	mark := "met"
	if !ok {
		mark = "MISSED"
	}
	op := "≤"
	if !lessIsBetter {
		op = "≥"
	}
	return fmt.Sprintf("%s %.2f: %s", op, limit, mark)
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d CPUs, %s, Linux %s, %s", runtime.GOARCH, runtime.NumCPU(), cpu, strings.TrimSpace(string(kernel)), runtime.Version())
}

func writeDoc(table string, notes []string) error {
	path := testenv.RepoRoot() + "/docs/PERFORMANCE.md"
	var b strings.Builder
	b.WriteString("# Performance\n\n")
	b.WriteString("Produced by `make bench` (which runs `ARMHF_SHIM_BENCH=1 ARMHF_SHIM_BENCH_WRITE=1 go test -v -timeout 90m ./test/bench/`).\n")
	b.WriteString("Every comparison alternates its cases over several rounds on the same machine, the order changing from round to\n")
	b.WriteString("round as a balanced (Williams) design: each case runs in each position, and after each other case, equally often.\n")
	b.WriteString("Sections 2–4 give the ratio of medians with a 95% bootstrap interval over the rounds, and call a goal met or missed\n")
	b.WriteString("only when the whole interval says so (\"not settled\" otherwise); sections 1, 5 and 6 give ratios of medians / of lower\n")
	b.WriteString("quartiles (noise only adds time). Absolute times on a shared machine mean little; the ratios are the result.\n")
	b.WriteString("A goal of the form \"the wrapper's added time ≤ k× the floor's\" (sections 2 and 4) is judged where the wrapper's\n")
	b.WriteString("cost is measured alone (a do-nothing program in place of runc or docker); end to end, the same ratios are shown.\n\n")
	fmt.Fprintf(&b, "Machine: %s. Date: %s.\n\n", machine(), time.Now().UTC().Format("2006-01-02"))
	b.WriteString(table)
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
