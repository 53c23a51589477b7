package inroot

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Both resolvers keep every lookup inside the root, whatever the tree's
// symlinks say.
func TestOpenFileStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "secret"), []byte("inside"), 0o644)
	for name, target := range map[string]string{
		"abs":     filepath.Join(outside, "secret"), // absolute: the root's own /tmp/... (missing)
		"dotdot":  "../../../../../../../../" + outside + "/secret",
		"rootabs": "/etc/secret", // resolves to root/etc/secret
		"loop1":   "loop2", "loop2": "loop1",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, walk := range []bool{false, true} {
		ForceWalk(walk)
		r, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		read := func(name string) (string, error) {
			fd, err := r.OpenFile(name, unix.O_RDONLY)
			if err != nil {
				return "", err
			}
			defer unix.Close(fd)
			buf := make([]byte, 64)
			n, err := unix.Read(fd, buf)
			return string(buf[:max(n, 0)]), err
		}
		for _, name := range []string{"/abs", "dotdot", "/loop1", "/etc/../../../secret"} {
			if got, err := read(name); err == nil && got == "outside" {
				t.Errorf("walk=%v: %s escaped the root", walk, name)
			}
		}
		if got, err := read("/rootabs"); err != nil || got != "inside" {
			t.Errorf("walk=%v: /rootabs = %q, %v; want the root's /etc/secret", walk, got, err)
		}
		if got, err := read("dotdot/../etc/secret"); err == nil && got == "outside" {
			t.Errorf("walk=%v: escaped", walk)
		}
		r.Close()
	}
	ForceWalk(false)
	if _, err := Open(filepath.Join(root, "etc", "secret")); err == nil {
		t.Error("Open of a file as root succeeded")
	}
	if _, err := Open(filepath.Join(root, "missing")); err == nil {
		t.Error("Open of a missing root succeeded")
	}
}

// OpenNoSymlinks follows no symlink, inside the root or not, and takes
// ".." as the lexical parent, never above the root, in both resolvers.
func TestOpenNoSymlinks(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "proc", "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "proc", "cpuinfo"), []byte("x"), 0o644)
	os.Symlink("proc", filepath.Join(root, "link"))                // a directory link, inside the root
	os.Symlink("cpuinfo", filepath.Join(root, "proc", "filelink")) // a file link
	defer ForceWalk(false)
	for _, walk := range []bool{false, true} {
		ForceWalk(walk)
		r, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		for name, ok := range map[string]bool{
			"/proc/cpuinfo":         true,
			"proc/./cpuinfo":        true,
			"/link/cpuinfo":         false,
			"/proc/filelink":        false,
			"/proc/sub/../cpuinfo":  true,
			"/../../proc/cpuinfo":   true,
			"/link/../proc/cpuinfo": true, // lexical: the link is not followed
			"/proc/filelink/..":     true,
			"/proc/missing":         false,
		} {
			fd, err := r.OpenNoSymlinks(name, unix.O_PATH)
			if (err == nil) != ok {
				t.Errorf("walk=%v: OpenNoSymlinks(%s) = %v, want success %v", walk, name, err, ok)
			}
			if err == nil {
				unix.Close(fd)
			}
		}
		r.Close()
	}
}
