package dind

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func cidrs(t *testing.T, ss ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, s := range ss {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip // an interface address keeps its host part
		out = append(out, n)
	}
	return out
}

func TestPickSubnet(t *testing.T) {
	for _, tc := range []struct {
		name string
		used []string
		want string // "" = none free
	}{
		{"empty host", nil, "100.127.255.0/30"},
		{"other networks", []string{"192.0.2.2/24", "172.17.0.1/16", "127.0.0.1/8"}, "100.127.255.0/30"},
		{"first taken by another dind", []string{"100.127.255.1/30"}, "100.127.255.4/30"},
		{"two taken", []string{"100.127.255.1/30", "100.127.255.5/30"}, "100.127.255.8/30"},
		{"a route covering part", []string{"100.127.255.0/29"}, "100.127.255.8/30"},
		{"a wider network covering all", []string{"100.64.0.1/10"}, ""},
		{"an address inside", []string{"100.127.255.2/32"}, "100.127.255.4/30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickSubnet(LinkPool, cidrs(t, tc.used...))
			switch {
			case tc.want == "" && (err == nil || !strings.Contains(err.Error(), "no free /30 in 100.127.255.0/24")):
				t.Errorf("got %v, %v; want none free", got, err)
			case tc.want != "" && (err != nil || got.String() != tc.want):
				t.Errorf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

// routeFixture is /proc/net/route of a host with a default route, its LAN,
// docker0 and a dind link.
const routeFixture = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT                                                       
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0                                                                               
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0                                                                               
docker0	000011AC	00000000	0001	0	0	0	0000FFFF	0	0	0                                                                             
dind-8a80919a	00FF7F64	00000000	0001	0	0	0	FCFFFFFF	0	0	0                                                                     
`

func TestParseRoutes(t *testing.T) {
	var got []string
	for _, n := range parseRoutes(strings.NewReader(routeFixture)) {
		got = append(got, n.String())
	}
	want := []string{"192.0.2.0/24", "172.17.0.0/16", "100.127.255.0/30"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCheckHostNetwork(t *testing.T) {
	for _, tc := range []struct {
		args []string
		json string
		ok   bool
	}{
		{nil, "", false},
		{[]string{"--iptables=false"}, "", false},                                // docker0 is the host's
		{[]string{"--bridge=none"}, "", false},                                   // the DOCKER chains are the host's
		{[]string{"--iptables=false", "--bridge=docker0"}, "", false},            // the host's bridge by name
		{[]string{"--iptables=false", "--bridge=none"}, "", true},                // the tests' and docs' form
		{[]string{"--iptables=false", "-b", "armhf0"}, "", true},                 // a bridge of its own
		{[]string{"--iptables=false", "--bridge", "none"}, "", true},             // separate value
		{[]string{"--iptables=true", "--bridge=none"}, "", false},                // explicitly on
		{[]string{"--bridge=none"}, `{"iptables": false}`, true},                 // from daemon.json
		{nil, `{"iptables": false, "bridge": "none"}`, true},                     // all in daemon.json
		{[]string{"--iptables"}, `{"iptables": false, "bridge": "none"}`, false}, // the flag wins
	} {
		err := checkHostNetwork(tc.args, []byte(tc.json))
		if (err == nil) != tc.ok {
			t.Errorf("%q %s: %v, want ok=%v", tc.args, tc.json, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "DOCKER") {
			t.Errorf("error does not name what is shared: %v", err)
		}
	}
}

func TestLoopbackResolver(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		conf string
		want bool
	}{
		{"nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n", true},
		{"nameserver 127.0.0.53\nnameserver ::1\n", true},
		{"nameserver 10.255.255.53\n", false},
		{"nameserver 127.0.0.53\nnameserver 192.0.2.1\n", false},
		{"# none\n", false},
	} {
		p := filepath.Join(dir, "resolv.conf")
		os.WriteFile(p, []byte(tc.conf), 0o644)
		if got := loopbackResolver(p); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.conf, got, tc.want)
		}
	}
	if loopbackResolver(filepath.Join(dir, "missing")) {
		t.Errorf("a missing resolv.conf is not a loopback one")
	}
}

func TestNetNames(t *testing.T) {
	a, b := Layout{Dir: "/var/lib/armhf-shim/dind"}, Layout{Dir: "/var/lib/armhf-shim/dind2"}
	ifA, chA := netNames(a)
	ifB, chB := netNames(b)
	if ifA == ifB || chA == chB {
		t.Errorf("two directories share names: %s %s", ifA, chA)
	}
	// IFNAMSIZ-1 and iptables' chain name limit; never the host Docker's.
	if len(ifA) > 15 || len(chA) > 28 || strings.HasPrefix(chA, "DOCKER") || strings.HasPrefix(ifA, "docker") {
		t.Errorf("names %q %q", ifA, chA)
	}
	if i2, c2 := netNames(a); i2 != ifA || c2 != chA {
		t.Errorf("names are not stable")
	}
}
