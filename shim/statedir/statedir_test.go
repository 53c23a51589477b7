package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"golang.org/x/sys/unix"
)

func TestWriteCPUInfoCachesPerCPUSet(t *testing.T) {
	renders := map[string]int{}
	d := Dir{Root: t.TempDir(), Render: func(s cpuinfo.CPUSet) ([]byte, error) {
		renders[s.String()]++
		return cpuinfo.HostARMv7(s)
	}}
	p1, err := d.WriteCPUInfo("c1", "0")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := d.WriteCPUInfo("c2", "0")
	if err != nil {
		t.Fatal(err)
	}
	if renders["0"] != 1 {
		t.Errorf("cpuset 0 rendered %d times, want 1 (cached)", renders["0"])
	}
	var s1, s2 unix.Stat_t
	unix.Stat(p1, &s1)
	unix.Stat(p2, &s2)
	if s1.Ino != s2.Ino {
		t.Errorf("containers on one cpuset do not share the cached file")
	}
	if s1.Mode&0o777 != 0o444 {
		t.Errorf("mode %o, want 0444", s1.Mode&0o777)
	}
	text, _ := os.ReadFile(p1)
	info, err := cpuinfo.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumProcessors() != 1 || !strings.Contains(string(text), "CPU architecture: 7") {
		t.Errorf("cpuinfo for cpuset 0:\n%s", text)
	}
	if p1 != filepath.Join(d.Root, "containers", "c1", CPUInfoName) {
		t.Errorf("path %s", p1)
	}

	// Empty cpuset = affinity; rendered once more, for that set.
	aff, _ := cpuinfo.Affinity()
	p3, err := d.WriteCPUInfo("c3", "")
	if err != nil {
		t.Fatal(err)
	}
	text, _ = os.ReadFile(p3)
	info, _ = cpuinfo.Parse(text)
	if info.NumProcessors() != aff.Len() {
		t.Errorf("affinity %s gave %d processors", aff, info.NumProcessors())
	}
	// Rewriting an existing container's file works (id reuse).
	if _, err := d.WriteCPUInfo("c1", "0"); err != nil {
		t.Fatal(err)
	}
	ids, _ := d.Containers()
	if len(ids) != 3 {
		t.Errorf("containers = %v", ids)
	}
	for _, id := range []string{"c1", "c2", "c3", "never-modified"} {
		if err := d.Remove(id); err != nil {
			t.Errorf("Remove(%s): %v", id, err)
		}
	}
	if ids, _ := d.Containers(); len(ids) != 0 {
		t.Errorf("after Remove: %v", ids)
	}
}

