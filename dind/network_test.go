package dind_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// rulesNow is the host's iptables-save (filter and nat) without comments
// and counters, one rule or chain a line.
func rulesNow(t *testing.T) []string {
	t.Helper()
	b, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	counters := regexp.MustCompile(` \[\d+:\d+\]$`)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, counters.ReplaceAllString(l, ""))
	}
	return out
}

// linksNow lists the host's network interfaces by name.
func linksNow(t *testing.T) []string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range ifs {
		out = append(out, i.Name)
	}
	slices.Sort(out)
	return out
}

// restoreRules puts the host's filter and nat tables back as they were in
// the iptables-save output saved, after the test's host-like daemon.
func restoreRules(t *testing.T, saved []byte) {
	in := string(saved)
	for _, table := range []string{"filter", "nat"} {
		if !strings.Contains(in, "*"+table+"\n") {
			in += "*" + table + "\n"
			for _, c := range map[string][]string{"filter": {"INPUT", "FORWARD", "OUTPUT"}, "nat": {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}}[table] {
				in += ":" + c + " ACCEPT [0:0]\n"
			}
			in += "COMMIT\n"
		}
	}
	cmd := exec.Command("iptables-restore")
	cmd.Stdin = strings.NewReader(in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("iptables-restore: %v: %s", err, b)
	}
}

// hostAddr is an IPv4 address of this host that containers can reach
// through their NAT: the first one on an interface that is up and not
// loopback, a bridge or a veth of a daemon.
func hostAddr(t *testing.T) string {
	t.Helper()
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || strings.HasPrefix(i.Name, "docker") || strings.HasPrefix(i.Name, "dind-") || strings.HasPrefix(i.Name, "veth") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	t.Skip("no IPv4 address to reach the host at")
	return ""
}

func httpGet(url string) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b), nil
}

// TestDindBesideHostDocker (issue 17, item 18): a host daemon with
// Docker's default networking (its bridge, the DOCKER chains, a published
// port) and a dind started beside it both run containers that reach the
// host over their NAT; the host's bridge and chains stay as they were
// while dind runs, and after `dind stop` the host's links and rules are
// exactly those before `dind start`.
func TestDindBesideHostDocker(t *testing.T) {
	files := daemonFiles(t)
	testenv.RequireCommand(t, "iptables")
	testenv.RequireCommand(t, "ip")
	saved, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The host daemon's bridge has a name of this test's own: docker0 is
	// any dockerd's default, and a daemon started or stopped meanwhile by
	// another test (or the machine's own Docker) may take or remove it.
	bridge := fmt.Sprintf("ashost%d", os.Getpid()%100000)
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", "100.127.254.1/24", "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			exec.Command("ip", "link", "del", bridge).Run()
			t.Fatalf("ip %v: %v: %s", args, err, b)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", bridge).Run()
		restoreRules(t, saved)
	})

	// The host's Docker, as docker.service runs it: its own bridge and chains.
	host := testenv.StartDockerd(t, testenv.DockerdOptions{ExtraArgs: []string{"--iptables=true", "--ip-masq=true", "--bridge=" + bridge}})
	rootfs := testenv.BusyboxRootfs(t, "i386")
	host.Import(t, rootfs, "busybox386")
	if _, e, err := host.Docker("run", "-d", "--name", "web", "-p", "127.0.0.1:18080:80", "busybox386", "/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/"); err != nil {
		t.Fatalf("host: run web: %v %s", err, e)
	}

	// A server on the host for the containers to reach.
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from the host") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := fmt.Sprintf("http://%s:%d/", hostAddr(t), ln.Addr().(*net.TCPAddr).Port)
	reach := func(who string, docker func(...string) out) {
		t.Helper()
		// (Debian's static i386 busybox wget crashes with -q or -T.)
		r := docker("run", "--rm", "busybox386", "/bin/busybox", "timeout", "20", "/bin/busybox", "wget", "-O-", url)
		if r.code != 0 || r.stdout != "hello from the host" {
			t.Errorf("%s: a container cannot reach %s: %+v", who, url, r)
		}
	}
	hostDocker := func(args ...string) out {
		o, e, err := host.Docker(args...)
		if err != nil {
			e += " (" + err.Error() + ")"
		}
		return out{o, e, map[bool]int{true: 1}[err != nil]}
	}
	reach("host daemon", hostDocker)
	hostWeb := func(when string) {
		t.Helper()
		if got, err := httpGet("http://127.0.0.1:18080/"); err != nil || got == "" {
			t.Errorf("%s: the host daemon's published port: %q %v", when, got, err)
		}
	}
	hostWeb("before dind")

	rulesBefore, linksBefore := rulesNow(t), linksNow(t)
	if !slices.ContainsFunc(rulesBefore, func(l string) bool { return strings.Contains(l, "-A DOCKER ") && strings.Contains(l, "--dport 18080") }) {
		t.Fatalf("the host daemon has no DNAT rule for its published port:\n%s", strings.Join(rulesBefore, "\n"))
	}

	c := newCLI(t)
	r := c.dind("start", "--input", dindRootfs(t, files))
	if r.code != 0 {
		t.Fatalf("dind start: %+v", r)
	}
	st, _ := statusJSON(t, c)
	imp := exec.Command("sh", "-c", "tar -C \"$1\" -c . | \"$2\" import - busybox386", "sh", rootfs, testenv.DockerCLI)
	imp.Env = append(os.Environ(), "DOCKER_HOST=unix://"+c.dir+"/docker.sock")
	if b, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("dind: import: %v %s", err, b)
	}
	reach("dind", c.docker)
	// Its published ports are on its own address.
	if r := c.docker("run", "-d", "-p", "18081:80", "busybox386", "/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/"); r.code != 0 {
		t.Fatalf("dind: run web: %+v", r)
	}
	if st.Address == "" {
		t.Errorf("status reports no address: %+v", st)
	} else if got, err := httpGet("http://" + st.Address + ":18081/"); err != nil || got == "" {
		t.Errorf("dind's published port at %s:18081: %q %v", st.Address, got, err)
	}

	// While both run: every rule and link of the host is still there.
	during := rulesNow(t)
	for _, l := range rulesBefore {
		if !slices.Contains(during, l) {
			t.Errorf("while dind runs, the host lost the rule %q", l)
		}
	}
	hostWeb("while dind runs")
	reach("host daemon while dind runs", hostDocker)

	if r := c.dind("stop"); r.code != 0 {
		t.Fatalf("dind stop: %+v", r)
	}
	if after := rulesNow(t); !slices.Equal(after, rulesBefore) {
		t.Errorf("iptables after dind stop differ from before dind start:\nbefore:\n%s\nafter:\n%s", strings.Join(rulesBefore, "\n"), strings.Join(after, "\n"))
	}
	if after := linksNow(t); !slices.Equal(after, linksBefore) {
		t.Errorf("links after dind stop %q, before dind start %q", after, linksBefore)
	}
	if _, err := os.Lstat(c.dir + "/netns"); err == nil {
		t.Errorf("the network namespace's pin is left")
	}
	hostWeb("after dind stop")
	reach("host daemon after dind stop", hostDocker)

	// --network host is refused while dockerd would take the host's
	// bridge and chains, before anything is unpacked or started.
	r = c.dind("start", "--network", "host")
	if r.code != 1 || !strings.Contains(r.stderr, "--iptables=false and --bridge=none") {
		t.Errorf("start --network host: %+v", r)
	}
	if got := rulesNow(t); !slices.Equal(got, rulesBefore) {
		t.Errorf("a refused start changed iptables")
	}
}
