package vm

import (
	"strings"
	"testing"
)

// The --machine cases (docs/uname.md): uname answered through seccomp
// user notification on the real arm64 kernel.
func init() {
	checks["uname-machine"] = checkUnameMachine
	checks["configguess-machine"] = checkConfigGuessMachine
}

func checkUnameMachine(t *testing.T, m cpuModel, r *CaseResult) {
	if !m.AArch32 {
		wantAArch32Refusal(t, r)
		return
	}
	wantOK(t, r)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("%s: want 4 lines (uname -m, uname -a with and without --machine, a 64-bit uname -m), got:\n%s", m.Name, r.Output())
	}
	if lines[0] != "armv7l" {
		t.Errorf("%s: exec --machine armv7l: uname -m = %q, want armv7l", m.Name, lines[0])
	}
	// uname -a: every field the kernel's (the 64-bit view), but the machine.
	native := strings.Fields(lines[2])
	withMachine := strings.Fields(lines[1])
	if want := strings.Replace(lines[2], " aarch64 ", " armv7l ", 1); lines[1] != want || len(native) != len(withMachine) {
		t.Errorf("%s: uname -a under --machine %q, want the kernel's %q with armv7l", m.Name, lines[1], want)
	}
	// exec sets LINUX32 for every program, so the kernel's answer is armv8l.
	if lines[3] != "armv8l" {
		t.Errorf("%s: a 64-bit program's uname -m under --machine = %q, want the kernel's armv8l", m.Name, lines[3])
	}
}

func checkConfigGuessMachine(t *testing.T, m cpuModel, r *CaseResult) {
	if !m.AArch32 {
		wantAArch32Refusal(t, r)
		return
	}
	wantOK(t, r)
	want := "armv7l-unknown-linux-gnueabihf\narmv8l-unknown-linux-gnueabihf"
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("%s: config.guess with and without --machine armv7l printed %q, want %q (stderr %q)", m.Name, got, want, r.Stderr)
	}
}
