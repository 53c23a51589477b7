package lxc

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

type tarEntry struct {
	name, link string
	typ        byte
	body       string
	mode       int64
	uid        int
}

func writeTar(t *testing.T, path string, gz bool, entries []tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0)}
		if h.Mode == 0 {
			h.Mode = 0o755
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	data := buf.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnpack(t *testing.T) {
	testenv.RequireRoot(t) // owners are preserved only as root
	testenv.RequireCommand(t, "tar")
	ctx := context.Background()

	t.Run("owners-modes-gzip", func(t *testing.T) {
		tb := filepath.Join(t.TempDir(), "rootfs.tar.gz")
		writeTar(t, tb, true, []tarEntry{
			{name: "bin/", typ: tar.TypeDir},
			{name: "bin/busybox", typ: tar.TypeReg, body: "#!x", mode: 0o755},
			{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox"},
			{name: "home/user/", typ: tar.TypeDir, uid: 1234, mode: 0o700},
			{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		})
		dst := t.TempDir()
		if err := Unpack(ctx, tb, dst); err != nil {
			t.Fatal(err)
		}
		if err := CheckRootfs(dst); err != nil {
			t.Error(err)
		}
		fi, err := os.Stat(filepath.Join(dst, "home/user"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1234 || fi.Mode().Perm() != 0o700 {
			t.Errorf("home/user: uid %d mode %v, want 1234 0700", st.Uid, fi.Mode())
		}
		if fi, _ := os.Stat(filepath.Join(dst, "tmp")); fi == nil || fi.Mode()&os.ModeSticky == 0 {
			t.Errorf("tmp lost its sticky bit: %v", fi)
		}
	})

	t.Run("hostile-symlink", func(t *testing.T) {
		outside := t.TempDir()
		tb := filepath.Join(t.TempDir(), "evil.tar")
		writeTar(t, tb, false, []tarEntry{
			{name: "escape", typ: tar.TypeSymlink, link: outside},
			{name: "escape/pwned", typ: tar.TypeReg, body: "x"},
			{name: "up", typ: tar.TypeSymlink, link: "../../../../../../" + outside},
			{name: "up/pwned2", typ: tar.TypeReg, body: "x"},
			{name: "../pwned3", typ: tar.TypeReg, body: "x"},
			{name: "/abs-pwned4", typ: tar.TypeReg, body: "x"},
		})
		parent := t.TempDir()
		dst := filepath.Join(parent, "rootfs")
		os.Mkdir(dst, 0o755)
		err := Unpack(ctx, tb, dst) // GNU tar may or may not call this an error; what matters is where files land
		t.Logf("Unpack: %v", err)
		for _, p := range []string{filepath.Join(outside, "pwned"), filepath.Join(outside, "pwned2"), filepath.Join(parent, "pwned3"), "/abs-pwned4"} {
			if _, err := os.Lstat(p); err == nil {
				os.Remove(p)
				t.Errorf("the archive wrote %s outside the rootfs", p)
			}
		}
	})

	t.Run("truncated", func(t *testing.T) {
		tb := filepath.Join(t.TempDir(), "rootfs.tar.gz")
		writeTar(t, tb, true, []tarEntry{
			{name: "bin/", typ: tar.TypeDir},
			{name: "bin/busybox", typ: tar.TypeReg, body: strings.Repeat("busybox!", 1<<14)},
			{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox"},
		})
		data, _ := os.ReadFile(tb)
		os.WriteFile(tb, data[:len(data)/2], 0o644)
		err := Unpack(ctx, tb, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "unpacking") {
			t.Errorf("Unpack(truncated) = %v, want an error", err)
		}
	})

	t.Run("not-a-tarball", func(t *testing.T) {
		tb := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(tb, []byte("this is not a tar archive\n"), 0o644)
		if err := Unpack(ctx, tb, t.TempDir()); err == nil {
			t.Error("Unpack(text file) succeeded")
		}
	})
}

func TestPingDocker(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	answer := "OK"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_ping" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(answer))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	if err := PingDocker(ctx, sock); err != nil {
		t.Errorf("PingDocker = %v", err)
	}
	answer = "starting"
	if err := PingDocker(ctx, sock); err == nil {
		t.Error("PingDocker accepted a non-OK answer")
	}
	if err := PingDocker(ctx, filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Error("PingDocker on a missing socket succeeded")
	}
}
