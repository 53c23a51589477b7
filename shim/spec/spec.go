// Package spec reads and edits an OCI bundle's config.json without losing
// anything the editor does not understand.
//
// The model: a config.json is kept as raw JSON. A [Doc] holds the top-level
// object as a map of raw members, and each edit decodes only the members on
// its path (annotations, mounts, linux.personality) into maps of raw
// members again, so every field that is not touched — including fields the
// runtime-spec Go types do not know, vendor extensions and numbers of any
// precision — is written back as it was. (Round-tripping through
// specs.Spec would drop unknown fields.) Member order within an object
// becomes sorted; JSON objects are unordered, so no reader can tell.
//
// Deciding needs only a few facts; [ScanView] decodes just those into a
// small struct and is what the runtime wrapper does on every create, so a
// container that needs no edit costs one partial decode and no write.
//
// The JSON work is package rawjson's, not encoding/json's: the wrapper is
// a process started per runtime call, and linking encoding/json alone
// makes that start measurably slower.
package spec

import (
	"bytes"
	"fmt"
	"os"
	"sort"

	"github.com/armhf-shim/armhf-shim/internal/rawjson"
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

// Cpus returns linux.resources.cpu.cpus, the container's cpuset ("" = all).
func (v *View) Cpus() string {
	if v.Linux == nil || v.Linux.Resources == nil || v.Linux.Resources.CPU == nil {
		return ""
	}
	return v.Linux.Resources.CPU.Cpus
}

// Doc is an editable config.json.
type Doc struct {
	top map[string][]byte
}

// Parse reads a config.json. It must be a JSON object.
//
// The document is validated whole (rawjson.Check: encoding/json.Valid's
// rules, several times faster), then split into its members by one
// structural pass; the members are kept as slices of data, which must not change
// afterwards.
func Parse(data []byte) (*Doc, error) {
	if err := rawjson.Check(data); err != nil {
		return nil, fmt.Errorf("malformed OCI config: %w", err)
	}
	top, err := splitObject(data)
	if err != nil {
		return nil, fmt.Errorf("malformed OCI config: not a JSON object")
	}
	return &Doc{top: top}, nil
}

// Load reads path.
func Load(path string) (*Doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Marshal returns the document as compact JSON (runc reads it; nobody
// else does). Members are written in sorted order, each raw member
// verbatim: it was validated when it was parsed or written by this
// package, so it is not scanned again — on a 17 kB Docker config
// that halves the work of a modify-and-flush.
func (d *Doc) Marshal() ([]byte, error) {
	out := appendObject(make([]byte, 0, d.size()+64), d.top)
	return append(out, '\n'), nil
}

func (d *Doc) size() int {
	n := 0
	for k, v := range d.top {
		n += len(k) + len(v) + 4
	}
	return n
}

// appendObject appends m as a JSON object with sorted keys and the raw
// members as they are.
func appendObject(dst []byte, m map[string][]byte) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, k)
		dst = append(dst, ':')
		dst = append(dst, bytes.TrimSpace(m[k])...)
	}
	return append(dst, '}')
}

// object decodes the member key of m as an object of raw members; a
// missing or null member gives an empty map.
func object(m map[string][]byte, key, where string) (map[string][]byte, error) {
	out, err := rawObject(m[key])
	if err != nil {
		return nil, fmt.Errorf("malformed OCI config: %s is not an object", where)
	}
	return out, nil
}

// rawObject splits the raw JSON object raw into its members (absent or
// null: an empty map).
func rawObject(raw []byte) (map[string][]byte, error) {
	if rawjson.IsNull(raw) {
		return map[string][]byte{}, nil
	}
	return splitObject(raw)
}

// splitObject splits the raw JSON object obj into its members in one
// structural pass; each member keeps its raw bytes (capped, so an append
// to one never writes into the next).
func splitObject(obj []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := rawjson.EachMember(obj, func(name, val []byte) { out[rawjson.Name(name)] = val[:len(val):len(val)] })
	return out, err
}

// setString sets m[key] to the JSON string s.
func setString(m map[string][]byte, key, s string) {
	m[key] = rawjson.AppendString(nil, s)
}

// setObject sets m[key] to the object obj.
func setObject(m map[string][]byte, key string, obj map[string][]byte) {
	m[key] = appendObject(nil, obj)
}

// Annotation returns annotations[key].
func (d *Doc) Annotation(key string) (string, bool, error) {
	ann, err := object(d.top, "annotations", "annotations")
	if err != nil {
		return "", false, err
	}
	raw, ok := ann[key]
	if !ok {
		return "", false, nil
	}
	s, err := rawjson.String(raw)
	if err != nil {
		return "", false, fmt.Errorf("malformed OCI config: annotation %q is not a string", key)
	}
	return s, true, nil
}

// SetAnnotation sets annotations[key] = value.
func (d *Doc) SetAnnotation(key, value string) error {
	ann, err := object(d.top, "annotations", "annotations")
	if err != nil {
		return err
	}
	setString(ann, key, value)
	setObject(d.top, "annotations", ann)
	return nil
}

