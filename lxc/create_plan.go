package lxc

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/uname"
	"github.com/armhf-shim/armhf-shim/uname/notify"
	"github.com/armhf-shim/armhf-shim/uname/notify/agent"
)

// CreateOptions are the options of Manager.Create (the create command's
// flags).
type CreateOptions struct {
	Name         string
	Rootfs       string // directory (used in place, never deleted) or tarball (unpacked into <dir>/rootfs)
	Debootstrap  string // suite: build <dir>/rootfs with debootstrap instead of Rootfs
	Mirror       string // debootstrap mirror ("" = debootstrap's default)
	Nesting      bool
	Docker       bool
	DockerArgs   []string
	DockerSocket string // "" = DefaultDockerSocket
	CPUs         string // "" = all
	Network      string // "none" or "veth:BRIDGE"
	Binds        []string
	Init         []string // nil = armhf-lxc's init script
	// Shim is the armhf-shim runtime wrapper dockerd inside runs as its
	// runc (--docker): "" = look for one (FindShim), "none" = none.
	Shim string
	// Machine, if set, is what uname -m says to the container's 32-bit
	// programs, answered by armhf-shim seccomp-agent on SeccompAgent
	// ("" = agent.DefaultLXCSocket) through liblxc's notify proxy.
	Machine      string
	SeccompAgent string
}

// NoShim is the --shim value that starts dockerd without the wrapper.
const NoShim = "none"

// CheckCreateFlags rejects create flags that would be silently ignored
// without the flag they belong to: --mirror without --debootstrap,
// --docker-arg, --docker-socket or --shim without --docker.
func CheckCreateFlags(debootstrap, mirror, docker, dockerArgs, dockerSocket, shim bool) error {
	switch {
	case mirror && !debootstrap:
		return errors.New("--mirror without --debootstrap: the mirror is only used by debootstrap (drop --mirror, or build the rootfs with --debootstrap SUITE)")
	case dockerArgs && !docker:
		return errors.New("--docker-arg without --docker: dockerd's arguments are only used when start runs dockerd (add --docker --nesting, or drop --docker-arg)")
	case dockerSocket && !docker:
		return errors.New("--docker-socket without --docker: the socket is only used when start runs dockerd (add --docker --nesting, or drop --docker-socket)")
	case shim && !docker:
		return errors.New("--shim without --docker: the runtime wrapper is only given to the dockerd start runs (add --docker --nesting, or drop --shim)")
	}
	return nil
}

// PathInfo is what a stat of a host path said.
type PathInfo struct {
	Mode fs.FileMode // type bits only: fs.ModeDir, 0 for a regular file
	Err  error       // the stat's error (Mode is then meaningless)
}

// RootfsFacts is what the host says about the --rootfs path.
type RootfsFacts struct {
	Path    string   // absolute
	Stat    PathInfo // of Path
	Check   error    // CheckRootfs(Path), for a directory
	HasInit bool     // a directory holds the --init program
}

// CreateFacts are the facts of this host, and of the paths the options
// name, that a create plan depends on (Manager.createFacts reads them).
type CreateFacts struct {
	LXCPath       string         // absolute
	CompatMachine string         // uname.HostCompatMachine()
	Compat        uname.Probe    // does this host run 32-bit code natively?
	CPUs          cpuinfo.CPUSet // the CPUs this process may use (read only for --cpus)
	Host          Host
	Bridges       map[string]bool     // bridge name -> it exists on this host
	Binds         map[string]PathInfo // cleaned --bind source -> its stat
	Rootfs        RootfsFacts         // only for --rootfs
	// Shim is the runtime wrapper for --docker, absolute with its links
	// resolved ("" = none found); ShimErr says why a --shim PATH is unusable.
	Shim    string
	ShimErr error
}

// CreatePlan is everything Create will make, decided before anything is.
type CreatePlan struct {
	Dir   string // the container directory, <lxcpath>/<name>
	State State  // armhf-lxc.json (Created is stamped when written)
	// Spec is Config's input. RunDir is left false: whether the rootfs
	// has /run is known only once an unpacked rootfs exists.
	Spec        Spec
	Host        Host
	Tarball     string   // unpack this into State.Rootfs
	Debootstrap string   // or debootstrap this suite into State.Rootfs
	Mirror      string   // debootstrap's mirror
	Include     []string // packages debootstrap adds (docker.io for --docker)
	Warnings    []string
}

