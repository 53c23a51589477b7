package dind

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

func TestMergeDaemonJSON(t *testing.T) {
	const link = "/var/lib/armhf-shim/dind/bin/armhf-runc"
	tests := []struct {
		name     string
		existing string
		use      bool
		want     string
		err      string
	}{
		{"none", "", true, `{"default-runtime":"armhf","runtimes":{"armhf":{"path":"` + link + `"}}}`, ""},
		{"keeps user keys and runtimes", `{"debug":true,"log-opts":{"max-size":"10m"},"runtimes":{"crun":{"path":"/usr/bin/crun"},"armhf":{"path":"/old","runtimeArgs":["--x"]}}}`, true,
			`{"debug":true,"default-runtime":"armhf","log-opts":{"max-size":"10m"},"runtimes":{"armhf":{"path":"` + link + `","runtimeArgs":["--x"]},"crun":{"path":"/usr/bin/crun"}}}`, ""},
		{"runtime off removes only ours", `{"debug":true,"default-runtime":"armhf","runtimes":{"armhf":{"path":"` + link + `"},"crun":{"path":"/c"}}}`, false,
			`{"debug":true,"runtimes":{"crun":{"path":"/c"}}}`, ""},
		{"runtime off keeps a user's armhf entry", `{"runtimes":{"armhf":{"path":"/mine"}}}`, false, `{"runtimes":{"armhf":{"path":"/mine"}}}`, ""},
		{"runtime off on empty", "", false, `{}`, ""},
		{"flag clash", `{"data-root":"/x","hosts":["unix:///y"]}`, true, "", "sets data-root, hosts"},
		{"bad json", `{"debug":`, true, "", "fix or remove it"},
		{"bad runtimes", `{"runtimes":[1]}`, true, "", "runtimes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeDaemonJSON([]byte(tc.existing), link, tc.use)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, got)
			}
			json.Unmarshal([]byte(tc.want), &w)
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if string(gb) != string(wb) {
				t.Errorf("got  %s\nwant %s", gb, wb)
			}
		})
	}
}

