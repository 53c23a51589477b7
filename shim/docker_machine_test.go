package shim

// A real dockerd (Debian's docker.io 20.10) with the wrapper as its default
// runtime and the seccomp agent: Docker's own default profile gets the
// uname rule.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

func TestDockerMachine(t *testing.T) {
	testenv.SkipShort(t, "dockerd")
	testenv.RequireRoot(t)
	requireRunc(t)
	if ok, _ := hostIsAmd64(); !ok {
		t.Skip("the i386 busybox stands in for armhf on x86_64 hosts only")
	}
	bin := shimBinary(t)
	ag := startAgent(t, bin)
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"seccompAgent":`+jsonString(ag.sock)+`}`), 0o644)
	d := testenv.StartDockerd(t, testenv.DockerdOptions{
		DaemonJSON: map[string]any{
			"runtimes":        map[string]any{"armhf": map[string]any{"path": bin, "runtimeArgs": []string{"runtime"}}},
			"default-runtime": "armhf",
		},
		Env: []string{"ARMHF_SHIM_STATE_ROOT=" + t.TempDir(), "ARMHF_SHIM_CONFIG=" + cfg},
	})
	d.Import(t, testenv.BusyboxRootfs(t, "i386"), "bb386")
	docker := func(t *testing.T, args ...string) string {
		t.Helper()
		o, e, err := d.Docker(args...)
		if err != nil {
			t.Fatalf("docker %s: %v\nstdout: %s\nstderr: %s\ndockerd:\n%s\nagent: %s", strings.Join(args, " "), err, o, e, d.LogTail(20), readFile(ag.log))
		}
		return o
	}
	t.Run("asked", func(t *testing.T) {
		if o := docker(t, "run", "--rm", "-e", "ARMHF_SHIM_MACHINE=armv7l", "bb386", "sh", "-c", "uname -m; grep -c '^Seccomp:.2' /proc/self/status"); o != "armv7l\n1\n" {
			t.Errorf("docker run -e ARMHF_SHIM_MACHINE=armv7l printed %q (want armv7l under Docker's seccomp filter)", o)
		}
	})
	t.Run("not-asked", func(t *testing.T) {
		if o := docker(t, "run", "--rm", "bb386", "uname", "-m"); o != "i686\n" {
			t.Errorf("printed %q", o)
		}
	})
	t.Run("exec", func(t *testing.T) {
		docker(t, "run", "-d", "--name", "machine-exec", "-e", "ARMHF_SHIM_MACHINE=armv7l", "bb386", "sleep", "60")
		defer d.Docker("rm", "-f", "machine-exec")
		if o := docker(t, "exec", "machine-exec", "uname", "-m"); o != "armv7l\n" {
			t.Errorf("docker exec printed %q", o)
		}
	})
}
