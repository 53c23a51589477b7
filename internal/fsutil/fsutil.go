// Package fsutil holds the file-system edge of armhf-shim: atomic writes.
//
// Every file armhf-shim writes that another program reads concurrently (a
// bundle's config.json read by runc, daemon.json read by dockerd, a cpuinfo
// bind-mount source) is written to a temporary file in the same directory,
// synced, and renamed over the target, so a reader sees the old or the new
// content and never a torn one, and a failure leaves the old file intact.
package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data, durably: the data is synced
// before the rename, so after a crash the file is old or new, never empty.
// For configuration that outlives a reboot (daemon.json, state files). The
// file gets mode perm exactly (umask does not apply). On any error the
// previous file, if any, is unchanged and no temporary file is left.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return replace(path, data, perm, true)
}

// ReplaceFile replaces path with data atomically for concurrent readers,
// without the fsync: for files that do not outlive the processes reading
// them (a bundle's config.json, cpuinfo files under /run), where an fsync
// would cost milliseconds on every container start and buy nothing.
func ReplaceFile(path string, data []byte, perm os.FileMode) error {
	return replace(path, data, perm, false)
}

func replace(path string, data []byte, perm os.FileMode, durable bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if durable {
		if err = tmp.Sync(); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
