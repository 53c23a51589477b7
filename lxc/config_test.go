package lxc

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"build1", true},
		{"a", true},
		{"armhf-builder-01", true},
		{"A9", true},
		{strings.Repeat("x", 63), true},
		{"", false},
		{strings.Repeat("x", 64), false},
		{"-lead", false},
		{"trail-", false},
		{"under_score", false},
		{"dot.ted", false},
		{"a/b", false},
		{"..", false},
		{"sp ace", false},
		{"new\nline", false},
		{"ünï", false},
	} {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestParseNetwork(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bridge   string
		err      string
	}{
		{"", "none", "", ""},
		{"none", "none", "", ""},
		{"veth:lxcbr0", "veth:lxcbr0", "lxcbr0", ""},
		{"veth:br-build.12", "veth:br-build.12", "br-build.12", ""},
		{"veth:", "", "", "name is empty"},
		{"veth:" + strings.Repeat("b", 16), "", "", "longer than 15"},
		{"veth:a/b", "", "", "contains '/'"},
		{"veth:a b", "", "", "whitespace"},
		{"veth:..", "", "", "not allowed"},
		{"bridge:lxcbr0", "", "", "want none or veth:BRIDGE"},
		{"host", "", "", "want none or veth:BRIDGE"},
	} {
		n, err := ParseNetwork(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseNetwork(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || n.String() != tc.want || n.Bridge != tc.bridge {
			t.Errorf("ParseNetwork(%q) = %+v, %v; want %s", tc.in, n, err, tc.want)
		}
	}
}

func TestParseBind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Bind
		err  string
	}{
		{"/usr:/usr:ro", Bind{Source: "/usr", Target: "/usr", ReadOnly: true}, ""},
		{"/srv/work/:/work", Bind{Source: "/srv/work", Target: "/work"}, ""},
		{"/a:/b/../c:rw", Bind{Source: "/a", Target: "/c"}, ""},
		{"/a:/b:rx", Bind{}, "mode"},
		{"/a", Bind{}, "want HOST:CONTAINER"},
		{"/a:/b:ro:x", Bind{}, "want HOST:CONTAINER"},
		{"rel:/b", Bind{}, "absolute"},
		{"/a:rel", Bind{}, "absolute"},
		{"/a:/", Bind{}, "over the container's /"},
		{"/a:/..", Bind{}, "over the container's /"},
		{"/a\n:/b", Bind{}, "control character"},
	} {
		b, err := ParseBind(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBind(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || b != tc.want {
			t.Errorf("ParseBind(%q) = %+v, %v; want %+v", tc.in, b, err, tc.want)
		}
	}
}

func TestLXCArch(t *testing.T) {
	for _, tc := range []struct{ compat, arch, deb string }{
		{"armv8l", "armv7l", "armhf"},
		{"i686", "i686", "i386"},
	} {
		a, err := LXCArch(tc.compat)
		if err != nil || a != tc.arch {
			t.Errorf("LXCArch(%q) = %q, %v; want %q", tc.compat, a, err, tc.arch)
		}
		if d := DebootstrapArch(a); d != tc.deb {
			t.Errorf("DebootstrapArch(%q) = %q, want %q", a, d, tc.deb)
		}
	}
	for _, c := range []string{"", "riscv64", "armv7l"} {
		if _, err := LXCArch(c); err == nil {
			t.Errorf("LXCArch(%q) accepted", c)
		}
	}
}

func TestMountEntry(t *testing.T) {
	for _, tc := range []struct{ src, dst, want string }{
		{"/var/lib/lxc/b/cpuinfo", "proc/cpuinfo", "/var/lib/lxc/b/cpuinfo proc/cpuinfo none bind,ro 0 0"},
		{"/srv/my work", "work dir", `/srv/my\040work work\040dir none bind,ro 0 0`},
		{"/a\\b\tc", "d", `/a\134b\011c d none bind,ro 0 0`},
	} {
		if got := MountEntry(tc.src, tc.dst, "none", "bind,ro"); got != tc.want {
			t.Errorf("MountEntry(%q, %q) = %q, want %q", tc.src, tc.dst, got, tc.want)
		}
	}
}

// values returns the values of key in order.
func values(items []Item, key string) []string {
	var v []string
	for _, it := range items {
		if it.Key == key {
			v = append(v, it.Value)
		}
	}
	return v
}

func TestConfig(t *testing.T) {
	v1 := Host{Cgroups: CgroupKeys{Cpuset: "lxc.cgroup", Devices: "lxc.cgroup"}}
	v2aa := Host{Cgroups: CgroupKeys{Cpuset: "lxc.cgroup2", Devices: "lxc.cgroup2"}, AppArmor: true}
	base := Spec{Name: "b1", Dir: "/var/lib/lxc/b1", Rootfs: "/srv/rootfs", Arch: "armv7l"}

	t.Run("plain", func(t *testing.T) {
		items, err := Config(base, v1)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			"lxc.uts.name":    {"b1"},
			"lxc.arch":        {"armv7l"},
			"lxc.rootfs.path": {"dir:/srv/rootfs"},
			"lxc.init.cmd":    {"/bin/sh /dev/.armhf-lxc-init"},
			"lxc.signal.halt": {"SIGTERM"},
			"lxc.net.0.type":  {"empty"},
			"lxc.mount.auto":  {"proc:mixed sys:mixed"},
			"lxc.log.file":    {"/var/lib/lxc/b1/lxc.log"},
			"lxc.cap.drop":    {"mac_admin mac_override sys_module sys_rawio sys_time"},
			"lxc.mount.entry": {
				"/var/lib/lxc/b1/cpuinfo proc/cpuinfo none bind,ro,create=file 0 0",
				"/var/lib/lxc/b1/init dev/.armhf-lxc-init none bind,ro,create=file 0 0",
				"tmpfs dev/shm tmpfs rw,nosuid,nodev,mode=1777,create=dir 0 0",
			},
			"lxc.cgroup.devices.deny": {"a"},
		}
		for k, w := range want {
			if got := values(items, k); !reflect.DeepEqual(got, w) {
				t.Errorf("%s = %q, want %q", k, got, w)
			}
		}
		for _, k := range []string{"lxc.apparmor.profile", "lxc.cgroup.cpuset.cpus", "lxc.net.0.link"} {
			if got := values(items, k); got != nil {
				t.Errorf("%s = %q, want unset", k, got)
			}
		}
		if allow := values(items, "lxc.cgroup.devices.allow"); slices.Contains(allow, "b 7:* rwm") || !slices.Contains(allow, "c 1:3 rwm") {
			t.Errorf("devices.allow = %q: want null allowed, loop devices not", allow)
		}
	})

	t.Run("nesting-cgroup2-apparmor", func(t *testing.T) {
		s := base
		s.Nesting, s.CPUs, s.Network, s.RunDir = true, "0-1", Network{Bridge: "lxcbr0"}, true
		s.Binds = []Bind{{Source: "/usr", Target: "/usr", ReadOnly: true}, {Source: "/etc/resolv.conf", Target: "/etc/resolv.conf", File: true}}
		s.Shim = "/usr/local/bin/armhf-runc"
		items, err := Config(s, v2aa)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			"lxc.mount.auto":          {"cgroup:rw:force proc:rw sys:rw"},
			"lxc.cap.drop":            nil,
			"lxc.apparmor.profile":    {"unconfined"},
			"lxc.cgroup2.cpuset.cpus": {"0-1"},
			"lxc.net.0.type":          {"veth"},
			"lxc.net.0.link":          {"lxcbr0"},
			"lxc.net.0.flags":         {"up"},
		}
		for k, w := range want {
			if got := values(items, k); !reflect.DeepEqual(got, w) {
				t.Errorf("%s = %q, want %q", k, got, w)
			}
		}
		entries := values(items, "lxc.mount.entry")
		for _, w := range []string{
			"tmpfs run tmpfs rw,nosuid,nodev,mode=755 0 0",
			"/dev/net/tun dev/net/tun none bind,optional,create=file 0 0",
			"/dev/fuse dev/fuse none bind,optional,create=file 0 0",
			"/usr usr none bind,ro,create=dir 0 0",
			"/etc/resolv.conf etc/resolv.conf none bind,create=file 0 0",
			"/usr/local/bin/armhf-runc dev/.armhf-lxc-bin/runc none bind,ro,optional,create=file 0 0",
		} {
			if !slices.Contains(entries, w) {
				t.Errorf("lxc.mount.entry lacks %q: %q", w, entries)
			}
		}
		if allow := values(items, "lxc.cgroup2.devices.allow"); !slices.Contains(allow, "b 7:* rwm") {
			t.Errorf("nesting devices.allow = %q, want loop devices", allow)
		}
		if got := values(items, "lxc.cgroup.devices.allow"); got != nil {
			t.Errorf("cgroup v1 keys on a cgroup2 host: %q", got)
		}
	})

	t.Run("custom-init", func(t *testing.T) {
		s := base
		s.Init = []string{"/sbin/init", "--log-level=info"}
		items, err := Config(s, v1)
		if err != nil {
			t.Fatal(err)
		}
		if got := values(items, "lxc.init.cmd"); !reflect.DeepEqual(got, []string{"/sbin/init --log-level=info"}) {
			t.Errorf("lxc.init.cmd = %q", got)
		}
		// liblxc's default halt signal (SIGRTMIN+3 for systemd): SIGTERM
		// would make systemd re-execute itself, and stop wait in vain.
		if got := values(items, "lxc.signal.halt"); got != nil {
			t.Errorf("lxc.signal.halt = %q with --init, want liblxc's default", got)
		}
		for _, e := range values(items, "lxc.mount.entry") {
			if strings.Contains(e, InitTarget[1:]) {
				t.Errorf("init script mounted with a custom init: %q", e)
			}
		}
	})

	for _, tc := range []struct {
		name string
		mod  func(*Spec, *Host)
		err  string
	}{
		{"bad-name", func(s *Spec, h *Host) { s.Name = "a_b" }, "invalid container name"},
		{"relative-rootfs", func(s *Spec, h *Host) { s.Rootfs = "rootfs" }, "not absolute"},
		{"newline-rootfs", func(s *Spec, h *Host) { s.Rootfs = "/srv/a\nlxc.cap.drop =" }, "control character"},
		{"no-arch", func(s *Spec, h *Host) { s.Arch = "" }, "lxc.arch"},
		{"cpus-without-cpuset", func(s *Spec, h *Host) { s.CPUs = "0"; h.Cgroups.Cpuset = "" }, "cpuset"},
		{"no-devices-cgroup", func(s *Spec, h *Host) { h.Cgroups.Devices = "" }, "devices cgroup"},
		{"init-quote", func(s *Spec, h *Host) { s.Init = []string{"/bin/sh", "-c", "'sleep"} }, "cannot quote"},
		{"init-relative", func(s *Spec, h *Host) { s.Init = []string{"init"} }, "absolute path"},
		{"init-empty", func(s *Spec, h *Host) { s.Init = []string{} }, "absolute path"},
		{"bad-bridge", func(s *Spec, h *Host) { s.Network.Bridge = "a/b" }, "bridge"},
		{"relative-shim", func(s *Spec, h *Host) { s.Shim = "bin/armhf-runc" }, "not absolute"},
	} {
		t.Run("error-"+tc.name, func(t *testing.T) {
			s, h := base, v1
			tc.mod(&s, &h)
			_, err := Config(s, h)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Config err = %v, want %q", err, tc.err)
			}
		})
	}
}

