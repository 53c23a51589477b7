package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
	"github.com/armhf-shim/armhf-shim/uname"
	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// doctorReport answers "can this host build armhf natively, and what is set up?".
type doctorReport struct {
	Kernel struct {
		Machine string `json:"machine"`
		Release string `json:"release"`
	} `json:"kernel"`
	CPU struct {
		Name       string `json:"name"`
		Processors int    `json:"processors"`
	} `json:"cpu"`
	Compat struct {
		Target        string `json:"target"`
		Native        bool   `json:"native"`
		Method        string `json:"method"`
		CompatMachine string `json:"compat_machine"`
		Emulator      string `json:"emulator,omitempty"`
		EmulatorOn    bool   `json:"emulator_enabled"`
	} `json:"compat"`
	// Machine says whether --machine (uname answered through seccomp
	// user notification) can work on this kernel.
	Machine struct {
		Available bool   `json:"available"`
		Note      string `json:"note,omitempty"`
		// Agent says whether the seccomp agent of the runtime route
		// listens on its socket.
		Agent string `json:"agent"`
	} `json:"machine_option"`
	Runtimes  []runtimeInfo `json:"runtimes"`
	Installed []string      `json:"installed,omitempty"`
	Verdict   string        `json:"verdict"`
	Problems  []string      `json:"problems,omitempty"`
	exitCode  int
}

type runtimeInfo struct {
	Name               string `json:"name"`
	Path               string `json:"path"`
	Version            string `json:"version"`
	HonoursPersonality bool   `json:"honours_personality"`
	Note               string `json:"note,omitempty"`
}

// doctorInstalled lists the integrations set up on this host (docker,
// containerd, podman/CRI-O, buildkit) and the runtime wrapper's state.
var doctorInstalled = setupReport

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "can this host build armhf natively, and what is set up? (exit 0 yes, 1 no, 2 error)",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"}},
		Action: func(c *cli.Context) error {
			r, err := diagnose()
			if err != nil {
				return cli.Exit("doctor: "+err.Error(), 2)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return cli.Exit(err.Error(), 2)
				}
			} else {
				r.print(os.Stdout)
			}
			if r.exitCode != 0 {
				return cli.Exit("", r.exitCode)
			}
			return nil
		},
	}
}

func diagnose() (*doctorReport, error) {
	r := &doctorReport{}
	var err error
	if r.Kernel.Machine, err = uname.Machine(); err != nil {
		return nil, fmt.Errorf("uname: %w", err)
	}
	r.Kernel.Release, _ = uname.Release()
	r.CPU.Name = "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if info, err := cpuinfo.Parse(data); err == nil {
			r.CPU.Name, r.CPU.Processors = info.CPUName(), info.NumProcessors()
		}
	}
	p := uname.ProbeCompat()
	r.Compat.Target, r.Compat.Native, r.Compat.Method = p.Target, p.Native, p.Method
	r.Compat.CompatMachine, r.Compat.Emulator, r.Compat.EmulatorOn = p.CompatMachine, p.Emulator, p.EmulatorOn
	if !p.Personality {
		r.Compat.CompatMachine = "" // there is no 32-bit mode to name
	}
	if err := notify.Available(); err != nil {
		r.Machine.Note = err.Error()
	} else {
		r.Machine.Available = true
	}
	r.Machine.Agent = agentStatus()
	r.Runtimes = findRuntimes()
	if doctorInstalled != nil {
		r.Installed = doctorInstalled()
	}

	target := p.Target
	if target == "" {
		target = "32-bit"
	}
	switch {
	case p.Target == "":
		r.exitCode = 1
		r.Verdict = fmt.Sprintf("NO: armhf-shim supports arm64 and x86_64 kernels; this one is %s", r.Kernel.Machine)
	case !p.Native:
		r.exitCode = 1
		why := fmt.Sprintf("the CPU (%s) has no AArch32 at EL0 or the kernel no 32-bit (compat) support", r.CPU.Name)
		if p.Target == "i386" {
			why = "the kernel has no IA32 emulation (CONFIG_IA32_EMULATION off, or ia32_emulation=0 on its command line)"
		}
		r.Verdict = fmt.Sprintf("NO: this host cannot run %s code natively; %s. "+
			"Build %s under QEMU user emulation instead (qemu-user-static + binfmt_misc)", target, why, target)
	case p.EmulatorOn:
		r.exitCode = 1
		r.Verdict = fmt.Sprintf("NO (fixable): the CPU runs %s natively, but binfmt_misc handler %s intercepts 32-bit ELFs, so they run EMULATED. "+
			"Disable it: echo 0 > /proc/sys/fs/binfmt_misc/%s", target, p.Emulator, strings.Fields(p.Emulator)[0])
	default:
		r.Verdict = fmt.Sprintf("YES: %s code runs natively; armhf-shim exec / the runtime wrapper make it look like a native 32-bit machine (uname -m: %s)",
			target, p.CompatMachine)
	}
	honours := false
	for _, rt := range r.Runtimes {
		honours = honours || rt.HonoursPersonality
	}
	if len(r.Runtimes) == 0 {
		r.Problems = append(r.Problems, "no runc or crun on PATH: the runtime wrapper needs one (apt-get install runc)")
	} else if !honours {
		r.Problems = append(r.Problems, "no runtime here honours the OCI linux.personality field; the runtime wrapper sets the personality itself before exec'ing it")
	}
	return r, nil
}

