package uname

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the program exec'd by ExecLinux32 in tests.
func TestMain(m *testing.M) {
	switch os.Getenv("UNAME_TEST_HELPER") {
	case "machine":
		mach, err := Machine()
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		os.Stdout.WriteString(mach + "\n")
		os.Exit(0)
	case "exec32":
		os.Setenv("UNAME_TEST_HELPER", "machine")
		err := ExecLinux32(os.Args[0], os.Args[:1], os.Environ())
		os.Stderr.WriteString(err.Error())
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func kernelGoarch(t *testing.T) string {
	t.Helper()
	a := kernelArch(kernelMachine())
	if a == "" {
		t.Skipf("kernel machine %q is not arm64 or x86_64", kernelMachine())
	}
	return a
}

// expectNative reads what the environment says about this host's compat
// support (the arm64 VM suite sets it per CPU model). Unset: x86_64 hosts
// are expected to run i386 natively, arm64 hosts are not assumed either way.
func expectNative(t *testing.T) (want, known bool) {
	switch os.Getenv("ARMHF_SHIM_EXPECT_NATIVE") {
	case "1":
		return true, true
	case "0":
		return false, true
	}
	return kernelGoarch(t) == "amd64", kernelGoarch(t) == "amd64"
}

func TestCompatMachine(t *testing.T) {
	for _, tc := range []struct{ goarch, want string }{
		{"arm64", "armv8l"}, {"amd64", "i686"}, {"arm", ""}, {"riscv64", ""},
	} {
		if got := CompatMachine(tc.goarch); got != tc.want {
			t.Errorf("CompatMachine(%q) = %q, want %q", tc.goarch, got, tc.want)
		}
	}
}

func TestTinyELF(t *testing.T) {
	for _, tc := range []struct {
		goarch  string
		machine elf.Machine
	}{{"arm64", elf.EM_ARM}, {"amd64", elf.EM_386}} {
		b := Compat32ELF(tc.goarch)
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: not an ELF: %v", tc.goarch, err)
		}
		if f.Class != elf.ELFCLASS32 || f.Machine != tc.machine || f.Type != elf.ET_EXEC {
			t.Errorf("%s: class %v machine %v type %v", tc.goarch, f.Class, f.Machine, f.Type)
		}
		if len(f.Progs) != 1 || f.Progs[0].Type != elf.PT_LOAD {
			t.Fatalf("%s: want one PT_LOAD, got %v", tc.goarch, f.Progs)
		}
		p := f.Progs[0]
		if f.Entry < p.Vaddr || f.Entry >= p.Vaddr+p.Filesz {
			t.Errorf("%s: entry %#x outside the segment [%#x,%#x)", tc.goarch, f.Entry, p.Vaddr, p.Vaddr+p.Filesz)
		}
		if len(b) > 200 {
			t.Errorf("%s: %d bytes; expected a tiny ELF", tc.goarch, len(b))
		}
	}
	if Compat32ELF("riscv64") != nil {
		t.Error("no compat ELF expected for riscv64")
	}
}

// The ARM test ELF cannot run natively on an x86 host; QEMU proves the
// instructions are right (exit status 0, not a crash).
func TestARMELFUnderQEMU(t *testing.T) {
	qemu, err := exec.LookPath("qemu-arm-static")
	if err != nil {
		qemu, err = exec.LookPath("qemu-arm")
	}
	if err != nil {
		if runtime.GOARCH == "arm64" || runtime.GOARCH == "arm" {
			t.Skip("no qemu-arm here; the arm64 VM suite runs the ELF natively")
		}
		if os.Getenv("ARMHF_SHIM_REQUIRE") == "1" {
			t.Fatal("qemu-arm-static not found: run scripts/install-deps.sh (package qemu-user-static)")
		}
		t.Skip("qemu-arm-static not found (package qemu-user-static)")
	}
	path := filepath.Join(t.TempDir(), "exit0")
	if err := os.WriteFile(path, armExit0(), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(qemu, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", qemu, path, err, out)
	}
}

func TestPersonalityRoundTrip(t *testing.T) {
	goarch := kernelGoarch(t)
	before, err := Machine()
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	err = WithPersonality(PerLinux32, func() error {
		p, err := Personality()
		if err != nil {
			return err
		}
		if p&perMask != PerLinux32 {
			t.Errorf("personality inside = %#x, want domain PER_LINUX32", p)
		}
		inside, err = Machine()
		return err
	})
	want, known := expectNative(t)
	if err != nil {
		var nc *NoCompatError
		if known && want {
			t.Fatalf("WithPersonality(PER_LINUX32): %v", err)
		}
		if !errors.Is(err, syscall.EINVAL) || !errors.As(err, &nc) {
			t.Fatalf("refusal should be a *NoCompatError wrapping EINVAL, got %v (%T)", err, err)
		}
		if !strings.Contains(err.Error(), "AArch32") {
			t.Errorf("refusal does not say AArch32: %v", err)
		}
		t.Logf("kernel refuses PER_LINUX32: %v", err)
		return
	}
	if known && !want {
		t.Fatalf("PER_LINUX32 accepted on a host expected to have no 32-bit support")
	}
	if inside != CompatMachine(goarch) {
		t.Errorf("uname -m in PER_LINUX32 = %q, want %q", inside, CompatMachine(goarch))
	}
	after, _ := Machine()
	if after != before {
		t.Errorf("machine after restore = %q, want %q", after, before)
	}
	if HostCompatMachine() != CompatMachine(goarch) {
		t.Errorf("HostCompatMachine = %q", HostCompatMachine())
	}
}

func TestExecLinux32(t *testing.T) {
	goarch := kernelGoarch(t)
	for _, helper := range []string{"exec32"} {
		t.Run(helper, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "UNAME_TEST_HELPER="+helper)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			want, known := expectNative(t)
			if known && !want {
				if err == nil || !strings.Contains(stderr.String(), "cannot run 32-bit code natively") {
					t.Fatalf("expected a clear refusal, got err=%v out=%q stderr=%q", err, out, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("helper: %v: %s", err, stderr.String())
			}
			if got := strings.TrimSpace(string(out)); got != CompatMachine(goarch) {
				t.Errorf("exec'd program sees %q, want %q", got, CompatMachine(goarch))
			}
		})
	}
}

func TestProbeCompat(t *testing.T) {
	goarch := kernelGoarch(t)
	p := ProbeCompat()
	t.Logf("probe: %+v", p)
	want, known := expectNative(t)
	if p.CompatMachine != CompatMachine(goarch) {
		t.Errorf("CompatMachine = %q", p.CompatMachine)
	}
	if known && p.Native != want {
		t.Fatalf("Native = %v, want %v (%s)", p.Native, want, p.Method)
	}
	if p.Native != (p.Err() == nil) {
		t.Errorf("Err() = %v inconsistent with Native = %v", p.Err(), p.Native)
	}
	if !p.Native {
		if !strings.Contains(p.Err().Error(), "QEMU") {
			t.Errorf("error should point at QEMU: %v", p.Err())
		}
		if goarch == "arm64" && !strings.Contains(p.Method, "EINVAL") {
			t.Errorf("on arm64 the refusal must come from personality EINVAL: %s", p.Method)
		}
	}
	if p.Native && !p.EmulatorOn && !p.ExecOK {
		t.Errorf("native without a successful exec test: %+v", p)
	}
}

// With no AArch32 the ELF is refused with ENOEXEC; with it, it runs.
func TestRunCompatELF(t *testing.T) {
	goarch := kernelGoarch(t)
	err := runELF(Compat32ELF(goarch))
	want, known := expectNative(t)
	if !known {
		t.Logf("runELF: %v", err)
		return
	}
	if want && err != nil {
		_, on := binfmtHandler("/proc/sys/fs/binfmt_misc", Compat32ELF(goarch))
		t.Fatalf("32-bit test ELF failed on a native host: %v (binfmt handler on: %v)", err, on)
	}
	if !want && !errors.Is(err, syscall.ENOEXEC) {
		t.Fatalf("want ENOEXEC on a host without 32-bit support, got %v", err)
	}
}

func TestBinfmtMatch(t *testing.T) {
	dir := t.TempDir()
	// Entries as qemu-user-static and binfmt-support register them.
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("status", "enabled\n")
	write("qemu-aarch64", "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\n"+
		"magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n")
	write("qemu-arm", "disabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\nflags: POCF\noffset 0\n"+
		"magic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n")
	name, on := binfmtHandler(dir, armExit0())
	if !strings.HasPrefix(name, "qemu-arm ") || on {
		t.Errorf("arm: got %q on=%v, want the disabled qemu-arm handler", name, on)
	}
	write("qemu-arm", "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\nflags: POCF\noffset 0\n"+
		"magic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n")
	if name, on = binfmtHandler(dir, armExit0()); !on {
		t.Errorf("arm: enabled handler %q not reported on", name)
	}
	write("status", "disabled\n")
	if _, on = binfmtHandler(dir, armExit0()); on {
		t.Error("binfmt_misc disabled globally, yet handler reported on")
	}
	if name, _ := binfmtHandler(dir, i386Exit0()); name != "" {
		t.Errorf("i386 ELF matched %q", name)
	}
	if name, _ := binfmtHandler(filepath.Join(dir, "missing"), armExit0()); name != "" {
		t.Errorf("missing dir matched %q", name)
	}
}

// An enabled handler wins over a disabled one that matches too, whatever
// their order in the directory; a disabled match is still reported.
func TestBinfmtPrefersEnabled(t *testing.T) {
	const (
		armMagic = "offset 0\nmagic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
		on       = "enabled\ninterpreter /usr/bin/qemu-arm-static\nflags: F\n" + armMagic
		off      = "disabled\ninterpreter /usr/bin/qemu-arm-static\nflags: F\n" + armMagic
	)
	for _, tc := range []struct {
		name    string
		entries map[string]string
		status  string
		want    string // handler name prefix
		wantOn  bool
	}{
		{"disabled-first", map[string]string{"arm": off, "qemu-arm": on}, "enabled", "qemu-arm ", true},
		{"disabled-last", map[string]string{"a-arm": on, "qemu-arm": off}, "enabled", "a-arm ", true},
		{"both-disabled", map[string]string{"arm": off, "qemu-arm": off}, "enabled", "arm ", false},
		{"both-enabled", map[string]string{"arm": on, "qemu-arm": on}, "enabled", "arm ", true},
		{"only-disabled", map[string]string{"qemu-arm": off}, "enabled", "qemu-arm ", false},
		{"globally-off", map[string]string{"arm": off, "qemu-arm": on}, "disabled", "qemu-arm ", false},
		{"none", map[string]string{}, "enabled", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "status"), []byte(tc.status+"\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "register"), nil, 0o200)
			for n, text := range tc.entries {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			name, gotOn := binfmtHandler(dir, armExit0())
			if gotOn != tc.wantOn || (tc.want == "") != (name == "") || !strings.HasPrefix(name, tc.want) {
				t.Errorf("got %q on=%v, want %q... on=%v", name, gotOn, tc.want, tc.wantOn)
			}
		})
	}
}

func TestDecideNative(t *testing.T) {
	eacces := fmt.Errorf("execve: %w", syscall.EACCES)
	for _, tc := range []struct {
		name       string
		arch       string
		perr, eerr error
		emuOn      bool
		native     bool
		method     string
	}{
		{"arm64 no EL0", "arm64", unix.EINVAL, nil, false, false, "EINVAL"},
		{"personality refused otherwise", "arm64", unix.EPERM, nil, false, false, "failed"},
		{"arm64 native", "arm64", nil, nil, false, true, "ran natively"},
		{"no 32-bit loader", "amd64", nil, fmt.Errorf("execve: %w", syscall.ENOEXEC), false, false, "ENOEXEC"},
		{"no 32-bit loader arm64", "arm64", nil, fmt.Errorf("execve: %w", syscall.ENOEXEC), false, false, "ENOEXEC"},
		// A memfd that may not be executed (vm.memfd_noexec) or a seccomp
		// filter: the personality still proves 32-bit EL0 on arm64 ...
		{"arm64 exec test blocked", "arm64", nil, eacces, false, true, "decisive on arm64"},
		// ... but on x86_64 only the exec can tell.
		{"amd64 exec test blocked", "amd64", nil, eacces, false, false, "failed"},
		{"arm64 emulated", "arm64", nil, nil, true, true, "inconclusive"},
		{"amd64 emulated", "amd64", nil, nil, true, false, "inconclusive"},
		{"amd64 native", "amd64", nil, nil, false, true, "ran natively"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			native, method := decideNative(tc.arch, tc.perr, tc.eerr, "qemu-arm", tc.emuOn)
			if native != tc.native || !strings.Contains(method, tc.method) {
				t.Errorf("decideNative = %v, %q; want %v, …%s…", native, method, tc.native, tc.method)
			}
		})
	}
}
