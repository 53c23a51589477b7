package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallCLI drives `armhf-shim install|uninstall` of the built binary:
// flags before and after the target, --dry-run writing nothing.
func TestInstallCLI(t *testing.T) {
	bin := shimBinary(t)
	dir := t.TempDir()
	shimPath := filepath.Join(dir, "armhf-shim")
	if err := os.Symlink(bin, shimPath); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "daemon.json")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("armhf-shim %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, args := range [][]string{
		{"install", "--dry-run", "docker", "--config", cfg, "--binary", shimPath},
		{"install", "docker", "--dry-run", "--config", cfg, "--binary", shimPath},
	} {
		out := run(args...)
		if !strings.Contains(out, "--dry-run: would change") || !strings.Contains(out, `+    "armhf": {`) {
			t.Errorf("%v:\n%s", args, out)
		}
		if _, err := os.Stat(cfg); !os.IsNotExist(err) {
			t.Fatalf("%v wrote %s", args, cfg)
		}
		if _, err := os.Lstat(filepath.Join(dir, "armhf-runc")); !os.IsNotExist(err) {
			t.Fatalf("%v created the link", args)
		}
	}
	run("install", "--runtime-name", "a32", "docker", "--config", cfg, "--binary", shimPath, "--set-as-default")
	b, _ := os.ReadFile(cfg)
	if !strings.Contains(string(b), `"a32"`) || !strings.Contains(string(b), `"default-runtime": "a32"`) {
		t.Errorf("daemon.json:\n%s", b)
	}
	if out := run("install", "docker", "--runtime-name", "a32", "--config", cfg, "--binary", shimPath, "--set-as-default"); !strings.Contains(out, "nothing to do") {
		t.Errorf("second install:\n%s", out)
	}
	run("uninstall", "docker", "--runtime-name", "a32", "--config", cfg)
	if b, _ := os.ReadFile(cfg); strings.Contains(string(b), "a32") {
		t.Errorf("after uninstall:\n%s", b)
	}
	out, err := exec.Command(bin, "install", "docker", "extra").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unexpected arguments") {
		t.Errorf("extra argument: %v %s", err, out)
	}
	out, err = exec.Command(bin, "install").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "name one target") {
		t.Errorf("no target: %v %s", err, out)
	}
}
