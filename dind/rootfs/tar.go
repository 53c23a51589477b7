package rootfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Whiteout markers of the OCI image layer format (AUFS style).
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	whiteoutMeta   = ".wh..wh." // other AUFS metadata (.wh..wh.plnk, ...): skipped
)

// decompress sniffs the compression of r: gzip and bzip2 are undone, plain
// tar is passed through, anything else is a clear error.
func decompress(r io.Reader, what string) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: gzip: %v", what, err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), func() {}, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, nil, fmt.Errorf("%s is zstd-compressed, which armhf-shim does not read: decompress it first (zstd -d) or export it uncompressed (docker save)", what)
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, nil, fmt.Errorf("%s is xz-compressed, which armhf-shim does not read: decompress it first (xz -d)", what)
	}
	return br, func() {}, nil
}

// relName turns a tar entry name into a clean path relative to the root, or
// fails when it would leave the root ("../x", "a/../../x"). Absolute names
// are taken relative to the root, as tar does.
func relName(name string) (string, error) {
	rel := path.Clean("/" + name)
	raw := path.Clean(strings.TrimLeft(name, "/"))
	if raw == ".." || strings.HasPrefix(raw, "../") {
		return "", fmt.Errorf("entry %q points outside the root", name)
	}
	return strings.TrimPrefix(rel, "/"), nil
}

// extractor applies tar streams to a root directory.
type extractor struct {
	root      string
	whiteouts bool // honour .wh. entries (image layers)
	chown     bool // running as root: keep owners
	skipped   int  // device nodes and sockets not created
}

// layer applies one tar stream. what names it in errors.
func (x *extractor) layer(r io.Reader, what string) error {
	created := map[string]bool{} // this layer's paths, for opaque whiteouts
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: reading tar: %v (truncated or not a tar archive?)", what, err)
		}
		if err := x.entry(tr, hdr, created); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
	}
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header, created map[string]bool) error {
	rel, err := relName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		return nil // the root itself
	}
	dir, base := path.Split(rel)
	// The parent, with symlinks resolved inside the root: an entry can
	// never be written through a symlink to outside it.
	parent, err := securejoin.SecureJoin(x.root, dir)
	if err != nil {
		return fmt.Errorf("entry %q: %v", hdr.Name, err)
	}

	if x.whiteouts && strings.HasPrefix(base, whiteoutPrefix) {
		switch {
		case base == whiteoutOpaque:
			return x.opaque(parent, strings.TrimSuffix(dir, "/"), created)
		case strings.HasPrefix(base, whiteoutMeta):
			return nil
		}
		name := base[len(whiteoutPrefix):]
		if name == "" || name == "." || name == ".." {
			return fmt.Errorf("entry %q: bad whiteout", hdr.Name)
		}
		if err := os.RemoveAll(filepath.Join(parent, name)); err != nil {
			return fmt.Errorf("whiteout %q: %v", hdr.Name, err)
		}
		return nil
	}

	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("entry %q: %v", hdr.Name, err)
	}
	target := filepath.Join(parent, base)
	created[rel] = true

	// Replace what is there, except a directory by a directory.
	if fi, err := os.Lstat(target); err == nil {
		if !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := os.RemoveAll(target); err != nil {
				return fmt.Errorf("entry %q: replacing: %v", hdr.Name, err)
			}
		}
	}

	mode := hdr.FileInfo().Mode()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("entry %q: %v", hdr.Name, err)
		}
	case tar.TypeReg, tar.TypeRegA:
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return fmt.Errorf("entry %q: %v", hdr.Name, err)
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("entry %q: %v", hdr.Name, err)
		}
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return fmt.Errorf("entry %q: %v", hdr.Name, err)
		}
		if x.chown {
			os.Lchown(target, hdr.Uid, hdr.Gid)
		}
		return nil
	case tar.TypeLink:
		lrel, err := relName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link %q: %v", hdr.Name, err)
		}
		src, err := securejoin.SecureJoin(x.root, lrel)
		if err != nil {
			return fmt.Errorf("hard link %q: %v", hdr.Name, err)
		}
		fi, err := os.Lstat(src)
		if err != nil || fi.IsDir() {
			return fmt.Errorf("hard link %q -> %q: target is missing or a directory", hdr.Name, hdr.Linkname)
		}
		if err := os.Link(src, target); err != nil {
			return fmt.Errorf("hard link %q: %v", hdr.Name, err)
		}
		return nil
	case tar.TypeFifo:
		if err := unix.Mkfifo(target, 0o600); err != nil {
			return fmt.Errorf("entry %q: %v", hdr.Name, err)
		}
	case tar.TypeChar, tar.TypeBlock:
		// /dev of a root filesystem: dockerd does not need it, and device
		// nodes under a state directory are a hazard.
		delete(created, rel)
		x.skipped++
		return nil
	case tar.TypeXGlobalHeader:
		delete(created, rel)
		return nil
	default:
		return fmt.Errorf("entry %q: unsupported type %q", hdr.Name, hdr.Typeflag)
	}
	if x.chown {
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("entry %q: %v", hdr.Name, err)
		}
	}
	// After chown, which clears set-id bits.
	if err := os.Chmod(target, mode.Perm()|mode&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)); err != nil {
		return fmt.Errorf("entry %q: %v", hdr.Name, err)
	}
	return nil
}

// opaque empties dir (resolved path abs, relative rel) of everything the
// lower layers put there; entries of the current layer stay.
func (x *extractor) opaque(abs, rel string, created map[string]bool) error {
	entries, err := os.ReadDir(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opaque whiteout in %q: %v", rel, err)
	}
	for _, e := range entries {
		if created[path.Join(rel, e.Name())] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(abs, e.Name())); err != nil {
			return fmt.Errorf("opaque whiteout in %q: %v", rel, err)
		}
	}
	return nil
}
