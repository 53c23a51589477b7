package detect

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/shim/spec"
)

// MaxConfigSize bounds the config.json a decision reads: Docker's are
// 10–20 kB, and a path to /dev/zero must not grow the wrapper unbounded.
const MaxConfigSize = 16 << 20

// Bundle is an OCI bundle's config.json as read for a decision.
type Bundle struct {
	Dir        string // the bundle directory, as given
	ConfigPath string // Dir/config.json
	Config     []byte // its content as read
	Perm       fs.FileMode
	UID, GID   int        // its owner, for a rewrite that keeps it
	View       *spec.View // the decision facts
	Rootfs     string     // root.path, against Dir when relative
}

// ForBundle is the decision for the container of the bundle dir: it reads
// dir/config.json (a regular file of at most MaxConfigSize bytes), scans its decision facts and applies the table, with
// auto-detection in the container's root filesystem. annotations, when
// not empty, stand in for the config's (an OCI hook gets them in the
// state). The runtime wrapper, the hook and the bench's decision floor
// all decide here.
func ForBundle(dir string, annotations map[string]string, goarch string) (Decision, *Bundle, error) {
	b := &Bundle{Dir: dir, ConfigPath: filepath.Join(dir, "config.json")}
	data, st, err := fsutil.ReadRegular(b.ConfigPath, MaxConfigSize)
	if err != nil {
		return Decision{}, nil, fmt.Errorf("reading the bundle config: %w", err)
	}
	b.Config, b.Perm, b.UID, b.GID = data, fs.FileMode(st.Mode&0o777), int(st.Uid), int(st.Gid)
	if b.View, err = spec.ScanView(b.Config); err != nil {
		return Decision{}, nil, fmt.Errorf("%s: %w", b.ConfigPath, err)
	}
	v := b.View
	b.Rootfs = v.Rootfs(dir)
	if len(annotations) == 0 {
		annotations = v.Annotations
	}
	d, err := Decide(annotations, v.Env(), Auto(b.Rootfs, v.Args(), v.Env(), v.Cwd(), goarch))
	if err != nil {
		return Decision{}, nil, err
	}
	return d, b, nil
}
