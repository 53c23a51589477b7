package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
)

// The wrapper's per-call paths — passthrough, a 64-bit create, a 32-bit
// create and run, a delete — run within the stack Go starts the wrapper
// with (stackNote): an armhf-runc built with -tags armhf_stackcheck
// (cmd/armhf-runc/budget_stackcheck.go) dies with "stack overflow" on any
// growth past it. Rendering a CPU set's cpuinfo for the first time is not
// per call, so the cache is made first.
func TestHotPathsFitTheInitialStack(t *testing.T) {
	bin := testenv.BuildBinaryTags(t, "./cmd/armhf-runc", "armhf_stackcheck")
	state := t.TempDir()
	if _, err := (statedir.Dir{Root: state}).SharedCPUInfo(""); err != nil {
		t.Fatal(err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	b32, cfg32 := bundle(t, i386Exe, nil)
	b64, _ := bundle(t, amd64Exe, nil)
	for _, c := range []struct {
		name string
		args []string
		is32 bool
	}{
		{"passthrough", []string{"--version"}, false},
		{"64-bit create", []string{"create", "--bundle", b64, "c64"}, false},
		{"32-bit create", []string{"create", "--bundle", b32, "c32"}, true},
		{"32-bit attached run", []string{"run", "--bundle", b32, "r32"}, true},
		{"delete", []string{"delete", "c32"}, false},
	} {
		os.WriteFile(filepath.Join(b32, "config.json"), cfg32, 0o600)
		cmd := exec.Command(bin, c.args...)
		cmd.Env = append(os.Environ(), "ARMHF_SHIM_RUNTIME="+truePath, "ARMHF_SHIM_STATE_ROOT="+state, "ARMHF_SHIM_SEEN=")
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), "stack overflow") {
			i := strings.Index(string(out), "goroutine 1 ")
			t.Errorf("%s: the wrapper outgrew its first stack:\n%.1500s", c.name, string(out)[max(i, 0):])
		} else if err != nil {
			t.Errorf("%s: %v\n%s", c.name, err, out)
		}
		if b, _ := os.ReadFile(filepath.Join(b32, "config.json")); c.is32 && !strings.Contains(string(b), "LINUX32") {
			t.Errorf("%s did not rewrite config.json: the 32-bit path was not taken", c.name)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "containers", "c32", "cpuinfo")); err == nil {
		t.Error("delete left the container's cpuinfo")
	}
}
