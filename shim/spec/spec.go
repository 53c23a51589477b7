// Package spec reads and edits an OCI bundle's config.json without losing
// anything the editor does not understand.
//
// The model: a config.json is kept as raw JSON. A [Doc] holds the top-level
// object as its members, slices of the parsed bytes, and each edit
// splices new bytes into the member on its path (annotations, mounts,
// linux.personality) without decoding the rest, so every field that is
// not touched — including fields the runtime-spec Go types do not know,
// vendor extensions and numbers of any precision — is written back as it
// was, byte for byte, in its place. (Round-tripping through specs.Spec
// would drop unknown fields.)
//
// Deciding needs only a few facts; [ScanView] decodes just those into a
// small struct and is what the runtime wrapper does on every create, so a
// container that needs no edit costs one partial decode and no write.
//
// jsontext (github.com/go-json-experiment/json) tokenizes, validates and
// unescapes, with encoding/json's rules; json.go hands out members and
// elements as slices of the input, which is what the splice needs.
package spec

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// View is the part of a config.json that armhf-shim decides on.
type View struct {
	Annotations map[string]string `json:"annotations"`
	Process     *ViewProcess      `json:"process"`
	Root        *struct {
		Path string `json:"path"`
	} `json:"root"`
	Linux *ViewLinux `json:"linux"`
}

// ViewProcess is the decision part of process.
type ViewProcess struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
}

// ViewLinux is the decision part of linux: the container's cpuset.
type ViewLinux struct {
	Resources *struct {
		CPU *ViewCPU `json:"cpu"`
	} `json:"resources"`
}

// ViewCPU is linux.resources.cpu.
type ViewCPU struct {
	Cpus string `json:"cpus"`
}

// Args returns process.args (nil without a process).
func (v *View) Args() []string {
	if v.Process == nil {
		return nil
	}
	return v.Process.Args
}

// Env returns process.env.
func (v *View) Env() []string {
	if v.Process == nil {
		return nil
	}
	return v.Process.Env
}

// Cwd returns process.cwd ("/" when unset).
func (v *View) Cwd() string {
	if v.Process == nil || v.Process.Cwd == "" {
		return "/"
	}
	return v.Process.Cwd
}

// RootPath returns root.path ("" when unset).
func (v *View) RootPath() string {
	if v.Root == nil {
		return ""
	}
	return v.Root.Path
}

// Rootfs is the container's root filesystem: root.path, relative to the
// bundle directory when not absolute (as runc and crun take it); "" when
// unset.
func (v *View) Rootfs(bundle string) string {
	p := v.RootPath()
	if p != "" && !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	return p
}

// Cpus returns linux.resources.cpu.cpus, the container's cpuset ("" = all).
func (v *View) Cpus() string {
	if v.Linux == nil || v.Linux.Resources == nil || v.Linux.Resources.CPU == nil {
		return ""
	}
	return v.Linux.Resources.CPU.Cpus
}

// Doc is an editable config.json: the bytes it was parsed from, split
// into its top-level members, and the edits. An edited member is kept as
// pieces — slices of the original around the new bytes (a mount appended
// to mounts, a personality spliced into linux) — and nothing is copied
// until Marshal writes every member once, in document order, into one
// buffer.
type Doc struct {
	members []member
	// linux is what the parse saw inside the linux object, while linux is
	// unedited: setting linux.personality needs no walk of it (it is
	// mostly the seccomp profile, most of the document).
	linux linuxFacts
}

// member is one top-level member: its name, its quoted name as written
// (nil for a new member) and its value — as parsed, or once edited the
// concatenation of pieces.
type member struct {
	name   string
	quoted []byte
	val    []byte
	pieces [][]byte
}

// linuxFacts is what the parse noted of linux.
type linuxFacts struct {
	ok   bool   // linux is as parsed: the fields below hold
	raw  []byte // linux's value, its capacity running to the end of the document
	pers []byte // linux.personality (nil when absent), a slice of raw
}

// Parse reads a config.json. It must be a JSON object.
//
// The document is validated whole (encoding/json.Valid's rules) and split
// into its members in the same pass, which also notes where
// linux.personality is on its way through linux; the members are kept as
// slices of data, which must not change afterwards.
//
// Names are matched as runc's encoding/json matches them to the spec's
// fields: exactly or differing in case ("Mounts" is mounts). Every member
// is kept as written, a repeated name included (runc decodes both into
// the same field, merging two objects); reads and edits use the last
// member of a name, the one runc applies last.
func Parse(data []byte) (*Doc, error) {
	p := &parser{d: &Doc{members: make([]member, 0, 16)}}
	if err := (walker{data: data, fn: p.member, inner: "linux", innerFn: p.inLinux}).walk(); err != nil {
		return nil, fmt.Errorf("malformed OCI config: %w", err)
	}
	return p.d, nil
}