func TestCheckArgs(t *testing.T) {
	for _, ok := range [][]string{
		{"--iptables=false", "--bridge=none"},
		{"--storage-driver", "vfs", "--debug", "-D"},
		{"--log-level=debug", "--default-runtime=runc"},
	} {
		if err := checkArgs(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{
		{"--data-root", "/x"}, {"--data-root=/x"}, {"-H", "tcp://0.0.0.0:2375"}, {"-Hunix:///x"},
		{"--host=unix:///x"}, {"--pidfile=/x"}, {"-p", "/x"}, {"--exec-root", "/r"}, {"--config-file=/c"}, {"-g", "/g"},
	} {
		if err := checkArgs(bad); err == nil || !strings.Contains(err.Error(), "sets") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestLayout(t *testing.T) {
	l, err := NewLayout("")
	if err != nil || l.Dir != DefaultDir || l.Host() != "unix:///var/lib/armhf-shim/dind/docker.sock" {
		t.Fatalf("%+v %v", l, err)
	}
	if l.Env() != "export DOCKER_HOST=unix:///var/lib/armhf-shim/dind/docker.sock" {
		t.Errorf("env %q", l.Env())
	}
	if _, err := NewLayout("/" + strings.Repeat("x", 100)); err == nil || !strings.Contains(err.Error(), "shorter --dir") {
		t.Errorf("long dir: %v", err)
	}
	// A directory with a space or a quote still gives a line a shell reads back.
	for _, dir := range []string{"/tmp/my dind", "/tmp/it's"} {
		l, _ := NewLayout(dir)
		out, err := exec.Command("sh", "-c", l.Env()+`; printf %s "$DOCKER_HOST"`).Output()
		if err != nil || string(out) != l.Host() {
			t.Errorf("%q: shell read %q (%v)", l.Env(), out, err)
		}
	}
}

func TestDaemonEnv(t *testing.T) {
	env := daemonEnv([]string{"HOME=/root", "PATH=/usr/bin:/bin", "NOTIFY_SOCKET=/run/systemd/notify", "DOCKER_HOST=tcp://x",
		"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=/certs", "DOCKER_TLS=1",
		"ARMHF_SHIM_DOCKER_CHAIN=1\n/x", "ARMHF_SHIM_CONFIG=/etc/c.json", "LANG=C"}, "/d/bin:/d/rootfs/docker")
	want := []string{"HOME=/root", "ARMHF_SHIM_CONFIG=/etc/c.json", "LANG=C", "PATH=/d/bin:/d/rootfs/docker:/usr/bin:/bin"}
	if !slices.Equal(env, want) {
		t.Errorf("got %q\nwant %q", env, want)
	}
	if got := daemonEnv(nil, "/d"); got[len(got)-1] != "PATH=/d:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" {
		t.Errorf("no PATH: %q", got)
	}
}

func TestProcHelpers(t *testing.T) {
	self := os.Getpid()
	if !alive(self) || alive(0) || alive(-1) {
		t.Fatal("alive")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := cmd.Process.Pid
	if _, pp := stat(p); pp != self {
		t.Errorf("ppid of child = %d", pp)
	}
	// Start returns once the child is forked; its cmdline is sleep's only
	// after its execve, which may still be under way.
	a := cmdline(p)
	for deadline := time.Now().Add(5 * time.Second); !slices.Equal(a, []string{"sleep", "30"}) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		a = cmdline(p)
	}
	if !slices.Equal(a, []string{"sleep", "30"}) {
		t.Errorf("cmdline %q", a)
	}
	b := births{}.add([]int{p})
	if !b.same(p) || startTime(p) == 0 {
		t.Errorf("start time of a live child: %d, same %v", startTime(p), b.same(p))
	}
	// A process listed with another start time is another process (its PID
	// was reused): never signalled, never waited for.
	reused := births{p: b[p] + 1}
	signalAll([]int{p}, syscall.SIGKILL, reused)
	if !alive(p) {
		t.Fatal("signalAll killed a process whose PID was listed for another")
	}
	if left := waitGone([]int{p}, 5e9, reused); len(left) != 0 {
		t.Errorf("waitGone waits for a reused PID")
	}
	signalAll([]int{p}, syscall.SIGKILL, b)
	// A zombie (not yet reaped) counts as gone.
	if left := waitGone([]int{p}, 5e9, b); len(left) != 0 {
		t.Errorf("killed child still alive")
	}
	cmd.Wait()
	l := Layout{Dir: "/nonexistent/dind"}
	if isDaemon(self, l) {
		t.Error("the test is not a daemon")
	}
	for _, p := range daemonProcs(l, self) {
		if p == self {
			t.Error("daemonProcs lists the caller")
		}
	}
}

// TestDaemonProcsScope: helpers of this layout are found; those of another
// state directory — even one whose path shares the prefix — are not.
func TestDaemonProcsScope(t *testing.T) {
	fake := testenv.BuildBinary(t, "./dind/internal/fakedocker")
	bin := t.TempDir()
	containerd := filepath.Join(bin, "containerd")
	if err := os.Symlink(fake, containerd); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	ours := Layout{Dir: filepath.Join(base, "dind")}
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(containerd, args...)
		cmd.Env = append(os.Environ(), "FAKEDOCKER_SLEEP=60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	mine := start("--config", ours.ExecRoot()+"/containerd/containerd.toml")
	mineEq := start("-address=" + ours.ExecRoot() + "/containerd/containerd.sock")
	other := start("--config", filepath.Join(base, "dind2/run/containerd/containerd.toml"))
	nested := start("--config", filepath.Join(ours.Dir, "sub/run/containerd/containerd.toml"))
	// Wait until the children have exec'd (their cmdline is set).
	for _, c := range []*exec.Cmd{mine, mineEq, other, nested} {
		for i := 0; i < 100 && len(cmdline(c.Process.Pid)) < 2; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	got := map[int]bool{}
	for _, p := range daemonProcs(ours, 0) {
		got[p] = true
	}
	if !got[mine.Process.Pid] || !got[mineEq.Process.Pid] {
		t.Errorf("this layout's helpers not found: %v", got)
	}
	if got[other.Process.Pid] || got[nested.Process.Pid] {
		t.Errorf("another state directory's helper listed: %v", got)
	}
}

func TestCheckArgsClusters(t *testing.T) {
	for _, ok := range [][]string{{"-Dl", "debug"}, {"-lpanic"}, {"-Gdocker"}, {"-D"}} {
		if err := checkArgs(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"-DH", "unix:///x"}, {"-Dp/x"}, {"-Dg", "/g"}, {"-DDH=tcp://0.0.0.0:2375"}} {
		if err := checkArgs(bad); err == nil || !strings.Contains(err.Error(), "sets") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// Two spellings of one directory are one layout.
func TestLayoutThroughSymlink(t *testing.T) {
	base, _ := filepath.EvalSymlinks(t.TempDir())
	if err := os.MkdirAll(filepath.Join(base, "real", "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink("real", filepath.Join(base, "alias"))
	os.Symlink(filepath.Join(base, "real"), filepath.Join(base, "abs"))
	for _, dir := range []string{"alias/d", "abs/d", "real/d", "alias/./d", "abs/new/deeper"} {
		l, err := NewLayout(filepath.Join(base, dir))
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(base, "real", "d")
		if dir == "abs/new/deeper" {
			want = filepath.Join(base, "real", "new", "deeper") // not created yet: the existing part resolved
		}
		if l.Dir != want {
			t.Errorf("NewLayout(%s).Dir = %s, want %s", dir, l.Dir, want)
		}
	}
}

func TestUnpackedFrom(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "dind.tar")
	os.WriteFile(in, []byte("x"), 0o644)
	fi, _ := os.Stat(in)
	s := State{Input: in, InputSize: fi.Size(), InputMtime: fi.ModTime().UTC(), Platform: "linux/arm/v7"}
	if !s.unpackedFrom(in, fi, "linux/arm/v7") {
		t.Error("same input and platform: not reused")
	}
	if s.unpackedFrom(in, fi, "linux/amd64") || s.unpackedFrom(in, fi, "") {
		t.Error("another platform: reused")
	}
	if s.unpackedFrom(in+"2", fi, "linux/arm/v7") {
		t.Error("another input: reused")
	}
	os.WriteFile(in, []byte("xy"), 0o644)
	fi2, _ := os.Stat(in)
	if s.unpackedFrom(in, fi2, "linux/arm/v7") {
		t.Error("changed input: reused")
	}
	dfi, _ := os.Stat(dir)
	d := State{Input: dir, InputSize: dfi.Size(), InputMtime: dfi.ModTime().UTC()}
	if d.unpackedFrom(dir, dfi, "") {
		t.Error("a directory input: reused")
	}
}

func TestReplaceDir(t *testing.T) {
	base := t.TempDir()
	dir, next := filepath.Join(base, "rootfs"), filepath.Join(base, "rootfs.new")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "v"), []byte("old"), 0o644)
	// A failure (nothing to move into place) keeps the previous one whole.
	if err := replaceDir(dir, next); err == nil || !strings.Contains(err.Error(), "previous one is kept") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "v")); string(b) != "old" {
		t.Fatalf("after a failed replace: %q", b)
	}
	os.MkdirAll(next, 0o755)
	os.WriteFile(filepath.Join(next, "v"), []byte("new"), 0o644)
	if err := replaceDir(dir, next); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "v")); string(b) != "new" {
		t.Fatalf("after replace: %q", b)
	}
	for _, gone := range []string{next, dir + ".old"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s left behind", gone)
		}
	}
}
