//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestLXCPathForms: a relative or symlinked lxcpath works like the
// absolute one, and destroy sees mounts below the container directory
// through it (mountinfo has canonical paths) instead of deleting into them.
func TestLXCPathForms(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	tarDir(t, testenv.BusyboxRootfs(t, "i386"), good)
	for _, tc := range []struct {
		name string
		path func(t *testing.T) (lxcpath, real string)
	}{
		{"symlink", func(t *testing.T) (string, string) {
			real := filepath.Join(t.TempDir(), "real")
			os.Mkdir(real, 0o755)
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link, real
		}},
		{"relative", func(t *testing.T) (string, string) {
			wd := t.TempDir()
			t.Chdir(wd)
			return "rel/lxc", filepath.Join(wd, "rel/lxc")
		}},
		{"relative-through-symlink", func(t *testing.T) (string, string) {
			real := filepath.Join(t.TempDir(), "real")
			os.Mkdir(real, 0o755)
			wd := t.TempDir()
			os.Symlink(real, filepath.Join(wd, "link"))
			t.Chdir(wd)
			return "link", real
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lxcpath, real := tc.path(t)
			m := &Manager{LXCPath: lxcpath, Log: testLog{t}}
			name := "lp-" + tc.name
			if err := m.Create(ctx, CreateOptions{Name: name, Rootfs: good}); err != nil {
				t.Fatalf("Create with lxcpath %q: %v", lxcpath, err)
			}
			st, err := ReadState(filepath.Join(real, name))
			if err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(st.Rootfs) {
				t.Errorf("state rootfs %q is not absolute", st.Rootfs)
			}
			// A mount below the container directory (as a stuck
			// container or a user's bind mount leaves one).
			mnt := filepath.Join(real, name, RootfsDir, "mnt", "data")
			os.MkdirAll(mnt, 0o755)
			if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatal(err)
			}
			mounted := true
			t.Cleanup(func() {
				if mounted {
					unix.Unmount(mnt, unix.MNT_DETACH)
				}
				m.Destroy(name, true)
			})
			keep := filepath.Join(mnt, "keep")
			os.WriteFile(keep, []byte("x"), 0o644)
			err = m.Destroy(name, false)
			if err == nil || !strings.Contains(err.Error(), "has mounts below it") || !strings.Contains(err.Error(), mnt) {
				t.Errorf("Destroy with %s mounted = %v, want a refusal naming it", mnt, err)
			}
			if _, err := os.Stat(keep); err != nil {
				t.Errorf("Destroy deleted a file on the mount below the container: %v", err)
			}
			if err := unix.Unmount(mnt, 0); err != nil {
				t.Fatal(err)
			}
			mounted = false
			if err := m.Destroy(name, false); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(real, name)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("destroy left %s: %v", filepath.Join(real, name), err)
			}
		})
	}
}

// TestDestroyLeftovers: what a failed create or destroy leaves (no LXC
// config) is removed by destroy as far as it is armhf-lxc's, and the
// other commands say so instead of "not created by armhf-lxc" or "remove
// the directory by hand".
func TestDestroyLeftovers(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	rootfs := testenv.BusyboxRootfs(t, "i386")
	tarball := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	tarDir(t, rootfs, tarball)
	destroyCmd := func(m *Manager, name string) string {
		return "armhf-lxc --lxcpath " + m.LXCPath + " destroy " + name
	}

	t.Run("state-without-config", func(t *testing.T) {
		m := newManager(t)
		if err := m.Create(ctx, CreateOptions{Name: "lo1", Rootfs: tarball}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Destroy("lo1", true) })
		// What removeDir leaves when it fails after removing the config.
		os.Remove(filepath.Join(m.Dir("lo1"), ConfigFile))
		if err := m.Start(ctx, "lo1", StartOptions{}); err == nil || !strings.Contains(err.Error(), destroyCmd(m, "lo1")) || strings.Contains(err.Error(), "by hand") {
			t.Errorf("Start = %v, want advice to run %s", err, destroyCmd(m, "lo1"))
		}
		if err := m.Create(ctx, CreateOptions{Name: "lo1", Rootfs: rootfs}); err == nil || !strings.Contains(err.Error(), destroyCmd(m, "lo1")) {
			t.Errorf("Create over it = %v, want advice to run %s", err, destroyCmd(m, "lo1"))
		}
		if err := m.Destroy("lo1", false); err != nil {
			t.Fatalf("Destroy = %v", err)
		}
		if _, err := os.Stat(m.Dir("lo1")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("destroy left %s: %v", m.Dir("lo1"), err)
		}
	})

	t.Run("runtime-files-only", func(t *testing.T) {
		m := newManager(t)
		dir := m.Dir("lo2")
		os.MkdirAll(dir, 0o750)
		for _, f := range []string{CPUInfoFile, InitFile, LogFile} {
			os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644)
		}
		if err := m.Destroy("lo2", false); err != nil {
			t.Fatalf("Destroy = %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("destroy left %s: %v", dir, err)
		}
	})

	t.Run("unknown-rootfs-kept", func(t *testing.T) {
		m := newManager(t)
		dir := m.Dir("lo3")
		os.MkdirAll(filepath.Join(dir, RootfsDir, "etc"), 0o755)
		os.WriteFile(filepath.Join(dir, InitFile), []byte("x\n"), 0o644)
		err := m.Destroy("lo3", true)
		if err == nil || !strings.Contains(err.Error(), "remove it by hand (rm -r "+dir+")") || errors.Is(err, ErrNotManaged) {
			t.Errorf("Destroy = %v, want a refusal naming rm -r %s", err, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, RootfsDir, "etc")); err != nil {
			t.Errorf("destroy deleted a rootfs it cannot know is armhf-lxc's: %v", err)
		}
	})
}
