package doctor

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/uname"
)

// The kernel's own parts of running armhf natively, beyond the CPU: its
// configuration, its page size, the ARMv8 deprecated-instruction knobs and
// binfmt_misc. Facts are read from a root (Options.Proc, Options.Root) so
// tests use a fixture /proc and /boot; JudgeKernel is pure.

// Check statuses. Only StatusProblem goes to the report's problems.
const (
	StatusOK            = "ok"
	StatusWarning       = "warning"
	StatusProblem       = "problem"
	StatusUnknown       = "unknown"
	StatusNotApplicable = "not applicable"
)

// KernelReport is the report's kernel section.
type KernelReport struct {
	Machine string `json:"machine"`
	Release string `json:"release"`
	// Config is CONFIG_COMPAT on arm64 (CONFIG_IA32_EMULATION on x86_64).
	Config   KernelCheck `json:"config"`
	PageSize KernelCheck `json:"page_size"`
	// ABI are the ARMv8 deprecated-instruction knobs, in the order swp,
	// cp15_barrier, setend.
	ABI    []KernelCheck `json:"abi"`
	Binfmt KernelCheck   `json:"binfmt"`
}

// KernelCheck is one judged kernel fact.
type KernelCheck struct {
	Name   string `json:"name"`
	Value  string `json:"value"`            // as read; "" when unknown
	Source string `json:"source,omitempty"` // where it was read
	Status string `json:"status"`           // ok | warning | problem | unknown | not applicable
	Detail string `json:"detail"`           // what it means, for people
	Fix    string `json:"fix,omitempty"`
}

// KernelFacts are what the kernel checks are judged from.
type KernelFacts struct {
	Machine, Release string
	// Config is the kernel's build configuration ("CONFIG_COMPAT" -> "y";
	// "n" for "is not set"), nil when none was found; ConfigSource the file
	// read, ConfigTried the files looked for.
	Config       map[string]string
	ConfigSource string
	ConfigTried  []string
	Cmdline      string // /proc/cmdline
	// PageSize is the kernel's page size in bytes (0 = unknown), from
	// PageSizeSource.
	PageSize       int
	PageSizeSource string
	// ABI maps each knob under /proc/sys/abi that exists to its value.
	ABI    map[string]string
	ABIDir string
	// BinfmtMounted: binfmt_misc is mounted at BinfmtDir (its register
	// file exists); Binfmt names the handler that takes the compat 32-bit
	// ELF ("" = none) and BinfmtOn whether it intercepts.
	BinfmtDir     string
	BinfmtMounted bool
	Binfmt        string
	BinfmtOn      bool
	// Native is the AArch32 / IA32 probe's answer (the CPU and kernel run
	// 32-bit code).
	Native bool
}

func isARM64(machine string) bool { return machine == "aarch64" || machine == "arm64" }

// abiKnobs are the ARMv8 deprecated-instruction knobs, with the kernel
// option that provides each and what uses the instruction.
var abiKnobs = []struct{ name, option, what string }{
	{"swp", "CONFIG_SWP_EMULATION", "SWP/SWPB (obsolete in ARMv8: only ARMv5-era code and glibc <= 2.8 use it; ARMv7 code uses LDREX/STREX)"},
	{"cp15_barrier", "CONFIG_CP15_BARRIER_EMULATION", "CP15 barriers (mcr p15 c7 barriers, the ARMv6 way: ARMv7 code such as Debian's armhf uses the DMB/DSB/ISB instructions; ARMv6 builds such as Raspbian's use CP15 barriers)"},
	{"setend", "CONFIG_SETEND_EMULATION", "SETEND (mixed-endian data access in some hand-written ARM code)"},
}

// JudgeKernel judges the kernel facts; each check says what fixes it.
func JudgeKernel(f KernelFacts) KernelReport {
	r := KernelReport{Machine: f.Machine, Release: f.Release}
	r.Config = judgeConfig(f)
	r.PageSize = judgePageSize(f)
	for _, k := range abiKnobs {
		r.ABI = append(r.ABI, judgeABI(f, k.name, k.option, k.what))
	}
	r.Binfmt = judgeBinfmt(f)
	return r
}

// verdict is doctor's NO when the kernel is why 32-bit code does not run
// natively ("" otherwise): the page size, then the config option, each
// with its fix. The kernel cannot tell whether the CPU (cpu, by name) has
// AArch32 at EL0 — a Graviton4 has none — so the fix says it needs one.
func (r KernelReport) verdict(native bool, cpu string) string {
	if native {
		return ""
	}
	for _, c := range []KernelCheck{r.PageSize, r.Config} {
		if c.Status == StatusProblem {
			needs, target := "", "i386"
			if isARM64(r.Machine) {
				needs, target = fmt.Sprintf(" (another kernel helps only on a CPU with AArch32 at EL0; this one: %s)", cpu), "armhf"
			}
			return fmt.Sprintf("NO: this host cannot run 32-bit code natively because of its kernel: %s. Fix: %s%s; "+
				"or build under QEMU user emulation instead: %s", c.Detail, c.Fix, needs, uname.EmulationAdvice(target))
		}
	}
	return ""
}

