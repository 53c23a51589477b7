package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/cpuinfo", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// armv7Fake is armhf-shim's armv7 view of a cpuinfo: the kernel's 32-bit
// view with only the architecture changed.
func armv7Fake(b []byte) []byte {
	s := strings.ReplaceAll(string(b), "CPU architecture: 8", "CPU architecture: 7")
	return []byte(strings.ReplaceAll(s, "(v8l)", "(v7l)"))
}

// A mountinfo line of the LXC host's cpuinfo bind mount, as seen inside.
const lxcCPUInfoMount = "1203 1180 253:1 /var/lib/lxc/builder/cpuinfo /proc/cpuinfo ro,relatime - ext4 /dev/vda1 rw\n"

func TestJudgeCPU(t *testing.T) {
	epyc := fixture(t, "x86_64-amd-epyc-2cpu.txt")
	a72 := fixture(t, "qemu-cortex-a72-linux32.txt")
	n1 := fixture(t, "qemu-neoverse-n1-aarch64.txt")
	fs, src := cpuinfoMount([]byte("25 1 0:22 / /proc rw - proc proc rw\n" + lxcCPUInfoMount))
	for _, tc := range []struct {
		name      string
		f         CPUInfoFacts
		cpuinfo   string
		cpuName   string
		noteParts []string
	}{
		{"the kernel's, x86", CPUInfoFacts{Machine: "x86_64", Text: epyc}, "kernel", "AMD EPYC", nil},
		{"the kernel's, arm64", CPUInfoFacts{Machine: "aarch64", Text: n1}, "kernel", "Neoverse-N1", nil},
		{"the kernel's 32-bit view", CPUInfoFacts{Machine: "armv8l", Text: a72}, "kernel", "Cortex-A72", nil},
		// The case: inside the LXC host on an AMD EPYC, the faked
		// cpuinfo says Cortex-A72; nothing real is reachable on x86.
		{"LXC host on x86", CPUInfoFacts{Machine: "i686", Text: armv7Fake(a72), MountFS: fs, MountSource: src}, "fake", "unknown",
			[]string{"is a fake", "ext4 mount", "it says Cortex-A72", "no real source"}},
		// The same without the mount (an older bind, a copy): told by content.
		{"armv7 content on x86", CPUInfoFacts{Machine: "x86_64", Text: armv7Fake(a72)}, "fake", "unknown", []string{"the x86_64 kernel never shows"}},
		{"armv7 on arm64, real name from sysfs", CPUInfoFacts{Machine: "aarch64", Text: armv7Fake(a72), RealName: "Neoverse-N1 (AWS Graviton2, Ampere Altra)", RealSource: "midr_el1 in /sys"},
			"fake", "Neoverse-N1", []string{"named from midr_el1 in /sys", "it says Cortex-A72"}},
		{"lxcfs", CPUInfoFacts{Machine: "aarch64", Text: n1, MountFS: "fuse.lxcfs", MountSource: "lxcfs"}, "lxcfs", "Neoverse-N1", []string{"LXCFS"}},
	} {
		v := JudgeCPU(tc.f)
		if v.CPUInfo != tc.cpuinfo || !strings.Contains(v.Name, tc.cpuName) {
			t.Errorf("%s: cpuinfo %q name %q, want %q %q (%s)", tc.name, v.CPUInfo, v.Name, tc.cpuinfo, tc.cpuName, v.Note)
		}
		for _, s := range tc.noteParts {
			if !strings.Contains(v.Note, s) {
				t.Errorf("%s: note %q lacks %q", tc.name, v.Note, s)
			}
		}
		if tc.cpuinfo == "kernel" && v.Note != "" {
			t.Errorf("%s: note %q for the kernel's cpuinfo", tc.name, v.Note)
		}
	}
}

func TestCPUInfoMount(t *testing.T) {
	if fs, src := cpuinfoMount([]byte(lxcCPUInfoMount)); fs != "ext4" || src != "/dev/vda1" {
		t.Errorf("got %q %q", fs, src)
	}
	// A mount below /proc/cpuinfo's name, or of /proc itself, is not one.
	if fs, _ := cpuinfoMount([]byte("25 1 0:22 / /proc rw - proc proc rw\n26 1 0:23 / /proc/cpuinfo2 rw - tmpfs t rw\n")); fs != "" {
		t.Errorf("got %q", fs)
	}
	if fs, _ := cpuinfoMount(mustRead(t, "/proc/self/mountinfo")); fs != "" {
		t.Skip("this test runs with a mount on /proc/cpuinfo")
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMIDRName(t *testing.T) {
	sys := t.TempDir()
	for cpu, midr := range []string{"0x00000000410fd0c1", "0x00000000410fd0c1", "0x00000000410fd081\n"} {
		d := filepath.Join(sys, "devices/system/cpu", "cpu"+string(rune('0'+cpu)), "regs/identification")
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "midr_el1"), []byte(midr), 0o444)
	}
	if got := midrName(sys); got != "Neoverse-N1 (AWS Graviton2, Ampere Altra) + Cortex-A72" {
		t.Errorf("got %q", got)
	}
	if got := midrName(t.TempDir()); got != "" {
		t.Errorf("no sysfs: got %q", got)
	}
}
