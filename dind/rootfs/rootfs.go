// Package rootfs turns the inputs a 32-bit dockerd can come from into a
// directory tree: a docker:dind root filesystem (as a directory or a
// tarball), an image (an OCI image layout or a `docker save` archive, as a
// directory or a tarball), or Docker's static binaries tgz
// (docker/dockerd, docker/containerd, docker/runc, ...).
//
// The model: every input is a stack of tar layers applied in order to an
// empty directory. A plain tarball is one layer; an image is its manifest's
// layers, each checked against its digest, with OCI whiteouts honoured
// (".wh.NAME" deletes NAME from lower layers, ".wh..wh..opq" empties its
// directory of them). A directory is copied as is. Nothing is ever written
// outside the target: entry names that climb out ("../x") are refused, and
// paths are resolved with github.com/cyphar/filepath-securejoin so a
// symlink in the tree (even "etc -> /etc") only ever leads to a place
// inside it. Device nodes are not created.
//
// [Unpack] builds the tree in a temporary sibling of the target and
// renames it into place only when everything succeeded: a missing, corrupt
// or hostile input leaves the target as it was. [FindDockerd] then locates
// the daemon in the tree.
package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Kind is the kind of input Unpack found.
type Kind string

const (
	KindDirectory  Kind = "directory"       // a root filesystem or binaries directory, copied
	KindTarball    Kind = "tarball"         // a root filesystem or static binaries tarball
	KindOCILayout  Kind = "oci-layout"      // an OCI image layout
	KindDockerSave Kind = "docker-save"     // a `docker save` archive (manifest.json)
	KindImageDir   Kind = "image-directory" // either of the above, unpacked into a directory
)

// Options tune Unpack.
type Options struct {
	// Platform selects the image of a multi-platform OCI index
	// (containerd platform syntax). Default "linux/arm/v7".
	Platform string
}

// Result describes an unpacked input.
type Result struct {
	Kind    Kind
	Layers  int    // layers applied (1 for a tarball, 0 for a directory)
	Image   string // the image's reference or manifest digest, when known
	Skipped int    // device nodes not created
}

// Unpack unpacks src into dst, which must not exist yet. On failure dst does
// not exist and no temporary directory is left.
func Unpack(src, dst string, opts Options) (*Result, error) {
	if opts.Platform == "" {
		opts.Platform = "linux/arm/v7"
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil, fmt.Errorf("unpacking into %s: it already exists", dst)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // whatever is left on failure; empty after success
	tree := filepath.Join(tmp, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return nil, err
	}
	x := &extractor{root: tree, chown: os.Geteuid() == 0}

	var res *Result
	switch {
	case fi.IsDir():
		if isImageDir(src) {
			res, err = applyImage(x, src, opts)
			if res != nil {
				res.Kind = KindImageDir
			}
		} else {
			res, err = &Result{Kind: KindDirectory}, copyTree(src, tree, x.chown)
		}
	case fi.Mode().IsRegular():
		res, err = unpackFile(x, src, tmp, opts)
	default:
		err = fmt.Errorf("input %s is neither a directory nor a file", src)
	}
	if err != nil {
		return nil, err
	}
	res.Skipped = x.skipped
	if err := os.Rename(tree, dst); err != nil {
		return nil, err
	}
	return res, nil
}

// isImageDir reports whether dir holds an OCI layout or a docker save tree.
func isImageDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err == nil {
		return true
	}
	_, err := readSaveManifest(dir)
	return err == nil
}

// unpackFile handles a tarball: a root filesystem (applied directly) or an
// image archive (extracted to a scratch directory, then its layers applied).
func unpackFile(x *extractor, src, tmp string, opts Options) (*Result, error) {
	// First pass: is it an image? Only the top-level file names matter.
	image, err := tarHasImageIndex(src)
	if err != nil {
		return nil, err
	}
	if !image {
		if err := applyFile(x, src, src); err != nil {
			return nil, err
		}
		return &Result{Kind: KindTarball, Layers: 1}, nil
	}
	scratch := filepath.Join(tmp, "archive")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		return nil, err
	}
	raw := &extractor{root: scratch}
	if err := applyFile(raw, src, src); err != nil {
		return nil, err
	}
	if !isImageDir(scratch) {
		// A root filesystem that happens to have a top-level manifest.json.
		os.RemoveAll(scratch)
		if err := applyFile(x, src, src); err != nil {
			return nil, err
		}
		return &Result{Kind: KindTarball, Layers: 1}, nil
	}
	res, err := applyImage(x, scratch, opts)
	if err != nil {
		return nil, err
	}
	os.RemoveAll(scratch)
	return res, nil
}

// applyFile applies the (possibly compressed) tar file p as one stream.
func applyFile(x *extractor, p, what string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	r, done, err := decompress(f, what)
	if err != nil {
		return err
	}
	defer done()
	return x.layer(r, what)
}

// tarHasImageIndex reads the tar file's names and reports whether it is an
// image archive (an oci-layout or manifest.json at the top).
func tarHasImageIndex(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r, done, err := decompress(f, p)
	if err != nil {
		return false, err
	}
	defer done()
	names, err := topNames(r, p)
	if err != nil {
		return false, err
	}
	return names["oci-layout"] || names["manifest.json"], nil
}

// copyTree copies the directory src into the existing directory dst without
// following symlinks: links are copied as links, devices are skipped.
func copyTree(src, dst string, chown bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading input: %v", err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			if err := os.Mkdir(target, fi.Mode().Perm()|0o700); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(p, target, fi.Mode()); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(l, target); err != nil {
				return err
			}
		default:
			return nil // devices, sockets, fifos
		}
		if chown {
			if uid, gid, ok := owner(fi); ok {
				os.Lchown(target, uid, gid)
			}
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return os.Chmod(target, fi.Mode().Perm()|fi.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
		}
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode.Perm()|0o200)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// errNotImage is returned when a directory has no image index.
var errNotImage = errors.New("not an image")

// saveEntry is one image of a docker save manifest.json.
type saveEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

func readSaveManifest(dir string) ([]saveEntry, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, errNotImage
	}
	var m []saveEntry
	if err := json.Unmarshal(b, &m); err != nil || len(m) == 0 || len(m[0].Layers) == 0 {
		return nil, errNotImage
	}
	return m, nil
}

// owner returns the uid and gid of fi.
func owner(fi fs.FileInfo) (int, int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
