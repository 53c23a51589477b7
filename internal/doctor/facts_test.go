package doctor

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/shim/install"
)

func TestDockerdSocket(t *testing.T) {
	for _, tc := range []struct {
		args, cfg []string
		want      string
	}{
		{[]string{"dockerd"}, nil, "/var/run/docker.sock"},
		{[]string{"dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"}, nil, "/var/run/docker.sock"},
		{[]string{"dockerd", "--config-file", "/x.json", "-H", "unix:///tmp/a/docker.sock"}, nil, "/tmp/a/docker.sock"},
		{[]string{"dockerd", "--host=tcp://0.0.0.0:2375", "-Hunix:///run/b.sock"}, nil, "/run/b.sock"},
		{[]string{"dockerd"}, []string{"unix:///run/c.sock"}, "/run/c.sock"},
		{[]string{"dockerd", "-H", "tcp://127.0.0.1:2375"}, nil, ""},
	} {
		if got := unixSocket(hostArgs(tc.args), tc.cfg); got != tc.want {
			t.Errorf("%q %q: %q, want %q", tc.args, tc.cfg, got, tc.want)
		}
	}
}

// The hooks files are judged where podman reads them (install's answer):
// a hooks file in /etc/containers/oci/hooks.d is found but not read on a
// Debian 12 host, a backup beside it is no hook, and containers.conf's
// hooks_dir moves what is read.
func TestPodmanFacts(t *testing.T) {
	root := t.TempDir()
	hook := `{"version":"1.0.0","hook":{"path":"/usr/local/bin/armhf-shim","args":["armhf-shim","hook"]},"when":{"always":true},"stages":["createRuntime","poststop"]}`
	etc := filepath.Join(root, "etc/containers/oci/hooks.d")
	os.MkdirAll(etc, 0o755)
	os.WriteFile(filepath.Join(etc, "armhf-shim.json"), []byte(hook), 0o644)
	os.WriteFile(filepath.Join(etc, "armhf-shim.json.armhf-shim-20261207-024926.bak"), []byte(hook), 0o644)
	os.WriteFile(filepath.Join(etc, "other.json"), []byte(`{"version":"1.0.0","hook":{"path":"/bin/true"}}`), 0o644)
	h := newHost(Options{Root: root})
	f := h.podmanFacts()
	if len(f.Hooks) != 1 || f.Hooks[0].Read || f.Hooks[0].Path != filepath.Join(etc, "armhf-shim.json") {
		t.Fatalf("hooks %+v (read dirs %q)", f.Hooks, f.ReadDirs)
	}
	os.MkdirAll(filepath.Join(root, "etc/containers"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/containers/containers.conf"), []byte("[engine]\nhooks_dir = [\"/etc/containers/oci/hooks.d\"]\n"), 0o644)
	f = h.podmanFacts()
	if len(f.Hooks) != 1 || !f.Hooks[0].Read {
		t.Errorf("with hooks_dir: hooks %+v (read dirs %q)", f.Hooks, f.ReadDirs)
	}
	if r := JudgePodman(f); !r.Installed || !strings.Contains(r.Detail, "armhf-shim.json") {
		t.Errorf("%+v", r)
	}
}

// The runtime wrapper as install podman-runtime registers it, read from
// podman's containers.conf files as podman reads them: Debian 12's
// packaged containers.conf, an operator's containers.conf with runtimes
// of its own, the drop-in, and a site drop-in read after it.
func TestPodmanRuntimeFacts(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "usr/local/bin/armhf-runc") // registered as is, no link (which would point at the host path)
	os.MkdirAll(filepath.Dir(bin), 0o755)
	os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755)
	conf := filepath.Join(root, "etc/containers/containers.conf")
	os.MkdirAll(filepath.Dir(conf), 0o755)
	os.WriteFile(conf, []byte("# the operator's\n[containers]\ndefault_ulimits = [\"nofile=20000:20000\"]\n\n[engine]\nruntime = \"runc\"\n\n[engine.runtimes]\nrunc = [\"/usr/sbin/runc\"]\n"), 0o644)
	h := newHost(Options{Root: root})
	if f := h.podmanRuntimeFacts(); len(f.Runtimes) != 0 || f.Effective != "runc" || f.EffectiveFile != conf {
		t.Fatalf("before install: %+v", f)
	}
	for _, def := range []bool{false, true} {
		if err := install.Run(install.Options{Target: "podman-runtime", Root: root, Binary: "/usr/local/bin/armhf-runc", SetAsDefault: def, Out: &strings.Builder{}}); err != nil {
			t.Fatal(err)
		}
		f := h.podmanRuntimeFacts()
		dropIn := filepath.Join(root, install.DefaultPodmanRuntimeDropIn)
		if len(f.Runtimes) != 1 || f.Runtimes[0].Name != "armhf" || f.Runtimes[0].Path != "/usr/local/bin/armhf-runc" || f.Runtimes[0].File != dropIn || f.Runtimes[0].Missing {
			t.Errorf("default %v: runtimes %+v", def, f.Runtimes)
		}
		if want := map[bool]string{false: "runc", true: "armhf"}[def]; f.Effective != want || (def && (len(f.DefaultBy) != 1 || f.DefaultBy[0] != dropIn)) {
			t.Errorf("default %v: effective %q (%s), set by %q", def, f.Effective, f.EffectiveFile, f.DefaultBy)
		}
		if f.Default != nil {
			t.Errorf("podman asked about a root other than /: %+v", f.Default)
		}
	}
	site := filepath.Join(root, "etc/containers/containers.conf.d/zz-site.conf")
	os.WriteFile(site, []byte("[engine]\nruntime = \"runc\"\n"), 0o644)
	os.Remove(filepath.Join(root, "usr/local/bin/armhf-runc"))
	f := h.podmanRuntimeFacts()
	if f.Effective != "runc" || f.EffectiveFile != site || len(f.DefaultBy) != 1 || len(f.Runtimes) != 1 || !f.Runtimes[0].Missing {
		t.Errorf("site drop-in, binary gone: %+v", f)
	}
	os.WriteFile(site, []byte("[engine\n"), 0o644)
	if f := h.podmanRuntimeFacts(); len(f.ConfErrs) != 1 || !strings.Contains(f.ConfErrs[0], site) {
		t.Errorf("malformed drop-in: %q", f.ConfErrs)
	}
}

