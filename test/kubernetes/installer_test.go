package kubernetes

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

const (
	image       = "armhf-shim-installer:test"
	pauseRef    = "localhost/armhf-shim-test/pause:1"
	busybox32   = "localhost/armhf-shim-test/busybox-i386:1"
	busybox64   = "localhost/armhf-shim-test/busybox-amd64:1"
	probeScript = "uname -m; grep -m1 'CPU architecture' /proc/cpuinfo || echo 'no CPU architecture line'"
)

// buildImage builds the installer image with the repository's Dockerfile
// from the binaries as make build makes them.
func buildImage(t *testing.T, d *testenv.Dockerd) {
	ctx := t.TempDir()
	for name, pkg := range map[string]string{"armhf-shim": "./cmd/armhf-shim", "armhf-runc": "./cmd/armhf-runc"} {
		b, err := os.ReadFile(testenv.BuildBinary(t, pkg))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ctx, name), b, 0o755)
	}
	if out, errOut, err := d.Docker("build", "-f", filepath.Join(testenv.RepoRoot(), "deploy/kubernetes/Dockerfile"), "-t", image, ctx); err != nil {
		t.Fatalf("docker build: %v\n%s\n%s", err, out, errOut)
	}
}

// runInstaller runs the image much as the DaemonSet's init container does, with
// the node's / at /host. The scratch node root is mounted at its own path
// below /host, so the node paths the installer writes into containerd's
// configuration are real paths of this machine, where the test's
// containerd reads them. containerd is stopped by the installer
// (--restart=signal) and started again here, as its unit's Restart=always
// would.
func runInstaller(t *testing.T, d *testenv.Dockerd, c *testenv.Containerd, node string, extra ...string) string {
	// Not --privileged: root in this project's sandboxes lacks capabilities
	// that would give a container (runc: "unable to apply caps"); docker's
	// default set has what the installer uses here (CAP_KILL, writing the
	// node's files as root).
	args := append([]string{"run", "--rm", "--pid=host", "-v", node + ":/host" + node,
		"--entrypoint", "/usr/local/bin/armhf-shim", image, "node-install", "--root=/host",
		"--containerd-config=" + c.Config,
		"--bin-dir=" + filepath.Join(node, "opt/armhf-shim/bin"),
		"--nfd-file=" + filepath.Join(node, doctor.NFDFile),
		"--socket=" + c.Address,
		"--restart=signal",
		// The node's containerd is the test's, not the one on the
		// machine's PATH that a chroot into / would find.
		"--containerd-version=" + strings.TrimPrefix(testenv.EngineVersion(t, "containerd"), "v"),
	}, extra...)
	cmd := exec.Command(testenv.DockerCLI, args...)
	cmd.Env = d.Env()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
wait:
	for {
		select {
		case err = <-done:
			t.Fatalf("installer %q ended (%v) without stopping containerd:\n%s", extra, err, out.String())
		case <-time.After(100 * time.Millisecond):
			if syscall.Kill(c.Pid, 0) == syscall.ESRCH {
				break wait // stopped (and reaped): start it again
			}
		}
	}
	c.Restart(t)
	if err = <-done; err != nil {
		t.Fatalf("installer %q: %v\n%s", extra, err, out.String())
	}
	t.Logf("installer %q:\n%s", extra, out.String())
	return out.String()
}

type crictl struct {
	t   *testing.T
	c   *testenv.Containerd
	dir string
}

func (k crictl) run(args ...string) string {
	k.t.Helper()
	out, errOut, err := k.c.Crictl(args...)
	if err != nil {
		k.t.Fatalf("crictl %s: %v\n%s\n%s\ncontainerd log:\n%s", strings.Join(args, " "), err, out, errOut, k.c.LogTail(30))
	}
	return strings.TrimSpace(out)
}

func (k crictl) writeJSON(name string, v any) string {
	b, _ := json.Marshal(v)
	p := filepath.Join(k.dir, name)
	os.WriteFile(p, b, 0o644)
	return p
}

// pod runs a pod sandbox (host network: no CNI here) on handler ("" = the
// default, runc) and returns its id and config file.
func (k crictl) pod(name, handler string) (string, string) {
	cfg := k.writeJSON(name+"-pod.json", map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "default", "uid": name + "-uid", "attempt": 0},
		"log_directory": filepath.Join(k.dir, "logs", name),
		"linux":         map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"network": 2}}},
	})
	args := []string{"runp"}
	if handler != "" {
		args = append(args, "--runtime", handler)
	}
	return k.run(append(args, cfg)...), cfg
}

