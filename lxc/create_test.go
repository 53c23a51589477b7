//go:build linux && cgo

package lxc

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	golxc "github.com/lxc/go-lxc"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// TestCreateDestroyOwnership: a user's rootfs directory is used in place
// and survives destroy untouched; an unpacked tarball is deleted with the
// container.
func TestCreateDestroyOwnership(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	m := newManager(t)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	before := testenv.TreeDigest(t, rootfs)

	if err := m.Create(ctx, CreateOptions{Name: "own-dir", Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(m.Dir("own-dir"))
	if err != nil {
		t.Fatal(err)
	}
	if st.OwnsRootfs || st.Rootfs != rootfs || st.Arch == "" {
		t.Errorf("state = %+v: want the user's rootfs, not owned", st)
	}
	for _, f := range []string{ConfigFile, StateFile, CPUInfoFile, InitFile} {
		if _, err := os.Stat(filepath.Join(m.Dir("own-dir"), f)); err != nil {
			t.Errorf("create left no %s: %v", f, err)
		}
	}
	if err := m.Destroy("own-dir", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir("own-dir")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destroy left %s: %v", m.Dir("own-dir"), err)
	}
	if after := testenv.TreeDigest(t, rootfs); after != before {
		t.Errorf("create+destroy changed the user's rootfs:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	tb := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	tarDir(t, rootfs, tb)
	if err := m.Create(ctx, CreateOptions{Name: "own-tar", Rootfs: tb}); err != nil {
		t.Fatal(err)
	}
	st, err = ReadState(m.Dir("own-tar"))
	if err != nil {
		t.Fatal(err)
	}
	if !st.OwnsRootfs || st.Rootfs != filepath.Join(m.Dir("own-tar"), RootfsDir) || st.Source != tb {
		t.Errorf("state = %+v: want an owned rootfs under the container dir", st)
	}
	if err := CheckRootfs(st.Rootfs); err != nil {
		t.Error(err)
	}
	if err := m.Destroy("own-tar", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir("own-tar")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destroy left %s: %v", m.Dir("own-tar"), err)
	}
	if _, err := os.Stat(tb); err != nil {
		t.Errorf("destroy removed the tarball itself: %v", err)
	}

	// A file the user put into the container directory is not deleted
	// (and keeps the directory).
	if err := m.Create(ctx, CreateOptions{Name: "own-extra", Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(m.Dir("own-extra"), "notes.txt")
	os.WriteFile(extra, []byte("mine"), 0o644)
	err = m.Destroy("own-extra", false)
	if err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("Destroy with a foreign file = %v, want it named", err)
	}
	if _, err := os.Stat(extra); err != nil {
		t.Errorf("destroy deleted the user's file: %v", err)
	}
}

// TestCreateRollback: every failing create leaves nothing behind.
func TestCreateRollback(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	rootfs := testenv.BusyboxRootfs(t, "i386")
	before := testenv.TreeDigest(t, rootfs)
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	tarDir(t, rootfs, good)

	truncated := filepath.Join(t.TempDir(), "truncated.tar.gz")
	data, _ := os.ReadFile(good)
	os.WriteFile(truncated, data[:len(data)*2/3], 0o644)

	noShell := filepath.Join(t.TempDir(), "nosh.tar")
	writeTar(t, noShell, false, []tarEntry{{name: "etc/", typ: tar.TypeDir}, {name: "etc/hostname", typ: tar.TypeReg, body: "x\n", mode: 0o644}})

	nested := t.TempDir()
	os.Symlink(rootfs, filepath.Join(nested, "rootfs"))
	nestedTar := filepath.Join(t.TempDir(), "nested.tar.gz")
	if b, err := exec.Command("tar", "-C", nested, "-h", "-czf", nestedTar, "rootfs").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}

	for _, tc := range []struct {
		name string
		o    CreateOptions
		err  string
	}{
		{"truncated-tarball", CreateOptions{Rootfs: truncated}, "unpacking"},
		{"tarball-without-shell", CreateOptions{Rootfs: noShell}, "no executable /bin/sh"},
		{"tarball-extra-top-dir", CreateOptions{Rootfs: nestedTar}, "extra top-level directory"},
		{"init-missing-after-unpack", CreateOptions{Rootfs: good, Init: []string{"/sbin/init"}}, "no such program"},
		{"init-missing-dir-rootfs", CreateOptions{Rootfs: rootfs, Init: []string{"/sbin/init"}}, "no such program"},
		{"init-unquotable", CreateOptions{Rootfs: rootfs, Init: []string{"/bin/sh", "-c", "'x'"}}, "cannot quote"},
		// --init is checked before the tarball is unpacked (the truncated
		// one would fail to unpack).
		{"init-unquotable-before-unpack", CreateOptions{Rootfs: truncated, Init: []string{"/bin/sh", "-c", "'x'"}}, "cannot quote"},
		{"init-relative-before-unpack", CreateOptions{Rootfs: truncated, Init: []string{"sbin/init"}}, "must be an absolute path"},
		{"init-empty-before-debootstrap", CreateOptions{Debootstrap: "no-such-suite", Init: []string{}}, "must be an absolute path"},
		{"missing-rootfs", CreateOptions{Rootfs: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"empty-dir-rootfs", CreateOptions{Rootfs: t.TempDir()}, "no executable /bin/sh"},
		{"docker-without-nesting", CreateOptions{Rootfs: rootfs, Docker: true}, "needs --nesting"},
		{"both-sources", CreateOptions{Rootfs: rootfs, Debootstrap: "bookworm"}, "exactly one"},
		{"no-source", CreateOptions{}, "exactly one"},
		{"bad-cpus", CreateOptions{Rootfs: rootfs, CPUs: "4096"}, "not available"},
		{"bad-cpus-syntax", CreateOptions{Rootfs: rootfs, CPUs: "1-0"}, "--cpus"},
		{"no-bridge", CreateOptions{Rootfs: rootfs, Network: "veth:nobr0"}, "no bridge"},
		{"bad-network", CreateOptions{Rootfs: rootfs, Network: "macvlan:eth0"}, "want none or veth:BRIDGE"},
		{"bind-source-missing", CreateOptions{Rootfs: rootfs, Binds: []string{"/nonexistent-armhf:/x"}}, "no such file"},
		{"bad-docker-socket", CreateOptions{Rootfs: rootfs, Nesting: true, Docker: true, DockerSocket: "docker.sock"}, "--docker-socket"},
		{"mirror-without-debootstrap", CreateOptions{Rootfs: rootfs, Mirror: "http://deb.debian.org/debian"}, "--mirror without --debootstrap"},
		{"docker-arg-without-docker", CreateOptions{Rootfs: rootfs, Nesting: true, DockerArgs: []string{"--iptables=false"}}, "--docker-arg without --docker"},
		{"docker-socket-without-docker", CreateOptions{Rootfs: rootfs, Nesting: true, DockerSocket: "/run/d.sock"}, "--docker-socket without --docker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			tc.o.Name = "rb"
			err := m.Create(ctx, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Create = %v, want an error containing %q", err, tc.err)
			}
			if _, serr := os.Stat(m.Dir("rb")); !errors.Is(serr, fs.ErrNotExist) {
				ents, _ := os.ReadDir(m.Dir("rb"))
				t.Errorf("failed create left %s behind (%v): %v", m.Dir("rb"), serr, ents)
			}
			if names := golxc.DefinedContainerNames(m.LXCPath); len(names) != 0 {
				t.Errorf("liblxc still sees %v", names)
			}
		})
	}
	if after := testenv.TreeDigest(t, rootfs); after != before {
		t.Errorf("failed creates changed the user's rootfs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestCreateTwice: the second create fails and leaves the first intact.
func TestCreateTwice(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	m := newManager(t)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	if err := m.Create(ctx, CreateOptions{Name: "twice", Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Destroy("twice", true) })
	cfg, _ := os.ReadFile(filepath.Join(m.Dir("twice"), ConfigFile))
	other := testenv.BusyboxRootfs(t, "i386")
	err := m.Create(ctx, CreateOptions{Name: "twice", Rootfs: other, Nesting: true})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Create = %v, want 'already exists'", err)
	}
	if cfg2, _ := os.ReadFile(filepath.Join(m.Dir("twice"), ConfigFile)); string(cfg2) != string(cfg) {
		t.Errorf("the failed second create changed the config:\n%s\n---\n%s", cfg, cfg2)
	}
	if st, err := ReadState(m.Dir("twice")); err != nil || st.Rootfs != rootfs {
		t.Errorf("state after second create: %+v, %v", st, err)
	}
}

// TestDebootstrapFailureRollsBack: a debootstrap that fails (an unknown
// suite: the mirror has no Release file for it, or there is no network)
// leaves nothing behind.
func TestDebootstrapFailureRollsBack(t *testing.T) {
	requireLXC(t)
	testenv.RequireCommand(t, "debootstrap")
	m := newManager(t)
	err := m.Create(context.Background(), CreateOptions{Name: "deb", Debootstrap: "no-such-suite-armhf", Mirror: "http://deb.debian.org/debian"})
	if err == nil || !strings.Contains(err.Error(), "debootstrap --arch=") {
		t.Fatalf("Create = %v, want a debootstrap error", err)
	}
	if _, serr := os.Stat(m.Dir("deb")); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("failed debootstrap left %s: %v", m.Dir("deb"), serr)
	}
}

// slowDebootstrap puts a debootstrap on PATH that says it runs (marker),
// waits until release exists, then copies rootfs into its target.
func slowDebootstrap(t *testing.T, rootfs string) (marker, release string) {
	t.Helper()
	bin := t.TempDir()
	marker, release = filepath.Join(bin, "running"), filepath.Join(bin, "release")
	script := "#!/bin/sh\nfor a; do dst=$a; done\n" + // the target is the last argument without a mirror
		"touch " + marker + "\nwhile [ ! -e " + release + " ]; do sleep 0.05; done\n" +
		"cp -a " + rootfs + "/. \"$dst\"/\n"
	if err := os.WriteFile(filepath.Join(bin, "debootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return marker, release
}

// TestCreateInProgress: a create that is still building its rootfs looks
// like a failed one (armhf-lxc.json, no LXC config); destroy, a second
// create and start must refuse instead of deleting its files.
func TestCreateInProgress(t *testing.T) {
	requireLXC(t)
	ctx := context.Background()
	m := newManager(t)
	marker, release := slowDebootstrap(t, testenv.BusyboxRootfs(t, "i386"))
	name := fmt.Sprintf("cip%d", os.Getpid())
	var createErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		createErr = m.Create(ctx, CreateOptions{Name: name, Debootstrap: "bookworm"})
	}()
	t.Cleanup(func() { os.WriteFile(release, nil, 0o644); <-done; m.Destroy(name, true) })
	for i := 0; ; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case <-done:
			t.Fatalf("Create ended before debootstrap ran: %v", createErr)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			t.Fatal("the fake debootstrap never ran")
		}
	}
	inProgress := fmt.Sprintf("create of %s still in progress (pid %d)", name, os.Getpid())
	if err := m.Destroy(name, true); err == nil || !strings.Contains(err.Error(), inProgress) {
		t.Errorf("Destroy during create = %v, want %q", err, inProgress)
	}
	if err := m.Create(ctx, CreateOptions{Name: name, Rootfs: testenv.BusyboxRootfs(t, "i386")}); err == nil || !strings.Contains(err.Error(), inProgress) || strings.Contains(err.Error(), "destroy") {
		t.Errorf("second Create during create = %v, want %q and no advice to destroy", err, inProgress)
	}
	if err := m.Start(ctx, name, StartOptions{}); err == nil || !strings.Contains(err.Error(), inProgress) || strings.Contains(err.Error(), "destroy") {
		t.Errorf("Start during create = %v, want %q", err, inProgress)
	}
	if _, err := os.Stat(filepath.Join(m.Dir(name), StateFile)); err != nil {
		t.Errorf("the running create's %s is gone: %v", StateFile, err)
	}
	os.WriteFile(release, nil, 0o644)
	<-done
	if createErr != nil {
		t.Fatalf("the create that was in progress failed: %v", createErr)
	}
	if err := m.Destroy(name, false); err != nil {
		t.Fatalf("Destroy after create = %v", err)
	}
	if _, err := os.Stat(m.Dir(name)); !errors.Is(err, fs.ErrNotExist) {
		ents, _ := os.ReadDir(m.Dir(name))
		t.Errorf("destroy left %s: %v", m.Dir(name), ents)
	}
}
