package install

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// cliHost is a fake host root for docker-cli: the armhf-shim binary, a
// real docker (a script) in realDir, and the standard PATH below root.
type cliHost struct {
	root, bin, real, cfg, path string
}

const fakeDocker = "#!/bin/sh\necho real docker \"$@\"\n"

func newCLIHost(t *testing.T, realDir string) cliHost {
	t.Helper()
	dir, bin := setup(t)
	h := cliHost{root: dir, bin: bin, cfg: filepath.Join(dir, "etc", "armhf-shim", "config.json")}
	var ds []string
	for _, d := range strings.Split(systemdPATH, ":") {
		ds = append(ds, filepath.Join(dir, d))
	}
	h.path = strings.Join(ds, ":")
	h.real = filepath.Join(dir, realDir, "docker")
	os.MkdirAll(filepath.Dir(h.real), 0o755)
	if err := os.WriteFile(h.real, []byte(fakeDocker), 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h cliHost) opts(uninstall bool) Options {
	return Options{Target: "docker-cli", Config: h.cfg, Binary: h.bin, Uninstall: uninstall, pathEnv: h.path}
}

// Issue 17.15: install docker-cli puts the wrapper first on PATH without
// touching the real docker (here in /usr/local/bin, where the documented
// `install -m 0755 armhf-docker /usr/local/bin/docker` overwrote it),
// records the docker it fronts where the wrapper reads it, is idempotent,
// and uninstall gives back exactly what was there.
func TestDockerCLIInstallUninstall(t *testing.T) {
	for _, tc := range []struct{ realDir, linkDir string }{
		{"usr/local/bin", "usr/local/sbin"},
		{"usr/bin", "usr/local/bin"},
	} {
		t.Run(tc.realDir, func(t *testing.T) {
			h := newCLIHost(t, tc.realDir)
			before := leftovers(t, h.root)
			out := run(t, h.opts(false))
			link := filepath.Join(h.root, tc.linkDir, "docker")
			if tgt, err := os.Readlink(link); err != nil || tgt != h.bin {
				t.Fatalf("link %s -> %q (%v), want -> %s\n%s", link, tgt, err, h.bin, out)
			}
			if b := readFile(t, h.real); b != fakeDocker {
				t.Errorf("the real docker was changed: %q", b)
			}
			if cfg := decodeJSON(t, []byte(readFile(t, h.cfg))); cfg["docker"] != h.real {
				t.Errorf("config names docker %v, want %s", cfg["docker"], h.real)
			}
			if out := run(t, h.opts(false)); !strings.Contains(out, "nothing to do") {
				t.Errorf("second install: %s", out)
			}
			run(t, h.opts(true))
			if after := leftovers(t, h.root); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("uninstall left a different tree:\nbefore %q\nafter  %q", before, after)
			}
			if out := run(t, h.opts(true)); !strings.Contains(out, "nothing to do") {
				t.Errorf("second uninstall: %s", out)
			}
		})
	}
}

// The user's config file keeps its bytes through install and uninstall;
// --dry-run shows the diff and the link and changes nothing.
func TestDockerCLIKeepsConfigAndDryRun(t *testing.T) {
	h := newCLIHost(t, "usr/local/bin")
	orig := "{\n    \"dockerPlatform\": false,\n    \"x-other\": [1, 2]\n}\n"
	os.MkdirAll(filepath.Dir(h.cfg), 0o755)
	os.WriteFile(h.cfg, []byte(orig), 0o640)
	dry := h.opts(false)
	dry.DryRun = true
	out := run(t, dry)
	if !strings.Contains(out, `+    "docker": "`+h.real+`"`) || !strings.Contains(out, "would create symlink "+filepath.Join(h.root, "usr/local/sbin/docker")) {
		t.Errorf("dry-run output:\n%s", out)
	}
	if readFile(t, h.cfg) != orig {
		t.Fatal("--dry-run changed the config")
	}
	if _, err := os.Lstat(filepath.Join(h.root, "usr/local/sbin/docker")); err == nil {
		t.Fatal("--dry-run made the link")
	}
	run(t, h.opts(false))
	run(t, h.opts(true))
	if got := readFile(t, h.cfg); got != orig {
		t.Errorf("uninstall gave back\n%s\nwant\n%s", got, orig)
	}
	if st, _ := os.Stat(h.cfg); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode())
	}
}

// Installing in front of a docker that is already the wrapper would make
// it exec itself: refused, with nothing changed.
func TestDockerCLIRefusesToShadowItself(t *testing.T) {
	h := newCLIHost(t, "usr/bin")
	// The documented install: a copy of the wrapper as /usr/local/bin/docker.
	copyOfWrapper := filepath.Join(h.root, "usr/local/bin/docker")
	os.MkdirAll(filepath.Dir(copyOfWrapper), 0o755)
	os.WriteFile(copyOfWrapper, []byte("\x7fELF...ARMHF_SHIM_DOCKER_CHAIN..."), 0o755)
	var out bytes.Buffer
	o := h.opts(false)
	o.Out = &out
	err := Run(o)
	if err == nil || !strings.Contains(err.Error(), "the first docker on PATH, is already armhf-shim's docker wrapper") {
		t.Errorf("install in front of a wrapper copy: %v", err)
	}
	o.Docker = copyOfWrapper
	if err := Run(o); err == nil || !strings.Contains(err.Error(), "already armhf-shim's docker wrapper") {
		t.Errorf("--docker naming a wrapper: %v", err)
	}
	o.Docker = h.bin // the armhf-shim binary (the multi-call wrapper)
	if err := Run(o); err == nil || !strings.Contains(err.Error(), "already armhf-shim's docker wrapper") {
		t.Errorf("--docker naming armhf-shim: %v", err)
	}
	if _, err := os.Stat(h.cfg); err == nil {
		t.Error("a refused install wrote the config")
	}
	// Something not ours where the link would go is never replaced.
	os.Remove(copyOfWrapper)
	o.Docker, o.LinkDir = "", filepath.Join(h.root, "opt")
	os.MkdirAll(o.LinkDir, 0o755)
	os.Symlink("/opt/elsewhere/docker", filepath.Join(o.LinkDir, "docker"))
	if err := Run(o); err == nil || !strings.Contains(err.Error(), "not armhf-shim's link") {
		t.Errorf("install over a foreign link: %v", err)
	}
}