// Problems are the checks that fail, each with its fix.
func (r KernelReport) Problems() []string {
	var out []string
	for _, c := range append([]KernelCheck{r.Config, r.PageSize, r.Binfmt}, r.ABI...) {
		if c.Status == StatusProblem {
			out = append(out, fmt.Sprintf("kernel %s: %s; fix: %s", c.Name, c.Detail, c.Fix))
		}
	}
	return out
}

func judgeConfig(f KernelFacts) KernelCheck {
	var opt string
	switch {
	case isARM64(f.Machine):
		opt = "CONFIG_COMPAT"
	case f.Machine == "x86_64":
		opt = "CONFIG_IA32_EMULATION"
	default:
		return KernelCheck{Name: "config", Status: StatusNotApplicable, Detail: "armhf-shim supports arm64 and x86_64 kernels; this one is " + f.Machine}
	}
	c := KernelCheck{Name: opt, Source: f.ConfigSource}
	if f.Config == nil {
		c.Status = StatusUnknown
		c.Detail = fmt.Sprintf("the kernel's configuration is not readable here (none of %s exists), so %s is unknown; the compat probe still answers whether 32-bit code runs",
			strings.Join(f.ConfigTried, ", "), opt)
		c.Fix = "to see it: modprobe configs (creates /proc/config.gz when the kernel has CONFIG_IKCONFIG=m), or install the kernel's config file in /boot"
		return c
	}
	v, ok := f.Config[opt]
	if !ok {
		v = "n"
	}
	c.Value = v
	if v != "y" {
		c.Status = StatusProblem
		if opt == "CONFIG_COMPAT" {
			c.Detail = "the kernel is built without CONFIG_COMPAT: it cannot run 32-bit ARM (armhf) programs at all, whatever the CPU"
			c.Fix = "boot a kernel built with CONFIG_COMPAT=y and 4K pages (Debian's linux-image-arm64, Ubuntu's linux-generic; RHEL's arm64 kernels, kernel and kernel-64k alike, are built without it)"
		} else {
			c.Detail = "the kernel is built without CONFIG_IA32_EMULATION: it cannot run 32-bit x86 programs"
			c.Fix = "boot a kernel built with CONFIG_IA32_EMULATION=y (every major distribution's x86_64 kernel)"
		}
		return c
	}
	c.Status, c.Detail = StatusOK, "the kernel runs 32-bit ARM programs (AArch32 EL0) on CPUs that have AArch32"
	if opt == "CONFIG_IA32_EMULATION" {
		c.Detail = "the kernel runs 32-bit x86 programs"
		// Since Linux 6.7 a kernel may build it in but leave it off by default.
		off := f.Config["CONFIG_IA32_EMULATION_DEFAULT_DISABLED"] == "y"
		switch cmdlineParam(f.Cmdline, "ia32_emulation") {
		case "0", "false", "n", "no", "off":
			off = true
		case "1", "true", "y", "yes", "on":
			off = false
		}
		if off {
			c.Status = StatusProblem
			c.Detail = "CONFIG_IA32_EMULATION is built in but switched off (CONFIG_IA32_EMULATION_DEFAULT_DISABLED, or ia32_emulation=0 on the kernel command line)"
			c.Fix = "boot with ia32_emulation=1 on the kernel command line"
		}
	}
	return c
}

func judgePageSize(f KernelFacts) KernelCheck {
	c := KernelCheck{Name: "page_size", Source: f.PageSizeSource}
	if f.PageSize > 0 {
		c.Value = strconv.Itoa(f.PageSize)
	}
	switch {
	case !isARM64(f.Machine):
		c.Status = StatusNotApplicable
		c.Detail = "only arm64 kernels come with 16K or 64K pages; x86 base pages are 4K"
	case f.PageSize == 0:
		c.Status = StatusUnknown
		c.Detail = "the page size could not be read (no KernelPageSize in " + f.PageSizeSource + ")"
	case f.PageSize == 4096:
		c.Status, c.Detail = StatusOK, "4K pages, as 32-bit ARM programs need"
	case f.Native || f.Config["CONFIG_COMPAT"] == "y":
		// arm64 allows CONFIG_COMPAT with 16K/64K pages (as an EXPERT
		// option, e.g. the Raspberry Pi 5's 16K kernel): the kernel then
		// runs 32-bit code, but only programs whose segments suit its
		// pages. The page size does not decide PER_LINUX32, so on such a
		// kernel it is not why the probe failed (the CPU is).
		c.Status = StatusWarning
		c.Detail = fmt.Sprintf("this kernel uses %dK pages and has 32-bit support (CONFIG_COMPAT): it loads only armhf programs whose ELF segments are aligned to %dK; those linked for 4K pages fail at exec",
			f.PageSize/1024, f.PageSize/1024)
		c.Fix = "if armhf programs fail at exec, boot a 4K-page kernel: on Debian linux-image-arm64 instead of linux-image-arm64-16k"
	default:
		c.Status = StatusProblem
		c.Detail = fmt.Sprintf("this kernel uses %dK pages: a %dK-page kernel cannot run armhf binaries (arm64 offers CONFIG_COMPAT with pages other than 4K only as an expert option, and even then only for programs whose segments are aligned to %dK)",
			f.PageSize/1024, f.PageSize/1024, f.PageSize/1024)
		c.Fix = "boot a 4K-page kernel: on Debian linux-image-arm64 instead of linux-image-arm64-16k"
	}
	return c
}

