// Package doctor answers "can this host build armhf natively, and what of
// armhf-shim is set up and in use?" — armhf-shim doctor.
//
// The model: the host part (kernel, CPU, the AArch32 probe, runc/crun) is
// measured; each route is judged twice, from its files and from the
// running engine. A route is
//
//   - installed when its files say so (daemon.json registers the runtime,
//     buildkitd.toml names the wrapper, the containerd drop-in is
//     imported, a hooks file exists, install docker-cli recorded its link,
//     the 32-bit dockerd or an armhf-lxc container exists), and
//   - active when the engine itself reports it in use: dockerd's /info
//     lists the runtime, dockerd's own PATH finds armhf-shim as runc
//     (BuildKit), a running buildkitd's --oci-worker-binary or the
//     buildkitd.toml it read at start names the wrapper (a standalone
//     buildkitd), containerd started after the drop-in was written,
//     podman reads the directory the hook is in, `docker` on PATH is the
//     wrapper, the 32-bit dockerd runs in LINUX32, a container runs.
//
// Installed and not active (daemon.json edited, dockerd not reloaded), or
// active and not installed (uninstalled, dockerd still running with it),
// while an engine runs, is a problem, reported with what fixes it.
//
// Facts are gathered at the edge, by the methods of host (h.dockerFacts,
// h.kernelFacts, h.builderFacts, ...: facts.go, buildkitd_facts.go and the
// fact-reading halves of cpu.go, kernel.go and buildx.go); every judgement
// is a pure Judge function from facts to a verdict (JudgeDocker and the
// other routes in routes.go, JudgeBuildkitd, JudgeBuilder, JudgeCPU,
// JudgeKernel), tested on fakes. [Diagnose] reads as the list of them.
// One small section is measured and worded in one step: the --machine
// option (machine.go dials the agent's sockets). The JSON report's schema
// is stable (docs/doctor.md).
package doctor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/armhf-shim/armhf-shim/dind"
	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/uname"
)

// Options say where doctor looks; the zero value means the host's defaults.
type Options struct {
	DaemonJSON       string // dockerd's daemon.json
	ContainerdConfig string
	BuildkitDropIn   string
	BuildkitLinkDir  string
	BuildkitdConfig  string // a standalone buildkitd's buildkitd.toml
	CLIConfig        string // the docker CLI wrapper's config file
	DindDir          string
	LXCPath          string // "" = lxc.conf's lxc.lxcpath, else /var/lib/lxc
	Proc             string // "" = /proc
	Root             string // "" = /: where /etc, /usr/share and /sys are read
	// BuildxDirs are the buildx config directories whose builders are
	// judged (empty: doctor's user's and SUDO_USER's).
	BuildxDirs []string
}

func (o *Options) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.DaemonJSON, install.DefaultDockerConfig)
	def(&o.ContainerdConfig, install.DefaultContainerd)
	def(&o.BuildkitDropIn, install.DefaultBuildkitDropIn)
	def(&o.BuildkitLinkDir, install.DefaultBuildkitLinkDir)
	def(&o.BuildkitdConfig, install.DefaultBuildkitdConfig)
	def(&o.CLIConfig, install.DefaultCLIConfig)
	def(&o.DindDir, dind.DefaultDir)
	def(&o.Proc, "/proc")
	def(&o.Root, "/")
}

// Report is doctor's answer; its JSON form is the stable --json schema.
type Report struct {
	// Kernel is the kernel and its checks (kernel.go).
	Kernel KernelReport `json:"kernel"`
	CPU    CPUVerdict   `json:"cpu"`
	Compat struct {
		Target        string `json:"target"`
		Native        bool   `json:"native"`
		Method        string `json:"method"`
		CompatMachine string `json:"compat_machine"`
		Emulator      string `json:"emulator,omitempty"`
		EmulatorOn    bool   `json:"emulator_enabled"`
	} `json:"compat"`
	// Machine says whether --machine (uname answered through seccomp user
	// notification) can work on this kernel, and whether the runtime
	// route's seccomp agent listens.
	Machine  MachineOption `json:"machine_option"`
	Runtimes []RuntimeInfo `json:"runtimes"`
	Routes   []Route       `json:"routes"`
	// RuntimeWrapper says which runc the runtime wrapper execs and how many
	// containers it has state for.
	RuntimeWrapper []string `json:"runtime_wrapper,omitempty"`
	// BuildxBuilders are the docker buildx builders doctor can see and
	// whether each runs the wrapper (buildx.go).
	BuildxBuilders []Builder `json:"buildx_builders"`
	Verdict        string    `json:"verdict"`
	// Problems holds only problems: what is wrong, each with its fix.
	Problems []string `json:"problems"`
	// ExitCode is 0 when armhf code runs natively, 1 when not.
	ExitCode int `json:"-"`
}

