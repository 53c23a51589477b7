package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBusyboxRootfsI386(t *testing.T) {
	root := BusyboxRootfs(t, "i386")
	out, err := exec.Command(filepath.Join(root, "bin", "busybox"), "echo", "hi").Output()
	if err != nil || strings.TrimSpace(string(out)) != "hi" {
		t.Fatalf("i386 busybox: %v %q", err, out)
	}
	if _, err := os.Lstat(filepath.Join(root, "bin", "sh")); err != nil {
		t.Fatal(err)
	}
}

func TestDockerd(t *testing.T) {
	d := StartDockerd(t, DockerdOptions{})
	d.Import(t, BusyboxRootfs(t, "amd64"), "busybox")
	out, stderr, err := d.Docker("run", "--rm", "--network", "none", "busybox", "uname", "-m")
	if err != nil {
		t.Fatalf("docker run: %v: %s\n%s", err, stderr, d.LogTail(20))
	}
	if strings.TrimSpace(out) != "x86_64" {
		t.Fatalf("uname -m = %q", out)
	}
}
