package modify

import (
	"fmt"

	"github.com/armhf-shim/armhf-shim/shim/spec"
)

// AnnotationMachine asks for a container's uname to report this machine.
const AnnotationMachine = "io.armhf-shim.machine"

// unameCalls are the system calls a container's 32-bit uname may use, by
// the kernel's Go architecture: libseccomp resolves each name for every
// architecture of the profile, and the agent lets the kernel perform the
// ones that are not 32-bit.
var unameCalls = map[string][]string{
	"amd64": {"uname", "olduname", "oldolduname"},
	"arm64": {"uname"},
}

// profileArchs are the architectures of a profile made from nothing: the
// kernel's and its 32-bit compat ABI (libseccomp kills a process of an
// architecture its filter does not list).
var profileArchs = map[string][]string{
	"amd64": {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
	"arm64": {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
}

// UnameNotify sends the container's uname calls to the seccomp agent on
// listenerPath, which answers the 32-bit ones with machine (runc >= 1.1,
// linux.seccomp.listenerPath; see UnameProfile).
func UnameNotify(goarch, listenerPath, machine string) Modifier {
	return Modifier{Name: "seccomp uname notification", Apply: func(d *spec.Doc) error {
		old, err := d.Seccomp()
		if err != nil {
			return err
		}
		prof, err := UnameProfile(old, goarch, listenerPath, machine)
		if err != nil {
			return err
		}
		return d.SetSeccomp(prof)
	}}
}

// UnameProfile returns the seccomp profile seccomp (raw linux.seccomp;
// nil or null for none) with the uname calls of goarch's kernel sent to the
// seccomp agent at listenerPath, which answers the 32-bit ones with
// machine (spec.NotifyProfile). The rule names every architecture's calls:
// the agent lets the kernel perform those that are not 32-bit.
func UnameProfile(seccomp []byte, goarch, listenerPath, machine string) ([]byte, error) {
	calls, ok := unameCalls[goarch]
	if !ok {
		return nil, fmt.Errorf("no 32-bit uname to intercept on %s", goarch)
	}
	return spec.NotifyProfile(seccomp, calls, profileArchs[goarch], listenerPath, machine)
}
