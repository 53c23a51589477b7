package uname

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Machine returns the machine name uname(2) reports to the calling thread:
// "aarch64" normally on arm64, "armv8l" in PER_LINUX32.
func Machine() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Machine[:]), nil
}

// Release returns the kernel release (uname -r).
func Release() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// CompatMachine is the machine name a kernel of the given Go architecture
// reports in PER_LINUX32, or "" when the architecture has no 32-bit compat
// mode this project supports.
func CompatMachine(goarch string) string {
	switch goarch {
	case "arm64":
		return "armv8l"
	case "amd64":
		return "i686"
	}
	return ""
}

// kernelArch maps a kernel machine name to the Go architecture of the
// kernel ("aarch64" -> "arm64"). A 32-bit process on a 64-bit kernel still
// sees the 64-bit machine unless it is in PER_LINUX32.
func kernelArch(machine string) string {
	switch machine {
	case "aarch64", "arm64", "armv8l":
		return "arm64"
	case "x86_64", "i686":
		return "amd64"
	}
	return ""
}

func kernelMachine() string {
	m, err := Machine()
	if err != nil {
		return runtime.GOARCH
	}
	return m
}

// HostCompatMachine is [CompatMachine] for the running kernel: "armv8l" on
// arm64, "i686" on x86_64, whatever the architecture of this binary.
func HostCompatMachine() string {
	if a := kernelArch(kernelMachine()); a != "" {
		return CompatMachine(a)
	}
	return CompatMachine(runtime.GOARCH)
}
