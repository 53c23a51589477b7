// Package uname sets and reads the Linux execution domain (personality) and
// probes whether this host runs 32-bit code natively.
//
// The model: uname(2) reports the machine of the calling task's personality.
// In PER_LINUX32 an arm64 kernel reports "armv8l" and an x86_64 kernel "i686"
// ([CompatMachine]). The personality is per thread and inherited across
// fork/execve, so it must be set on a locked OS thread that then execs
// ([ExecLinux32]) or the children of another thread inherit the wrong one.
// golang.org/x/sys has no wrapper; this package calls SYS_PERSONALITY.
//
// [ProbeCompat] answers "does this host execute 32-bit code natively?" and
// never lies: an arm64 kernel without 32-bit EL0 refuses PER_LINUX32 with
// EINVAL, an execve of a tiny embedded static 32-bit ELF returning ENOEXEC
// confirms it, and a QEMU handler registered in /proc/sys/fs/binfmt_misc
// means "runs, but emulated", which is never reported as native.
package uname
