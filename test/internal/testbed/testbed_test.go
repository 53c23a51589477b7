package testbed

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestCopyTree: files keep their bytes, permissions and layout; a
// directory that exists at dst keeps its own mode.
func TestCopyTree(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(src, "cases"), 0o755)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("run\n"), 0o755)
	os.WriteFile(filepath.Join(src, "cases", "00-boot.sh"), []byte("boot\n"), 0o644)
	os.Chmod(dst, 0o700)
	CopyTree(t, src, dst)
	for p, want := range map[string]struct {
		body string
		mode os.FileMode
	}{"run.sh": {"run\n", 0o755}, "cases/00-boot.sh": {"boot\n", 0o644}} {
		b, err := os.ReadFile(filepath.Join(dst, p))
		info, _ := os.Stat(filepath.Join(dst, p))
		if err != nil || string(b) != want.body || info.Mode().Perm() != want.mode {
			t.Errorf("%s: %q %v %v, want %q %v", p, b, err, info.Mode(), want.body, want.mode)
		}
	}
	if info, _ := os.Stat(dst); info.Mode().Perm() != 0o700 {
		t.Errorf("dst's mode became %v", info.Mode())
	}
}

func TestKeyValues(t *testing.T) {
	got := KeyValues("DISK=/c/disk.img\nnot a pair\nKERNEL=/c/vmlinuz\nOPTS=a=b\n")
	want := map[string]string{"DISK": "/c/disk.img", "KERNEL": "/c/vmlinuz", "OPTS": "a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("KeyValues: %v, want %v", got, want)
	}
}
