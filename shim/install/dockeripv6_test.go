package install

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixedRandom gives the ULA global ID 01 02 03 04 05.
func fixedRandom() *bytes.Reader { return bytes.NewReader([]byte{1, 2, 3, 4, 5}) }

func TestDockerIPv6Install(t *testing.T) {
	const indented = "{\n    \"log-level\": \"warn\",\n    \"runtimes\": {}\n}\n"
	for _, tc := range []struct {
		name   string
		old    string
		e      DockerIPv6
		prior  map[string]string // what an earlier --ipv6 added
		want   string            // the new file, exactly ("" = want an error)
		errSay string
		added  []string // members the record must hold
	}{
		{
			name: "no file", old: "", e: DockerIPv6{Experimental: true},
			want:  "{\n  \"ipv6\": true,\n  \"fixed-cidr-v6\": \"fd01:203:405::/64\",\n  \"ip6tables\": true,\n  \"experimental\": true\n}\n",
			added: []string{"experimental", "fixed-cidr-v6", "ip6tables", "ipv6"},
		},
		{
			name: "the user's layout kept, Docker 27 needs no experimental", old: indented, e: DockerIPv6{CIDR: "fd00:beef:1::/64"},
			want:  "{\n    \"log-level\": \"warn\",\n    \"runtimes\": {},\n    \"ipv6\": true,\n    \"fixed-cidr-v6\": \"fd00:beef:1::/64\",\n    \"ip6tables\": true\n}\n",
			added: []string{"fixed-cidr-v6", "ip6tables", "ipv6"},
		},
		{
			name: "the user's own fixed-cidr-v6 and ipv6 are used, not recorded", old: `{"ipv6": true, "fixed-cidr-v6": "2001:db8:1::/64"}`, e: DockerIPv6{},
			want:  `{"ipv6": true, "fixed-cidr-v6": "2001:db8:1::/64", "ip6tables": true}`,
			added: []string{"ip6tables"},
		},
		{
			name: "ipv6 false is the user's: refused", old: `{"ipv6": false}`, e: DockerIPv6{},
			errSay: `"ipv6": false, which armhf-shim did not write`,
		},
		{
			name: "ip6tables false: refused", old: `{"ip6tables": false}`, e: DockerIPv6{},
			errSay: `"ip6tables": false`,
		},
		{
			name: "experimental false where needed: refused", old: `{"experimental": false}`, e: DockerIPv6{Experimental: true},
			errSay: `"experimental": false`,
		},
		{
			name: "experimental false where not needed: kept", old: `{"experimental": false}`, e: DockerIPv6{CIDR: "fd00::/64"},
			want:  `{"experimental": false, "ipv6": true, "fixed-cidr-v6": "fd00::/64", "ip6tables": true}`,
			added: []string{"fixed-cidr-v6", "ip6tables", "ipv6"},
		},
		{
			name: "another fixed-cidr-v6 than the user's: refused", old: `{"fixed-cidr-v6": "2001:db8::/64"}`, e: DockerIPv6{CIDR: "fd00::/64"},
			errSay: "leave out --fixed-cidr-v6 to keep it",
		},
		{
			name: "a CIDR install chose is replaced by the one given", old: `{"ipv6": true, "fixed-cidr-v6": "fd01:203:405::/64", "ip6tables": true}`,
			prior: map[string]string{"ipv6": "true", "fixed-cidr-v6": `"fd01:203:405::/64"`, "ip6tables": "true"},
			e:     DockerIPv6{CIDR: "fd99::/64"},
			want:  `{"ipv6": true, "fixed-cidr-v6": "fd99::/64", "ip6tables": true}`,
			added: []string{"fixed-cidr-v6", "ip6tables", "ipv6"},
		},
		{
			name: "host bits", old: "", e: DockerIPv6{CIDR: "fd00::1/64"}, errSay: "host bits set: the network is fd00::/64",
		},
		{
			name: "IPv4", old: "", e: DockerIPv6{CIDR: "10.0.0.0/8"}, errSay: "not an IPv6 prefix",
		},
		{
			name: "too small", old: "", e: DockerIPv6{CIDR: "fd00::/96"}, errSay: "/80 or shorter",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var old []byte
			if tc.old != "" {
				old = []byte(tc.old)
			}
			rec := &record{}
			if tc.prior != nil {
				rec.Docker = &dockerRecord{IPv6: &ipv6Record{Added: tc.prior}}
			}
			tc.e.Random = fixedRandom()
			nw, err := DockerIPv6Install(old, rec, tc.e)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSay) {
					t.Fatalf("err %v, want one saying %q (got file %s)", err, tc.errSay, nw)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(nw) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", nw, tc.want)
			}
			var added []string
			if rec.Docker.IPv6 != nil {
				added = sortedKeys(rec.Docker.IPv6.Added)
			}
			if strings.Join(added, ",") != strings.Join(tc.added, ",") {
				t.Errorf("recorded %q, want %q", added, tc.added)
			}
			// Idempotent.
			again, err := DockerIPv6Install(nw, rec, DockerIPv6{CIDR: tc.e.CIDR, Experimental: tc.e.Experimental, Random: fixedRandom()})
			if err != nil || !bytes.Equal(again, nw) {
				t.Errorf("second install: %v\n%s", err, again)
			}
			// Uninstall takes out what install added and nothing else.
			back, kept, err := DockerIPv6Uninstall(nw, rec)
			if err != nil || len(kept) > 0 {
				t.Fatalf("uninstall: %v, kept %q", err, kept)
			}
			if tc.prior == nil && !bytes.Equal(back, old) && !(old == nil && string(back) == "{}\n") {
				t.Errorf("uninstall gave\n%s\nwant the original\n%s", back, old)
			}
		})
	}
}

