package lxc

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Item is one LXC configuration key and value, in the order written.
type Item struct{ Key, Value string }

func (i Item) String() string { return i.Key + " = " + i.Value }

// Files of a container directory <lxcpath>/<name>.
const (
	ConfigFile  = "config"         // LXC configuration
	StateFile   = "armhf-lxc.json" // armhf-lxc's own record, see State
	CPUInfoFile = "cpuinfo"        // armv7 /proc/cpuinfo, bind-mounted over proc/cpuinfo
	SeccompFile = "seccomp"        // lxc.seccomp.profile with --machine, see SeccompProfile
	InitFile    = "init"           // PID 1 script, bind-mounted at InitTarget
	LogFile     = "lxc.log"        // liblxc's log (lxc.log.file)
	DockerdLog  = "dockerd.log"    // stdout and stderr of dockerd (--docker)
	RootfsDir   = "rootfs"         // a root filesystem armhf-lxc unpacked itself

	// InitTarget is where the init script appears in the container: on the
	// tmpfs lxc.autodev mounts at /dev, so the root filesystem is not
	// written to.
	InitTarget = "/dev/.armhf-lxc-init"
	// ShimTarget is where the runtime wrapper appears in the container (on
	// the /dev tmpfs too): named runc, in a directory first on dockerd's
	// PATH, it is what dockerd and its BuildKit run as runc.
	ShimTarget = "/dev/.armhf-lxc-bin/runc"
)

// Network is a container's network: "none" (a network namespace with only
// lo: lxc.net.0.type = empty) or a veth pair whose host end joins an
// existing bridge.
type Network struct {
	Bridge string // "" means none
}

// String is the --network flag syntax.
func (n Network) String() string {
	if n.Bridge == "" {
		return "none"
	}
	return "veth:" + n.Bridge
}

// ParseNetwork parses the --network flag: "none" (the default, also for "")
// or "veth:BRIDGE".
func ParseNetwork(s string) (Network, error) {
	switch {
	case s == "" || s == "none":
		return Network{}, nil
	case strings.HasPrefix(s, "veth:"):
		br := strings.TrimPrefix(s, "veth:")
		if err := validIfName(br); err != nil {
			return Network{}, fmt.Errorf("invalid --network %q: bridge %w", s, err)
		}
		return Network{Bridge: br}, nil
	}
	return Network{}, fmt.Errorf("invalid --network %q: want none or veth:BRIDGE (an existing bridge such as lxcbr0)", s)
}

// validIfName checks a Linux interface name (dev_valid_name).
func validIfName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("name is empty")
	case len(s) > 15:
		return fmt.Errorf("name %q is longer than 15 bytes", s)
	case s == "." || s == "..":
		return fmt.Errorf("name %q is not allowed", s)
	case strings.ContainsAny(s, "/:\x00") || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("name %q contains '/', ':', whitespace or a control character", s)
	}
	return nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// ValidateName accepts container names that are also valid host names
// (RFC 1123 labels: letters, digits and inner hyphens, at most 63), since
// the name becomes the container's lxc.uts.name and a directory under
// lxcpath.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid container name %q: use 1-63 letters, digits and hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// Bind is a host path bind-mounted into the container (--bind).
type Bind struct {
	Source   string // absolute host path
	Target   string // absolute path in the container
	ReadOnly bool
	File     bool // Source is not a directory: the mount point is created as a file
}

// String is the --bind flag syntax.
func (b Bind) String() string {
	s := b.Source + ":" + b.Target
	if b.ReadOnly {
		s += ":ro"
	}
	return s
}

// ParseBind parses --bind HOST:CONTAINER[:ro|:rw]. Both paths must be
// absolute; CONTAINER may not be "/". Whether the source is a file is left
// to the caller, who can stat it.
func ParseBind(s string) (Bind, error) {
	parts := strings.Split(s, ":")
	var b Bind
	switch len(parts) {
	case 3:
		switch parts[2] {
		case "ro":
			b.ReadOnly = true
		case "rw":
		default:
			return Bind{}, fmt.Errorf("invalid --bind %q: mode %q is not ro or rw", s, parts[2])
		}
		fallthrough
	case 2:
		b.Source, b.Target = parts[0], parts[1]
	default:
		return Bind{}, fmt.Errorf("invalid --bind %q: want HOST:CONTAINER[:ro] (paths cannot contain ':')", s)
	}
	if !filepath.IsAbs(b.Source) || !path.IsAbs(b.Target) {
		return Bind{}, fmt.Errorf("invalid --bind %q: both paths must be absolute", s)
	}
	b.Source = filepath.Clean(b.Source)
	b.Target = path.Clean(b.Target)
	if b.Target == "/" {
		return Bind{}, fmt.Errorf("invalid --bind %q: cannot mount over the container's /", s)
	}
	if err := checkConfigValue(b.Source); err != nil {
		return Bind{}, fmt.Errorf("invalid --bind %q: %w", s, err)
	}
	if err := checkConfigValue(b.Target); err != nil {
		return Bind{}, fmt.Errorf("invalid --bind %q: %w", s, err)
	}
	return b, nil
}

