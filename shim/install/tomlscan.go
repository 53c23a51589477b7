package install

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// tomlDoc edits a TOML document in place, as jsonDoc edits JSON: a small
// scanner finds each key-value's key path and the byte range of its value,
// each table header and each inline table, and an edit splices new bytes
// over one range or inserts a line, so every byte it does not change —
// comments, order, indentation, quoting — stays as written. go-toml
// validates the document first (the scanner relies on its being valid TOML)
// and, after an edit, decodes both versions to check that nothing but the
// keys set changed (tomlSame), which guards against a scanner mistake.
//
// Keys are matched without regard to case, as go-toml matches them to a Go
// struct's fields when buildkitd loads its config.
type tomlDoc struct {
	b       []byte
	kvs     []tomlKV
	tables  []tomlTable
	inlines []*tomlInline
}

// tomlKV is one key-value: its whole key path (table and dotted key), where
// its line and key start, and its value's range.
type tomlKV struct {
	path             []string
	lineStart, keyAt int
	val, valEnd      int
	// tablePath is the path of the table whose body or inline table holds
	// it; in is the inline table (nil: a table body).
	tablePath []string
	in        *tomlInline
	indent    string
}

// tomlTable is a [table] or [[array]] header.
type tomlTable struct {
	path      []string
	array     bool
	lineStart int
	lineEnd   int // after the header line's newline
}

// tomlInline is an inline table { ... }: its path and braces.
type tomlInline struct {
	path        []string
	open, close int
	n           int // key-values in it
}

// parseTOMLDoc validates data as TOML and scans its structure.
func parseTOMLDoc(data []byte) (*tomlDoc, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	d := &tomlDoc{b: data}
	if err := d.scan(); err != nil {
		return nil, err
	}
	return d, nil
}

type tomlScanError struct {
	at  int
	msg string
}

func (e *tomlScanError) Error() string { return fmt.Sprintf("offset %d: %s", e.at, e.msg) }

func (d *tomlDoc) fail(at int, msg string) { panic(&tomlScanError{at, msg}) }

func (d *tomlDoc) scan() (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*tomlScanError)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	var table []string
	i := 0
	for {
		i = d.skipSpace(i, true)
		if i >= len(d.b) {
			return nil
		}
		line := lineStart(d.b, i)
		if d.b[i] == '[' {
			t := tomlTable{lineStart: line, array: i+1 < len(d.b) && d.b[i+1] == '['}
			j := i + 1
			if t.array {
				j++
			}
			t.path, j = d.key(j)
			j = d.skipSpace(j, false)
			close := "]"
			if t.array {
				close = "]]"
			}
			if !bytes.HasPrefix(d.b[j:], []byte(close)) {
				d.fail(j, "table header not closed")
			}
			j = d.skipSpace(j+len(close), false)
			t.lineEnd = d.eol(j)
			d.tables = append(d.tables, t)
			table = t.path
			i = t.lineEnd
			continue
		}
		kv := d.keyValue(i, table, nil)
		i = d.eol(d.skipSpace(kv.valEnd, false))
	}
}

