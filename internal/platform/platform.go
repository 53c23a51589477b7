// Package platform parses, normalises and matches OCI platform specifiers
// ("linux/arm/v7", "armhf", "linux/aarch64") exactly as
// github.com/containerd/platforms does, for the two places armhf-shim's
// docker tooling needs them: the --platform the docker CLI wrapper adds,
// and the image picked from a multi-platform OCI index by the 32-bit
// dockerd's rootfs.
//
// The model: a specifier is "os[(version[+feature]*)]/arch[/variant]", or
// one part — a known OS (the architecture is this host's) or a known
// architecture (the OS is this host's). A platform is normalised by
// resolving aliases (aarch64 -> arm64, x86_64 -> amd64, i386 -> 386,
// armhf -> arm/v7, armel -> arm/v6, arm -> arm/v7, arm64/v8 -> arm64,
// arm64/9 -> arm64/v9, macos -> darwin). Two platforms match when their
// normalised OS, architecture and variant are equal and the candidate's OS
// features are among the wanted ones.
//
// The tests check every rule against containerd/platforms itself. The
// library is not linked because its dependencies cost the docker wrapper,
// which runs before every docker command, more than 1% of the cheapest
// docker commands (docs/docker.md, "Cost"). Two differences remain, neither
// reachable by armhf-shim: windows OS-version matching is not implemented
// (only linux images are picked), and a 32-bit arm build would not read the
// CPU's variant for a bare OS (armhf-shim is built for 64-bit hosts).
package platform

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
)

// Platform is an OCI platform (the JSON of an image index's "platform").
type Platform struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version,omitempty"`
	OSFeatures   []string `json:"os.features,omitempty"`
	Variant      string   `json:"variant,omitempty"`
}

// ARMv7 is linux/arm/v7.
var ARMv7 = Platform{OS: "linux", Architecture: "arm", Variant: "v7"}

// String formats p as os/arch[/variant], like containerd's Format (no OS
// version or features).
func (p Platform) String() string {
	if p.OS == "" {
		return "unknown"
	}
	return path.Join(p.OS, p.Architecture, p.Variant)
}

// Normalize returns p with containerd's aliases resolved (an empty OS is
// this host's) and its OS features sorted without duplicates.
func Normalize(p Platform) Platform {
	p.OS = normalizeOS(p.OS)
	p.Architecture, p.Variant = normalizeArch(p.Architecture, p.Variant)
	if len(p.OSFeatures) > 0 {
		f := slices.Clone(p.OSFeatures)
		slices.Sort(f)
		p.OSFeatures = slices.Compact(f)
	}
	return p
}

func normalizeOS(os string) string {
	if os == "" {
		return runtime.GOOS
	}
	os = strings.ToLower(os)
	if os == "macos" {
		os = "darwin"
	}
	return os
}

func normalizeArch(arch, variant string) (string, string) {
	arch, variant = strings.ToLower(arch), strings.ToLower(variant)
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
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		case "9", "9.0", "v9.0":
			variant = "v9"
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
	return arch, variant
}

func isKnownOS(os string) bool {
	switch os {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos":
		return true
	}
	return false
}

func isKnownArch(arch string) bool {
	switch arch {
	case "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm":
		return true
	}
	return false
}

// Parse parses a specifier and normalises it (containerd's Normalize of its
// Parse: containerd's Parse alone keeps some spellings, like linux/arm for
// linux/arm/v7, that Normalize resolves).
func Parse(s string) (Platform, error) {
	bad := func(why string) (Platform, error) {
		return Platform{}, fmt.Errorf("%q: %s (want os/arch[/variant], e.g. %s)", s, why, ARMv7)
	}
	if strings.Contains(s, "*") {
		return bad("wildcards are not supported")
	}
	parts := strings.SplitN(s, "/", 4)
	var p Platform
	name, version, features, ok := splitOS(parts[0])
	if !ok {
		return bad("invalid OS component " + quote(parts[0]))
	}
	p.OS = normalizeOS(name)
	var err error
	if p.OSVersion, err = unescape(version); err != nil {
		return bad("invalid OS version: " + err.Error())
	}
	for _, f := range features {
		if f = strings.TrimSpace(f); f == "" {
			return bad("empty OS feature")
		}
		d, err := unescape(f)
		if err != nil {
			return bad("invalid OS feature: " + err.Error())
		}
		if d != "" {
			p.OSFeatures = append(p.OSFeatures, d)
		}
	}
	for _, part := range parts[1:] {
		if !validComponent(part, true) {
			return bad("invalid component " + quote(part))
		}
	}
	switch len(parts) {
	case 1:
		if isKnownOS(p.OS) {
			p.Architecture = runtime.GOARCH
			return Normalize(p), nil
		}
		p.Architecture, p.Variant = normalizeArch(parts[0], "")
		if !isKnownArch(p.Architecture) {
			return bad("unknown operating system or architecture")
		}
		p.OS = runtime.GOOS
	case 2:
		p.Architecture, p.Variant = normalizeArch(parts[1], "")
	case 3:
		p.Architecture, p.Variant = normalizeArch(parts[1], parts[2])
	default:
		return bad("too many parts")
	}
	return Normalize(p), nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// splitOS reads containerd's OS component, os[(version[+feature]*)]: os
// of letters, digits, '_' and '-'; version and features also of '.' and
// '%' (escapes), each feature after a '+'.
func splitOS(c string) (name, version string, features []string, ok bool) {
	name, opts, hasOpts := strings.Cut(c, "(")
	if !validComponent(name, false) {
		return "", "", nil, false
	}
	if !hasOpts {
		return name, "", nil, true
	}
	opts, closed := strings.CutSuffix(opts, ")")
	if !closed {
		return "", "", nil, false
	}
	version, rest, hasFeatures := strings.Cut(opts, "+")
	if !validOption(version, true) {
		return "", "", nil, false
	}
	if hasFeatures {
		features = strings.Split(rest, "+")
		for _, f := range features {
			if !validOption(f, false) {
				return "", "", nil, false
			}
		}
	}
	return name, version, features, true
}

// validComponent: letters, digits, '_', '-' and, with dot, '.'; not empty.
func validComponent(s string, dot bool) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || dot && c == '.') {
			return false
		}
	}
	return true
}

// validOption: an OS version (may be empty) or feature (may not).
func validOption(s string, mayBeEmpty bool) bool {
	if s == "" {
		return mayBeEmpty
	}
	return validComponent(strings.ReplaceAll(s, "%", "."), true)
}

// unescape decodes %XX escapes as url.PathUnescape does (without linking
// net/url into the wrapper).
func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			end := min(i+3, len(s))
			return "", errors.New("invalid URL escape " + quote(s[i:end]))
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// Known reports whether containerd knows p's OS and architecture (Parse
// accepts any architecture in "os/arch", as containerd does; a caller that
// passes the platform on refuses an unknown one here rather than as a
// failed pull).
func Known(p Platform) bool {
	p = Normalize(p)
	return isKnownOS(p.OS) && isKnownArch(p.Architecture)
}

// Match reports whether have (an image's platform) serves want:
// containerd's NewMatcher(want).Match(have) — the same normalised OS,
// architecture and variant, and have's OS features among want's.
func Match(want, have Platform) bool {
	w, h := Normalize(want), Normalize(have)
	if w.OS != h.OS || w.Architecture != h.Architecture || w.Variant != h.Variant {
		return false
	}
	for _, f := range h.OSFeatures {
		if !slices.Contains(w.OSFeatures, f) {
			return false
		}
	}
	return true
}
