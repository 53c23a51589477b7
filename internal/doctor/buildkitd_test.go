package doctor

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJudgeBuildkitd(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	shimCfg := BuildkitdConfig{Path: "/etc/buildkit/buildkitd.toml", Present: true, Mod: t0,
		OCIBinary: "/usr/bin/armhf-runc", OCIShim: true, ContainerdBinary: "/usr/bin/armhf-runc", ContainerdShim: true}
	ctdCfg := BuildkitdConfig{Path: "/etc/buildkit/buildkitd.toml", Present: true, Mod: t0, OCIOff: true,
		ContainerdBinary: "/usr/bin/armhf-runc", ContainerdShim: true, ContainerdAuto: true}
	ctdOn := ctdCfg
	ctdOn.ContainerdAuto = false
	withAddr := shimCfg
	withAddr.ContainerdAddress = "/run/containerd/containerd.sock"
	plain := BuildkitdConfig{Path: "/etc/buildkit/buildkitd.toml", Present: true, Mod: t0}
	for _, tc := range []struct {
		name              string
		f                 BuildkitdFacts
		installed, active bool
		problem, detail   string
	}{
		{"nothing", BuildkitdFacts{Default: BuildkitdConfig{Path: "/etc/buildkit/buildkitd.toml"}}, false, false, "", "no /etc/buildkit/buildkitd.toml; no running buildkitd"},
		{"installed, none running", BuildkitdFacts{Default: shimCfg}, true, false, "", "(armhf-shim)"},
		{"running with it", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: shimCfg}}}, true, true, "",
			"buildkitd pid 7: OCI worker binary /usr/bin/armhf-runc from /etc/buildkit/buildkitd.toml, armhf-shim's"},
		{"started before the edit", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(-time.Minute), Config: shimCfg}}}, true, false,
			"buildkitd pid 7 started before /etc/buildkit/buildkitd.toml was last written", "installed, not active"},
		{"flag overrides", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: shimCfg, FlagBinary: "crun"}}}, true, true,
			"--oci-worker-binary=crun overrides", "not armhf-shim"},
		{"containerd runtime flag", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: shimCfg, OCIWorker: "false", ContainerdRuntime: "io.containerd.runc.v2"}}}, true, false,
			"--containerd-worker-runtime=io.containerd.runc.v2 replaces", ""},
		// buildkitd parses the worker flags with strconv.ParseBool: "0" is off.
		{"containerd worker off by flag", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: shimCfg, OCIWorker: "0", ContainerdWorker: "false"}}}, true, false,
			"", ""},
		{"flag alone (a builder container)", BuildkitdFacts{Default: plain, Daemons: []Buildkitd{{Pid: 9, Config: BuildkitdConfig{Path: "/etc/buildkit/buildkitd.toml"}, FlagBinary: "/usr/bin/armhf-runc", FlagShim: true}}}, false, true, "",
			"--oci-worker-binary), armhf-shim's"},
		// The containerd worker on auto: buildkitd made it only if
		// containerd answered at its start. Asked, it says; not asked,
		// doctor does not claim it.
		{"containerd worker on auto, not asked", BuildkitdFacts{Default: ctdCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: ctdCfg, WorkersNote: "buildctl is not on PATH"}}}, true, false, "",
			"unknown (auto: depends on whether containerd answered when buildkitd started"},
		{"containerd worker on auto, reported", BuildkitdFacts{Default: ctdCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: ctdCfg, WorkersKnown: true, Workers: []string{"containerd"}}}}, true, true, "",
			"buildkitd pid 7: the containerd worker's runc shim runs /usr/bin/armhf-runc (buildkitd reports the worker)"},
		{"containerd worker on auto, absent", BuildkitdFacts{Default: ctdCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: ctdCfg, WorkersKnown: true}}}, true, false,
			"buildkitd pid 7 has no containerd worker", "reports no containerd worker"},
		// No containerd on the host (the default config, both workers on):
		// the OCI worker runs the wrapper, so the missing one is no problem.
		{"containerd worker absent, OCI worker runs it", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: shimCfg, WorkersKnown: true, Workers: []string{"oci"}}}}, true, true, "",
			"reports no containerd worker (its workers: oci); its builds run on the OCI worker"},
		// An operator who named a containerd expects the worker.
		{"containerd worker absent, its address named", BuildkitdFacts{Default: withAddr, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: withAddr, WorkersKnown: true, Workers: []string{"oci"}}}}, true, true,
			"buildkitd pid 7 has no containerd worker", "reports no containerd worker (its workers: oci)"},
		{"containerd worker absent, its address a flag", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: shimCfg, ContainerdAddr: "/run/k3s/containerd/containerd.sock", WorkersKnown: true, Workers: []string{"oci"}}}}, true, true,
			"buildkitd pid 7 has no containerd worker", "reports no containerd worker (its workers: oci)"},
		{"containerd worker enabled in the file", BuildkitdFacts{Default: ctdOn, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: ctdOn, WorkersNote: "x"}}}, true, true, "",
			"the containerd worker's runc shim runs"},
		{"containerd worker auto by flag", BuildkitdFacts{Default: ctdOn, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: ctdOn, ContainerdWorker: "auto", WorkersNote: "x"}}}, true, false, "",
			"unknown (auto"},
		{"OCI worker reported absent", BuildkitdFacts{Default: shimCfg, Daemons: []Buildkitd{{Pid: 7, Started: t0.Add(time.Minute), Config: shimCfg, ContainerdWorker: "false", WorkersKnown: true, Workers: []string{"containerd"}}}}, true, false,
			"", "reports no OCI worker"},
		// Uninstalled while running: the daemon still runs what it read at
		// start, the wrapper; doctor must not say runc.
		{"uninstalled while running", BuildkitdFacts{Default: plain, Daemons: []Buildkitd{{Pid: 9, Started: t0.Add(-time.Minute), Config: plain}}}, false, false,
			"buildkitd pid 9 started before /etc/buildkit/buildkitd.toml was last written", "runs what the file named then, unknown from here"},
		{"plain runc", BuildkitdFacts{Default: plain, Daemons: []Buildkitd{{Pid: 9, Config: plain}}}, false, false, "", "OCI worker runs runc, not armhf-shim"},
		{"malformed", BuildkitdFacts{Default: BuildkitdConfig{Path: "/etc/buildkit/buildkitd.toml", Present: true, Err: os.ErrInvalid}}, false, false, "buildkitd: /etc/buildkit/buildkitd.toml: invalid argument", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgeBuildkitd(tc.f)
			problems := strings.Join(r.Problems, "\n")
			if r.Installed != tc.installed || r.Active != tc.active || !strings.Contains(r.Detail, tc.detail) ||
				(tc.problem == "") != (problems == "") || !strings.Contains(problems, tc.problem) {
				t.Errorf("installed %v active %v\ndetail: %s\nproblems: %s", r.Installed, r.Active, r.Detail, problems)
			}
		})
	}
}