// skipSpace skips blanks and, with newlines, line ends and comments.
func (d *tomlDoc) skipSpace(i int, newlines bool) int {
	for i < len(d.b) {
		switch d.b[i] {
		case ' ', '\t':
			i++
		case '\r', '\n':
			if !newlines {
				return i
			}
			i++
		case '#':
			if !newlines {
				return i
			}
			for i < len(d.b) && d.b[i] != '\n' {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// eol is after the line end (and comment) at i.
func (d *tomlDoc) eol(i int) int {
	if i < len(d.b) && d.b[i] == '#' {
		for i < len(d.b) && d.b[i] != '\n' {
			i++
		}
	}
	if i < len(d.b) && d.b[i] == '\r' {
		i++
	}
	if i < len(d.b) {
		if d.b[i] != '\n' {
			d.fail(i, "expected the end of the line")
		}
		i++
	}
	return i
}

func lineStart(b []byte, i int) int {
	return bytes.LastIndexByte(b[:i], '\n') + 1
}

// key scans a (dotted) key at i.
func (d *tomlDoc) key(i int) ([]string, int) {
	var path []string
	for {
		i = d.skipSpace(i, false)
		if i >= len(d.b) {
			d.fail(i, "key expected")
		}
		var part string
		switch d.b[i] {
		case '"':
			end := d.basicString(i)
			s, err := strconv.Unquote(string(d.b[i:end]))
			if err != nil {
				s = string(d.b[i+1 : end-1]) // an escape Go lacks: compare as written
			}
			part, i = s, end
		case '\'':
			end := bytes.IndexByte(d.b[i+1:], '\'')
			if end < 0 {
				d.fail(i, "unterminated key")
			}
			part, i = string(d.b[i+1:i+1+end]), i+2+end
		default:
			j := i
			for j < len(d.b) && isBareKeyChar(d.b[j]) {
				j++
			}
			if j == i {
				d.fail(i, "key expected")
			}
			part, i = string(d.b[i:j]), j
		}
		path = append(path, part)
		i = d.skipSpace(i, false)
		if i < len(d.b) && d.b[i] == '.' {
			i++
			continue
		}
		return path, i
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// keyValue scans the key-value at i, in table (and inline table in).
func (d *tomlDoc) keyValue(i int, table []string, in *tomlInline) tomlKV {
	kv := tomlKV{keyAt: i, lineStart: lineStart(d.b, i), tablePath: table, in: in}
	kv.indent = string(d.b[kv.lineStart:i])
	if strings.Trim(kv.indent, " \t") != "" {
		kv.indent = ""
	}
	rel, j := d.key(i)
	kv.path = append(append([]string(nil), table...), rel...)
	if j >= len(d.b) || d.b[j] != '=' {
		d.fail(j, "= expected")
	}
	kv.val = d.skipSpace(j+1, false)
	kv.valEnd = d.value(kv.val, kv.path)
	d.kvs = append(d.kvs, kv)
	return kv
}

// value scans the value at i (of key path) and returns its end.
func (d *tomlDoc) value(i int, path []string) int {
	if i >= len(d.b) {
		d.fail(i, "value expected")
	}
	switch c := d.b[i]; {
	case bytes.HasPrefix(d.b[i:], []byte(`"""`)), bytes.HasPrefix(d.b[i:], []byte(`'''`)):
		q := d.b[i : i+3]
		j := i + 3
		for {
			if j >= len(d.b) {
				d.fail(i, "unterminated string")
			}
			if q[0] == '"' && d.b[j] == '\\' {
				j += 2
				continue
			}
			if bytes.HasPrefix(d.b[j:], q) {
				j += 3
				for n := 0; n < 2 && j < len(d.b) && d.b[j] == q[0]; n++ {
					j++
				}
				return j
			}
			j++
		}
	case c == '"':
		return d.basicString(i)
	case c == '\'':
		end := bytes.IndexByte(d.b[i+1:], '\'')
		if end < 0 {
			d.fail(i, "unterminated string")
		}
		return i + 2 + end
	case c == '[':
		j := i + 1
		for {
			j = d.skipSpace(j, true)
			if j < len(d.b) && d.b[j] == ']' {
				return j + 1
			}
			j = d.skipSpace(d.value(j, path), true)
			if j < len(d.b) && d.b[j] == ',' {
				j++
			}
		}
	case c == '{':
		in := &tomlInline{path: path, open: i}
		d.inlines = append(d.inlines, in)
		j := i + 1
		for {
			j = d.skipSpace(j, true)
			if j >= len(d.b) {
				d.fail(i, "unterminated inline table")
			}
			if d.b[j] == '}' {
				in.close = j
				return j + 1
			}
			if d.b[j] == ',' {
				j++
				continue
			}
			kv := d.keyValue(j, path, in)
			in.n++
			j = kv.valEnd
		}
	default:
		j := i
		for j < len(d.b) && !bytes.ContainsRune([]byte(" \t\r\n#,]}"), rune(d.b[j])) {
			j++
		}
		// A date and time may be separated by a space: 1979-05-27 07:32:00.
		if j-i == 10 && j+3 < len(d.b) && d.b[j] == ' ' && d.b[i+4] == '-' && isDigit(d.b[j+1]) && isDigit(d.b[j+2]) && d.b[j+3] == ':' {
			j++
			for j < len(d.b) && !bytes.ContainsRune([]byte(" \t\r\n#,]}"), rune(d.b[j])) {
				j++
			}
		}
		if j == i {
			d.fail(i, "value expected")
		}
		return j
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (d *tomlDoc) basicString(i int) int {
	for j := i + 1; j < len(d.b); j++ {
		switch d.b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		case '\n':
			d.fail(i, "unterminated string")
		}
	}
	d.fail(i, "unterminated string")
	return 0
}

// samePath compares key paths as containerd and buildkitd decode them
// (see sameKey).
func samePath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		parent := ""
		if i > 0 {
			parent = a[i-1]
		}
		if !sameKey(parent, a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameKey compares the keys a and b of the table named parent: go-toml
// matches struct fields without case, but map keys exactly — in
// containerd's config the plugin IDs under plugins and the runtime names
// under runtimes, where "ARMHF" is another handler than "armhf".
func sameKey(parent, a, b string) bool {
	if strings.EqualFold(parent, "plugins") || strings.EqualFold(parent, "runtimes") {
		return a == b
	}
	return strings.EqualFold(a, b)
}

func hasPrefixPath(p, prefix []string) bool {
	return len(p) >= len(prefix) && samePath(p[:len(prefix)], prefix)
}
