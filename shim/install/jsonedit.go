package install

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// jsonDoc edits a JSON document in place, the way shim/spec edits a
// config.json: members are found as byte ranges by rawjson's scanner and
// an edit splices new bytes over one range, so every byte it does not
// change — the user's key order, indentation, line endings, escapes and
// numbers — stays as written. A new member goes last in its object, laid
// out like its siblings, so removing it again gives back the same bytes.
type jsonDoc struct {
	b     []byte
	fresh bool // made from nothing: laid out with two-space indents
}

// span is one member of an object: offsets into the document.
type span struct {
	name                []byte // quoted, as written
	nameAt, val, valEnd int
}

// obj is an object of the document: its braces and members.
type obj struct {
	open, close int // offsets of '{' and '}'
	members     []span
}

// parseJSONDoc validates data as a JSON object (empty or blank input is
// the empty object).
func parseJSONDoc(data []byte) (*jsonDoc, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return &jsonDoc{}, nil
	}
	if err := rawjson.CheckObject(data, func(_, _ []byte) {}); err != nil {
		return nil, err
	}
	return &jsonDoc{b: data}, nil
}

// object scans the object whose '{' is at d.b[at].
func (d *jsonDoc) object(at int) (obj, error) {
	end, err := rawjson.SkipValue(d.b, at)
	if err != nil {
		return obj{}, err
	}
	// A value's slice keeps d.b's capacity, so its offset is a capacity
	// difference (as rawjson.MemberAt finds it).
	whole := d.b[:end]
	o := obj{open: at, close: end - 1}
	err = rawjson.EachMember(whole[at:], func(name, val []byte) {
		nameAt := cap(d.b) - cap(name)
		valAt := cap(d.b) - cap(val)
		o.members = append(o.members, span{name: name, nameAt: nameAt, val: valAt, valEnd: valAt + len(val)})
	})
	return o, err
}

// find returns the index of the last member of o named key, matched
// exactly after unescaping (dockerd accepts only its directives' exact
// names), -1 when there is none.
func (d *jsonDoc) find(o obj, key string) int {
	for i := len(o.members) - 1; i >= 0; i-- {
		if rawjson.KeyIs(o.members[i].name, key) {
			return i
		}
	}
	return -1
}

// lookup follows path (object member names) and returns the objects on the way
// and the member found in the last one (-1: absent). An intermediate
// value that is not an object is an error.
func (d *jsonDoc) lookup(path []string) (objs []obj, idx int, err error) {
	if d.b == nil {
		return nil, -1, nil
	}
	at := rawjson.SkipSpace(d.b, 0)
	for depth, key := range path {
		o, err := d.object(at)
		if err != nil {
			return nil, -1, err
		}
		objs = append(objs, o)
		i := d.find(o, key)
		if i < 0 || depth == len(path)-1 {
			return objs, i, nil
		}
		at = o.members[i].val
		if d.b[at] != '{' {
			return nil, -1, fmt.Errorf("%q is %s, not an object", key, rawjson.Kind(d.b[at:]))
		}
	}
	return objs, -1, nil
}

// get returns the raw value at path (nil when absent).
func (d *jsonDoc) get(path ...string) ([]byte, error) {
	objs, i, err := d.lookup(path)
	if err != nil || i < 0 {
		return nil, err
	}
	m := objs[len(objs)-1].members[i]
	return d.b[m.val:m.valEnd], nil
}

// splice replaces d.b[from:to] with s.
func (d *jsonDoc) splice(from, to int, s []byte) {
	out := make([]byte, 0, len(d.b)-(to-from)+len(s))
	out = append(append(append(out, d.b[:from]...), s...), d.b[to:]...)
	d.b = out
}

// set gives the member at path the raw value val, creating the objects
// on the way that are missing.
func (d *jsonDoc) set(val []byte, path ...string) error {
	if d.b == nil {
		d.b = []byte("{}\n")
		d.fresh = true
	}
	objs, i, err := d.lookup(path)
	if err != nil {
		return err
	}
	if i >= 0 && len(objs) == len(path) {
		m := objs[len(objs)-1].members[i]
		d.splice(m.val, m.valEnd, val)
		return nil
	}
	// objs[len(objs)-1] lacks path[len(objs)-1]: add it, holding the rest
	// of the path as nested objects.
	o := objs[len(objs)-1]
	rest := path[len(objs)-1:]
	st := d.style(o)
	v := val
	for k := len(rest) - 1; k >= 1; k-- {
		v = st.object(rest[k], v, k)
	}
	d.insert(o, st, rest[0], v)
	return nil
}