func (r *doctorReport) print(w io.Writer) {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	fmt.Fprintf(w, "kernel:            %s %s\n", r.Kernel.Machine, r.Kernel.Release)
	fmt.Fprintf(w, "cpu:               %s (%d processors)\n", r.CPU.Name, r.CPU.Processors)
	fmt.Fprintf(w, "native %-10s  %s — %s\n", r.Compat.Target+":", yn(r.Compat.Native), r.Compat.Method)
	if r.Compat.CompatMachine != "" {
		fmt.Fprintf(w, "compat uname -m:   %s\n", r.Compat.CompatMachine)
	} else {
		fmt.Fprintf(w, "compat uname -m:   none (the kernel refuses PER_LINUX32)\n")
	}
	switch {
	case r.Compat.Emulator == "":
		fmt.Fprintf(w, "emulation:         no binfmt_misc handler for 32-bit ELFs\n")
	default:
		fmt.Fprintf(w, "emulation:         binfmt_misc %s, enabled: %s\n", r.Compat.Emulator, yn(r.Compat.EmulatorOn))
	}
	if r.Machine.Available {
		fmt.Fprintf(w, "uname --machine:   yes — seccomp user notification (exec --machine armv7l; see docs/uname.md)\n")
		fmt.Fprintf(w, "seccomp agent:     %s (containers: runc >= 1.1)\n", r.Machine.Agent)
	} else {
		fmt.Fprintf(w, "uname --machine:   no — %s\n", r.Machine.Note)
	}
	if len(r.Runtimes) == 0 {
		fmt.Fprintf(w, "runtimes:          none found (runc, crun)\n")
	}
	for _, rt := range r.Runtimes {
		fmt.Fprintf(w, "runtime %-9s  %s %s, honours linux.personality: %s%s\n", rt.Name+":", rt.Path, rt.Version, yn(rt.HonoursPersonality), note(rt.Note))
	}
	for _, s := range r.Installed {
		fmt.Fprintf(w, "setup:             %s\n", s)
	}
	for _, s := range r.Problems {
		fmt.Fprintf(w, "note:              %s\n", s)
	}
	fmt.Fprintf(w, "\n%s\n", r.Verdict)
}

