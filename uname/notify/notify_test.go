package notify

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// The test binary doubles as the process that installs the filter, passes
// the listener on fd 3 and execs the 32-bit program in its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("NOTIFY_TEST_CHILD") == "1" {
		runtime.LockOSThread()
		if name := os.Getenv("NOTIFY_TEST_UTS"); name != "" {
			// A container's UTS namespace, with a host name of its own.
			if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			if err := unix.Sethostname([]byte(name)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
		abi, _ := CompatABI(runtime.GOARCH)
		l, _, err := Install(Filter(abi))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		sock := os.NewFile(3, "sock")
		if err := SendFD(sock, l); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		l.Close()
		sock.Close()
		err = syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// runBPF executes the classic-BPF subset Filter emits on data, and fails
// on any other instruction.
func runBPF(t *testing.T, prog []unix.SockFilter, data seccompData) uint32 {
	t.Helper()
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&data)), unsafe.Sizeof(data))
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = *(*uint32)(unsafe.Pointer(&raw[ins.K]))
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			if acc == ins.K {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return ins.K
		default:
			t.Fatalf("instruction %d: unexpected opcode %#x", pc, ins.Code)
		}
	}
	t.Fatal("program ran off its end")
	return 0
}

func TestFilter(t *testing.T) {
	const notify, allow = unix.SECCOMP_RET_USER_NOTIF, unix.SECCOMP_RET_ALLOW
	tests := []struct {
		goarch string
		arch   uint32
		nr     int32
		want   uint32
	}{
		{"amd64", unix.AUDIT_ARCH_I386, 122, notify},
		{"amd64", unix.AUDIT_ARCH_I386, 109, notify},
		{"amd64", unix.AUDIT_ARCH_I386, 59, notify},
		{"amd64", unix.AUDIT_ARCH_I386, 1, allow},    // exit
		{"amd64", unix.AUDIT_ARCH_I386, 123, allow},  // modify_ldt
		{"amd64", unix.AUDIT_ARCH_X86_64, 63, allow}, // 64-bit uname
		{"amd64", unix.AUDIT_ARCH_X86_64, 122, allow},
		{"amd64", unix.AUDIT_ARCH_X86_64, 59, allow},               // 64-bit execve
		{"amd64", unix.AUDIT_ARCH_X86_64, 109 | 0x40000000, allow}, // x32
		{"arm64", unix.AUDIT_ARCH_ARM, 122, notify},
		{"arm64", unix.AUDIT_ARCH_ARM, 109, allow}, // not a syscall of EABI
		{"arm64", unix.AUDIT_ARCH_ARM, 59, allow},
		{"arm64", unix.AUDIT_ARCH_ARM, 4, allow},
		{"arm64", unix.AUDIT_ARCH_AARCH64, 160, allow}, // 64-bit uname
		{"arm64", unix.AUDIT_ARCH_AARCH64, 122, allow},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%#x/%d", tt.goarch, tt.arch, tt.nr), func(t *testing.T) {
			abi, ok := CompatABI(tt.goarch)
			if !ok {
				t.Fatalf("no compat ABI for %s", tt.goarch)
			}
			prog := Filter(abi)
			if got := runBPF(t, prog, seccompData{Nr: tt.nr, Arch: tt.arch}); got != tt.want {
				t.Errorf("filter returns %#x, want %#x", got, tt.want)
			}
		})
	}
	if _, ok := CompatABI("riscv64"); ok {
		t.Error("riscv64 has a compat ABI?")
	}
}

func utsFixture() *unix.Utsname {
	var u unix.Utsname
	copy(u.Sysname[:], "Linux")
	copy(u.Nodename[:], "buildhost-0123456789")
	copy(u.Release[:], "6.1.0-27-arm64")
	copy(u.Version[:], "#1 SMP Debian 6.1.115-1 (2024-11-01)")
	copy(u.Machine[:], "aarch64")
	copy(u.Domainname[:], "(none)")
	return &u
}