func judgeABI(f KernelFacts, name, option, what string) KernelCheck {
	c := KernelCheck{Name: "abi." + name, Source: filepath.Join(f.ABIDir, name)}
	if !isARM64(f.Machine) {
		c.Status, c.Source = StatusNotApplicable, ""
		c.Detail = "the ARMv8 deprecated-instruction knobs exist only on arm64 kernels"
		return c
	}
	if !f.Native {
		c.Status = StatusNotApplicable
		c.Detail = "this host runs no 32-bit ARM code natively, so nothing can use " + name
		c.Value = f.ABI[name]
		return c
	}
	v, ok := f.ABI[name]
	if !ok && f.Config[option] == "y" {
		// Built in, yet no knob: the kernel found the CPUs unable (setend
		// needs mixed-endian EL0 on every CPU), so another kernel won't help.
		c.Status = StatusWarning
		c.Detail = fmt.Sprintf("the kernel is built with %s but offers no %s knob: the CPUs cannot support it (setend needs mixed-endian data access at EL0 on every CPU), so armv7 binaries using %s die with SIGILL",
			option, c.Source, what)
		c.Fix = "run binaries that use it on other hardware or under QEMU user emulation; no kernel setting changes this"
		return c
	}
	if !ok {
		c.Status = StatusWarning
		c.Detail = fmt.Sprintf("the kernel has no %s knob (built without %s): armv7 binaries using %s die with SIGILL, and nothing but another kernel changes that",
			c.Source, option, what)
		c.Fix = "boot a kernel with CONFIG_ARMV8_DEPRECATED and " + option + " (Debian's linux-image-arm64 has them) if your binaries use it"
		return c
	}
	c.Value = v
	sysctl := fmt.Sprintf("sysctl -w abi.%s=1, and keep it with echo abi.%s=1 > /etc/sysctl.d/90-armhf-shim.conf", name, name)
	switch v {
	case "1":
		c.Status, c.Detail = StatusOK, what+" is emulated by the kernel (traced, with rate-limited warnings in dmesg)"
	case "2":
		c.Status, c.Detail = StatusOK, what+" is executed by the CPU (hardware execution)"
	case "0":
		c.Detail = what + " is undefined: armv7 binaries using it die with SIGILL"
		c.Fix = sysctl
		c.Status = StatusProblem
		switch name {
		case "swp":
			// The kernel's own default for an obsolete instruction; armhf
			// (ARMv7) code does not use it.
			c.Status = StatusWarning
			c.Detail += " (the kernel's default; only pre-ARMv6 code uses SWP)"
			c.Fix = "if a binary dies with SIGILL on SWP: " + sysctl
		case "cp15_barrier":
			// ARMv7 compilers emit DMB, so armhf code runs without them;
			// only ARMv6 builds die, hence a warning. Yet 0 is not the
			// kernel's default (1, for a deprecated instruction): someone
			// chose it.
			c.Status = StatusWarning
			c.Detail = what + " is undefined: ARMv6 binaries using them die with SIGILL (not the kernel's default, 1 = emulate; ARMv7 armhf code is not affected)"
			c.Fix = "if an ARMv6 binary dies with SIGILL: " + sysctl
		}
	default:
		c.Status, c.Detail = StatusUnknown, fmt.Sprintf("unexpected value %q (0 undef, 1 emulate, 2 hardware)", v)
	}
	return c
}

