package install

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// What install knows about where the engines read their configuration,
// for armhf-shim doctor (internal/doctor), so that the two never disagree.

// RunningDaemon is a running daemon and the config file it reads.
type RunningDaemon struct {
	Pid        int
	ConfigFile string // absolute
	Unit       string // its systemd service, "" if none
}

// RunningDockerd is a running dockerd and the daemon.json it reads.
type RunningDockerd = RunningDaemon

// RunningDockerds lists the dockerd processes under procRoot ("" = /proc)
// that run in root ("" = /, InRoot), from their /proc files alone: it runs
// none of their binaries.
func RunningDockerds(procRoot, root string) []RunningDockerd {
	if procRoot == "" {
		procRoot = "/proc"
	}
	var out []RunningDockerd
	for _, d := range scanDockerds(procRoot, root) {
		out = append(out, RunningDockerd{Pid: d.Pid, ConfigFile: d.ConfigFile, Unit: d.Unit})
	}
	return out
}

// RunningContainerds lists the containerd processes under procRoot ("" =
// /proc) that run in root ("" = /, InRoot) and the config.toml each reads,
// as install's advice finds them.
func RunningContainerds(procRoot, root string) []RunningDaemon {
	if procRoot == "" {
		procRoot = "/proc"
	}
	var out []RunningDaemon
	for _, d := range scanContainerds(procRoot, root) {
		out = append(out, RunningDaemon(d))
	}
	return out
}

// ParentComm is the command name of the parent of the process of /proc
// directory dir ("" when unknown): what tells a daemon from its child
// between fork and exec, and docker's own containerd from a host's.
func ParentComm(procRoot, dir string) string { return parentComm(procRoot, dir) }

// DockerdConfigArg is the daemon.json a dockerd run with argv (argv[0]
// first) reads, as install and doctor take it: its --config-file, else
// DefaultDockerConfig.
func DockerdConfigArg(argv []string) string { return configFileArg(argv) }

// ServiceUnit is the systemd service of a process from its
// /proc/<pid>/cgroup ("" if none).
func ServiceUnit(cgroup []byte) string { return serviceUnit(cgroup) }

// PodmanHooksDirs are the hooks directories podman and CRI-O read on the
// host below root ("" = /): containers.conf's hooks_dir, else the packaged
// directory (the one Debian 12's podman 4.3 reads; later podman reads
// /etc/containers/oci/hooks.d as well).
func PodmanHooksDirs(root string) []string {
	if root == "" {
		root = "/"
	}
	if dirs := hooksDirs(containersConfFiles(root)); dirs != nil {
		return dirs
	}
	return []string{PackagedHooksDir}
}

// InspectPodmanConf reads the containers.conf files root podman reads on
// the host below root ("" = /): /usr/share/containers/containers.conf,
// /etc/containers/containers.conf, /etc/containers/containers.conf.d/*.conf;
// on this host, with CONTAINERS_CONF set, that file alone, as podman does.
func InspectPodmanConf(root string) PodmanConf {
	if root == "" {
		root = "/"
	}
	if env := os.Getenv("CONTAINERS_CONF"); env != "" && root == "/" {
		c := readPodmanConf([]string{env})
		c.Override = env
		return c
	}
	return readPodmanConf(containersConfFiles(root))
}

// IsOurHook reports whether hooks file content runs `armhf-shim hook`.
func IsOurHook(b []byte) bool { return isOurHook(b) }

// HookPath is the program a hooks file runs ("" if it is malformed).
func HookPath(b []byte) string {
	var h hooksFile
	if err := json.Unmarshal(b, &h); err != nil {
		return ""
	}
	return h.Hook.Path
}

// ContainerdSetup is what install's containerd drop-in looks like on disk.
type ContainerdSetup struct {
	DropIn   string
	Present  bool // the drop-in exists
	Imported bool // config.toml imports it
	// InPlace: install wrote the handler into config.toml's own CRI
	// section instead (containerd 1.x); DropIn is then config.toml.
	InPlace  bool
	Handlers string // the runtime handlers it declares
	Err      error  // config.toml or the drop-in is unreadable or malformed
}

// InspectContainerd reads the drop-in of containerd config mainPath.
func InspectContainerd(mainPath string) ContainerdSetup {
	s := ContainerdSetup{DropIn: DropInPath(mainPath)}
	if h, ok, err := inPlaceHandlers(mainPath); err != nil || ok {
		return ContainerdSetup{DropIn: mainPath, Present: ok, Imported: ok, InPlace: ok, Handlers: h, Err: err}
	}
	b, err := os.ReadFile(s.DropIn)
	if err != nil {
		return s
	}
	s.Present = true
	var d mainConfig
	if err := tomlUnmarshal(b, &d); err != nil {
		s.Err = fmt.Errorf("%s is malformed: %v", s.DropIn, err)
		return s
	}
	s.Handlers = handlerNames(d)
	main, err := os.ReadFile(mainPath)
	if err != nil {
		s.Err = fmt.Errorf("%s: %s", mainPath, shortErr(err))
		return s
	}
	c, _, err := parseMain(main)
	if err != nil {
		s.Err = fmt.Errorf("%s: %v", mainPath, err)
		return s
	}
	s.Imported = imported(c.Imports, mainPath, s.DropIn)
	return s
}

// IsShimPath reports whether a registered runtime path is armhf-shim's
// (by its name or its link's target's name).
func IsShimPath(p string) bool { return isShimPath(p) }

// CLISetup is what install docker-cli recorded beside the wrapper's config
// file (nil when it is not installed).
type CLISetup struct{ Link, Target, Fronts string }

// InspectDockerCLI reads install docker-cli's record of config file path
// ("" = /etc/armhf-shim/config.json).
func InspectDockerCLI(path string) (*CLISetup, error) {
	if path == "" {
		path = DefaultCLIConfig
	}
	rec, _, err := loadRecord("", path)
	if err != nil || rec.CLI == nil {
		return nil, err
	}
	return &CLISetup{Link: rec.CLI.Link, Target: rec.CLI.Target, Fronts: rec.CLI.Fronts}, nil
}

// BuildkitLink is the runc link install buildkit makes in linkDir.
func BuildkitLink(linkDir string) string {
	if linkDir == "" {
		linkDir = DefaultBuildkitLinkDir
	}
	return filepath.Join(linkDir, "runc")
}

func shortErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// isShimPath reports whether a runtime path looks like armhf-shim's (by
// name: doctor has no binary to compare with).
func isShimPath(p string) bool {
	switch filepath.Base(p) {
	case RuntimeLinkName, "armhf-shim":
		return true
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		switch filepath.Base(real) {
		case RuntimeLinkName, "armhf-shim":
			return true
		}
	}
	return false
}

// inPlaceHandlers: where install wrote the handler into config.toml's own
// CRI section (its record says so), the handlers that section declares.
func inPlaceHandlers(mainPath string) (string, bool, error) {
	rec, _, err := loadRecord("", mainPath)
	if err != nil || len(rec.CRI) == 0 {
		return "", false, err
	}
	b, err := os.ReadFile(mainPath)
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", mainPath, shortErr(err))
	}
	c, _, err := parseMain(b)
	if err != nil {
		return "", false, fmt.Errorf("%s: %v", mainPath, err)
	}
	return handlerNames(c), true, nil
}