func TestLXCFacts(t *testing.T) {
	lxcpath := t.TempDir()
	for name, state := range map[string]string{
		"builder": `{"version":1,"name":"builder","rootfs":"/r","docker":true,"nesting":true}`,
		"broken":  `{"version":`,
	} {
		os.MkdirAll(filepath.Join(lxcpath, name), 0o755)
		os.WriteFile(filepath.Join(lxcpath, name, lxcStateFile), []byte(state), 0o644)
	}
	os.MkdirAll(filepath.Join(lxcpath, "plain-lxc"), 0o755) // not armhf-lxc's
	f := newHost(Options{LXCPath: lxcpath}).lxcFacts()
	if len(f.Containers) != 2 || f.Containers[0].Name != "broken" || f.Containers[0].Err == "" ||
		f.Containers[1].Name != "builder" || !f.Containers[1].Docker || f.Containers[1].State == "RUNNING" {
		t.Errorf("%+v", f.Containers)
	}
	if got := lxcPath(filepath.Join(t.TempDir(), "none")); got != "/var/lib/lxc" {
		t.Errorf("default lxcpath %q", got)
	}
	conf := filepath.Join(lxcpath, "lxc.conf")
	os.WriteFile(conf, []byte("# x\nlxc.lxcpath = /srv/lxc\n"), 0o644)
	if got := lxcPath(conf); got != "/srv/lxc" {
		t.Errorf("lxc.conf lxcpath %q", got)
	}
}

