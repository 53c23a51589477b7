package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scripts/install-deps.sh (what Install runs) must keep its "apt lists
// stale" marker when apt-get update failed, so that the next run
// refreshes the lists again; and drop it once an update succeeded. apt-get,
// dpkg and friends are fakes on PATH.
func TestInstallDepsStaleMarker(t *testing.T) {
	bash := RequireCommand(t, "bash")
	script := filepath.Join(RepoRoot(), "scripts", "install-deps.sh")
	for _, tc := range []struct {
		name       string
		updateRC   int
		wantMarker bool
	}{
		{"update-fails", 100, true},
		{"update-works", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			os.Mkdir(bin, 0o755)
			fake := func(name, body string) {
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			fake("id", `echo 0`)
			fake("sleep", `exit 0`)
			// No foreign architecture yet: the script adds them and marks the lists stale.
			fake("dpkg", `exit 0`)
			fake("dpkg-query", `printf installed`)
			fake("apt-get", fmt.Sprintf(`[ "$1" = update ] && exit %d; exit 0`, tc.updateRC))
			marker := filepath.Join(dir, "apt-stale")
			cmd := exec.Command(bash, script)
			cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin", "ARMHF_SHIM_APT_STALE="+marker)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("install-deps.sh: %v\n%s", err, out)
			}
			if _, err := os.Stat(marker); (err == nil) != tc.wantMarker {
				t.Errorf("marker present %v, want %v; output:\n%s", err == nil, tc.wantMarker, out)
			}
			if tc.wantMarker && !strings.Contains(string(out), "apt-get update failed") {
				t.Errorf("no message about the failed update:\n%s", out)
			}
		})
	}
}

// Building the binaries installs nothing: make build (bin/armhf-lxc with
// it) ran install-deps.sh, which on an operator's build host added the
// foreign architectures and the test toolchain (podman, QEMU, cross
// compilers). Without liblxc's headers the build says what to install.
func TestMakeBuildInstallsNothing(t *testing.T) {
	mk := RequireCommand(t, "make")
	out, err := exec.Command(mk, "-n", "-C", RepoRoot(), "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "install-deps") {
		t.Errorf("make build runs install-deps.sh:\n%s", out)
	}
	if !strings.Contains(string(out), "apt-get install lxc-dev") {
		t.Errorf("make build does not check for liblxc's headers before building armhf-lxc:\n%s", out)
	}
}