// Diagnose examines the host.
func Diagnose(o Options) (*Report, error) {
	o.defaults()
	r, h, err := diagnoseHost(o)
	if err != nil {
		return nil, err
	}
	// The wrapper's configuration, read once: it names the seccomp agent's
	// socket (--machine) and the runtime the wrapper execs.
	cfg, cfgErr := runtimecfg.Load(runcargs.Shim{}, os.Getenv)
	agentSock := runtimecfg.DefaultSeccompAgent
	if cfgErr == nil {
		agentSock = cfg.SeccompAgent()
	}
	r.Machine = machineOption(r.Kernel.Release, agentSock)
	r.Runtimes = findRuntimes()
	var findErr error
	r.RuntimeWrapper, findErr = runtimeWrapper(cfg, cfgErr)
	if findErr != nil {
		// crun alone is not enough: the wrapper execs runc unless configured.
		r.Problems = append(r.Problems, "the runtime wrapper finds no real runtime to exec: "+findErr.Error())
	}

	docker := h.dockerFacts()
	dind := h.dindFacts()
	r.Routes = []Route{
		JudgeDocker(docker),
		JudgeBuildkit(h.buildkitFacts(h.allDockerds(docker.Daemons, dind))),
		JudgeBuildkitd(h.buildkitdFacts()),
		JudgeContainerd(h.containerdFacts()),
		JudgePodman(h.podmanFacts()),
		JudgeDockerCLI(h.cliFacts()),
		JudgeDind(dind),
		JudgeLXC(h.lxcFacts()),
		// Last: the routes list only grows at its end (docs/doctor.md).
		JudgePodmanRuntime(h.podmanRuntimeFacts()),
	}
	for _, rt := range r.Routes {
		r.Problems = append(r.Problems, rt.Problems...)
	}
	r.BuildxBuilders = []Builder{}
	for _, f := range h.builderFacts() {
		b := JudgeBuilder(f)
		r.BuildxBuilders = append(r.BuildxBuilders, b)
		if b.Problem != "" {
			r.Problems = append(r.Problems, b.Problem)
		}
	}
	return r, nil
}

// DiagnoseHost examines only the kernel, the CPU and the AArch32 (or IA-32)
// probe: the part of the report that decides whether 32-bit code runs
// natively (Verdict, ExitCode, Compat), without the engines' routes. The
// Kubernetes node installer runs it in a container where no engine's files
// are visible.
func DiagnoseHost(o Options) (*Report, error) {
	o.defaults()
	r, _, err := diagnoseHost(o)
	return r, err
}

func diagnoseHost(o Options) (*Report, *host, error) {
	r := &Report{Problems: []string{}}
	var err error
	if r.Kernel.Machine, err = uname.Machine(); err != nil {
		return nil, nil, fmt.Errorf("uname: %w", err)
	}
	r.Kernel.Release, _ = uname.Release()
	h := newHost(o)
	r.CPU = JudgeCPU(h.cpuFacts(r.Kernel.Machine))
	r.compat()
	r.Kernel = JudgeKernel(h.kernelFacts(r.Kernel.Machine, r.Kernel.Release, r.Compat.Native))
	r.Problems = append(r.Problems, r.Kernel.Problems()...)
	if v := r.Kernel.verdict(r.Compat.Native, r.CPU.Name); v != "" {
		r.Verdict = v
	}
	return r, h, nil
}

func (r *Report) compat() { r.judgeCompat(uname.ProbeCompat()) }

