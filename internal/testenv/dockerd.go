package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Dockerd is a throw-away Docker daemon (Debian's docker.io) with its own
// data root, exec root, socket, pidfile and daemon.json.
type Dockerd struct {
	Host string // unix:///…/docker.sock
	Root string // everything of this daemon lives below
	Log  string // its log file
	Pid  int

	cmd  *exec.Cmd
	done chan error
}

// DockerdOptions configure StartDockerd.
type DockerdOptions struct {
	// DaemonJSON is written as the daemon's --config-file (the host's
	// /etc/docker/daemon.json is never read).
	DaemonJSON map[string]any
	// PathPrepend goes in front of dockerd's PATH (BuildKit's runc route).
	PathPrepend []string
	ExtraArgs   []string
	// Env is added to dockerd's environment.
	Env []string
	// Privileged makes --privileged containers start here: root in this
	// project's sandboxes may lack a capability (CAP_SYS_RESOURCE) that
	// dockerd gives them, so the default runtime is test/capbound, which
	// drops what the bounding set lacks and execs the host's runc.
	Privileged bool
	// ConfigFile, when set, is the daemon.json dockerd reads (as written by
	// install, say) instead of one made from DaemonJSON (which, with
	// Privileged, is then ignored).
	ConfigFile string
	// NetNS, a network namespace file (NewNetNS), runs dockerd inside that
	// namespace with its own default bridge, iptables and ip6tables rules:
	// the host's network and firewall stay untouched.
	NetNS string
}

// DockerCLI is the docker client the tests use: Debian's, matching the
// daemon's API version.
const DockerCLI = "/usr/bin/docker"

// StartDockerd starts a daemon and waits until it answers /_ping. It is
// stopped and everything below Root removed in t.Cleanup.
func StartDockerd(t testing.TB, opts DockerdOptions) *Dockerd {
	t.Helper()
	SkipShort(t, "dockerd")
	RequireRoot(t)
	dockerd := RequireCommand(t, "dockerd")
	_, err := os.Stat(DockerCLI)
	Require(t, err == nil, "%s not found: run scripts/install-deps.sh (docker.io)", DockerCLI)
	// Unix socket paths are limited to 108 bytes: keep the root short.
	root, err := os.MkdirTemp("/tmp", "ashd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &Dockerd{Root: root, Host: "unix://" + filepath.Join(root, "docker.sock"), Log: filepath.Join(root, "dockerd.log")}
	cfg := map[string]any{}
	if opts.Privileged {
		runc := RequireCommand(t, "runc")
		cfg["runtimes"] = map[string]any{"capbound": map[string]any{
			"path": BuildBinary(t, "./test/capbound"), "runtimeArgs": []string{"--real=" + runc}}}
		cfg["default-runtime"] = "capbound"
	}
	for k, v := range opts.DaemonJSON {
		cfg[k] = v
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	cfgPath := filepath.Join(root, "daemon.json")
	if opts.ConfigFile != "" {
		cfgPath = opts.ConfigFile
	} else if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--config-file", cfgPath,
		"--data-root", filepath.Join(root, "data"),
		"--exec-root", filepath.Join(root, "exec"),
		"--pidfile", filepath.Join(root, "docker.pid"),
		"-H", d.Host,
	}
	if opts.NetNS == "" {
		// On the host's network: no bridge, no rules.
		args = append(args, "--iptables=false", "--ip-masq=false", "--bridge=none")
	}
	args = append(args, opts.ExtraArgs...)
	logf, err := os.Create(d.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dockerd, args...)
	if opts.NetNS != "" {
		// nsenter execs dockerd in place: the pid stays dockerd's.
		cmd = exec.Command(RequireCommand(t, "nsenter"), append([]string{"--net=" + opts.NetNS, "--", dockerd}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	path := os.Getenv("PATH")
	if len(opts.PathPrepend) > 0 {
		path = strings.Join(opts.PathPrepend, ":") + ":" + path
	}
	cmd.Env = append(append(os.Environ(), "PATH="+path), opts.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting dockerd: %v", err)
	}
	logf.Close()
	d.cmd, d.Pid, d.done = cmd, cmd.Process.Pid, make(chan error, 1)
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })

	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := d.Ping(); err == nil {
			return d
		}
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("dockerd exited during start (%v); log tail:\n%s", err, d.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd did not answer /_ping within 60s; log tail:\n%s", d.LogTail(30))
		}
	}
}

// Ping asks the daemon's /_ping.
func (d *Dockerd) Ping() error {
	sock := strings.TrimPrefix(d.Host, "unix://")
	c := http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}},
	}
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "OK" {
		return fmt.Errorf("/_ping: %s %q", resp.Status, body)
	}
	return nil
}

// Env is the environment for a docker client talking to this daemon.
func (d *Dockerd) Env() []string {
	return append(os.Environ(), "DOCKER_HOST="+d.Host, "DOCKER_CONFIG="+filepath.Join(d.Root, "cli"))
}

// Docker runs the docker CLI against this daemon.
func (d *Dockerd) Docker(args ...string) (stdout, stderr string, err error) {
	return d.DockerWith(DockerCLI, nil, args...)
}

// DockerWith runs the docker program bin (a wrapper, say) against this
// daemon with extra environment env.
func (d *Dockerd) DockerWith(bin string, env []string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(d.Env(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// Import makes an image ref from the root filesystem directory rootfs,
// with Dockerfile instructions changes (docker import --change:
// ENTRYPOINT, ENV, ...) in its config.
func (d *Dockerd) Import(t testing.TB, rootfs, ref string, changes ...string) {
	t.Helper()
	tar := exec.Command("tar", "-C", rootfs, "-c", ".")
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	imp := exec.Command(DockerCLI, append(args, "-", ref)...)
	imp.Env = d.Env()
	pipe, err := tar.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	var out bytes.Buffer
	imp.Stdout, imp.Stderr = &out, &out
	if err := tar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := imp.Run(); err != nil {
		t.Fatalf("docker import %s: %v: %s", ref, err, out.String())
	}
	if err := tar.Wait(); err != nil {
		t.Fatalf("tar %s: %v", rootfs, err)
	}
}

// LogTail returns the last n lines of the daemon's log.
func (d *Dockerd) LogTail(n int) string {
	b, _ := os.ReadFile(d.Log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (d *Dockerd) stop(t testing.TB) {
	// Containers first, so their shims and mounts go away cleanly.
	if ids, _, err := d.Docker("ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
		d.Docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		t.Logf("dockerd %d ignored SIGTERM for 20s; killing", d.Pid)
		syscall.Kill(-d.Pid, syscall.SIGKILL)
		<-d.done
	}
	// Its process group: containerd and shims it started.
	syscall.Kill(-d.Pid, syscall.SIGKILL)
	UnmountBelow(d.Root)
	if err := os.RemoveAll(d.Root); err != nil {
		t.Logf("removing %s: %v", d.Root, err)
	}
}

// UnmountBelow detaches every mount point at or below dir, deepest first.
func UnmountBelow(dir string) {
	for _, p := range mountinfo.Below(dir) {
		unix.Unmount(p, unix.MNT_DETACH)
	}
}

// NewNetNS makes a network namespace (ip netns add) with its loopback up,
// removed in t.Cleanup, and returns its name and file.
func NewNetNS(t testing.TB) (name, path string) {
	t.Helper()
	RequireRoot(t)
	ip := RequireCommand(t, "ip")
	name = fmt.Sprintf("ash-%d-%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
			t.Logf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command(ip, "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	return name, "/run/netns/" + name
}

var nsSeq atomic.Int64
