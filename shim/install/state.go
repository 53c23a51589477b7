package install

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// record is what install remembers beside the file it edits
// (<file>.armhf-shim-state), so that uninstall undoes exactly what install
// did: the values it replaced go back, the directories it created go, and
// a file still as install wrote it needs no backup (it can be made again).
type record struct {
	// Wrote is the SHA-256 of each file as install last wrote it.
	Wrote map[string]string `json:"wrote,omitempty"`
	// CreatedDirs are the directories install created, outermost first,
	// and CreatedFiles the files.
	CreatedDirs  []string      `json:"createdDirs,omitempty"`
	CreatedFiles []string      `json:"createdFiles,omitempty"`
	Docker       *dockerRecord `json:"docker,omitempty"`
	Imports      *importsEdit  `json:"imports,omitempty"` // containerd's config.toml
	// CRI holds the edits of config.toml's own CRI section (containerdcri.go).
	CRI []tomlEdit `json:"cri,omitempty"`
	CLI *cliRecord `json:"dockerCLI,omitempty"`
	// Buildkitd holds the edits of buildkitd.toml.
	Buildkitd *buildkitdRecord `json:"buildkitd,omitempty"`
	// Replaced holds, by path, the content of a file --replace displaced,
	// which uninstall puts back.
	Replaced map[string]string `json:"replaced,omitempty"`

	// root is the --root the record was read below: its paths are kept
	// as the host sees them and used below root.
	root string
}

// mapPaths is a copy of r with f applied to every file and directory path
// it holds.
func (r *record) mapPaths(f func(string) string) *record {
	c := *r
	keys := func(m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[f(k)] = v
		}
		return out
	}
	list := func(l []string) []string {
		if l == nil {
			return nil
		}
		out := make([]string, len(l))
		for i, p := range l {
			out[i] = f(p)
		}
		return out
	}
	c.Wrote, c.Replaced = keys(r.Wrote), keys(r.Replaced)
	c.CreatedDirs, c.CreatedFiles = list(r.CreatedDirs), list(r.CreatedFiles)
	return &c
}

// dockerRecord is what install changed in daemon.json.
type dockerRecord struct {
	CreatedFile     bool                      `json:"createdFile,omitempty"`     // there was no daemon.json
	CreatedRuntimes bool                      `json:"createdRuntimes,omitempty"` // there was no "runtimes"
	Runtimes        map[string]*runtimeRecord `json:"runtimes,omitempty"`
	// IPv6 is what install docker --ipv6 added (dockeripv6.go).
	IPv6 *ipv6Record `json:"ipv6,omitempty"`
}

// runtimeRecord is one runtime install registered.
type runtimeRecord struct {
	Path string `json:"path"`
	// Replaced is the entry of that name that --replace displaced, as
	// written (raw JSON kept as a string: its bytes go back as they were).
	Replaced string `json:"replaced,omitempty"`
	// Default: install made it default-runtime, replacing PreviousDefault
	// (its raw value; "" when there was no default-runtime).
	Default         bool   `json:"default,omitempty"`
	PreviousDefault string `json:"previousDefault,omitempty"`
}

// statePath is the record of file path.
func statePath(path string) string { return path + ".armhf-shim-state" }

// loadRecord reads the record of file path (empty when there is none).
// target is a file an install target edits, as read before planning: its
// bytes and mode, and armhf-shim's record of what it wrote there.
type target struct {
	old    []byte
	mode   fs.FileMode
	rec    *record
	oldRec []byte
}

// readPrimary reads the file target o edits (its --config, else the
// target's default below the root), a symlink resolved so the link stays
// and its target is edited, with armhf-shim's record of it.
func (o *Options) readPrimary() (string, target, error) {
	path, err := resolve(o.Root, o.primaryPath())
	if err != nil {
		return "", target{}, err
	}
	t, err := readTarget(o.Root, path)
	return path, t, err
}

func readTarget(root, path string) (target, error) {
	var t target
	var err error
	if t.old, t.mode, err = readExisting(root, path); err != nil {
		return t, err
	}
	t.rec, t.oldRec, err = loadRecord(root, path)
	return t, err
}

func loadRecord(root, path string) (*record, []byte, error) {
	b, err := os.ReadFile(statePath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return &record{root: root}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("%s: malformed armhf-shim record (%v): left unchanged; remove it and run again", statePath(path), err)
	}
	in := r.mapPaths(func(p string) string { return inRoot(root, p) })
	in.root = root
	return in, b, nil
}

func (r *record) empty() bool {
	return len(r.Wrote) == 0 && len(r.CreatedDirs) == 0 && len(r.CreatedFiles) == 0 && r.Imports == nil && len(r.CRI) == 0 && r.CLI == nil && r.Buildkitd == nil && len(r.Replaced) == 0 &&
		(r.Docker == nil || len(r.Docker.Runtimes) == 0 && r.Docker.IPv6 == nil)
}

// ours reports whether content is what install last wrote to path.
func (r *record) ours(path string, content []byte) bool {
	return content != nil && r.Wrote[path] != "" && r.Wrote[path] == digest(content)
}

// wrote notes what install writes to path (nil: it removes the file).
func (r *record) wrote(path string, content []byte) {
	if content == nil {
		delete(r.Wrote, path)
		return
	}
	if r.Wrote == nil {
		r.Wrote = map[string]string{}
	}
	r.Wrote[path] = digest(content)
}

// willCreate notes the directories missing on the way to dir.
func (r *record) willCreate(dir string) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if !contains(r.CreatedDirs, missing[i]) {
			r.CreatedDirs = append(r.CreatedDirs, missing[i])
		}
	}
}

// change is the update of the record file of path from its old bytes:
// removed when nothing is left to remember.
func (r *record) change(path string, old []byte) []fileChange {
	var nw []byte
	if !r.empty() {
		nw, _ = json.MarshalIndent(r.mapPaths(func(p string) string { return onHost(r.root, p) }), "", "  ")
		nw = append(nw, '\n')
	}
	fc := change(statePath(path), old, nw, 0o644)
	for i := range fc {
		fc[i].NoBackup, fc[i].Record = true, true
	}
	return fc
}

// finish completes a plan whose record lives beside primary: files still
// as install wrote them need no backup, what install writes is noted and,
// on uninstall, the record goes with the directories install created.
func (r *record) finish(p *Plan, primary string, oldRec []byte, uninstall bool) {
	for i := range p.Files {
		f := &p.Files[i]
		f.NoBackup = r.ours(f.Path, f.Old)
		if f.Old == nil && !uninstall && !contains(r.CreatedFiles, f.Path) {
			r.CreatedFiles = append(r.CreatedFiles, f.Path)
		}
		r.wrote(f.Path, f.New)
	}
	if uninstall {
		p.RemoveDirs = r.CreatedDirs
		*r = record{Docker: r.Docker, root: r.root}
	}
	if len(p.Files) > 0 || len(p.Links) > 0 || oldRec != nil {
		p.Files = append(p.Files, r.change(primary, oldRec)...)
	}
}

// removeCreatedDirs removes, innermost first, the directories install
// created that are empty now.
func removeCreatedDirs(dirs []string) {
	sorted := append([]string(nil), dirs...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, d := range sorted {
		os.Remove(d) // fails, harmlessly, when not empty
	}
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