func TestBadInput(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	if _, err := d.WriteCPUInfo("../escape", "0"); err == nil {
		t.Error("id with a slash accepted")
	}
	if err := d.Remove(".."); err == nil {
		t.Error("Remove(..) accepted")
	}
	if _, err := d.WriteCPUInfo("c", "0-x"); err == nil || !strings.Contains(err.Error(), "linux.resources.cpu.cpus") {
		t.Errorf("bad cpuset: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Root, "containers", "c")); !os.IsNotExist(err) {
		t.Error("a failed write left a container directory")
	}
}

// A cached rendering written before this boot (a persistent state root
// after a reboot, maybe onto other CPUs) is rendered again; one written
// since is used as it is.
func TestCacheFromAnEarlierBootIsRenderedAgain(t *testing.T) {
	renders := 0
	d := Dir{Root: t.TempDir(), Render: func(s cpuinfo.CPUSet) ([]byte, error) {
		renders++
		return cpuinfo.HostARMv7(s)
	}}
	cache, err := d.SharedCPUInfo("0")
	if err != nil {
		t.Fatal(err)
	}
	if cache != filepath.Join(d.Root, "cache", "cpuinfo-0") {
		t.Errorf("cache file %s", cache)
	}
	if _, err := d.SharedCPUInfo("0"); err != nil || renders != 1 {
		t.Fatalf("second use of a fresh cache: %d renderings, %v; want 1", renders, err)
	}
	bt := bootTime()
	boot := time.Unix(0, bt.Nano())
	if time.Since(boot) <= 0 || time.Since(boot) > 100*365*24*time.Hour {
		t.Fatalf("boot time %v is not in the past", boot)
	}
	if err := os.Chtimes(cache, boot.Add(-time.Hour), boot.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SharedCPUInfo("0"); err != nil || renders != 2 {
		t.Fatalf("cache from before the boot: %d renderings, %v; want 2", renders, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(cache, &st); err != nil || !fresh(st.Mtim, bootTime()) {
		t.Errorf("the rendering again is not dated this boot: %v", err)
	}
	if _, err := d.SharedCPUInfo("0"); err != nil || renders != 2 {
		t.Errorf("after the rendering again: %d renderings, %v; want 2", renders, err)
	}
}

// Any failure to make a container's directory is reported as the state
// root's, with its own cause: not a later, misleading "no such file".
func TestWriteCPUInfoUnwritableStateRoot(t *testing.T) {
	render := func(s cpuinfo.CPUSet) ([]byte, error) { return []byte("processor\t: 0\n"), nil }
	cases := map[string]struct {
		mk   func(t *testing.T, root string)
		want unix.Errno
	}{
		"containers is a file": {func(t *testing.T, root string) {
			os.WriteFile(filepath.Join(root, "containers"), nil, 0o644)
		}, unix.ENOTDIR},
		"containers is a read-only mount": {func(t *testing.T, root string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to mount")
			}
			dir := filepath.Join(root, "containers")
			os.Mkdir(dir, 0o755)
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY, ""); err != nil {
				t.Skipf("mount tmpfs: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
		}, unix.EROFS},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := Dir{Root: t.TempDir(), Render: render}
			c.mk(t, d.Root)
			_, err := d.WriteCPUInfo("c1", "0")
			if err == nil || !strings.HasPrefix(err.Error(), "armhf-shim state root: ") || !errors.Is(err, c.want) {
				t.Errorf("err = %v, want armhf-shim state root: … %v", err, c.want)
			}
		})
	}
}

// Nothing under the state root is resolved through a symlink (issue 17
// item 9): a link planted at containers/<id> is replaced, not written
// through or removed through; a link at containers or cache is refused.
func TestSymlinksUnderTheStateRoot(t *testing.T) {
	render := func(s cpuinfo.CPUSet) ([]byte, error) { return []byte("processor\t: 0\n"), nil }
	outside := t.TempDir()
	precious := filepath.Join(outside, CPUInfoName)
	mkPrecious := func() {
		if err := os.WriteFile(precious, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(outside, "c1"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	intact := func(what string) {
		t.Helper()
		if b, err := os.ReadFile(precious); err != nil || string(b) != "precious" {
			t.Errorf("%s: the file outside the state root is now %q, %v", what, b, err)
		}
		if _, err := os.Stat(filepath.Join(outside, "c1")); err != nil {
			t.Errorf("%s: the directory outside the state root is gone: %v", what, err)
		}
	}

	mkPrecious()
	d := Dir{Root: t.TempDir(), Render: render}
	os.MkdirAll(filepath.Join(d.Root, "containers"), 0o755)
	if err := os.Symlink(outside, filepath.Join(d.Root, "containers", "c1")); err != nil {
		t.Fatal(err)
	}
	p, err := d.WriteCPUInfo("c1", "0")
	if err != nil {
		t.Fatalf("WriteCPUInfo over a planted link: %v", err)
	}
	intact("WriteCPUInfo over containers/c1 -> outside")
	if fi, err := os.Lstat(filepath.Dir(p)); err != nil || !fi.IsDir() {
		t.Errorf("containers/c1 is not a directory of its own: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(d.Root, "containers", "c1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(d.Root, "containers", "c1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("c1"); err != nil {
		t.Errorf("Remove of a planted link: %v", err)
	}
	intact("Remove of containers/c1 -> outside")

	for _, sub := range []string{"containers", "cache"} {
		d := Dir{Root: t.TempDir(), Render: render}
		if err := os.Symlink(outside, filepath.Join(d.Root, sub)); err != nil {
			t.Fatal(err)
		}
		_, err := d.WriteCPUInfo("c1", "0")
		if err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s -> outside: WriteCPUInfo = %v, want a refusal naming the link", sub, err)
		}
		if sub == "containers" {
			if err := d.Remove("c1"); err == nil {
				t.Errorf("containers -> outside: Remove accepted it")
			}
		}
		intact(sub + " -> outside")
	}
}

// CreateCPUInfo says whether it made the container's directory: the
// wrapper removes it after a failed create only then.
func TestCreateCPUInfoCreated(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	if _, created, err := d.CreateCPUInfo("c1", "0"); err != nil || !created {
		t.Fatalf("first CreateCPUInfo: created %v, %v", created, err)
	}
	if _, created, err := d.CreateCPUInfo("c1", "0"); err != nil || created {
		t.Errorf("CreateCPUInfo over c1's own directory: created %v, %v", created, err)
	}
	// A leftover that is not a directory is replaced: made anew.
	os.Symlink("/tmp", filepath.Join(d.Root, "containers", "c2"))
	if _, created, err := d.CreateCPUInfo("c2", "0"); err != nil || !created {
		t.Errorf("CreateCPUInfo over a symlink: created %v, %v", created, err)
	}
	// A failure after the mkdir takes the directory back.
	os.Mkdir(filepath.Join(d.Root, "containers", "c3"), 0o755)
	os.Mkdir(filepath.Join(d.Root, "containers", "c3", CPUInfoName), 0o755)
	os.WriteFile(filepath.Join(d.Root, "containers", "c3", CPUInfoName, "x"), nil, 0o644)
	if _, created, err := d.CreateCPUInfo("c3", "0"); err == nil || created {
		t.Errorf("CreateCPUInfo with a directory at c3/cpuinfo: created %v, %v", created, err)
	}
	if _, err := os.Stat(filepath.Join(d.Root, "containers", "c3")); err != nil {
		t.Errorf("a failed CreateCPUInfo removed c3, which it did not make: %v", err)
	}
}
