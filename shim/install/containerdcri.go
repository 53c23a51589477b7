package install

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// containerd 1.x (services/server/config mergeConfig, 1.6 and 1.7)
// replaces a whole plugin section with an imported file's, so where
// config.toml has a CRI section of its own a drop-in would discard it
// (Debian's config.toml has one, for its CNI paths; EKS nodes' have
// registry mirrors, SystemdCgroup, sandbox_image). There the handler is
// written into that section in place instead: the tables
// [...containerd.runtimes.<name>] and .options, with --set-as-default
// default_runtime_name in [...containerd], and a runc handler when the
// section declares none — containerd 1.x decodes a section's runtimes map
// in place of its defaults', and without runc the CRI plugin does not load
// ("no corresponding runtime configured in `containerd.runtimes` for
// `containerd` `default_runtime_name = "runc"`", containerd 1.6.20). Each
// edit is a splice (tomledit.go), recorded so uninstall gives back the
// bytes; containerd 2.x reads the result as well.

// criEdit says what to register in config.toml's CRI section.
type criEdit struct {
	Version    int
	Name       string // the handler
	Binary     string // the wrapper's host path
	SetDefault bool
	// Ours reports whether a BinaryName runs this armhf-shim.
	Ours func(path string) bool
}

// errNoSplice: config.toml's CRI section is written in a way the editor
// cannot extend safely (the caller says what to add by hand).
var errNoSplice = errors.New("cannot be edited in place")

// criPaths are the key paths of the CRI section's containerd table, its
// runtimes, and the runtime handler name.
func criPaths(version int, name string) (ctd, runtimes, handler []string) {
	ctd = []string{"plugins", criPlugin(version), "containerd"}
	runtimes = append(append([]string(nil), ctd...), "runtimes")
	handler = append(append([]string(nil), runtimes...), name)
	return
}