func note(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// findRuntimes looks for runc and crun on PATH, skipping this binary (it
// may be installed as runc).
func findRuntimes() []runtimeInfo {
	self, _ := os.Executable()
	selfReal, _ := filepath.EvalSymlinks(self)
	var out []runtimeInfo
	seen := map[string]bool{}
	for _, name := range []string{"runc", "crun"} {
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			p := filepath.Join(dir, name)
			real, err := filepath.EvalSymlinks(p)
			if err != nil || seen[real] {
				continue
			}
			if st, err := os.Stat(real); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				continue
			}
			seen[real] = true
			if real == selfReal {
				continue
			}
			rt := runtimeInfo{Name: name, Path: p}
			b, err := exec.Command(p, "--version").Output()
			if err != nil {
				rt.Note = "--version failed: " + err.Error()
			}
			rt.Version, rt.HonoursPersonality, rt.Note = runtimeVersion(name, string(b), rt.Note)
			out = append(out, rt)
			break
		}
	}
	return out
}

// versionRE is compiled on first use, not at start-up: every runtime call
// pays for package initialisation.
var versionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^(runc|crun) version v?(\d+)\.(\d+)(\S*)`)
})

// runtimeVersion parses `runc --version` / `crun --version` output and
// says whether that version applies the OCI linux.personality field: runc
// from 1.2, crun from 0.11 (Debian's runc 1.1.5 ignores it — verified).
func runtimeVersion(name, out, note string) (version string, honours bool, outNote string) {
	m := versionRE().FindStringSubmatch(out)
	if m == nil || m[1] != name {
		if note == "" {
			note = "version not recognised"
		}
		return "unknown", false, note
	}
	major, _ := strconv.Atoi(m[2])
	minor, _ := strconv.Atoi(m[3])
	version = m[2] + "." + m[3] + m[4]
	switch name {
	case "runc":
		honours = major > 1 || major == 1 && minor >= 2
	case "crun":
		honours = major > 0 || minor >= 11
	}
	if !honours && note == "" {
		note = "the wrapper sets the personality itself"
	}
	return version, honours, note
}

// setupReport says, one line each, what of armhf-shim's runtime route
// is installed on this host (docker, containerd, podman/CRI-O, buildkit),
// which real runtime the wrapper would exec, and how many containers it
// currently has cpuinfo files for. It is what `armhf-shim doctor` prints.
func setupReport() []string {
	lines := install.Report(install.DefaultPaths())
	cfg, err := runtimecfg.Load(runcargs.Shim{}, os.Getenv)
	if err != nil {
		return append(lines, "runtime wrapper: "+err.Error())
	}
	self, err := runtimecfg.SelfID(os.Args[0])
	if err != nil {
		return append(lines, "runtime wrapper: "+err.Error())
	}
	rt, err := runtimecfg.Find(cfg.Runtime, cfg.RuntimeSource, os.Getenv("PATH"), self, nil)
	if err != nil {
		lines = append(lines, "runtime wrapper: "+err.Error())
	} else {
		lines = append(lines, fmt.Sprintf("runtime wrapper: execs %s (%s)", rt, cfg.RuntimeSource))
	}
	ids, err := statedir.Dir{Root: cfg.StateRoot}.Containers()
	if err != nil {
		return append(lines, fmt.Sprintf("runtime wrapper: state root %s: %v", cfg.StateRoot, err))
	}
	return append(lines, fmt.Sprintf("runtime wrapper: %d container(s) with an armv7 cpuinfo under %s", len(ids), cfg.StateRoot))
}

// agentStatus says whether the runtime wrapper's seccomp agent (the
// configured socket) accepts connections.
func agentStatus() string {
	sock := runtimecfg.DefaultSeccompAgent
	if cfg, err := runtimecfg.Load(runcargs.Shim{}, os.Getenv); err == nil && cfg.Uname != nil {
		sock = cfg.Uname.SeccompAgent
	}
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "not running on " + sock + " (start: armhf-shim seccomp-agent --socket " + sock + "); containers asking for a machine fail to start"
	}
	c.Close()
	return "listening on " + sock
}