func judgeBinfmt(f KernelFacts) KernelCheck {
	c := KernelCheck{Name: "binfmt_misc", Source: f.BinfmtDir, Value: f.Binfmt}
	what := "32-bit ARM"
	switch {
	case f.Machine == "x86_64":
		what = "32-bit x86"
	case !isARM64(f.Machine):
		c.Status, c.Detail = StatusNotApplicable, "armhf-shim supports arm64 and x86_64 kernels"
		return c
	}
	handler, _, _ := strings.Cut(f.Binfmt, " ")
	switch {
	case !f.BinfmtMounted:
		c.Status = StatusUnknown
		c.Detail = "binfmt_misc is not mounted at " + f.BinfmtDir + ", so a handler registered for " + what + " ELFs cannot be seen from here"
		c.Fix = "mount -t binfmt_misc binfmt_misc " + f.BinfmtDir + ", or run doctor on the host"
	case f.Binfmt == "":
		c.Status, c.Detail = StatusOK, "no handler takes "+what+" ELFs: the kernel runs them itself"
	case !f.BinfmtOn:
		c.Status, c.Detail = StatusOK, "handler "+f.Binfmt+" matches "+what+" ELFs but is disabled: the kernel runs them itself"
	case !f.Native:
		c.Status, c.Detail = StatusOK, "handler "+f.Binfmt+" runs "+what+" ELFs under emulation, the only way here: this host cannot run them natively"
	default:
		c.Status = StatusProblem
		c.Detail = "handler " + f.Binfmt + " intercepts " + what + " ELFs, so they run emulated although this host runs them natively"
		c.Fix = fmt.Sprintf("echo 0 > %s/%s; to keep it off, update-binfmts --disable %s, or remove its file from /etc/binfmt.d and /usr/lib/binfmt.d",
			f.BinfmtDir, handler, handler)
	}
	return c
}

// cmdlineParam is the value of name=value on a kernel command line ("" when absent).
func cmdlineParam(cmdline, name string) string {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

// parseKernelConfig reads a kernel .config: CONFIG_X=v lines, and
// "# CONFIG_X is not set" as "n".
func parseKernelConfig(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if k, ok := strings.CutPrefix(l, "# "); ok {
			if k, ok = strings.CutSuffix(k, " is not set"); ok && strings.HasPrefix(k, "CONFIG_") {
				m[k] = "n"
			}
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}

// kernelPageSize is the first KernelPageSize of an smaps file, in bytes.
func kernelPageSize(smaps []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "KernelPageSize:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		if n, err := strconv.Atoi(f[0]); err == nil {
			return n * 1024
		}
		return 0
	}
	return 0
}

// kernelFacts reads the kernel facts under the options' /proc and root.
func (h *host) kernelFacts(machine, release string, native bool) KernelFacts {
	f := KernelFacts{Machine: machine, Release: release, Native: native}
	gz := filepath.Join(h.opts.Proc, "config.gz")
	boot := filepath.Join(h.opts.Root, "boot", "config-"+release)
	f.ConfigTried = []string{gz, boot}
	if b, err := readGzip(gz); err == nil {
		f.Config, f.ConfigSource = parseKernelConfig(b), gz
	} else if b, err := os.ReadFile(boot); err == nil {
		f.Config, f.ConfigSource = parseKernelConfig(b), boot
	}
	cl, _ := os.ReadFile(filepath.Join(h.opts.Proc, "cmdline"))
	f.Cmdline = string(cl)
	f.PageSizeSource = filepath.Join(h.opts.Proc, "self/smaps")
	if b, err := os.ReadFile(f.PageSizeSource); err == nil {
		f.PageSize = kernelPageSize(b)
	}
	f.ABIDir = filepath.Join(h.opts.Proc, "sys/abi")
	for _, k := range abiKnobs {
		if b, err := os.ReadFile(filepath.Join(f.ABIDir, k.name)); err == nil {
			if f.ABI == nil {
				f.ABI = map[string]string{}
			}
			f.ABI[k.name] = strings.TrimSpace(string(b))
		}
	}
	f.BinfmtDir = filepath.Join(h.opts.Proc, "sys/fs/binfmt_misc")
	if _, err := os.Stat(filepath.Join(f.BinfmtDir, "register")); err == nil {
		f.BinfmtMounted = true
		f.Binfmt, f.BinfmtOn = uname.BinfmtHandler(f.BinfmtDir, machine)
	}
	return f
}

func readGzip(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	z, err := gzip.NewReader(fh)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(z, 16<<20))
}

// print writes the kernel checks for people, each with its fix.
func (r KernelReport) print(w io.Writer) {
	for _, c := range append([]KernelCheck{r.Config, r.PageSize}, append(r.ABI, r.Binfmt)...) {
		label, v := c.Name, c.Value
		switch c.Name {
		case "CONFIG_COMPAT", "CONFIG_IA32_EMULATION", "config":
			label = "kernel config"
			if v != "" {
				v = c.Name + "=" + v
			}
		case "page_size":
			label = "page size"
		}
		if v != "" {
			v += ", "
		}
		fmt.Fprintf(w, "%-18s %s%s — %s\n", label+":", v, c.Status, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "  fix:             %s\n", c.Fix)
		}
	}
}
