package dind_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestDindMachine: dind start --machine armv7l runs dockerd under the exec
// route's uname filter; its containers inherit it (their own seccomp
// profile only adds filters, and a notification outranks their allow), so
// a 32-bit container's uname -m says armv7l under Docker's default
// profile, with the container's own host name. status names the dockerd,
// not its supervisor, and stop leaves nothing.
func TestDindMachine(t *testing.T) {
	files := daemonFiles(t)
	c := newCLI(t)
	r := c.dind("start", "--machine", "armv7l", "--input", dindRootfs(t, files), "--", "--iptables=false", "--bridge=none", "--shutdown-timeout=3")
	if r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if !strings.Contains(r.stdout, "uname machine: armv7l") || !strings.Contains(r.stdout, "personality: linux32") || strings.Contains(r.stderr, "warning") {
		t.Errorf("start output:\n%s\n%s", r.stdout, r.stderr)
	}
	st, code := statusJSON(t, c)
	if code != 0 || !st.Running || st.Machine != "armv7l" {
		t.Fatalf("status: %d %+v", code, st)
	}
	pid := st.Pid
	if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); exe != filepath.Join(c.dir, "rootfs/usr/local/bin/dockerd") {
		t.Errorf("status names pid %d, which runs %s, not the dockerd", pid, exe)
	}

	rootfs := testenv.BusyboxRootfs(t, "i386")
	tarCmd := exec.Command("tar", "-C", rootfs, "-c", ".")
	imp := exec.Command(testenv.DockerCLI, "import", "-", "busybox386")
	imp.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(c.dir, "docker.sock"))
	pipe, _ := tarCmd.StdoutPipe()
	imp.Stdin = pipe
	tarCmd.Start()
	if b, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import: %v %s", err, b)
	}
	tarCmd.Wait()

	const probe = "uname -m; hostname; grep -c '^Seccomp:.2' /proc/self/status; grep -m1 -c 'CPU architecture: 7' /proc/cpuinfo"
	r = c.docker("run", "--rm", "--hostname", "box1", "busybox386", "sh", "-c", probe)
	if r.code != 0 || r.stdout != "armv7l\nbox1\n1\n1\n" {
		t.Errorf("container under Docker's default profile (exit %d): %q %s", r.code, r.stdout, r.stderr)
	}
	r = c.docker("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox386", "uname", "-m")
	if r.code != 0 || r.stdout != "armv7l\n" {
		t.Errorf("unconfined container (exit %d): %q %s", r.code, r.stdout, r.stderr)
	}
	if r := c.docker("run", "-d", "--name", "mach", "--hostname", "box2", "busybox386", "sleep", "600"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	if r := c.docker("exec", "mach", "uname", "-n", "-m"); r.code != 0 || r.stdout != "box2 armv7l\n" {
		t.Errorf("docker exec (exit %d): %q %s", r.code, r.stdout, r.stderr)
	}
	// A 64-bit program is not intercepted: the kernel answers it.
	root64 := testenv.BusyboxRootfs(t, "amd64")
	tar64 := exec.Command("tar", "-C", root64, "-c", ".")
	imp64 := exec.Command(testenv.DockerCLI, "import", "-", "busybox64")
	imp64.Env = imp.Env
	pipe64, _ := tar64.StdoutPipe()
	imp64.Stdin = pipe64
	tar64.Start()
	if b, err := imp64.CombinedOutput(); err != nil {
		t.Fatalf("import: %v %s", err, b)
	}
	tar64.Wait()
	if r := c.docker("run", "--rm", "busybox64", "uname", "-m"); r.code != 0 || r.stdout != "x86_64\n" && r.stdout != "i686\n" {
		t.Errorf("64-bit container (exit %d): %q %s", r.code, r.stdout, r.stderr)
	}

	if r := c.dind("stop"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	if left := leftovers(t, c.dir, pid); len(left) > 0 {
		t.Fatalf("left after stop:\n%s", strings.Join(left, "\n"))
	}
}
