package install

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/netip"

	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// install docker --ipv6: daemon.json's ipv6, fixed-cidr-v6 and ip6tables
// (with experimental where the dockerd needs it), so that containers on the
// default bridge reach IPv6 destinations through NAT (dockerd's own
// MASQUERADE rule) on an IPv6-only host. The members are spliced in like
// the runtime's; a member the user set to another value is never
// overwritten: install refuses and says which. Uninstall removes what
// install added and the user has not changed since.

// DockerIPv6 is what --ipv6 asks of daemon.json.
type DockerIPv6 struct {
	// CIDR is --fixed-cidr-v6, "" for the file's own, else a random ULA /64.
	CIDR string
	// Experimental: the dockerd reading the file needs "experimental" for
	// ip6tables (Docker 20.10 to 26).
	Experimental bool
	// Random is the source of the ULA's RFC 4193 global ID.
	Random io.Reader
}

// ipv6Record holds, by member name, the raw value install added; uninstall
// removes a member only while it still holds that value.
type ipv6Record struct {
	Added map[string]string `json:"added,omitempty"`
}

// ip6tablesExperimental says whether a dockerd of the given major version
// needs experimental for ip6tables: the option came in 20.10 as
// experimental, and needs no experimental from 27.0 (moby#47747). Unknown
// (0): yes, which every version from 20.10 accepts.
func ip6tablesExperimental(major int) (bool, error) {
	switch {
	case major == 0:
		return true, nil
	case major < 20:
		return false, fmt.Errorf("this dockerd (version %d) has no ip6tables option, which Docker 20.10 added: "+
			"it would refuse to start with it; upgrade Docker for --ipv6", major)
	}
	return major < 27, nil
}

// ParseFixedCIDRv6 checks a --fixed-cidr-v6 value: an IPv6 network prefix,
// written as its network (no host bits), of /80 or shorter (dockerd puts a
// container's MAC in the low 48 bits of its address).
func ParseFixedCIDRv6(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return p, fmt.Errorf("--fixed-cidr-v6 %q: %v", s, err)
	case !p.Addr().Is6() || p.Addr().Is4In6():
		return p, fmt.Errorf("--fixed-cidr-v6 %q is not an IPv6 prefix", s)
	case p.Masked() != p:
		return p, fmt.Errorf("--fixed-cidr-v6 %q has host bits set: the network is %s", s, p.Masked())
	case p.Bits() > 80:
		return p, fmt.Errorf("--fixed-cidr-v6 %q is too small: dockerd needs /80 or shorter (a /64 is usual)", s)
	}
	return p, nil
}

// RandomULA64 is a unique local /64 of RFC 4193: fd00::/8 (L=1), a
// 40-bit pseudo-random global ID from r, subnet 0.
func RandomULA64(r io.Reader) (netip.Prefix, error) {
	var a [16]byte
	a[0] = 0xfd
	if _, err := io.ReadFull(r, a[1:6]); err != nil {
		return netip.Prefix{}, fmt.Errorf("random ULA global ID: %w", err)
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), 64), nil
}

