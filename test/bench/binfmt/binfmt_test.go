package binfmt

import (
	"bufio"
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// The lines qemu-user-static's binfmt configuration registers for i386 and
// arm (magic and mask as in qemu's scripts/qemu-binfmt-conf.sh).
func TestLine(t *testing.T) {
	for _, tc := range []struct {
		machine byte
		want    string
	}{
		{EM386, `:h:M::\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386-static:F`},
		{EMARM, `:h:M::\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386-static:F`},
	} {
		h := ELF32("h", tc.machine, "/usr/bin/qemu-i386-static")
		got, err := h.Line()
		if err != nil || got != tc.want {
			t.Errorf("machine %d: Line() = %q, %v\nwant %q", tc.machine, got, err, tc.want)
		}
		back, err := Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := back.Line(); again != got {
			t.Errorf("Parse(Line()) round trip: %q", again)
		}
	}
}

func TestLineRejects(t *testing.T) {
	ok := ELF32("armhf-shim-bench-i386", EM386, "/usr/bin/qemu-i386-static")
	for name, h := range map[string]Handler{
		"name with colon":      {Name: "a:b", Magic: ok.Magic, Mask: ok.Mask, Interpreter: ok.Interpreter},
		"name register":        {Name: "register", Magic: ok.Magic, Mask: ok.Mask, Interpreter: ok.Interpreter},
		"empty name":           {Magic: ok.Magic, Mask: ok.Mask, Interpreter: ok.Interpreter},
		"short mask":           {Name: "x", Magic: ok.Magic, Mask: ok.Mask[:3], Interpreter: ok.Interpreter},
		"relative interpreter": {Name: "x", Magic: ok.Magic, Mask: ok.Mask, Interpreter: "qemu-i386-static"},
	} {
		if line, err := h.Line(); err == nil {
			t.Errorf("%s: Line() = %q, want an error", name, line)
		}
	}
	for _, line := range []string{"", ":x:E::exe::/bin/x:", `:x:M::\x7f:\xff:/bin/x`, `:x:M::7f:ff:/bin/x:F`} {
		if _, err := Parse(line); err == nil {
			t.Errorf("Parse(%q): want an error", line)
		}
	}
}

// runner builds binfmtrun and skips where it cannot run: it needs root
// and a kernel that gives a user namespace its own binfmt_misc (6.7+).
func runner(t *testing.T) string {
	testenv.SkipShort(t, "user namespaces with their own binfmt_misc instance")
	testenv.RequireRoot(t)
	bin := testenv.BuildBinary(t, "./test/bench/binfmt/binfmtrun")
	cmd, err := Command(bin, ELF32("armhf-shim-bench-probe", EM386, "/bin/true"), "/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Require(t, !strings.Contains(string(out), "mounting a binfmt_misc instance"), "no private binfmt_misc instance here: %s", out)
		t.Fatalf("binfmtrun /bin/true: %v: %s", err, out)
	}
	return bin
}

// The handler is there while the command runs, the command's failure is
// binfmtrun's exit status, and the handler is gone afterwards (binfmtrun
// checks that last part itself and would exit 125).
func TestRunnerRemovesOnFailure(t *testing.T) {
	bin := runner(t)
	h := ELF32("armhf-shim-bench-test", EM386, "/bin/true")
	cmd, err := Command(bin, h, "/bin/sh", "-c", "test -e "+filepath.Join(Dir, h.Name)+" && exit 3")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("binfmtrun with a command that fails with 3 while the handler is registered: %v: %s", err, out)
	}
	// Nothing registered where the bench runs.
	if Registered(Dir, h.Name) {
		t.Errorf("%s is registered in this namespace's binfmt_misc", h.Name)
	}
}

// Interrupted mid-command, binfmtrun stops the command and still removes
// the handler.
func TestRunnerRemovesOnSignal(t *testing.T) {
	bin := runner(t)
	h := ELF32("armhf-shim-bench-test", EM386, "/bin/true")
	cmd, err := Command(bin, h, "/bin/sh", "-c", "test -e "+filepath.Join(Dir, h.Name)+" && echo ready && exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the command did not see its handler: %q %s", line, stderr.String())
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 128+int(syscall.SIGTERM) {
		t.Fatalf("binfmtrun after SIGTERM: %v (want status %d: the command killed, the handler removed): %s", err, 128+int(syscall.SIGTERM), stderr.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("binfmtrun took %v to stop after SIGTERM", d)
	}
}

// A 32-bit binary the host runs natively goes through the interpreter
// under binfmtrun and nowhere else: the assumption the bench's QEMU case
// rests on.
func TestRunnerEmulates(t *testing.T) {
	bin := runner(t)
	var arch, qemu, machine string
	var em byte
	switch runtime.GOARCH {
	case "amd64":
		arch, qemu, em, machine = "i386", "qemu-i386-static", EM386, "i686"
	case "arm64":
		arch, qemu, em, machine = "armhf", "qemu-arm-static", EMARM, "armv7l"
	default:
		t.Skipf("no 32-bit compat target on %s", runtime.GOARCH)
	}
	interp := testenv.RequireCommand(t, qemu)
	bb := filepath.Join(testenv.BusyboxRootfs(t, arch), "bin", "busybox")
	native, err := exec.Command(bb, "uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := Command(bin, ELF32("armhf-shim-bench-test", em, interp), bb, "uname", "-m")
	if err != nil {
		t.Fatal(err)
	}
	emulated, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(emulated)); got != machine || got == strings.TrimSpace(string(native)) {
		t.Errorf("32-bit busybox uname -m: %q natively, %q under the handler (want %q from %s)", native, emulated, machine, qemu)
	}
	if Registered(Dir, "armhf-shim-bench-test") {
		t.Error("the handler is visible outside binfmtrun")
	}
}

func TestRunnerRefusesInitialNamespace(t *testing.T) {
	bin := runner(t)
	out, err := exec.Command(bin, "-handler", mustLine(t, ELF32("armhf-shim-bench-test", EM386, "/bin/true")), "--", "/bin/true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "initial user namespace") {
		t.Fatalf("binfmtrun outside its own user namespace: %v: %s", err, out)
	}
	if Registered(Dir, "armhf-shim-bench-test") {
		t.Error("registered in the initial namespace")
		Remove(Dir, "armhf-shim-bench-test")
	}
}

func mustLine(t *testing.T, h Handler) string {
	l, err := h.Line()
	if err != nil {
		t.Fatal(err)
	}
	return l
}
