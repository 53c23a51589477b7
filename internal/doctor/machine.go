package doctor

import (
	"net"
	"os"
	"time"

	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
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
}

func machineOption() MachineOption {
	var m MachineOption
	if err := notify.Available(); err != nil {
		m.Note = err.Error()
	} else {
		m.Available = true
	}
	m.Agent = agentStatus()
	m.AgentLXC = agentLXCStatus()
	return m
}

// agentStatus says whether the seccomp agent on the configured socket
// accepts connections.
func agentStatus() string {
	sock := runtimecfg.DefaultSeccompAgent
	if cfg, err := runtimecfg.Load(runcargs.Shim{}, os.Getenv); err == nil && cfg.Uname != nil {
		sock = cfg.Uname.SeccompAgent
	}
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
		return "not listening on " + sock + "; armhf-lxc containers created with --machine fail to start"
	}
	c.Close()
	return "listening on " + sock
}
