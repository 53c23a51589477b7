package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

func planDocker(o Options) (Plan, error) {
	path, t, err := o.readPrimary()
	if err != nil {
		return Plan{}, err
	}
	old, mode, rec, oldRec := t.old, t.mode, t.rec, t.oldRec
	rt, link := o.runtimeLink()
	var p Plan
	var nw []byte
	var ipv6Notes []string
	if o.FixedCIDRv6 != "" && !o.IPv6 {
		return Plan{}, fmt.Errorf("--fixed-cidr-v6 goes with --ipv6")
	}
	if o.Uninstall {
		nw = old
		if rec.Docker != nil && len(rec.Docker.Runtimes) <= 1 && (len(rec.Docker.Runtimes) == 0 || rec.Docker.Runtimes[o.RuntimeName] != nil) {
			// The last runtime goes: what --ipv6 added goes with it.
			var kept []string
			if nw, kept, err = DockerIPv6Uninstall(nw, rec); err != nil {
				return Plan{}, fmt.Errorf("%s: %w", path, err)
			}
			for _, k := range kept {
				ipv6Notes = append(ipv6Notes, fmt.Sprintf("kept %s: install docker --ipv6 added it, but it has been changed since", k))
			}
		}
		nw, err = DockerUninstall(nw, rec, o.RuntimeName, o.runsThisShim)
	} else {
		rec.willCreate(filepath.Dir(path))
		nw, err = DockerInstall(old, rec, DockerEdit{Name: o.RuntimeName, Path: rt, SetDefault: o.SetAsDefault, Replace: o.Replace, Ours: o.runsThisShim})
		if err == nil && o.IPv6 {
			nw, ipv6Notes, err = o.dockerIPv6(path, nw, rec)
		}
		if link != nil {
			p.Links = append(p.Links, *link)
		}
	}
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", path, err)
	}
	p.Files = change(path, old, nw, mode)
	last := o.Uninstall && (rec.Docker == nil || len(rec.Docker.Runtimes) == 0)
	rec.finish(&p, path, oldRec, last)
	if d := docsChanged(old, nw); d.any {
		p.Apply, p.Notes = dockerAdvice(o, path, d)
	}
	p.Notes = append(p.Notes, ipv6Notes...)
	return p, nil
}

// dockerChange is what an edit of daemon.json changed, for the advice:
// whether dockerd must restart to apply it (a SIGHUP applies runtimes, but
// keeps the old runtimes and default-runtime when a key is removed, and a
// default-runtime change is applied for sure only at start).
type dockerChange struct {
	any, restart bool
	why          string // why a restart, "" for the default-runtime reason
}

func docsChanged(old, nw []byte) dockerChange {
	get := func(b []byte, key string) []byte {
		d, err := parseJSONDoc(b)
		if err != nil {
			return nil
		}
		v, _ := d.get(key)
		return v
	}
	defaultChanged := !bytes.Equal(get(old, "default-runtime"), get(nw, "default-runtime"))
	runtimesRemoved := get(old, "runtimes") != nil && get(nw, "runtimes") == nil
	c := dockerChange{any: !bytes.Equal(old, nw), restart: defaultChanged || runtimesRemoved}
	for _, k := range []string{"ipv6", "fixed-cidr-v6", "ip6tables", "experimental"} {
		if !bytes.Equal(get(old, k), get(nw, k)) && !c.restart {
			c.restart, c.why = true, "dockerd reads its network options (ipv6, fixed-cidr-v6, ip6tables, experimental) only when it starts"
		}
	}
	return c
}

// runsThisShim reports whether a runtime path registered in daemon.json
// runs this armhf-shim: it is the runtime install registers, or the same
// file as it or as the armhf-shim binary.
func (o *Options) runsThisShim(p string) bool {
	rt, _ := o.runtimeLink()
	if p == rt || p == o.Binary {
		return true
	}
	id, _, err := fsutil.Identify(inRoot(o.Root, p))
	if err != nil {
		return false
	}
	for _, q := range []string{rt, o.Binary} {
		if qid, _, err := fsutil.Identify(inRoot(o.Root, q)); err == nil && qid == id {
			return true
		}
	}
	return false
}

// sameJSON reports whether two documents are equal as JSON values.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DockerEdit is one runtime to register in daemon.json.
type DockerEdit struct {
	Name, Path string // runtime name and the runtime binary
	SetDefault bool   // make it default-runtime
	Replace    bool   // replace an entry of that name that is not ours
	// Ours reports whether a registered path runs this armhf-shim.
	Ours func(path string) bool
}

func malformedDaemonJSON(err error) error {
	return fmt.Errorf("malformed daemon.json (%v): left unchanged; fix or move it and run again", err)
}

