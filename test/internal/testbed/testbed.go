// Package testbed holds the helpers the guest test beds (test/vm,
// test/systemd) share to stage what they put into a guest. It is test
// harness: under test/internal, no product package can import it
// (scripts/check-imports.sh keeps testing out of what ships).
package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CopyFile copies src to dst with mode, making dst's directory first; the
// test fails if it cannot.
func CopyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	if err := copyFile(src, dst, mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// CopyTree copies the regular files (with their permissions) and the
// directories under src into dst, keeping the layout; the test fails if it
// cannot, src missing included.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// KeyValues parses the KEY=VALUE lines the beds' scripts print (assets.sh,
// disk.sh); other lines are passed over.
func KeyValues(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}