// checkConfigValue rejects what cannot be written into a line-based LXC
// config: control characters (a newline would start a new key).
func checkConfigValue(s string) error {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return fmt.Errorf("%q contains a control character", s)
	}
	return nil
}

// LXCArch is the lxc.arch that gives a container the LINUX32 personality
// on a host whose kernel reports hostCompat in PER_LINUX32
// (uname.HostCompatMachine): armv7l on arm64 ("armv8l"), i686 on x86_64.
func LXCArch(hostCompat string) (string, error) {
	switch hostCompat {
	case "armv8l":
		return "armv7l", nil
	case "i686":
		return "i686", nil
	}
	return "", fmt.Errorf("armhf-lxc needs an arm64 or x86_64 kernel (no 32-bit compat machine known for this one: %q)", hostCompat)
}

// DebootstrapArch is the Debian architecture of the 32-bit userland for
// lxc.arch: armhf for armv7l, i386 for i686.
func DebootstrapArch(lxcArch string) string {
	if lxcArch == "i686" {
		return "i386"
	}
	return "armhf"
}

// CgroupKeys names the LXC keys for the cgroup controllers armhf-lxc sets:
// "lxc.cgroup" (cgroup v1) or "lxc.cgroup2" (unified), per controller,
// because a hybrid host has cpuset and devices in v1 hierarchies and an
// almost empty cgroup2 tree.
type CgroupKeys struct {
	Cpuset  string // e.g. "lxc.cgroup" -> lxc.cgroup.cpuset.cpus
	Devices string // e.g. "lxc.cgroup2" -> lxc.cgroup2.devices.allow
}

// Host is what Config needs to know about the machine.
type Host struct {
	Cgroups  CgroupKeys
	AppArmor bool // AppArmor is enabled in the kernel
}

// Spec is a container as armhf-lxc configures it.
type Spec struct {
	Name    string
	Dir     string // <lxcpath>/<name>, absolute
	Rootfs  string // absolute host path of the root filesystem
	Arch    string // lxc.arch, see LXCArch
	Nesting bool
	CPUs    string // canonical CPU list for the cpuset; "" = no restriction
	Network Network
	Binds   []Bind
	Init    []string // lxc.init.cmd; nil = armhf-lxc's init script
	RunDir  bool     // the rootfs has /run: mount a fresh tmpfs there
	Shim    string   // host path of the runtime wrapper to bind at ShimTarget ("" = none)
	// Machine, if set, is what uname -m says to 32-bit programs: liblxc
	// sends their uname to the seccomp agent's LXC socket SeccompAgent.
	Machine      string
	SeccompAgent string
}

// ValidateInit checks an --init command line (nil is armhf-lxc's own init)
// as lxc.init.cmd can hold it: words split on blanks, no quoting, and an
// absolute program path in the container.
func ValidateInit(init []string) error {
	if init == nil {
		return nil
	}
	for _, w := range init {
		if w == "" || strings.ContainsAny(w, " \t'\"\\") || checkConfigValue(w) != nil {
			return fmt.Errorf("--init word %q: lxc.init.cmd is split on blanks and cannot quote, so words may not be empty or contain blanks, quotes or backslashes", w)
		}
	}
	if len(init) == 0 || !path.IsAbs(init[0]) {
		return fmt.Errorf("--init %q: the program must be an absolute path in the container (e.g. /sbin/init)", strings.Join(init, " "))
	}
	return nil
}

// Devices every container may use (LXC's own common.conf list): mknod of
// any node, and read/write of the harmless ones. A build host has no
// business with the host's disks.
var baseDevices = []string{
	"c *:* m", "b *:* m",
	"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", // null zero full random urandom
	"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", // tty console ptmx pts
	"c 10:229 rwm", "c 10:200 rwm", // fuse tun
}