// Facts from a fake /proc: a buildkitd's --config is read inside its own
// root, --oci-worker-binary and BUILDKITD_CONFIG are seen, and the default
// file is read under Root.
func TestBuildkitdFacts(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "etc/buildkit/buildkitd.toml"), "[worker.oci]\n  binary = \"/usr/local/bin/armhf-runc\"\n[worker.containerd]\n  enabled = false\n")
	write(filepath.Join(proc, "41/comm"), "buildkitd\n")
	write(filepath.Join(proc, "41/cmdline"), "buildkitd\x00--config\x00/srv/bk.toml\x00--oci-worker-binary=/opt/crun\x00--containerd-worker-addr\x00/run/k3s/containerd/containerd.sock\x00")
	// Each buildkitd runs in the root doctor reads (its /proc root links
	// there): --config is read through that link.
	os.MkdirAll(filepath.Join(proc, "41"), 0o755)
	os.Symlink(root, filepath.Join(proc, "41/root"))
	write(filepath.Join(root, "srv/bk.toml"), "[worker.oci]\nbinary = \"runc\"\n")
	write(filepath.Join(proc, "42/comm"), "buildkitd\n")
	write(filepath.Join(proc, "42/cmdline"), "/usr/bin/buildkitd\x00--addr\x00fd://\x00--containerd-worker\x00false\x00")
	write(filepath.Join(proc, "42/environ"), "PATH=/bin\x00BUILDKITD_CONFIG=/etc/bk2.toml\x00")
	os.MkdirAll(filepath.Join(proc, "42"), 0o755)
	os.Symlink(root, filepath.Join(proc, "42/root"))
	write(filepath.Join(root, "etc/bk2.toml"), "[worker.containerd]\naddress = \"/run/containerd/containerd.sock\"\n[worker.containerd.runtime]\nname = \"io.containerd.runc.v2\"\noptions = { BinaryName = \"/usr/bin/armhf-runc\" }\n")
	write(filepath.Join(proc, "43/comm"), "dockerd\n")
	h := newHost(Options{Root: root, Proc: proc, BuildkitdConfig: "/etc/buildkit/buildkitd.toml"})
	f := h.buildkitdFacts()
	if d := f.Default; !d.Present || !d.OCIShim || !d.ContainerdOff || d.OCIBinary != "/usr/local/bin/armhf-runc" {
		t.Errorf("default config: %+v", d)
	}
	if len(f.Daemons) != 2 {
		t.Fatalf("daemons: %+v", f.Daemons)
	}
	a, b := f.Daemons[0], f.Daemons[1]
	if a.Pid != 41 || a.Config.Path != "/srv/bk.toml" || a.Config.OCIBinary != "runc" || a.Config.OCIShim || a.FlagBinary != "/opt/crun" || a.FlagShim || a.ContainerdAddr != "/run/k3s/containerd/containerd.sock" {
		t.Errorf("pid 41: %+v", a)
	}
	if b.Pid != 42 || b.Config.Path != "/etc/bk2.toml" || !b.Config.ContainerdShim || b.Config.OCIShim || b.ContainerdWorker != "false" || b.Config.ContainerdAddress != "/run/containerd/containerd.sock" {
		t.Errorf("pid 42: %+v", b)
	}
}

