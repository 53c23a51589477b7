package lxc

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/uname"
)

// planFacts is an x86_64 host with 4 CPUs, cgroup2, the bridge lxcbr0, a
// few bind sources and a usable root filesystem directory /srv/rootfs.
func planFacts(t *testing.T) CreateFacts {
	cpus, err := cpuinfo.NewCPUSet(0, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	return CreateFacts{
		LXCPath:       "/var/lib/lxc",
		CompatMachine: "i686",
		Compat:        uname.Probe{Machine: "x86_64", Target: "i386", CompatMachine: "i686", Native: true},
		CPUs:          cpus,
		Host:          Host{Cgroups: CgroupKeys{Cpuset: "lxc.cgroup2", Devices: "lxc.cgroup2"}},
		Bridges:       map[string]bool{"lxcbr0": true, "br9": false},
		Binds: map[string]PathInfo{
			"/srv/src":         {Mode: fs.ModeDir},
			"/etc/resolv.conf": {},
			"/nonexistent":     {Err: fs.ErrNotExist},
		},
		Rootfs: RootfsFacts{Path: "/srv/rootfs", Stat: PathInfo{Mode: fs.ModeDir}, HasInit: true},
	}
}

func TestPlanCreate(t *testing.T) {
	host := Host{Cgroups: CgroupKeys{Cpuset: "lxc.cgroup2", Devices: "lxc.cgroup2"}}
	dir := "/var/lib/lxc/b1"
	owned := dir + "/rootfs"
	for _, tc := range []struct {
		name  string
		o     CreateOptions
		facts func(*CreateFacts) // changes to planFacts
		want  *CreatePlan
	}{
		{"dir-rootfs", CreateOptions{Name: "b1", Rootfs: "srv/rootfs"}, nil, &CreatePlan{
			Dir: dir, Host: host,
			State: State{Name: "b1", Rootfs: "/srv/rootfs", Source: "/srv/rootfs", Arch: "i686", Network: "none"},
			Spec:  Spec{Name: "b1", Dir: dir, Rootfs: "/srv/rootfs", Arch: "i686"},
		}},
		{"tarball", CreateOptions{Name: "b1", Rootfs: "r.tar.xz"}, func(f *CreateFacts) {
			f.Rootfs = RootfsFacts{Path: "/home/u/r.tar.xz", Stat: PathInfo{}}
		}, &CreatePlan{
			Dir: dir, Host: host, Tarball: "/home/u/r.tar.xz",
			State: State{Name: "b1", Rootfs: owned, OwnsRootfs: true, Source: "/home/u/r.tar.xz", Arch: "i686", Network: "none"},
			Spec:  Spec{Name: "b1", Dir: dir, Rootfs: owned, Arch: "i686"},
		}},
		{"debootstrap-on-arm64", CreateOptions{Name: "b1", Debootstrap: "bookworm", Mirror: "http://deb.debian.org/debian"}, func(f *CreateFacts) {
			f.CompatMachine = "armv8l"
			f.Rootfs = RootfsFacts{}
		}, &CreatePlan{
			Dir: dir, Host: host, Debootstrap: "bookworm", Mirror: "http://deb.debian.org/debian",
			State: State{Name: "b1", Rootfs: owned, OwnsRootfs: true, Source: "debootstrap:bookworm", Arch: "armv7l", Network: "none"},
			Spec:  Spec{Name: "b1", Dir: dir, Rootfs: owned, Arch: "armv7l"},
		}},
		{"debootstrap-docker", CreateOptions{Name: "b1", Debootstrap: "bookworm", Nesting: true, Docker: true, Shim: NoShim}, func(f *CreateFacts) {
			f.Rootfs = RootfsFacts{}
		}, &CreatePlan{
			Dir: dir, Host: host, Debootstrap: "bookworm", Include: []string{"docker.io"},
			State: State{Name: "b1", Rootfs: owned, OwnsRootfs: true, Source: "debootstrap:bookworm", Arch: "i686", Network: "none",
				Nesting: true, Docker: true, DockerSocket: DefaultDockerSocket},
			Spec: Spec{Name: "b1", Dir: dir, Rootfs: owned, Arch: "i686", Nesting: true},
		}},
		{"docker-default-socket-wrapper-found", CreateOptions{Name: "b1", Rootfs: "/srv/rootfs", Nesting: true, Docker: true, DockerArgs: []string{"--iptables=false"}}, func(f *CreateFacts) {
			f.Shim = "/usr/local/bin/armhf-runc"
		}, &CreatePlan{
			Dir: dir, Host: host,
			State: State{Name: "b1", Rootfs: "/srv/rootfs", Source: "/srv/rootfs", Arch: "i686", Network: "none", Nesting: true,
				Docker: true, DockerArgs: []string{"--iptables=false"}, DockerSocket: DefaultDockerSocket, Shim: "/usr/local/bin/armhf-runc"},
			Spec: Spec{Name: "b1", Dir: dir, Rootfs: "/srv/rootfs", Arch: "i686", Nesting: true, Shim: "/usr/local/bin/armhf-runc"},
		}},
		{"docker-no-wrapper-found", CreateOptions{Name: "b1", Rootfs: "/srv/rootfs", Nesting: true, Docker: true}, nil, &CreatePlan{
			Dir: dir, Host: host,
			State: State{Name: "b1", Rootfs: "/srv/rootfs", Source: "/srv/rootfs", Arch: "i686", Network: "none", Nesting: true,
				Docker: true, DockerSocket: DefaultDockerSocket},
			Spec: Spec{Name: "b1", Dir: dir, Rootfs: "/srv/rootfs", Arch: "i686", Nesting: true},
			Warnings: []string{"no armhf-shim runtime wrapper found (armhf-runc or armhf-shim beside armhf-lxc or on PATH): " +
				"the containers and BuildKit RUN steps of the dockerd inside will see the kernel's /proc/cpuinfo, not the armv7 one " +
				"(give --shim PATH, or --shim none to silence this)"},
		}},
		{"docker-own-socket-no-wrapper", CreateOptions{Name: "b1", Rootfs: "/srv/rootfs", Nesting: true, Docker: true, DockerSocket: "/run/d.sock", Shim: NoShim}, nil, &CreatePlan{
			Dir: dir, Host: host,
			State: State{Name: "b1", Rootfs: "/srv/rootfs", Source: "/srv/rootfs", Arch: "i686", Network: "none", Nesting: true,
				Docker: true, DockerSocket: "/run/d.sock"},
			Spec: Spec{Name: "b1", Dir: dir, Rootfs: "/srv/rootfs", Arch: "i686", Nesting: true},
		}},
		{"cpus-network-binds-init", CreateOptions{Name: "b1", Rootfs: "/srv/rootfs", CPUs: "3,1-2", Network: "veth:lxcbr0",
			Binds: []string{"/srv/src/:/src:ro", "/etc/resolv.conf:/etc/resolv.conf"}, Init: []string{"/sbin/init", "--log-level=info"}}, nil, &CreatePlan{
			Dir: dir, Host: host,
			State: State{Name: "b1", Rootfs: "/srv/rootfs", Source: "/srv/rootfs", Arch: "i686", CPUs: "1-3", Network: "veth:lxcbr0",
				Binds: []string{"/srv/src:/src:ro", "/etc/resolv.conf:/etc/resolv.conf"}, Init: []string{"/sbin/init", "--log-level=info"}},
			Spec: Spec{Name: "b1", Dir: dir, Rootfs: "/srv/rootfs", Arch: "i686", CPUs: "1-3", Network: Network{Bridge: "lxcbr0"},
				Binds: []Bind{{Source: "/srv/src", Target: "/src", ReadOnly: true}, {Source: "/etc/resolv.conf", Target: "/etc/resolv.conf", File: true}},
				Init:  []string{"/sbin/init", "--log-level=info"}},
		}},
		{"emulated-warns", CreateOptions{Name: "b1", Rootfs: "/srv/rootfs"}, func(f *CreateFacts) {
			f.Compat = uname.Probe{Machine: "x86_64", Target: "i386", Method: "execve of a 32-bit test ELF = ENOEXEC: the kernel has no 32-bit loader",
				Emulator: "qemu-i386", EmulatorOn: true}
		}, &CreatePlan{
			Dir: dir, Host: host,
			State:    State{Name: "b1", Rootfs: "/srv/rootfs", Source: "/srv/rootfs", Arch: "i686", Network: "none"},
			Spec:     Spec{Name: "b1", Dir: dir, Rootfs: "/srv/rootfs", Arch: "i686"},
			Warnings: []string{"this x86_64 host cannot run i386 code natively (execve of a 32-bit test ELF = ENOEXEC: the kernel has no 32-bit loader); use QEMU user emulation through binfmt_misc instead (apt-get install qemu-user-static binfmt-support, or docker run --privileged --rm tonistiigi/binfmt --install 386); the container's 32-bit programs will run under qemu-i386"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := planFacts(t)
			if tc.facts != nil {
				tc.facts(&f)
			}
			got, err := PlanCreate(tc.o, f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PlanCreate =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestPlanCreateRefuses: every refusal comes from the plan, before anything
// is made, and names what to fix.
func TestPlanCreateRefuses(t *testing.T) {
	rootfs := func(o CreateOptions) CreateOptions { o.Name = "b1"; o.Rootfs = "/srv/rootfs"; return o }
	for _, tc := range []struct {
		name  string
		o     CreateOptions
		facts func(*CreateFacts)
		err   string
	}{
		{"bad-name", CreateOptions{Name: "b_1", Rootfs: "/srv/rootfs"}, nil, "invalid container name"},
		{"init-unquotable", rootfs(CreateOptions{Init: []string{"/bin/sh", "-c", "'x'"}}), nil, "cannot quote"},
		{"init-relative", rootfs(CreateOptions{Init: []string{"sbin/init"}}), nil, "must be an absolute path"},
		{"init-empty", CreateOptions{Name: "b1", Debootstrap: "bookworm", Init: []string{}}, nil, "must be an absolute path"},
		{"both-sources", rootfs(CreateOptions{Debootstrap: "bookworm"}), nil, "exactly one"},
		{"no-source", CreateOptions{Name: "b1"}, nil, "exactly one"},
		{"mirror-without-debootstrap", rootfs(CreateOptions{Mirror: "http://deb.debian.org/debian"}), nil, "--mirror without --debootstrap"},
		{"docker-arg-without-docker", rootfs(CreateOptions{Nesting: true, DockerArgs: []string{"--iptables=false"}}), nil, "--docker-arg without --docker"},
		{"docker-socket-without-docker", rootfs(CreateOptions{Nesting: true, DockerSocket: "/run/d.sock"}), nil, "--docker-socket without --docker"},
		{"docker-without-nesting", rootfs(CreateOptions{Docker: true}), nil, "needs --nesting"},
		{"shim-without-docker", rootfs(CreateOptions{Nesting: true, Shim: "/usr/local/bin/armhf-runc"}), nil, "--shim without --docker"},
		{"shim-unusable", rootfs(CreateOptions{Nesting: true, Docker: true, Shim: "/etc/passwd"}), func(f *CreateFacts) {
			f.ShimErr = errors.New("/etc/passwd is not an executable file")
		}, "--shim /etc/passwd: /etc/passwd is not an executable file"},
		{"bad-docker-socket", rootfs(CreateOptions{Nesting: true, Docker: true, DockerSocket: "docker.sock"}), nil, "--docker-socket"},
		{"bad-network", rootfs(CreateOptions{Network: "macvlan:eth0"}), nil, "want none or veth:BRIDGE"},
		{"no-bridge", rootfs(CreateOptions{Network: "veth:br9"}), nil, `no bridge "br9" on this host`},
		{"cpus-syntax", rootfs(CreateOptions{CPUs: "1-0"}), nil, `--cpus "1-0": `},
		{"cpus-unavailable", rootfs(CreateOptions{CPUs: "2-5"}), nil, "CPU 4 is not available here (available: 0-3)"},
		{"bind-syntax", rootfs(CreateOptions{Binds: []string{"/srv/src"}}), nil, "want HOST:CONTAINER"},
		{"bind-source-missing", rootfs(CreateOptions{Binds: []string{"/nonexistent:/x"}}), nil, "--bind /nonexistent:/x: file does not exist"},
		{"unsupported-kernel", rootfs(CreateOptions{}), func(f *CreateFacts) { f.CompatMachine = "" }, "needs an arm64 or x86_64 kernel"},
		{"not-native-no-emulator", rootfs(CreateOptions{}), func(f *CreateFacts) {
			f.Compat = uname.Probe{Machine: "aarch64", Target: "armhf", Method: "personality(PER_LINUX32) = EINVAL"}
		}, "cannot run armhf code natively"},
		{"rootfs-missing", rootfs(CreateOptions{}), func(f *CreateFacts) { f.Rootfs.Stat = PathInfo{Err: fs.ErrNotExist} }, "--rootfs: file does not exist"},
		{"rootfs-unusable", rootfs(CreateOptions{}), func(f *CreateFacts) {
			f.Rootfs.Check = errors.New("root filesystem /srv/rootfs has no executable /bin/sh")
		}, "no executable /bin/sh"},
		{"rootfs-fifo", rootfs(CreateOptions{}), func(f *CreateFacts) { f.Rootfs.Stat = PathInfo{Mode: fs.ModeNamedPipe} }, "neither a directory nor a tarball"},
		{"init-not-in-rootfs", rootfs(CreateOptions{Init: []string{"/sbin/init"}}), func(f *CreateFacts) { f.Rootfs.HasInit = false }, `--init "/sbin/init": no such program in the root filesystem /srv/rootfs`},
		{"rootfs-in-container-dir", rootfs(CreateOptions{}), func(f *CreateFacts) { f.Rootfs.Path = "/var/lib/lxc/b1/rootfs" }, "lies inside the container directory /var/lib/lxc/b1"},
		{"cpus-without-cpuset", rootfs(CreateOptions{CPUs: "1"}), func(f *CreateFacts) { f.Host.Cgroups.Cpuset = "" }, "needs the cpuset cgroup controller"},
		{"no-devices-controller", rootfs(CreateOptions{}), func(f *CreateFacts) { f.Host.Cgroups.Devices = "" }, "devices cgroup controller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := planFacts(t)
			if tc.facts != nil {
				tc.facts(&f)
			}
			p, err := PlanCreate(tc.o, f)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("PlanCreate = %+v, %v; want an error containing %q", p, err, tc.err)
			}
			if strings.Contains(err.Error(), "create b1") {
				t.Errorf("PlanCreate's error %q names the command: Create wraps it once", err)
			}
		})
	}
}
