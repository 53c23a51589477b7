// Package detect decides whether armhf-shim changes a container.
//
// The model is a decision table, first match wins:
//
//  1. the annotation io.armhf-shim.enable ("true"/"false") — the operator's
//     word for one container (docker run --annotation, a Kubernetes pod);
//  2. ARMHF_SHIM=1|0 in the container process's environment
//     (docker run -e ARMHF_SHIM=1), its values internal/config's Switch;
//  3. auto-detection: the container is 32-bit when the ELF header of its
//     process executable says ELFCLASS32 with the compat machine of this
//     host (EM_ARM on arm64, EM_386 on amd64; no other host has one).
//
// Everything else is passed through untouched, which is what lets the
// wrapper be a daemon's default runtime.
//
// The executable is found as the kernel and runc would: process.args[0]
// through the PATH of process.env (a name with a slash relative to
// process.cwd), following symlinks with the root filesystem as "/"
// (package inroot: openat2 RESOLVE_IN_ROOT, else filepath-securejoin's
// walk), so an absolute symlink in an image resolves inside the image and
// nothing outside the rootfs is ever opened. Only regular files are opened (never a FIFO or device a hostile
// image might put at /bin/sh), without following a final symlink. A "#!"
// script is followed to its interpreter, up to the kernel's four levels.
package detect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/inroot"
	"golang.org/x/sys/unix"
)

// AnnotationEnable forces the decision for one container.
const AnnotationEnable = "io.armhf-shim.enable"

// EnvEnable in the container process's environment forces the decision.
const EnvEnable = config.EnvSwitch

// DefaultPATH is used when process.env has no PATH (runc's and Docker's).
const DefaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ELF machine numbers.
const (
	EM386     = 3
	EMARM     = 40
	EMX86_64  = 62
	EMAARCH64 = 183
)

// compatELFMachine returns the ELF machine (e_machine) of the 32-bit code
// a 64-bit kernel of goarch runs natively: EM_ARM on arm64, EM_386 on
// amd64. (uname.CompatMachine is the other name of the same mode: what
// uname -m says in it.)
func compatELFMachine(goarch string) (uint16, bool) {
	switch goarch {
	case "arm64":
		return EMARM, true
	case "amd64":
		return EM386, true
	}
	return 0, false
}

// Rule says which row of the table decided.
type Rule int

// The rows of the decision table.
const (
	RuleNone Rule = iota
	RuleAnnotation
	RuleEnv
	RuleAuto
)

// Decision is the outcome of [Decide].
type Decision struct {
	Enable bool
	Rule   Rule
	// Why names the rule that decided and its evidence, for the debug log.
	Why string
}

// AutoFunc runs auto-detection (rule 3) only when rules 1 and 2 are silent.
type AutoFunc func() (enable bool, why string, err error)

// Decide applies the decision table. A malformed annotation or environment
// value is an error: a typo must not silently pick a side.
func Decide(annotations map[string]string, env []string, auto AutoFunc) (Decision, error) {
	if d, ok, err := explicit(annotations, env); ok || err != nil {
		return d, err
	}
	if auto == nil {
		return Decision{Why: "no annotation, no environment, no auto-detection"}, nil
	}
	en, why, err := auto()
	if err != nil {
		return Decision{}, err
	}
	return Decision{Enable: en, Rule: RuleAuto, Why: "auto-detected: " + why}, nil
}

// explicit applies the annotation and the environment rules; ok: one of
// them decided.
func explicit(annotations map[string]string, env []string) (d Decision, ok bool, err error) {
	if v, ok := annotations[AnnotationEnable]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Decision{}, false, fmt.Errorf("annotation %s=%q: want true or false", AnnotationEnable, v)
		}
		return Decision{Enable: b, Rule: RuleAnnotation, Why: fmt.Sprintf("annotation %s=%s", AnnotationEnable, v)}, true, nil
	}
	if v, ok := LookupEnv(env, EnvEnable); ok && v != "" {
		b, err := config.Switch(v)
		if err != nil {
			return Decision{}, false, fmt.Errorf("process environment %s=%q: %v", EnvEnable, v, err)
		}
		return Decision{Enable: b, Rule: RuleEnv, Why: fmt.Sprintf("process environment %s=%s", EnvEnable, v)}, true, nil
	}
	return Decision{}, false, nil
}

// LookupEnv finds key in a container's process.env (KEY=VALUE); the last
// entry wins, as in the container: runc sets process.env one entry after
// the other (libcontainer's os.Setenv per entry), so a repeated name ends
// with its last value.
func LookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:], true
		}
	}
	return "", false
}

// ELF is what an executable's header says.
type ELF struct {
	Name    string // process.args[0]
	Path    string // inside the rootfs, as found on PATH (symlinks not shown resolved)
	Class   byte   // 1 = ELFCLASS32, 2 = ELFCLASS64
	Machine uint16
	// Chain lists the scripts followed to reach Path ("#!" interpreters).
	Chain []string
}

// Bits is 32 or 64 (0 for an unknown class).
func (e ELF) Bits() int {
	switch e.Class {
	case 1:
		return 32
	case 2:
		return 64
	}
	return 0
}

func (e ELF) String() string {
	s, first := e.Path, e.Path
	if len(e.Chain) > 0 {
		s, first = strings.Join(e.Chain, " -> ")+" -> "+s, e.Chain[0]
	}
	if e.Name != "" && e.Name != first {
		s = e.Name + " -> " + s
	}
	return s + " is ELF" + strconv.Itoa(e.Bits()) + " " + machineName(e.Machine)
}