// container runs the probe in image inside pod and returns its output.
func (k crictl) container(pod, podCfg, name, image string) string {
	k.t.Helper()
	cfg := k.writeJSON(name+"-ctr.json", map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": image},
		"command":  []string{"/bin/sh", "-c", probeScript},
		"log_path": name + ".log",
	})
	id := k.run("create", pod, cfg, podCfg)
	k.run("start", id)
	for i := 0; ; i++ {
		var st struct{ Status struct{ State string } }
		json.Unmarshal([]byte(k.run("inspect", id)), &st)
		if st.Status.State == "CONTAINER_EXITED" {
			break
		}
		if i > 300 {
			k.t.Fatalf("container %s did not exit: %s", name, st.Status.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs := k.run("logs", id)
	k.t.Logf("%s in %s:\n%s", name, pod[:12], logs)
	return logs
}

// The DaemonSet's installer, run as a container against a scratch node
// root with a real containerd v2 and runc v1.5: the handler appears in the
// running containerd's configuration and CRI, an i386 container in a pod on
// the armhf handler sees i686 and an armv7-style cpuinfo, a 64-bit
// container beside it and a pod on the default handler are untouched, the
// labels say what doctor says; the undo gives config.toml back byte for
// byte and leaves nothing on the node.
func TestInstallerOnContainerd(t *testing.T) {
	testenv.SkipShort(t, "the node installer image with dockerd, containerd and crictl")
	testenv.RequireRoot(t)
	// The wrapper execs the pinned runc (v1.5), which containerd and its
	// shims inherit from here.
	t.Setenv("ARMHF_SHIM_RUNTIME", testenv.Engine(t, "runc"))
	d := testenv.StartDockerd(t, testenv.DockerdOptions{})
	buildImage(t, d)
	c := testenv.StartContainerd(t, testenv.ContainerdOptions{ExtraConfig: fmt.Sprintf(`
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %q
`, pauseRef)})
	node := c.Root // the scratch node root: everything of this containerd is below it
	original, err := os.ReadFile(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	c.ImportArch(t, testenv.BusyboxRootfs(t, "amd64"), pauseRef, "amd64", "sleep", "1000000")
	c.ImportArch(t, testenv.BusyboxRootfs(t, "i386"), busybox32, "386")
	c.ImportArch(t, testenv.BusyboxRootfs(t, "amd64"), busybox64, "amd64")

	out := runInstaller(t, d, c, node)
	if !strings.Contains(out, "node-install: done") || !strings.Contains(out, "containerd is back") {
		t.Errorf("installer output:\n%s", out)
	}
	labels, err := os.ReadFile(filepath.Join(node, doctor.NFDFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{doctor.LabelAArch32 + "=false\n", doctor.LabelIA32 + "=true\n", doctor.LabelCompatMachine + "=i686\n"} {
		if !strings.Contains(string(labels), want) {
			t.Errorf("labels lack %q:\n%s", want, labels)
		}
	}
	dump, err := exec.Command(testenv.Engine(t, "containerd"), "--config", c.Config, "config", "dump").CombinedOutput()
	if err != nil {
		t.Fatalf("containerd config dump: %v\n%s", err, dump)
	}
	wrapper := filepath.Join(node, "opt/armhf-shim/bin/armhf-runc")
	if !strings.Contains(string(dump), ".containerd.runtimes.armhf]") || !strings.Contains(string(dump), fmt.Sprintf("BinaryName = '%s'", wrapper)) {
		t.Errorf("containerd config dump lacks the armhf handler running %s:\n%s", wrapper, dump)
	}

	k := crictl{t, c, t.TempDir()}
	if info := k.run("info"); !strings.Contains(info, `"armhf"`) {
		t.Errorf("crictl info does not list the armhf handler:\n%s", info)
	}
	pod, podCfg := k.pod("armhf", "armhf")
	if got := k.container(pod, podCfg, "i386", busybox32); !strings.Contains(got, "i686") || !strings.Contains(got, "CPU architecture: 7") {
		t.Errorf("i386 container on the armhf handler:\n%s", got)
	}
	if got := k.container(pod, podCfg, "amd64", busybox64); !strings.Contains(got, "x86_64") || strings.Contains(got, "CPU architecture: 7") {
		t.Errorf("64-bit container in the armhf pod is not untouched:\n%s", got)
	}
	plain, plainCfg := k.pod("plain", "")
	if got := k.container(plain, plainCfg, "amd64", busybox64); !strings.Contains(got, "x86_64") || strings.Contains(got, "CPU architecture: 7") {
		t.Errorf("64-bit pod on the default handler is not untouched:\n%s", got)
	}
	for _, p := range []string{pod, plain} {
		k.run("stopp", p)
		k.run("rmp", p)
	}

	out = runInstaller(t, d, c, node, "--undo")
	if got, _ := os.ReadFile(c.Config); string(got) != string(original) {
		t.Errorf("undo left config.toml:\n%s\nwant:\n%s", got, original)
	}
	for _, gone := range []string{filepath.Join(node, "opt/armhf-shim"), filepath.Join(node, doctor.NFDFile), filepath.Join(node, "conf.d/armhf-shim.toml")} {
		if _, err := os.Stat(gone); err == nil {
			t.Errorf("undo left %s", gone)
		}
	}
	if info := k.run("info"); strings.Contains(info, `"armhf"`) {
		t.Errorf("containerd still has the armhf handler after the undo")
	}
}
