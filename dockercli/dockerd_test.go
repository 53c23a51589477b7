package dockercli_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestWithRealDockerd runs the wrapper, installed as docker in front of
// Debian's CLI on PATH, against a real dockerd.
func TestWithRealDockerd(t *testing.T) {
	testenv.SkipShort(t, "dockerd")
	testenv.RequireRoot(t)
	shim := testenv.BuildBinary(t, "./cmd/armhf-shim")
	d := testenv.StartDockerd(t, testenv.DockerdOptions{})
	d.Import(t, testenv.BusyboxRootfs(t, "amd64"), "busybox")
	d.ImportArch(t, testenv.BusyboxRootfs(t, "i386"), "busybox32", "386")

	dir := t.TempDir()
	wrapDir := filepath.Join(dir, "wrap")
	os.MkdirAll(wrapDir, 0o755)
	docker := filepath.Join(wrapDir, "docker")
	if err := os.Symlink(shim, docker); err != nil {
		t.Fatal(err)
	}
	cpuinfo := filepath.Join(dir, "run", "cpuinfo")
	env := []string{
		// The wrapper first, then Debian's CLI (which matches the daemon).
		"PATH=" + wrapDir + ":" + filepath.Dir(testenv.DockerCLI) + ":/usr/sbin:/sbin:/bin",
		"ARMHF_SHIM_CPUINFO=" + cpuinfo,
		"ARMHF_SHIM_CONFIG=" + filepath.Join(dir, "none.json"),
	}
	wrapped := func(args ...string) (string, string, int) {
		t.Helper()
		o, e, err := d.DockerWith(docker, env, args...)
		return o, e, exitCode(t, err)
	}

	t.Run("run sees armv7 cpuinfo", func(t *testing.T) {
		o, e, code := wrapped("run", "--rm", "busybox32", "cat", "/proc/cpuinfo")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		if !strings.Contains(o, "CPU architecture: 7") || !strings.Contains(o, "(v7l)") {
			t.Fatalf("container's /proc/cpuinfo is not armv7:\n%s", o)
		}
		want, _ := os.ReadFile(cpuinfo)
		if o != string(want) {
			t.Errorf("container shows\n%s\nwant the generated file\n%s", o, want)
		}
		// Without the wrapper the same command shows the host's CPU.
		o, _, err := d.Docker("run", "--rm", "busybox32", "cat", "/proc/cpuinfo")
		if err != nil || strings.Contains(o, "CPU architecture: 7") {
			t.Fatalf("direct docker run: %v\n%s", err, o)
		}
	})
	// Only 32-bit containers get the armv7 cpuinfo: the image's
	// architecture as the daemon has it decides, else --platform.
	t.Run("64-bit image keeps the host's cpuinfo", func(t *testing.T) {
		o, e, code := wrapped("run", "--rm", "busybox", "cat", "/proc/cpuinfo")
		if code != 0 || strings.Contains(o, "CPU architecture: 7") || !strings.Contains(o, "vendor_id") {
			t.Fatalf("exit %d: %s\n%s", code, e, o)
		}
	})
	t.Run("platform decides", func(t *testing.T) {
		o, e, code := wrapped("run", "--rm", "--platform", "linux/386", "busybox32", "grep", "-c", "CPU architecture: 7", "/proc/cpuinfo")
		if code != 0 || strings.TrimSpace(o) != countLine(cpuinfo) {
			t.Fatalf("exit %d: %s\n%s", code, e, o)
		}
	})
	t.Run("cpuinfo for all containers", func(t *testing.T) {
		o, e, err := d.DockerWith(docker, append(env, "ARMHF_SHIM_CPUINFO_ALL=1"), "run", "--rm", "busybox", "cat", "/proc/cpuinfo")
		if err != nil || !strings.Contains(o, "CPU architecture: 7") {
			t.Fatalf("%v %s\n%s", err, e, o)
		}
	})
	t.Run("exit status", func(t *testing.T) {
		_, e, code := wrapped("run", "--rm", "busybox", "sh", "-c", "exit 7")
		if code != 7 {
			t.Fatalf("exit %d, want 7 (%s)", code, e)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		cmd := exec.Command(docker, "run", "-i", "--rm", "busybox32", "sh", "-c", "cat; grep -c 'CPU architecture: 7' /proc/cpuinfo")
		cmd.Env = append(d.Env(), env...)
		cmd.Stdin = strings.NewReader("piped through\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(out), "piped through\n"+countLine(cpuinfo)+"\n"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("create then start", func(t *testing.T) {
		o, e, code := wrapped("container", "create", "busybox32", "grep", "CPU architecture", "/proc/cpuinfo")
		if code != 0 {
			t.Fatalf("create: exit %d: %s", code, e)
		}
		id := strings.TrimSpace(o)
		t.Cleanup(func() { d.Docker("rm", "-f", id) })
		o, e, err := d.Docker("start", "-a", id)
		if err != nil || !strings.Contains(o, "CPU architecture: 7") || strings.Contains(o, "CPU architecture: 8") {
			t.Fatalf("start -a: %v %s\n%s", err, e, o)
		}
	})
	t.Run("user's own mount wins", func(t *testing.T) {
		mine := filepath.Join(dir, "mine")
		os.WriteFile(mine, []byte("processor\t: 0\nmine\n"), 0o644)
		o, e, code := wrapped("run", "--rm", "-v", mine+":/proc/cpuinfo:ro", "busybox32", "cat", "/proc/cpuinfo")
		if code != 0 || o != "processor\t: 0\nmine\n" {
			t.Fatalf("exit %d: %s\n%s", code, e, o)
		}
	})
	t.Run("version identical", func(t *testing.T) {
		direct, de, err := d.Docker("version")
		if err != nil {
			t.Fatalf("docker version: %v %s", err, de)
		}
		o, e, code := wrapped("version")
		if code != 0 || o != direct || e != de {
			t.Fatalf("through the wrapper (exit %d):\n%s\n%s\ndirect:\n%s\n%s", code, o, e, direct, de)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		o, e, err := d.DockerWith(docker, append(env, "ARMHF_SHIM=0"), "run", "--rm", "busybox32", "cat", "/proc/cpuinfo")
		if err != nil || strings.Contains(o, "CPU architecture: 7") {
			t.Fatalf("ARMHF_SHIM=0 still mounted: %v %s\n%s", err, e, o)
		}
	})
}

// countLine counts the "CPU architecture: 7" lines of the file at path.
func countLine(path string) string {
	b, _ := os.ReadFile(path)
	return strconv.Itoa(strings.Count(string(b), "CPU architecture: 7"))
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	t.Fatalf("running docker: %v", err)
	return -1
}
