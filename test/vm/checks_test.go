package vm

import (
	"regexp"
	"strings"
	"testing"
)

// vmCPUs is the VM's -smp.
const vmCPUs = 2

// cpuModel is a QEMU -cpu model the suite boots, with what is true of it.
type cpuModel struct {
	Name    string
	AArch32 bool   // executes AArch32 code at EL0 (PER_LINUX32 is accepted)
	Part    string // "CPU part" in /proc/cpuinfo
}

var cpuModels = []cpuModel{
	{Name: "cortex-a72", AArch32: true, Part: "0xd08"},
	{Name: "neoverse-n1", AArch32: true, Part: "0xd0c"},
	{Name: "a64fx", AArch32: false, Part: "0x001"},
}

// checks holds the assertions on the cases in cases/, keyed by case name.
// A check owns its case's result entirely (exit status included).
var checks = map[string]func(t *testing.T, m cpuModel, r *CaseResult){
	"uname-native": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantFailed(t, r, "an armhf binary cannot execute on "+m.Name)
			return
		}
		wantStdout(t, r, "aarch64")
	},
	"uname-exec": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantAArch32Refusal(t, r)
			return
		}
		wantStdout(t, r, "armv8l")
	},
	"cpuinfo-native": func(t *testing.T, m cpuModel, r *CaseResult) {
		wantOK(t, r)
		t.Logf("%s: /proc/cpuinfo, arm64 view:\n%s", m.Name, r.Stdout)
		c := parseCPUInfo(r.Stdout)
		c.wantAll(t, "CPU architecture", "8")
		c.wantAll(t, "CPU part", m.Part)
		c.wantProcessors(t, vmCPUs)
	},
	"cpuinfo-linux32": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantFailed(t, r, "the kernel refuses PER_LINUX32 on "+m.Name)
			return
		}
		wantOK(t, r)
		t.Logf("%s: /proc/cpuinfo, the kernel's LINUX32 view (no armhf-shim):\n%s", m.Name, r.Stdout)
		c := parseCPUInfo(r.Stdout)
		c.wantAll(t, "CPU architecture", "8")
		c.wantAllMatch(t, "model name", `\(v8l\)$`, vmCPUs)
		c.wantAll(t, "CPU part", m.Part)
		c.wantProcessors(t, vmCPUs)
	},
	"cpuinfo-exec": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantAArch32Refusal(t, r)
			return
		}
		wantOK(t, r)
		t.Logf("%s: /proc/cpuinfo under armhf-shim exec:\n%s", m.Name, r.Stdout)
		c := parseCPUInfo(r.Stdout)
		c.wantAll(t, "CPU architecture", "7")
		c.wantAllMatch(t, "model name", `\(v7l\)$`, vmCPUs)
		c.wantAll(t, "CPU part", m.Part)
		c.wantProcessors(t, vmCPUs)
	},
	"cpuinfo-exec-cpus1": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantAArch32Refusal(t, r)
			return
		}
		wantOK(t, r)
		c := parseCPUInfo(r.Stdout)
		c.wantAll(t, "CPU architecture", "7")
		c.wantAllMatch(t, "model name", `\(v7l\)$`, 1)
		c.wantAll(t, "CPU part", m.Part)
		c.wantProcessors(t, 1)
		if got := c.all("processor"); len(got) == 1 && got[0] != "0" {
			t.Errorf("the one processor is numbered %s, want 0", got[0])
		}
		if !strings.Contains(r.Stdout, "\nnproc: 1\n") {
			t.Errorf("the command is not pinned to one CPU (want \"nproc: 1\"):\n%s", r.Stdout)
		}
	},
	"platform-native": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantFailed(t, r, "a GOARCH=arm binary cannot execute on "+m.Name)
			return
		}
		// The bug armhf-shim exists to fix; if this changes, the premise did.
		wantStdout(t, r, "linux/arm/v8")
	},
	"platform-exec": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantAArch32Refusal(t, r)
			return
		}
		wantStdout(t, r, "linux/arm/v7")
	},
	"doctor": func(t *testing.T, m cpuModel, r *CaseResult) {
		t.Logf("%s: armhf-shim doctor exited %d:\n%s", m.Name, r.RC, r.Output())
		if !m.AArch32 {
			if r.RC != 1 {
				t.Errorf("doctor on %s (no AArch32) exited %d, want 1:\n%s", m.Name, r.RC, r.Output())
			}
			wantMentionsAArch32(t, r)
			if !strings.Contains(r.Stdout, "compat uname -m:   none") {
				t.Errorf("doctor on %s names a compat uname -m although the kernel refuses PER_LINUX32:\n%s", m.Name, r.Stdout)
			}
			return
		}
		wantOK(t, r)
		if !strings.Contains(r.Stdout, "compat uname -m:   armv8l") {
			t.Errorf("doctor on %s does not name armv8l:\n%s", m.Name, r.Stdout)
		}
	},
	"exec-true": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantAArch32Refusal(t, r)
			return
		}
		wantOK(t, r)
	},
	// Debian's runc:arm64 (1.1.5, which ignores linux.personality) runs an
	// armhf busybox bundle bare and through `armhf-shim runtime`.
	"runc-wrapper": func(t *testing.T, m cpuModel, r *CaseResult) {
		t.Logf("%s: runc bare vs through the wrapper (exit %d):\n%s", m.Name, r.RC, r.Output())
		if !m.AArch32 {
			wantAArch32Refusal(t, r)
			return
		}
		wantOK(t, r)
		for _, want := range []string{"bare: aarch64 8", "wrapped: armv8l 7"} {
			if !strings.Contains(r.Stdout, want+"\n") {
				t.Errorf("runc-wrapper: no line %q in:\n%s", want, r.Stdout)
			}
		}
		if strings.Contains(r.Stdout, "leftover:") {
			t.Errorf("runtime files left after delete:\n%s", r.Stdout)
		}
	},
	"gotest-uname-arm64":   func(t *testing.T, m cpuModel, r *CaseResult) { wantGoTestPass(t, r) },
	"gotest-cpuinfo-arm64": func(t *testing.T, m cpuModel, r *CaseResult) { wantGoTestPass(t, r) },
	"gotest-uname-arm": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantFailed(t, r, "a GOARCH=arm binary cannot execute on "+m.Name)
			return
		}
		wantGoTestPass(t, r)
	},
}

