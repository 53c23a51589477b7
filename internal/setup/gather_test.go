package setup

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGatherBuildkitdConfigFromEnv: a buildkitd given its config by
// $BUILDKITD_CONFIG (buildkitd's fallback for --config) is set up on that
// file, the one doctor judges it by, not on the default. The process is a
// sleep named buildkitd: Gather reads /proc alone.
func TestGatherBuildkitdConfigFromEnv(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "buildkitd")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mine.toml")
	cmd := exec.Command(bin, "60")
	cmd.Env = append(os.Environ(), "BUILDKITD_CONFIG="+cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The kernel names the process buildkitd before it sets up the new
	// program's arguments and environment, so /proc can show the name with
	// an empty environ for a moment: wait for the arguments, which appear
	// together with the environment, before gathering.
	cmdline := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cmdline")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(cmdline); bytes.HasPrefix(b, []byte(bin+"\x00")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed the exec'd program's arguments", cmdline)
		}
	}
	var found []Daemon
	for _, d := range Gather(GatherOptions{BuildxDir: dir}).Buildkitd.Running {
		if d.Pid == cmd.Process.Pid {
			found = append(found, d)
		}
	}
	if len(found) != 1 || found[0].Config != cfg {
		t.Fatalf("gathered %+v: want pid %d reading %s", found, cmd.Process.Pid, cfg)
	}
}

// TestGatherOtherRootNoted: a daemon of any engine in another root
// (install.InRoot: armhf-lxc --docker's dockerd in its container, a
// chroot's) or another mount namespace is not set up, and setup says it
// saw it, with the one note all engines share; one in setup's root and
// namespace is set up. The /proc is a fixture: root links to / or to a
// directory of its own, mount namespace links to setup's or another.
func TestGatherOtherRootNoted(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no engine installed beside the fixture's
	for _, c := range []struct {
		comm, cmdline, unit string
		otherRoot, otherNS  bool
		target              string // the step when set up
	}{
		{comm: "dockerd", cmdline: "/usr/bin/dockerd", unit: "docker.service", target: "docker"},
		{comm: "dockerd", cmdline: "/usr/bin/dockerd", unit: "docker.service", otherRoot: true, otherNS: true},
		{comm: "dockerd", cmdline: "/usr/bin/dockerd", unit: "docker.service", otherRoot: true},
		{comm: "dockerd", cmdline: "/usr/bin/dockerd", unit: "docker.service", otherNS: true},
		{comm: "containerd", cmdline: "/usr/bin/containerd", unit: "containerd.service", target: "containerd"},
		{comm: "containerd", cmdline: "/usr/bin/containerd", unit: "containerd.service", otherRoot: true, otherNS: true},
		{comm: "containerd", cmdline: "/usr/bin/containerd", unit: "containerd.service", otherRoot: true},
		{comm: "crio", cmdline: "/usr/bin/crio", unit: "crio.service", target: "crio"},
		{comm: "crio", cmdline: "/usr/bin/crio", unit: "crio.service", otherRoot: true, otherNS: true},
		{comm: "crio", cmdline: "/usr/bin/crio", unit: "crio.service", otherRoot: true},
		{comm: "buildkitd", cmdline: "/usr/bin/buildkitd", unit: "buildkit.service", target: "buildkitd"},
		{comm: "buildkitd", cmdline: "/usr/bin/buildkitd", unit: "buildkit.service", otherRoot: true, otherNS: true},
		{comm: "buildkitd", cmdline: "/usr/bin/buildkitd", unit: "buildkit.service", otherRoot: true},
	} {
		name := fmt.Sprintf("%s otherRoot=%v otherNS=%v", c.comm, c.otherRoot, c.otherNS)
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			proc := filepath.Join(dir, "proc")
			otherRoot := filepath.Join(dir, "container-rootfs")
			os.MkdirAll(otherRoot, 0o755)
			add := func(pid, ppid, comm, cmdline, cgroup, root, ns string) {
				d := filepath.Join(proc, pid)
				os.MkdirAll(filepath.Join(d, "ns"), 0o755)
				os.WriteFile(filepath.Join(d, "comm"), []byte(comm+"\n"), 0o644)
				os.WriteFile(filepath.Join(d, "cmdline"), []byte(strings.ReplaceAll(cmdline, " ", "\x00")+"\x00"), 0o644)
				os.WriteFile(filepath.Join(d, "cgroup"), []byte(cgroup+"\n"), 0o644)
				os.WriteFile(filepath.Join(d, "stat"), []byte(pid+" ("+comm+") S "+ppid+" 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"), 0o644)
				os.Symlink(root, filepath.Join(d, "root"))
				os.Symlink("/", filepath.Join(d, "cwd"))
				os.Symlink(ns, filepath.Join(d, "ns", "mnt"))
			}
			add("1", "0", "systemd", "/sbin/init", "0::/init.scope", "/", "mnt:[4026531841]")
			os.Symlink("1", filepath.Join(proc, "self"))
			root, ns := "/", "mnt:[4026531841]"
			if c.otherRoot {
				root = otherRoot
			}
			if c.otherNS {
				ns = "mnt:[4026532999]"
			}
			add("300", "1", c.comm, c.cmdline, "0::/system.slice/"+c.unit, root, ns)

			d := Detect(Gather(GatherOptions{Proc: proc, BuildxDir: t.TempDir()}))
			var targets []string
			for _, s := range d.Steps {
				if s.Apply.Pid == 300 {
					targets = append(targets, s.Target)
				}
			}
			other := c.comm + " pid 300 runs in another root or mount namespace"
			var notes []string
			for _, n := range d.Notes {
				if strings.Contains(n, "pid 300 runs in another") {
					notes = append(notes, n)
				}
			}
			if c.target != "" {
				if len(targets) == 0 || targets[0] != c.target || len(notes) != 0 {
					t.Fatalf("steps %v, notes %q: want %s set up, no note", targets, notes, c.target)
				}
				return
			}
			if len(targets) != 0 || len(notes) != 1 || !strings.HasPrefix(notes[0], other) {
				t.Fatalf("steps %v, notes %q: want nothing set up, one note %q…", targets, d.Notes, other)
			}
		})
	}
}