// Mountinfo lines as this project's test host (Debian 12 VM, hybrid
// cgroups), a systemd cgroup2-only host and a cgroup v1 host write them.
const (
	hybridMountinfo = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:27 / /sys/fs/cgroup rw,relatime shared:9 - tmpfs tmpfs rw,mode=755
32 31 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu
35 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime shared:13 - cgroup cgroup rw,cpuset
37 31 0:33 / /sys/fs/cgroup/devices rw,relatime shared:15 - cgroup cgroup rw,devices
41 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:19 - cgroup cgroup rw,name=systemd
42 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:20 - cgroup2 cgroup2 rw
`
	unifiedMountinfo = `24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	legacyMountinfo = `31 25 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 31 0:29 / /sys/fs/cgroup/cpuset,cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpuset,cpu,cpuacct
34 31 0:30 / /sys/fs/cgroup/devices rw,nosuid shared:12 - cgroup cgroup rw,devices
`
)

func TestCgroupKeys(t *testing.T) {
	for _, tc := range []struct {
		name, mountinfo, v2ctrl string
		v2                      string
		want                    CgroupKeys
	}{
		{"hybrid", hybridMountinfo, "hugetlb", "/sys/fs/cgroup/unified", CgroupKeys{Cpuset: "lxc.cgroup", Devices: "lxc.cgroup"}},
		{"unified", unifiedMountinfo, "cpuset cpu io memory hugetlb pids rdma misc", "/sys/fs/cgroup", CgroupKeys{Cpuset: "lxc.cgroup2", Devices: "lxc.cgroup2"}},
		{"unified-no-cpuset", unifiedMountinfo, "cpu io memory pids", "/sys/fs/cgroup", CgroupKeys{Devices: "lxc.cgroup2"}},
		{"legacy", legacyMountinfo, "", "", CgroupKeys{Cpuset: "lxc.cgroup", Devices: "lxc.cgroup"}},
		{"none", "22 1 0:20 / / rw - ext4 /dev/vda rw\n", "", "", CgroupKeys{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseCgroupMounts([]byte(tc.mountinfo))
			if err != nil {
				t.Fatal(err)
			}
			if m.V2 != tc.v2 {
				t.Errorf("V2 = %q, want %q", m.V2, tc.v2)
			}
			if got := m.Keys(tc.v2ctrl); got != tc.want {
				t.Errorf("Keys = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := ParseCgroupMounts([]byte("garbage line\n")); err == nil {
		t.Error("ParseCgroupMounts accepted a line without \" - \"")
	}
	m, err := ParseCgroupMounts([]byte(`40 31 0:38 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n"))
	if err != nil || m.V2 != "/sys/fs/my cgroup" {
		t.Errorf("escaped mount point: %q, %v", m.V2, err)
	}
}

// TestDetectHost checks the live host against its own mountinfo.
func TestDetectHost(t *testing.T) {
	h, err := DetectHost()
	if err != nil {
		t.Fatal(err)
	}
	if h.Cgroups.Devices == "" {
		t.Errorf("no devices controller detected: %+v", h)
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpuset/cpuset.cpus"); err == nil && h.Cgroups.Cpuset != "lxc.cgroup" {
		t.Errorf("cpuset is a v1 hierarchy here, but Cpuset = %q", h.Cgroups.Cpuset)
	}
}

func TestUserlandMismatch(t *testing.T) {
	for _, tc := range []struct {
		class   elf.Class
		machine elf.Machine
		arch    string
		ok      bool
	}{
		{elf.ELFCLASS32, elf.EM_ARM, "armv7l", true},
		{elf.ELFCLASS32, elf.EM_386, "i686", true},
		{elf.ELFCLASS64, elf.EM_AARCH64, "armv7l", false},
		{elf.ELFCLASS64, elf.EM_X86_64, "i686", false},
		{elf.ELFCLASS32, elf.EM_386, "armv7l", false},
	} {
		msg := UserlandMismatch(tc.class, tc.machine, tc.arch)
		if (msg == "") != tc.ok {
			t.Errorf("UserlandMismatch(%v, %v, %s) = %q, want ok=%v", tc.class, tc.machine, tc.arch, msg, tc.ok)
		}
	}
}

func TestCheckRootfs(t *testing.T) {
	mk := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for p, content := range files {
			full := filepath.Join(dir, p)
			os.MkdirAll(filepath.Dir(full), 0o755)
			switch {
			case strings.HasPrefix(content, "->"):
				if err := os.Symlink(strings.TrimPrefix(content, "->"), full); err != nil {
					t.Fatal(err)
				}
			case content == "dir":
				os.MkdirAll(full, 0o755)
			default:
				mode := os.FileMode(0o755)
				if content == "noexec" {
					mode = 0o644
				}
				if err := os.WriteFile(full, []byte(content), mode); err != nil {
					t.Fatal(err)
				}
			}
		}
		return dir
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		ok    bool
	}{
		{"busybox", map[string]string{"bin/busybox": "x", "bin/sh": "->busybox"}, true},
		{"merged-usr", map[string]string{"usr/bin/dash": "x", "usr/bin/sh": "->dash", "bin": "->usr/bin"}, true},
		{"absolute-symlink-inside", map[string]string{"usr/bin/dash": "x", "bin": "->/usr/bin", "usr/bin/sh": "->/usr/bin/dash"}, true},
		{"empty", map[string]string{"etc": "dir"}, false},
		{"sh-not-executable", map[string]string{"bin/sh": "noexec"}, false},
		{"sh-is-dir", map[string]string{"bin/sh": "dir"}, false},
		// Enough ../ to reach the host's / from any temporary directory:
		// the host has /bin/sh, so only confinement to the rootfs fails it.
		{"sh-escapes-to-host", map[string]string{"bin/sh": "->" + strings.Repeat("../", 64) + "bin/sh"}, false},
		{"dangling", map[string]string{"bin/sh": "->nothing"}, false},
		// The host has /bin/sh; the rootfs does not: a naive os.Stat
		// would follow the link out of the rootfs.
		{"absolute-link-to-host-sh", map[string]string{"bin/sh": "->/bin/sh"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRootfs(mk(t, tc.files))
			if (err == nil) != tc.ok {
				t.Errorf("CheckRootfs = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if err := CheckRootfs(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("CheckRootfs accepted a missing directory")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if err := CheckRootfs(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("CheckRootfs(file) = %v", err)
	}
}

func TestLookPathIn(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/bin/make"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/bin/README"), []byte("x"), 0o644)
	os.Symlink("usr/bin", filepath.Join(root, "bin"))
	os.MkdirAll(filepath.Join(root, "src/tools"), 0o755)
	os.WriteFile(filepath.Join(root, "src/configure"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(root, "src/tools/gen"), []byte("x"), 0o755)
	os.Symlink("/src", filepath.Join(root, "work")) // absolute, resolved in root
	for _, tc := range []struct {
		cmd, path, cwd string
		ok             bool
	}{
		{"make", DefaultPath, "/", true},
		{"/bin/make", "", "/", true},
		{"/usr/bin/make", "", "/", true},
		{"cc", DefaultPath, "/", false},
		{"README", DefaultPath, "/", false},
		{"make", "/sbin", "/", false},
		{"/bin/README", "", "/", false},
		{"make", DefaultPath, "", true}, // "" is /
		// A relative path with '/' is relative to the working directory.
		{"./configure", DefaultPath, "/src", true},
		{"./configure", DefaultPath, "/", false},
		{"tools/gen", DefaultPath, "/src", true},
		{"../src/configure", DefaultPath, "/usr", true},
		{"./configure", DefaultPath, "/work", true},
		{"./make", DefaultPath, "/bin", true},
		{"../configure", DefaultPath, "/work/tools", true},
		// ".." stops at the container's root: the host has /bin/sh, the root not.
		{"../../../../../../../../bin/sh", DefaultPath, "/src", false},
		// Empty, "." and relative PATH entries are relative to it too.
		{"configure", "/usr/bin:", "/src", true},
		{"configure", ":/usr/bin", "/src", true},
		{"configure", ".", "/src", true},
		{"configure", ".", "/", false},
		{"configure", "", "/src", true}, // PATH= (empty) is the cwd alone
		{"gen", "tools", "/src", true},
		{"gen", "tools", "/", false},
		{"configure", DefaultPath, "/src", false}, // not on PATH
	} {
		err := LookPathIn(root, tc.cmd, tc.path, tc.cwd)
		if (err == nil) != tc.ok {
			t.Errorf("LookPathIn(%q, PATH=%q, cwd %q) = %v, want ok=%v", tc.cmd, tc.path, tc.cwd, err, tc.ok)
		}
		if err != nil {
			var nf *CommandNotFoundError
			if !errors.As(err, &nf) {
				t.Errorf("error %v is not a CommandNotFoundError", err)
			}
		}
	}
}

func TestCheckDirIn(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "src"), 0o755)
	os.WriteFile(filepath.Join(root, "file"), nil, 0o644)
	os.Symlink("/src", filepath.Join(root, "work"))
	os.Symlink("/tmp", filepath.Join(root, "hosttmp")) // the host has /tmp, the root not
	for _, tc := range []struct {
		dir, err string
	}{
		{"/", ""},
		{"/src", ""},
		{"/work", ""},
		{"/does-not-exist", "/does-not-exist: no such directory"},
		{"/file", "/file: not a directory"},
		{"/hosttmp", "/hosttmp: no such directory"},
		{"/../../../../../../tmp", "no such directory"},
	} {
		err := CheckDirIn(root, tc.dir)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckDirIn(%q) = %v, want %q", tc.dir, err, tc.err)
		}
	}
}

func TestExecEnv(t *testing.T) {
	got := ExecEnv("xterm", []string{"CC=arm-linux-gnueabihf-gcc", "PATH=/opt/bin"})
	want := []string{"PATH=" + DefaultPath, "HOME=/root", "TERM=xterm", "CC=arm-linux-gnueabihf-gcc", "PATH=/opt/bin"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExecEnv = %q, want %q", got, want)
	}
	if v := envValue(got, "PATH"); v != "/opt/bin" {
		t.Errorf("envValue(PATH) = %q: the last one wins, as in execve", v)
	}
	if got := ExecEnv("", nil); len(got) != 2 {
		t.Errorf("ExecEnv without TERM = %q", got)
	}
}

func TestDockerdArgv(t *testing.T) {
	got := DockerdArgv("/var/run/docker.sock", []string{"--iptables=false"})
	want := []string{"dockerd", "--host", "unix:///var/run/docker.sock", "--iptables=false"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DockerdArgv = %q, want %q", got, want)
	}
	for _, p := range []string{"run/docker.sock", "/", "/a/../b", "/" + strings.Repeat("s", 90)} {
		if err := ValidateDockerSocket(p); err == nil {
			t.Errorf("ValidateDockerSocket(%q) accepted", p)
		}
	}
	if err := ValidateDockerSocket(DefaultDockerSocket); err != nil {
		t.Error(err)
	}
	if got := ContainerPath(42, "/run/docker.sock"); got != "/proc/42/root/run/docker.sock" {
		t.Errorf("ContainerPath = %q", got)
	}
}

// TestDockerdEnv: with the wrapper bound in, its directory comes first on
// dockerd's PATH (what dockerd's runc runtime and BuildKit search), and
// the real runc is still found further down.
func TestDockerdEnv(t *testing.T) {
	for _, tc := range []struct {
		shim bool
		want []string
	}{
		{false, []string{"PATH=" + DefaultPath, "HOME=/root"}},
		{true, []string{"PATH=/dev/.armhf-lxc-bin:" + DefaultPath, "HOME=/root"}},
	} {
		if got := DockerdEnv(tc.shim); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DockerdEnv(%t) = %q, want %q", tc.shim, got, tc.want)
		}
	}
}

// TestResolveIn: a socket path in the container is resolved inside its
// root, so Debian's absolute /var/run -> /run link does not lead to the
// host's /run (which the kernel would do below /proc/PID/root).
func TestResolveIn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links map[string]string // link -> target, in the root
		p     string
		want  string // relative to the root
	}{
		{"debian-absolute-var-run", map[string]string{"var/run": "/run"}, "/var/run/docker.sock", "run/docker.sock"},
		{"relative-var-run", map[string]string{"var/run": "../run"}, "/var/run/docker.sock", "run/docker.sock"},
		{"no-link", nil, "/run/docker.sock", "run/docker.sock"},
		{"dotdot-escape", map[string]string{"var/run": "../../../../../../../../run"}, "/var/run/docker.sock", "run/docker.sock"},
		{"absolute-socket-link", map[string]string{"run/docker.sock": "/var/lib/docker.sock"}, "/run/docker.sock", "var/lib/docker.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for l, target := range tc.links {
				os.MkdirAll(filepath.Join(root, filepath.Dir(l)), 0o755)
				if err := os.Symlink(target, filepath.Join(root, l)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ResolveIn(root, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, tc.want); got != want {
				t.Errorf("ResolveIn(%s) = %q, want %q", tc.p, got, want)
			}
		})
	}
}

func TestDebootstrapArgs(t *testing.T) {
	got := DebootstrapArgs("armhf", "bookworm", "/var/lib/lxc/b/rootfs", "http://deb.debian.org/debian", nil)
	want := []string{"--arch=armhf", "--variant=minbase", "--include=ca-certificates", "bookworm", "/var/lib/lxc/b/rootfs", "http://deb.debian.org/debian"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DebootstrapArgs = %q", got)
	}
	got = DebootstrapArgs("i386", "bookworm", "/var/lib/lxc/b/rootfs", "", []string{"docker.io"})
	want = []string{"--arch=i386", "--variant=minbase", "--include=ca-certificates,docker.io", "bookworm", "/var/lib/lxc/b/rootfs"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DebootstrapArgs with docker.io = %q", got)
	}
}

func TestStaleCgroupDirs(t *testing.T) {
	root := t.TempDir()
	v1, v2 := filepath.Join(root, "memory"), filepath.Join(root, "unified")
	for _, d := range []string{"memory/lxc.monitor.b1", "memory/lxc.monitor.b1-1", "memory/lxc.monitor.b1-x", "memory/lxc.monitor.b10",
		"memory/lxc.payload.b1-12", "unified/lxc.payload.b1", "unified/lxc.monitor.b2"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	var got []string
	for _, d := range StaleCgroupDirs([]string{v1, v2}, "b1") {
		if _, err := os.Stat(d); err == nil {
			rel, _ := filepath.Rel(root, d)
			got = append(got, rel)
		}
	}
	want := []string{"memory/lxc.monitor.b1", "memory/lxc.monitor.b1-1", "memory/lxc.payload.b1-12", "unified/lxc.payload.b1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StaleCgroupDirs = %q, want %q", got, want)
	}
	mps := cgroupMountPoints([]byte(hybridMountinfo))
	if want := []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/devices", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}; !reflect.DeepEqual(mps, want) {
		t.Errorf("cgroupMountPoints = %q, want %q", mps, want)
	}
}