func TestReply(t *testing.T) {
	u := utsFixture()
	tests := []struct {
		layout  Layout
		machine string
		size    int
		field   int // field size
		want    []string
	}{
		{NewUTS, "armv7l", 390, 65, []string{"Linux", "buildhost-0123456789", "6.1.0-27-arm64", "#1 SMP Debian 6.1.115-1 (2024-11-01)", "armv7l", "(none)"}},
		{OldUTS, "armv7l", 325, 65, []string{"Linux", "buildhost-0123456789", "6.1.0-27-arm64", "#1 SMP Debian 6.1.115-1 (2024-11-01)", "armv7l"}},
		{OldOldUTS, "armv7l", 45, 9, []string{"Linux", "buildhos", "6.1.0-27", "#1 SMP D", "armv7l"}},
		{OldOldUTS, "armv7-long", 45, 9, []string{"Linux", "buildhos", "6.1.0-27", "#1 SMP D", "armv7-lo"}},
		{NewUTS, strings.Repeat("m", 64), 390, 65, []string{"Linux", "buildhost-0123456789", "6.1.0-27-arm64", "#1 SMP Debian 6.1.115-1 (2024-11-01)", strings.Repeat("m", 64), "(none)"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%s", tt.layout, tt.machine), func(t *testing.T) {
			b := Reply(tt.layout, u, tt.machine)
			if len(b) != tt.size || tt.layout.Size() != tt.size {
				t.Fatalf("size %d (Size() %d), want %d", len(b), tt.layout.Size(), tt.size)
			}
			for i, want := range tt.want {
				f := b[i*tt.field : (i+1)*tt.field]
				// Each field is the string, then NULs to its end.
				wantField := append([]byte(want), make([]byte, tt.field-len(want))...)
				if !bytes.Equal(f, wantField) {
					t.Errorf("field %d = %q, want %q", i, f, wantField)
				}
			}
		})
	}
}

