package uname

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Probe is the answer to "does this host run 32-bit code natively?".
type Probe struct {
	Machine       string // kernel machine, e.g. aarch64
	Target        string // the 32-bit target probed: "armhf" or "i386"
	CompatMachine string // what uname -m says in PER_LINUX32, e.g. armv8l

	Personality bool   // the kernel accepted PER_LINUX32
	ExecTested  bool   // the embedded 32-bit ELF was executed
	ExecOK      bool   // ... and exited 0
	ExecErr     string // ... or why not (e.g. "exec format error")
	Emulator    string // a binfmt_misc handler that takes 32-bit ELFs, if any
	EmulatorOn  bool   // ... and it is enabled

	Native bool   // the CPU and kernel run 32-bit code natively
	Method string // how Native was decided
}

// Emulated reports a binfmt_misc handler that intercepts 32-bit ELFs:
// handlers are tried before the kernel's own ELF loader, so while it is
// enabled 32-bit programs run under the emulator even on a host that could
// run them natively.
func (p Probe) Emulated() bool { return p.EmulatorOn }

// Err is nil when the host runs 32-bit code natively, and otherwise says
// why not and what to do instead.
func (p Probe) Err() error {
	if p.Native {
		return nil
	}
	if p.Target == "" {
		return fmt.Errorf("armhf-shim supports arm64 and x86_64 kernels; this one is %q", p.Machine)
	}
	return fmt.Errorf("this %s host cannot run %s code natively (%s); use QEMU user emulation through binfmt_misc instead (%s)",
		p.Machine, p.Target, p.Method, EmulationAdvice(p.Target))
}

// EmulationAdvice says what to install where 32-bit code of target ("armhf"
// or "i386") cannot run natively: the one wording the wrapper's errors and
// doctor share.
func EmulationAdvice(target string) string {
	binfmt := "arm"
	if target == "i386" {
		binfmt = "386"
	}
	return "apt-get install qemu-user-static binfmt-support, or docker run --privileged --rm tonistiigi/binfmt --install " + binfmt
}

// ProbeCompat decides whether this host runs 32-bit code of its compat
// target (armhf on arm64, i386 on x86_64) natively. It never reports
// emulation as native:
//
//  1. personality(PER_LINUX32) failing with EINVAL means the kernel has no
//     32-bit EL0 (arm64 refuses the persona exactly then);
//  2. the embedded exit(0) ELF is executed; ENOEXEC means no compat loader
//     (e.g. CONFIG_COMPAT off, ia32_emulation=0);
//  3. if a binfmt_misc handler would take that ELF, a successful exec proves
//     nothing, so the answer rests on step 1 and the handler is reported.
func ProbeCompat() Probe {
	p := Probe{Machine: kernelMachine()}
	arch := kernelArch(p.Machine)
	switch arch {
	case "arm64":
		p.Target = "armhf"
	case "amd64":
		p.Target = "i386"
	default:
		p.Method = "unsupported kernel architecture"
		return p
	}
	p.CompatMachine = CompatMachine(arch)

	perr := WithPersonality(PerLinux32, func() error { return nil })
	p.Personality = perr == nil
	var execErr error
	if p.Personality {
		elf := Compat32ELF(arch)
		p.Emulator, p.EmulatorOn = binfmtHandler("/proc/sys/fs/binfmt_misc", elf)
		p.ExecTested = true
		if execErr = runELF(elf); execErr != nil {
			p.ExecErr = execErr.Error()
		}
		p.ExecOK = execErr == nil
	}
	p.Native, p.Method = decideNative(arch, perr, execErr, p.Emulator, p.EmulatorOn)
	return p
}

