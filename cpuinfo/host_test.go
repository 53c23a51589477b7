package cpuinfo

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/uname"
)

// hostView on recorded host texts: which path is taken, and what it shows.
func TestHostViewFromText(t *testing.T) {
	a72 := fixture(t, "qemu-cortex-a72-linux32.txt")
	sel := func(name, set string) []byte {
		s, err := mustParse(t, fixture(t, name)).ARMv7().Select(mustSet(t, set))
		if err != nil {
			t.Fatal(err)
		}
		return s.Render()
	}
	for _, tc := range []struct {
		name   string
		h      hostText
		set    string
		want   []byte
		source string
		cpus   string
	}{
		{"linux32 view", hostText{data: a72, linux32: true}, "1",
			sel("qemu-cortex-a72-linux32.txt", "1"), "the kernel's 32-bit view (/proc/cpuinfo read in LINUX32), made armv7", "1"},
		{"linux32 view, all CPUs", hostText{data: a72, linux32: true}, "0-1",
			mustParse(t, a72).ARMv7().Render(), "the kernel's 32-bit view (/proc/cpuinfo read in LINUX32), made armv7", "0-1"},
		{"real armv7 kernel", hostText{data: fixture(t, "rpi3b-raspbian-armv7l.txt")}, "0-3",
			fixture(t, "rpi3b-raspbian-armv7l.txt"), "the kernel's 32-bit view (/proc/cpuinfo), made armv7", "0-3"},
		{"LINUX32 refused", hostText{data: fixture(t, "qemu-neoverse-n1-aarch64.txt"), note: "; LINUX32 personality refused: invalid argument"}, "0-1",
			mustParse(t, fixture(t, "qemu-neoverse-n1-linux32.txt")).ARMv7().Render(),
			"derived from the arm64 view (/proc/cpuinfo); LINUX32 personality refused: invalid argument", "0-1"},
		{"x86", hostText{data: fixture(t, "x86_64-amd-epyc-2cpu.txt")}, "0-1",
			Template(2).Render(), "template: /proc/cpuinfo is an x86 view", "0-1"},
		{"x86 one cpu", hostText{data: fixture(t, "x86_64-amd-epyc-2cpu.txt")}, "1,5",
			Template(1).Render(), "template: /proc/cpuinfo is an x86 view", "1"},
		{"read error", hostText{err: os.ErrPermission}, "2,5",
			Template(2).Render(), "template: reading /proc/cpuinfo failed: permission denied", "2,5"},
		{"unparsable", hostText{data: []byte("garbage\n")}, "3",
			Template(1).Render(), `template: /proc/cpuinfo is unparsable: line 1: "garbage" is not`, "3"},
		{"other arch", hostText{data: []byte("processor\t: 0\ncpu\t\t: POWER9\n\n")}, "0",
			Template(1).Render(), "template: /proc/cpuinfo has no ARM fields", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.path = ProcCPUInfo
			orig := bytes.Clone(tc.h.data)
			v, err := hostView(tc.h, mustSet(t, tc.set), false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tc.h.data, orig) {
				t.Errorf("hostView modified the text it read")
			}
			if !bytes.Equal(v.Text, tc.want) {
				t.Errorf("Text:\n%s", diff(tc.want, v.Text))
			}
			if !strings.HasPrefix(v.Source, tc.source) {
				t.Errorf("Source = %q, want prefix %q", v.Source, tc.source)
			}
			if v.CPUs.String() != tc.cpus {
				t.Errorf("CPUs = %q, want %q", v.CPUs, tc.cpus)
			}
			if !bytes.Equal(v.Info.Render(), v.Text) {
				t.Errorf("Info does not render to Text")
			}
		})
	}
	// A set naming none of the host's CPUs is the caller's error.
	_, err := hostView(hostText{path: ProcCPUInfo, data: a72}, mustSet(t, "7"), false)
	if err == nil || !strings.Contains(err.Error(), "none of CPUs 7") {
		t.Errorf("set 7 on a 2-CPU host: %v", err)
	}
	if _, err := hostView(hostText{path: ProcCPUInfo, data: a72}, CPUSet{}, false); err == nil {
		t.Errorf("empty set accepted")
	}
}

// With exact (a user's --cpus), CPUs the host does not list are an error
// naming them, whether some or all are missing; the lenient view skips them.
func TestHostViewExact(t *testing.T) {
	a72 := fixture(t, "qemu-cortex-a72-linux32.txt") // CPUs 0-1
	x86 := fixture(t, "x86_64-amd-epyc-2cpu.txt")    // CPUs 0-1
	for _, tc := range []struct {
		data      []byte
		set, want string
	}{
		{a72, "0-3", "CPUs 2-3 are not online on this host (online: 0-1)"},
		{x86, "0-3", "CPUs 2-3 are not online on this host (online: 0-1)"},
		{x86, "1,5", "CPU 5 is not online on this host (online: 0-1)"},
		{a72, "7", "CPU 7 is not online on this host (online: 0-1)"},
		{a72, "0,2,4-6,9", "CPUs 2,4-6,9 are not online on this host (online: 0-1)"},
	} {
		h := hostText{path: ProcCPUInfo, data: tc.data}
		_, err := hostView(h, mustSet(t, tc.set), true)
		var me *MissingCPUsError
		if !errors.As(err, &me) || err.Error() != tc.want {
			t.Errorf("exact %s: %v; want %q", tc.set, err, tc.want)
		}
	}
	for _, set := range []string{"0-1", "1"} {
		if _, err := hostView(hostText{path: ProcCPUInfo, data: a72}, mustSet(t, set), true); err != nil {
			t.Errorf("exact %s on CPUs 0-1: %v", set, err)
		}
	}
	// Unreadable cpuinfo: a template over the set, nothing to check against.
	if _, err := hostView(hostText{path: ProcCPUInfo, err: os.ErrPermission}, mustSet(t, "0-3"), true); err != nil {
		t.Errorf("exact on a template: %v", err)
	}
	// The lenient view (the runtime wrapper's) still skips them.
	v, err := hostView(hostText{path: ProcCPUInfo, data: a72}, mustSet(t, "0-3"), false)
	if err != nil || v.CPUs.String() != "0-1" {
		t.Errorf("lenient 0-3: %v, %v", v, err)
	}
}

