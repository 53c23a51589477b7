// Package modify holds the changes armhf-shim makes to the spec of a
// 32-bit container, each small and usable on its own.
//
// The model: a [Modifier] is a named edit of a [spec.Doc]. [For32Bit]
// composes the standard set:
//
//   - [CPUInfo]: a read-only bind mount of an armv7 cpuinfo file over
//     /proc/cpuinfo (placed after the /proc mount, replacing any earlier
//     mount there such as LXCFS's); [ClassifyCPUInfo] says when a mount
//     already there is the user's own, which wins;
//   - [Personality]: linux.personality.domain = LINUX32, which runc >= 1.2
//     and crun apply to the container process;
//   - [Mark]: the annotation io.armhf-shim.personality=LINUX32, which runc
//     copies into its state.json (as the label
//     "io.armhf-shim.personality=LINUX32") so a later `exec` — which has no
//     bundle — can tell the container was made 32-bit.
//
// A container whose own mount at /proc/cpuinfo wins gets the set without
// the mount (For32Bit("")). [UnameNotify] (uname.go) is added to the set
// when a machine is asked for (uname -m armv7l, docs/uname.md): it routes
// the container's uname calls to the seccomp agent.
//
// The change that runtimes ignoring linux.personality need (Debian's runc
// 1.1.5) is not a spec edit: the wrapper sets its own personality before
// it execs the runtime, and runc init inherits it.
//
// Edits stop at the first failure; callers write the document back only
// when all succeeded, so a failure changes nothing on disk.
package modify

import (
	"fmt"

	"github.com/armhf-shim/armhf-shim/shim/spec"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// AnnotationMark marks a container armhf-shim made 32-bit.
const AnnotationMark = "io.armhf-shim.personality"

// MarkValue is the value of AnnotationMark.
const MarkValue = "LINUX32"

// CPUInfoTarget is the path the cpuinfo is mounted over.
const CPUInfoTarget = "/proc/cpuinfo"

// Modifier is one edit of a spec.
type Modifier struct {
	Name  string
	Apply func(*spec.Doc) error
}

// CPUInfo bind-mounts the host file source read-only over /proc/cpuinfo.
func CPUInfo(source string) Modifier {
	return Modifier{Name: "cpuinfo mount", Apply: func(d *spec.Doc) error {
		return d.SetMount(specs.Mount{Destination: CPUInfoTarget, Type: "bind", Source: source, Options: cpuinfoOptions})
	}}
}

// cpuinfoOptions are the cpuinfo mount's options.
var cpuinfoOptions = []string{"bind", "ro", "nosuid", "nodev", "noexec"}

// Personality sets linux.personality.domain to LINUX32.
func Personality() Modifier {
	return Modifier{Name: "linux.personality", Apply: func(d *spec.Doc) error {
		return d.SetPersonalityDomain("LINUX32")
	}}
}

// Mark sets the annotation that a later exec looks for.
func Mark() Modifier {
	return Modifier{Name: "mark annotation", Apply: func(d *spec.Doc) error {
		return d.SetAnnotation(AnnotationMark, MarkValue)
	}}
}

// For32Bit is the standard set for a 32-bit container whose armv7
// cpuinfo file is at cpuinfoSource: the cpuinfo mount, the personality
// and the mark. An empty cpuinfoSource leaves /proc/cpuinfo alone, for a
// container whose own mount there wins ([Existing.Replace]).
func For32Bit(cpuinfoSource string) []Modifier {
	if cpuinfoSource == "" {
		return []Modifier{Personality(), Mark()}
	}
	return []Modifier{CPUInfo(cpuinfoSource), Personality(), Mark()}
}

// Apply runs mods in order and stops at the first error, naming it.
func Apply(d *spec.Doc, mods ...Modifier) error {
	for _, m := range mods {
		if err := m.Apply(d); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return nil
}
