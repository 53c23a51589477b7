package install

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Where podman and CRI-O read hooks: the [engine] hooks_dir of
// containers.conf when it is set (the last file that sets it wins), else
// the engines' default. Debian 12's podman 4.3 (containers/common 0.50)
// reads only /usr/share/containers/oci/hooks.d by default, as CRI-O
// does; later podman reads /etc/containers/oci/hooks.d as well, so the
// /usr/share directory is the one every one of them reads.

// PackagedHooksDir is the hooks directory every podman and CRI-O reads
// unless configured otherwise.
const PackagedHooksDir = "/usr/share/containers/oci/hooks.d"

// containersConfFiles are podman's containers.conf files, lowest priority
// first.
func containersConfFiles(root string) []string {
	files := []string{
		filepath.Join(root, "usr/share/containers/containers.conf"),
		filepath.Join(root, "etc/containers/containers.conf"),
	}
	d, _ := filepath.Glob(filepath.Join(root, "etc/containers/containers.conf.d/*.conf"))
	sort.Strings(d)
	return append(files, d...)
}

// hooksDirs returns the hooks directories the containers.conf files
// configure (nil: none does).
func hooksDirs(files []string) []string {
	var dirs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var c struct {
			Engine struct {
				HooksDir []string `toml:"hooks_dir"`
			} `toml:"engine"`
		}
		if toml.Unmarshal(b, &c) == nil && c.Engine.HooksDir != nil {
			dirs = c.Engine.HooksDir
		}
	}
	return dirs
}

// defaultHookFile is where install podman puts the hooks file: in the
// configured hooks directory (one under /etc when several are), else in
// the packaged one.
func defaultHookFile(root string) string {
	dirs := hooksDirs(containersConfFiles(root))
	dir := filepath.Join(root, PackagedHooksDir)
	for i, d := range dirs {
		if i == 0 || strings.HasPrefix(d, "/etc/") {
			dir = filepath.Join(root, d)
		}
		if strings.HasPrefix(d, "/etc/") {
			break
		}
	}
	return filepath.Join(dir, "armhf-shim.json")
}