// checkARMv7 checks text is an armv7 cpuinfo of n CPUs numbered from 0.
func checkARMv7(t *testing.T, text []byte, n int) {
	t.Helper()
	info, err := Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if info.NumProcessors() != n {
		t.Errorf("%d processors, want %d", info.NumProcessors(), n)
	}
	for k, p := range info.Processors {
		id, _ := p.ID()
		arch, _ := p.Get("CPU architecture")
		model, _ := p.Get("model name")
		if id != k || arch != "7" || !strings.HasPrefix(model, "ARMv7 Processor rev ") || !strings.HasSuffix(model, " (v7l)") {
			t.Errorf("block %d: processor %d, architecture %q, model name %q", k, id, arch, model)
		}
	}
}

// The real thing on this machine.
func TestHostView(t *testing.T) {
	aff, err := Affinity()
	if err != nil {
		t.Fatal(err)
	}
	v, err := HostView(CPUSet{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("source: %s; CPUs %s; %s", v.Source, v.CPUs, v.Info.CPUName())
	if !v.CPUs.Equal(aff) {
		t.Errorf("CPUs %q, affinity %q", v.CPUs, aff)
	}
	checkARMv7(t, v.Text, aff.Len())
	switch uname.HostCompatMachine() {
	case "i686":
		if !strings.HasPrefix(v.Source, "template: /proc/cpuinfo is an x86 view") {
			t.Errorf("x86_64 host: Source %q", v.Source)
		}
		if !bytes.Equal(v.Text, Template(aff.Len()).Render()) {
			t.Errorf("x86_64 host: not the template")
		}
	case "armv8l":
		if !strings.Contains(v.Source, "read in LINUX32") && !strings.Contains(v.Source, "LINUX32 personality refused") {
			t.Errorf("arm64 host: Source %q", v.Source)
		}
	}

	last := aff.List()[aff.Len()-1]
	one, _ := NewCPUSet(last)
	text, err := HostARMv7(one)
	if err != nil {
		t.Fatal(err)
	}
	checkARMv7(t, text, 1)
	if _, err := HostARMv7(mustSet(t, "65535")); err == nil && runtime.NumCPU() < 65536 {
		t.Errorf("HostARMv7(65535) succeeded on a %d-CPU host", runtime.NumCPU())
	}
}

// readCPUInfo really reads in LINUX32 (the thread's own personality file
// shows it), and leaves the calling thread's personality alone.
func TestReadCPUInfoLinux32(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := uname.Personality()
	if err != nil {
		t.Fatal(err)
	}
	h := readCPUInfo("/proc/thread-self/personality", true)
	if os.Getenv("ARMHF_SHIM_EXPECT_NATIVE") == "0" {
		// An arm64 CPU without AArch32 (the VM suite's a64fx): the kernel
		// refuses LINUX32 and the plain view must be read instead.
		if h.linux32 || h.err != nil {
			t.Fatalf("no-AArch32 host: read in LINUX32 %v, err %v; want the plain read", h.linux32, h.err)
		}
		if got := strings.TrimSpace(string(h.data)); strings.HasSuffix(got, "08") {
			t.Errorf("no-AArch32 host: read ran with personality %q", got)
		}
		return
	}
	if h.err != nil || !h.linux32 {
		t.Fatalf("read in LINUX32: %v (linux32 %v)", h.err, h.linux32)
	}
	if got := strings.TrimSpace(string(h.data)); !strings.HasSuffix(got, "08") {
		t.Errorf("read ran with personality %q, want PER_LINUX32 (..08)", got)
	}
	h = readCPUInfo("/proc/thread-self/personality", false)
	if got := strings.TrimSpace(string(h.data)); h.err != nil || h.linux32 || strings.HasSuffix(got, "08") {
		t.Errorf("plain read: personality %q, %v, linux32 %v", got, h.err, h.linux32)
	}
	if after, _ := uname.Personality(); after != before {
		t.Errorf("personality %#x after the read, %#x before", after, before)
	}

	h = readCPUInfo(ProcCPUInfo, true)
	if h.err != nil {
		t.Fatal(h.err)
	}
	if _, err := Parse(h.data); err != nil {
		t.Errorf("/proc/cpuinfo read in LINUX32 does not parse: %v", err)
	}

	h = readCPUInfo("/nonexistent/cpuinfo", true)
	if h.err == nil || h.linux32 || !strings.Contains(h.note, "reading in LINUX32 failed") {
		t.Errorf("missing file: %+v", h)
	}
	v, err := hostView(h, mustSet(t, "0"), false)
	if err != nil || !strings.HasPrefix(v.Source, "template: reading /nonexistent/cpuinfo failed") {
		t.Errorf("missing file view: %v, %v", v, err)
	}
}

// OnlineARMv7: every online CPU, whatever this test's affinity.
func TestOnlineARMv7(t *testing.T) {
	data, err := OnlineARMv7()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "CPU architecture: 7") {
		t.Fatalf("not an armv7 cpuinfo:\n%s", data)
	}
	host, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countProcessors(string(data)), countProcessors(string(host)); got != want {
		t.Errorf("%d processors, host has %d", got, want)
	}
}

func countProcessors(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "processor") {
			n++
		}
	}
	return n
}
