package dockercli_test

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/dockercli/dockerbin"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// host is a PATH layout like a build host's: the wrapper installed as
// docker in front (wrap/docker -> armhf-shim), the real CLI behind it
// (real/docker, the fake that records its argv), and /bin -> /usr/bin style
// duplicates (dup -> real).
type host struct {
	t       *testing.T
	dir     string
	shim    string // the armhf-shim binary
	wrap    string // dir holding docker -> armhf-shim
	real    string // dir holding the fake docker
	cpuinfo string
	out     string
}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{t: t, dir: t.TempDir()}
	h.shim = testenv.BuildBinary(t, "./cmd/armhf-shim")
	fake := testenv.BuildBinary(t, "./dind/internal/fakedocker")
	h.wrap = filepath.Join(h.dir, "wrap")
	h.real = filepath.Join(h.dir, "real")
	for _, d := range []string{h.wrap, h.real} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(h.shim, filepath.Join(h.wrap, "docker")); err != nil {
		t.Fatal(err)
	}
	copyFile(t, fake, filepath.Join(h.real, "docker"))
	if err := os.Symlink(h.real, filepath.Join(h.dir, "dup")); err != nil {
		t.Fatal(err)
	}
	h.cpuinfo = filepath.Join(h.dir, "run", "cpuinfo")
	h.out = filepath.Join(h.dir, "argv")
	return h
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func (h *host) path(dirs ...string) string {
	return strings.Join(append(dirs, "/usr/bin", "/bin"), ":")
}

type result struct {
	argv   []string // what the fake docker got, argv[0] included
	env    []string
	code   int
	stdout string
	stderr string
}

// run executes bin args with PATH and extra env, without the test's own
// ARMHF_SHIM_* settings leaking in.
func (h *host) run(bin string, path string, env []string, stdin string, args ...string) result {
	h.t.Helper()
	os.Remove(h.out)
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARMHF_SHIM") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "DOCKER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PATH="+path, "FAKEDOCKER_OUT="+h.out, "ARMHF_SHIM_CPUINFO="+h.cpuinfo,
		"ARMHF_SHIM_CONFIG="+filepath.Join(h.dir, "no-config.json"), "HOME="+h.dir,
		// No daemon here to ask which containers are 32-bit: the rewrite
		// mechanics are tested for all of them (TestOnly32Bit asks one).
		"ARMHF_SHIM_CPUINFO_ALL=1")
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{code: cmd.ProcessState.ExitCode(), stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		h.t.Fatalf("running %s: %v", bin, err)
	}
	if b, err := os.ReadFile(h.out); err == nil {
		r.argv = strings.Split(string(b), "\x00")
	}
	if b, err := os.ReadFile(h.out + ".env"); err == nil {
		r.env = strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	}
	return r
}

// TestPassthroughByteIdentical: every command other than run/create reaches
// the real docker exactly as typed, through both entry points.
func TestPassthroughByteIdentical(t *testing.T) {
	h := newHost(t)
	cases := [][]string{
		{},
		{"version", "--format", "{{.Server.Version}} {{json .}}"},
		{"--version"},
		{"-v"},
		{"ps", "-a", "--filter", "label=a=b c", "--format", "table {{.ID}}\t{{.Names}}"},
		{"exec", "-it", "c1", "sh", "-c", "cat /proc/cpuinfo; echo \"$HOME\"\n"},
		{"build", "-t", "x:1", "--build-arg", "A=\xff\xfe not utf-8", "."},
		{"buildx", "build", "--platform", "linux/arm/v7", "--load", "."},
		{"compose", "run", "--rm", "web"},
		{"container", "ls", "-q"},
		{"image", "pull", "run"},
		{"-H", "unix:///x.sock", "info"},
		{"--context", "create", "logs", "-f", "run"},
		{"", " ", "run"},
		{"--unknown-global", "run", "img"},
		{"--", "run", "img"},
		{"run", "-v", "/etc/my-cpuinfo:/proc/cpuinfo:ro", "img"},
		{"run", "--mount", "type=bind,source=/a,target=/proc/cpuinfo", "img"},
		{"-c", "default", "container", "create", "--volume=/a:/proc/cpuinfo", "img"},
	}
	for _, args := range cases {
		for _, entry := range []string{"as docker", "as armhf-shim docker"} {
			bin, a := filepath.Join(h.wrap, "docker"), args
			if entry == "as armhf-shim docker" {
				bin, a = h.shim, append([]string{"docker"}, args...)
			}
			r := h.run(bin, h.path(h.wrap, h.real), nil, "", a...)
			if r.code != 0 || r.argv == nil {
				t.Fatalf("%s %q: exit %d, stderr %s", entry, args, r.code, r.stderr)
			}
			if got := r.argv[1:]; !slices.Equal(got, args) && !(len(args) == 0 && len(got) == 1 && got[0] == "") {
				t.Errorf("%s %q: real docker got %q", entry, args, got)
			}
			if r.argv[0] != filepath.Join(h.real, "docker") {
				t.Errorf("exec'd %s", r.argv[0])
			}
			if r.stderr != "" {
				t.Errorf("%s %q: wrapper printed %q", entry, args, r.stderr)
			}
		}
	}
}

