package detect

import (
	"encoding/binary"
	"errors"
	"github.com/armhf-shim/armhf-shim/internal/inroot"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/uname"
	"golang.org/x/sys/unix"
)

// elfHeader is the start of an ELF file of class (1/2), little-endian.
func elfHeader(class byte, machine uint16) []byte {
	b := make([]byte, 64)
	copy(b, []byte{0x7f, 'E', 'L', 'F', class, 1, 1})
	binary.LittleEndian.PutUint16(b[16:], 2)
	binary.LittleEndian.PutUint16(b[18:], machine)
	return b
}

var (
	i386Exe  = uname.Compat32ELF("amd64") // a real runnable i386 ELF
	armExe   = uname.Compat32ELF("arm64")
	amd64Exe = elfHeader(2, EMX86_64)
	arm64Exe = elfHeader(2, EMAARCH64)
)

type tree map[string]any // path -> []byte (file 0755), string (symlink target), nil (dir)

func mkroot(t testing.TB, files tree) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for p, v := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch v := v.(type) {
		case []byte:
			err = os.WriteFile(full, v, 0o755)
		case string:
			err = os.Symlink(v, full)
		case nil:
			err = os.MkdirAll(full, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func testInspect(t *testing.T) {
	busybox := tree{
		"bin/busybox": i386Exe, "bin/sh": "busybox", "bin/sleep": "/bin/busybox",
		"usr/bin/env": "../../bin/busybox",
		"lib64/amd64": amd64Exe, "usr/local/bin/app": "/lib64/amd64",
		"opt/run.sh":     []byte("#!/bin/sh -e\necho hi\n"),
		"opt/envscript":  []byte("#!/usr/bin/env python3\n"),
		"opt/notexec":    nil,
		"data/plain.txt": []byte("hello"),
		"usr/sbin/sleep": []byte("not executable either"),
		"home/u/tool":    arm64Exe,
	}
	root := mkroot(t, busybox)
	os.Chmod(filepath.Join(root, "data/plain.txt"), 0o644)
	os.Chmod(filepath.Join(root, "usr/sbin/sleep"), 0o644)

	cases := []struct {
		name  string
		args  []string
		env   []string
		cwd   string
		path  string // in-root path as found (symlinks not resolved)
		class byte
		mach  uint16
		chain int
		err   error
	}{
		{name: "PATH search through a relative symlink", args: []string{"sh"}, path: "/bin/sh", class: 1, mach: EM386},
		{name: "absolute symlink stays in the rootfs", args: []string{"sleep", "1"}, path: "/bin/sleep", class: 1, mach: EM386},
		{name: "non-executable file earlier in PATH is skipped", args: []string{"sleep"}, env: []string{"PATH=/usr/sbin:/bin"}, path: "/bin/sleep", class: 1, mach: EM386},
		{name: "absolute path", args: []string{"/usr/local/bin/app"}, path: "/usr/local/bin/app", class: 2, mach: EMX86_64},
		{name: "PATH from env, last wins (runc sets each entry in order)", args: []string{"app"}, env: []string{"PATH=/bin", "PATH=/usr/local/bin"}, path: "/usr/local/bin/app", class: 2, mach: EMX86_64},
		{name: "relative name with slash uses cwd", args: []string{"./tool"}, cwd: "/home/u", path: "/home/u/tool", class: 2, mach: EMAARCH64},
		{name: "empty PATH entry is cwd", args: []string{"tool"}, env: []string{"PATH=/nope:"}, cwd: "/home/u", path: "/home/u/tool", class: 2, mach: EMAARCH64},
		{name: "script follows its interpreter", args: []string{"/opt/run.sh"}, path: "/bin/sh", class: 1, mach: EM386, chain: 1},
		{name: "env script reaches env", args: []string{"/opt/envscript"}, path: "/usr/bin/env", class: 1, mach: EM386, chain: 1},
		{name: "missing", args: []string{"nosuch"}, err: ErrNotFound},
		{name: "directory", args: []string{"/opt/notexec"}, err: ErrNotFound},
		{name: "not executable", args: []string{"/data/plain.txt"}, err: ErrNotFound},
		{name: "empty args", args: nil, err: ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Inspect(root, c.args, c.env, c.cwd)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Path != c.path || e.Class != c.class || e.Machine != c.mach || len(e.Chain) != c.chain {
				t.Errorf("got %+v (%s)", e, e)
			}
		})
	}
}

func testInspectHostileRootfs(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "bin32"), i386Exe, 0o755)
	root := mkroot(t, tree{
		// Would reach outside/bin32 if ".." could leave the rootfs.
		"bin/escape":    "../../../../../../../../" + outside + "/bin32",
		"bin/absescape": outside + "/bin32",
		"bin/loop1":     "loop2", "bin/loop2": "loop1",
		"bin/deep.sh":  []byte("#!/bin/deep.sh\n"),
		"bin/empty.sh": []byte("#!\n"),
		"bin/garbage":  []byte("MZ\x90\x00 not an elf at all............"),
		"bin/short":    []byte("\x7fELF"),
	})
	// A FIFO where /bin/sh should be must not block the wrapper.
	if err := unix.Mkfifo(filepath.Join(root, "bin", "fifo"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"/bin/escape", "/bin/absescape", "/bin/loop1", "/bin/fifo"} {
		done := make(chan error, 1)
		go func() { _, err := Inspect(root, []string{name}, nil, "/"); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Inspect blocked", name)
		}
	}
	if os.Geteuid() == 0 {
		// A device node is not a regular file: never opened.
		if err := unix.Mknod(filepath.Join(root, "bin", "tty"), unix.S_IFCHR|0o755, int(unix.Mkdev(5, 0))); err != nil {
			t.Fatal(err)
		}
		if _, err := Inspect(root, []string{"/bin/tty"}, nil, "/"); !errors.Is(err, ErrNotFound) {
			t.Errorf("device: err = %v", err)
		}
	}
	if _, err := Inspect(root, []string{"/bin/deep.sh"}, nil, "/"); err == nil || !strings.Contains(err.Error(), "4 levels") {
		t.Errorf("recursive script: %v", err)
	}
	for _, name := range []string{"/bin/empty.sh", "/bin/garbage", "/bin/short"} {
		if _, err := Inspect(root, []string{name}, nil, "/"); !errors.Is(err, ErrNotELF) {
			t.Errorf("%s: err = %v, want ErrNotELF", name, err)
		}
	}
}

