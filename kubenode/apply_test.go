package kubenode

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestMain doubles as a stand-in containerd for the signal restart: it
// listens on the socket named in the environment until SIGTERM.
func TestMain(m *testing.M) {
	if sock := os.Getenv("KUBENODE_TEST_LISTEN"); sock != "" {
		os.Remove(sock)
		l, err := net.Listen("unix", sock)
		if err != nil {
			os.Exit(3)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		l.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const userConfig = `# my containerd
version = 3

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true # keep me
`

// scratchNode is a node root with a containerd config and a directory of
// binaries to copy.
func scratchNode(t *testing.T) (root, src string) {
	root, src = t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/containerd"), 0o755)
	os.MkdirAll(filepath.Join(root, "opt"), 0o755) // as on every node
	os.MkdirAll(filepath.Join(root, "run"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/containerd/config.toml"), []byte(userConfig), 0o644)
	for _, b := range Binaries {
		os.WriteFile(filepath.Join(src, b), []byte("#!binary "+b+"\n"), 0o755)
	}
	return root, src
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Install on a scratch node root: the binaries, the drop-in (naming the
// node's paths, not this container's), the labels; a second run changes
// nothing and restarts nothing; the undo leaves the root as it was.
func TestApplyScratchRoot(t *testing.T) {
	root, src := scratchNode(t)
	before := testenv.TreeDigest(t, root)
	var out bytes.Buffer
	o := Options{Root: root, Source: src, Restart: RestartNone, ContainerdVersion: "2.4.2", Out: &out}
	labels := []doctor.NodeLabel{{Name: doctor.LabelAArch32, Value: "true"}, {Name: doctor.LabelCompatMachine, Value: "armv8l"}}
	run := func(o Options, f Facts) {
		t.Helper()
		out.Reset()
		steps, err := Plan(o, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := Apply(o, steps); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
	}
	run(o, Facts{Native: true, Labels: labels})
	for _, b := range Binaries {
		p := filepath.Join(root, DefaultBinDir, b)
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o755 || read(t, p) != "#!binary "+b+"\n" {
			t.Errorf("%s: %v %v", p, st, err)
		}
	}
	drop := read(t, filepath.Join(root, "etc/containerd/conf.d/armhf-shim.toml"))
	if !strings.Contains(drop, `BinaryName = "/opt/armhf-shim/bin/armhf-runc"`) {
		t.Errorf("drop-in does not name the node's binary:\n%s", drop)
	}
	cfg := read(t, filepath.Join(root, "etc/containerd/config.toml"))
	if !strings.Contains(cfg, `"/etc/containerd/conf.d/armhf-shim.toml"`) || !strings.HasSuffix(cfg, userConfig) {
		t.Errorf("config.toml:\n%s", cfg)
	}
	if !strings.Contains(out.String(), "--restart none") {
		t.Errorf("a changed config and --restart none should say what to run:\n%s", out.String())
	}
	nfd := read(t, filepath.Join(root, doctor.NFDFile))
	if nfd != string(doctor.NFDFeatures(labels)) {
		t.Errorf("labels:\n%s", nfd)
	}

	mid := testenv.TreeDigest(t, root)
	run(o, Facts{Native: true, Labels: labels})
	if !strings.Contains(out.String(), "unchanged: not restarted") || strings.Contains(out.String(), "wrote") {
		t.Errorf("second run:\n%s", out.String())
	}
	if testenv.TreeDigest(t, root) != mid {
		t.Errorf("the second run changed the node root")
	}

	u := o
	u.Undo = true
	run(u, Facts{Native: true, Labels: labels})
	if got := read(t, filepath.Join(root, "etc/containerd/config.toml")); got != userConfig {
		t.Errorf("undo left config.toml:\n%s", got)
	}
	// install keeps its backups of the user's config.toml (it never
	// deletes what was the user's), and the features.d directory stays:
	// NFD may mount it.
	baks, _ := filepath.Glob(filepath.Join(root, "etc/containerd/config.toml.armhf-shim-*.bak"))
	if len(baks) != 1 || read(t, baks[0]) != userConfig {
		t.Errorf("want one backup of config.toml, as it was: %q", baks)
	}
	for _, b := range baks {
		os.Remove(b)
	}
	os.Remove(filepath.Join(root, doctor.NFDDir))
	os.Remove(filepath.Dir(filepath.Join(root, doctor.NFDDir)))
	os.Remove(filepath.Join(root, "etc/kubernetes"))
	if after := testenv.TreeDigest(t, root); after != before {
		out, _ := exec.Command("find", root).CombinedOutput()
		t.Errorf("undo did not give the root back:\n%s", out)
	}
}

// A run whose restart failed leaves the restart pending: the next run,
// with nothing left to change, still restarts containerd, and the one
// after that does not.
func TestRestartPendingAfterFailedRestart(t *testing.T) {
	root, src := scratchNode(t)
	var out bytes.Buffer
	// --restart signal with no containerd on the socket: the restart fails.
	o := Options{Root: root, Source: src, Restart: RestartSignal, ContainerdVersion: "2.4.2", Out: &out}
	steps, err := Plan(o, Facts{Native: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(o, steps); err == nil || !strings.Contains(err.Error(), "containerd's socket") {
		t.Fatalf("a restart with no containerd: %v\n%s", err, out.String())
	}
	o.Restart = RestartNone
	for i, want := range []string{"--restart none", "unchanged: not restarted"} {
		out.Reset()
		if err := Apply(o, steps); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("run %d: want %q in:\n%s", i+2, want, out.String())
		}
	}
}

// Where armhf cannot run natively, only the labels are written.
func TestApplyNotNative(t *testing.T) {
	root, src := scratchNode(t)
	o := Options{Root: root, Source: src, Restart: RestartNone, ContainerdVersion: "2.4.2"}
	labels := []doctor.NodeLabel{{Name: doctor.LabelAArch32, Value: "false"}}
	steps, _ := Plan(o, Facts{Labels: labels})
	if err := Apply(o, steps); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("find", root, "-type", "f").Output()
	want := filepath.Join(root, "etc/containerd/config.toml") + "\n" + filepath.Join(root, doctor.NFDFile) + "\n"
	if got := string(out); got != want && got != filepath.Join(root, doctor.NFDFile)+"\n"+filepath.Join(root, "etc/containerd/config.toml")+"\n" {
		t.Errorf("files:\n%swant only the config and the labels", got)
	}
	if read(t, filepath.Join(root, "etc/containerd/config.toml")) != userConfig {
		t.Error("config.toml changed")
	}
}

// --restart signal: SIGTERM to the socket's owner, then wait until another
// process owns it (the unit's Restart=always, played here by the test);
// when none comes, the error says what the unit needs.
func TestRestartSignal(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "run/containerd/containerd.sock")
	os.MkdirAll(filepath.Dir(sock), 0o755)
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "KUBENODE_TEST_LISTEN="+sock)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if p, err := socketPid(sock); err == nil && p == cmd.Process.Pid {
				return cmd
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("stand-in containerd did not listen")
		return nil
	}
	first := start()
	restarted := make(chan *exec.Cmd, 1)
	go func() { first.Wait(); restarted <- start() }()
	var out bytes.Buffer
	o := Options{Root: dir, Restart: RestartSignal, Out: &out}
	o.defaults()
	if err := restart(o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	second := <-restarted
	if !strings.Contains(out.String(), "back (pid ") {
		t.Errorf("%s", out.String())
	}

	defer func(d time.Duration) { restartTimeout = d }(restartTimeout)
	restartTimeout = 2 * time.Second
	err := restart(o) // nobody starts it again this time
	second.Wait()
	if err == nil || !strings.Contains(err.Error(), "Restart=always") {
		t.Errorf("no restart: %v", err)
	}
}

// Without --containerd-version the version is asked of the node's own
// containerd, run in the node's root (this machine's PATH cannot find
// it), and install's messages say where it came from.
func TestContainerdVersionAskedOfTheNode(t *testing.T) {
	testenv.RequireRoot(t) // to chroot into the node root
	root, src := scratchNode(t)
	b, err := os.ReadFile(testenv.BuildBinary(t, "./kubenode/testdata/containerd-1.7"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/local/bin/containerd"), b, 0o755)
	os.WriteFile(filepath.Join(root, "etc/containerd/config.toml"), []byte("version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\"]\n"), 0o644)
	var out bytes.Buffer
	o := Options{Root: root, Source: src, Restart: RestartNone, Out: &out}
	steps, err := Plan(o, Facts{Native: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(o, steps); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if want := "containerd 1.7.27 (as /usr/local/bin/containerd --version says)"; !strings.Contains(out.String(), want) {
		t.Errorf("want %q in:\n%s", want, out.String())
	}
}

// An EKS-like node: containerd 1.7 and a config.toml with a CRI section of
// its own, which a drop-in would replace: the handler goes into that
// section; a second run changes nothing; the undo gives back the bytes.
func TestApplyCRISectionContainerd1x(t *testing.T) {
	root, src := scratchNode(t)
	eks := "version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\"]\nsandbox_image = \"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5\"\n\n" +
		"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\n\n" +
		"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\nSystemdCgroup = true\n"
	cfgPath := filepath.Join(root, "etc/containerd/config.toml")
	os.WriteFile(cfgPath, []byte(eks), 0o644)
	var out bytes.Buffer
	o := Options{Root: root, Source: src, Restart: RestartNone, ContainerdVersion: "1.7.27", Out: &out}
	labels := []doctor.NodeLabel{{Name: doctor.LabelAArch32, Value: "true"}}
	run := func(o Options) {
		t.Helper()
		out.Reset()
		steps, err := Plan(o, Facts{Native: true, Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		if err := Apply(o, steps); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
	}
	run(o)
	cfg := read(t, cfgPath)
	if !strings.HasPrefix(cfg, eks) || !strings.Contains(cfg, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.armhf]") ||
		!strings.Contains(cfg, `BinaryName = "/opt/armhf-shim/bin/armhf-runc"`) || strings.Count(cfg, "containerd.runtimes.runc]") != 1 {
		t.Errorf("config.toml:\n%s", cfg)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/containerd/conf.d")); !os.IsNotExist(err) {
		t.Errorf("a drop-in directory beside the CRI section: %v", err)
	}
	run(o)
	if !strings.Contains(out.String(), "unchanged: not restarted") || read(t, cfgPath) != cfg {
		t.Errorf("second run:\n%s", out.String())
	}
	u := o
	u.Undo = true
	run(u)
	if got := read(t, cfgPath); got != eks {
		t.Errorf("undo left config.toml:\n%s", got)
	}
}
