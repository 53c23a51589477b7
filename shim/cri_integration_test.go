package shim

// A Kubernetes node's path to the runtime wrapper, without Kubernetes:
// containerd with its CRI plugin, a config.toml given the armhf handler by
// `armhf-shim install containerd`, and crictl (the kubelet's CRI client)
// running a pod sandbox on that handler (a RuntimeClass's handler: armhf)
// with an i386 and an amd64 container. Both generations of each: the
// pinned containerd 2.x on a version 3 config with a CRI section, and
// Debian 12's containerd 1.6 on Debian's own config.toml (a CRI section,
// which install edits in place); the pinned
// runc 1.5 (honours linux.personality) and Debian 12's runc 1.1 (ignores
// it: the personality the wrapper sets on itself before it execs runc must
// carry the container).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
			// and a local sandbox image. containerd 1.6: Debian 12's own
			// config.toml, whose CRI section install edits in place,
			// with that one setting added and the opt plugin's directory
			// moved below r (the test's only changes).
			body := testenv.ContainerdConfig(r, runc) +
				fmt.Sprintf("  [plugins.'io.containerd.cri.v1.images'.pinned_images]\n    sandbox = %q\n", criPause)
			if !v2 {
				debian := debianContainerdConfig(t)
				body = strings.Replace(debian, "  [plugins.\"io.containerd.grpc.v1.cri\"]\n",
					"  [plugins.\"io.containerd.grpc.v1.cri\"]\n    restrict_oom_score_adj = true\n", 1)
				body = strings.Replace(body, "\"/var/lib/containerd/opt\"", strconv.Quote(filepath.Join(r, "opt")), 1)
				if strings.Count(body, "\n")-strings.Count(debian, "\n") != 1 || strings.Contains(body, "/var/lib/containerd/opt") {
					t.Fatalf("Debian's config.toml is not shaped as expected:\n%s", debian)
				}
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
			if _, err := os.Stat(filepath.Join(r, "conf.d", "armhf-shim.toml")); !v2 && !os.IsNotExist(err) {
				t.Errorf("a drop-in beside Debian's CRI section (%v): containerd 1.6 would let it replace that section", err)
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
	// The sandbox image: on containerd 1.6, Debian's default, made locally.
	pause := criPause
	var info struct {
		Config struct {
			SandboxImage string `json:"sandboxImage"`
			Containerd   struct {
				Runtimes map[string]any `json:"runtimes"`
			} `json:"containerd"`
		} `json:"config"`
	}
	if err := json.Unmarshal(c.CRIInfo(t), &info); err != nil {
		t.Fatal(err)
	}
	if !v2 {
		pause = info.Config.SandboxImage
		if _, ok := info.Config.Containerd.Runtimes["runc"]; !ok || pause == "" {
			t.Errorf("crictl info: runtimes %v, sandbox image %q", info.Config.Containerd.Runtimes, pause)
		}
	}
	c.ImportArch(t, testenv.BusyboxRootfs(t, "amd64"), pause, "amd64", "sleep", "1000000")
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

// debianContainerdConfig is /etc/containerd/config.toml as Debian 12's
// containerd package ships it, from the package itself.
func debianContainerdConfig(t *testing.T) string {
	t.Helper()
	deb := testenv.DebFile(t, "containerd")
	out, err := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./etc/containerd/config.toml`, "sh", deb).Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("config.toml of %s: %v", deb, err)
	}
	return string(out)
}
