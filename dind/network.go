package dind

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
)

// The daemon's network. A dockerd in the host's network namespace manages
// the bridge docker0 and the iptables chains DOCKER, DOCKER-USER and
// DOCKER-ISOLATION-STAGE-1/2 — the names the host's own dockerd uses, and it
// flushes those chains when it starts. So by default (NetworkPrivate) dind
// gives its dockerd a network namespace of its own, where it keeps all of
// that to itself, joined to the host by a veth pair: the host end
// (dind-HASH) and "eth0" inside share a /30 from LinkPool, and two chains
// named after the state directory (ARMHF-DIND-HASH, nat and filter) masquerade
// and forward its traffic. Stop deletes the namespace, the link and the two
// chains with their jumps — nothing else. NetworkHost keeps today's shared
// namespace, allowed only when dockerd is told to leave the bridge and
// iptables alone.
const (
	NetworkPrivate = "private"
	NetworkHost    = "host"
)

// LinkPool is where the /30 of the veth link is taken from: the first one
// that overlaps no address or route of the host.
var LinkPool = mustCIDR("100.127.255.0/24")

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// Net is the private network start set up, recorded in state.json.
type Net struct {
	HostIf   string `json:"hostIf"`
	Chain    string `json:"chain"`
	Subnet   string `json:"subnet"`
	HostAddr string `json:"hostAddr"` // the host end: the daemon's gateway
	Addr     string `json:"addr"`     // the daemon's address: its published ports are here
}

// netNames are the host-side names of l's network, derived from its
// directory so that a crashed daemon's leftovers are found without state.
func netNames(l Layout) (hostIf, chain string) {
	sum := sha256.Sum256([]byte(l.Dir))
	h := hex.EncodeToString(sum[:4])
	return "dind-" + h, "ARMHF-DIND-" + strings.ToUpper(h)
}

// pickSubnet returns the first /30 of pool that overlaps none of used.
func pickSubnet(pool *net.IPNet, used []*net.IPNet) (*net.IPNet, error) {
	base := binary.BigEndian.Uint32(pool.IP.To4())
	ones, _ := pool.Mask.Size()
	for off := uint32(0); off < 1<<(32-ones); off += 4 {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, base+off)
		cand := &net.IPNet{IP: ip, Mask: net.CIDRMask(30, 32)}
		free := true
		for _, u := range used {
			if u.Contains(cand.IP) || cand.Contains(u.IP) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
	}
	return nil, fmt.Errorf("no free /30 in %s: every one overlaps an address or route of this host", pool)
}

// parseRoutes reads the IPv4 routes of /proc/net/route (default routes,
// which overlap everything, left out).
func parseRoutes(r io.Reader) []*net.IPNet {
	var out []*net.IPNet
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 8 || f[0] == "Iface" {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		// The kernel prints them in host byte order, little-endian here.
		ip, m := make(net.IP, 4), make(net.IPMask, 4)
		binary.LittleEndian.PutUint32(ip, uint32(dst))
		binary.LittleEndian.PutUint32(m, uint32(mask))
		out = append(out, &net.IPNet{IP: ip, Mask: m})
	}
	return out
}

// hostNets lists the host's IPv4 networks: interface addresses and routes.
func hostNets() []*net.IPNet {
	var used []*net.IPNet
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				used = append(used, n)
			}
		}
	}
	if f, err := os.Open("/proc/net/route"); err == nil {
		used = append(used, parseRoutes(f)...)
		f.Close()
	}
	return used
}

// checkHostNetwork refuses NetworkHost unless dockerd is told (by its
// arguments or daemon.json) to manage no iptables chains and to use no
// bridge of the host's Docker.
func checkHostNetwork(args []string, daemonJSON []byte) error {
	iptablesOff, bridge := false, ""
	var cfg struct {
		IPTables *bool  `json:"iptables"`
		Bridge   string `json:"bridge"`
	}
	if len(bytes.TrimSpace(daemonJSON)) > 0 && json.Unmarshal(daemonJSON, &cfg) == nil {
		iptablesOff = cfg.IPTables != nil && !*cfg.IPTables
		bridge = cfg.Bridge
	}
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		switch name {
		case "--iptables":
			iptablesOff = hasVal && val == "false"
		case "--bridge", "-b":
			if !hasVal && i+1 < len(args) {
				i++
				val = args[i]
			}
			bridge = val
		}
	}
	if iptablesOff && bridge != "" && bridge != "docker0" {
		return nil
	}
	return errors.New("--network host shares the host's network namespace, where dockerd would take the bridge docker0 and the iptables chains DOCKER, DOCKER-USER and DOCKER-ISOLATION-* " +
		"that the host's Docker uses (and flush them when it starts); give dockerd --iptables=false and --bridge=none (or -b BRIDGE, a bridge you created) after --, or use the default --network private")
}