// remove deletes the member at path, if present.
func (d *jsonDoc) remove(path ...string) error {
	objs, i, err := d.lookup(path)
	if err != nil || i < 0 || len(objs) < len(path) {
		return err
	}
	o := objs[len(objs)-1]
	switch m := o.members; {
	case len(m) == 1:
		// What follows the value stays when on the same line ({ "a": 1 }
		// gives { }); a line break before the '}' goes with it ({}).
		end := m[0].valEnd
		if tail := d.b[end:o.close]; bytes.ContainsAny(tail, "\n") {
			end = o.close
		}
		d.splice(o.open+1, end, nil)
	case i == len(m)-1:
		d.splice(m[i-1].valEnd, m[i].valEnd, nil) // `,<space>"name": value`
	default:
		d.splice(m[i].nameAt, m[i+1].nameAt, nil) // `"name": value,<space>`
	}
	return nil
}

// empty reports whether the document is the empty object.
func (d *jsonDoc) empty() bool {
	if d.b == nil {
		return true
	}
	o, err := d.object(rawjson.SkipSpace(d.b, 0))
	return err == nil && len(o.members) == 0
}

// layout is how an object's members are written: what goes between one
// member and the next (",\n    "'s whitespace), between a name and its
// value, and one level of indentation ("" on one line).
type layout struct {
	sep, colon, unit, nl string
	indent               string // of the object's members
	multiline            bool
}

// style finds the layout of object o from its own members, else from the
// document around it.
func (d *jsonDoc) style(o obj) layout {
	l := layout{colon: ": ", unit: "  ", nl: "\n", multiline: true}
	if d.fresh {
		l.sep, l.indent = "\n"+l.unit, l.unit
		return l
	}
	// The document's first member says how it is laid out.
	if top, err := d.object(rawjson.SkipSpace(d.b, 0)); err == nil && len(top.members) > 0 {
		m := top.members[0]
		ws := string(d.b[top.open+1 : m.nameAt])
		l.colon = string(d.b[m.nameAt+len(m.name) : m.val])
		l.multiline = bytes.ContainsAny([]byte(ws), "\n")
		if l.multiline {
			l.unit = ws[bytes.LastIndexByte([]byte(ws), '\n')+1:]
			if bytes.Contains([]byte(ws), []byte("\r\n")) {
				l.nl = "\r\n"
			}
		}
	}
	if !l.multiline {
		l.unit, l.nl = "", ""
	}
	switch n := len(o.members); {
	case n >= 2:
		prev, last := o.members[n-2], o.members[n-1]
		comma := bytes.IndexByte(d.b[prev.valEnd:last.nameAt], ',')
		l.sep = string(d.b[prev.valEnd+comma+1 : last.nameAt])
		l.colon = string(d.b[last.nameAt+len(last.name) : last.val])
	case n == 1:
		m := o.members[0]
		l.sep = string(d.b[o.open+1 : m.nameAt])
		l.colon = string(d.b[m.nameAt+len(m.name) : m.val])
		if l.sep == "" && bytes.HasSuffix([]byte(l.colon), []byte(" ")) {
			l.sep = " " // {"a": 1} -> {"a": 1, "b": 2}
		}
	default:
		// An empty object: laid out as the document, unless it has spaces
		// on one line ({ }), which stay around the new member.
		inner := string(d.b[o.open+1 : o.close])
		if l.multiline && (inner == "" || strings.Contains(inner, "\n")) {
			l.sep = l.nl + d.lineIndent(o.open) + l.unit
		} else {
			l.sep = inner
		}
	}
	if nl := bytes.LastIndexByte([]byte(l.sep), '\n'); nl >= 0 {
		l.indent = l.sep[nl+1:]
		l.multiline = true
	} else {
		l.multiline = false
	}
	return l
}

// lineIndent is the leading whitespace of the line holding d.b[at].
func (d *jsonDoc) lineIndent(at int) string {
	start := bytes.LastIndexByte(d.b[:at], '\n') + 1
	end := start
	for end < at && (d.b[end] == ' ' || d.b[end] == '\t') {
		end++
	}
	return string(d.b[start:end])
}

// object renders {"name": val}, the value of a member depth-1 levels
// below l's members (depth 1: the value of one of them).
func (l layout) object(name string, val []byte, depth int) []byte {
	q := rawjson.AppendString(nil, name)
	if !l.multiline {
		return append(append(append(append([]byte{'{'}, q...), l.colon...), val...), '}')
	}
	outer := l.indent
	for i := 1; i < depth; i++ {
		outer += l.unit
	}
	var b []byte
	b = append(b, '{')
	b = append(b, l.nl+outer+l.unit...)
	b = append(append(append(b, q...), l.colon...), val...)
	b = append(b, l.nl+outer...)
	return append(b, '}')
}

// insert adds "name": val as the last member of o.
func (d *jsonDoc) insert(o obj, l layout, name string, val []byte) {
	m := append(append(rawjson.AppendString(nil, name), l.colon...), val...)
	if n := len(o.members); n > 0 {
		d.splice(o.members[n-1].valEnd, o.members[n-1].valEnd, append([]byte(","+l.sep), m...))
		return
	}
	closing := l.nl + d.lineIndent(o.open)
	if !l.multiline {
		closing = l.sep // { } -> { "a": 1 }
	}
	d.splice(o.open+1, o.close, append(append([]byte(l.sep), m...), closing...))
}
