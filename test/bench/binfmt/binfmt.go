// Package binfmt registers a binfmt_misc handler for as long as a function
// runs and removes it afterwards, whatever happens.
//
// The model: a handler is one line written to binfmt_misc's register file
// (":name:M::magic:mask:interpreter:flags"); the kernel then runs every
// executable whose first bytes match magic under mask through the
// interpreter, children and grandchildren included, which is how QEMU user
// emulation follows a multi-process build. binfmt_misc is consulted before
// the kernel's own ELF loaders, so a handler for i386 ELF on x86_64 (or
// armhf ELF on arm64) takes every such binary on the machine, native-capable
// or not. The bench therefore registers it only in a binfmt_misc instance
// of its own: since Linux 6.7 a user namespace that mounts binfmt_misc gets
// a private instance, used by the processes of that namespace and no
// others (binfmtrun does this). The handler is still removed explicitly,
// by name, when the function returns, fails or panics: a process left
// running in the namespace would otherwise keep it alive.
package binfmt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Dir is where binfmt_misc is mounted.
const Dir = "/proc/sys/fs/binfmt_misc"

// ELF machine numbers (e_machine) of the 32-bit targets.
const (
	EM386 = 3  // i386
	EMARM = 40 // armhf
)

// Handler is one binfmt_misc entry matching on magic bytes at offset 0.
type Handler struct {
	Name        string
	Magic, Mask []byte
	Interpreter string
	// Flags are binfmt_misc's letters: F opens the interpreter now, so it
	// also works inside a chroot that does not hold it.
	Flags string
}

// ELF32 is the handler qemu-user-static registers for 32-bit
// little-endian executables and shared objects of machine (EM386, EMARM):
// the ELF identification, ignoring the OS ABI bytes, and e_type 2 or 3.
func ELF32(name string, machine byte, interpreter string) Handler {
	return Handler{
		Name:        name,
		Magic:       []byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, machine, 0},
		Mask:        []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xfe, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff},
		Interpreter: interpreter,
		Flags:       "F",
	}
}

// Line is what register takes for h. Every magic and mask byte is
// written as \xHH, so none of them can be read as the line's ':' separator.
func (h Handler) Line() (string, error) {
	switch {
	case h.Name == "" || strings.ContainsAny(h.Name, ":/\n") || h.Name == "." || h.Name == ".." || h.Name == "register" || h.Name == "status":
		return "", fmt.Errorf("binfmt: bad handler name %q", h.Name)
	case len(h.Magic) == 0 || len(h.Mask) != len(h.Magic):
		return "", fmt.Errorf("binfmt: %s: magic of %d bytes, mask of %d", h.Name, len(h.Magic), len(h.Mask))
	case !filepath.IsAbs(h.Interpreter) || strings.ContainsAny(h.Interpreter, ":\n"):
		return "", fmt.Errorf("binfmt: %s: interpreter %q is not an absolute path without ':'", h.Name, h.Interpreter)
	}
	hex := func(b []byte) string {
		var s strings.Builder
		for _, c := range b {
			fmt.Fprintf(&s, `\x%02x`, c)
		}
		return s.String()
	}
	return ":" + h.Name + ":M::" + hex(h.Magic) + ":" + hex(h.Mask) + ":" + h.Interpreter + ":" + h.Flags, nil
}

// Register adds h to the binfmt_misc instance mounted at dir.
func Register(dir string, h Handler) error {
	line, err := h.Line()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "register"), []byte(line), 0); err != nil {
		return fmt.Errorf("binfmt: registering %s: %w", h.Name, err)
	}
	return nil
}

// Remove removes the handler name from the instance at dir; a handler
// that is not there is not an error.
func Remove(dir, name string) error {
	err := os.WriteFile(filepath.Join(dir, name), []byte("-1"), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("binfmt: removing %s: %w", name, err)
	}
	if Registered(dir, name) {
		return fmt.Errorf("binfmt: %s is still registered after its removal", name)
	}
	return nil
}

// Registered reports whether the instance at dir has a handler name.
func Registered(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, name))
	return err == nil
}

// With registers h in the instance at dir, runs fn and removes h again,
// also when fn fails or panics. A handler of the same name already there
// is an error: it is someone else's.
func With(dir string, h Handler, fn func() error) (err error) {
	if Registered(dir, h.Name) {
		return fmt.Errorf("binfmt: a handler %s is already registered in %s", h.Name, dir)
	}
	if err := Register(dir, h); err != nil {
		return err
	}
	defer func() {
		if rerr := Remove(dir, h.Name); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	return fn()
}

// Command is argv run by the binfmtrun program runner with h registered
// in a binfmt_misc instance of its own: runner is started in a new user
// and mount namespace (as root, root maps to itself), mounts a fresh
// binfmt_misc over Dir there and runs argv with h, so only argv and its
// children see h.
func Command(runner string, h Handler, argv ...string) (*exec.Cmd, error) {
	line, err := h.Line()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(runner, append([]string{"-handler", line, "--"}, argv...)...)
	uid, gid := os.Getuid(), os.Getgid()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
	}
	return cmd, nil
}

// Parse is the handler of a register line as Line writes it (hex-escaped
// magic and mask, offset 0).
func Parse(line string) (Handler, error) {
	f := strings.Split(line, ":")
	if len(f) != 8 || f[0] != "" || f[2] != "M" || (f[3] != "" && f[3] != "0") {
		return Handler{}, fmt.Errorf("binfmt: %q is not a magic handler line :name:M::magic:mask:interpreter:flags", line)
	}
	unhex := func(s string) ([]byte, error) {
		var b []byte
		for s != "" {
			var c byte
			if len(s) < 4 || s[:2] != `\x` {
				return nil, fmt.Errorf("binfmt: %q: want \\xHH bytes", line)
			}
			if _, err := fmt.Sscanf(s[2:4], "%02x", &c); err != nil {
				return nil, fmt.Errorf("binfmt: %q: %v", line, err)
			}
			b, s = append(b, c), s[4:]
		}
		return b, nil
	}
	magic, err := unhex(f[4])
	if err != nil {
		return Handler{}, err
	}
	mask, err := unhex(f[5])
	if err != nil {
		return Handler{}, err
	}
	h := Handler{Name: f[1], Magic: magic, Mask: mask, Interpreter: f[6], Flags: f[7]}
	if _, err := h.Line(); err != nil {
		return Handler{}, err
	}
	return h, nil
}