// DockerInstall returns daemon.json with runtimes.<name>.path = e.Path
// (other members of that entry, and every other byte, kept) and, with
// e.SetDefault, default-runtime = name; rec notes what it replaced.
// Unchanged input is returned as is.
func DockerInstall(old []byte, rec *record, e DockerEdit) ([]byte, error) {
	doc, err := parseJSONDoc(old)
	if err != nil {
		return nil, malformedDaemonJSON(err)
	}
	if rec.Docker == nil {
		rec.Docker = &dockerRecord{}
	}
	dr := rec.Docker
	rts, err := doc.get("runtimes")
	if err != nil {
		return nil, malformedDaemonJSON(err)
	}
	if rts != nil && rawjson.Kind(rts) != "an object" {
		return nil, fmt.Errorf("malformed daemon.json: \"runtimes\" is %s, not an object: left unchanged", rawjson.Kind(rts))
	}
	entry, err := doc.get("runtimes", e.Name)
	if err != nil {
		return nil, malformedDaemonJSON(err)
	}
	rr := dr.Runtimes[e.Name]
	if rr == nil {
		rr = &runtimeRecord{}
	}
	quoted := rawjson.AppendString(nil, e.Path)
	switch {
	case entry == nil:
		if old == nil && len(dr.Runtimes) == 0 {
			dr.CreatedFile = true
		}
		if rts == nil {
			dr.CreatedRuntimes = true
		}
		err = doc.set(quoted, "runtimes", e.Name, "path")
	case rawjson.Kind(entry) != "an object":
		return nil, fmt.Errorf("malformed daemon.json: runtimes.%s is %s, not an object: left unchanged", e.Name, rawjson.Kind(entry))
	default:
		cur, _ := doc.get("runtimes", e.Name, "path")
		p, _ := rawjson.MemberString(cur)
		mine := dr.Runtimes[e.Name] != nil && p == rr.Path || e.Ours(p)
		if !mine && !e.Replace {
			return nil, fmt.Errorf("runtimes.%s runs %q, which is not this armhf-shim: left unchanged; "+
				"register armhf-shim under another name with --runtime-name NAME, or replace that entry with --replace "+
				"(uninstall puts it back)", e.Name, p)
		}
		if mine {
			err = doc.set(quoted, "runtimes", e.Name, "path")
		} else {
			rr.Replaced = string(entry)
			err = doc.set(doc.styleValue(quoted, "runtimes"), "runtimes", e.Name)
		}
	}
	if err != nil {
		return nil, malformedDaemonJSON(err)
	}
	rr.Path = e.Path
	if e.SetDefault {
		cur, err := doc.get("default-runtime")
		if err != nil {
			return nil, malformedDaemonJSON(err)
		}
		if name, _ := rawjson.MemberString(cur); cur == nil || name != e.Name {
			rr.Default = true
			rr.PreviousDefault = string(cur)
			if err := doc.set(rawjson.AppendString(nil, e.Name), "default-runtime"); err != nil {
				return nil, malformedDaemonJSON(err)
			}
		}
	}
	if dr.Runtimes == nil {
		dr.Runtimes = map[string]*runtimeRecord{}
	}
	dr.Runtimes[e.Name] = rr
	if bytes.Equal(doc.b, old) {
		return old, nil
	}
	return doc.b, nil
}

// styleValue renders {"path": <quoted>} laid out like a member of the
// object at path.
func (d *jsonDoc) styleValue(quoted []byte, path ...string) []byte {
	objs, i, err := d.lookup(path)
	if err != nil || i < 0 {
		return append(append([]byte(`{"path": `), quoted...), '}')
	}
	m := objs[len(objs)-1].members[i]
	o, err := d.object(m.val)
	if err != nil {
		return append(append([]byte(`{"path": `), quoted...), '}')
	}
	return d.style(o).object("path", quoted, 1)
}

// DockerUninstall removes runtimes.<name> if it runs this armhf-shim
// (putting back an entry --replace displaced), and a default-runtime
// install set (putting back the one it replaced), as rec says.
func DockerUninstall(old []byte, rec *record, name string, ours func(string) bool) ([]byte, error) {
	if old == nil {
		return nil, nil
	}
	doc, err := parseJSONDoc(old)
	if err != nil {
		return nil, malformedDaemonJSON(err)
	}
	dr := rec.Docker
	if dr == nil {
		dr = &dockerRecord{}
	}
	rr := dr.Runtimes[name]
	entry, err := doc.get("runtimes", name)
	if err != nil {
		return nil, malformedDaemonJSON(err)
	}
	removed := false
	if entry != nil {
		cur, _ := doc.get("runtimes", name, "path")
		p, _ := rawjson.MemberString(cur)
		if !(rr != nil && p == rr.Path || ours(p)) {
			return nil, fmt.Errorf("runtimes.%s runs %q, not this armhf-shim: left unchanged", name, p)
		}
		if rr != nil && rr.Replaced != "" {
			err = doc.set([]byte(rr.Replaced), "runtimes", name)
		} else {
			err = doc.remove("runtimes", name)
			removed = true
		}
		if err != nil {
			return nil, malformedDaemonJSON(err)
		}
		rts, _ := doc.get("runtimes")
		if d, err := parseJSONDoc(rts); err == nil && d.empty() && (dr.CreatedRuntimes || len(dr.Runtimes) == 0) {
			doc.remove("runtimes")
		}
	}
	if cur, _ := doc.get("default-runtime"); cur != nil {
		if def, _ := rawjson.MemberString(cur); def == name {
			switch {
			case rr != nil && rr.Default && rr.PreviousDefault != "":
				doc.set([]byte(rr.PreviousDefault), "default-runtime")
			case rr != nil && rr.Default, removed:
				// dockerd does not start with a default that names no runtime.
				doc.remove("default-runtime")
			}
		}
	}
	if rr != nil {
		// A default set later over this one now falls back to what this
		// one replaced.
		for _, other := range dr.Runtimes {
			if prev, _ := rawjson.MemberString([]byte(other.PreviousDefault)); other.PreviousDefault == "" || prev != name {
				continue
			}
			switch {
			case rr.Default:
				other.PreviousDefault = rr.PreviousDefault
			case removed:
				other.PreviousDefault = ""
			}
		}
		delete(dr.Runtimes, name)
	}
	if len(dr.Runtimes) == 0 && dr.CreatedFile && doc.empty() {
		return nil, nil
	}
	if bytes.Equal(doc.b, old) {
		return old, nil
	}
	return doc.b, nil
}
