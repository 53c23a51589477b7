package shim

// A Kubernetes node's path to the runtime wrapper, without Kubernetes:
// containerd with its CRI plugin, a config.toml given the armhf handler by
// `armhf-shim install containerd`, and crictl (the kubelet's CRI client)
// running a pod sandbox on that handler (a RuntimeClass's handler: armhf)
// with an i386 and an amd64 container. Both generations of each: the
// pinned containerd 2.x on a version 3 config with a CRI section, and
// Debian 12's containerd 1.6 on a minimal version 2 config; the pinned
// runc 1.5 (honours linux.personality) and Debian 12's runc 1.1 (ignores
// it: the personality the wrapper sets on itself before it execs runc must
// carry the container).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

const (
	criPause = "localhost/armhf-test/pause:1"
	criI386  = "localhost/armhf-test/bb386:1"
	criAMD64 = "localhost/armhf-test/bb64:1"
)

func TestCRIPodArmhfHandler(t *testing.T) {
	testenv.SkipShort(t, "containerd and crictl")
	testenv.RequireRoot(t)
	runcs := []struct{ name, runc string }{
		{"runc " + testenv.EngineVersion(t, "runc"), testenv.Engine(t, "runc")},
		{"debian runc", requireRunc(t)},
	}
	for _, ctd := range []struct {
		name, bin string
		v2        bool
	}{
		{"containerd " + testenv.EngineVersion(t, "containerd"), testenv.Engine(t, "containerd"), true},
		{"debian containerd", testenv.RequireCommand(t, "containerd"), false},
	} {
		for _, r := range runcs {
			t.Run(ctd.name+"/"+r.name, func(t *testing.T) { criPodCase(t, ctd.bin, ctd.v2, r.runc) })
		}
	}
}

func criPodCase(t *testing.T, ctd string, v2 bool, runc string) {
	bin := shimBinary(t)
	stateRoot := t.TempDir()
	var root string
	c := testenv.StartContainerd(t, testenv.ContainerdOptions{
		Binary: ctd,
		// The wrapper hands over to this runc; its state stays here.
		Env: []string{"ARMHF_SHIM_RUNTIME=" + runc, "ARMHF_SHIM_STATE_ROOT=" + stateRoot},
		Config: func(r string) string {
			root = r
			cfg := filepath.Join(r, "config.toml")
			// containerd 2.x: a version 3 config with a CRI section
			// (restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE)
			// and a local sandbox image. containerd 1.6 would refuse a
			// drop-in beside a CRI section: a minimal config, its private
			// paths, and those two settings added to the drop-in below.
			body := testenv.ContainerdConfig(r, runc) +
				fmt.Sprintf("  [plugins.'io.containerd.cri.v1.images'.pinned_images]\n    sandbox = %q\n", criPause)
			if !v2 {
				body = fmt.Sprintf("version = 2\n\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = %q\n", filepath.Join(r, "opt"))
			}
			if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			shimPath := filepath.Join(r, "bin", "armhf-shim")
			os.MkdirAll(filepath.Dir(shimPath), 0o755)
			if err := os.Symlink(bin, shimPath); err != nil {
				t.Fatal(err)
			}
			// Through the command line, as an operator would.
			if o, err := exec.Command(bin, "install", "containerd", "--config", cfg, "--binary", shimPath, "--containerd", ctd).CombinedOutput(); err != nil {
				t.Fatalf("armhf-shim install containerd: %v\n%s", err, o)
			}
			if !v2 {
				// Test-only settings, in the CRI section containerd 1.6
				// reads: the drop-in's (a super-table defined after its
				// sub-tables is valid TOML).
				f, err := os.OpenFile(filepath.Join(r, "conf.d", "armhf-shim.toml"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(f, "\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  restrict_oom_score_adj = true\n  sandbox_image = %q\n", criPause)
				f.Close()
			}
			return cfg
		},
	})
	crictl := func(t *testing.T, args ...string) string {
		t.Helper()
		o, e, err := c.Crictl(args...)
		if err != nil {
			t.Fatalf("crictl %s: %v\n%s\n%s\ncontainerd:\n%s", strings.Join(args, " "), err, o, e, c.LogTail(30))
		}
		return strings.TrimSpace(o)
	}
	c.CRIInfo(t)
	c.ImportArch(t, testenv.BusyboxRootfs(t, "amd64"), criPause, "amd64", "sleep", "1000000")
	c.ImportArch(t, testenv.BusyboxRootfs(t, "i386"), criI386, "386")
	c.ImportArch(t, testenv.BusyboxRootfs(t, "amd64"), criAMD64, "amd64")

	writeJSON := func(name string, v any) string {
		p := filepath.Join(root, name)
		b, _ := json.Marshal(v)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pod := writeJSON("pod.json", map[string]any{
		"metadata": map[string]any{"name": "armhf", "namespace": "default", "uid": "armhf-pod", "attempt": 0},
		// The node's network: no CNI needed.
		"linux":         map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"network": 2}}},
		"log_directory": filepath.Join(root, "pod-logs"),
	})
	podID := crictl(t, "runp", "--runtime", "armhf", pod)
	t.Cleanup(func() {
		c.Crictl("stopp", podID)
		c.Crictl("rmp", "-f", podID)
	})
	if got := crictl(t, "inspectp", "-o", "go-template", "--template", "{{.status.state}} {{.status.runtimeHandler}}", podID); got != "SANDBOX_READY armhf" {
		t.Errorf("pod sandbox: %q, want SANDBOX_READY on the armhf handler", got)
	}

	run := func(t *testing.T, name, image string) string {
		t.Helper()
		cfg := writeJSON(name+".json", map[string]any{
			"metadata": map[string]any{"name": name},
			"image":    map[string]any{"image": image},
			"command":  []string{"sh", "-c", probe},
			"log_path": name + ".log",
		})
		id := crictl(t, "create", podID, cfg, pod)
		crictl(t, "start", id)
		deadline := time.Now().Add(30 * time.Second)
		for crictl(t, "inspect", "-o", "go-template", "--template", "{{.status.state}}", id) != "CONTAINER_EXITED" {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not exit within 30s", name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if code := crictl(t, "inspect", "-o", "go-template", "--template", "{{.status.exitCode}}", id); code != "0" {
			t.Errorf("%s exited %s", name, code)
		}
		return crictl(t, "logs", id)
	}
	if o := run(t, "i386", criI386); !strings.HasPrefix(o, "i686\nCPU architecture: 7\n") {
		t.Errorf("i386 container in the armhf pod printed %q, want i686 and CPU architecture: 7", o)
	}
	host, _ := os.ReadFile("/proc/cpuinfo")
	if o := run(t, "amd64", criAMD64); !strings.HasPrefix(o, "x86_64\n") || strings.Contains(o, "CPU architecture: 7") ||
		strings.Contains(string(host), "CPU architecture") != !strings.Contains(o, "no CPU architecture line") {
		t.Errorf("amd64 container in the same pod printed %q, want x86_64 and the host's cpuinfo", o)
	}
}
