package install

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// The edits of a tomlDoc that tomlscan.go scanned: each splices bytes over
// one range or inserts a line, and undo takes back the edit it returns.

// find is the key-value of path, or nil.
func (d *tomlDoc) find(path []string) *tomlKV {
	for i := range d.kvs {
		if samePath(d.kvs[i].path, path) {
			return &d.kvs[i]
		}
	}
	return nil
}

// raw is the value of path as written ("" and false when absent).
func (d *tomlDoc) raw(path []string) (string, bool) {
	kv := d.find(path)
	if kv == nil {
		return "", false
	}
	return string(d.b[kv.val:kv.valEnd]), true
}

// tomlEdit is one value install set: where, as it was (Was, "" when the
// key was absent) and as written, and the exact text inserted for a new
// key, so that uninstall can take out just that.
type tomlEdit struct {
	Path     []string `json:"path"`
	Was      string   `json:"was,omitempty"`
	Now      string   `json:"now"`
	Inserted string   `json:"inserted,omitempty"`
	// Keys: every key the inserted text sets, when it sets more than Path
	// (a table addTable wrote, with its sub-tables): they go with it.
	Keys [][]string `json:"keys,omitempty"`
}

// set gives the document with path's value replaced by (or a new key with)
// the TOML value v, and the edit made.
func (d *tomlDoc) set(path []string, v string) ([]byte, tomlEdit) {
	e := tomlEdit{Path: path, Now: v}
	if kv := d.find(path); kv != nil {
		e.Was = string(d.b[kv.val:kv.valEnd])
		return splice(d.b, kv.val, kv.valEnd, v), e
	}
	at, text := d.insertion(path, v)
	e.Inserted = text
	return splice(d.b, at, at, text), e
}

func splice(b []byte, start, end int, s string) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(s))
	out = append(append(append(out, b[:start]...), s...), b[end:]...)
	return out
}

