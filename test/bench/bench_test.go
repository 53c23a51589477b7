// Package bench is `make bench`: every performance comparison of the
// project, measured side by side on the machine at hand and printed as a
// three-line headline — a real 32-bit build with and without the shim and
// under QEMU, docker run through the registered runtime, the wrapper's own
// cost per call — followed by one table of every comparison (written to
// docs/PERFORMANCE.md with ARMHF_SHIM_BENCH_WRITE=1).
//
// Each comparison alternates its cases (A B A B …) for several rounds and
// reports ratios of medians and lower quartiles (benchkit); no test here
// asserts a time. It runs only with ARMHF_SHIM_BENCH=1.
package bench

import (
	"errors"
	"fmt"
	"io/fs"
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

// report collects the headline and the rows of the final table.
type report struct {
	mu    sync.Mutex
	head  [3]string
	rows  [][]string
	notes []string
}

// headline sets line i of the headline: what a user feels first (0: a real
// 32-bit build with and without the shim and under QEMU, 1: docker run
// through the registered runtime, 2: the wrapper's own cost per call).
func (r *report) headline(i int, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.head[i] = line
}

// headlines is the headline as a numbered Markdown list, a line that was
// not measured saying so.
func (r *report) headlines() string {
	var b strings.Builder
	for i, l := range r.head {
		if l == "" {
			l = [...]string{"a real 32-bit build", "docker run through the registered runtime", "the wrapper's own cost per call"}[i] +
				": not measured (its section failed or was skipped: see the test log)"
		}
		fmt.Fprintf(&b, "%d. %s\n", i+1, l)
	}
	return b.String()
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
	fmt.Println(rep.headlines())
	fmt.Println(table)
	for _, n := range rep.notes {
		fmt.Println("- " + n)
	}
	if os.Getenv("ARMHF_SHIM_BENCH_WRITE") == "1" && code == 0 {
		if err := writeDoc(rep.headlines(), table, rep.notes); err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing docs/PERFORMANCE.md:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func ratioCell(r benchkit.Ratio) string {
	return fmt.Sprintf("%.3f / %.3f", r.Median, r.Q1)
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

func writeDoc(headline, table string, notes []string) error {
	path := testenv.RepoRoot() + "/docs/PERFORMANCE.md"
	var b strings.Builder
	b.WriteString("# Performance\n\n")
	b.WriteString(headline)
	b.WriteString("\nThe shim's goal is its own cost: at most 1.01× the same 32-bit work without it. How fast 32-bit code runs\n")
	b.WriteString("against a 64-bit build of it belongs to that code, not to the shim (issue 7's goal \"32-bit via exec ≤ 1.05×\n")
	b.WriteString("64-bit native\" is retired); section 1 still shows it, for information.\n\n")
	b.WriteString("## How these figures are made\n\n")
	b.WriteString("Produced by `make bench` (which runs `ARMHF_SHIM_BENCH=1 ARMHF_SHIM_BENCH_WRITE=1 go test -v -timeout 90m ./test/bench/`).\n")
	b.WriteString("Every comparison alternates its cases over several rounds on the same machine, the order changing from round to\n")
	b.WriteString("round as a balanced (Williams) design: each case runs in each position, and after each other case, equally often.\n")
	b.WriteString("A ratio with a goal comes with a 95% bootstrap interval over the rounds, and the goal is called met or missed only\n")
	b.WriteString("when the whole interval says so (\"not settled\" otherwise); other ratios are of medians / of lower quartiles (noise\n")
	b.WriteString("only adds time). Absolute times on a shared machine mean little; the ratios are the result. A goal of the form\n")
	b.WriteString("\"the wrapper's added time ≤ k× the floor's\" (sections 2 and 4) is judged where the wrapper's cost is measured alone\n")
	b.WriteString("(a do-nothing program in place of runc or docker); end to end, the same ratios are shown.\n\n")
	fmt.Fprintf(&b, "Machine: %s. Date: %s.\n\n", machine(), time.Now().UTC().Format("2006-01-02"))
	b.WriteString("## All comparisons\n\n")
	b.WriteString(table)
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	b.WriteString(keptPart(old))
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// keptMarker ends what make bench writes in docs/PERFORMANCE.md: the
// measurements and history written by hand below it are kept.
const keptMarker = "<!-- make bench writes everything above this line; what follows is kept -->"

// keptPart is the marker and what follows it in the old document, with a
// blank line before, or just the marker when the old document has none.
func keptPart(old []byte) string {
	if _, after, ok := strings.Cut(string(old), keptMarker); ok {
		return "\n" + keptMarker + after
	}
	return "\n" + keptMarker + "\n"
}

// What is written by hand below the marker survives a make bench.
func TestKeptPart(t *testing.T) {
	doc := "# Performance\n\nold table\n\n" + keptMarker + "\n\n## History\n\nkept\n"
	if got, want := keptPart([]byte(doc)), "\n"+keptMarker+"\n\n## History\n\nkept\n"; got != want {
		t.Errorf("keptPart = %q, want %q", got, want)
	}
	if got := keptPart(nil); got != "\n"+keptMarker+"\n" {
		t.Errorf("no old document: %q", got)
	}
}
