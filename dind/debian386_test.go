package dind_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestDindDebian386: the 32-bit dockerd as docs/docker.md's "From
// Debian's packages" makes it, i386 standing in for armhf: Debian's
// docker.io, containerd, runc and tini i386 packages unpacked into a
// directory, their libraries multiarch on the host (install-deps.sh). Docker
// itself then picks linux/386: its server is linux/386, a build without
// --platform makes a 386 image whose RUN sees i686 and an armv7 cpuinfo, and
// a 64-bit container dies of SIGSYS unless its seccomp filter is dropped.
func TestDindDebian386(t *testing.T) {
	testenv.SkipShort(t, "a 32-bit dockerd of Debian's i386 packages")
	testenv.RequireRoot(t)
	_, err := os.Stat("/lib/ld-linux.so.2")
	testenv.Require(t, err == nil, "no i386 loader /lib/ld-linux.so.2 (apt-get install libc6:i386; scripts/install-deps.sh)")
	input := filepath.Join(t.TempDir(), "dind-i386")
	for _, p := range []string{"docker.io:i386", "containerd:i386", "runc:i386", "tini:i386"} {
		if out, err := exec.Command("dpkg-deb", "-x", testenv.DebFile(t, p), input).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x %s: %v: %s", p, err, out)
		}
	}
	c := newCLI(t)
	r := c.dind("start", "--input", input, "--network", "host", "--", "--iptables=false", "--ip6tables=false", "--bridge=none", "--shutdown-timeout=3")
	if r.code != 0 || !strings.Contains(r.stderr, "this dockerd is 32-bit (EM_386)") || !strings.Contains(r.stdout, "architecture: i686") {
		t.Fatalf("start: %+v", r)
	}
	st, _ := statusJSON(t, c)
	if v := c.docker("version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"); v.code != 0 || v.stdout != "linux/386\n" {
		t.Fatalf("docker version: %+v", v)
	}
	load := func(rootfs, ref, arch string) {
		t.Helper()
		cmd := exec.Command(testenv.DockerCLI, "load")
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(c.dir, "docker.sock"))
		cmd.Stdin = bytes.NewReader(testenv.DockerArchive(t, rootfs, ref, arch))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker load %s: %v: %s", ref, err, out)
		}
	}
	load(testenv.BusyboxRootfs(t, "i386"), "bb386", "386")
	load(testenv.BusyboxRootfs(t, "amd64"), "bb64", "amd64")

	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb386\nRUN echo \"@@ $(uname -m) $(grep -m1 'CPU architecture' /proc/cpuinfo)\"\n"), 0o644)
	for _, builder := range []string{"0", "1"} {
		args := []string{"build", "--network", "none", "-t", "built" + builder, ctx}
		if builder == "1" {
			args = append(args, "--progress", "plain") // BuildKit's RUN output
		}
		cmd := exec.Command(testenv.DockerCLI, args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(c.dir, "docker.sock"), "DOCKER_BUILDKIT="+builder)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "@@ i686 CPU architecture: 7") {
			t.Errorf("DOCKER_BUILDKIT=%s docker build: %v\n%s", builder, err, out)
		}
		if i := c.docker("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", "built"+builder); i.stdout != "linux/386\n" {
			t.Errorf("DOCKER_BUILDKIT=%s: image %+v, want linux/386", builder, i)
		}
	}
	if r := c.docker("run", "--rm", "--network", "none", "bb64", "true"); r.code != 159 {
		t.Errorf("a 64-bit container under the 32-bit dockerd: %+v, want exit 159 (SIGSYS)", r)
	}
	if r := c.docker("run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined", "bb64", "uname", "-m"); r.code != 0 || r.stdout != "i686\n" {
		t.Errorf("with seccomp=unconfined: %+v", r)
	}
	if r := c.dind("stop"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	if left := leftovers(t, c.dir, st.Pid); len(left) > 0 {
		t.Errorf("left after stop:\n%s", strings.Join(left, "\n"))
	}
}
