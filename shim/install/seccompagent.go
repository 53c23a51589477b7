package install

import (
	"bytes"
	"fmt"

	"github.com/armhf-shim/armhf-shim/uname/notify/agent"
	"os"
	"path/filepath"
	"strings"
)

// The seccomp-agent target writes a systemd socket unit and its service
// for `armhf-shim seccomp-agent` (docs/uname.md): systemd listens on the
// socket the runtime wrapper points containers' linux.seccomp.listenerPath
// at, starts the agent on the first connection and hands it the socket
// (socket activation), and keeps the socket while the agent restarts, so a
// container started meanwhile waits instead of failing. Both files are
// armhf-shim's own; the user's config is not touched: the socket is the
// one the wrapper's config names (or the default), so the two agree.

// Default unit paths.
const (
	AgentUnitName          = "armhf-shim-seccomp-agent"
	DefaultAgentSocketUnit = "/etc/systemd/system/" + AgentUnitName + ".socket"
)

// AgentSocketUnit renders the .socket unit listening on sock for runc,
// and on lxcSock for liblxc's seccomp proxy (armhf-lxc create --machine).
func AgentSocketUnit(sock, lxcSock string) []byte {
	var b strings.Builder
	b.WriteString(dropInMarker + "seccomp-agent: the socket the runtime wrapper points\n")
	b.WriteString("# 32-bit containers' linux.seccomp.listenerPath at when they ask for a machine\n")
	b.WriteString("# (uname -m = armv7l, docs/uname.md). systemd holds it and starts the agent on the\n")
	b.WriteString("# first connection; a container started while the agent restarts waits for it.\n")
	b.WriteString("[Unit]\nDescription=armhf-shim seccomp agent socket (uname -m of 32-bit containers)\n\n")
	fmt.Fprintf(&b, "[Socket]\nListenStream=%s\n", sock)
	fmt.Fprintf(&b, "# liblxc's lxc.seccomp.notify.proxy (armhf-lxc create --machine).\nListenSequentialPacket=%s\n", lxcSock)
	b.WriteString("# Root's only: a client could otherwise take the agent's slots.\nSocketMode=0600\nAccept=no\n\n")
	b.WriteString("[Install]\nWantedBy=sockets.target\n")
	return []byte(b.String())
}

// AgentServiceUnit renders the service running binary's seccomp-agent,
// activated by the socket unit named name (without .socket).
func AgentServiceUnit(binary, name string) []byte {
	var b strings.Builder
	b.WriteString(dropInMarker + "seccomp-agent: armhf-shim seccomp-agent answers the\n")
	b.WriteString("# 32-bit uname of the containers whose listener runc hands it. systemd keeps those\n")
	b.WriteString("# listeners while it restarts (Restart=, systemctl restart); when it stops, the\n")
	b.WriteString("# uname of the containers it served fails with ENOSYS until they restart.\n")
	b.WriteString("[Unit]\nDescription=armhf-shim seccomp agent (uname -m of 32-bit containers)\n")
	fmt.Fprintf(&b, "Requires=%[1]s.socket\nAfter=%[1]s.socket\n\n", name)
	fmt.Fprintf(&b, "[Service]\nExecStart=%s seccomp-agent\nRestart=always\n", binary)
	b.WriteString("# The file descriptor store, where the agent keeps the listeners it serves: one per\n")
	b.WriteString("# container or exec'd command, at most --max (1024) of each socket's.\n")
	b.WriteString("NotifyAccess=main\nFileDescriptorStoreMax=2048\n\n")
	fmt.Fprintf(&b, "[Install]\nAlso=%s.socket\n", name)
	return []byte(b.String())
}

func planSeccompAgent(o Options) (Plan, error) {
	sockUnit := o.Config
	if sockUnit == "" {
		sockUnit = DefaultAgentSocketUnit
	}
	if !strings.HasSuffix(sockUnit, ".socket") {
		return Plan{}, fmt.Errorf("--config %s: the socket unit's name must end in .socket (its service is named after it)", sockUnit)
	}
	if o.AgentSocket == "" || !filepath.IsAbs(o.AgentSocket) {
		return Plan{}, fmt.Errorf("the agent's socket %q must be an absolute path", o.AgentSocket)
	}
	svcUnit := strings.TrimSuffix(sockUnit, ".socket") + ".service"
	unitName := filepath.Base(sockUnit)
	t, err := readTarget("", sockUnit)
	if err != nil {
		return Plan{}, err
	}
	svcOld, _, err := readExisting("", svcUnit)
	if err != nil {
		return Plan{}, err
	}
	rec, oldRec := t.rec, t.oldRec
	mine := func(path string, old []byte) bool {
		return old == nil || rec.ours(path, old) || strings.HasPrefix(string(old), dropInMarker)
	}
	for _, f := range []struct {
		path string
		old  []byte
	}{{sockUnit, t.old}, {svcUnit, svcOld}} {
		if !mine(f.path, f.old) {
			return Plan{}, fmt.Errorf("%s exists and was not written by armhf-shim: left unchanged (use --config to write the units elsewhere)", f.path)
		}
	}
	var p Plan
	if o.Uninstall {
		// Removing an enabled unit would leave its sockets.target link
		// dangling, and a running socket that nothing can stop by name.
		if _, err := os.Lstat(filepath.Join(filepath.Dir(sockUnit), "sockets.target.wants", unitName)); err == nil {
			return Plan{}, fmt.Errorf("%s is enabled: run systemctl disable --now %s %s first, then uninstall again",
				unitName, unitName, filepath.Base(svcUnit))
		}
		// A unit goes only when it holds what install wrote (the record's
		// digest, or the bytes install writes): the marker line says who
		// wrote it first, not that nobody edited it since.
		wrote := map[string][]byte{sockUnit: AgentSocketUnit(o.AgentSocket, agent.DefaultLXCSocket),
			svcUnit: AgentServiceUnit(o.Binary, strings.TrimSuffix(unitName, ".socket"))}
		for _, f := range []struct {
			path string
			old  []byte
		}{{sockUnit, t.old}, {svcUnit, svcOld}} {
			if f.old == nil {
				continue
			}
			if rec.ours(f.path, f.old) || bytes.Equal(f.old, wrote[f.path]) {
				p.Files = append(p.Files, change(f.path, f.old, nil, 0o644)...)
				continue
			}
			p.Notes = append(p.Notes, fmt.Sprintf("kept %s: it has been edited since armhf-shim wrote it; remove it yourself (and systemctl daemon-reload) if you no longer want it", f.path))
		}
		rec.finish(&p, sockUnit, oldRec, true)
		p.Apply = []string{"systemctl daemon-reload"}
		return p, nil
	}
	rec.willCreate(filepath.Dir(sockUnit))
	p.Files = append(change(sockUnit, t.old, AgentSocketUnit(o.AgentSocket, agent.DefaultLXCSocket), 0o644),
		change(svcUnit, svcOld, AgentServiceUnit(o.Binary, strings.TrimSuffix(unitName, ".socket")), 0o644)...)
	rec.finish(&p, sockUnit, oldRec, false)
	p.Apply = []string{"systemctl daemon-reload && systemctl enable --now " + unitName}
	p.Notes = []string{"the socket is " + o.AgentSocket + ", where the runtime wrapper looks (\"seccompAgent\" in its config file; " +
		"after changing it, install again); containers ask for a machine with ARMHF_SHIM_MACHINE or the annotation io.armhf-shim.machine, " +
		"or all 32-bit containers get it with \"machine\" in the config file"}
	return p, nil
}
