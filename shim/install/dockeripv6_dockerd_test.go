package install

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"golang.org/x/sys/unix"
)

// install docker --ipv6 on an IPv6-only host: a real dockerd reading the
// daemon.json install wrote runs in a network namespace whose only link
// is a veth pair to a second namespace ("far", a ULA /64 on-link and no
// other route). A container on the default bridge fetches a page from a
// server in "far" — which has no route back to the containers' prefix, so
// only dockerd's NAT (its own ip6tables MASQUERADE rule; the test writes
// none) brings the answer back — and the server sees the dockerd
// namespace's address as the source. Uninstall gives back the file's bytes.
func TestDockerIPv6RealDockerd(t *testing.T) {
	testenv.SkipShort(t, "dockerd in a network namespace")
	testenv.RequireRoot(t)
	ip := testenv.RequireCommand(t, "ip")
	testenv.RequireCommand(t, "ip6tables") // dockerd's ip6tables calls

	const user = "{\n  \"log-level\": \"warn\"\n}\n"
	cfg := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(cfg, []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	_, bin := setup(t)
	var out bytes.Buffer
	o := Options{Target: "docker", Config: cfg, Binary: bin, IPv6: true, Out: &out, procRoot: t.TempDir()}
	if err := Run(o); err != nil {
		t.Fatal(err)
	}
	t.Logf("install docker --ipv6:\n%s", out.String())
	var conf struct {
		IPv6         bool   `json:"ipv6"`
		CIDR         string `json:"fixed-cidr-v6"`
		IP6tables    bool   `json:"ip6tables"`
		Experimental bool   `json:"experimental"`
	}
	if err := json.Unmarshal(mustRead(t, cfg), &conf); err != nil {
		t.Fatal(err)
	}
	prefix, err := netip.ParsePrefix(conf.CIDR)
	if err != nil || !conf.IPv6 || !conf.IP6tables || prefix.Bits() != 64 || !netip.MustParsePrefix("fd00::/8").Contains(prefix.Addr()) {
		t.Fatalf("daemon.json after install --ipv6 (want ipv6, ip6tables and a ULA /64):\n%s", mustRead(t, cfg))
	}
	major := dockerdMajor("dockerd")
	if wantExp := major < 27; conf.Experimental != wantExp {
		t.Errorf("dockerd is Docker %d: experimental %v, want %v", major, conf.Experimental, wantExp)
	}

	// The two namespaces and the veth pair between them.
	dk, dkPath := testenv.NewNetNS(t)
	far, farPath := testenv.NewNetNS(t)
	const dkAddr, farAddr = "fd5e:ed00:1::1", "fd5e:ed00:1::2"
	for _, args := range [][]string{
		{"-n", dk, "link", "add", "up0", "type", "veth", "peer", "name", "down0", "netns", far},
		{"-n", dk, "addr", "add", dkAddr + "/64", "dev", "up0", "nodad"},
		{"-n", far, "addr", "add", farAddr + "/64", "dev", "down0", "nodad"},
		{"-n", dk, "link", "set", "up0", "up"},
		{"-n", far, "link", "set", "down0", "up"},
	} {
		if b, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, b)
		}
	}
	if b, _ := exec.Command(ip, "-n", far, "-6", "route", "get", prefix.Addr().Next().String()).CombinedOutput(); !strings.Contains(string(b), "unreachable") {
		t.Fatalf("%s has a route to the containers' prefix %s, so the test would not need NAT: %s", far, prefix, b)
	}

	srv := listenIn(t, farPath, "["+farAddr+"]:0")
	seen := make(chan string, 1)
	go serveSource(srv, seen)

	d := testenv.StartDockerd(t, testenv.DockerdOptions{ConfigFile: cfg, NetNS: dkPath})
	d.Import(t, testenv.BusyboxRootfs(t, "amd64"), "armhf-shim-test/busybox-ipv6")
	url := fmt.Sprintf("http://%s/", srv.Addr())
	// busybox timeout, not wget -T: Debian 12's static busybox wget dies of
	// SIGSEGV with -T.
	stdout, stderr, err := d.Docker("run", "--rm", "armhf-shim-test/busybox-ipv6",
		"sh", "-c", "busybox ip -6 addr show dev eth0 scope global; busybox timeout 30 busybox wget -q -O - "+url)
	if err != nil {
		rules, _ := exec.Command(ip, "netns", "exec", dk, "ip6tables-save", "-t", "nat").CombinedOutput()
		t.Fatalf("container -> %s: %v\n%s%s\nip6tables nat in the dockerd's namespace:\n%s\ndockerd log:\n%s", url, err, stdout, stderr, rules, d.LogTail(20))
	}
	t.Logf("container:\n%s", stdout)
	var mine netip.Addr
	for _, f := range strings.Fields(stdout) {
		if p, err := netip.ParsePrefix(f); err == nil && prefix.Contains(p.Addr()) {
			mine = p.Addr()
		}
	}
	if !mine.IsValid() {
		t.Errorf("the container has no address in fixed-cidr-v6 %s:\n%s", prefix, stdout)
	}
	src := <-seen
	if !strings.Contains(stdout, "source "+dkAddr) || src != dkAddr {
		t.Errorf("the server in %s saw the connection from %s, want %s (the dockerd namespace's address, after NAT), not the container's %s", far, src, dkAddr, mine)
	}

	un := o
	un.Uninstall, un.IPv6 = true, false
	if err := Run(un); err != nil {
		t.Fatal(err)
	}
	if b := mustRead(t, cfg); string(b) != user {
		t.Errorf("after uninstall:\n%s\nwant\n%s", b, user)
	}
}

// listenIn listens on addr inside the network namespace nsPath: the
// socket stays in that namespace after this thread returns to its own.
func listenIn(t *testing.T, nsPath, addr string) net.Listener {
	t.Helper()
	runtime.LockOSThread()
	own, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	ns, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("setns %s: %v", nsPath, err)
	}
	l, lerr := net.Listen("tcp6", addr)
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		// This thread stays locked, and dies with the goroutine: it must
		// not run anything else in the wrong namespace.
		t.Fatalf("setns back: %v", err)
	}
	runtime.UnlockOSThread()
	if lerr != nil {
		t.Fatalf("listen %s in %s: %v", addr, nsPath, lerr)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// serveSource answers one HTTP request with the address it came from.
func serveSource(l net.Listener, seen chan<- string) {
	c, err := l.Accept()
	if err != nil {
		seen <- "none (" + err.Error() + ")"
		return
	}
	defer c.Close()
	bufio.NewReader(c).ReadString('\n')
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	seen <- host
	fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsource %s\n", host)
}
