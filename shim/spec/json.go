package spec

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The JSON reading of package spec: jsontext tokenizes, validates and
// unescapes; this file walks objects and hands out each member's value as
// a slice of the input, which is what the splice-based edit needs.

// TypeError is a value of another JSON type than the one a field has.
type TypeError struct {
	Want string // "a string", "an array", "an object"
	Got  string // "a number", "an object", ...
}

func (e *TypeError) Error() string { return "expected " + e.Want + ", found " + e.Got }

// kindName names the JSON type of a value whose first byte is k.
func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '0':
		return "a number"
	}
	return "nothing"
}

// kindOf is the kind of the raw value raw.
func kindOf(raw []byte) jsontext.Kind { return jsontext.Value(raw).Kind() }

// newDecoder reads data in place, with encoding/json's (and so runc's)
// rules: a repeated member name and invalid UTF-8 inside a string are
// accepted, the latter decoded as U+FFFD.
func newDecoder(data []byte) *jsontext.Decoder {
	return jsontext.NewDecoder(bytes.NewBuffer(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// walker visits the members of one object: fn gets each member's name
// (quoted as written, and decoded) and raw value (a slice of the input,
// validated); with inner set, a member of that name (as runc matches
// names) whose value is an object is walked in the same pass, innerFn
// getting its members first.
type walker struct {
	data    []byte
	fn      func(quoted []byte, name string, val []byte)
	inner   string
	innerFn func(quoted []byte, name string, val []byte)
}

// eachMember calls fn with the name and the raw value of every member of
// the JSON object data, in order, validating all of data.
func eachMember(data []byte, fn func(name string, val []byte)) error {
	return walker{data: data, fn: func(_ []byte, name string, val []byte) { fn(name, val) }}.walk()
}

func (w walker) walk() error {
	d := newDecoder(w.data)
	if _, err := w.object(d, w.fn, true); err != nil {
		return err
	}
	return atEnd(d)
}

// atEnd checks that nothing but whitespace follows the value d has read.
func atEnd(d *jsontext.Decoder) error {
	if _, err := d.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the value")
		}
		return err
	}
	return nil
}

// object reads the object at d's position, calling fn per member (and
// walking the inner member when descend is set), and returns the offset
// of its '{'.
func (w walker) object(d *jsontext.Decoder, fn func(quoted []byte, name string, val []byte), descend bool) (int, error) {
	tok, err := d.ReadToken()
	if err != nil {
		return 0, err
	}
	if tok.Kind() != '{' {
		return 0, &TypeError{Want: "an object", Got: kindName(tok.Kind())}
	}
	start := int(d.InputOffset()) - 1
	for d.PeekKind() != '}' {
		quoted, err := w.value(d)
		if err != nil {
			return 0, err
		}
		name, _ := decodeString(quoted)
		var val []byte
		if descend && w.innerFn != nil && d.PeekKind() == '{' && strings.EqualFold(name, w.inner) {
			at, err := w.object(d, w.innerFn, false)
			if err != nil {
				return 0, err
			}
			val = w.data[at:d.InputOffset()]
		} else if val, err = w.value(d); err != nil {
			return 0, err
		}
		fn(quoted, name, val)
	}
	_, err = d.ReadToken()
	return start, err
}

// value reads the next value (or member name) as a slice of the input.
func (w walker) value(d *jsontext.Decoder) ([]byte, error) {
	raw, err := d.ReadValue()
	if err != nil {
		return nil, err
	}
	end := int(d.InputOffset())
	return w.data[end-len(raw) : end], nil
}

// eachElement calls fn with the raw value of every element of the JSON
// array arr, in order; it stops at fn's first error.
func eachElement(arr []byte, fn func(el []byte) error) error {
	d := newDecoder(arr)
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '[' {
		return &TypeError{Want: "an array", Got: kindName(tok.Kind())}
	}
	w := walker{data: arr}
	for d.PeekKind() != ']' {
		el, err := w.value(d)
		if err != nil {
			return err
		}
		if err := fn(el); err != nil {
			return err
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	return atEnd(d)
}

// valueAt returns the raw value of key in the object obj and its offset
// in obj (nil when absent; the last of a repeated name). obj is a struct
// to runc (key matched in any case) or, with entry set, a map (key
// matched exactly).
func valueAt(obj []byte, key string, entry bool) (raw []byte, at int, err error) {
	err = eachMember(obj, func(name string, val []byte) {
		if name == key || !entry && strings.EqualFold(name, key) {
			raw = val
		}
	})
	if err != nil || raw == nil {
		return nil, 0, err
	}
	// raw is a slice of obj: its offset is the difference of capacities.
	return raw, cap(obj) - cap(raw), nil
}

// memberValue returns the raw value of the last member of the object obj that
// runc takes for key (its name in any case), nil when there is none.
func memberValue(obj []byte, key string) ([]byte, error) {
	raw, _, err := valueAt(obj, key, false)
	return raw, err
}

// isNull reports whether a raw value is absent or null.
func isNull(raw []byte) bool { return len(raw) == 0 || raw[0] == 'n' }

// decodeString decodes a raw value as encoding/json decodes it into a Go
// string: null is "", invalid UTF-8 and lone surrogates become U+FFFD.
func decodeString(raw []byte) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if raw[0] != '"' {
		return "", &TypeError{Want: "a string", Got: kindName(kindOf(raw))}
	}
	// raw was validated as it was read: the only error left is the
	// invalid UTF-8 that AppendUnquote has already replaced.
	s, _ := jsontext.AppendUnquote(nil, raw)
	return string(s), nil
}

// decodeStrings decodes a raw array of strings (null elements are "").
func decodeStrings(raw []byte) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	d := newDecoder(raw)
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	if tok.Kind() != '[' {
		return nil, &TypeError{Want: "an array", Got: kindName(tok.Kind())}
	}
	out := []string{}
	for d.PeekKind() != ']' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		switch tok.Kind() {
		case '"':
			out = append(out, tok.String())
		case 'n':
			out = append(out, "")
		default:
			return nil, &TypeError{Want: "a string", Got: kindName(tok.Kind())}
		}
	}
	return out, nil
}

// decodeStringMap decodes a raw object of strings (annotations): keys are
// exact, the last of a repeated key wins, a null value is "".
func decodeStringMap(raw []byte) (map[string]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	out := map[string]string{}
	var err error
	if werr := eachMember(raw, func(name string, val []byte) {
		if err == nil {
			out[name], err = decodeString(val)
		}
	}); werr != nil {
		return nil, werr
	}
	return out, err
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	// Invalid UTF-8 is written as U+FFFD, as encoding/json writes it.
	dst, _ = jsontext.AppendQuote(dst, s)
	return dst
}