// buildctl debug workers --format '{{json .}}' as buildkit v0.35.0 prints it.
func TestParseBuildkitWorkers(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want string
		err  bool
	}{
		{`[{"id":"q1","labels":{"org.mobyproject.buildkit.worker.executor":"oci","org.mobyproject.buildkit.worker.snapshotter":"overlayfs"},"platforms":[{"architecture":"amd64","os":"linux"}]}]` + "\n", "oci", false},
		{`[{"id":"a","labels":{"org.mobyproject.buildkit.worker.executor":"oci"}},{"id":"b","labels":{"org.mobyproject.buildkit.worker.executor":"containerd"}}]`, "oci,containerd", false},
		{"null\n", "", false},
		{"error: connection refused", "", true},
	} {
		got, err := parseBuildkitWorkers([]byte(tc.out))
		if strings.Join(got, ",") != tc.want || (err != nil) != tc.err {
			t.Errorf("parseBuildkitWorkers(%q) = %q, %v", tc.out, got, err)
		}
	}
}

// buildkitd's defaults follow its own rule (cmd/buildkitd isRootlessConfig,
// appdefaults): in a user namespace as a user other than root it reads
// $XDG_CONFIG_HOME/buildkit (else ~/.config/buildkit) and listens on
// $XDG_RUNTIME_DIR/buildkit; else /etc/buildkit and /run/buildkit.
func TestBuildkitdDefaults(t *testing.T) {
	const host = "         0          0 4294967295\n"
	const userns = "         0       1000          1\n         1     100000      65536\n"
	for _, tc := range []struct {
		name      string
		env       []string
		uidMap    string
		cfg, addr string
	}{
		{"root", []string{"USER=root", "HOME=/root", "XDG_CONFIG_HOME=/root/.config"}, host, "/etc/buildkit/buildkitd.toml", "unix:///run/buildkit/buildkitd.sock"},
		{"a user, no user namespace", []string{"USER=ci", "HOME=/home/ci"}, host, "/etc/buildkit/buildkitd.toml", "unix:///run/buildkit/buildkitd.sock"},
		{"rootless, XDG", []string{"USER=ci", "HOME=/home/ci", "XDG_CONFIG_HOME=/srv/ci/conf", "XDG_RUNTIME_DIR=/run/user/1000"}, userns,
			"/srv/ci/conf/buildkit/buildkitd.toml", "unix:///run/user/1000/buildkit/buildkitd.sock"},
		{"rootless, HOME", []string{"USER=ci", "HOME=/home/ci"}, userns, "/home/ci/.config/buildkit/buildkitd.toml", "unix:///run/buildkit/buildkitd.sock"},
		{"mapped root in a user namespace", []string{"USER=root", "HOME=/root"}, userns, "/etc/buildkit/buildkitd.toml", "unix:///run/buildkit/buildkitd.sock"},
		{"uid_map unreadable", []string{"USER=ci", "HOME=/home/ci"}, "", "/etc/buildkit/buildkitd.toml", "unix:///run/buildkit/buildkitd.sock"},
	} {
		cfg, addr := buildkitdDefaults(tc.env, tc.uidMap)
		if cfg != tc.cfg || addr != tc.addr {
			t.Errorf("%s: %s, %s; want %s, %s", tc.name, cfg, addr, tc.cfg, tc.addr)
		}
	}
}

