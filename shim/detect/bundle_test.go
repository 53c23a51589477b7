package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// writeBundle is a bundle dir whose config.json is config and whose
// rootfs (root.path "rootfs") holds files.
func writeBundle(t *testing.T, config string, files tree) string {
	t.Helper()
	root := mkroot(t, files)
	dir := filepath.Dir(root)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o640); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ForBundle reads the bundle's config, resolves root.path against the
// bundle and applies the table; annotations given stand in for the
// config's.
func TestForBundle(t *testing.T) {
	const cfg = `{"process":{"args":["sh"],"env":["PATH=/bin"]},"root":{"path":"rootfs"},"annotations":{"a":"b"}}`
	dir := writeBundle(t, cfg, tree{"bin/sh": i386Exe})
	d, b, err := ForBundle(dir, nil, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Enable || d.Rule != RuleAuto || b.Rootfs != filepath.Join(dir, "rootfs") || b.Perm != 0o640 ||
		string(b.Config) != cfg || b.ConfigPath != filepath.Join(dir, "config.json") || b.View.Annotations["a"] != "b" {
		t.Errorf("ForBundle = %+v, %+v", d, b)
	}
	d, _, err = ForBundle(dir, map[string]string{AnnotationEnable: "false"}, "amd64")
	if err != nil || d.Enable || d.Rule != RuleAnnotation {
		t.Errorf("with the state's annotations: %+v, %v", d, err)
	}
	d, _, err = ForBundle(dir, nil, "riscv64")
	if err != nil || d.Enable {
		t.Errorf("on a host without compat: %+v, %v", d, err)
	}
	for name, c := range map[string]struct{ config, want string }{
		"malformed":       {`{"process":`, "config.json: malformed OCI config"},
		"bad annotation":  {`{"annotations":{"io.armhf-shim.enable":"maybe"}}`, `annotation io.armhf-shim.enable="maybe"`},
		"missing process": {`{}`, ""},
	} {
		dir := writeBundle(t, c.config, tree{})
		_, _, err := ForBundle(dir, nil, "amd64")
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, _, err := ForBundle(t.TempDir(), nil, "amd64"); err == nil || !strings.Contains(err.Error(), "reading the bundle config") {
		t.Errorf("no config.json: %v", err)
	}
}

// A config.json that is not a regular file of sane size is refused at
// once, with what it is (issue 17 item 8): a FIFO must not hang the
// wrapper, /dev/zero must not grow it, a huge file is not read.
func TestForBundleRefusesNonRegularConfig(t *testing.T) {
	for name, mk := range map[string]func(p string) error{
		"fifo":             func(p string) error { return unix.Mkfifo(p, 0o644) },
		"character device": func(p string) error { return os.Symlink("/dev/null", p) },
		"directory":        func(p string) error { return os.Mkdir(p, 0o755) },
		"too large": func(p string) error {
			if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
				return err
			}
			return os.Truncate(p, MaxConfigSize+1)
		},
	} {
		dir := t.TempDir()
		if err := mk(filepath.Join(dir, "config.json")); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, _, err := ForBundle(dir, nil, "amd64"); done <- err }()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ForBundle still reading after 5 s", name)
		}
		want := "not a regular file"
		if name == "too large" {
			want = "file too large"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}
