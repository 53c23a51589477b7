package modify

import (
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Existing is who put a mount that is already at /proc/cpuinfo in a spec.
type Existing int

const (
	ExistingNone  Existing = iota // no mount there
	ExistingLXCFS                 // LXCFS's cpuinfo (which shows the host's CPU)
	ExistingOurs                  // armhf-shim's own, from an earlier edit
	ExistingUser                  // the user's own (-v, --mount, --tmpfs)
)

// LXCFSDir is where LXCFS serves its files.
const LXCFSDir = "/var/lib/lxcfs"

// ClassifyCPUInfo says whose the mount m at /proc/cpuinfo is (found false:
// there is none). sourceFS is the filesystem type the host has at
// m.Source ("" when unknown); stateRoot is armhf-shim's state root.
func ClassifyCPUInfo(m specs.Mount, found bool, sourceFS, stateRoot string) (Existing, string) {
	src := filepath.Clean(m.Source)
	switch {
	case !found:
		return ExistingNone, "no mount at " + CPUInfoTarget
	case src == LXCFSDir || strings.HasPrefix(src, LXCFSDir+"/"):
		return ExistingLXCFS, "LXCFS's mount from " + m.Source
	case m.Type == "fuse.lxcfs" || sourceFS == "fuse.lxcfs" || m.Type == "fuse" && m.Source == "lxcfs":
		return ExistingLXCFS, "LXCFS's mount (a fuse.lxcfs filesystem) from " + m.Source
	case stateRoot != "" && m.Source != "" && strings.HasPrefix(src, filepath.Clean(stateRoot)+"/"):
		return ExistingOurs, "armhf-shim's mount from " + m.Source
	}
	what := m.Type
	if what == "" {
		what = "bind"
	}
	return ExistingUser, "the container's own " + what + " mount from " + m.Source
}

// Replace reports whether armhf-shim's cpuinfo goes over what e found.
// The user's own mount wins over it; LXCFS's, which shows the host's
// 64-bit CPU, does not.
func (e Existing) Replace() bool { return e != ExistingUser }
