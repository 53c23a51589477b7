package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
)

// CPUInfoFacts are what decides whether /proc/cpuinfo is the kernel's.
type CPUInfoFacts struct {
	Machine string // the kernel's (uname -m in the default personality)
	// MountFS is the filesystem type of a mount on /proc/cpuinfo itself
	// ("" when it is procfs's own file), MountSource its source.
	MountFS, MountSource string
	Text                 []byte // /proc/cpuinfo as read
	// RealName names the CPU from a source a fake cannot cover (arm64's
	// midr_el1 in sysfs), "" when there is none.
	RealName, RealSource string
}

// CPUVerdict is the report's cpu section.
type CPUVerdict struct {
	Name       string `json:"name"`
	Processors int    `json:"processors"`
	// CPUInfo is "kernel" for the kernel's own /proc/cpuinfo, "fake" for a
	// replaced one (a bind mount, armhf-shim's armv7 view), "lxcfs" for
	// LXCFS's filtered view of the real one.
	CPUInfo string `json:"cpuinfo"`
	Note    string `json:"note,omitempty"`
}

// JudgeCPU names the CPU: from /proc/cpuinfo when it is the kernel's (or
// LXCFS's view of it), else from the real source, else it says it cannot.
// A fake is told by a mount on /proc/cpuinfo or by content the kernel
// never shows (an armv7 "CPU architecture: 7" on a 64-bit kernel, ARM
// fields on an x86 one).
func JudgeCPU(f CPUInfoFacts) CPUVerdict {
	v := CPUVerdict{Name: "unknown", CPUInfo: "kernel"}
	info, err := cpuinfo.Parse(f.Text)
	if err == nil {
		v.Name, v.Processors = info.CPUName(), info.NumProcessors()
	}
	why := ""
	switch {
	case f.MountFS == "fuse.lxcfs" || strings.HasPrefix(f.MountSource, "lxcfs"):
		v.CPUInfo = "lxcfs"
		v.Note = "/proc/cpuinfo is LXCFS's view of the real one"
		return v
	case f.MountFS != "":
		why = fmt.Sprintf("a %s mount (%s) covers /proc/cpuinfo", f.MountFS, f.MountSource)
	case err == nil && fakeContent(f.Machine, info):
		why = fmt.Sprintf("it describes a CPU that the %s kernel never shows", f.Machine)
	default:
		return v
	}
	v.CPUInfo = "fake"
	shown := v.Name
	if f.RealName != "" {
		v.Name = f.RealName
		v.Note = fmt.Sprintf("the /proc/cpuinfo seen here is a fake (%s; it says %s): the CPU is named from %s", why, shown, f.RealSource)
	} else {
		v.Name = "unknown"
		v.Note = fmt.Sprintf("the /proc/cpuinfo seen here is a fake (%s; it says %s) and no real source of the CPU's name is reachable from here "+
			"(ask the host: armhf-shim doctor outside this container)", why, shown)
	}
	return v
}

// fakeContent: a 64-bit ARM kernel shows "CPU architecture: 8" also to 32-bit
// readers; an x86 kernel shows no ARM fields.
func fakeContent(machine string, info *cpuinfo.Info) bool {
	for _, p := range info.Processors {
		arch, isARM := p.Get("CPU architecture")
		_, impl := p.Get("CPU implementer")
		switch {
		case (machine == "aarch64" || machine == "armv8l") && isARM && strings.TrimSpace(arch) == "7":
			return true
		case (machine == "x86_64" || machine == "i686") && (isARM || impl):
			return true
		}
	}
	return false
}

// cpuinfoMount finds a mount on /proc/cpuinfo in mountinfo text: its
// filesystem type and source ("" when none).
func cpuinfoMount(mi []byte) (fstype, source string) {
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || mountinfo.Unescape(f[4]) != "/proc/cpuinfo" {
			continue
		}
		for i, x := range f {
			if x == "-" && i+2 < len(f) {
				fstype, source = f[i+1], mountinfo.Unescape(f[i+2])
			}
		}
	}
	return fstype, source
}

// midrName names the CPUs of an arm64 host from sysfs's midr_el1, which
// a bind mount on /proc/cpuinfo does not cover ("" when unreadable).
func midrName(sys string) string {
	files, _ := filepath.Glob(filepath.Join(sys, "devices/system/cpu/cpu[0-9]*/regs/identification/midr_el1"))
	sort.Strings(files)
	var names []string
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		midr, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"), 16, 64)
		if err != nil {
			continue
		}
		n := cpuinfo.NameOf(uint32(midr>>24)&0xff, uint32(midr>>4)&0xfff)
		if !contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, " + ")
}

func (h *host) cpuFacts(machine string) CPUInfoFacts {
	f := CPUInfoFacts{Machine: machine}
	f.Text, _ = os.ReadFile(filepath.Join(h.opts.Proc, "cpuinfo"))
	if mi, err := os.ReadFile(filepath.Join(h.opts.Proc, "self/mountinfo")); err == nil {
		f.MountFS, f.MountSource = cpuinfoMount(mi)
	}
	if n := midrName(filepath.Join(h.opts.Root, "sys")); n != "" {
		f.RealName, f.RealSource = n, "midr_el1 in /sys"
	}
	return f
}
