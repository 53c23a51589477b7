package lxc

import (
	"fmt"
	mi "github.com/armhf-shim/armhf-shim/internal/mountinfo"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CgroupMounts is what /proc/self/mountinfo says about cgroups: the
// controllers bound to cgroup v1 hierarchies and the cgroup2 mount point.
type CgroupMounts struct {
	V1 map[string]bool // controller -> mounted in a v1 hierarchy
	V2 string          // cgroup2 mount point ("" if none)
}

// ParseCgroupMounts reads mountinfo text (proc(5)). A v1 hierarchy's
// controllers are its super options other than rw/ro and name=...
func ParseCgroupMounts(mountinfo []byte) (CgroupMounts, error) {
	m := CgroupMounts{V1: map[string]bool{}}
	for n, line := range strings.Split(string(mountinfo), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			return CgroupMounts{}, fmt.Errorf("mountinfo line %d: no \" - \" separator: %q", n+1, line)
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			return CgroupMounts{}, fmt.Errorf("mountinfo line %d: too few fields: %q", n+1, line)
		}
		switch qf[0] {
		case "cgroup":
			for _, o := range strings.Split(qf[2], ",") {
				if o == "rw" || o == "ro" || strings.Contains(o, "=") {
					continue
				}
				m.V1[o] = true
			}
		case "cgroup2":
			if m.V2 == "" {
				m.V2 = mi.Unescape(pf[4])
			}
		}
	}
	return m, nil
}

// Keys chooses the LXC key prefix for the cpuset and devices controllers:
// a controller bound to a v1 hierarchy is configured with lxc.cgroup.*,
// otherwise through cgroup2 (lxc.cgroup2.*) when it is available there
// (v2Controllers: the root's cgroup.controllers; devices is not listed
// there, it is eBPF and always available). "" means unavailable.
func (m CgroupMounts) Keys(v2Controllers string) CgroupKeys {
	v2 := map[string]bool{}
	for _, c := range strings.Fields(v2Controllers) {
		v2[c] = true
	}
	pick := func(ctrl string) string {
		switch {
		case m.V1[ctrl]:
			return "lxc.cgroup"
		case m.V2 != "" && (v2[ctrl] || ctrl == "devices"):
			return "lxc.cgroup2"
		}
		return ""
	}
	return CgroupKeys{Cpuset: pick("cpuset"), Devices: pick("devices")}
}

// DetectHost reads the host facts Config needs: cgroup layout (v1, v2 or
// hybrid, from /proc/self/mountinfo) and whether AppArmor is enabled.
func DetectHost() (Host, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Host{}, fmt.Errorf("reading cgroup mounts: %w", err)
	}
	m, err := ParseCgroupMounts(mi)
	if err != nil {
		return Host{}, err
	}
	var ctrls []byte
	if m.V2 != "" {
		ctrls, _ = os.ReadFile(filepath.Join(m.V2, "cgroup.controllers"))
	}
	h := Host{Cgroups: m.Keys(string(ctrls))}
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.TrimSpace(string(b)) == "Y" {
		h.AppArmor = true
	}
	return h, nil
}

// StaleCgroupDirs are the cgroup directories liblxc makes for container
// name at the root of each hierarchy in mounts (lxc.monitor.NAME,
// lxc.payload.NAME and their -N variants, which liblxc picks when the plain
// name is taken).
func StaleCgroupDirs(mountPoints []string, name string) []string {
	var out []string
	for _, mp := range mountPoints {
		for _, kind := range []string{"lxc.monitor.", "lxc.payload."} {
			base := filepath.Join(mp, kind+name)
			out = append(out, base)
			more, _ := filepath.Glob(base + "-[0-9]*")
			for _, p := range more {
				if _, err := strconv.Atoi(strings.TrimPrefix(p, base+"-")); err == nil {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// LeftoverCgroups lists the cgroup directories of container name that
// exist (see StaleCgroupDirs).
func LeftoverCgroups(name string) []string {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range StaleCgroupDirs(cgroupMountPoints(mi), name) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// RemoveStaleCgroups removes the empty cgroups liblxc left behind for the
// stopped container name: liblxc's monitor sometimes fails to remove its
// own cgroup (EBUSY) when the container stops during start. rmdir removes
// only empty cgroups, so a running container's are never touched.
func RemoveStaleCgroups(name string) {
	for _, d := range LeftoverCgroups(name) {
		os.Remove(d) // EBUSY: in use, nothing to do
	}
}

// cgroupMountPoints lists the mount points of cgroup and cgroup2 file
// systems in mountinfo text.
func cgroupMountPoints(mountinfo []byte) []string {
	var out []string
	for _, line := range strings.Split(string(mountinfo), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) >= 5 && len(qf) >= 1 && (qf[0] == "cgroup" || qf[0] == "cgroup2") {
			out = append(out, mi.Unescape(pf[4]))
		}
	}
	return out
}