func TestRunRewritten(t *testing.T) {
	h := newHost(t)
	mount := h.cpuinfo + ":/proc/cpuinfo:ro"
	cases := []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"run", "--rm", "img", "cat", "/proc/cpuinfo"}, nil, []string{"run", "-v", mount, "--rm", "img", "cat", "/proc/cpuinfo"}},
		{[]string{"-H", "unix:///var/run/docker.sock", "--log-level=debug", "container", "create", "img"}, nil,
			[]string{"-H", "unix:///var/run/docker.sock", "--log-level=debug", "container", "create", "-v", mount, "img"}},
		{[]string{"run", "img"}, []string{"ARMHF_SHIM_PLATFORM=1"}, []string{"run", "-v", mount, "--platform", "linux/arm/v7", "img"}},
		{[]string{"--armhf-shim-platform", "run", "img"}, nil, []string{"run", "-v", mount, "--platform", "linux/arm/v7", "img"}},
		{[]string{"run", "img"}, []string{"ARMHF_SHIM=0"}, []string{"run", "img"}},
	}
	for _, c := range cases {
		r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), c.env, "", c.args...)
		if r.code != 0 {
			t.Fatalf("%q: exit %d: %s", c.args, r.code, r.stderr)
		}
		if !slices.Equal(r.argv[1:], c.want) {
			t.Errorf("%q %q: real docker got %q, want %q", c.env, c.args, r.argv[1:], c.want)
		}
	}
	// The file was generated on first use: armv7, world-readable, every CPU.
	fi, err := os.Stat(h.cpuinfo)
	if err != nil {
		t.Fatalf("cpuinfo file not created: %v", err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("cpuinfo mode %v", fi.Mode())
	}
	b, _ := os.ReadFile(h.cpuinfo)
	if !strings.Contains(string(b), "CPU architecture: 7") {
		t.Errorf("cpuinfo file is not armv7:\n%s", b)
	}
}

func TestRemoteDaemonNotMounted(t *testing.T) {
	h := newHost(t)
	for _, env := range [][]string{
		{"DOCKER_HOST=tcp://10.20.30.40:2376"},
		{"DOCKER_HOST=ssh://ci@graviton.example.com"},
	} {
		r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), env, "", "run", "--rm", "img")
		if r.code != 0 || !slices.Equal(r.argv[1:], []string{"run", "--rm", "img"}) {
			t.Fatalf("%q: exit %d argv %q", env, r.code, r.argv)
		}
		if !strings.Contains(r.stderr, "is not on this host") || !strings.Contains(r.stderr, strings.TrimPrefix(env[0], "DOCKER_HOST=")) {
			t.Errorf("%q: no clear warning: %q", env, r.stderr)
		}
	}
	// Loopback TCP is this host.
	r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), nil, "", "-H", "tcp://127.0.0.1:2375", "run", "img")
	if len(r.argv) != 7 || r.argv[4] != "-v" || r.stderr != "" {
		t.Errorf("loopback: argv %q stderr %q", r.argv, r.stderr)
	}
}