func TestCheckMachine(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"armv7l", true}, {"armv6l", true}, {"i686", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"arm v7", false}, {"armv7l\x00", false}, {"armv7lé", false},
	} {
		if err := CheckMachine(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckMachine(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// compatGOARCH is the Go architecture whose binaries use the compat ABI.
func compatGOARCH(t *testing.T) []string {
	switch runtime.GOARCH {
	case "amd64":
		return []string{"GOARCH=386"}
	case "arm64":
		return []string{"GOARCH=arm", "GOARM=7"}
	}
	t.Skipf("no 32-bit compat ABI on %s", runtime.GOARCH)
	return nil
}

// child starts the 32-bit test program args under the filter and returns
// it running and its listener.
func child(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *os.File) {
	t.Helper()
	return childEnv(t, nil, args...)
}

// childEnv is child with more environment for the child.
func childEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *os.File) {
	t.Helper()
	prog := testenv.BuildBinary(t, "./uname/notify/testdata/uname32", compatGOARCH(t)...)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	defer ours.Close()
	self, _ := os.Executable()
	cmd := exec.Command(self, append([]string{prog}, args...)...)
	cmd.Env = append(append(os.Environ(), "NOTIFY_TEST_CHILD=1"), env...)
	cmd.ExtraFiles = []*os.File{theirs}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	l, err := RecvFD(ours)
	if err != nil {
		cmd.Wait()
		t.Fatalf("%v: %s", err, out.String())
	}
	return cmd, &out, l
}

// serve runs args under the filter answered with machine, and returns
// their output once they exited and Serve returned.
func serve(t *testing.T, machine string, args ...string) string {
	t.Helper()
	cmd, out, l := child(t, args...)
	defer l.Close()
	abi, _ := CompatABI(runtime.GOARCH)
	s := &Server{ABI: abi, Machine: machine, Logf: t.Logf}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	if err := cmd.Wait(); err != nil {
		t.Errorf("%v: %v: %s", args, err, out)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its last process exited")
	}
	return strings.TrimSpace(out.String())
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestServe(t *testing.T) {
	prog := testenv.BuildBinary(t, "./uname/notify/testdata/uname32", compatGOARCH(t)...)
	abi, _ := CompatABI(runtime.GOARCH)
	// The test program's names of the calls the ABI has.
	var calls []string
	for _, l := range []Layout{NewUTS, OldUTS, OldOldUTS} {
		for _, cl := range abi.Calls {
			if cl == l {
				calls = append(calls, []string{"new", "old", "oldold"}[l])
			}
		}
	}
	fdsBefore, gBefore := openFDs(t), runtime.NumGoroutine()
	for _, call := range calls {
		t.Run(call, func(t *testing.T) {
			native, err := exec.Command(prog, call).Output()
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Split(strings.TrimSpace(string(native)), "|")
			f[4] = "armv7l"
			if got, want := serve(t, "armv7l", call), strings.Join(f, "|"); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
	t.Run("bad-pointer", func(t *testing.T) {
		efault := fmt.Sprint(int(unix.EFAULT))
		want := strings.Join([]string{efault, efault, efault, efault}, " ")
		if got := serve(t, "armv7l", "bad"); got != want {
			t.Errorf("uname on bad pointers gives %q, want %q (EFAULT, as the kernel)", got, want)
		}
	})
	t.Run("32-threads", func(t *testing.T) {
		if got := serve(t, "armv7l", "hammer", "32", "313", "armv7l"); got != "wrong 0" {
			t.Errorf("10,016 calls from 32 threads: %s", got)
		}
	})
	t.Run("killed-mid-run", func(t *testing.T) {
		cmd, _, l := child(t, "hammer", "32", "1000000", "armv7l")
		defer l.Close()
		s := &Server{ABI: abi, Machine: "armv7l", Logf: t.Logf}
		done := make(chan error, 1)
		go func() { done <- s.Serve(l) }()
		time.Sleep(200 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after its process was killed")
		}
	})
	// The supervisor still answers after the hostile runs.
	if got := serve(t, "armv7l", "new"); !strings.Contains(got, "|armv7l|") {
		t.Errorf("after the hostile runs: %q", got)
	}
	if fds := openFDs(t); fds != fdsBefore {
		t.Errorf("%d open descriptors after the runs, %d before", fds, fdsBefore)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > gBefore && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > gBefore {
		t.Errorf("%d goroutines after the runs, %d before", g, gBefore)
	}
}

// TestAnswerAfterExit takes a request as Serve would, and lets its caller
// die before the answer: the answer must be dropped, not written to
// whatever process holds the pid then.
func TestAnswerAfterExit(t *testing.T) {
	cmd, _, l := child(t, "new")
	defer l.Close()
	abi, _ := CompatABI(runtime.GOARCH)
	fd := int(l.Fd())
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(pfd, 10000); err != nil || pfd[0].Revents&unix.POLLIN == 0 {
		t.Fatalf("no notification: %v %#x", err, pfd[0].Revents)
	}
	var req Notif
	if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
		t.Fatal(err)
	}
	if req.Pid != uint32(cmd.Process.Pid) || req.Data.Arch != abi.Arch || req.Data.Nr != 122 {
		t.Fatalf("request %+v from pid %d", req, cmd.Process.Pid)
	}
	s := &Server{ABI: abi, Machine: "armv7l", Logf: t.Logf}
	cmd.Process.Kill()
	cmd.Wait()
	if resp, ok := s.answer(fd, &req); ok {
		t.Errorf("answered a dead caller: %+v", resp)
	}
	resp := Resp{ID: req.ID}
	if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != unix.ENOENT {
		t.Errorf("SEND to a dead caller: %v, want ENOENT", err)
	}
}

func TestAvailable(t *testing.T) {
	var u unix.Utsname
	unix.Uname(&u)
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	if err := Available(); (err == nil) != (major >= 5) {
		t.Errorf("kernel %d.%d: Available() = %v", major, minor, err)
	}
}

// A notification that is not the ABI's uname is left to the kernel.
func TestAnswerOthers(t *testing.T) {
	abi, _ := CompatABI("amd64")
	s := &Server{ABI: abi, Machine: "armv7l"}
	for _, d := range []seccompData{
		{Nr: 63, Arch: unix.AUDIT_ARCH_X86_64},  // the 64-bit uname
		{Nr: 122, Arch: unix.AUDIT_ARCH_X86_64}, // 122 of another ABI
		{Nr: 20, Arch: unix.AUDIT_ARCH_I386},    // getpid
	} {
		resp, ok := s.answer(-1, &Notif{ID: 7, Data: d})
		if !ok || resp.ID != 7 || resp.Flags != unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE || resp.Error != 0 {
			t.Errorf("%+v: reply %+v, %v; want CONTINUE", d, resp, ok)
		}
	}
}

// A caller in another UTS namespace (a container under a supervised
// dockerd) gets its own host name, not the supervisor's; the thread that
// joined its namespace is not left behind.
func TestServeOtherNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.BuildBinary(t, "./uname/notify/testdata/uname32", compatGOARCH(t)...)
	abi, _ := CompatABI(runtime.GOARCH)
	native, err := exec.Command(prog, "new").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(native)), "|")
	want[1], want[4] = "elsewhere", "armv7l"
	threads := func() int {
		ents, _ := os.ReadDir("/proc/self/task")
		return len(ents)
	}
	before := threads()
	cmd, out, l := childEnv(t, []string{"NOTIFY_TEST_UTS=elsewhere"}, "new")
	defer l.Close()
	s := &Server{ABI: abi, Machine: "armv7l", Logf: t.Logf}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if got := strings.TrimSpace(out.String()); got != strings.Join(want, "|") {
		t.Errorf("got  %q\nwant %q", got, strings.Join(want, "|"))
	}
	if n := threads(); n > before+1 {
		t.Errorf("%d threads after, %d before: the namespace threads were kept", n, before)
	}
}
