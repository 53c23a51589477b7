package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	engineMu  sync.Mutex
	engineOut = map[string]engineResult{}
)

type engineResult struct {
	path    string
	missing string // why the build failed: a missing prerequisite
	broken  string // the script misbehaved: a bug, always a failure
}

// EnginesScript builds the container engines pinned in scripts/engines.versions.
func EnginesScript() string { return filepath.Join(RepoRoot(), "scripts", "engines.sh") }

// Engine returns the path of the binary name (an engine of
// scripts/engines.versions, "containerd", "runc", "crictl", or one of its
// binaries, "ctr", "containerd-shim-runc-v2", "buildctl") built for
// runtime.GOARCH, building it with scripts/engines.sh on first use: minutes
// cold, then cached in .cache/engines. It skips under -short; a build that
// fails skips with the reason, or fails under ARMHF_SHIM_REQUIRE=1.
func Engine(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skips tests that build container engines (" + name + "; make test builds them)")
	}
	r := buildEngine(name)
	if r.broken != "" {
		t.Fatal(r.broken)
	}
	Require(t, r.missing == "", "%s", r.missing)
	return r.path
}

// buildEngine runs scripts/engines.sh once per process and name.
func buildEngine(name string) engineResult {
	engineMu.Lock()
	defer engineMu.Unlock()
	if r, ok := engineOut[name]; ok {
		return r
	}
	var r engineResult
	// The script's own flock makes concurrent test processes wait for one build.
	cmd := exec.Command("bash", EnginesScript(), name)
	cmd.Env = append(os.Environ(), "GOARCH="+runtime.GOARCH)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		r.missing = "scripts/engines.sh " + name + ": " + err.Error() + "\n" + tail(stderr.String(), 20)
	} else {
		// An engine's name prints all its binaries ("containerd": ctr and the shim too).
		var paths []string
		for _, p := range strings.Fields(stdout.String()) {
			if filepath.Base(p) == name {
				paths = append(paths, p)
			}
		}
		if len(paths) == 1 {
			r.path = paths[0]
		} else {
			r.broken = "scripts/engines.sh " + name + " printed " + strconv.Quote(stdout.String()) + ", want one binary " + name
		}
	}
	engineOut[name] = r
	return r
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// EngineVersion is the version scripts/engines.versions pins for the engine
// name ("containerd", "runc").
func EngineVersion(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "scripts", "engines.versions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			return f[1]
		}
	}
	t.Fatalf("scripts/engines.versions has no engine %s", name)
	return ""
}
