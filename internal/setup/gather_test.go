package setup

import (
	"os"
	"os/exec"
	"path/filepath"
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
	var found []Daemon
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		found = nil
		for _, d := range Gather(GatherOptions{BuildxDir: dir}).Buildkitd.Running {
			if d.Pid == cmd.Process.Pid {
				found = append(found, d)
			}
		}
		if len(found) == 1 {
			break
		}
	}
	if len(found) != 1 || found[0].Config != cfg {
		t.Fatalf("gathered %+v: want pid %d reading %s", found, cmd.Process.Pid, cfg)
	}
}