// DockerIPv6Install returns daemon.json with ipv6, fixed-cidr-v6, ip6tables
// (and experimental when e.Experimental) set; rec notes what it added.
// A member holding another value than --ipv6 needs, which install did not
// write, is an error naming it, and the file stays unchanged.
func DockerIPv6Install(old []byte, rec *record, e DockerIPv6) ([]byte, error) {
	doc, err := parseJSONDoc(old)
	if err != nil {
		return nil, malformedDaemonJSON(err)
	}
	if rec.Docker == nil {
		rec.Docker = &dockerRecord{}
	}
	ir := rec.Docker.IPv6
	if ir == nil {
		ir = &ipv6Record{}
	}
	if ir.Added == nil {
		ir.Added = map[string]string{}
	}
	want := []struct {
		key string
		val []byte
	}{{"ipv6", []byte("true")}, {"fixed-cidr-v6", nil}, {"ip6tables", []byte("true")}}
	if e.Experimental {
		want = append(want, struct {
			key string
			val []byte
		}{"experimental", []byte("true")})
	}
	if e.CIDR != "" {
		p, err := ParseFixedCIDRv6(e.CIDR)
		if err != nil {
			return nil, err
		}
		want[1].val = rawjson.AppendString(nil, p.String())
	}
	// Judge every member before changing any: a refusal leaves the file
	// as it was.
	type edit struct {
		key string
		val []byte
	}
	var edits []edit
	for _, w := range want {
		cur, err := doc.get(w.key)
		if err != nil {
			return nil, malformedDaemonJSON(err)
		}
		switch {
		case cur == nil && w.val == nil: // fixed-cidr-v6 absent, none given
			p, err := RandomULA64(e.Random)
			if err != nil {
				return nil, err
			}
			edits = append(edits, edit{w.key, rawjson.AppendString(nil, p.String())})
		case cur == nil:
			edits = append(edits, edit{w.key, w.val})
		case w.val == nil && rawjson.Kind(cur) == "a string":
			// The user's own fixed-cidr-v6 is the one to use.
		case w.val != nil && sameJSON(cur, w.val):
		case ir.Added[w.key] != "" && sameJSON(cur, []byte(ir.Added[w.key])):
			// A value install wrote before (a random CIDR): the new one
			// replaces it.
			edits = append(edits, edit{w.key, w.val})
		case w.key == "fixed-cidr-v6":
			return nil, fmt.Errorf("daemon.json has \"fixed-cidr-v6\": %s, which armhf-shim did not write: left unchanged; "+
				"leave out --fixed-cidr-v6 to keep it, or change it yourself", cur)
		default:
			return nil, fmt.Errorf("daemon.json has %q: %s, which armhf-shim did not write, and --ipv6 needs %s: left unchanged; "+
				"change or remove that member yourself, or leave out --ipv6", w.key, cur, w.val)
		}
	}
	for _, ed := range edits {
		if err := doc.set(ed.val, ed.key); err != nil {
			return nil, malformedDaemonJSON(err)
		}
		ir.Added[ed.key] = string(ed.val)
	}
	if len(ir.Added) > 0 {
		rec.Docker.IPv6 = ir
	}
	if bytes.Equal(doc.b, old) {
		return old, nil
	}
	return doc.b, nil
}

// DockerIPv6Uninstall removes the members --ipv6 added that still hold the
// value it wrote; one the user has changed since stays, and is returned in
// kept.
func DockerIPv6Uninstall(old []byte, rec *record) (nw []byte, kept []string, err error) {
	if rec.Docker == nil || rec.Docker.IPv6 == nil || old == nil {
		return old, nil, nil
	}
	doc, err := parseJSONDoc(old)
	if err != nil {
		return nil, nil, malformedDaemonJSON(err)
	}
	for _, key := range sortedKeys(rec.Docker.IPv6.Added) {
		cur, err := doc.get(key)
		if err != nil {
			return nil, nil, malformedDaemonJSON(err)
		}
		switch {
		case cur == nil:
		case sameJSON(cur, []byte(rec.Docker.IPv6.Added[key])):
			if err := doc.remove(key); err != nil {
				return nil, nil, malformedDaemonJSON(err)
			}
		default:
			kept = append(kept, fmt.Sprintf("%q: %s", key, cur))
		}
	}
	rec.Docker.IPv6 = nil
	if bytes.Equal(doc.b, old) {
		return old, kept, nil
	}
	return doc.b, kept, nil
}

// dockerIPv6 applies --ipv6 to daemon.json bytes b, judging experimental
// by the version of the dockerd that reads path (else the dockerd on PATH),
// as the apply advice finds it.
func (o *Options) dockerIPv6(path string, b []byte, rec *record) ([]byte, []string, error) {
	major, who := o.DockerdMajor, "--dockerd-version"
	if major == 0 {
		who = "dockerd on PATH"
		if ds := o.dockerdsReading(path); len(ds) > 0 {
			major, who = ds[0].Major, fmt.Sprintf("the dockerd with pid %d", ds[0].Pid)
		}
		if major == 0 {
			major = dockerdMajor("dockerd")
		}
	}
	exp, err := ip6tablesExperimental(major)
	if err != nil {
		return nil, nil, err
	}
	nw, err := DockerIPv6Install(b, rec, DockerIPv6{CIDR: o.FixedCIDRv6, Experimental: exp, Random: rand.Reader})
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	switch {
	case major == 0:
		notes = append(notes, "no dockerd answered its version: experimental is set, which ip6tables needs before Docker 27 and every version from 20.10 accepts")
	case exp:
		notes = append(notes, fmt.Sprintf("experimental is set: %s is Docker %d.x, whose ip6tables needs it (Docker 27 does not)", who, major))
	}
	if cidr, _ := rawjson.MemberString(getMember(nw, "fixed-cidr-v6")); cidr != "" {
		notes = append(notes, "containers on the default bridge get addresses in "+cidr+
			" and reach IPv6 destinations through NAT (dockerd's MASQUERADE rule); user-defined networks need docker network create --ipv6")
	}
	return nw, notes, nil
}

func getMember(b []byte, key string) []byte {
	d, err := parseJSONDoc(b)
	if err != nil {
		return nil
	}
	v, _ := d.get(key)
	return v
}