// parser receives the members of one Parse.
type parser struct {
	d    *Doc
	pers []byte // linux.personality of the linux object being walked
}

func (p *parser) member(quoted []byte, name string, val []byte) {
	p.d.members = append(p.d.members, member{name: name, quoted: quoted, val: val[:len(val):len(val)]})
	if strings.EqualFold(name, "linux") {
		p.d.linux = linuxFacts{ok: true, raw: val, pers: p.pers}
		p.pers = nil
	}
}

func (p *parser) inLinux(_ []byte, name string, val []byte) {
	if strings.EqualFold(name, "personality") {
		p.pers = val
	}
}

// set gives member name the value pieces (appending a new member).
func (d *Doc) set(name string, pieces ...[]byte) {
	if strings.EqualFold(name, "linux") {
		d.linux = linuxFacts{}
	}
	if m := d.find(name); m != nil {
		m.val, m.pieces = nil, pieces
		return
	}
	d.members = append(d.members, member{name: name, pieces: pieces})
}

// find returns the last member named name, as runc matches names.
func (d *Doc) find(name string) *member {
	for i := len(d.members) - 1; i >= 0; i-- {
		if strings.EqualFold(d.members[i].name, name) {
			return &d.members[i]
		}
	}
	return nil
}

// get returns member name's value (nil when absent), joining an edited
// one's pieces.
func (d *Doc) get(name string) []byte {
	m := d.find(name)
	if m == nil {
		return nil
	}
	if m.pieces != nil {
		m.val, m.pieces = bytes.Join(m.pieces, nil), nil
	}
	return m.val
}

