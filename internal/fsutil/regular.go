package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is a path that is not a regular file where one is read.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is a file larger than its reader's limit.
var ErrTooLarge = errors.New("file too large")

// ReadRegular reads path, which must be a regular file (symlinks to one
// followed) of at most max bytes, and returns its content and its stat.
// Anything else — a FIFO, a device such as /dev/zero, a directory, a
// larger file — is refused before a byte is read: a hostile or broken
// path can neither hang the caller nor grow it without bound. Errors are
// *fs.PathError wrapping ErrNotRegular or ErrTooLarge with what was found.
func ReadRegular(path string, max int64) ([]byte, unix.Stat_t, error) {
	var st unix.Stat_t
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	fd, err := Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, st, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, st, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, st, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileType(st.Mode))}
	}
	if st.Size > max {
		return nil, st, &fs.PathError{Op: "read", Path: path, Err: tooLarge(st.Size, max)}
	}
	buf := make([]byte, 0, st.Size+1) // +1: see the end without growing
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > max {
				return nil, st, &fs.PathError{Op: "read", Path: path, Err: tooLarge(int64(len(buf)), max)}
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, st, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) == st.Size && len(buf) < cap(buf) {
			// Linux reads a regular file short only at its end.
			break
		}
	}
	if int64(len(buf)) > max {
		return nil, st, &fs.PathError{Op: "read", Path: path, Err: tooLarge(int64(len(buf)), max)}
	}
	return buf, st, nil
}

func tooLarge(size, max int64) error {
	return fmt.Errorf("%w: %s bytes, more than the limit of %s", ErrTooLarge, strconv.FormatInt(size, 10), strconv.FormatInt(max, 10))
}

// fileType names the type of a file mode (from stat(2)).
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "a special file"
}