func machineName(m uint16) string {
	switch m {
	case EM386:
		return "i386"
	case EMARM:
		return "arm"
	case EMX86_64:
		return "x86-64"
	case EMAARCH64:
		return "aarch64"
	}
	return "machine " + strconv.Itoa(int(m))
}

// ErrNotFound is returned when the process executable does not resolve to
// a regular file inside the rootfs.
var ErrNotFound = errors.New("executable not found in the rootfs")

// ErrNotELF is returned for a file that is neither ELF nor a "#!" script.
var ErrNotELF = errors.New("not an ELF executable")

// Inspect finds the process executable of a container in rootfs (a host
// directory) and reads its ELF header.
func Inspect(rootfs string, args, env []string, cwd string) (ELF, error) {
	if len(args) == 0 || args[0] == "" {
		return ELF{}, fmt.Errorf("process.args is empty: %w", ErrNotFound)
	}
	if cwd == "" {
		cwd = "/"
	}
	pathEnv, ok := LookupEnv(env, "PATH")
	if !ok {
		pathEnv = DefaultPATH
	}
	r, err := inroot.Open(rootfs)
	if err != nil {
		return ELF{}, fmt.Errorf("rootfs %s: %v: %w", rootfs, err, ErrNotFound)
	}
	defer r.Close()
	e := ELF{Name: args[0]}
	name := e.Name
	for depth := 0; ; depth++ {
		hdr, inRoot, err := find(r, name, pathEnv, cwd)
		if err != nil {
			return ELF{}, err
		}
		if bytes.HasPrefix(hdr, []byte("#!")) {
			interp, err := shebang(hdr)
			if err != nil {
				return ELF{}, fmt.Errorf("%s: %w", inRoot, err)
			}
			if depth >= 4 {
				return ELF{}, fmt.Errorf("%s: more than 4 levels of #! interpreters", inRoot)
			}
			e.Chain = append(e.Chain, inRoot)
			name = interp
			continue
		}
		parsed, err := parseELF(hdr)
		if err != nil {
			return ELF{}, fmt.Errorf("%s: %w", inRoot, err)
		}
		e.Path, e.Class, e.Machine = inRoot, parsed.Class, parsed.Machine
		return e, nil
	}
}

// find returns the first bytes and the in-root path of the first PATH
// candidate for name that is an executable regular file. The path is the
// candidate as opened ("/bin/sh"), not where its symlinks lead: naming
// that would cost a readlink of /proc/self/fd per lookup, for a message.
func find(r *inroot.Root, name, pathEnv, cwd string) (hdr []byte, inRoot string, err error) {
	try := func(c string) bool {
		if !path.IsAbs(c) {
			c = path.Join(cwd, c)
		}
		// Without blocking (a FIFO) or taking a controlling terminal.
		fd, err := r.OpenFile(c, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
		if err != nil {
			return false // missing, a loop, ENOTDIR: not this candidate
		}
		defer unix.Close(fd)
		if hdr, err = readHeader(fd); err != nil {
			return false // a directory, FIFO, device or non-executable file
		}
		inRoot = c
		return true
	}
	if strings.Contains(name, "/") {
		if try(name) {
			return hdr, inRoot, nil
		}
	} else {
		for dir := range strings.SplitSeq(pathEnv, ":") {
			if dir == "" {
				dir = "."
			}
			if try(path.Join(dir, name)) {
				return hdr, inRoot, nil
			}
		}
	}
	return nil, "", fmt.Errorf("%q (PATH=%s): %w", name, pathEnv, ErrNotFound)
}

// readHeader reads the first bytes of fd if it is an executable regular
// file (never a FIFO, device or directory).
func readHeader(fd int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return nil, fmt.Errorf("not an executable regular file: %w", ErrNotFound)
	}
	buf := make([]byte, 256)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// shebang returns the interpreter of a "#!" line.
func shebang(hdr []byte) (string, error) {
	line := hdr[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return "", fmt.Errorf("empty #! line: %w", ErrNotELF)
	}
	return f[0], nil
}

func parseELF(hdr []byte) (ELF, error) {
	if len(hdr) < 20 || !bytes.HasPrefix(hdr, []byte("\x7fELF")) {
		return ELF{}, ErrNotELF
	}
	var e ELF
	e.Class = hdr[4]
	switch hdr[5] {
	case 1:
		e.Machine = binary.LittleEndian.Uint16(hdr[18:])
	case 2:
		e.Machine = binary.BigEndian.Uint16(hdr[18:])
	default:
		return ELF{}, fmt.Errorf("bad ELF data encoding %d: %w", hdr[5], ErrNotELF)
	}
	return e, nil
}

// Auto returns the auto-detection rule for a container: 32-bit when its
// executable is ELFCLASS32 of goarch's compat machine. An executable that
// cannot be found or read means "not 32-bit" (the runtime then reports
// its own error, if any), never a failure of the wrapper.
func Auto(rootfs string, args, env []string, cwd, goarch string) AutoFunc {
	return func() (bool, string, error) {
		want, ok := compatELFMachine(goarch)
		if !ok {
			return false, "a " + goarch + " host runs no 32-bit compat code", nil
		}
		e, err := Inspect(rootfs, args, env, cwd)
		if err != nil {
			return false, "cannot inspect the process executable (" + err.Error() + ")", nil
		}
		return e.Class == 1 && e.Machine == want, e.String(), nil
	}
}