// Mount is one entry of mounts, as the runtime-spec defines it.
type Mount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type,omitempty"`
	Source      string   `json:"source,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// Mounts returns the destination, type and source of every mount, in order.
func (d *Doc) Mounts() ([]Mount, error) {
	raws, err := d.rawMounts()
	if err != nil {
		return nil, err
	}
	out := make([]Mount, len(raws))
	for i, r := range raws {
		if err := decodeMount(r, &out[i]); err != nil {
			return nil, fmt.Errorf("malformed OCI config: mounts[%d]: %w", i, err)
		}
	}
	return out, nil
}

// decodeMount decodes a mount's destination, type, source and options.
func decodeMount(raw []byte, m *Mount) error {
	var f [4][]byte
	if err := rawjson.Members(raw, []string{"destination", "type", "source", "options"}, f[:]); err != nil {
		return err
	}
	var err error
	for i, p := range []*string{&m.Destination, &m.Type, &m.Source} {
		if f[i] != nil {
			if *p, err = rawjson.String(f[i]); err != nil {
				return err
			}
		}
	}
	if f[3] != nil {
		m.Options, err = rawjson.Strings(f[3])
	}
	return err
}

func (d *Doc) rawMounts() ([][]byte, error) {
	raw, ok := d.top["mounts"]
	if !ok || rawjson.IsNull(raw) {
		return nil, nil
	}
	var out [][]byte
	if err := rawjson.EachElement(raw, func(el []byte) error { out = append(out, el); return nil }); err != nil {
		return nil, fmt.Errorf("malformed OCI config: mounts is not an array")
	}
	return out, nil
}

// appendMount appends m as JSON, as encoding/json would encode Mount.
func appendMount(dst []byte, m Mount) []byte {
	dst = append(dst, `{"destination":`...)
	dst = rawjson.AppendString(dst, m.Destination)
	if m.Type != "" {
		dst = append(dst, `,"type":`...)
		dst = rawjson.AppendString(dst, m.Type)
	}
	if m.Source != "" {
		dst = append(dst, `,"source":`...)
		dst = rawjson.AppendString(dst, m.Source)
	}
	if len(m.Options) > 0 {
		dst = append(dst, `,"options":`...)
		dst = rawjson.AppendStrings(dst, m.Options)
	}
	return append(dst, '}')
}

// SetMount puts m in mounts: it replaces the last mount with the same
// destination (keeping its position, so it still follows the mounts it
// depends on) or, when there is none, appends it — after /proc, for a mount
// over a file in /proc.
func (d *Doc) SetMount(m Mount) error {
	raws, err := d.rawMounts()
	if err != nil {
		return err
	}
	b := appendMount(nil, m)
	replaced := false
	for i := len(raws) - 1; i >= 0; i-- {
		dest, err := rawjson.Member(raws[i], "destination")
		if err != nil {
			return fmt.Errorf("malformed OCI config: mounts[%d] is not an object", i)
		}
		cur := ""
		if dest != nil {
			if cur, err = rawjson.String(dest); err != nil {
				return fmt.Errorf("malformed OCI config: mounts[%d].destination: %w", i, err)
			}
		}
		if cur == m.Destination {
			raws[i] = b
			replaced = true
			break
		}
	}
	if !replaced {
		raws = append(raws, b)
	}
	d.top["mounts"] = rawjson.AppendArray(nil, raws)
	return nil
}

// SetPersonalityDomain sets linux.personality.domain (e.g. "LINUX32"),
// keeping linux.personality.flags and every other member of linux.
func (d *Doc) SetPersonalityDomain(domain string) error {
	// linux is mostly the seccomp profile: splice the personality member
	// into its raw bytes rather than decoding and re-encoding all of it.
	linux := d.top["linux"]
	if rawjson.IsNull(linux) {
		linux = []byte("{}")
	}
	persRaw, err := rawjson.Member(linux, "personality")
	if err != nil {
		return fmt.Errorf("malformed OCI config: linux is not an object")
	}
	pers, err := rawObject(persRaw)
	if err != nil {
		return fmt.Errorf("malformed OCI config: linux.personality is not an object")
	}
	setString(pers, "domain", domain)
	out, err := spliceMember(linux, "personality", appendObject(nil, pers))
	if err != nil {
		return fmt.Errorf("malformed OCI config: linux is not an object")
	}
	d.top["linux"] = out
	return nil
}

// PersonalityDomain returns linux.personality.domain ("" when unset).
func (d *Doc) PersonalityDomain() (string, error) {
	linux, err := object(d.top, "linux", "linux")
	if err != nil {
		return "", err
	}
	pers, err := object(linux, "personality", "linux.personality")
	if err != nil {
		return "", err
	}
	var s string
	if raw, ok := pers["domain"]; ok {
		if s, err = rawjson.String(raw); err != nil {
			return "", fmt.Errorf("malformed OCI config: linux.personality.domain is not a string")
		}
	}
	return s, nil
}
