// Package bench measures what the docker CLI wrapper adds to a docker
// command.
//
// The model: three ways to run the same docker command are timed
// alternately (A B C A B C …, benchkit.Alternate) in one run, so machine
// noise hits them alike:
//
//   - bare: the real docker CLI, given the final argv (for docker run, the
//     one the wrapper produces, -v CPUINFO:/proc/cpuinfo:ro included, so the
//     daemon does the same work in every case);
//   - floor: internal/floor, a static Go program that does nothing but exec
//     the real docker — the least any Go wrapper can cost;
//   - wrapper: armhf-shim installed as docker in front of the real CLI on
//     PATH (it looks the real one up, rewrites, execs).
//
// for a no-op stand-in for docker (fakedocker: what remains is the cost
// of the wrappers themselves, Go start-up and execve), `docker --version`
// (no daemon: the wrapper's cost is most visible),
// `docker version --format …` (passthrough, one API call) and
// `docker run --rm IMAGE true` (rewritten, a container started). Results
// are ratios of medians and lower quartiles: the wrapper against the floor
// (goal ≤ 1.1) and the wrapper's added time over bare docker against the
// floor's. No time is asserted anywhere.
package bench

import (
	"bytes"
	"fmt"
	"github.com/armhf-shim/armhf-shim/dind/dockercli"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/benchkit"
)

// Config names the binaries and the daemon.
type Config struct {
	Docker  string // the real docker CLI
	Floor   string // internal/floor
	Wrapper string // a "docker" that is (a link to) armhf-shim
	// PATH for the wrapper: its directory first, then the real docker's.
	PATH  string
	Host  string // DOCKER_HOST of the test daemon
	Image string // an image whose /bin/true exists
	// Noop is a do-nothing program standing in for docker (optional).
	Noop    string
	CPUInfo string // the wrapper's cpuinfo file (already generated)
	Warmup  int
	Rounds  int
}

// Goal is the wrapper/floor limit (medians).
const Goal = 1.1

// Group is the three cases of one command.
type Group struct {
	Name                 string
	Bare, Floor, Wrapper benchkit.Result
	Diagnostic           bool // no goal: shows where the time goes
}

// Run measures every group.
func Run(c Config) ([]Group, error) {
	env := []string{"DOCKER_HOST=" + c.Host, "ARMHF_SHIM_CPUINFO=" + c.CPUInfo, "ARMHF_SHIM_CONFIG=/nonexistent/armhf-shim.json"}
	timed := func(name, bin string, args []string, extra ...string) benchkit.Case {
		return benchkit.Case{Name: name, Run: func() (time.Duration, error) {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(append(os.Environ(), env...), extra...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			if err != nil {
				return 0, fmt.Errorf("%s %q: %v: %s", bin, args, err, out.String())
			}
			return d, nil
		}}
	}
	mount := []string{"-v", c.CPUInfo + ":/proc/cpuinfo:ro"}
	var groups []Group
	if c.Noop != "" {
		// The wrapper finds the no-op first on PATH; run is rewritten.
		dir, err := os.MkdirTemp("", "bench-noop-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		noop := dir + "/docker"
		if err := os.Symlink(c.Noop, noop); err != nil {
			return nil, err
		}
		typed := []string{"run", "--rm", c.Image, "true"}
		run := append(append([]string{"run"}, mount...), "--rm", c.Image, "true")
		wrapDir := c.PATH[:strings.IndexByte(c.PATH+":", ':')]
		res, err := benchkit.Alternate(c.Warmup, c.Rounds*2,
			timed("bare docker", noop, run),
			timed("floor", c.Floor, run, "ARMHF_FLOOR_TARGET="+noop),
			timed("armhf-shim", c.Wrapper, typed, "PATH="+wrapDir+":"+dir),
		)
		if err != nil {
			return nil, fmt.Errorf("no-op docker: %w", err)
		}
		groups = append(groups, Group{Name: "no-op docker, run rewritten (wrapper cost alone)", Bare: res[0], Floor: res[1], Wrapper: res[2], Diagnostic: true})
	}
	for _, g := range []struct {
		name       string
		typed, run []string // what the user types; what reaches docker
		rounds     int
	}{
		{"docker --version (no daemon)", []string{"--version"}, []string{"--version"}, c.Rounds},
		{"docker version --format (passthrough)", []string{"version", "--format", "{{.Server.Version}}"},
			[]string{"version", "--format", "{{.Server.Version}}"}, c.Rounds},
		{"docker run --rm (rewritten)", []string{"run", "--rm", c.Image, "true"},
			append(append([]string{"run"}, mount...), "--rm", c.Image, "true"), max(c.Rounds/2, 5)},
	} {
		res, err := benchkit.Alternate(c.Warmup, g.rounds,
			timed("bare docker", c.Docker, g.run),
			timed("floor", c.Floor, g.run, "ARMHF_FLOOR_TARGET="+c.Docker),
			timed("armhf-shim", c.Wrapper, g.typed, "PATH="+c.PATH),
		)
		if err != nil {
			return groups, fmt.Errorf("%s: %w", g.name, err)
		}
		groups = append(groups, Group{Name: g.name, Bare: res[0], Floor: res[1], Wrapper: res[2]})
	}
	return groups, nil
}

// Table renders the groups as Markdown.
func Table(groups []Group) string {
	var rows [][]string
	for _, g := range groups {
		wf := benchkit.Compare(g.Wrapper, g.Floor)
		wb := benchkit.Compare(g.Wrapper, g.Bare)
		ov := benchkit.Overhead(g.Wrapper, g.Floor, g.Bare)
		verdict := fmt.Sprintf("≤ %.2f: meets", Goal)
		switch {
		case g.Diagnostic:
			verdict = "(diagnostic)"
		case wf.Median > Goal:
			verdict = fmt.Sprintf("≤ %.2f: MISSES", Goal)
		}
		rows = append(rows, []string{
			g.Name,
			benchkit.Format(g.Bare.Median()), benchkit.Format(g.Floor.Median()), benchkit.Format(g.Wrapper.Median()),
			fmt.Sprintf("%.3f / %.3f", wb.Median, wb.Q1),
			fmt.Sprintf("%.3f / %.3f", wf.Median, wf.Q1),
			fmt.Sprintf("%.2f / %.2f", ov.Median, ov.Q1),
			verdict,
		})
	}
	return benchkit.Table([]string{"command", "bare docker", "floor", "armhf-shim",
		"armhf-shim / bare (median / q1)", "armhf-shim / floor (median / q1)", "added time vs floor's added time", "goal (vs floor)"}, rows)
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
		Warmup:  benchkit.EnvInt("ARMHF_SHIM_BENCH_WARMUP", 3),
		Rounds:  benchkit.EnvInt("ARMHF_SHIM_BENCH_ROUNDS", 40),
	}, d
}
