package buildx_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/buildx"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// builderEnv is a throw-away dockerd with buildx as its CLI's plugin, a
// stand-in for moby/buildkit (no registry is reachable here) and a
// directory whose docker and armhf-shim are the ones under test.
type builderEnv struct {
	d    *testenv.Dockerd
	bin  string // PATH directory: docker, armhf-shim
	work string // the user's working directory
}

// newBuilderEnv imports the stand-in as buildx.DefaultFrom(): the real
// buildkitd and buildctl of scripts/engines.versions, runc as
// /usr/bin/buildkit-runc and no runc, buildkitd as the entrypoint — the
// layout of moby/buildkit (whose entrypoint script ends in exec buildkitd).
func newBuilderEnv(t *testing.T) *builderEnv {
	testenv.SkipShort(t, "buildx builders on a real dockerd")
	testenv.RequireRoot(t)
	buildkitd := testenv.Engine(t, "buildkitd")
	buildctl := testenv.Engine(t, "buildctl")
	runc := testenv.Engine(t, "runc")
	buildxBin := testenv.Engine(t, "buildx")
	shim := testenv.BuildBinary(t, "./cmd/armhf-shim")

	root := filepath.Join(t.TempDir(), "moby-buildkit")
	for _, dir := range []string{"usr/bin", "etc/buildkit", "var/lib/buildkit", "tmp", "proc", "dev", "sys", "run"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range map[string]string{"buildkitd": buildkitd, "buildctl": buildctl, "buildkit-runc": runc} {
		copyFile(t, src, filepath.Join(root, "usr/bin", name), 0o755)
	}
	d := testenv.StartDockerd(t, testenv.DockerdOptions{Privileged: true}) // buildx runs its builders --privileged
	d.Import(t, root, buildx.DefaultFrom(),
		`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
		`ENTRYPOINT ["/usr/bin/buildkitd"]`)

	plugins := filepath.Join(d.Root, "cli", "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(buildxBin, filepath.Join(plugins, "docker-buildx")); err != nil {
		t.Fatal(err)
	}
	e := &builderEnv{d: d, bin: t.TempDir(), work: t.TempDir()}
	for name, target := range map[string]string{"docker": testenv.DockerCLI, "armhf-shim": shim} {
		if err := os.Symlink(target, filepath.Join(e.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// sh runs a command line as a user would type it, in the working
// directory, with this daemon's environment.
func (e *builderEnv) sh(t *testing.T, line string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = e.work
	cmd.Env = append(e.d.Env(), "PATH="+e.bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *builderEnv) mustSh(t *testing.T, line string) string {
	t.Helper()
	out, err := e.sh(t, line)
	if err != nil {
		t.Fatalf("%s: %v\n%s\ndockerd log:\n%s", line, err, out, e.d.LogTail(20))
	}
	return out
}

// section is the indented command lines under the heading that starts
// with prefix in armhf-shim buildx image's output.
func section(t *testing.T, out, prefix string) []string {
	t.Helper()
	var lines []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, prefix):
			in = true
		case !strings.HasPrefix(l, "  "):
			in = false
		case in:
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no %q lines in:\n%s", prefix, out)
	}
	return lines
}

// buildContext writes a Dockerfile whose RUN records what a step sees,
// from an i386 or amd64 busybox root filesystem by the target platform.
func buildContext(t *testing.T) string {
	dir := t.TempDir()
	for goarch, debarch := range map[string]string{"386": "i386", "amd64": "amd64"} {
		if out, err := exec.Command("cp", "-a", testenv.BusyboxRootfs(t, debarch), filepath.Join(dir, "rootfs-"+goarch)).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, out)
		}
	}
	df := "FROM scratch\nARG TARGETARCH\nCOPY rootfs-${TARGETARCH}/ /\n" +
		"RUN uname -m > /uname.txt; cat /proc/cpuinfo > /cpuinfo.txt; grep 'CPU architecture' /proc/cpuinfo | head -n 1\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var hostModel = regexp.MustCompile(`(?m)^model name\s*:.*$`)

// checkStep says whether what the RUN step saw in dir is right for goarch:
// 386 sees i686 and an armv7 cpuinfo (the wrapper); amd64 sees x86_64 and
// the host's cpuinfo.
func checkStep(t *testing.T, dir, goarch string) {
	t.Helper()
	un, err := os.ReadFile(filepath.Join(dir, "uname.txt"))
	if err != nil {
		t.Fatalf("%s: %v", goarch, err)
	}
	ci, err := os.ReadFile(filepath.Join(dir, "cpuinfo.txt"))
	if err != nil {
		t.Fatalf("%s: %v", goarch, err)
	}
	host, _ := os.ReadFile("/proc/cpuinfo")
	uname, cpuinfo := strings.TrimSpace(string(un)), string(ci)
	switch goarch {
	case "386":
		if uname != "i686" || !strings.Contains(cpuinfo, "CPU architecture: 7") {
			t.Errorf("linux/386 step: uname -m %q, cpuinfo:\n%.400s\nwant i686 and CPU architecture: 7", uname, cpuinfo)
		}
	case "amd64":
		if uname != "x86_64" || strings.Contains(cpuinfo, "CPU architecture") || hostModel.FindString(cpuinfo) != hostModel.FindString(string(host)) {
			t.Errorf("linux/amd64 step: uname -m %q, cpuinfo:\n%.400s\nwant x86_64 and the host's (%q)", uname, cpuinfo, hostModel.FindString(string(host)))
		}
	}
}

// TestBuildxDockerContainerBuilder: armhf-shim buildx image makes the
// builder image from the local buildkit image, and the lines it prints
// make a docker-container builder whose linux/386 steps see i686 and an
// armv7 cpuinfo, while linux/amd64 steps see the host. A builder on the
// plain buildkit image is the control: its linux/386 step sees x86_64.
func TestBuildxDockerContainerBuilder(t *testing.T) {
	e := newBuilderEnv(t)
	wrapper := testenv.BuildBinary(t, "./cmd/armhf-runc")
	// Refusals name what failed and the fix, and build nothing.
	for _, c := range []struct{ args, want string }{
		{"--from nosuch/buildkit:v1 --runtime-binary " + wrapper, "image nosuch/buildkit:v1 is not in this Docker: docker pull nosuch/buildkit:v1"},
		{"--runtime-binary /bin/true", "dynamically linked"},
	} {
		out, err := e.sh(t, "armhf-shim buildx image "+c.args)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("buildx image %s: %v\n%s\nwant an error saying %q", c.args, err, out, c.want)
		}
	}
	out := e.mustSh(t, "armhf-shim buildx image --runtime-binary "+wrapper+" 2>/dev/null")
	t.Logf("armhf-shim buildx image:\n%s", out)
	tag := buildx.DefaultTag(buildx.DefaultFrom())
	if !strings.HasPrefix(out, "built "+tag+" ") {
		t.Fatalf("buildx image printed:\n%s\nwant built %s", out, tag)
	}
	for _, line := range section(t, out, "docker-container driver") {
		if strings.Contains(line, "...") {
			continue // the user's own build
		}
		t.Logf("$ %s", line)
		e.mustSh(t, line)
	}
	boot := e.mustSh(t, "docker buildx inspect --bootstrap armhf")
	// buildx pulls first and, when that fails, uses the local image.
	if !strings.Contains(boot, "using local image "+tag) {
		t.Errorf("bootstrap did not say it fell back to the local image:\n%s", boot)
	}

	ctx := buildContext(t)
	for _, goarch := range []string{"386", "amd64"} {
		dest := filepath.Join(t.TempDir(), goarch)
		out := e.mustSh(t, "docker buildx build --progress plain --platform linux/"+goarch+" --output type=local,dest="+dest+" "+ctx)
		t.Logf("linux/%s build:\n%s", goarch, lastLines(out, 8))
		checkStep(t, dest, goarch)
	}
	multi := filepath.Join(t.TempDir(), "multi")
	e.mustSh(t, "docker buildx build --platform linux/amd64,linux/386 --output type=local,dest="+multi+" "+ctx)
	checkStep(t, filepath.Join(multi, "linux_386"), "386")
	checkStep(t, filepath.Join(multi, "linux_amd64"), "amd64")

	// --load: the docker exporter's tarball into this dockerd (20.10).
	e.mustSh(t, "docker buildx build --platform linux/386 --load --tag armhf-shim-test:386 "+ctx)
	if got := strings.TrimSpace(e.mustSh(t, "docker run --rm --platform linux/386 armhf-shim-test:386 cat /uname.txt")); got != "i686" {
		t.Errorf("--load: the loaded image's build step saw %q, want i686", got)
	}

	// Control: the same build on the plain buildkit image.
	e.mustSh(t, "docker buildx create --name plain --driver docker-container --driver-opt image="+buildx.DefaultFrom())
	dest := filepath.Join(t.TempDir(), "plain")
	e.mustSh(t, "docker buildx build --builder plain --platform linux/386 --output type=local,dest="+dest+" "+ctx)
	if un, _ := os.ReadFile(filepath.Join(dest, "uname.txt")); strings.TrimSpace(string(un)) != "x86_64" {
		t.Errorf("control builder without the wrapper: linux/386 step saw %q, want x86_64 (is the test measuring the wrapper?)", un)
	}

	// doctor sees both builders (in DOCKER_CONFIG's buildx store) and
	// tells them apart from what their containers hold.
	var rep struct {
		Builders []struct{ Name, Driver, Wrapper, Detail string } `json:"buildx_builders"`
	}
	js, _ := e.sh(t, "armhf-shim doctor --json 2>/dev/null") // exit 1 is a host that cannot run 32-bit code
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, js)
	}
	got := map[string]string{}
	for _, b := range rep.Builders {
		got[b.Name] = b.Wrapper
		t.Logf("doctor: builder %s (%s): wrapper %s — %s", b.Name, b.Driver, b.Wrapper, b.Detail)
	}
	if got["armhf"] != "yes" || got["plain"] != "no" || len(got) != 2 {
		t.Errorf("doctor's builders %v, want armhf: yes, plain: no", got)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
