package doctor

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/kernel", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func gzipped(t *testing.T, s string) string {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write([]byte(s))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestKernelChecks gathers the kernel facts from a fixture root (its /proc
// and /boot) and judges them: each case names what every check must say.
func TestKernelChecks(t *testing.T) {
	const rel = "6.1.0-57-arm64"
	debian := sample(t, "config-"+rel)
	x86 := sample(t, "config-x86_64")
	smaps := sample(t, "smaps")
	smaps16k := strings.ReplaceAll(smaps, "PageSize:        4 kB", "PageSize:       16 kB")
	smaps64k := strings.ReplaceAll(smaps, "PageSize:        4 kB", "PageSize:       64 kB")
	noCompat := strings.Replace(strings.Replace(debian, "CONFIG_COMPAT=y\n", "# CONFIG_COMPAT is not set\n", 1),
		"CONFIG_ARM64_4K_PAGES=y\n# CONFIG_ARM64_16K_PAGES is not set", "# CONFIG_ARM64_4K_PAGES is not set\nCONFIG_ARM64_16K_PAGES=y", 1)
	noEmulation := strings.NewReplacer("CONFIG_CP15_BARRIER_EMULATION=y", "# CONFIG_CP15_BARRIER_EMULATION is not set",
		"CONFIG_SETEND_EMULATION=y", "# CONFIG_SETEND_EMULATION is not set").Replace(debian)
	qemuArm := sample(t, "binfmt-qemu-arm")
	knobs := func(swp, cp15, setend string) map[string]string {
		m := map[string]string{}
		for k, v := range map[string]string{"swp": swp, "cp15_barrier": cp15, "setend": setend} {
			if v != "" {
				m["proc/sys/abi/"+k] = v + "\n"
			}
		}
		return m
	}
	binfmt := map[string]string{"proc/sys/fs/binfmt_misc/register": "", "proc/sys/fs/binfmt_misc/status": "enabled\n"}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	debianHost := merge(map[string]string{"boot/config-" + rel: debian, "proc/self/smaps": smaps}, knobs("0", "1", "1"), binfmt)

	type want struct{ check, status, says string }
	for _, tc := range []struct {
		name    string
		machine string
		native  bool
		files   map[string]string
		want    []want
		nProbs  int
	}{
		{
			name: "Debian 12 arm64, defaults", machine: "aarch64", native: true, files: debianHost,
			want: []want{
				{"CONFIG_COMPAT", "ok", "32-bit ARM"},
				{"page_size", "ok", "4K pages"},
				{"abi.swp", "warning", "SIGILL"},
				{"abi.cp15_barrier", "ok", "emulated"},
				{"abi.setend", "ok", "emulated"},
				{"binfmt_misc", "ok", "no handler"},
			},
		},
		{
			name: "config from /proc/config.gz first", machine: "aarch64", native: true,
			files: merge(debianHost, map[string]string{"proc/config.gz": gzipped(t, noCompat)}),
			want:  []want{{"CONFIG_COMPAT", "problem", "without CONFIG_COMPAT"}},
			// only CONFIG_COMPAT: the page size comes from smaps, not the config
			nProbs: 1,
		},
		{
			name: "no config anywhere", machine: "aarch64", native: true,
			files:  merge(map[string]string{"proc/self/smaps": smaps}, knobs("0", "1", "1"), binfmt),
			want:   []want{{"CONFIG_COMPAT", "unknown", "not readable here"}},
			nProbs: 0,
		},
		{
			name: "16K pages", machine: "aarch64", native: false,
			files:  merge(debianHost, map[string]string{"boot/config-" + rel: noCompat, "proc/self/smaps": smaps16k}),
			want:   []want{{"page_size", "problem", "16K-page kernel cannot run armhf"}, {"CONFIG_COMPAT", "problem", "cannot run 32-bit ARM"}},
			nProbs: 2,
		},
		{
			name: "64K pages, no config readable", machine: "aarch64", native: false,
			files:  merge(map[string]string{"proc/self/smaps": smaps64k}, knobs("0", "1", "1"), binfmt),
			want:   []want{{"page_size", "problem", "64K-page kernel"}},
			nProbs: 1,
		},
		{
			// CONFIG_COMPAT with 64K pages and the probe refused: the page
			// size does not decide PER_LINUX32, the CPU does; not the cause.
			name: "64K pages with CONFIG_COMPAT, not native", machine: "aarch64", native: false,
			files:  merge(debianHost, map[string]string{"proc/self/smaps": smaps64k}),
			want:   []want{{"page_size", "warning", "aligned to 64K"}},
			nProbs: 0,
		},
		{
			// The 16K kernel of a Raspberry Pi 5: CONFIG_COMPAT (an EXPERT
			// option with 16K pages) and the probe ran 32-bit code, so the
			// page size limits which programs load but is not "cannot run".
			name: "16K pages with CONFIG_COMPAT, native", machine: "aarch64", native: true,
			files:  merge(debianHost, map[string]string{"proc/self/smaps": smaps16k}),
			want:   []want{{"page_size", "warning", "aligned to 16K"}, {"CONFIG_COMPAT", "ok", "32-bit ARM"}},
			nProbs: 0,
		},
		{
			name: "no page size readable", machine: "aarch64", native: true,
			files: merge(debianHost, map[string]string{"proc/self/smaps": "garbage\n"}),
			want:  []want{{"page_size", "unknown", "could not be read"}},
		},
		{
			name: "barriers and setend undefined", machine: "aarch64", native: true,
			files: merge(debianHost, knobs("1", "0", "0")),
			// CP15 barriers are ARMv6-era (ARMv7 code uses DMB): off is a
			// warning that names who uses them, setend off a problem.
			want: []want{{"abi.swp", "ok", "emulated"}, {"abi.cp15_barrier", "warning", "ARMv6"},
				{"abi.cp15_barrier", "warning", "not the kernel's default"}, {"abi.setend", "problem", "SIGILL"}},
			nProbs: 1,
		},
		{
			name: "hardware execution", machine: "aarch64", native: true,
			files: merge(debianHost, knobs("0", "2", "2")),
			want:  []want{{"abi.cp15_barrier", "ok", "executed by the CPU"}, {"abi.setend", "ok", "executed by the CPU"}},
		},
		{
			name: "knobs missing", machine: "aarch64", native: true,
			files: merge(map[string]string{"boot/config-" + rel: noEmulation, "proc/self/smaps": smaps}, knobs("0", "", ""), binfmt),
			want:  []want{{"abi.swp", "warning", "undefined"}, {"abi.cp15_barrier", "warning", "built without"}, {"abi.setend", "warning", "built without"}},
		},
		{
			// CONFIG_SETEND_EMULATION=y, yet the kernel registers no setend
			// knob when a CPU lacks mixed-endian EL0: not a kernel build issue.
			name: "setend knob missing on a kernel that has it", machine: "aarch64", native: true,
			files: merge(map[string]string{"boot/config-" + rel: debian, "proc/self/smaps": smaps}, knobs("0", "1", ""), binfmt),
			want:  []want{{"abi.setend", "warning", "CPUs cannot support it"}},
		},
		{
			name: "no AArch32 (Graviton4, A64FX)", machine: "aarch64", native: false,
			files: merge(debianHost, map[string]string{"proc/sys/fs/binfmt_misc/qemu-arm": qemuArm}),
			want: []want{
				{"abi.cp15_barrier", "not applicable", "no 32-bit ARM code"},
				{"binfmt_misc", "ok", "the only way here"},
			},
		},
		{
			name: "qemu-arm shadows native execution", machine: "aarch64", native: true,
			files:  merge(debianHost, map[string]string{"proc/sys/fs/binfmt_misc/qemu-arm": qemuArm}),
			want:   []want{{"binfmt_misc", "problem", "run emulated although"}},
			nProbs: 1,
		},
		{
			name: "qemu-arm disabled", machine: "aarch64", native: true,
			files: merge(debianHost, map[string]string{"proc/sys/fs/binfmt_misc/qemu-arm": strings.Replace(qemuArm, "enabled", "disabled", 1)}),
			want:  []want{{"binfmt_misc", "ok", "disabled"}},
		},
		{
			name: "binfmt_misc not mounted", machine: "aarch64", native: true,
			files: merge(map[string]string{"boot/config-" + rel: debian, "proc/self/smaps": smaps}, knobs("0", "1", "1")),
			want:  []want{{"binfmt_misc", "unknown", "not mounted"}},
		},
		{
			name: "x86_64 host", machine: "x86_64", native: true,
			files: merge(map[string]string{"proc/config.gz": gzipped(t, x86), "proc/self/smaps": smaps}, binfmt),
			want: []want{
				{"CONFIG_IA32_EMULATION", "ok", "32-bit x86"},
				{"page_size", "not applicable", "only arm64"},
				{"abi.swp", "not applicable", "only on arm64"},
				{"binfmt_misc", "ok", "32-bit x86"},
			},
		},
		{
			name: "x86_64, ia32_emulation=0", machine: "x86_64", native: false,
			files:  merge(map[string]string{"proc/config.gz": gzipped(t, x86), "proc/self/smaps": smaps, "proc/cmdline": "BOOT_IMAGE=/vmlinuz ia32_emulation=0 ro\n"}, binfmt),
			want:   []want{{"CONFIG_IA32_EMULATION", "problem", "switched off"}},
			nProbs: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, s := range tc.files {
				p = filepath.Join(root, p)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h := newHost(Options{Proc: filepath.Join(root, "proc"), Root: root})
			r := JudgeKernel(h.kernelFacts(tc.machine, rel, tc.native))
			all := append([]KernelCheck{r.Config, r.PageSize, r.Binfmt}, r.ABI...)
			for _, w := range tc.want {
				found := false
				for _, c := range all {
					if c.Name != w.check {
						continue
					}
					found = true
					if c.Status != w.status || !strings.Contains(c.Detail, w.says) {
						t.Errorf("%s: %s — %s; want %s, saying %q", c.Name, c.Status, c.Detail, w.status, w.says)
					}
					if (c.Status == StatusProblem || c.Status == StatusWarning) && c.Fix == "" {
						t.Errorf("%s: %s without a fix", c.Name, c.Status)
					}
				}
				if !found {
					t.Errorf("no check %s in %+v", w.check, all)
				}
			}
			if p := r.Problems(); len(p) != tc.nProbs {
				t.Errorf("%d problems, want %d: %q", len(p), tc.nProbs, p)
			}
		})
	}
}