// A member --ipv6 added and the user changed since stays on uninstall,
// and is named.
func TestDockerIPv6UninstallKeepsChanged(t *testing.T) {
	rec := &record{}
	nw, err := DockerIPv6Install([]byte(`{"debug": true}`), rec, DockerIPv6{Random: fixedRandom()})
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(nw, []byte("fd01:203:405::/64"), []byte("fd42::/64"), 1)
	back, kept, err := DockerIPv6Uninstall(changed, rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != `{"debug": true, "fixed-cidr-v6": "fd42::/64"}` || len(kept) != 1 || !strings.Contains(kept[0], "fd42::/64") {
		t.Errorf("got %s, kept %q", back, kept)
	}
}

func TestIP6tablesExperimental(t *testing.T) {
	for _, tc := range []struct {
		major   int
		want    bool
		wantErr bool
	}{{0, true, false}, {19, false, true}, {20, true, false}, {26, true, false}, {27, false, false}, {28, false, false}} {
		got, err := ip6tablesExperimental(tc.major)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Docker %d: %v, %v; want %v, error %v", tc.major, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestRandomULA64(t *testing.T) {
	p, err := RandomULA64(fixedRandom())
	if err != nil || p.String() != "fd01:203:405::/64" {
		t.Errorf("%v %v", p, err)
	}
	if _, err := RandomULA64(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Error("a short random source gave a prefix")
	}
}

// Through Run: install docker --ipv6 on an operator's daemon.json, then
// uninstall, gives back its bytes; --fixed-cidr-v6 alone is refused.
func TestRunDockerIPv6(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "etc", "docker", "daemon.json")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, []byte(daemonJSON), 0o644)
	var out bytes.Buffer
	opts := Options{Target: "docker", Config: cfg, Binary: bin, Out: &out, Now: clock, IPv6: true, FixedCIDRv6: "fd00:ab::/64",
		DockerdMajor: 20, procRoot: t.TempDir()}
	if err := Run(opts); err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, mustRead(t, cfg))
	if m["ipv6"] != true || m["fixed-cidr-v6"] != "fd00:ab::/64" || m["ip6tables"] != true || m["experimental"] != true {
		t.Errorf("daemon.json after install --ipv6:\n%s", mustRead(t, cfg))
	}
	for _, say := range []string{"experimental is set: --dockerd-version is Docker 20.x", "addresses in fd00:ab::/64"} {
		if !strings.Contains(out.String(), say) {
			t.Errorf("output does not say %q:\n%s", say, out.String())
		}
	}
	un := opts
	un.Uninstall, un.IPv6, un.FixedCIDRv6 = true, false, ""
	if err := Run(un); err != nil {
		t.Fatal(err)
	}
	if b := mustRead(t, cfg); string(b) != daemonJSON {
		t.Errorf("after uninstall:\n%s\nwant\n%s", b, daemonJSON)
	}
	bad := opts
	bad.IPv6 = false
	if err := Run(bad); err == nil || !strings.Contains(err.Error(), "--fixed-cidr-v6 goes with --ipv6") {
		t.Errorf("--fixed-cidr-v6 without --ipv6: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRunDockerIPv6UninstallUserEdits: uninstall docker takes back the
// ipv6 members only with the runtime, and only those still as --ipv6
// wrote them: over a runtime entry the user pointed elsewhere it changes
// nothing (the ipv6 members included); a member the user changed is kept
// and named.
func TestRunDockerIPv6UninstallUserEdits(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "daemon.json")
	os.WriteFile(cfg, []byte(daemonJSON), 0o644)
	var out bytes.Buffer
	opts := Options{Target: "docker", Config: cfg, Binary: bin, Out: &out, Now: clock, IPv6: true, FixedCIDRv6: "fd00:ab::/64",
		DockerdMajor: 20, procRoot: t.TempDir()}
	if err := Run(opts); err != nil {
		t.Fatal(err)
	}
	installed := mustRead(t, cfg)
	link := filepath.Join(filepath.Dir(bin), RuntimeLinkName)
	if !bytes.Contains(installed, []byte(`"`+link+`"`)) {
		t.Fatalf("no runtime entry running %s:\n%s", link, installed)
	}
	foreign := bytes.Replace(installed, []byte(`"`+link+`"`), []byte(`"/opt/other/runc"`), 1)
	os.WriteFile(cfg, foreign, 0o644)
	un := opts
	un.Uninstall, un.IPv6, un.FixedCIDRv6 = true, false, ""
	if err := Run(un); err == nil || !strings.Contains(err.Error(), "left unchanged") {
		t.Errorf("uninstall over the user's runtime entry: err = %v", err)
	}
	if b := mustRead(t, cfg); !bytes.Equal(b, foreign) {
		t.Errorf("uninstall changed a file whose runtime entry the user pointed elsewhere:\n%s", b)
	}
	userCIDR := bytes.Replace(installed, []byte(`"fd00:ab::/64"`), []byte(`"fd42::/64"`), 1)
	os.WriteFile(cfg, userCIDR, 0o644)
	out.Reset()
	if err := Run(un); err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, mustRead(t, cfg))
	if m["fixed-cidr-v6"] != "fd42::/64" || m["ipv6"] != nil || m["ip6tables"] != nil || m["experimental"] != nil {
		t.Errorf("after uninstall with the user's fixed-cidr-v6:\n%s", mustRead(t, cfg))
	}
	if !strings.Contains(out.String(), `kept "fixed-cidr-v6"`) {
		t.Errorf("uninstall does not say it kept the user's fixed-cidr-v6:\n%s", out.String())
	}
}