// IsDockerWrapper finds the marker also across a read-buffer boundary.
func TestIsDockerWrapper(t *testing.T) {
	dir := t.TempDir()
	for _, off := range []int{0, 1<<20 - 5, 1 << 20, 3<<20 + 7} {
		p := filepath.Join(dir, "w")
		b := make([]byte, off)
		b = append(b, "ARMHF_SHIM_DOCKER_CHAIN"...)
		os.WriteFile(p, append(b, 0, 1), 0o755)
		if !IsDockerWrapper(p) {
			t.Errorf("marker at %d not found", off)
		}
		os.WriteFile(p, b[:len(b)-1], 0o755)
		if IsDockerWrapper(p) {
			t.Errorf("truncated marker at %d found", off)
		}
	}
}

// The installed link runs the real wrapper, which execs the docker the
// config file names.
func TestDockerCLIWrapperExecsTheRecordedDocker(t *testing.T) {
	h := newCLIHost(t, "usr/local/bin")
	bin := filepath.Join(filepath.Dir(h.bin), CLIWrapperName)
	build := exec.Command("go", "build", "-o", bin, "github.com/armhf-shim/armhf-shim/cmd/armhf-docker")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building armhf-docker: %v\n%s", err, out)
	}
	run(t, h.opts(false))
	if tgt, _ := os.Readlink(filepath.Join(h.root, "usr/local/sbin/docker")); tgt != bin {
		t.Fatalf("link -> %q, want the lean wrapper %s", tgt, bin)
	}
	cmd := exec.Command(filepath.Join(h.root, "usr/local/sbin/docker"), "version")
	cmd.Args[0] = "docker"
	cmd.Env = append(os.Environ(), "PATH="+h.path, "ARMHF_SHIM_CONFIG="+h.cfg, "ARMHF_SHIM_DOCKER=")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "real docker version\n" {
		t.Errorf("docker version through the link: %v %q", err, out)
	}
}

// A dockerd's child between fork and exec (its comm and cmdline still the
// daemon's) is not a second daemon: a reload forks one per runtime check.
func TestRunningDockerdsSkipsForkedChildren(t *testing.T) {
	proc := t.TempDir()
	for _, p := range []struct{ pid, stat string }{
		{"100", "100 (dockerd) S 1 100 100 0"},
		{"101", "101 (dockerd) R 100 100 100 0"},
	} {
		d := filepath.Join(proc, p.pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "comm"), []byte("dockerd\n"), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte("/usr/sbin/dockerd\x00--config-file\x00/srv/daemon.json\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "stat"), []byte(p.stat+"\n"), 0o644)
	}
	ds := RunningDockerds(proc, "")
	if len(ds) != 1 || ds[0].Pid != 100 || ds[0].ConfigFile != "/srv/daemon.json" {
		t.Errorf("got %+v, want the daemon 100 alone", ds)
	}
}

// A config file that install docker-cli creates is the one member and a
// single final newline, as every other file it writes (it ended with a
// blank line).
func TestDockerCLINewConfigBytes(t *testing.T) {
	h := newCLIHost(t, "usr/bin")
	run(t, h.opts(false))
	want := "{\n  \"docker\": \"" + h.real + "\"\n}\n"
	if got := readFile(t, h.cfg); got != want {
		t.Errorf("new config file %q, want %q", got, want)
	}
}

// A dockerd in another root (armhf-lxc --docker's, in its container) is not
// one of the host's: doctor took it for a daemon reading the host's
// daemon.json, asked the host's socket for it, and judged BuildKit by its
// PATH resolved on the host. Run in that other root (doctor in a chroot,
// as in the arm64 VM), the daemons there are the ones it reads the files
// of: the host's own are not.
func TestRunningDockerdsSkipsOtherRoots(t *testing.T) {
	proc := t.TempDir()
	host, container := t.TempDir(), t.TempDir()
	for _, p := range []struct{ pid, root string }{{"100", host}, {"200", container}, {"300", ""}} {
		d := filepath.Join(proc, p.pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "comm"), []byte("dockerd\n"), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte("/usr/sbin/dockerd\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "stat"), []byte(p.pid+" (dockerd) S 1 1 1 0\n"), 0o644)
		if p.root != "" {
			os.Symlink(p.root, filepath.Join(d, "root"))
		}
	}
	for _, tc := range []struct{ root, want string }{
		{host, "[100 300]"},      // 200 runs in another root; 300's root is unreadable
		{container, "[200 300]"}, // doctor or install run in the container's root
	} {
		var pids []int
		for _, d := range RunningDockerds(proc, tc.root) {
			pids = append(pids, d.Pid)
		}
		sort.Ints(pids)
		if fmt.Sprint(pids) != tc.want {
			t.Errorf("in root %s: daemons %v, want %s", tc.root, pids, tc.want)
		}
	}
}
