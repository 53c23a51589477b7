// Package platform parses and normalises OCI platform specifiers
// ("linux/arm/v7", "armhf", "linux/aarch64") the way
// github.com/containerd/platforms does, for the two places armhf-shim's
// docker tooling needs them: the --platform the docker wrapper adds, and the
// image picked from a multi-platform OCI index.
//
// The model: a platform is OS, architecture and variant, normalised
// (aarch64 -> arm64, x86_64 -> amd64, armhf -> arm/v7, arm -> arm/v7,
// arm64/v8 -> arm64). Two platforms match when their normalised forms are
// equal. The tests check every rule against containerd/platforms itself; the
// library is not linked into armhf-shim because its dependencies
// (go-digest's regular expressions, logrus) cost every invocation of the
// binary — every docker and runc call — their package initialisation.
package platform

import (
	"fmt"
	"runtime"
	"strings"
)

// Platform is an OCI platform (the JSON of an image index's "platform").
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// ARMv7 is linux/arm/v7.
var ARMv7 = Platform{OS: "linux", Architecture: "arm", Variant: "v7"}

// String formats p as os/arch[/variant].
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Normalize returns p with containerd's aliases resolved.
func Normalize(p Platform) Platform {
	p.OS = strings.ToLower(p.OS)
	if p.OS == "macos" {
		p.OS = "darwin"
	}
	arch, variant := strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		if variant == "8" || variant == "v8" {
			variant = ""
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	p.Architecture, p.Variant = arch, variant
	return p
}

func validPart(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

var knownOS = map[string]bool{
	"aix": true, "android": true, "darwin": true, "macos": true, "dragonfly": true, "freebsd": true, "hurd": true,
	"illumos": true, "ios": true, "js": true, "linux": true, "nacl": true, "netbsd": true, "openbsd": true,
	"plan9": true, "solaris": true, "windows": true, "zos": true, "wasip1": true,
}

// Parse parses "os/arch[/variant]", "os" or "arch" (the missing part is
// this host's, as containerd does) and normalises it.
func Parse(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	for _, p := range parts {
		if !validPart(p) {
			return Platform{}, fmt.Errorf("%q: invalid platform specifier (want os/arch[/variant], e.g. %s)", s, ARMv7)
		}
	}
	var p Platform
	switch len(parts) {
	case 1:
		if knownOS[strings.ToLower(parts[0])] {
			p = Platform{OS: parts[0], Architecture: runtime.GOARCH}
		} else {
			p = Platform{OS: "linux", Architecture: parts[0]}
		}
	case 2:
		p = Platform{OS: parts[0], Architecture: parts[1]}
	case 3:
		p = Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}
	default:
		return Platform{}, fmt.Errorf("%q: too many parts for a platform (want os/arch[/variant])", s)
	}
	return Normalize(p), nil
}

// Match reports whether a and b are the same platform once normalised.
func Match(a, b Platform) bool {
	return Normalize(a) == Normalize(b)
}