// The fixes name what to do: a sysctl for a knob, the handler to disable,
// the 4K-page kernel package.
func TestKernelFixes(t *testing.T) {
	base := KernelFacts{Machine: "aarch64", Native: true, Config: map[string]string{"CONFIG_COMPAT": "y"}, PageSize: 16384,
		ABI: map[string]string{"swp": "0", "cp15_barrier": "0", "setend": "1"}, ABIDir: "/proc/sys/abi",
		BinfmtDir: "/proc/sys/fs/binfmt_misc", BinfmtMounted: true, Binfmt: "qemu-arm (/usr/libexec/qemu-binfmt/arm-binfmt-P)", BinfmtOn: true}
	r := JudgeKernel(base)
	for _, tc := range []struct{ got, want string }{
		{r.PageSize.Fix, "linux-image-arm64 instead of linux-image-arm64-16k"},
		{r.ABI[1].Fix, "sysctl -w abi.cp15_barrier=1"},
		{r.ABI[0].Fix, "sysctl -w abi.swp=1"},
		{r.Binfmt.Fix, "echo 0 > /proc/sys/fs/binfmt_misc/qemu-arm;"},
	} {
		if !strings.Contains(tc.got, tc.want) {
			t.Errorf("fix %q does not say %q", tc.got, tc.want)
		}
	}
}