func TestExitStatusAndStdin(t *testing.T) {
	h := newHost(t)
	r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), []string{"FAKEDOCKER_EXIT=7", "FAKEDOCKER_STDIN=1"}, "hello\x00world\n", "run", "-i", "img")
	if r.code != 7 {
		t.Errorf("exit %d, want 7", r.code)
	}
	if r.stdout != "hello\x00world\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestNoRecursion: the wrapper never runs itself, however it is installed.
func TestNoRecursion(t *testing.T) {
	h := newHost(t)
	// A hard link and a second, independent copy of the wrapper, both named
	// docker, ahead of the real one; plus /bin -> /usr/bin style duplicates.
	hard := filepath.Join(h.dir, "hard")
	cp := filepath.Join(h.dir, "copy")
	os.MkdirAll(hard, 0o755)
	os.MkdirAll(cp, 0o755)
	if err := os.Link(h.shim, filepath.Join(hard, "docker")); err != nil {
		t.Fatal(err)
	}
	copyFile(t, h.shim, filepath.Join(cp, "docker"))

	t.Run("two copies", func(t *testing.T) {
		r := h.run(filepath.Join(cp, "docker"), h.path(cp, h.wrap, hard, filepath.Join(h.dir, "dup"), h.real), nil, "", "run", "img")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		// Rewritten once, by the first wrapper; the second passed it on.
		want := []string{"run", "-v", h.cpuinfo + ":/proc/cpuinfo:ro", "img"}
		if !slices.Equal(r.argv[1:], want) {
			t.Errorf("got %q, want %q", r.argv[1:], want)
		}
		if r.argv[0] != filepath.Join(h.dir, "dup", "docker") {
			t.Errorf("exec'd %s, want the first real docker on PATH", r.argv[0])
		}
		// The chain names both wrappers; the real docker's children have
		// another PID and ignore it.
		for _, kv := range r.env {
			if v, ok := strings.CutPrefix(kv, dockerbin.ChainEnv+"="); ok {
				if n := strings.Count(v, "\n"); n != 2 {
					t.Errorf("chain %q: want 2 wrappers", v)
				}
			}
		}
	})
	t.Run("only wrappers on PATH", func(t *testing.T) {
		r := h.run(filepath.Join(h.wrap, "docker"), strings.Join([]string{h.wrap, hard, cp}, ":"), nil, "", "ps")
		if r.code != 127 || r.argv != nil {
			t.Fatalf("exit %d argv %q", r.code, r.argv)
		}
		if !strings.Contains(r.stderr, "real docker CLI not found") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("explicit setting pointing at the wrapper", func(t *testing.T) {
		r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.real), []string{"ARMHF_SHIM_DOCKER=" + filepath.Join(hard, "docker")}, "", "ps")
		if r.code != 127 || !strings.Contains(r.stderr, "is armhf-shim itself") {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("explicit setting", func(t *testing.T) {
		r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap), []string{"ARMHF_SHIM_DOCKER=" + filepath.Join(h.real, "docker")}, "", "ps")
		if r.code != 0 || r.argv[0] != filepath.Join(h.real, "docker") {
			t.Fatalf("exit %d argv %q: %s", r.code, r.argv, r.stderr)
		}
	})
	t.Run("config file", func(t *testing.T) {
		cfg := filepath.Join(h.dir, "config.json")
		// Shared with the runtime wrapper: its keys are known, and not the docker wrapper's business.
		os.WriteFile(cfg, []byte(`{"docker":"`+filepath.Join(h.real, "docker")+`","runtime":"/usr/sbin/runc","stateRoot":"/run/armhf-shim"}`), 0o644)
		r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap), []string{"ARMHF_SHIM_CONFIG=" + cfg}, "", "ps")
		if r.code != 0 || r.argv[0] != filepath.Join(h.real, "docker") {
			t.Fatalf("exit %d argv %q: %s", r.code, r.argv, r.stderr)
		}
	})
}