// What `docker` on PATH is: the wrapper (told by its marker), fronting the
// docker its config file names; or the real CLI.
func TestCLIFacts(t *testing.T) {
	dir := t.TempDir()
	sbin, bin := filepath.Join(dir, "sbin"), filepath.Join(dir, "bin")
	os.MkdirAll(sbin, 0o755)
	os.MkdirAll(bin, 0o755)
	real := filepath.Join(bin, "docker")
	os.WriteFile(real, []byte("#!/bin/sh\necho real\n"), 0o755)
	os.WriteFile(filepath.Join(sbin, "docker"), []byte("#!/bin/sh\n# ARMHF_SHIM_DOCKER_CHAIN\n"), 0o755)
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"docker": "`+real+`"}`), 0o644)
	t.Setenv("PATH", sbin+":"+bin)
	f := newHost(Options{CLIConfig: cfg}).cliFacts()
	if f.First != filepath.Join(sbin, "docker") || !f.FirstWrapper || f.Configured != real || f.ConfiguredErr != "" {
		t.Errorf("wrapper first: %+v", f)
	}
	if r := JudgeDockerCLI(f); !r.Active || !r.Installed {
		t.Errorf("%+v", r)
	}
	// The config names the wrapper itself: it has nothing to exec.
	os.WriteFile(cfg, []byte(`{"docker": "`+filepath.Join(sbin, "docker")+`"}`), 0o644)
	if f := newHost(Options{CLIConfig: cfg}).cliFacts(); f.ConfiguredErr == "" {
		t.Errorf("a wrapper fronting itself: %+v", f)
	}
	t.Setenv("PATH", bin)
	if f := newHost(Options{CLIConfig: cfg}).cliFacts(); f.First != real || f.FirstWrapper {
		t.Errorf("real docker first: %+v", f)
	}
}

// The containerds reading config.toml, from /proc: the service's (its
// unit, under systemd), not a child of it between fork and exec (a shim
// starting: comm and arguments are still containerd's), not one reading
// another config; the fix for a stale one names its service, and without
// systemd says to restart it by hand.
func TestContainerdFacts(t *testing.T) {
	proc := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(cfg, []byte("version = 2\n"), 0o644)
	add := func(pid, ppid, comm, cmdline, cgroup string) {
		dir := filepath.Join(proc, pid)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.ReplaceAll(cmdline, " ", "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroup+"\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "stat"), []byte(pid+" ("+comm+") S "+ppid+" 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"), 0o644)
	}
	add("1", "0", "systemd", "/sbin/init", "0::/init.scope")
	add("300", "1", "containerd", "/usr/bin/containerd --config "+cfg, "0::/system.slice/containerd.service")
	add("301", "300", "containerd", "/usr/bin/containerd --config "+cfg, "0::/system.slice/containerd.service")
	add("400", "1", "containerd", "/usr/bin/containerd --config /srv/other.toml", "0::/system.slice/other.service")
	f := newHost(Options{Proc: proc, ContainerdConfig: cfg}).containerdFacts()
	if len(f.Daemons) != 1 || f.Daemons[0].Pid != 300 || f.Daemons[0].Unit != "containerd.service" {
		t.Errorf("containerds reading %s: %+v, want pid 300 of containerd.service alone", cfg, f.Daemons)
	}
	// Without systemd a cgroup path names no service setup could restart.
	os.WriteFile(filepath.Join(proc, "1", "comm"), []byte("init\n"), 0o644)
	f = newHost(Options{Proc: proc, ContainerdConfig: cfg}).containerdFacts()
	if len(f.Daemons) != 1 || f.Daemons[0].Unit != "" {
		t.Errorf("without systemd: %+v", f.Daemons)
	}
}

// A process's start time is known to a clock tick, not to the second of
// /proc/stat's btime: a containerd started, then set up, within one second
// must not look as if it had read the new file (setup said "route
// containerd works" and exit 0 while that containerd had never read it).
func TestStartedToTheTick(t *testing.T) {
	time.Sleep(20 * time.Millisecond)
	before := time.Now()
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	defer cmd.Process.Kill()
	got := newHost(Options{Proc: "/proc"}).started(cmd.Process.Pid)
	// The latest the start can have been: not before it, at most a tick
	// (and the clocks' read) after it.
	if got.Before(before) || got.After(after.Add(30*time.Millisecond)) {
		t.Errorf("started %v, want within [%v, %v+30ms]", got.Format(time.StampMicro), before.Format(time.StampMicro), after.Format(time.StampMicro))
	}
	written := after.Add(50 * time.Millisecond)
	if readAtStart(got, written) {
		t.Errorf("a file written 50ms after the start counts as read at start")
	}
}

// apiGet is apiRequest plus the status check and the JSON decode: a 200
// reply decodes, any other status is an error naming its status line.
func TestAPIGet(t *testing.T) {
	serve := func(reply string) string {
		sock := filepath.Join(t.TempDir(), "docker.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Write([]byte(reply))
		}()
		return sock
	}
	var info struct{ DefaultRuntime string }
	sock := serve("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"DefaultRuntime\":\"armhf\"}")
	if err := apiGet(sock, "/info", &info); err != nil || info.DefaultRuntime != "armhf" {
		t.Errorf("200: %+v, %v", info, err)
	}
	sock = serve("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\npage not found")
	if err := apiGet(sock, "/info", &info); err == nil || err.Error() != "GET /info: HTTP/1.0 404 Not Found" {
		t.Errorf("404: %v", err)
	}
}