// ... and what dockerd and image builders inside a nesting container may
// need in addition: loop devices.
var nestingDevices = []string{"b 7:* rwm", "c 10:237 rwm"} // loop*, loop-control

// Host device nodes bind-mounted into a nesting container when present.
var nestingNodes = []string{"/dev/fuse", "/dev/net/tun", "/dev/loop-control"}

// Config is the complete LXC configuration of spec on host. Nothing is
// taken from /etc/lxc/default.conf or the distribution's common.conf: every
// key armhf-lxc relies on is written here.
func Config(s Spec, h Host) ([]Item, error) {
	if err := ValidateName(s.Name); err != nil {
		return nil, err
	}
	paths := []string{s.Dir, s.Rootfs}
	if s.Shim != "" {
		paths = append(paths, s.Shim)
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("lxc: path %q is not absolute", p)
		}
		if err := checkConfigValue(p); err != nil {
			return nil, fmt.Errorf("lxc: path %w", err)
		}
	}
	if s.Arch == "" {
		return nil, fmt.Errorf("lxc: no lxc.arch for %s", s.Name)
	}
	if s.CPUs != "" && h.Cgroups.Cpuset == "" {
		return nil, fmt.Errorf("lxc: --cpus %s needs the cpuset cgroup controller, which this host does not have", s.CPUs)
	}
	if h.Cgroups.Devices == "" {
		return nil, fmt.Errorf("lxc: the devices cgroup controller is needed to keep the container off the host's disks; this host has none")
	}

	var c []Item
	add := func(k, v string) { c = append(c, Item{k, v}) }
	dir := filepath.Clean(s.Dir)

	add("lxc.uts.name", s.Name)
	add("lxc.arch", s.Arch)
	add("lxc.rootfs.path", "dir:"+filepath.Clean(s.Rootfs))
	add("lxc.log.file", filepath.Join(dir, LogFile))
	add("lxc.log.level", "WARN")

	if s.Init == nil {
		add("lxc.init.cmd", "/bin/sh "+InitTarget)
		// The init script exits on SIGTERM (LXC's default halt signal is
		// SIGPWR, which a shell as PID 1 may not trap).
		add("lxc.signal.halt", "SIGTERM")
	} else {
		if err := ValidateInit(s.Init); err != nil {
			return nil, fmt.Errorf("lxc: %w", err)
		}
		// No lxc.signal.halt: liblxc's default (SIGPWR, or SIGRTMIN+3
		// when the init is systemd) is what an init such as systemd or
		// sysvinit halts on; SIGTERM makes systemd re-execute itself.
		add("lxc.init.cmd", strings.Join(s.Init, " "))
	}
	if s.Machine != "" {
		// liblxc loads the profile, keeps the listener in its monitor and
		// forwards each uname to the agent, the cookie naming the machine.
		if err := checkConfigValue(s.Machine); err != nil {
			return nil, fmt.Errorf("lxc: machine %w", err)
		}
		add("lxc.seccomp.profile", filepath.Join(dir, SeccompFile))
		add("lxc.seccomp.notify.proxy", "unix:"+s.SeccompAgent)
		add("lxc.seccomp.notify.cookie", s.Machine)
	}
	add("lxc.autodev", "1")
	add("lxc.tty.max", "0")
	add("lxc.pty.max", "1024")

	switch s.Network.Bridge {
	case "":
		add("lxc.net.0.type", "empty")
	default:
		if err := validIfName(s.Network.Bridge); err != nil {
			return nil, fmt.Errorf("lxc: bridge %w", err)
		}
		add("lxc.net.0.type", "veth")
		add("lxc.net.0.link", s.Network.Bridge)
		add("lxc.net.0.name", "eth0")
		add("lxc.net.0.flags", "up")
	}

	if s.Nesting {
		// cgroup:rw alone mounts nothing while the container keeps
		// CAP_SYS_ADMIN; :force mounts the hierarchies anyway.
		add("lxc.mount.auto", "cgroup:rw:force proc:rw sys:rw")
		// No lxc.cap.drop line: nothing is dropped (liblxc cannot save
		// an empty one, and none is inherited since nothing is included).
		if h.AppArmor {
			add("lxc.apparmor.profile", "unconfined")
		}
	} else {
		add("lxc.mount.auto", "proc:mixed sys:mixed")
		add("lxc.cap.drop", "mac_admin mac_override sys_module sys_rawio sys_time")
	}

	dev := h.Cgroups.Devices + ".devices."
	add(dev+"deny", "a")
	for _, d := range baseDevices {
		add(dev+"allow", d)
	}
	if s.Nesting {
		for _, d := range nestingDevices {
			add(dev+"allow", d)
		}
	}
	if s.CPUs != "" {
		add(h.Cgroups.Cpuset+".cpuset.cpus", s.CPUs)
	}

	// lxc.mount.auto mounts proc before lxc.mount.entry is processed, so
	// the cpuinfo bind lands on top of the container's own proc.
	add("lxc.mount.entry", MountEntry(filepath.Join(dir, CPUInfoFile), "proc/cpuinfo", "none", "bind,ro,create=file"))
	if s.Init == nil {
		add("lxc.mount.entry", MountEntry(filepath.Join(dir, InitFile), strings.TrimPrefix(InitTarget, "/"), "none", "bind,ro,create=file"))
	}
	add("lxc.mount.entry", MountEntry("tmpfs", "dev/shm", "tmpfs", "rw,nosuid,nodev,mode=1777,create=dir"))
	if s.RunDir {
		add("lxc.mount.entry", MountEntry("tmpfs", "run", "tmpfs", "rw,nosuid,nodev,mode=755"))
	}
	if s.Nesting {
		for _, n := range nestingNodes {
			add("lxc.mount.entry", MountEntry(n, strings.TrimPrefix(n, "/"), "none", "bind,optional,create=file"))
		}
	}
	if s.Shim != "" {
		// optional: a wrapper removed from the host since create leaves
		// dockerd with the real runc (start warns) instead of no start.
		add("lxc.mount.entry", MountEntry(s.Shim, strings.TrimPrefix(ShimTarget, "/"), "none", "bind,ro,optional,create=file"))
	}
	for _, b := range s.Binds {
		opts := "bind"
		if b.ReadOnly {
			opts += ",ro"
		}
		if b.File {
			opts += ",create=file"
		} else {
			opts += ",create=dir"
		}
		add("lxc.mount.entry", MountEntry(b.Source, strings.TrimPrefix(b.Target, "/"), "none", opts))
	}
	return c, nil
}

