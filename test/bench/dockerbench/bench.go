// Package dockerbench measures what the docker CLI wrapper adds to a docker
// command.
//
// The model: three ways to run the same docker command are timed
// alternately (benchkit.Alternate) in one run, so machine noise hits them
// alike:
//
//   - bare: the real docker CLI, given the final argv (for docker run, the
//     one the wrapper produces, -v CPUINFO:/proc/cpuinfo:ro included, so the
//     daemon does the same work in every case);
//   - floor: test/bench/floor, a static Go program that does nothing but exec
//     the real docker — the least any Go wrapper can cost;
//   - wrapper: armhf-docker (the lean wrapper, cmd/armhf-docker) installed
//     as docker in front of the real CLI on PATH (it looks the real one up,
//     rewrites, execs).
//
// The goal (≤ 1.1) is judged as in the runtime wrapper's bench: the
// wrapper's added time over bare docker against the floor's added time,
// (wrapper − bare) / (floor − bare), with a bootstrap interval. It is
// settled by the groups where a no-op program stands in for docker (the
// wrappers' own cost, free of docker's milliseconds of noise), for a
// rewritten `run` and a passthrough `version`; with the real docker
// (`docker --version`, `docker version --format …` with one API call,
// `docker run --rm IMAGE true`) the same ratios are reported, and wrapper
// against floor as a whole. No time is asserted anywhere.
package dockerbench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
)

// Config names the binaries and the daemon.
type Config struct {
	Docker  string // the real docker CLI
	Floor   string // test/bench/floor
	Wrapper string // a "docker" that is (a link to) armhf-shim
	// PATH for the wrapper: its directory first, then the real docker's.
	PATH  string
	Host  string // DOCKER_HOST of the test daemon
	Image string // an image whose /bin/true exists
	// Noop is a do-nothing program standing in for docker (optional).
	Noop    string
	CPUInfo string // the wrapper's cpuinfo file (already generated)
	Warmup  int
	Rounds  int // for the real docker's --version and version; run: half
	// NoopRounds is for the groups with the no-op (each takes a few ms).
	NoopRounds int
}

// RoundsNote says how many rounds each kind of group runs.
func (c Config) RoundsNote() string {
	return fmt.Sprintf("%d rounds with the no-op docker, %d for docker --version and version, %d for docker run",
		c.NoopRounds, c.Rounds, max(c.Rounds/2, 5))
}

// Goal is the wrapper/floor limit (medians).
const Goal = 1.1

// Group is the three cases of one command.
type Group struct {
	Name                 string
	Bare, Floor, Wrapper benchkit.Result
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
	// Every contestant's pages as after a first load, none favoured.
	wrapper, err := filepath.EvalSymlinks(c.Wrapper)
	if err != nil {
		return nil, err
	}
	reload := []string{c.Docker, c.Floor, wrapper}
	if c.Noop != "" {
		reload = append(reload, c.Noop)
	}
	if err := benchkit.Reload(reload...); err != nil {
		return nil, err
	}
	var groups []Group
	if c.Noop != "" {
		// The wrapper finds the no-op first on PATH.
		dir, err := os.MkdirTemp("", "bench-noop-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		noop := dir + "/docker"
		if err := os.Symlink(c.Noop, noop); err != nil {
			return nil, err
		}
		wrapDir := c.PATH[:strings.IndexByte(c.PATH+":", ':')]
		for _, g := range []struct {
			name       string
			typed, run []string
		}{
			{"no-op docker, run (rewritten): the wrapper's own cost", []string{"run", "--rm", c.Image, "true"},
				append(append([]string{"run"}, mount...), "--rm", c.Image, "true")},
			{"no-op docker, version (passthrough): the wrapper's own cost", []string{"version", "--format", "{{.Server.Version}}"},
				[]string{"version", "--format", "{{.Server.Version}}"}},
		} {
			res, err := benchkit.Alternate(c.Warmup, c.NoopRounds,
				timed("bare docker", noop, g.run),
				timed("floor", c.Floor, g.run, "ARMHF_FLOOR_TARGET="+noop),
				timed("armhf-docker", c.Wrapper, g.typed, "PATH="+wrapDir+":"+dir),
			)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", g.name, err)
			}
			groups = append(groups, Group{Name: g.name, Bare: res[0], Floor: res[1], Wrapper: res[2]})
		}
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
			timed("armhf-docker", c.Wrapper, g.typed, "PATH="+c.PATH),
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
		ov := benchkit.OverheadCI(g.Wrapper, g.Floor, g.Bare, 2000)
		rows = append(rows, []string{
			g.Name,
			benchkit.Format(g.Bare.Median()), benchkit.Format(g.Floor.Median()), benchkit.Format(g.Wrapper.Median()),
			fmt.Sprintf("%.3f / %.3f", wb.Median, wb.Q1),
			fmt.Sprintf("%.3f / %.3f", wf.Median, wf.Q1),
			ov.String(),
			fmt.Sprintf("≤ %.2f: %s", Goal, ov.Verdict(Goal)),
		})
	}
	return benchkit.Table([]string{"command", "bare docker", "floor", "armhf-docker",
		"armhf-docker / bare (median / q1)", "armhf-docker / floor (median / q1)", "added time / floor's added time", "goal"}, rows)
}

// Setup starts a test daemon with a busybox image and builds the three
// contestants; everything is removed in t.Cleanup.
func Setup(t testing.TB) (Config, *testenv.Dockerd) {
	testenv.RequireRoot(t)
	d := testenv.StartDockerd(t, testenv.DockerdOptions{})
	// 32-bit, so that the wrapper rewrites its run (after asking the daemon).
	d.ImportArch(t, testenv.BusyboxRootfs(t, "i386"), "bench-busybox", "386")
	dir := t.TempDir()
	wrapDir := filepath.Join(dir, "wrap")
	if err := os.MkdirAll(wrapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(wrapDir, "docker")
	if err := os.Symlink(testenv.BuildBinary(t, "./cmd/armhf-docker"), wrapper); err != nil {
		t.Fatal(err)
	}
	// The steady state: the cpuinfo file exists (it is made once).
	data, err := cpuinfo.OnlineARMv7()
	if err != nil {
		t.Fatal(err)
	}
	cpuinfoFile := filepath.Join(dir, "cpuinfo")
	if err := fsutil.WriteFileAtomic(cpuinfoFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return Config{
		Docker:     testenv.DockerCLI,
		Floor:      testenv.BuildBinary(t, "./test/bench/floor"),
		Wrapper:    wrapper,
		PATH:       wrapDir + ":" + filepath.Dir(testenv.DockerCLI) + ":/usr/sbin:/sbin:/bin",
		Host:       d.Host,
		Image:      "bench-busybox",
		Noop:       testenv.BuildBinary(t, "./dind/internal/fakedocker"),
		CPUInfo:    cpuinfoFile,
		Warmup:     benchkit.EnvInt("ARMHF_SHIM_BENCH_WARMUP", 3),
		Rounds:     benchkit.EnvInt("ARMHF_SHIM_BENCH_ROUNDS", 40),
		NoopRounds: benchkit.EnvInt("ARMHF_SHIM_BENCH_NOOP_ROUNDS", 1000),
	}, d
}