func wantOK(t *testing.T, r *CaseResult) {
	t.Helper()
	if r.RC != 0 {
		t.Fatalf("%s exited %d, want 0:\n%s", r.Name, r.RC, r.Output())
	}
}

// wantStdout wants exit 0 and exactly one line of output, want.
func wantStdout(t *testing.T, r *CaseResult, want string) {
	t.Helper()
	wantOK(t, r)
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("%s printed %q, want %q (stderr: %q)", r.Name, got, want, r.Stderr)
	}
}

func wantFailed(t *testing.T, r *CaseResult, why string) {
	t.Helper()
	if r.RC == 0 {
		t.Errorf("%s exited 0, want failure (%s):\n%s", r.Name, why, r.Output())
	}
}

// wantAArch32Refusal: on a CPU without AArch32, armhf-shim exec must fail
// and say why, not leave the user with "exec format error".
func wantAArch32Refusal(t *testing.T, r *CaseResult) {
	t.Helper()
	if r.RC == 0 {
		t.Errorf("%s exited 0 on a CPU without AArch32, want a clear failure:\n%s", r.Name, r.Output())
	}
	wantMentionsAArch32(t, r)
}

func wantMentionsAArch32(t *testing.T, r *CaseResult) {
	t.Helper()
	if !strings.Contains(strings.ToLower(r.Output()), "aarch32") {
		t.Errorf("%s (exit %d) does not mention AArch32; its output:\n%s", r.Name, r.RC, r.Output())
	}
}

var (
	goTestPassLine = regexp.MustCompile(`(?m)^PASS$`)
	goTestSkipLine = regexp.MustCompile(`(?m)^\s*--- SKIP: .*$`)
	goTestRunLine  = regexp.MustCompile(`(?m)^\s*--- PASS: .*$`)
)

func wantGoTestPass(t *testing.T, r *CaseResult) {
	t.Helper()
	if r.RC != 0 || !goTestPassLine.MatchString(r.Stdout) {
		t.Fatalf("%s: the cross-built tests failed in the VM (exit %d):\n%s", r.Name, r.RC, r.Output())
	}
	passed := goTestRunLine.FindAllString(r.Stdout, -1)
	skipped := goTestSkipLine.FindAllString(r.Stdout, -1)
	t.Logf("%s: %d passed, %d skipped in %.1fs", r.Name, len(passed), len(skipped), r.Secs)
	for _, s := range skipped {
		t.Logf("  %s", strings.TrimSpace(s))
	}
	if len(passed) == 0 {
		t.Errorf("%s ran no test:\n%s", r.Name, r.Stdout)
	}
}

// cpuInfo is /proc/cpuinfo as key/value lines, in order.
type cpuInfo struct{ keys, values []string }

func parseCPUInfo(text string) cpuInfo {
	var c cpuInfo
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		c.keys = append(c.keys, strings.TrimSpace(k))
		c.values = append(c.values, strings.TrimSpace(v))
	}
	return c
}

func (c cpuInfo) all(key string) []string {
	var out []string
	for i, k := range c.keys {
		if k == key {
			out = append(out, c.values[i])
		}
	}
	return out
}

// wantAll wants key present at least once and always equal to want.
func (c cpuInfo) wantAll(t *testing.T, key, want string) {
	t.Helper()
	vals := c.all(key)
	if len(vals) == 0 {
		t.Errorf("no %q line in cpuinfo", key)
	}
	for _, v := range vals {
		if v != want {
			t.Errorf("cpuinfo %q = %q, want %q", key, v, want)
		}
	}
}

// wantAllMatch wants key exactly n times, every value matching re.
func (c cpuInfo) wantAllMatch(t *testing.T, key, re string, n int) {
	t.Helper()
	rx := regexp.MustCompile(re)
	vals := c.all(key)
	if len(vals) != n {
		t.Errorf("cpuinfo has %d %q lines, want %d", len(vals), key, n)
	}
	for _, v := range vals {
		if !rx.MatchString(v) {
			t.Errorf("cpuinfo %q = %q, want a match for %s", key, v, re)
		}
	}
}

func (c cpuInfo) wantProcessors(t *testing.T, n int) {
	t.Helper()
	if got := len(c.all("processor")); got != n {
		t.Errorf("cpuinfo lists %d processors, want %d", got, n)
	}
}