// SeccompProfile is the lxc.seccomp.profile of --machine: every system
// call allowed (denylist) but uname, of every architecture, sent to the
// notify proxy; the agent answers the 32-bit ones and lets the kernel
// perform the others.
const SeccompProfile = "2\ndenylist\n[all]\nuname notify\n"

// MountEntry is an lxc.mount.entry value (fstab format). Blanks and
// backslashes in the paths are written as the octal escapes getmntent(3)
// decodes; a relative target is relative to the container's root.
func MountEntry(source, target, fstype, options string) string {
	return fstabEscape(source) + " " + fstabEscape(target) + " " + fstype + " " + options + " 0 0"
}

func fstabEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// InitScript is the container's PID 1 (see the package doc). It needs only
// a POSIX sh with kill, sleep and wait, which busybox and every Debian
// rootfs have.
const InitScript = `#!/bin/sh
# PID 1 of an armhf-lxc container, written by armhf-lxc on every start.
# It reaps orphaned processes (wait collects any child), and on SIGTERM
# (lxc.signal.halt) sends SIGTERM to every process of the container and
# exits once they are gone, so "armhf-lxc stop" lets dockerd and builds
# shut down cleanly; liblxc kills whatever is left when init exits.
# dockerd goes first, alone: it stops its containers through its
# containerd, which a SIGTERM at the same time would take away.
stopping=
trap 'stopping=1' TERM
while [ -z "$stopping" ]; do
	sleep 2147483647 &
	wait $!
	kill $! 2>/dev/null
done
dockerds() {
	for p in /proc/[0-9]*; do
		{ read -r c <"$p/comm"; } 2>/dev/null && [ "$c" = dockerd ] && echo "${p#/proc/}"
	done
}
set -- $(dockerds)
if [ "$#" -gt 0 ]; then
	kill -TERM "$@" 2>/dev/null
	i=0
	while [ "$i" -lt 60 ] && [ -n "$(dockerds)" ]; do
		sleep 1 &
		wait $!
		i=$((i + 1))
	done
fi
kill -TERM -1 2>/dev/null
i=0
while [ "$i" -lt 60 ]; do
	set -- /proc/[0-9]*
	[ "$#" -le 1 ] && exit 0
	sleep 1 &
	wait $!
	i=$((i + 1))
done
exit 0
`