// bothResolvers runs test with the kernel's openat2(RESOLVE_IN_ROOT) and
// with the securejoin walk that kernels without openat2 get.
func bothResolvers(t *testing.T, test func(*testing.T)) {
	for _, openat2 := range []bool{true, false} {
		name := "securejoin"
		if openat2 {
			name = "openat2"
		}
		t.Run(name, func(t *testing.T) {
			inroot.ForceWalk(!openat2)
			defer inroot.ForceWalk(false)
			test(t)
		})
	}
}

func TestInspect(t *testing.T)              { bothResolvers(t, testInspect) }
func TestInspectHostileRootfs(t *testing.T) { bothResolvers(t, testInspectHostileRootfs) }

func TestDecide(t *testing.T) {
	root := mkroot(t, tree{"bin/i386": i386Exe, "bin/arm": armExe, "bin/amd64": amd64Exe, "bin/arm64": arm64Exe})
	auto := func(exe, goarch string) AutoFunc { return Auto(root, []string{exe}, nil, "/", goarch) }
	cases := []struct {
		name    string
		ann     map[string]string
		env     []string
		auto    AutoFunc
		enable  bool
		why     string
		wantErr string
	}{
		{"annotation true wins over env and auto", map[string]string{AnnotationEnable: "true"}, []string{"ARMHF_SHIM=0"}, auto("/bin/amd64", "amd64"), true, "annotation", ""},
		{"annotation false wins over auto", map[string]string{AnnotationEnable: "false"}, nil, auto("/bin/i386", "amd64"), false, "annotation", ""},
		{"annotation invalid", map[string]string{AnnotationEnable: "yes please"}, nil, nil, false, "", "want true or false"},
		{"env 1 wins over auto", nil, []string{"PATH=/bin", "ARMHF_SHIM=1"}, auto("/bin/amd64", "amd64"), true, "environment", ""},
		{"env 0 wins over auto", nil, []string{"ARMHF_SHIM=0"}, auto("/bin/i386", "amd64"), false, "environment", ""},
		{"env invalid", nil, []string{"ARMHF_SHIM=maybe"}, nil, false, "", "want 1, true, yes or on, or 0, false, no or off"},
		{"env in words, any case", nil, []string{"ARMHF_SHIM=Off"}, auto("/bin/i386", "amd64"), false, "environment", ""},
		{"env yes", nil, []string{"ARMHF_SHIM=yes"}, auto("/bin/amd64", "amd64"), true, "environment", ""},
		{"env empty is unset", nil, []string{"ARMHF_SHIM="}, auto("/bin/i386", "amd64"), true, "auto", ""},
		{"env name prefix is not the var", nil, []string{"ARMHF_SHIMX=0"}, auto("/bin/i386", "amd64"), true, "auto", ""},
		{"auto i386 on amd64", nil, nil, auto("/bin/i386", "amd64"), true, "ELF32 i386", ""},
		{"auto amd64 on amd64", nil, nil, auto("/bin/amd64", "amd64"), false, "ELF64 x86-64", ""},
		{"auto arm on arm64", nil, nil, auto("/bin/arm", "arm64"), true, "ELF32 arm", ""},
		{"auto arm64 on arm64", nil, nil, auto("/bin/arm64", "arm64"), false, "ELF64 aarch64", ""},
		{"auto arm on amd64 is not native", nil, nil, auto("/bin/arm", "amd64"), false, "ELF32 arm", ""},
		{"auto i386 on arm64 is not native", nil, nil, auto("/bin/i386", "arm64"), false, "ELF32 i386", ""},
		{"auto on a host without compat", nil, nil, auto("/bin/i386", "riscv64"), false, "no 32-bit", ""},
		{"auto with a missing executable passes through", nil, nil, auto("/bin/none", "amd64"), false, "cannot inspect", ""},
		// runc sets process.env in order (os.Setenv per entry): the last
		// entry of a duplicated name is what the container sees.
		{"env duplicate: last 1 wins", nil, []string{"ARMHF_SHIM=0", "ARMHF_SHIM=1"}, auto("/bin/amd64", "amd64"), true, "ARMHF_SHIM=1", ""},
		{"env duplicate: last 0 wins", nil, []string{"ARMHF_SHIM=1", "PATH=/bin", "ARMHF_SHIM=0"}, auto("/bin/i386", "amd64"), false, "ARMHF_SHIM=0", ""},
		{"env duplicate: last empty is unset", nil, []string{"ARMHF_SHIM=0", "ARMHF_SHIM="}, auto("/bin/i386", "amd64"), true, "auto", ""},
		{"PATH duplicate: last finds the executable", nil, nil,
			Auto(root, []string{"i386"}, []string{"PATH=/nonexistent", "PATH=/bin"}, "/", "amd64"), true, "ELF32 i386", ""},
		{"PATH duplicate: last misses the executable", nil, nil,
			Auto(root, []string{"i386"}, []string{"PATH=/bin", "PATH=/nonexistent"}, "/", "amd64"), false, "cannot inspect", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Decide(c.ann, c.env, c.auto)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Enable != c.enable || !strings.Contains(d.Why, c.why) {
				t.Errorf("got %+v, want enable=%v why~%q", d, c.enable, c.why)
			}
		})
	}
}

func TestDecideRunsAutoOnlyWhenNeeded(t *testing.T) {
	calls := 0
	auto := func() (bool, string, error) { calls++; return true, "x", nil }
	Decide(map[string]string{AnnotationEnable: "0"}, nil, auto)
	Decide(nil, []string{"ARMHF_SHIM=1"}, auto)
	if calls != 0 {
		t.Errorf("auto ran %d times although an explicit rule decided", calls)
	}
	Decide(nil, nil, auto)
	if calls != 1 {
		t.Errorf("auto ran %d times, want 1", calls)
	}
}
