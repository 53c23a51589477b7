package install

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// The buildkitd target: a standalone buildkitd (the remote buildx driver,
// a buildkitd of one's own) runs the OCI runtime its config names, so
// buildkitd.toml gets the registered wrapper as
//
//   - the OCI worker's binary, [worker.oci] binary (buildkitd's
//     --oci-worker-binary), and
//   - the runc that the containerd worker's runc shim runs, [worker.containerd.runtime]
//     name = "io.containerd.runc.v2" with options BinaryName (the shim's own
//     option; the runtime's "path" is the shim, not runc), unless the file
//     disables that worker. A name is needed with the options: buildkitd
//     replaces a runtime without a name, options and all, by its default.
//
// Every edit is a splice of buildkitd.toml (tomledit.go), recorded so that
// uninstall gives back the bytes install found.

// DefaultBuildkitdConfig is rootful buildkitd's config file.
const DefaultBuildkitdConfig = "/etc/buildkit/buildkitd.toml"

// ContainerdRuncShim is the containerd runtime whose options name the runc
// binary (BinaryName).
const ContainerdRuncShim = "io.containerd.runc.v2"

// The keys install sets.
var (
	BuildkitdOCIBinary        = []string{"worker", "oci", "binary"}
	BuildkitdContainerdName   = []string{"worker", "containerd", "runtime", "name"}
	BuildkitdContainerdBinary = []string{"worker", "containerd", "runtime", "options", "BinaryName"}
)

// BuildkitdConfig is what install and doctor read of buildkitd.toml, with
// the names and types of buildkit's cmd/buildkitd/config (v0.35.0).
type BuildkitdConfig struct {
	GRPC struct {
		Address []string `toml:"address"`
	} `toml:"grpc"`
	Worker struct {
		OCI struct {
			Enabled *bool  `toml:"enabled"`
			Binary  string `toml:"binary"`
		} `toml:"oci"`
		Containerd struct {
			Enabled *bool  `toml:"enabled"`
			Address string `toml:"address"`
			Runtime struct {
				Name    string         `toml:"name"`
				Path    string         `toml:"path"`
				Options map[string]any `toml:"options"`
			} `toml:"runtime"`
		} `toml:"containerd"`
	} `toml:"worker"`
}

// ContainerdBinary is the runc the containerd worker's runc shim runs
// (options BinaryName, matched without case as buildkitd decodes it).
func (c *BuildkitdConfig) ContainerdBinary() string {
	for k, v := range c.Worker.Containerd.Runtime.Options {
		if s, ok := v.(string); ok && strings.EqualFold(k, "BinaryName") {
			return s
		}
	}
	return ""
}

// ContainerdEnabled: the file does not turn the containerd worker off
// (unset is "auto": on when containerd's socket answers).
func (c *BuildkitdConfig) ContainerdEnabled() bool {
	return c.Worker.Containerd.Enabled == nil || *c.Worker.Containerd.Enabled
}

// ParseBuildkitdConfig validates buildkitd.toml as buildkitd would read it.
func ParseBuildkitdConfig(data []byte) (BuildkitdConfig, error) {
	var c BuildkitdConfig
	if err := toml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("malformed buildkitd config (%v): left unchanged; fix it and run again", err)
	}
	return c, nil
}

// buildkitdRecord is what install changed in buildkitd.toml, in order.
type buildkitdRecord struct {
	Edits []tomlEdit `json:"edits"`
}

// BuildkitdEdit says what to register in buildkitd.toml.
type BuildkitdEdit struct {
	Runtime string // the wrapper's path
	// Replace lets install replace a binary that is not armhf-shim's
	// (uninstall puts it back).
	Replace bool
	// Ours reports whether a binary path runs this armhf-shim.
	Ours func(path string) bool
}

// defaultRunc: a binary that names the runc the wrapper itself runs (the
// first runc on PATH), so the wrapper may take its place with no loss.
func defaultRunc(v string) bool {
	return v == "" || v == "runc" || v == "buildkit-runc"
}