// The config path and address of a rootless buildkitd from its /proc files.
func TestBuildkitdRootlessPaths(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "environ"), []byte("USER=ci\x00HOME=/home/ci\x00XDG_RUNTIME_DIR=/run/user/1000\x00"), 0o644)
	os.WriteFile(filepath.Join(dir, "uid_map"), []byte("0 1000 1\n1 100000 65536\n"), 0o644)
	args := []string{"buildkitd"}
	if p := BuildkitdConfigPath(dir, args); p != "/home/ci/.config/buildkit/buildkitd.toml" {
		t.Errorf("config %s", p)
	}
	if a := BuildkitdAddrs(dir, args, nil); len(a) != 1 || a[0] != "unix:///run/user/1000/buildkit/buildkitd.sock" {
		t.Errorf("addrs %q", a)
	}
	if a := BuildkitdAddrs(dir, args, []string{"unix:///srv/bk.sock"}); len(a) != 1 || a[0] != "unix:///srv/bk.sock" {
		t.Errorf("addrs with [grpc] address: %q", a)
	}
}

// TestUnixListeners: of a /proc/net/unix table (a capture's shape), the
// listening sockets of the given inodes with a path; connected ends,
// abstract and unnamed sockets, and other processes' sockets are not.
func TestUnixListeners(t *testing.T) {
	table := []byte(`Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 41230 /run/armhf-buildkit/buildkitd.sock
0000000000000000: 00000003 00000000 00000000 0001 03 41231 /run/armhf-buildkit/buildkitd.sock
0000000000000000: 00000002 00000000 00010000 0001 01 41232 @/containerd-shim/abc.sock@
0000000000000000: 00000002 00000000 00010000 0005 01 41233
0000000000000000: 00000002 00000000 00010000 0001 01 99999 /run/other.sock
0000000000000000: 00000002 00000000 00010000 0001 01 41234 /run/buildkit/second.sock
`)
	inodes := map[string]bool{"41230": true, "41231": true, "41232": true, "41233": true, "41234": true}
	got := unixListeners(table, inodes)
	want := []string{"/run/armhf-buildkit/buildkitd.sock", "/run/buildkit/second.sock"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("unixListeners = %q, want %q", got, want)
	}
}

// TestBuildkitdAddrsFD: a socket-activated buildkitd (--addr fd://) is
// asked on the unix socket it holds listening. The process is this test's
// own, holding a listener like systemd's.
func TestBuildkitdAddrsFD(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "bk.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := fmt.Sprintf("/proc/%d", os.Getpid())
	got := BuildkitdAddrs(dir, []string{"buildkitd", "--addr", "fd://"}, nil)
	if len(got) != 1 || got[0] != "unix://"+sock {
		t.Fatalf("BuildkitdAddrs(fd://) = %q, want [unix://%s]", got, sock)
	}
	l.Close()
	if got := BuildkitdAddrs(dir, []string{"buildkitd", "--addr", "fd://"}, nil); len(got) != 1 || got[0] != "fd://" {
		t.Fatalf("with no listener: %q, want [fd://] (nothing to ask)", got)
	}
}
