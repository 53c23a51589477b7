package doctor

import (
	"regexp"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/uname"
)

// The labels follow doctor's verdict on fixture probes: true only where the
// verdict is YES, the compat machine only there, never true on a kernel
// whose target is not armhf.
func TestNodeLabels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		probe uname.Probe
		want  string
		exit  int
	}{
		{"graviton3", uname.Probe{Machine: "aarch64", Target: "armhf", CompatMachine: "armv8l", Personality: true, ExecTested: true, ExecOK: true, Native: true},
			"feature.node.kubernetes.io/armhf-shim.aarch32=true\nfeature.node.kubernetes.io/armhf-shim.compat-machine=armv8l\n", 0},
		// No AArch32 at EL0: the kernel refuses PER_LINUX32.
		{"graviton4", uname.Probe{Machine: "aarch64", Target: "armhf", CompatMachine: "armv8l"},
			"feature.node.kubernetes.io/armhf-shim.aarch32=false\n", 1},
		// The personality works but the kernel has no compat loader.
		{"no CONFIG_COMPAT", uname.Probe{Machine: "aarch64", Target: "armhf", CompatMachine: "armv8l", Personality: true, ExecTested: true, ExecErr: "exec format error"},
			"feature.node.kubernetes.io/armhf-shim.aarch32=false\n", 1},
		// Native CPU, but a binfmt_misc emulator takes armhf ELFs: they
		// would run emulated, so no armhf pods here until it is disabled.
		{"qemu-arm intercepts", uname.Probe{Machine: "aarch64", Target: "armhf", CompatMachine: "armv8l", Personality: true, ExecTested: true, ExecOK: true, Native: true, Emulator: "qemu-arm", EmulatorOn: true},
			"feature.node.kubernetes.io/armhf-shim.aarch32=false\n", 1},
		{"x86_64 with IA-32", uname.Probe{Machine: "x86_64", Target: "i386", CompatMachine: "i686", Personality: true, ExecTested: true, ExecOK: true, Native: true},
			"feature.node.kubernetes.io/armhf-shim.aarch32=false\nfeature.node.kubernetes.io/armhf-shim.ia32=true\nfeature.node.kubernetes.io/armhf-shim.compat-machine=i686\n", 0},
		{"x86_64 ia32_emulation=0", uname.Probe{Machine: "x86_64", Target: "i386", CompatMachine: "i686", Personality: true, ExecTested: true, ExecErr: "exec format error"},
			"feature.node.kubernetes.io/armhf-shim.aarch32=false\nfeature.node.kubernetes.io/armhf-shim.ia32=false\n", 1},
		{"riscv64", uname.Probe{Machine: "riscv64"},
			"feature.node.kubernetes.io/armhf-shim.aarch32=false\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			r.Kernel.Machine = tc.probe.Machine
			r.judgeCompat(tc.probe)
			if r.ExitCode != tc.exit {
				t.Errorf("exit %d, want %d (%s)", r.ExitCode, tc.exit, r.Verdict)
			}
			got := string(NFDFeatures(r.NodeLabels()))
			header := string(NFDFeatures(nil))
			if got != header+tc.want {
				t.Errorf("feature file:\n%s\nwant the header and\n%s", got, tc.want)
			}
			if r.Runs32Native() != (tc.exit == 0) {
				t.Errorf("Runs32Native %v with exit %d", r.Runs32Native(), r.ExitCode)
			}
		})
	}
}

// The feature file's lines are what NFD accepts as labels: a name in NFD's
// namespace of at most 63 characters after it, a valid label value, and no
// comment line NFD would take as a directive ("# +").
func TestNFDFeaturesSyntax(t *testing.T) {
	labels := []NodeLabel{{LabelAArch32, "true"}, {LabelIA32, "false"}, {LabelCompatMachine, "armv8l"}}
	for _, line := range splitLines(string(NFDFeatures(labels))) {
		if len(line) >= 3 && line[:3] == "# +" {
			t.Errorf("directive-like comment %q", line)
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if !nfdLine.MatchString(line) {
			t.Errorf("not a valid NFD label line: %q", line)
		}
	}
}

// nfdLine: Kubernetes' qualified name (prefix / name of <= 63 alphanumerics,
// '-', '_', '.', alphanumeric at both ends) and label value rules.
var nfdLine = regexp.MustCompile(`^feature\.node\.kubernetes\.io/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)

func splitLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
