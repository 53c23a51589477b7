package cpuinfo

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/armhf-shim/armhf-shim/uname"
)

// ProcCPUInfo is the file HostView reads.
const ProcCPUInfo = "/proc/cpuinfo"

// View is an armv7 cpuinfo made for this host.
type View struct {
	Text   []byte // the cpuinfo to show, CPUs numbered from 0
	Info   *Info  // Text, parsed
	CPUs   CPUSet // the host CPUs shown
	Source string // how the view was made, for logs and doctor
}

// HostARMv7 returns the armv7 /proc/cpuinfo for the host CPUs in set (the
// calling thread's affinity if set is empty), numbered from 0; see
// [HostView].
func HostARMv7(set CPUSet) ([]byte, error) {
	v, err := HostView(set)
	if err != nil {
		return nil, err
	}
	return v.Text, nil
}

// HostARMv7Exact is [HostARMv7] for CPUs a user named (--cpus): a CPU of
// set that the host does not list (absent or offline) is an error, a
// [*MissingCPUsError], rather than left out.
func HostARMv7Exact(set CPUSet) ([]byte, error) {
	v, err := hostViewOf(set, true)
	if err != nil {
		return nil, err
	}
	return v.Text, nil
}

// MissingCPUsError names the CPUs asked for that the host does not list.
type MissingCPUsError struct {
	Missing CPUSet // asked for, not listed
	Online  CPUSet // the CPUs the host lists
}

func (e *MissingCPUsError) Error() string {
	if e.Missing.Len() == 1 {
		return fmt.Sprintf("CPU %s is not online on this host (online: %s)", e.Missing, e.Online)
	}
	return fmt.Sprintf("CPUs %s are not online on this host (online: %s)", e.Missing, e.Online)
}

// OnlineCPUs is the kernel's list of online CPUs.
const OnlineCPUs = "/sys/devices/system/cpu/online"

// OnlineARMv7 renders the armv7 cpuinfo of every online host CPU: a
// container's /proc/cpuinfo lists them all, whatever its cpuset. When the
// online list is unreadable it falls back to this thread's affinity.
func OnlineARMv7() ([]byte, error) {
	var set CPUSet
	if b, err := os.ReadFile(OnlineCPUs); err == nil {
		if s, err := ParseCPUSet(strings.TrimSpace(string(b))); err == nil {
			set = s
		}
	}
	return HostARMv7(set)
}

// HostView makes the armv7 view of this host's CPUs in set (the calling
// thread's [Affinity] if set is empty):
//
//   - on an arm64 kernel it reads /proc/cpuinfo on a thread in the LINUX32
//     personality, getting the kernel's own 32-bit view of the real CPU,
//     and makes it armv7 ([Info.ARMv7]); if the kernel refuses LINUX32 (no
//     AArch32 at EL0) the native arm64 view is used and 32-bit Features are
//     derived;
//   - on other kernels (x86_64) the blocks are [Template] blocks, one per
//     host CPU;
//   - if /proc/cpuinfo cannot be read or parsed, it is a template over set.
//
// Only CPUs in set appear, renumbered from 0 ([Info.Select]). The only
// errors are an unreadable affinity and a set naming none of the host's
// CPUs; View.Source says which of the ways above was taken.
func HostView(set CPUSet) (*View, error) {
	return hostViewOf(set, false)
}

func hostViewOf(set CPUSet, exact bool) (*View, error) {
	if set.IsEmpty() {
		a, err := Affinity()
		if err != nil {
			return nil, err
		}
		set = a
	}
	return hostView(readCPUInfo(ProcCPUInfo, uname.HostCompatMachine() == "armv8l"), set, exact)
}

// hostText is what reading the host's cpuinfo gave.
type hostText struct {
	path    string
	data    []byte
	err     error // reading failed
	linux32 bool  // data was read in the LINUX32 personality
	note    string
}

// readCPUInfo reads path, in the LINUX32 personality if linux32 is set
// (falling back to the plain view if the kernel refuses it).
func readCPUInfo(path string, linux32 bool) hostText {
	h := hostText{path: path}
	if linux32 {
		ran := false
		perr := uname.WithPersonality(uname.PerLinux32, func() error {
			ran = true
			h.data, h.err = os.ReadFile(path)
			return h.err
		})
		if ran && h.err == nil {
			// Read in LINUX32. A failure to restore the personality is the
			// uname package's business: it retires the thread.
			h.linux32 = true
			return h
		}
		if !ran {
			h.note = fmt.Sprintf("; LINUX32 personality refused: %v", perr)
		} else {
			h.note = fmt.Sprintf("; reading in LINUX32 failed: %v", h.err)
		}
	}
	h.data, h.err = os.ReadFile(path)
	return h
}

// hostView is HostView's pure part: h is the host's cpuinfo as read, set
// the CPUs to show (not empty); with exact, a CPU of set that the host does
// not list is an error. The View's strings point into h.data, which must
// not be modified afterwards.
func hostView(h hostText, set CPUSet, exact bool) (*View, error) {
	if set.IsEmpty() {
		return nil, errors.New("empty CPU set")
	}
	var (
		info   *Info
		source string
	)
	if h.err != nil {
		source = fmt.Sprintf("template: reading %s failed: %v%s", h.path, h.err, h.note)
	} else if parsed, err := parseOwned(h.data); err != nil {
		source = fmt.Sprintf("template: %s is unparsable: %v%s", h.path, err, h.note)
	} else {
		info = parsed
		switch info.Kind() {
		case KindARM32:
			if h.linux32 {
				source = "the kernel's 32-bit view (" + h.path + " read in LINUX32), made armv7"
			} else {
				source = "the kernel's 32-bit view (" + h.path + "), made armv7" + h.note
			}
		case KindARM64:
			source = "derived from the arm64 view (" + h.path + ")" + h.note
		case KindX86:
			source = "template: " + h.path + " is an x86 view" + h.note
		default:
			source = "template: " + h.path + " has no ARM fields" + h.note
		}
	}
	if info == nil {
		info = templateFor(set.List())
	}
	shown, identity, err := shownCPUs(info, set)
	if err != nil {
		return nil, err
	}
	if exact && shown.Len() != set.Len() {
		ids, _ := info.IDs()
		online, _ := NewCPUSet(ids...)
		return nil, &MissingCPUsError{Missing: set.Without(shown), Online: online}
	}
	if !identity {
		// Select copies; when every CPU is shown and already numbered
		// from 0 it would only make a copy that ARMv7 makes anyway.
		if info, err = info.Select(set); err != nil {
			return nil, err
		}
	}
	v := info.armv7InPlace() // info is ours: parsed from h.data, a template or a Select copy
	return &View{Text: v.Render(), Info: v, CPUs: shown, Source: source}, nil
}

// shownCPUs returns the CPUs of info that set selects, and whether that is
// every block of info, numbered 0..n-1 in order (Select would change
// nothing).
func shownCPUs(info *Info, set CPUSet) (CPUSet, bool, error) {
	ids, err := info.IDs()
	if err != nil {
		return CPUSet{}, false, err
	}
	identity := true
	kept := ids[:0]
	for k, id := range ids {
		if set.Contains(id) {
			kept = append(kept, id)
		}
		identity = identity && id == k && set.Contains(id)
	}
	shown, err := NewCPUSet(kept...)
	return shown, identity, err
}
