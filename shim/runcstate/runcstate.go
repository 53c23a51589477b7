// Package runcstate reads what armhf-shim needs from runc's own record of
// a container.
//
// The model: `runc exec` names a container but no bundle. runc keeps each
// container's state in <root>/<id>/state.json (root is runc's --root,
// default /run/runc, or $XDG_RUNTIME_DIR/runc when rootless), and that
// state holds the libcontainer config, whose "labels" are the spec's
// annotations as "key=value" strings plus "bundle=<dir>". The mark
// annotation the wrapper added at create therefore shows up there as
// "io.armhf-shim.personality=LINUX32". A state file without the mark's
// text is rejected by a byte search before any JSON is decoded, which is
// what nearly every exec costs.
package runcstate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/rawjson"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
)

// DefaultRoot is runc's default --root for this process.
func DefaultRoot() string {
	return defaultRoot(os.Getenv, os.Geteuid(), runtimecfg.InUserNamespace)
}

// defaultRoot is runc's rule (shouldHonorXDGRuntimeDir in runc's main.go):
// $XDG_RUNTIME_DIR/runc for a user other than root, and for root inside a
// user namespace unless USER is root — rootless podman runs its runtime as
// that namespace's root, and its runc keeps state under the user's
// XDG_RUNTIME_DIR; /run/runc for the real root.
func defaultRoot(getenv func(string) string, euid int, inUserNS func() bool) string {
	xdg := getenv("XDG_RUNTIME_DIR")
	if xdg == "" || (euid == 0 && (!inUserNS() || getenv("USER") == "root")) {
		return "/run/runc"
	}
	return filepath.Join(xdg, "runc")
}

// Path is the state.json of container id under root ("" = DefaultRoot).
func Path(root, id string) (string, error) {
	if !runcargs.ValidID(id) {
		return "", fmt.Errorf("invalid container id %q", id)
	}
	if root == "" {
		root = DefaultRoot()
	}
	return filepath.Join(root, id, "state.json"), nil
}

// HasLabel reports whether the state data carries the label key=value.
func HasLabel(data []byte, key, value string) (bool, error) {
	label := key + "=" + value
	if !bytes.Contains(data, []byte(label)) {
		return false, nil
	}
	labels, err := configLabels(data)
	if err != nil {
		return false, fmt.Errorf("malformed runc state: %w", err)
	}
	for _, l := range labels {
		if l == label {
			return true, nil
		}
	}
	return false, nil
}

// configLabels decodes config.labels of a runc state.json.
func configLabels(data []byte) ([]string, error) {
	var cfg [1][]byte
	if err := rawjson.CheckMembers(data, []string{"config"}, cfg[:]); err != nil {
		return nil, err
	}
	if rawjson.IsNull(cfg[0]) {
		return nil, nil
	}
	labels, err := rawjson.Member(cfg[0], "labels")
	if err != nil {
		return nil, err
	}
	return rawjson.Strings(labels)
}

// Labeled reads container id's state under root and reports whether it
// carries the label key=value.
func Labeled(root, id, key, value string) (bool, error) {
	p, err := Path(root, id)
	if err != nil {
		return false, err
	}
	data, err := fsutil.ReadFile(p)
	if err != nil {
		return false, err
	}
	ok, err := HasLabel(data, key, value)
	if err != nil {
		return false, fmt.Errorf("%s: %w", p, err)
	}
	return ok, nil
}