func TestCPUInfoPathIsDirectory(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.cpuinfo, 0o755)
	r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), nil, "", "run", "img")
	// Not mounted (that would show an empty directory as /proc/cpuinfo),
	// said clearly, and docker still runs.
	if r.code != 0 || !slices.Equal(r.argv[1:], []string{"run", "img"}) {
		t.Fatalf("exit %d argv %q", r.code, r.argv)
	}
	if !strings.Contains(r.stderr, "is a directory") || !strings.Contains(r.stderr, "rmdir "+h.cpuinfo) {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestPrepare(t *testing.T) {
	h := newHost(t)
	r := h.run(h.shim, h.path(h.real), nil, "", "docker", "--armhf-shim-prepare")
	if r.code != 0 || r.argv != nil {
		t.Fatalf("exit %d argv %q: %s", r.code, r.argv, r.stderr)
	}
	if b, err := os.ReadFile(h.cpuinfo); err != nil || !bytes.Contains(b, []byte("CPU architecture: 7")) {
		t.Fatalf("cpuinfo: %v %s", err, b)
	}
}

// When the cpuinfo file cannot be made, --platform is still added.
func TestCPUInfoFailureKeepsPlatform(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.cpuinfo, 0o755)
	r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), []string{"ARMHF_SHIM_PLATFORM=1"}, "", "run", "img")
	if want := []string{"run", "--platform", "linux/arm/v7", "img"}; r.code != 0 || !slices.Equal(r.argv[1:], want) {
		t.Fatalf("exit %d argv %q, want %q: %s", r.code, r.argv, want, r.stderr)
	}
}

// A broken config file stops docker commands with an error that names the
// way out; ARMHF_SHIM=0 is that way out: everything passes through.
func TestBrokenConfigAndTheWayOut(t *testing.T) {
	h := newHost(t)
	for name, setup := range map[string]func(p string){
		"malformed":  func(p string) { os.WriteFile(p, []byte(`{"docker":`), 0o644) },
		"unreadable": func(p string) { os.Mkdir(p, 0o755) }, // read: is a directory
	} {
		t.Run(name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "config.json")
			setup(cfg)
			r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), []string{"ARMHF_SHIM_CONFIG=" + cfg}, "", "ps")
			if r.code != 125 || r.argv != nil || !strings.Contains(r.stderr, "ARMHF_SHIM=0") {
				t.Fatalf("enabled: exit %d argv %q stderr %q", r.code, r.argv, r.stderr)
			}
			r = h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), []string{"ARMHF_SHIM_CONFIG=" + cfg, "ARMHF_SHIM=0"}, "", "run", "img")
			if r.code != 0 || !slices.Equal(r.argv[1:], []string{"run", "img"}) || !strings.Contains(r.stderr, "ignoring") {
				t.Fatalf("ARMHF_SHIM=0: exit %d argv %q stderr %q", r.code, r.argv, r.stderr)
			}
		})
	}
}

// TestOnly32Bit: the wrapper binary asks the command's daemon (here one
// answering over its unix socket like dockerd) which containers are
// 32-bit, and mounts the armv7 cpuinfo for those only.
func TestOnly32Bit(t *testing.T) {
	h := newHost(t)
	sock := filepath.Join(h.dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/images/i386/busybox/json":
			w.Write([]byte(`{"Architecture":"386","Os":"linux"}`))
		case "/images/busybox/json":
			w.Write([]byte(`{"Architecture":"amd64","Os":"linux"}`))
		case "/version":
			w.Write([]byte(`{"Arch":"amd64","Os":"linux"}`))
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(l)
	defer srv.Close()
	mount := h.cpuinfo + ":/proc/cpuinfo:ro"
	env := []string{"DOCKER_HOST=unix://" + sock, "ARMHF_SHIM_CPUINFO_ALL="}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--rm", "i386/busybox", "true"}, []string{"run", "-v", mount, "--rm", "i386/busybox", "true"}},
		{[]string{"run", "--rm", "busybox", "true"}, []string{"run", "--rm", "busybox", "true"}},
		{[]string{"create", "alpine"}, []string{"create", "alpine"}}, // not here: pulled for the amd64 daemon
		{[]string{"run", "--platform=linux/arm/v7", "alpine"}, []string{"run", "-v", mount, "--platform=linux/arm/v7", "alpine"}},
	} {
		r := h.run(filepath.Join(h.wrap, "docker"), h.path(h.wrap, h.real), env, "", c.args...)
		if r.code != 0 || !slices.Equal(r.argv[1:], c.want) {
			t.Errorf("%q: exit %d, real docker got %q, want %q (%s)", c.args, r.code, r.argv, c.want, r.stderr)
		}
	}
}
