package install

import (
	"fmt"
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
	return readPodmanConf(files).HooksDirs
}

// PodmanConf is what podman's containers.conf files, read in order (a
// later file overrides a key of an earlier one, [engine.runtimes] entry
// by entry, as containers/common decodes them one over the other), say
// about hooks and OCI runtimes.
type PodmanConf struct {
	Files     []string // the files read, lowest priority first
	HooksDirs []string // [engine] hooks_dir (nil: none sets it)
	// Runtime is [engine] runtime, the default runtime ("" = podman's
	// own choice), and RuntimeFile the file that set it.
	Runtime, RuntimeFile string
	// RuntimeSetBy maps each file that sets [engine] runtime to its value.
	RuntimeSetBy map[string]string
	Runtimes     map[string]PodmanRuntime // [engine.runtimes]
	// Errs: files podman could not read (it refuses to run then).
	Errs []string
	// Override is $CONTAINERS_CONF, the one file podman then reads.
	Override string
}

// PodmanRuntime is an [engine.runtimes] entry: podman runs the first of
// Paths that exists.
type PodmanRuntime struct {
	Paths []string
	File  string // the file that set it
}

func readPodmanConf(files []string) PodmanConf {
	c := PodmanConf{Runtimes: map[string]PodmanRuntime{}, RuntimeSetBy: map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		c.Files = append(c.Files, f)
		var t struct {
			Engine struct {
				HooksDir []string            `toml:"hooks_dir"`
				Runtime  string              `toml:"runtime"`
				Runtimes map[string][]string `toml:"runtimes"`
			} `toml:"engine"`
		}
		if err == nil {
			err = toml.Unmarshal(b, &t)
		}
		if err != nil {
			c.Errs = append(c.Errs, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		if t.Engine.HooksDir != nil {
			c.HooksDirs = t.Engine.HooksDir
		}
		if t.Engine.Runtime != "" {
			c.Runtime, c.RuntimeFile = t.Engine.Runtime, f
			c.RuntimeSetBy[f] = t.Engine.Runtime
		}
		for name, paths := range t.Engine.Runtimes {
			c.Runtimes[name] = PodmanRuntime{Paths: paths, File: f}
		}
	}
	return c
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
