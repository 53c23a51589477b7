// Package cpuinfo parses /proc/cpuinfo text and renders the armv7 view of a
// host's CPUs.
//
// The model: a cpuinfo file is a list of processor blocks (one per logical
// CPU, "key\t: value" lines, each block followed by an empty line),
// optionally followed by a trailer of machine-wide fields (Hardware,
// Revision, Serial, Model on 32-bit ARM kernels) with no empty line after
// it. [Parse] turns the text of any of the formats the kernel writes (arm32,
// arm64 in both its native and LINUX32 views, x86) into an [Info] that keeps
// every field, with its exact padding, in order, so Render of an unmodified
// Info is byte-for-byte the kernel's text. Parse is strict: text it cannot
// reproduce exactly is an error naming the line.
//
// On an arm64 kernel a thread in the LINUX32 personality reading
// /proc/cpuinfo gets the kernel's own 32-bit view of the real CPU (32-bit
// Features, "model name : ARMv8 Processor rev N (v8l)") but still
// "CPU architecture: 8". [Info.ARMv7] changes only what lies: the
// architecture becomes 7 and the model name "ARMv7 Processor rev N (v7l)",
// as a 32-bit ARM kernel prints it; implementer, part, variant, revision,
// BogoMIPS and Features are the host's. From the native arm64 view (no
// model name) it derives the 32-bit Features ([Features32]). Where no ARM
// view exists (an x86_64 host, a read failure), [Template] gives a
// realistic armv7 block per CPU (a Cortex-A72). A real 32-bit kernel ends
// with a trailer; an arm64 kernel prints none, so the armv7 view gets the
// one a mainline kernel prints for a generic device-tree machine
// ([GenericTrailer]), never a board's (no Raspberry Pi "Model").
//
// [Info.Select] keeps only the CPUs of a [CPUSet] (Linux list format,
// "0-3,7") and renumbers them from 0, as LXCFS does for a container's
// cpuset. [HostView] and [HostARMv7] put it together for this host: read
// (in LINUX32 on arm64), parse, select, make armv7, render; View.Source
// says which path was taken; [HostARMv7Exact] is the variant for CPUs a
// user named, where a CPU the host does not list is an error
// ([MissingCPUsError]) rather than left out.
//
// Errors say what is wrong without the package's name and without
// repeating what the caller passed in (the caller names it: `--cpus
// "0-x": "x" is not a CPU number`).
package cpuinfo