// BuildkitdInstall returns buildkitd.toml (nil: absent) with the wrapper
// registered, and notes for the user; rec notes what it changed.
func BuildkitdInstall(old []byte, rec *record, e BuildkitdEdit) ([]byte, []string, error) {
	fresh := old == nil
	if fresh {
		old = []byte("# Written by armhf-shim install buildkitd: buildkitd runs armhf-shim's runtime\n" +
			"# wrapper, which makes armhf (32-bit) build steps see an armv7 machine and hands\n" +
			"# every step to runc. buildkitd's defaults apply to everything else.\n")
	}
	cfg, err := ParseBuildkitdConfig(old)
	if err != nil {
		return nil, nil, err
	}
	if rec.Buildkitd == nil {
		rec.Buildkitd = &buildkitdRecord{}
	}
	var notes []string
	doc := old
	// set makes path's string value want (the wrapper, or the runtime's
	// name) unless it already is; what it replaces must be the default
	// runc, armhf-shim's own or --replace'd.
	set := func(path []string, cur string, want string, what string) error {
		d, err := parseTOMLDoc(doc)
		if err != nil {
			return fmt.Errorf("malformed buildkitd config (%v): left unchanged; fix it and run again", err)
		}
		raw, present := d.raw(path)
		prev := rec.Buildkitd.edit(path)
		wrapper := want == e.Runtime
		switch {
		case !present:
		case cur == want, wrapper && e.Ours(cur):
			return nil
		case prev != nil && raw == prev.Now:
			// Install's own earlier value (a runtime since moved).
		case wrapper && defaultRunc(cur):
			if cur != "" {
				notes = append(notes, fmt.Sprintf("%s was %s: armhf-runc runs that runc itself (the first runc on its PATH); uninstall puts it back", what, raw))
			}
		case !e.Replace:
			hint := "the wrapper runs the first runc on its PATH, or the \"runtime\" of /etc/armhf-shim/config.json: " +
				"to keep " + strconv.Quote(cur) + " behind the wrapper set \"runtime\" there, then run again with --replace (uninstall puts it back)"
			if !wrapper {
				hint = "armhf-shim wraps runc through the " + ContainerdRuncShim + " shim's BinaryName: run again with --replace to use it " +
					"(uninstall puts it back), or disable the containerd worker ([worker.containerd] enabled = false)"
			}
			return fmt.Errorf("%s is %s, not armhf-shim's: left unchanged; %s", what, raw, hint)
		}
		nw, ed := d.set(path, tomlString(want))
		if err := tomlSame(doc, nw, path); err != nil {
			return fmt.Errorf("internal error editing %s (%v): left unchanged; please report it with the file", what, err)
		}
		if prev != nil && present && raw == prev.Now {
			// Keep what was there before install's first edit.
			ed.Was, ed.Inserted = prev.Was, ""
			if prev.Inserted != "" {
				ed.Inserted = strings.Replace(prev.Inserted, prev.Now, ed.Now, 1)
			}
			*prev = ed
		} else {
			rec.Buildkitd.Edits = append(rec.Buildkitd.Edits, ed)
		}
		doc = nw
		return nil
	}
	if err := set(BuildkitdOCIBinary, cfg.Worker.OCI.Binary, e.Runtime, "[worker.oci] binary"); err != nil {
		return nil, nil, err
	}
	if cfg.Worker.OCI.Enabled != nil && !*cfg.Worker.OCI.Enabled {
		notes = append(notes, "the OCI worker is disabled ([worker.oci] enabled = false): its binary is set for when it is enabled")
	}
	if cfg.ContainerdEnabled() {
		if err := set(BuildkitdContainerdName, cfg.Worker.Containerd.Runtime.Name, ContainerdRuncShim, "[worker.containerd.runtime] name"); err != nil {
			return nil, nil, err
		}
		if err := set(BuildkitdContainerdBinary, cfg.ContainerdBinary(), e.Runtime, "[worker.containerd.runtime] options BinaryName"); err != nil {
			return nil, nil, err
		}
	} else {
		notes = append(notes, "the containerd worker is disabled ([worker.containerd] enabled = false): its runtime is left as it is")
	}
	if len(rec.Buildkitd.Edits) == 0 {
		rec.Buildkitd = nil
	}
	if fresh && string(doc) == string(old) {
		return nil, notes, nil
	}
	return doc, notes, nil
}