// decideNative is the probe's verdict from its observations: the
// personality call's error, the test execve's error (when the personality
// was accepted) and the binfmt_misc handler that takes 32-bit ELFs. On
// arm64 an accepted PER_LINUX32 is decisive on its own: the kernel accepts
// it only with 32-bit EL0 support (CONFIG_COMPAT and a capable CPU). On
// x86_64 it is always accepted, and only a native execve proves IA32
// support.
func decideNative(arch string, perr, execErr error, emulator string, emulatorOn bool) (bool, string) {
	switch {
	case perr != nil && errors.Is(perr, unix.EINVAL):
		return false, "personality(PER_LINUX32) = EINVAL: the kernel has no 32-bit EL0 on this CPU"
	case perr != nil:
		return false, "personality(PER_LINUX32) failed: " + perr.Error()
	case execErr != nil && errors.Is(execErr, syscall.ENOEXEC):
		return false, "execve of a 32-bit test ELF = ENOEXEC: the kernel has no 32-bit loader"
	case execErr != nil && arch == "arm64":
		return true, "personality(PER_LINUX32) accepted, which is decisive on arm64; the execve test could not run (" +
			execErr.Error() + ")"
	case execErr != nil:
		return false, "execve of a 32-bit test ELF failed: " + execErr.Error()
	case emulatorOn:
		// The exec went through the emulator; only the personality speaks for
		// the hardware, and on arm64 it is decisive.
		return arch == "arm64", "personality(PER_LINUX32) accepted; the execve test is inconclusive because binfmt_misc handler " +
			emulator + " intercepts 32-bit ELFs"
	}
	return true, "personality(PER_LINUX32) accepted and a 32-bit test ELF ran natively"
}

// runELF executes elf from an anonymous memory file and waits for it.
func runELF(elf []byte) error {
	fd, err := unix.MemfdCreate("armhf-shim-probe", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	w := os.NewFile(uintptr(fd), "armhf-shim-probe")
	defer w.Close()
	if _, err := w.Write(elf); err != nil {
		return err
	}
	// A file open for writing cannot be executed (ETXTBSY): execute a
	// read-only reopening, passed to the child as fd 3.
	r, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return err
	}
	defer r.Close()
	w.Close()
	cmd := exec.Command("/proc/self/fd/3")
	cmd.ExtraFiles = []*os.File{r}
	if err := cmd.Run(); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	return nil
}

// BinfmtHandler is [ProbeCompat]'s binfmt_misc look-up for a given
// binfmt_misc mount (dir) and kernel machine ("aarch64", "x86_64"): the
// handler that takes the compat target's 32-bit ELFs, and whether it is
// enabled. Doctor asks it of a fixture /proc, which ProbeCompat cannot.
func BinfmtHandler(dir, machine string) (string, bool) {
	elf := Compat32ELF(kernelArch(machine))
	if elf == nil {
		return "", false
	}
	return binfmtHandler(dir, elf)
}

// binfmtHandler returns the name of a registered binfmt_misc handler whose
// magic and mask match elf, and whether it is enabled (both the handler and
// binfmt_misc as a whole). An enabled handler is preferred: it is the one
// that intercepts the ELF, whatever disabled entries (e.g. a stale "arm"
// next to binfmt-support's "qemu-arm") match before it. A disabled match is
// returned, as off, only when no enabled one exists.
func binfmtHandler(dir string, elf []byte) (string, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	globalOn := true
	if st, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		globalOn = strings.TrimSpace(string(st)) == "enabled"
	}
	disabled := ""
	for _, e := range entries {
		if e.Name() == "status" || e.Name() == "register" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		h := parseBinfmt(data)
		if !h.matches(elf) {
			continue
		}
		name := e.Name()
		if h.interpreter != "" {
			name += " (" + h.interpreter + ")"
		}
		if h.enabled {
			return name, globalOn
		}
		if disabled == "" {
			disabled = name
		}
	}
	return disabled, false
}

type binfmtEntry struct {
	enabled     bool
	interpreter string
	offset      int
	magic, mask []byte
}

// parseBinfmt parses a /proc/sys/fs/binfmt_misc entry:
//
//	enabled
//	interpreter /usr/bin/qemu-arm-static
//	flags: OCF
//	offset 0
//	magic 7f454c4601010100000000000000000002002800
//	mask ffffffffffffff00fffffffffffffffffeffffff
func parseBinfmt(data []byte) binfmtEntry {
	var h binfmtEntry
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "enabled":
			h.enabled = true
		case "interpreter":
			h.interpreter = v
		case "offset":
			h.offset, _ = strconv.Atoi(v)
		case "magic":
			h.magic, _ = hex.DecodeString(v)
		case "mask":
			h.mask, _ = hex.DecodeString(v)
		}
	}
	return h
}

func (h binfmtEntry) matches(file []byte) bool {
	if len(h.magic) == 0 || h.offset < 0 || h.offset+len(h.magic) > len(file) {
		return false
	}
	got := bytes.Clone(file[h.offset : h.offset+len(h.magic)])
	want := bytes.Clone(h.magic)
	if len(h.mask) == len(h.magic) {
		for i := range got {
			got[i] &= h.mask[i]
			want[i] &= h.mask[i]
		}
	}
	return bytes.Equal(got, want)
}
