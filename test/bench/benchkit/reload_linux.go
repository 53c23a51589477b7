package benchkit

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

func reload(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	// Dirty pages are not dropped: write them out first.
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return err
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, f)
	return err
}
