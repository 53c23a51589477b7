package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Containerd is a throw-away containerd (the one scripts/engines.sh builds,
// newer than Debian's) with its own root, state, sockets and config, and
// the CRI plugin's runc handler on the pinned runc.
type Containerd struct {
	Root    string // everything of this daemon lives below
	Address string // its gRPC socket
	Config  string // its config.toml
	Log     string // its log file
	Pid     int

	crictl string
	bin    string
	args   []string
	env    []string
	groups []int // the process groups of every start (shims start in them)
	cmd    *exec.Cmd
	done   chan error
}

// ContainerdOptions configure StartContainerd.
type ContainerdOptions struct {
	// Runc is the runc handler's binary; empty: the pinned runc (Engine).
	Runc string
	// ExtraConfig is TOML appended to the config: tables it does not define.
	ExtraConfig string
	// Binary is the containerd to run: empty, the pinned one (Engine);
	// Debian's is /usr/bin/containerd. Its directory goes first on the
	// daemon's PATH, where it finds its shim.
	Binary string
	// Config, when set, writes the daemon's config below root (the
	// daemon's own directory) and returns its path: a config shape under
	// test, as armhf-shim install left it. The daemon gets its root,
	// state and socket below root by flag; Runc and ExtraConfig are unused.
	Config func(root string) string
	// Env is added to the daemon's environment (and so its shims' and
	// runtimes').
	Env []string
}

// ContainerdConfig is a config version 3 that keeps every path of the
// daemon below root (the opt plugin and NRI would otherwise create
// /opt/containerd and /var/run/nri). restrict_oom_score_adj: the CRI
// plugin gives sandboxes an oom_score_adj of -998, which needs
// CAP_SYS_RESOURCE, and root in this project's sandboxes may lack it.
func ContainerdConfig(root, runc string) string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[ttrpc]
  address = "%[3]s.ttrpc"

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = %[4]q
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [%[5]q]
      conf_dir = %[6]q
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = %[7]q
`, filepath.Join(root, "root"), filepath.Join(root, "state"), filepath.Join(root, "containerd.sock"),
		filepath.Join(root, "opt"), filepath.Join(root, "cni", "bin"), filepath.Join(root, "cni", "net.d"), runc)
}

// StartContainerd starts a daemon and waits until its socket accepts
// connections. It is stopped and everything below Root removed in
// t.Cleanup.
func StartContainerd(t testing.TB, opts ContainerdOptions) *Containerd {
	t.Helper()
	SkipShort(t, "containerd")
	RequireRoot(t)
	bin := opts.Binary
	if bin == "" {
		bin = Engine(t, "containerd")
		Engine(t, "containerd-shim-runc-v2")
	}
	crictl := Engine(t, "crictl")
	if opts.Runc == "" && opts.Config == nil {
		opts.Runc = Engine(t, "runc")
	}
	// Unix socket paths are limited to 108 bytes: keep the root short.
	root, err := os.MkdirTemp("/tmp", "ashc-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Containerd{
		Root: root, Address: filepath.Join(root, "containerd.sock"),
		Config: filepath.Join(root, "config.toml"), Log: filepath.Join(root, "containerd.log"), crictl: crictl,
	}
	args := []string{"--config", c.Config, "--log-level", "info"}
	if opts.Config != nil {
		c.Config = opts.Config(root)
		args = []string{"--config", c.Config, "--log-level", "info",
			"--root", filepath.Join(root, "root"), "--state", filepath.Join(root, "state"), "--address", c.Address}
	} else {
		cfg := ContainerdConfig(root, opts.Runc) + opts.ExtraConfig
		if err := os.WriteFile(c.Config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	crictlYAML := fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%[1]s\ntimeout: 30\n", c.Address)
	if err := os.WriteFile(filepath.Join(root, "crictl.yaml"), []byte(crictlYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	// The shim is looked up on PATH first: the one beside this containerd.
	c.bin, c.args = bin, args
	c.env = append(append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH")), opts.Env...)
	t.Cleanup(func() { c.stop(t) })
	c.launch(t)
	return c
}

// Restart starts the daemon again the same way once it has exited, as a
// service manager with Restart=always does (the Kubernetes node installer
// stops it with a signal), and waits for its socket. The shims of the one
// before stay, as with containerd.service's KillMode=process.
func (c *Containerd) Restart(t testing.TB) {
	t.Helper()
	select {
	case err := <-c.done:
		t.Logf("containerd %d exited (%v); starting it again", c.Pid, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("containerd %d did not exit within 60s", c.Pid)
	}
	c.launch(t)
}

// launch starts the daemon (its log appended to) and waits until its
// socket accepts connections.
func (c *Containerd) launch(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(c.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.bin, c.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = c.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting containerd: %v", err)
	}
	logf.Close()
	c.cmd, c.Pid, c.done = cmd, cmd.Process.Pid, make(chan error, 1)
	c.groups = append(c.groups, c.Pid)
	go func() { c.done <- cmd.Wait() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		if conn, err := net.Dial("unix", c.Address); err == nil {
			conn.Close()
			return
		}
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("containerd exited during start (%v); log tail:\n%s", err, c.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not listen on %s within 60s; log tail:\n%s", c.Address, c.LogTail(30))
		}
	}
}

// Crictl runs the pinned crictl against this daemon's CRI.
func (c *Containerd) Crictl(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(c.crictl, append([]string{"--config", filepath.Join(c.Root, "crictl.yaml")}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// CRIInfo is `crictl info` once the CRI plugin answers (it initialises
// after the socket listens), as JSON; a CRI plugin that failed to load
// never answers, and the error carries the log's tail.
func (c *Containerd) CRIInfo(t testing.TB) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, stderr, err := c.Crictl("info")
		if err == nil {
			return []byte(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("crictl info: %v\n%s\ncontainerd log:\n%s", err, stderr, c.LogTail(40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ImportArch makes an image ref of architecture arch (a GOARCH) from the
// root filesystem directory rootfs in the CRI's namespace (k8s.io),
// unpacked for that platform; cmd, if given, is its Cmd.
func (c *Containerd) ImportArch(t testing.TB, rootfs, ref, arch string, cmd ...string) {
	t.Helper()
	imp := exec.Command(Engine(t, "ctr"), "--address", c.Address, "--namespace", "k8s.io",
		"images", "import", "--local", "--platform", "linux/"+arch, "-") // --local: containerd 1.x has no transfer API
	imp.Stdin = bytes.NewReader(DockerArchive(t, rootfs, ref, arch, cmd...))
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("ctr images import %s (%s): %v: %s", ref, arch, err, out)
	}
}

// LogTail returns the last n lines of the daemon's log.
func (c *Containerd) LogTail(n int) string {
	b, _ := os.ReadFile(c.Log)
	return tail(string(b), n)
}

func (c *Containerd) stop(t testing.TB) {
	if c.cmd == nil {
		os.RemoveAll(c.Root)
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Logf("containerd %d ignored SIGTERM for 20s; killing", c.Pid)
		syscall.Kill(-c.Pid, syscall.SIGKILL)
		<-c.done
	}
	// Whatever is left in its process groups (shims start in them).
	for _, g := range c.groups {
		syscall.Kill(-g, syscall.SIGKILL)
	}
	UnmountBelow(c.Root)
	if err := os.RemoveAll(c.Root); err != nil {
		t.Logf("removing %s: %v", c.Root, err)
	}
}
