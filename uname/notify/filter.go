package notify

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Layout is the struct a uname system call fills.
type Layout int

const (
	// NewUTS is struct new_utsname (uname, 122 on i386 and ARM): six
	// 65-byte fields, domainname last.
	NewUTS Layout = iota
	// OldUTS is struct old_utsname (i386 olduname, 109): the first five.
	OldUTS
	// OldOldUTS is struct oldold_utsname (i386 oldolduname, 59): five
	// 9-byte fields, each the first 8 bytes of the name and a NUL.
	OldOldUTS
)

// ABI is a 32-bit system call ABI: its seccomp_data.arch and the numbers of
// its uname calls with the struct each fills.
type ABI struct {
	Arch  uint32
	Calls map[uint32]Layout
}

// CompatABI is the 32-bit compat ABI of a 64-bit kernel of the Go
// architecture goarch; ok is false if it has none this project supports.
func CompatABI(goarch string) (abi ABI, ok bool) {
	switch goarch {
	case "amd64":
		// arch/x86/entry/syscalls/syscall_32.tbl
		return ABI{Arch: unix.AUDIT_ARCH_I386, Calls: map[uint32]Layout{122: NewUTS, 109: OldUTS, 59: OldOldUTS}}, true
	case "arm64":
		// arch/arm64/tools/syscall_32.tbl: 109 and 59 are gone from EABI.
		return ABI{Arch: unix.AUDIT_ARCH_ARM, Calls: map[uint32]Layout{122: NewUTS}}, true
	}
	return ABI{}, false
}

// Offsets in struct seccomp_data (include/uapi/linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
)

// Filter is the BPF program that sends abi's uname calls to the listener
// and allows every other system call, of every architecture.
func Filter(abi ABI) []unix.SockFilter {
	nrs := make([]uint32, 0, len(abi.Calls))
	for nr := range abi.Calls {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	n := len(nrs)
	// Layout: load arch; jump to ALLOW if not abi.Arch; load nr; one
	// test per call jumping to NOTIFY; ALLOW; NOTIFY.
	prog := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch),
		jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, abi.Arch, 0, uint8(n+1)),
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr),
	}
	for i, nr := range nrs {
		// From test i, NOTIFY is n-i instructions ahead (past the
		// remaining tests and ALLOW).
		prog = append(prog, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nr, uint8(n-i), 0))
	}
	return append(prog,
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_USER_NOTIF),
	)
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// maxMachine is the longest machine name struct utsname holds.
const maxMachine = 64

// CheckMachine reports whether name can be a machine name: 1 to 64 bytes,
// no NUL, printable ASCII (the kernel's own names are).
func CheckMachine(name string) error {
	if name == "" || len(name) > maxMachine {
		return fmt.Errorf("machine name %q: must be 1 to %d characters", name, maxMachine)
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("machine name %q: only printable ASCII without spaces", name)
		}
	}
	return nil
}
