package install

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
)

// The apply advice after a daemon.json edit names the dockerd that reads
// the file — its systemd service, else its one pid, never every dockerd —
// and what that daemon needs: dockerd re-reads runtimes on SIGHUP, but a
// reload keeps the old default-runtime and runtimes when their key is
// removed, so a default-runtime change or a removed runtimes key asks for
// a restart; and `docker run --annotation` exists from Docker 24 (API
// 1.43) on.

// dockerDaemon is a running dockerd.
type dockerDaemon struct {
	Pid        int
	ConfigFile string // its daemon.json, absolute
	Unit       string // its systemd service ("docker.service"), "" if none
	Major      int    // its version's major number, 0 when unknown
}

// dockerAdvice is the apply hints and notes after a change c of path.
func dockerAdvice(o Options, path string, c dockerChange) (apply, notes []string) {
	readers := o.dockerdsReading(path)
	apply = applyHints(path, readers, c)
	if !o.Uninstall {
		major := 0
		if len(readers) > 0 {
			major = readers[0].Major
		} else {
			major = dockerdMajor("dockerd")
		}
		notes = append(notes, runNote(o.RuntimeName, major, o.SetAsDefault))
	}
	return apply, notes
}

// applyHints says, for each dockerd reading path, what applies change c.
func applyHints(path string, readers []dockerDaemon, c dockerChange) []string {
	if len(readers) == 0 {
		return []string{fmt.Sprintf("nothing now: no running dockerd reads %s; one started with it applies the change", path)}
	}
	var out []string
	why := "dockerd is sure to apply a default-runtime change, or a removed runtimes key, only when it starts (a SIGHUP keeps the old value of a removed key)"
	if c.why != "" {
		why = c.why
	}
	for _, d := range readers {
		switch {
		case c.restart && d.Unit != "":
			out = append(out, fmt.Sprintf("%s   # %s", Restart("dockerd", d.Unit, d.Pid), why))
		case c.restart:
			out = append(out, fmt.Sprintf("%s: %s", Restart("dockerd", d.Unit, d.Pid), why))
		case d.Unit != "":
			out = append(out, fmt.Sprintf("%s   # dockerd re-reads runtimes on SIGHUP", DockerdReload(d.Unit, d.Pid)))
		default:
			out = append(out, fmt.Sprintf("%s   # the dockerd that reads %s; it re-reads runtimes on SIGHUP", DockerdReload(d.Unit, d.Pid), path))
		}
	}
	return out
}

// DockerdReload is the command that makes the dockerd of systemd service
// unit ("" when none) and pid re-read daemon.json: install's advice and
// doctor's fixes say it in the same words.
func DockerdReload(unit string, pid int) string {
	if unit != "" {
		return "systemctl reload " + strings.TrimSuffix(unit, ".service")
	}
	return fmt.Sprintf("kill -HUP %d", pid)
}

// Restart is how to restart the daemon (dockerd, containerd) of systemd
// service unit ("" when none) and pid, for what it reads only at start:
// its service, else by hand (no systemctl can restart a daemon that is not
// a service). install's advice and doctor's fixes say it alike.
func Restart(daemon, unit string, pid int) string {
	if unit != "" {
		return "systemctl restart " + strings.TrimSuffix(unit, ".service")
	}
	return fmt.Sprintf("restart the %s with pid %d (stop it, start it with the same arguments)", daemon, pid)
}

// runNote says how to run containers through the runtime (as the default
// runtime, every docker run already does); the annotation that forces
// armhf-shim on needs `docker run --annotation` (Docker 24).
func runNote(name string, major int, isDefault bool) string {
	s := fmt.Sprintf("run 32-bit containers with docker run --runtime %s ... (auto-detected", name)
	if isDefault {
		s = fmt.Sprintf("every docker run now goes through %s, the default runtime (32-bit containers auto-detected, others passed through", name)
	}
	if major >= 24 {
		s += "; force with --annotation io.armhf-shim.enable=true"
	}
	return s + ")"
}

// dockerdsReading lists the running dockerds (under o's /proc, in o's
// root) that read path, with their versions: only theirs are asked, since
// dockerdMajor runs each one's binary.
func (o *Options) dockerdsReading(path string) []dockerDaemon {
	proc := o.procRoot
	if proc == "" {
		proc = "/proc"
	}
	var out []dockerDaemon
	for _, d := range scanDockerds(proc, o.Root) {
		if fsutil.SameFile(d.ConfigFile, path) {
			d.Major = dockerdMajor(filepath.Join(proc, strconv.Itoa(d.Pid), "exe"))
			out = append(out, d)
		}
	}
	return out
}

// scanDockerds lists the dockerd processes under procRoot that run in root
// from their /proc files alone (it runs nothing).
func scanDockerds(procRoot, root string) []dockerDaemon {
	var out []dockerDaemon
	for _, p := range scanDaemons(procRoot, root, "dockerd", configFileArg) {
		out = append(out, dockerDaemon{Pid: p.Pid, ConfigFile: p.ConfigFile, Unit: p.Unit})
	}
	return out
}

// daemonProc is a running daemon as its /proc files tell it.
type daemonProc struct {
	Pid        int
	ConfigFile string // the config file its arguments name, absolute
	Unit       string // its systemd service, "" if none (or systemd does not run the host)
}

