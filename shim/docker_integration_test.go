package shim

// A real dockerd (Debian's docker.io 20.10) with the runtime registered by
// `install docker` as its default runtime, and dockerd's PATH starting with
// the `runc` link of `install buildkit`.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

func TestDocker(t *testing.T) {
	testenv.RequireRoot(t)
	requireRunc(t)
	bin := shimBinary(t)
	binDir := t.TempDir()
	shimPath := filepath.Join(binDir, "armhf-shim")
	if err := os.Symlink(bin, shimPath); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// daemon.json written by install, as an operator would.
	cfgPath := filepath.Join(t.TempDir(), "daemon.json")
	os.WriteFile(cfgPath, []byte(`{"log-level": "info", "features": {"buildkit": true}}`), 0o644)
	// Through the command line, as an operator would.
	if o, err := exec.Command(bin, "install", "docker", "--config", cfgPath, "--binary", shimPath, "--set-as-default").CombinedOutput(); err != nil {
		t.Fatalf("armhf-shim install docker: %v\n%s", err, o)
	} else if !strings.Contains(string(o), "to apply: ") {
		t.Errorf("install output lacks how to apply it:\n%s", o)
	}
	bkLinks := t.TempDir()
	if err := install.Run(install.Options{Target: "buildkit", Config: filepath.Join(t.TempDir(), "bk.conf"), LinkDir: bkLinks, Binary: shimPath, Out: &out}); err != nil {
		t.Fatal(err)
	}
	var daemonJSON map[string]any
	b, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(b, &daemonJSON); err != nil {
		t.Fatal(err)
	}
	// A second runtime whose configuration is broken.
	daemonJSON["runtimes"].(map[string]any)["broken"] = map[string]any{
		"path": filepath.Join(binDir, "armhf-runc"), "runtimeArgs": []string{"--armhf-shim-runtime=/nonexistent/runc"},
	}
	stateRoot := t.TempDir()
	d := testenv.StartDockerd(t, testenv.DockerdOptions{
		DaemonJSON:  daemonJSON,
		PathPrepend: []string{bkLinks},
		Env:         []string{"ARMHF_SHIM_STATE_ROOT=" + stateRoot},
	})
	d.Import(t, testenv.BusyboxRootfs(t, "i386"), "bb386")
	d.Import(t, testenv.BusyboxRootfs(t, "amd64"), "bb64")

	docker := func(t *testing.T, args ...string) string {
		t.Helper()
		o, e, err := d.Docker(args...)
		if err != nil {
			t.Fatalf("docker %s: %v\nstdout: %s\nstderr: %s\ndockerd:\n%s", strings.Join(args, " "), err, o, e, d.LogTail(20))
		}
		return o
	}

	t.Run("info lists the runtime written by install", func(t *testing.T) {
		o := docker(t, "info", "--format", "{{json .Runtimes}} {{.DefaultRuntime}}")
		if !strings.Contains(o, `"armhf"`) || !strings.HasSuffix(strings.TrimSpace(o), " armhf") {
			t.Errorf("docker info: %s", o)
		}
	})
	t.Run("run i386 reports i686 and armv7 cpuinfo", func(t *testing.T) {
		o := docker(t, "run", "--rm", "bb386", "sh", "-c", probe)
		if !strings.HasPrefix(o, "i686\nCPU architecture: 7\n") {
			t.Errorf("printed %q", o)
		}
	})
	t.Run("run with a cpuset gets that many processors", func(t *testing.T) {
		o := docker(t, "run", "--rm", "--cpuset-cpus", "0", "bb386", "grep", "-c", "^processor", "/proc/cpuinfo")
		if strings.TrimSpace(o) != "1" {
			t.Errorf("processors: %q", o)
		}
	})
	t.Run("default runtime leaves a 64-bit image alone", func(t *testing.T) {
		o := docker(t, "run", "--rm", "bb64", "sh", "-c", probe)
		if !strings.HasPrefix(o, "x86_64\n") || strings.Contains(o, "CPU architecture: 7") {
			t.Errorf("printed %q", o)
		}
	})
	t.Run("ARMHF_SHIM=0 opts a 32-bit container out", func(t *testing.T) {
		o := docker(t, "run", "--rm", "-e", "ARMHF_SHIM=0", "bb386", "uname", "-m")
		if strings.TrimSpace(o) != "x86_64" {
			t.Errorf("printed %q", o)
		}
	})
	t.Run("exec into an i386 container reports i686", func(t *testing.T) {
		docker(t, "run", "-d", "--name", "ex386", "bb386", "sleep", "300")
		defer d.Docker("rm", "-f", "ex386")
		if o := docker(t, "exec", "ex386", "uname", "-m"); strings.TrimSpace(o) != "i686" {
			t.Errorf("exec printed %q", o)
		}
		if o := docker(t, "exec", "ex386", "grep", "-m1", "CPU architecture", "/proc/cpuinfo"); strings.TrimSpace(o) != "CPU architecture: 7" {
			t.Errorf("exec cpuinfo %q", o)
		}
		ids := listDir(filepath.Join(stateRoot, "containers"))
		if len(ids) != 1 {
			t.Errorf("state for the running container: %v", ids)
		}
		docker(t, "rm", "-f", "ex386")
		if ids := listDir(filepath.Join(stateRoot, "containers")); len(ids) != 0 {
			t.Errorf("state left after docker rm: %v", ids)
		}
	})
	t.Run("classic docker build RUN step reports i686", func(t *testing.T) {
		ctx := t.TempDir()
		os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb386\nRUN uname -m && grep -m1 'CPU architecture' /proc/cpuinfo\n"), 0o644)
		o, e, err := d.DockerWith(testenv.DockerCLI, []string{"DOCKER_BUILDKIT=0"}, "build", "--no-cache", ctx)
		if err != nil {
			t.Fatalf("build: %v\n%s\n%s", err, o, e)
		}
		if !strings.Contains(o, "\ni686\n") || !strings.Contains(o, "CPU architecture: 7") {
			t.Errorf("build output:\n%s", o)
		}
	})
	t.Run("BuildKit build RUN step reports i686", func(t *testing.T) {
		ctx := t.TempDir()
		os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb386\nRUN uname -m && grep -m1 'CPU architecture' /proc/cpuinfo\n"), 0o644)
		o, e, err := d.DockerWith(testenv.DockerCLI, []string{"DOCKER_BUILDKIT=1"}, "build", "--no-cache", "--network", "none", "--progress=plain", ctx)
		if err != nil {
			t.Fatalf("build: %v\n%s\n%s\ndockerd:\n%s", err, o, e, d.LogTail(30))
		}
		// BuildKit prints step output on stderr: "#5 0.123 i686".
		if !strings.Contains(e, " i686\n") || !strings.Contains(e, "CPU architecture: 7") {
			t.Errorf("build output:\n%s", e)
		}
	})
	t.Run("broken runtime configuration is a clear docker error", func(t *testing.T) {
		_, e, err := d.Docker("run", "--rm", "--runtime", "broken", "bb386", "true")
		if err == nil {
			t.Fatal("docker run with a broken runtime succeeded")
		}
		if !strings.Contains(e, "armhf-shim: real OCI runtime /nonexistent/runc") {
			t.Errorf("docker's error lacks armhf-shim's message:\n%s", e)
		}
		t.Logf("docker run --runtime broken: %s", strings.TrimSpace(e))
	})
}

func listDir(p string) []string {
	ents, _ := os.ReadDir(p)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