// ContainerdCRIInstall returns config.toml with handler e.Name in its own
// CRI section, and notes; rec.CRI notes what it changed, in order.
func ContainerdCRIInstall(old []byte, rec *record, e criEdit) ([]byte, []string, error) {
	c, _, err := parseMain(old)
	if err != nil {
		return nil, nil, err
	}
	ctdPath, rtsPath, rtPath := criPaths(e.Version, e.Name)
	runcPath := append(append([]string(nil), rtsPath...), "runc")
	optsPath := append(append([]string(nil), rtPath...), "options")
	binPath := append(append([]string(nil), optsPath...), "BinaryName")
	defPath := append(append([]string(nil), ctdPath...), "default_runtime_name")
	doc := old
	var notes []string
	edit := func(f func(d *tomlDoc) ([]byte, tomlEdit), changed ...[]string) error {
		d, err := parseTOMLDoc(doc)
		if err != nil {
			return fmt.Errorf("malformed containerd config (%v): left unchanged; fix it and run again", err)
		}
		nw, ed := f(d)
		if err := tomlSame(doc, nw, changed...); err != nil {
			return fmt.Errorf("internal error editing the CRI section (%v): left unchanged; please report it with the file", err)
		}
		rec.CRI = append(rec.CRI, ed)
		doc = nw
		return nil
	}
	d, err := parseTOMLDoc(old)
	if err != nil {
		return nil, nil, fmt.Errorf("malformed containerd config (%v): left unchanged; fix it and run again", err)
	}
	if why := d.headerSafe(ctdPath, runcPath, rtPath, optsPath); why != "" {
		return nil, nil, fmt.Errorf("%w: %s", errNoSplice, why)
	}
	pl, _ := c.Plugins[criPlugin(e.Version)].(map[string]any)
	ctd, _ := pl["containerd"].(map[string]any)
	rts, _ := ctd["runtimes"].(map[string]any)
	if rt, has := rts[e.Name].(map[string]any); has {
		opts, _ := rt["options"].(map[string]any)
		bin, _ := opts["BinaryName"].(string)
		mine := rec.criEdit(binPath) != nil || rec.criEdit(append(append([]string(nil), rtPath...), "runtime_type")) != nil
		switch {
		case bin == e.Binary:
		case mine || bin != "" && e.Ours(bin):
			// armhf-shim's, with a wrapper since moved.
			n := len(rec.CRI)
			if err := edit(func(d *tomlDoc) ([]byte, tomlEdit) { return d.set(binPath, strconv.Quote(e.Binary)) }, binPath); err != nil {
				return nil, nil, err
			}
			block := rec.criEdit(append(append([]string(nil), rtPath...), "runtime_type"))
			if was := "BinaryName = " + strconv.Quote(bin); block != nil && strings.Count(block.Inserted, was) == 1 {
				// Install's own block: it now holds the new path, so
				// uninstall still finds and removes it whole.
				block.Inserted = strings.Replace(block.Inserted, was, "BinaryName = "+strconv.Quote(e.Binary), 1)
				rec.CRI = rec.CRI[:n]
			}
		default:
			return nil, nil, fmt.Errorf("[%s] is a runtime handler of your own (BinaryName %q), not armhf-shim's: left unchanged; "+
				"name armhf-shim's another way with --runtime-name, or remove yours and run again", dotted(rtPath), bin)
		}
	} else {
		if _, has := rts["runc"]; !has {
			pairs := []tomlPair{{"runtime_type", strconv.Quote(ContainerdRuncShim)}}
			if err := edit(func(d *tomlDoc) ([]byte, tomlEdit) { return d.addTable(runcPath, pairs) }, runcPath); err != nil {
				return nil, nil, err
			}
			notes = append(notes, "runc is declared beside it: containerd 1.x drops its default runc once the CRI section has runtimes")
		}
		if err := edit(func(d *tomlDoc) ([]byte, tomlEdit) {
			return d.addTable(rtPath, []tomlPair{{"runtime_type", strconv.Quote(ContainerdRuncShim)}},
				tomlSub{"options", []tomlPair{{"BinaryName", strconv.Quote(e.Binary)}}})
		}, rtPath); err != nil {
			return nil, nil, err
		}
	}
	if e.SetDefault {
		d, _ := parseTOMLDoc(doc)
		if cur, _ := ctd["default_runtime_name"].(string); cur != e.Name || d.find(defPath) == nil {
			hasTable := false
			for _, h := range d.tables {
				hasTable = hasTable || !h.array && samePath(h.path, ctdPath)
			}
			if err := edit(func(d *tomlDoc) ([]byte, tomlEdit) {
				if hasTable {
					return d.set(defPath, strconv.Quote(e.Name))
				}
				return d.addTable(ctdPath, []tomlPair{{"default_runtime_name", strconv.Quote(e.Name)}})
			}, defPath); err != nil {
				return nil, nil, err
			}
		}
	}
	return doc, notes, nil
}

// criEdit is the recorded edit of path (nil: none).
func (r *record) criEdit(path []string) *tomlEdit {
	for i := range r.CRI {
		if samePath(r.CRI[i].Path, path) {
			return &r.CRI[i]
		}
	}
	return nil
}

// ContainerdCRIUninstall takes install's edits out of config.toml, last
// first; one changed since install wrote it is left, with a note.
func ContainerdCRIUninstall(old []byte, rec *record) ([]byte, []string, error) {
	if old == nil || len(rec.CRI) == 0 {
		return old, nil, nil
	}
	var notes []string
	doc := old
	for i := len(rec.CRI) - 1; i >= 0; i-- {
		e := rec.CRI[i]
		d, err := parseTOMLDoc(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("malformed containerd config (%v): left unchanged; fix it and run again", err)
		}
		nw, ok := d.undo(e)
		if !ok {
			notes = append(notes, fmt.Sprintf("%s is no longer as install wrote it: left as it is", dotted(e.Path)))
			continue
		}
		doc = nw
	}
	rec.CRI = nil
	return doc, notes, nil
}