// scanDaemons lists the processes named comm under procRoot from their
// /proc files alone (it runs nothing): not a child of one of the same
// name between fork and exec (a dockerd's child, a containerd shim
// starting), not one in another root than root (a container's daemon,
// InRoot).
// configArg finds the config file in the arguments; a relative one is
// the daemon's, against its working directory.
func scanDaemons(procRoot, root, comm string, configArg func(argv []string) string) []daemonProc {
	ents, _ := os.ReadDir(procRoot)
	systemd := false
	if b, err := os.ReadFile(filepath.Join(procRoot, "1", "comm")); err == nil && strings.TrimSpace(string(b)) == "systemd" {
		systemd = true
	}
	var out []daemonProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(procRoot, e.Name())
		c, _ := os.ReadFile(filepath.Join(dir, "comm"))
		if strings.TrimSpace(string(c)) != comm || parentComm(procRoot, dir) == comm || !InRoot(procRoot, root, pid) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		d := daemonProc{Pid: pid, ConfigFile: configArg(strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00"))}
		if !filepath.IsAbs(d.ConfigFile) {
			if cwd, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
				d.ConfigFile = filepath.Join(cwd, d.ConfigFile)
			}
		}
		if systemd {
			cg, _ := os.ReadFile(filepath.Join(dir, "cgroup"))
			d.Unit = serviceUnit(cg)
		}
		out = append(out, d)
	}
	return out
}

// InRoot reports whether process pid (of the /proc at procRoot) runs in
// root ("" = /), the root whose files install and doctor read: the host's
// own /, the host's / mounted at --root in an installer pod, or a chroot
// doctor itself runs in. A daemon in another root — in an LXC container
// (armhf-lxc --docker), in a docker:dind container — reads that root's
// config files and listens on its sockets: it is not one of these
// engines. When the roots cannot be read (no permission, a /proc without
// root links), the process counts as root's.
func InRoot(procRoot, root string, pid int) bool {
	if root == "" {
		root = "/"
	}
	want, err := os.Stat(root)
	if err != nil {
		return true
	}
	its, err := os.Stat(filepath.Join(procRoot, strconv.Itoa(pid), "root"))
	return err != nil || os.SameFile(want, its)
}

// parentComm is the command name of the parent of process dir ("" when
// unknown).
func parentComm(procRoot, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return ""
	}
	comm, _ := os.ReadFile(filepath.Join(procRoot, f[1], "comm"))
	return strings.TrimSpace(string(comm))
}

// configFileArg is dockerd's --config-file (default /etc/docker/daemon.json).
func configFileArg(args []string) string {
	return lastFlag(args, DefaultDockerConfig, "--config-file")
}

// lastFlag is the value of the flags names in a daemon's args (after the
// flag or its "="), else def; of a repeated one the last, as dockerd's
// pflag and containerd's flag parsing take it.
func lastFlag(args []string, def string, names ...string) string {
	v := def
	for i := 1; i < len(args); i++ {
		for _, n := range names {
			if args[i] == n && i+1 < len(args) {
				v = args[i+1]
				i++
				break
			}
			if val, ok := strings.CutPrefix(args[i], n+"="); ok {
				v = val
				break
			}
		}
	}
	return v
}

// serviceUnit is the systemd service of a /proc/<pid>/cgroup ("" if none).
func serviceUnit(cgroup []byte) string {
	for _, line := range strings.Split(string(cgroup), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || !(f[0] == "0" && f[1] == "" || f[1] == "name=systemd") {
			continue
		}
		if base := filepath.Base(f[2]); strings.HasSuffix(base, ".service") {
			return base
		}
	}
	return ""
}

var dockerVersion = regexp.MustCompile(`version v?(\d+)\.`)

// dockerdMajor asks a dockerd binary its version's major number (0 when
// unknown).
func dockerdMajor(bin string) int {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return 0
	}
	m := dockerVersion.FindSubmatch(bytes.TrimSpace(out))
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// scanContainerds lists the containerd processes under procRoot
// (scanDaemons), with the config.toml each reads.
func scanContainerds(procRoot, root string) []daemonProc {
	return scanDaemons(procRoot, root, "containerd", containerdConfigArg)
}

// containerdConfigArg is containerd's --config (default DefaultContainerd).
func containerdConfigArg(args []string) string {
	return lastFlag(args, DefaultContainerd, "--config", "-c")
}

// containerdApply says, for each running containerd that reads config
// (below o's root), how to restart it: containerd reads its configuration
// only at start. A containerd that is not a systemd service is restarted
// by hand: no systemctl can.
func containerdApply(o Options, config string) []string {
	proc := o.procRoot
	if proc == "" {
		proc = "/proc"
	}
	const why = "containerd reads its config only at start"
	var out []string
	for _, d := range scanContainerds(proc, o.Root) {
		if !fsutil.SameFile(inRoot(o.Root, d.ConfigFile), config) {
			continue
		}
		if d.Unit != "" {
			out = append(out, fmt.Sprintf("%s   # %s", Restart("containerd", d.Unit, d.Pid), why))
		} else {
			out = append(out, fmt.Sprintf("%s: %s", Restart("containerd", d.Unit, d.Pid), why))
		}
	}
	if len(out) == 0 {
		return []string{fmt.Sprintf("nothing now: no running containerd reads %s; one started with it reads the change", onHost(o.Root, config))}
	}
	return out
}
