package notify

import "golang.org/x/sys/unix"

// Field sizes (include/linux/utsname.h): __NEW_UTS_LEN+1 and __OLD_UTS_LEN.
const (
	utsLen    = 65
	oldUTSLen = 8
)

// Size is the size in bytes of the struct l.
func (l Layout) Size() int {
	switch l {
	case NewUTS:
		return 6 * utsLen
	case OldUTS:
		return 5 * utsLen
	default:
		return 5 * (oldUTSLen + 1)
	}
}

// Reply is the struct l as the kernel would fill it from u, with machine
// in place of u's machine. Every byte is set: the caller's buffer gets no
// stale content.
func Reply(l Layout, u *unix.Utsname, machine string) []byte {
	var m [utsLen]byte
	copy(m[:utsLen-1], machine)
	fields := [][utsLen]byte{u.Sysname, u.Nodename, u.Release, u.Version, m, u.Domainname}
	out := make([]byte, 0, l.Size())
	switch l {
	case NewUTS:
		for _, f := range fields {
			out = append(out, f[:]...)
		}
	case OldUTS:
		for _, f := range fields[:5] {
			out = append(out, f[:]...)
		}
	case OldOldUTS:
		// sys_olduname copies __OLD_UTS_LEN bytes and puts a NUL after them.
		for _, f := range fields[:5] {
			out = append(append(out, f[:oldUTSLen]...), 0)
		}
	}
	return out
}