// tomlKey renders one key part, quoted only when it must be.
func tomlKey(k string) string {
	for i := 0; i < len(k); i++ {
		if !isBareKeyChar(k[i]) {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

func dotted(path []string) string {
	q := make([]string, len(path))
	for i, p := range path {
		q[i] = tomlKey(p)
	}
	return strings.Join(q, ".")
}

// insertion says where a new key path = v goes and the text to insert:
// into the deepest table on the way to it that the document writes down
// (its [header], inline table or dotted keys), relative to it; when there
// is none, as a new [table] — before the first header of a table below it,
// so it reads as their parent, else at the end.
func (d *tomlDoc) insertion(path []string, v string) (int, string) {
	for n := len(path) - 1; n >= 1; n-- {
		t, rel := path[:n], path[n:]
		line := dotted(rel) + " = " + v
		for _, h := range d.tables {
			if !h.array && samePath(h.path, t) {
				// Last in the table's body, laid out like its keys.
				at := h.lineEnd
				for _, kv := range d.kvs {
					if kv.in == nil && kv.keyAt >= h.lineEnd && samePath(kv.tablePath, h.path) && d.bodyOf(kv.keyAt, h) {
						at = d.eol(d.skipSpace(kv.valEnd, false))
					}
				}
				text := d.bodyIndent(h) + line + d.newline()
				if at == len(d.b) && d.b[len(d.b)-1] != '\n' {
					text = d.newline() + text // the file ends without a newline
				}
				return at, text
			}
		}
		for _, in := range d.inlines {
			if samePath(in.path, t) {
				if in.n == 0 {
					return in.close, " " + line + " "
				}
				// After the last key-value, before any blank and the brace.
				end := in.close
				for end > in.open && (d.b[end-1] == ' ' || d.b[end-1] == '\t') {
					end--
				}
				return end, ", " + line
			}
		}
		// Dotted keys in a table body defining t: after the last of them.
		var last *tomlKV
		for i := range d.kvs {
			kv := &d.kvs[i]
			if kv.in == nil && len(kv.tablePath) < n && hasPrefixPath(kv.path, t) && len(kv.path) > n {
				last = kv
			}
		}
		if last != nil {
			at := d.eol(d.skipSpace(last.valEnd, false))
			text := last.indent + dotted(path[len(last.tablePath):]) + " = " + v + d.newline()
			if at == len(d.b) && (len(d.b) == 0 || d.b[len(d.b)-1] != '\n') {
				text = d.newline() + text
			}
			return at, text
		}
	}
	header := "[" + dotted(path[:len(path)-1]) + "]" + d.newline() + "  " + tomlKey(path[len(path)-1]) + " = " + v + d.newline()
	for _, h := range d.tables {
		if len(h.path) >= len(path) && hasPrefixPath(h.path, path[:len(path)-1]) {
			return h.lineStart, header + d.newline()
		}
	}
	at := len(d.b)
	prefix := ""
	switch {
	case at == 0:
	case d.b[at-1] != '\n':
		prefix = d.newline() + d.newline()
	case at < 2 || d.b[at-2] != '\n':
		prefix = d.newline()
	}
	return at, prefix + header
}

// bodyOf reports whether offset i is in the body of table h: after its
// header and before the next header.
func (d *tomlDoc) bodyOf(i int, h tomlTable) bool {
	for _, o := range d.tables {
		if o.lineStart > h.lineStart && o.lineStart < i {
			return false
		}
	}
	return i >= h.lineEnd
}

// bodyIndent is the indentation of the first key-value of table h's body.
func (d *tomlDoc) bodyIndent(h tomlTable) string {
	for _, kv := range d.kvs {
		if kv.in == nil && kv.keyAt >= h.lineEnd && samePath(kv.tablePath, h.path) {
			return kv.indent
		}
	}
	for _, kv := range d.kvs {
		if kv.in == nil && kv.indent != "" {
			return kv.indent
		}
	}
	return ""
}

// newline is the document's line end.
func (d *tomlDoc) newline() string {
	if bytes.Contains(d.b, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

// undo takes edit e out of the document: the value as it was, or the text
// inserted. ok is false when the key no longer holds what install wrote
// (someone changed it since: it is left alone), or when it cannot be taken
// out without changing another key.
func (d *tomlDoc) undo(e tomlEdit) ([]byte, bool) {
	kv := d.find(e.Path)
	if kv == nil || string(d.b[kv.val:kv.valEnd]) != e.Now {
		return nil, false
	}
	if e.Inserted == "" {
		return splice(d.b, kv.val, kv.valEnd, e.Was), true
	}
	// The text inserted, where it still covers the key-value; when a new
	// [table] was inserted, a key the user has added to it since would go
	// with the header into the table above: then only install's line goes.
	for from := 0; ; {
		i := bytes.Index(d.b[from:], []byte(e.Inserted))
		if i < 0 {
			break
		}
		i += from
		if i <= kv.keyAt && kv.valEnd <= i+len(e.Inserted) {
			scope := e.Keys
			if len(scope) == 0 {
				scope = [][]string{e.Path}
			}
			if nw := splice(d.b, i, i+len(e.Inserted), ""); tomlSame(d.b, nw, scope...) == nil {
				return nw, true
			}
			break
		}
		from = i + 1
	}
	if kv.in == nil && len(e.Keys) == 0 {
		nw := splice(d.b, kv.lineStart, d.eol(d.skipSpace(kv.valEnd, false)), "")
		if tomlSame(d.b, nw, e.Path) == nil {
			return nw, true
		}
	}
	return nil, false
}

// tomlSame reports whether a and b decode to the same values once the
// keys of paths are taken out of both (with the tables left empty by it).
func tomlSame(a, b []byte, paths ...[]string) error {
	var ma, mb map[string]any
	if err := toml.Unmarshal(a, &ma); err != nil {
		return err
	}
	if err := toml.Unmarshal(b, &mb); err != nil {
		return err
	}
	if ma == nil {
		ma = map[string]any{}
	}
	if mb == nil {
		mb = map[string]any{}
	}
	for _, p := range paths {
		deletePath(ma, "", p)
		deletePath(mb, "", p)
	}
	if !reflect.DeepEqual(ma, mb) {
		return fmt.Errorf("the edit changed more than %v", paths)
	}
	return nil
}

// deletePath removes path from m, the table named parent, and the tables
// it leaves empty.
func deletePath(m map[string]any, parent string, path []string) {
	for k, v := range m {
		if !sameKey(parent, k, path[0]) {
			continue
		}
		if len(path) == 1 {
			delete(m, k)
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			deletePath(sub, k, path[1:])
			if len(sub) == 0 {
				delete(m, k)
			}
		}
	}
}

// tomlPair is one key = value (value as TOML) of a table addTable writes.
type tomlPair struct{ Key, Value string }

// tomlSub is a sub-table addTable writes right after its table.
type tomlSub struct {
	Name  string
	Pairs []tomlPair
}

// addTable gives the document with a new [path] table holding pairs, and
// the edit made (recorded by its first key, the text inserted), and the
// sub-tables subs after it. It goes
// before the first header of a table below path, so that it reads as
// their parent, else after the body of the last table that shares the
// longest part of path with it (its siblings, then its parent's), else at
// the end; indented as that table is, one step per level deeper. A header
// is written rather than a key set in an existing table (set) because
// containerd 1.x's TOML reader predates dotted keys.
func (d *tomlDoc) addTable(path []string, pairs []tomlPair, subs ...tomlSub) ([]byte, tomlEdit) {
	nl := d.newline()
	at, ref, before := len(d.b), -1, false
	for i, h := range d.tables {
		if len(h.path) > len(path) && hasPrefixPath(h.path, path) {
			at, ref, before = h.lineStart, i, true
			break
		}
	}
	for n := len(path) - 1; n >= 1 && ref < 0; n-- {
		for i, h := range d.tables {
			if hasPrefixPath(h.path, path[:n]) {
				ref = i
			}
		}
		if ref >= 0 {
			h := d.tables[ref]
			at = h.lineEnd
			for _, kv := range d.kvs {
				if kv.in == nil && kv.keyAt >= h.lineEnd && samePath(kv.tablePath, h.path) && d.bodyOf(kv.keyAt, h) {
					at = d.eol(d.skipSpace(kv.valEnd, false))
				}
			}
		}
	}
	// Indentation: the reference table's, a step ("  ") per level.
	indent, step := "", ""
	if ref >= 0 {
		h := d.tables[ref]
		indent = string(d.b[h.lineStart : bytes.IndexByte(d.b[h.lineStart:], '[')+h.lineStart])
		if indent != "" || d.bodyIndent(h) != "" {
			step = "  "
		}
		for n := len(h.path); n < len(path); n++ {
			indent += step
		}
		for n := len(path); n < len(h.path) && step != ""; n++ {
			indent = strings.TrimPrefix(indent, step)
		}
	}
	var b strings.Builder
	b.WriteString(indent + "[" + dotted(path) + "]" + nl)
	for _, p := range pairs {
		b.WriteString(indent + step + tomlKey(p.Key) + " = " + p.Value + nl)
	}
	for _, s := range subs {
		b.WriteString(nl + indent + step + "[" + dotted(append(append([]string(nil), path...), s.Name)) + "]" + nl)
		for _, p := range s.Pairs {
			b.WriteString(indent + step + step + tomlKey(p.Key) + " = " + p.Value + nl)
		}
	}
	text := b.String()
	switch {
	case before:
		text += nl
	case at == 0:
	case d.b[at-1] != '\n':
		text = nl + nl + text
	default:
		text = nl + text
	}
	e := tomlEdit{Path: append(append([]string(nil), path...), pairs[0].Key), Now: pairs[0].Value, Inserted: text}
	for _, p := range pairs {
		e.Keys = append(e.Keys, append(append([]string(nil), path...), p.Key))
	}
	for _, s := range subs {
		for _, p := range s.Pairs {
			e.Keys = append(e.Keys, append(append([]string(nil), path...), s.Name, p.Key))
		}
	}
	return splice(d.b, at, at, text), e
}

// headerSafe reports why tables at paths cannot be added as [headers]
// ("" when they can): a table on the way to one of them is an inline table,
// or is made by dotted keys, which a header may not extend.
func (d *tomlDoc) headerSafe(paths ...[]string) string {
	on := func(t []string) bool {
		for _, p := range paths {
			if hasPrefixPath(p, t) {
				return true
			}
		}
		return false
	}
	for _, in := range d.inlines {
		if on(in.path) {
			return fmt.Sprintf("%s is an inline table", dotted(in.path))
		}
	}
	for _, kv := range d.kvs {
		for n := len(kv.tablePath) + 1; n < len(kv.path); n++ {
			if kv.in == nil && on(kv.path[:n]) {
				return fmt.Sprintf("%s is made by the dotted key %s", dotted(kv.path[:n]), dotted(kv.path[len(kv.tablePath):]))
			}
		}
	}
	return ""
}
