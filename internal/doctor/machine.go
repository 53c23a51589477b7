package doctor

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/armhf-shim/armhf-shim/uname/notify"
	"github.com/armhf-shim/armhf-shim/uname/notify/agent"
)

// MachineOption is what --machine (uname answered through seccomp user
// notification, docs/uname.md) needs on this host.
type MachineOption struct {
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
	// Agent says whether the runtime route's seccomp agent listens on its
	// socket.
	Agent string `json:"agent"`
	// AgentLXC says whether the agent listens on the LXC socket
	// (liblxc's seccomp notify proxy, armhf-lxc create --machine).
	AgentLXC string `json:"agent_lxc"`
	// Containers says whether this kernel (by its release) is new enough
	// for --machine in containers.
	Containers string `json:"containers"`
}

// machineOption says what --machine needs here; agentSock is the seccomp
// agent's socket the wrapper's configuration names.
func machineOption(release, agentSock string) MachineOption {
	var m MachineOption
	if err := notify.Available(); err != nil {
		m.Note = err.Error()
	} else {
		m.Available = true
	}
	m.Containers = containersKernel(release)
	m.Agent = agentStatus(agentSock)
	m.AgentLXC = agentLXCStatus()
	return m
}

// agentStatus says whether the seccomp agent on the configured socket
// sock accepts connections.
func agentStatus(sock string) string {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "not running on " + sock + " (armhf-shim install seccomp-agent, then systemctl enable --now " + install.AgentUnitName +
			".socket; or run armhf-shim seccomp-agent --socket " + sock + "); containers asking for a machine fail to start"
	}
	c.Close()
	return "listening on " + sock
}

// agentLXCStatus says whether the seccomp agent accepts liblxc's proxy
// connections on armhf-lxc's default socket.
func agentLXCStatus() string {
	sock := agent.DefaultLXCSocket
	c, err := net.DialTimeout("unixpacket", sock, time.Second)
	if err != nil {
		// Only the containers pointed at this socket depend on it:
		// --seccomp-agent names another for the others.
		return "not listening on " + sock + "; armhf-lxc containers created with --machine and without --seccomp-agent fail to start"
	}
	c.Close()
	return "listening on " + sock
}

// containersKernel says whether a kernel of this release runs --machine in
// containers: the agent answers uname and lets the container's other
// syscalls continue (SECCOMP_USER_NOTIF_FLAG_CONTINUE), Linux 5.5.
func containersKernel(release string) string {
	at, ok := kernelAtLeast(release, 5, 5)
	switch {
	case !ok:
		return fmt.Sprintf("unknown: cannot read a version from the kernel release %q; containers need Linux >= 5.5", release)
	case at:
		return "yes: Linux " + release + " >= 5.5"
	}
	return "no: Linux " + release + " is older than 5.5 (SECCOMP_USER_NOTIF_FLAG_CONTINUE): containers asking for a machine fail to start; exec and dind --machine work"
}

// kernelAtLeast reports whether a kernel release (uname -r, e.g.
// "6.1.0-27-arm64") is at least major.minor; ok is false when it does not
// begin with a major.minor version.
func kernelAtLeast(release string, major, minor int) (at, ok bool) {
	num := func(s string) (int, string, bool) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(s[:i])
		return n, s[i:], err == nil
	}
	maj, rest, ok1 := num(release)
	rest, dot := strings.CutPrefix(rest, ".")
	min, _, ok2 := num(rest)
	if !ok1 || !dot || !ok2 {
		return false, false
	}
	return maj > major || maj == major && min >= minor, true
}