// judgeCompat is the one decision whether 32-bit code runs natively here,
// from the probe's observations: Verdict, ExitCode and Compat. Everything
// that acts on it (the exit code, the node labels) reads the report.
func (r *Report) judgeCompat(p uname.Probe) {
	r.Compat.Target, r.Compat.Native, r.Compat.Method = p.Target, p.Native, p.Method
	r.Compat.CompatMachine, r.Compat.Emulator, r.Compat.EmulatorOn = p.CompatMachine, p.Emulator, p.EmulatorOn
	if !p.Personality {
		r.Compat.CompatMachine = "" // there is no 32-bit mode to name
	}
	target := p.Target
	if target == "" {
		target = "32-bit"
	}
	switch {
	case p.Target == "":
		r.ExitCode = 1
		r.Verdict = fmt.Sprintf("NO: armhf-shim supports arm64 and x86_64 kernels; this one is %s", r.Kernel.Machine)
	case !p.Native:
		r.ExitCode = 1
		why := fmt.Sprintf("the CPU (%s) has no AArch32 at EL0 or the kernel no 32-bit (compat) support", r.CPU.Name)
		if p.Target == "i386" {
			why = "the kernel has no IA32 emulation (CONFIG_IA32_EMULATION off, or ia32_emulation=0 on its command line)"
		}
		r.Verdict = fmt.Sprintf("NO: this host cannot run %s code natively; %s. "+
			"Build %s under QEMU user emulation instead: %s", target, why, target, uname.EmulationAdvice(p.Target))
	case p.EmulatorOn:
		r.ExitCode = 1
		r.Verdict = fmt.Sprintf("NO (fixable): the CPU runs %s natively, but binfmt_misc handler %s intercepts 32-bit ELFs, so they run EMULATED. "+
			"Disable it: echo 0 > /proc/sys/fs/binfmt_misc/%s", target, p.Emulator, strings.Fields(p.Emulator)[0])
	default:
		r.Verdict = fmt.Sprintf("YES: %s code runs natively; armhf-shim exec / the runtime wrapper make it look like a native 32-bit machine (uname -m: %s)",
			target, p.CompatMachine)
	}
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	fmt.Fprintf(w, "kernel:            %s %s\n", r.Kernel.Machine, r.Kernel.Release)
	r.Kernel.print(w)
	fmt.Fprintf(w, "cpu:               %s (%d processors)\n", r.CPU.Name, r.CPU.Processors)
	if r.CPU.Note != "" {
		fmt.Fprintf(w, "cpuinfo:           %s\n", r.CPU.Note)
	}
	fmt.Fprintf(w, "native %-10s  %s — %s\n", r.Compat.Target+":", yn(r.Compat.Native), r.Compat.Method)
	if r.Compat.CompatMachine != "" {
		fmt.Fprintf(w, "compat uname -m:   %s\n", r.Compat.CompatMachine)
	} else {
		fmt.Fprintf(w, "compat uname -m:   none (the kernel refuses PER_LINUX32)\n")
	}
	if r.Machine.Available {
		fmt.Fprintf(w, "uname --machine:   yes — seccomp user notification, Linux >= 5.0 (exec/dind --machine armv7l; docs/uname.md)\n")
		fmt.Fprintf(w, "--machine in containers: %s\n", r.Machine.Containers)
		fmt.Fprintf(w, "seccomp agent:     %s (containers: runc >= 1.1)\n", r.Machine.Agent)
		fmt.Fprintf(w, "seccomp agent LXC: %s\n", r.Machine.AgentLXC)
	} else {
		fmt.Fprintf(w, "uname --machine:   no — %s\n", r.Machine.Note)
	}
	if len(r.Runtimes) == 0 {
		fmt.Fprintf(w, "runtimes:          none found (runc, crun)\n")
	}
	for _, rt := range r.Runtimes {
		fmt.Fprintf(w, "runtime %-9s  %s %s, honours linux.personality: %s%s\n", rt.Name+":", rt.Path, rt.Version, yn(rt.HonoursPersonality), note(rt.Note))
	}
	for _, rt := range r.Routes {
		state := "not installed"
		switch {
		case rt.Installed && rt.Active:
			state = "installed, active"
		case rt.Installed:
			state = "installed, not active"
		case rt.Active:
			state = "active, not installed"
		}
		fmt.Fprintf(w, "route %-11s  %s — %s\n", rt.Name+":", state, rt.Detail)
	}
	for _, s := range r.RuntimeWrapper {
		fmt.Fprintf(w, "runtime wrapper:   %s\n", s)
	}
	for _, b := range r.BuildxBuilders {
		fmt.Fprintf(w, "buildx builder:    %s/%s (%s) wrapper: %s — %s\n", b.Name, b.Node, b.Driver, b.Wrapper, b.Detail)
	}
	for _, s := range r.Problems {
		fmt.Fprintf(w, "problem:           %s\n", s)
	}
	fmt.Fprintf(w, "\n%s\n", r.Verdict)
}

func note(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// executable is this binary with its links resolved.
func executable() string {
	self, _ := os.Executable()
	real, _ := filepath.EvalSymlinks(self)
	return real
}
