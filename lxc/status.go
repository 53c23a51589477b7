//go:build linux && cgo

package lxc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	golxc "github.com/lxc/go-lxc"

	"github.com/armhf-shim/armhf-shim/uname"
)

// Status is what status and list report about a container.
type Status struct {
	Name    string `json:"name"`
	State   string `json:"state"`             // STOPPED, RUNNING, ...
	PID     int    `json:"pid,omitempty"`     // init's pid on the host
	Arch    string `json:"arch"`              // lxc.arch
	Machine string `json:"machine,omitempty"` // what uname -m says to its 32-bit programs while it runs
	// SeccompAgent is the socket of the agent that answers uname with
	// Machine (create --machine); "" = the kernel answers.
	SeccompAgent string   `json:"seccomp_agent,omitempty"`
	IPs          []string `json:"ips,omitempty"`
	Managed      bool     `json:"managed"` // created by armhf-lxc
	// From armhf-lxc.json (Managed only).
	Rootfs       string `json:"rootfs,omitempty"`
	OwnsRootfs   bool   `json:"owns_rootfs,omitempty"`
	Nesting      bool   `json:"nesting,omitempty"`
	Docker       bool   `json:"docker,omitempty"`
	DockerSocket string `json:"docker_socket,omitempty"` // host path of the API socket while running
	Shim         string `json:"shim,omitempty"`          // runtime wrapper given to dockerd
	CPUs         string `json:"cpus,omitempty"`
	Network      string `json:"network,omitempty"`
}

// Status reports on container name, managed by armhf-lxc or not.
func (m *Manager) Status(name string) (Status, error) {
	if err := requireRoot(); err != nil {
		return Status{}, err
	}
	if err := ValidateName(name); err != nil {
		return Status{}, err
	}
	c, err := golxc.NewContainer(name, m.lxcpath())
	if err != nil {
		return Status{}, fmt.Errorf("container %q: liblxc: %w", name, err)
	}
	defer c.Release()
	if !c.Defined() {
		return Status{}, fmt.Errorf("no container %q in %s (armhf-lxc list shows the containers)", name, m.lxcpath())
	}
	return m.status(c), nil
}

func (m *Manager) status(c *golxc.Container) Status {
	s := Status{Name: c.Name(), State: c.State().String()}
	if a := c.ConfigItem("lxc.arch"); len(a) > 0 {
		s.Arch = a[0]
	}
	st, err := ReadState(m.Dir(s.Name))
	if err == nil {
		s.Managed = true
		s.Rootfs, s.OwnsRootfs, s.Nesting, s.Docker = st.Rootfs, st.OwnsRootfs, st.Nesting, st.Docker
		s.CPUs, s.Network, s.Shim = st.CPUs, st.Network, st.Shim
	}
	if c.Running() {
		s.PID = c.InitPid()
		s.Machine = machineOf(s.PID)
		if s.Managed && st.Machine != "" && s.Machine == uname.HostCompatMachine() {
			// The personality says the compat machine, but the
			// container's 32-bit uname is answered by the agent.
			s.Machine, s.SeccompAgent = st.Machine, st.SeccompAgent
		}
		if ips, err := c.IPAddresses(); err == nil {
			s.IPs = ips
		}
		if s.Docker {
			if sock, err := ContainerSocket(s.PID, st.DockerSocket); err == nil {
				s.DockerSocket = sock
			}
		}
	}
	return s
}

// machineOf is what uname -m says in process pid: the personality decides
// between the kernel's machine and its LINUX32 compat machine.
func machineOf(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/personality")
	if err != nil {
		return ""
	}
	p, err := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 32)
	if err != nil {
		return ""
	}
	if uint32(p)&0xff == uname.PerLinux32 {
		return uname.HostCompatMachine()
	}
	mach, _ := uname.Machine()
	return mach
}

// List reports on every container defined in lxcpath, sorted by name.
func (m *Manager) List() ([]Status, error) {
	if err := requireRoot(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(m.lxcpath()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	cs := golxc.DefinedContainers(m.lxcpath())
	var out []Status
	for _, c := range cs {
		out = append(out, m.status(c))
		c.Release()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
