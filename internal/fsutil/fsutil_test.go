package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	if err := WriteFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "two" || st.Mode().Perm() != 0o644 {
		t.Fatalf("got %q mode %v", b, st.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	// A directory that does not exist: error, nothing created.
	if err := WriteFileAtomic(filepath.Join(dir, "no", "f"), []byte("x"), 0o644); err == nil {
		t.Fatal("expected an error for a missing directory")
	}
	// Target is a directory: rename fails, the old content stays, no temp left.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "keep"), []byte("k"), 0o644)
	if err := WriteFileAtomic(sub, []byte("x"), 0o644); err == nil {
		t.Fatal("expected an error replacing a non-empty directory")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left after failure: %v", entries)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	os.WriteFile(filepath.Join(dir, "big"), big, 0o644)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644)
	for _, p := range []string{filepath.Join(dir, "big"), filepath.Join(dir, "empty"),
		"/proc/self/status", "/proc/sys/kernel/random/boot_id", "/proc/self/mountinfo"} {
		got, err := ReadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want, _ := os.ReadFile(p)
		if p == "/proc/self/status" || p == "/proc/self/mountinfo" {
			// Differs between two reads (or processes); compare the start.
			if len(got) == 0 || string(got[:5]) != string(want[:5]) {
				t.Fatalf("%s: got %q", p, got)
			}
			continue
		}
		if string(got) != string(want) {
			t.Fatalf("%s: got %d bytes, want %d", p, len(got), len(want))
		}
	}
	_, err := ReadFile(filepath.Join(dir, "missing"))
	if !IsNotExist(err) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v (IsNotExist %v)", err, IsNotExist(err))
	}
	if _, osErr := os.ReadFile(filepath.Join(dir, "missing")); osErr.Error() != err.Error() {
		t.Fatalf("error %q, os says %q", err, osErr)
	}
	if _, err := ReadFile(dir); err == nil || IsNotExist(err) {
		t.Fatalf("reading a directory: %v", err)
	}
	if IsNotExist(errors.New("x")) || IsNotExist(nil) {
		t.Fatal("IsNotExist of a non-PathError")
	}
}

func TestIdentify(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644)
	os.Symlink(exe, filepath.Join(dir, "link"))
	os.Link(exe, filepath.Join(dir, "hard"))
	want, isExec, err := Identify(exe)
	if err != nil || !isExec {
		t.Fatalf("Identify(exe) = %v, %v, %v", want, isExec, err)
	}
	for _, alias := range []string{"link", "hard"} {
		if id, _, err := Identify(filepath.Join(dir, alias)); err != nil || id != want {
			t.Errorf("%s: %v %v, want %v", alias, id, err, want)
		}
	}
	for _, p := range []string{"plain", "."} {
		if id, isExec, err := Identify(filepath.Join(dir, p)); err != nil || isExec || id == want {
			t.Errorf("%s: %v executable=%v %v", p, id, isExec, err)
		}
	}
	if _, _, err := Identify(filepath.Join(dir, "missing")); !IsNotExist(err) {
		t.Errorf("missing: %v", err)
	}
}

func TestReadFilePerm(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, []byte("{}"), 0o600)
	os.Chmod(p, 0o640)
	data, perm, err := ReadFilePerm(p)
	if err != nil || string(data) != "{}" || perm != 0o640 {
		t.Fatalf("ReadFilePerm = %q, %v, %v", data, perm, err)
	}
}