// Marshal returns the document as compact JSON (runc reads it; nobody
// else does), its members in their original order and each written once:
// the unedited ones and the unedited parts of the edited ones byte for
// byte (validated when parsed, so not scanned again).
func (d *Doc) Marshal() ([]byte, error) {
	n := 3
	for _, m := range d.members {
		n += len(m.quoted) + len(m.name) + 4 + len(m.val)
		for _, p := range m.pieces {
			n += len(p)
		}
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, m := range d.members {
		if i > 0 {
			out = append(out, ',')
		}
		if m.quoted != nil {
			out = append(out, m.quoted...)
		} else {
			out = appendString(out, m.name)
		}
		out = append(out, ':')
		out = append(out, m.val...)
		for _, p := range m.pieces {
			out = append(out, p...)
		}
	}
	return append(out, '}', '\n'), nil
}

// spliceMember returns the raw object obj with member key's value replaced
// by val, or with "key":val added as its first member, as pieces: slices
// of obj around val. An absent or null obj gives {"key":val}. obj is a
// struct to runc (key matched in any case) or, with entry set, a map (key
// matched exactly).
func spliceMember(obj []byte, key string, val []byte, entry bool) ([][]byte, error) {
	var raw []byte
	off := 0
	if !isNull(obj) {
		var err error
		if raw, off, err = valueAt(obj, key, entry); err != nil {
			return nil, err
		}
	}
	return spliceAt(obj, key, raw, off, val), nil
}

// spliceAt is spliceMember for an object obj whose member key is known:
// raw at obj[at:], or raw == nil when obj has none (or is absent or null).
func spliceAt(obj []byte, key string, raw []byte, at int, val []byte) [][]byte {
	if isNull(obj) {
		return [][]byte{appendString([]byte{'{'}, key), {':'}, val, {'}'}}
	}
	if raw != nil {
		return [][]byte{obj[:at], val, obj[at+len(raw):]}
	}
	open := skipSpace(obj, 0) // obj is an object: '{'
	name := appendString(nil, key)
	name = append(name, ':')
	name = append(name, val...)
	if rest := skipSpace(obj, open+1); rest < len(obj) && obj[rest] != '}' {
		name = append(name, ',')
	}
	return [][]byte{obj[:open+1], name, obj[open+1:]}
}

// SetAnnotation sets annotations[key] = value.
func (d *Doc) SetAnnotation(key, value string) error {
	pieces, err := spliceMember(d.get("annotations"), key, appendString(nil, value), true)
	if err != nil {
		return fmt.Errorf("malformed OCI config: annotations is not an object")
	}
	d.set("annotations", pieces...)
	return nil
}

// rawMounts returns the elements of mounts as slices of its value.
func (d *Doc) rawMounts() ([][]byte, error) {
	raw := d.get("mounts")
	if isNull(raw) {
		return nil, nil
	}
	out := make([][]byte, 0, 16)
	if err := eachElement(raw, func(el []byte) error { out = append(out, el); return nil }); err != nil {
		return nil, fmt.Errorf("malformed OCI config: mounts is not an array")
	}
	return out, nil
}

// appendMount appends m as JSON, as encoding/json would encode it; the
// wrapper's mounts have no ID mappings.
func appendMount(dst []byte, m specs.Mount) []byte {
	dst = append(dst, `{"destination":`...)
	dst = appendString(dst, m.Destination)
	if m.Type != "" {
		dst = append(dst, `,"type":`...)
		dst = appendString(dst, m.Type)
	}
	if m.Source != "" {
		dst = append(dst, `,"source":`...)
		dst = appendString(dst, m.Source)
	}
	if len(m.Options) > 0 {
		dst = append(dst, `,"options":[`...)
		for i, o := range m.Options {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, o)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// SetMount puts m in mounts: it replaces the last mount with the same
// destination (keeping its position, so it still follows the mounts it
// depends on) or, when there is none, appends it — after /proc, for a mount
// over a file in /proc.
func (d *Doc) SetMount(m specs.Mount) error {
	raws, err := d.rawMounts()
	if err != nil {
		return err
	}
	i, err := lastMount(raws, m.Destination)
	if err != nil {
		return err
	}
	d.set("mounts", mountPieces(d.get("mounts"), raws, i, appendMount(make([]byte, 0, 256), m))...)
	return nil
}

// lastMount returns the index of the last of the raw mounts whose
// destination is dest, or -1.
func lastMount(raws [][]byte, dest string) (int, error) {
	for i := len(raws) - 1; i >= 0; i-- {
		raw, err := memberValue(raws[i], "destination")
		if err != nil {
			return 0, fmt.Errorf("malformed OCI config: mounts[%d] is not an object", i)
		}
		cur, err := decodeString(raw)
		if err != nil {
			return 0, fmt.Errorf("malformed OCI config: mounts[%d].destination: %w", i, err)
		}
		if cur == dest {
			return i, nil
		}
	}
	return -1, nil
}

// mountPieces is mounts with the mount b in place of raws[i] (slices of
// mounts) or, for i < 0, after the last one.
func mountPieces(mounts []byte, raws [][]byte, i int, b []byte) [][]byte {
	switch {
	case i >= 0:
		at := cap(mounts) - cap(raws[i])
		return [][]byte{mounts[:at], b, mounts[at+len(raws[i]):]}
	case len(raws) == 0:
		return [][]byte{{'['}, b, {']'}}
	}
	// After the last element, before the closing bracket.
	last := raws[len(raws)-1]
	end := cap(mounts) - cap(last) + len(last)
	return [][]byte{mounts[:end], {','}, b, mounts[end:]}
}

// SetPersonalityDomain sets linux.personality.domain (e.g. "LINUX32"),
// keeping linux.personality.flags and every other member of linux.
func (d *Doc) SetPersonalityDomain(domain string) error {
	// linux is mostly the seccomp profile: splice the personality member
	// into it, where the parse saw it, rather than decoding or copying it.
	facts := d.linux
	linux := d.get("linux")
	var pers []byte
	persAt := -1
	switch {
	case facts.ok && facts.pers != nil:
		pers, persAt = facts.pers, cap(facts.raw)-cap(facts.pers)
	case facts.ok || isNull(linux):
	default:
		var err error
		if pers, persAt, err = valueAt(linux, "personality", false); err != nil {
			return fmt.Errorf("malformed OCI config: linux is not an object")
		}
	}
	np, err := spliceMember(pers, "domain", appendString(nil, domain), false)
	if err != nil {
		return fmt.Errorf("malformed OCI config: linux.personality is not an object")
	}
	if !isNull(linux) && linux[skipSpace(linux, 0)] != '{' {
		return fmt.Errorf("malformed OCI config: linux is not an object")
	}
	d.set("linux", spliceAt(linux, "personality", pers, persAt, bytes.Join(np, nil))...)
	return nil
}

// MountAt returns the last mount whose destination is dest (the one runc
// applies last) and whether there is one.
func (d *Doc) MountAt(dest string) (specs.Mount, bool, error) {
	raws, err := d.rawMounts()
	if err != nil {
		return specs.Mount{}, false, err
	}
	i, err := lastMount(raws, dest)
	if err != nil || i < 0 {
		return specs.Mount{}, false, err
	}
	m := specs.Mount{Destination: dest}
	for _, f := range []struct {
		key string
		dst *string
	}{{"type", &m.Type}, {"source", &m.Source}} {
		raw, err := memberValue(raws[i], f.key)
		if err == nil {
			*f.dst, err = decodeString(raw)
		}
		if err != nil {
			return specs.Mount{}, false, fmt.Errorf("malformed OCI config: mounts[%d].%s: %w", i, f.key, err)
		}
	}
	raw, err := memberValue(raws[i], "options")
	if err == nil {
		m.Options, err = decodeStrings(raw)
	}
	if err != nil {
		return specs.Mount{}, false, fmt.Errorf("malformed OCI config: mounts[%d].options: %w", i, err)
	}
	return m, true, nil
}