// run runs a host tool (ip, iptables) and returns its error with its output.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// inNetNS runs f on a thread that has entered the network namespace at
// path; processes f starts are born there. The thread stays locked: it is
// discarded when f returns instead of going back to the host's namespace.
func inNetNS(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("network namespace: %v", err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering the network namespace %s: %v", path, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// newNetNS creates a network namespace and pins it by a bind mount at path.
func newNetNS(path string) error {
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread leaves with the new namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("creating a network namespace: %v", err)
			return
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("pinning the network namespace at %s: %v", path, err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// setupNetwork gives the daemon of l its private network: the namespace at
// l.NetNS(), the veth link and the NAT. On failure nothing of it is left.
func setupNetwork(l Layout, out io.Writer) (*Net, error) {
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the private network of the daemon needs %s on the host (%v); install it (Debian: iproute2, iptables) or use --network host", tool, err)
		}
	}
	sub, err := pickSubnet(LinkPool, hostNets())
	if err != nil {
		return nil, err
	}
	hostIf, chain := netNames(l)
	base := binary.BigEndian.Uint32(sub.IP.To4())
	addr := func(i uint32) string {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, base+i)
		return ip.String()
	}
	n := &Net{HostIf: hostIf, Chain: chain, Subnet: sub.String(), HostAddr: addr(1), Addr: addr(2)}
	// This thread stays in the host's namespace while the namespace is set
	// up from another: the host end of the link is created in its
	// namespace, named by its thread ID (the process's main thread may be
	// the one that entered the new namespace).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	hostTid := strconv.Itoa(unix.Gettid())
	err = func() error {
		if err := newNetNS(l.NetNS()); err != nil {
			return err
		}
		// Inside: lo, eth0 (its peer created straight in the host's
		// namespace), the default route via the host end.
		if err := inNetNS(l.NetNS(), func() error {
			for _, args := range [][]string{
				{"link", "set", "lo", "up"},
				{"link", "add", "eth0", "type", "veth", "peer", "name", hostIf, "netns", hostTid},
				{"addr", "add", n.Addr + "/30", "dev", "eth0"},
				{"link", "set", "eth0", "up"},
				{"route", "add", "default", "via", n.HostAddr},
			} {
				if err := run("ip", args...); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		for _, args := range [][]string{
			{"ip", "addr", "add", n.HostAddr + "/30", "dev", hostIf},
			{"ip", "link", "set", hostIf, "up"},
			{"iptables", "-w", "-t", "nat", "-N", chain},
			{"iptables", "-w", "-t", "nat", "-A", chain, "-s", n.Subnet, "!", "-o", hostIf, "-j", "MASQUERADE"},
			{"iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-j", chain},
			{"iptables", "-w", "-t", "filter", "-N", chain},
			{"iptables", "-w", "-t", "filter", "-A", chain, "-i", hostIf, "-j", "ACCEPT"},
			{"iptables", "-w", "-t", "filter", "-A", chain, "-o", hostIf, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
			// First: the host's Docker sets the FORWARD policy to DROP.
			{"iptables", "-w", "-t", "filter", "-I", "FORWARD", "-j", chain},
		} {
			if err := run(args[0], args[1:]...); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		teardownNetwork(l)
		return nil, fmt.Errorf("setting up the daemon's network: %w", err)
	}
	const fwd = "/proc/sys/net/ipv4/ip_forward"
	if b, err := os.ReadFile(fwd); err == nil && strings.TrimSpace(string(b)) == "0" {
		// A host setting, not ours to take back: the host's dockerd sets it too.
		if err := os.WriteFile(fwd, []byte("1\n"), 0o644); err != nil {
			teardownNetwork(l)
			return nil, fmt.Errorf("enabling IPv4 forwarding: %v", err)
		}
		fmt.Fprintf(out, "armhf-shim: note: enabled IPv4 forwarding (%s) for the daemon's network; stop leaves it on\n", fwd)
	}
	if loopbackResolver("/etc/resolv.conf") {
		fmt.Fprintln(out, "armhf-shim: warning: /etc/resolv.conf names only loopback nameservers, which the daemon's own network namespace cannot reach: "+
			"pulls will fail to resolve names; point it at a reachable resolver or use --network host")
	}
	return n, nil
}

// loopbackResolver reports whether the resolv.conf at p names nameservers
// and all of them are loopback addresses (systemd-resolved's 127.0.0.53).
func loopbackResolver(p string) bool {
	b, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	any, loop := false, true
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			any = true
			if ip := net.ParseIP(f[1]); ip == nil || !ip.IsLoopback() {
				loop = false
			}
		}
	}
	return any && loop
}

// teardownNetwork removes what setupNetwork made for l, found by name: the
// chains and their jumps, the host end of the link (which takes the inside
// end with it) and the namespace's pin. It touches nothing else.
func teardownNetwork(l Layout) error {
	hostIf, chain := netNames(l)
	var errs []error
	if _, err := exec.LookPath("iptables"); err == nil {
		for _, t := range []struct{ table, parent string }{{"nat", "POSTROUTING"}, {"filter", "FORWARD"}} {
			if exec.Command("iptables", "-w", "-t", t.table, "-n", "-L", chain).Run() != nil {
				continue // no such chain
			}
			for i := 0; i < 100 && exec.Command("iptables", "-w", "-t", t.table, "-D", t.parent, "-j", chain).Run() == nil; i++ {
			}
			if err := run("iptables", "-w", "-t", t.table, "-F", chain); err != nil {
				errs = append(errs, err)
			}
			if err := run("iptables", "-w", "-t", t.table, "-X", chain); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := net.InterfaceByName(hostIf); err == nil {
		if err := run("ip", "link", "del", hostIf); err != nil {
			errs = append(errs, err)
		}
	}
	if len(mountinfo.Below(l.NetNS())) > 0 {
		if err := unix.Unmount(l.NetNS(), unix.MNT_DETACH); err != nil && err != unix.EINVAL {
			errs = append(errs, fmt.Errorf("unmounting %s: %v", l.NetNS(), err))
		}
	}
	if err := os.Remove(l.NetNS()); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing the daemon's network: %w", errors.Join(errs...))
	}
	return nil
}
