package setup

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/buildx"
	"github.com/armhf-shim/armhf-shim/internal/doctor"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

// GatherOptions say where Gather looks ("" = the host's).
type GatherOptions struct {
	Proc      string // /proc
	BuildxDir string // a buildx config directory ("" = the user's and SUDO_USER's, buildx.ConfigDirs)
}

// Gather collects the facts of this host: engines on PATH, running daemons
// (from /proc alone: it runs none of them), buildx builders (from buildx's
// own instance files).
func Gather(o GatherOptions) Facts {
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	var f Facts
	comm, _ := os.ReadFile(filepath.Join(o.Proc, "1", "comm"))
	f.Systemd = strings.TrimSpace(string(comm)) == "systemd"
	look := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			return ""
		}
		return p
	}
	f.Dockerd.Binary = look("dockerd")
	f.Containerd.Binary = look("containerd")
	f.Crio.Binary = look("crio")
	f.Buildkitd.Binary = look("buildkitd")
	f.Podman = look("podman")

	myNS, _ := os.Readlink(filepath.Join(o.Proc, "self", "ns", "mnt"))
	// dockerd's daemon.json as install and doctor take it from its arguments.
	f.Dockerd.Running = daemons(o.Proc, "dockerd", myNS, func(_ string, argv []string) string { return install.DockerdConfigArg(argv) })
	f.Containerd.Running = daemons(o.Proc, "containerd", myNS, configFlag(install.DefaultContainerd, "--config", "-c"))
	f.Crio.Running = daemons(o.Proc, "crio", myNS, configFlag("", "--config", "-c"))
	// doctor judges the buildkitd route by the same file (its --config,
	// else $BUILDKITD_CONFIG).
	f.Buildkitd.Running = daemons(o.Proc, "buildkitd", myNS, doctor.BuildkitdConfigPath)
	if !f.Systemd {
		// A service name in a cgroup path means nothing to setup when
		// systemd does not run this system (a container's view of its host).
		for _, e := range []*Engine{&f.Dockerd, &f.Containerd, &f.Crio, &f.Buildkitd} {
			for i := range e.Running {
				e.Running[i].Unit = ""
			}
		}
	}
	f.Builders = builders(o.BuildxDir)
	return f
}

func otherNS(proc string, pid int, mine string) bool {
	ns, err := os.Readlink(filepath.Join(proc, strconv.Itoa(pid), "ns", "mnt"))
	return err == nil && mine != "" && ns != mine
}

// configFlag is the config file of a daemon's arguments: flags, else def.
func configFlag(def string, flags ...string) func(dir string, argv []string) string {
	return func(_ string, argv []string) string {
		if v := flagValue(argv, flags...); v != "" {
			return v
		}
		return def
	}
}

// daemons lists the processes named name (not children of one of the
// same name, between fork and exec), with the config file configOf finds
// for the process of /proc dir run with argv. Those in another root or
// mount namespace are listed too, marked, so that Detect can say it saw
// them and does not set them up, rather than pass over them in silence.
func daemons(proc, name, myNS string, configOf func(dir string, argv []string) string) []Daemon {
	ents, _ := os.ReadDir(proc)
	var out []Daemon
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(proc, e.Name())
		if c, _ := os.ReadFile(filepath.Join(dir, "comm")); strings.TrimSpace(string(c)) != name {
			continue
		}
		parent := install.ParentComm(proc, dir)
		if parent == name {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
		cwd, _ := os.Readlink(filepath.Join(dir, "cwd"))
		cg, _ := os.ReadFile(filepath.Join(dir, "cgroup"))
		exe, _ := os.Readlink(filepath.Join(dir, "exe"))
		out = append(out, Daemon{Pid: pid, Config: absConfig(cwd, configOf(dir, argv)), Unit: install.ServiceUnit(cg), Binary: exe, Parent: parent,
			OtherMountNS: otherNS(proc, pid, myNS), OtherRoot: !install.InRoot(proc, "", pid)})
	}
	return out
}

// flagValue is the value of flags in argv (argv[0] first): "--config X",
// "--config=X", "-c X"; of a repeated one the last, as the daemons' flag
// parsing takes it (and install's containerdConfigArg, which doctor uses).
func flagValue(argv []string, flags ...string) string {
	v := ""
	for i := 1; i < len(argv); i++ {
		for _, f := range flags {
			if argv[i] == f && i+1 < len(argv) {
				v = argv[i+1]
				i++
				break
			}
			if s, ok := strings.CutPrefix(argv[i], f+"="); ok {
				v = s
				break
			}
		}
	}
	return v
}

// builders are the builders buildx stores (buildx.Instances; the default
// builder of the docker driver has none) in the config directory dir
// ("" = the user's and SUDO_USER's, buildx.ConfigDirs).
func builders(dir string) []Builder {
	dirs := []string{dir}
	if dir == "" {
		dirs = buildx.ConfigDirs(os.Getenv, "/etc/passwd")
	}
	var out []Builder
	for _, d := range dirs {
		for _, in := range buildx.Instances(d) {
			out = append(out, Builder{Name: in.Name, Driver: in.Driver})
		}
	}
	return out
}