// edit is the recorded edit of path (nil: none).
func (r *buildkitdRecord) edit(path []string) *tomlEdit {
	for i := range r.Edits {
		if samePath(r.Edits[i].Path, path) {
			return &r.Edits[i]
		}
	}
	return nil
}

// BuildkitdUninstall takes install's edits out of buildkitd.toml, last
// first; a key changed since install wrote it is left, with a note.
func BuildkitdUninstall(old []byte, rec *record) ([]byte, []string, error) {
	if old == nil || rec.Buildkitd == nil {
		return old, nil, nil
	}
	var notes []string
	doc := old
	for i := len(rec.Buildkitd.Edits) - 1; i >= 0; i-- {
		e := rec.Buildkitd.Edits[i]
		d, err := parseTOMLDoc(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("malformed buildkitd config (%v): left unchanged; fix it and run again", err)
		}
		nw, ok := d.undo(e)
		if !ok {
			if raw, _ := d.raw(e.Path); raw == e.Now {
				notes = append(notes, fmt.Sprintf("%s = %s could not be taken out without changing the keys around it: left as it is; remove that line yourself", dotted(e.Path), e.Now))
			} else {
				notes = append(notes, fmt.Sprintf("%s is no longer %s as install wrote it: left as it is", dotted(e.Path), e.Now))
			}
			continue
		}
		doc = nw
	}
	rec.Buildkitd = nil
	return doc, notes, nil
}

func planBuildkitd(o Options) (Plan, error) {
	path, t, err := o.readPrimary()
	if err != nil {
		return Plan{}, err
	}
	old, mode, rec, oldRec := t.old, t.mode, t.rec, t.oldRec
	var p Plan
	var nw []byte
	var notes []string
	if o.Uninstall {
		created := contains(rec.CreatedFiles, path) && rec.ours(path, old)
		if nw, notes, err = BuildkitdUninstall(old, rec); err != nil {
			return Plan{}, fmt.Errorf("%s: %w", path, err)
		}
		if created {
			nw = nil // install made it, and it is as install wrote it
		}
		p.Files = change(path, old, nw, mode)
		rec.finish(&p, path, oldRec, true)
	} else {
		rt, link := o.runtimeLink()
		rec.willCreate(filepath.Dir(path))
		nw, notes, err = BuildkitdInstall(old, rec, BuildkitdEdit{Runtime: rt, Replace: o.Replace, Ours: o.runsThisShim})
		if err != nil {
			return Plan{}, fmt.Errorf("%s: %w", path, err)
		}
		if link != nil {
			p.Links = append(p.Links, *link)
		}
		p.Files = change(path, old, nw, mode)
		rec.finish(&p, path, oldRec, false)
		// The packaged armhf-buildkitd.service reads the default file only.
		if onHost(o.Root, path) == DefaultBuildkitdConfig {
			notes = append(notes, "for docker buildx: systemctl enable --now armhf-buildkitd.socket (a buildkitd with this config), then "+
				"docker buildx create --name armhf --driver remote unix:///run/armhf-buildkit/buildkitd.sock (docs/buildkit.md)")
		} else {
			notes = append(notes, "armhf-buildkitd.service reads "+DefaultBuildkitdConfig+", not this file: start your buildkitd with --config "+
				onHost(o.Root, path)+" (docs/buildkit.md)")
		}
	}
	p.Notes = notes
	if len(p.Files) > 0 {
		p.Apply = []string{"restart buildkitd (systemctl restart armhf-buildkitd, or your own buildkitd service): it reads its config only at start"}
	}
	return p, nil
}