func TestParseKernelConfig(t *testing.T) {
	m := parseKernelConfig([]byte(sample(t, "config-6.1.0-57-arm64")))
	for k, v := range map[string]string{"CONFIG_COMPAT": "y", "CONFIG_ARM64_16K_PAGES": "n", "CONFIG_ARM64_PAGE_SHIFT": "12",
		"CONFIG_CC_VERSION_TEXT": "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "CONFIG_IKCONFIG": "n"} {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if _, ok := m["CONFIG_X86"]; ok {
		t.Error("an option absent from the file is present")
	}
}

// When the kernel is why armhf does not run, the verdict says so with the
// fix; a CPU without AArch32 on a good kernel keeps the probe's verdict.
func TestKernelVerdict(t *testing.T) {
	good := KernelFacts{Machine: "aarch64", Config: map[string]string{"CONFIG_COMPAT": "y"}, PageSize: 4096}
	if v := JudgeKernel(good).verdict(false, "Neoverse-N1 (AWS Graviton2, Ampere Altra)"); v != "" {
		t.Errorf("a 4K-page CONFIG_COMPAT kernel blamed: %s", v)
	}
	// A 16K-page kernel whose config cannot be read: distributions build
	// those without CONFIG_COMPAT. With CONFIG_COMPAT=y the page size is
	// not why the probe failed, and the verdict stays the probe's.
	k16 := good
	k16.PageSize, k16.Config = 16384, nil
	k16compat := good
	k16compat.PageSize = 16384
	if v := JudgeKernel(k16compat).verdict(false, "Neoverse-V2 (AWS Graviton4; no AArch32)"); v != "" {
		t.Errorf("16K pages with CONFIG_COMPAT blamed for a refused PER_LINUX32: %s", v)
	}
	if v := JudgeKernel(k16).verdict(false, "Neoverse-N1 (AWS Graviton2, Ampere Altra)"); !strings.HasPrefix(v, "NO: ") || !strings.Contains(v, "16K-page kernel cannot run armhf") || !strings.Contains(v, "linux-image-arm64-16k") {
		t.Errorf("16K pages: %q", v)
	}
	if v := JudgeKernel(k16).verdict(true, "Neoverse-N1 (AWS Graviton2, Ampere Altra)"); v != "" {
		t.Errorf("native, yet a verdict: %q", v)
	}
	// On a CPU without AArch32 another kernel does not help: the verdict
	// must not promise it does, and names the CPU.
	g4 := "Neoverse-V2 (AWS Graviton4; no AArch32)"
	if v := JudgeKernel(k16).verdict(false, g4); strings.Contains(v, "whatever the CPU") || !strings.Contains(v, "only on a CPU with AArch32 at EL0; this one: "+g4) {
		t.Errorf("Graviton4 with a 16K-page kernel: %q", v)
	}
	noCompat := good
	noCompat.Config = map[string]string{"CONFIG_COMPAT": "n"}
	if v := JudgeKernel(noCompat).verdict(false, "Neoverse-N1 (AWS Graviton2, Ampere Altra)"); !strings.Contains(v, "without CONFIG_COMPAT") {
		t.Errorf("no CONFIG_COMPAT: %q", v)
	}
}