// PlanCreate checks the create options against the facts and decides what
// Create makes; it changes nothing, so every refusal comes before anything
// exists. The checks run in the order a user fixes them: the name, the
// flags, the host, then the root filesystem.
func PlanCreate(o CreateOptions, f CreateFacts) (*CreatePlan, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	// lxc.init.cmd cannot hold quotes.
	if err := ValidateInit(o.Init); err != nil {
		return nil, err
	}
	if (o.Rootfs == "") == (o.Debootstrap == "") {
		return nil, errors.New("give exactly one of --rootfs DIR|TARBALL and --debootstrap SUITE")
	}
	if err := CheckCreateFlags(o.Debootstrap != "", o.Mirror != "", o.Docker, len(o.DockerArgs) > 0, o.DockerSocket != "" && o.DockerSocket != DefaultDockerSocket, o.Shim != ""); err != nil {
		return nil, err
	}
	if o.Docker && !o.Nesting {
		return nil, errors.New("--docker runs dockerd in the container, which needs --nesting")
	}
	agentSock := ""
	if o.Machine != "" {
		if err := notify.CheckMachine(o.Machine); err != nil {
			return nil, fmt.Errorf("--machine: %w", err)
		}
		agentSock = o.SeccompAgent
		if agentSock == "" {
			agentSock = agent.DefaultLXCSocket
		}
		if !filepath.IsAbs(agentSock) || checkConfigValue(agentSock) != nil {
			return nil, fmt.Errorf("--seccomp-agent %q: an absolute path of a socket", agentSock)
		}
	} else if o.SeccompAgent != "" {
		return nil, errors.New("--seccomp-agent without --machine: the agent only answers uname for a machine (add --machine armv7l, or drop --seccomp-agent)")
	}
	socket := o.DockerSocket
	if socket == "" {
		socket = DefaultDockerSocket
	}
	if err := ValidateDockerSocket(socket); err != nil {
		return nil, err
	}
	net, err := ParseNetwork(o.Network)
	if err != nil {
		return nil, err
	}
	if net.Bridge != "" && !f.Bridges[net.Bridge] {
		return nil, fmt.Errorf("--network %s: no bridge %q on this host (create one, e.g. ip link add %s type bridge, or use lxcbr0)", net, net.Bridge, net.Bridge)
	}
	cpus := ""
	if o.CPUs != "" {
		set, err := cpuinfo.ParseCPUSet(o.CPUs)
		if err != nil {
			return nil, fmt.Errorf("--cpus %q: %w", o.CPUs, err)
		}
		for _, c := range set.List() {
			if !f.CPUs.Contains(c) {
				return nil, fmt.Errorf("--cpus %s: CPU %d is not available here (available: %s)", o.CPUs, c, f.CPUs)
			}
		}
		cpus = set.String()
	}
	var binds []Bind
	for _, s := range o.Binds {
		b, err := ParseBind(s)
		if err != nil {
			return nil, err
		}
		fi, ok := f.Binds[b.Source]
		if !ok {
			return nil, fmt.Errorf("internal error: --bind %s: no facts about its source", s)
		}
		if fi.Err != nil {
			return nil, fmt.Errorf("--bind %s: %w", s, fi.Err)
		}
		b.File = !fi.Mode.IsDir()
		binds = append(binds, b)
	}
	arch, err := LXCArch(f.CompatMachine)
	if err != nil {
		return nil, err
	}
	var warnings []string
	if p := f.Compat; !p.Native {
		if !p.Emulated() {
			return nil, p.Err()
		}
		warnings = append(warnings, fmt.Sprintf("%v; the container's 32-bit programs will run under %s", p.Err(), p.Emulator))
	}

	dir := filepath.Join(f.LXCPath, o.Name)
	p := &CreatePlan{
		Dir:  dir,
		Host: f.Host,
		State: State{
			Name: o.Name, Arch: arch, Nesting: o.Nesting, CPUs: cpus, Network: net.String(),
			Init: o.Init, Docker: o.Docker, DockerArgs: o.DockerArgs,
			Machine: o.Machine, SeccompAgent: agentSock,
		},
		Warnings: warnings,
	}
	if o.Docker {
		p.State.DockerSocket = socket
		switch {
		case o.Shim == NoShim:
		case f.ShimErr != nil:
			return nil, fmt.Errorf("--shim %s: %w", o.Shim, f.ShimErr)
		case f.Shim == "":
			p.Warnings = append(p.Warnings, "no armhf-shim runtime wrapper found (armhf-runc or armhf-shim beside armhf-lxc or on PATH): "+
				"the containers and BuildKit RUN steps of the dockerd inside will see the kernel's /proc/cpuinfo, not the armv7 one "+
				"(give --shim PATH, or --shim none to silence this)")
		default:
			p.State.Shim = f.Shim
		}
	}
	for _, b := range binds {
		p.State.Binds = append(p.State.Binds, b.String())
	}
	switch r := f.Rootfs; {
	case o.Debootstrap != "":
		p.State.Rootfs, p.State.OwnsRootfs, p.State.Source = filepath.Join(dir, RootfsDir), true, "debootstrap:"+o.Debootstrap
		p.Debootstrap, p.Mirror = o.Debootstrap, o.Mirror
		if o.Docker {
			// Installed from the host's network: the container has
			// none by default.
			p.Include = []string{"docker.io"}
		}
	case r.Stat.Err != nil:
		return nil, fmt.Errorf("--rootfs: %w", r.Stat.Err)
	case r.Stat.Mode.IsDir():
		if r.Check != nil {
			return nil, r.Check
		}
		if o.Init != nil && !r.HasInit {
			return nil, fmt.Errorf("--init %q: no such program in the root filesystem %s", strings.Join(o.Init, " "), r.Path)
		}
		// The container directory is deleted on destroy: a user's rootfs
		// must not be in it.
		if within(r.Path, dir) {
			return nil, fmt.Errorf("--rootfs %s lies inside the container directory %s armhf-lxc manages; move it elsewhere", r.Path, dir)
		}
		p.State.Rootfs, p.State.Source = r.Path, r.Path
	case r.Stat.Mode.IsRegular():
		p.State.Rootfs, p.State.OwnsRootfs, p.State.Source = filepath.Join(dir, RootfsDir), true, r.Path
		p.Tarball = r.Path
	default:
		return nil, fmt.Errorf("--rootfs %s is neither a directory nor a tarball", o.Rootfs)
	}

	p.Spec = Spec{
		Name: o.Name, Dir: dir, Rootfs: p.State.Rootfs, Arch: arch, Nesting: o.Nesting, CPUs: cpus,
		Network: net, Binds: binds, Init: o.Init, Shim: p.State.Shim,
		Machine: o.Machine, SeccompAgent: agentSock,
	}
	// Checked now, so that a host Config refuses (no cpuset or devices
	// controller) fails before a rootfs is unpacked.
	if _, err := Config(p.Spec, p.Host); err != nil {
		return nil, err
	}
	return p, nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
