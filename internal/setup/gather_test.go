package setup

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestGatherBuildkitdConfigFromEnv: a buildkitd given its config by
// $BUILDKITD_CONFIG (buildkitd's fallback for --config) is set up on that
// file, the one doctor judges it by, not on the default. The process is a
// sleep named buildkitd: Gather reads /proc alone.
func TestGatherBuildkitdConfigFromEnv(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "buildkitd")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mine.toml")
	cmd := exec.Command(bin, "60")
	cmd.Env = append(os.Environ(), "BUILDKITD_CONFIG="+cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The kernel names the process buildkitd before it sets up the new
	// program's arguments and environment, so /proc can show the name with
	// an empty environ for a moment: wait for the arguments, which appear
	// together with the environment, before gathering.
	cmdline := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cmdline")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(cmdline); bytes.HasPrefix(b, []byte(bin+"\x00")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed the exec'd program's arguments", cmdline)
		}
	}
	var found []Daemon
	for _, d := range Gather(GatherOptions{BuildxDir: dir}).Buildkitd.Running {
		if d.Pid == cmd.Process.Pid {
			found = append(found, d)
		}
	}
	if len(found) != 1 || found[0].Config != cfg {
		t.Fatalf("gathered %+v: want pid %d reading %s", found, cmd.Process.Pid, cfg)
	}
}
