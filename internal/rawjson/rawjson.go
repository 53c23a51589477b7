// Package rawjson reads and writes JSON as raw bytes, without reflection:
// a validator with encoding/json's rules, a structural scanner that finds
// an object's members as slices of the input, and codecs for strings and
// arrays of strings.
//
// The model: a document is never decoded whole; the few members a caller
// needs are found and decoded, everything else is stepped over. Results
// are encoding/json's: the same documents are valid, the same strings
// decode to the same Go strings (escapes, surrogate pairs, invalid UTF-8
// as U+FFFD), a member name matches a key as encoding/json matches it to a
// struct field (in any case; NameIs) or to a map key (exactly; KeyIs), and
// AppendString writes what encoding/json's encoder writes with HTML
// escaping off; the package's fuzz tests compare the two.
//
// Its users are armhf-shim's configuration file (internal/config), the
// docker CLI wrapper (dockercli), runc's state.json (shim/runcstate) and
// runc-style log lines (shim/runclog). The OCI config.json and the
// hook's state are read with jsontext instead (shim/spec, shim).
package rawjson

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrSyntax is the error of the structural scanner, which checks only the
// structure it walks (use Check for a whole document).
var ErrSyntax = errors.New("not valid JSON")

func syntaxErr(what string, at int) error {
	return &scanError{what: what, at: at}
}

type scanError struct {
	what string
	at   int
}

func (e *scanError) Error() string {
	return ErrSyntax.Error() + ": " + e.what + " at byte " + strconv.Itoa(e.at)
}

func (e *scanError) Unwrap() error { return ErrSyntax }

// SkipSpace returns the index of the first non-space byte at or after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		// Runs of plain bytes are most of a string.
		for j < len(b) && !inString[b[j]] {
			j++
		}
		if j >= len(b) {
			break
		}
		if b[j] == '"' {
			return j + 1, nil
		}
		j++ // a backslash: step over the escaped byte
	}
	return 0, syntaxErr("unterminated string", i)
}

// inString marks the bytes that end a run of plain string bytes; inValue
// the bytes that matter to the structure of a container. (Literals: the
// tables are data in the binary, not built at start-up.)
var (
	inString = [256]bool{'"': true, '\\': true}
	inValue  = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}
)

// SkipValue returns the index after the value starting at b[i]. It checks
// the structure (brackets, strings), not the tokens inside.
func SkipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, syntaxErr("missing value", i)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			for j < len(b) && !inValue[b[j]] {
				j++
			}
			if j >= len(b) {
				break
			}
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, syntaxErr("unterminated "+string(b[i]), i)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, syntaxErr("missing value", i)
	}
	return j, nil
}

// EachMember calls fn with the quoted name and the raw value of every
// member of the JSON object obj, in order, in one structural pass.
func EachMember(obj []byte, fn func(name, val []byte)) error {
	end, err := eachMember(obj, SkipSpace(obj, 0), fn)
	if err == nil && SkipSpace(obj, end) != len(obj) {
		err = syntaxErr("data after the object", end)
	}
	return err
}

// eachMember walks the object starting at obj[i] and returns the index
// after it.
func eachMember(obj []byte, i int, fn func(name, val []byte)) (int, error) {
	if i >= len(obj) || obj[i] != '{' {
		return 0, syntaxErr("expected an object", i)
	}
	i = SkipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return i + 1, nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return 0, syntaxErr("expected a member name", i)
		}
		kEnd, err := skipString(obj, i)
		if err != nil {
			return 0, err
		}
		name := obj[i:kEnd]
		i = SkipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return 0, syntaxErr("expected ':'", i)
		}
		vStart := SkipSpace(obj, i+1)
		vEnd, err := SkipValue(obj, vStart)
		if err != nil {
			return 0, err
		}
		fn(name, obj[vStart:vEnd])
		var done bool
		if i, done, err = afterValue(obj, vEnd, '}'); err != nil || done {
			return i, err
		}
	}
	return 0, syntaxErr("unexpected end", len(obj))
}

// afterValue steps over what follows a member or an element ending at
// b[i]: a comma (next: where the next one starts) or the closing bracket
// (done; next: the index after it).
func afterValue(b []byte, i int, closing byte) (next int, done bool, err error) {
	i = SkipSpace(b, i)
	switch {
	case i >= len(b):
		return 0, false, syntaxErr("unexpected end", len(b))
	case b[i] == ',':
		return SkipSpace(b, i+1), false, nil
	case b[i] == closing:
		return i + 1, true, nil
	}
	return 0, false, syntaxErr("expected ',' or '"+string(closing)+"'", i)
}

// eachElement calls fn with the raw value of every element of the JSON
// array arr, in order, in one structural pass; it stops at fn's first
// error.
func eachElement(arr []byte, fn func(el []byte) error) error {
	i := SkipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return syntaxErr("expected an array", i)
	}
	i = SkipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		if SkipSpace(arr, i+1) != len(arr) {
			return syntaxErr("data after the array", i+1)
		}
		return nil
	}
	for i < len(arr) {
		end, err := SkipValue(arr, i)
		if err != nil {
			return err
		}
		if err := fn(arr[i:end]); err != nil {
			return err
		}
		var done bool
		if i, done, err = afterValue(arr, end, ']'); err != nil {
			return err
		}
		if done {
			if SkipSpace(arr, i) != len(arr) {
				return syntaxErr("data after the array", i)
			}
			return nil
		}
	}
	return syntaxErr("unexpected end", len(arr))
}

// CheckMembers scans the JSON object data once and sets out[k] to the raw
// value of keys[k] (nil when absent; the last one wins for a repeated
// name, as in encoding/json), names matched as NameIs matches them. It
// validates data as Check does, in the same pass (CheckObject). A valid
// document that is not an object gives ErrNotObject.
func CheckMembers(data []byte, keys []string, out [][]byte) error {
	return CheckObject(data, pick(keys, out))
}

// pick is the member callback that sets out[k] to the value of keys[k].
func pick(keys []string, out [][]byte) func(name, val []byte) {
	return func(name, val []byte) {
		for k, key := range keys {
			if NameIs(name, key) {
				out[k] = val
			}
		}
	}
}

// Member returns the raw value of key in the JSON object obj (nil when
// absent), key matched as NameIs matches it.
func Member(obj []byte, key string) ([]byte, error) {
	raw, _, err := valueAt(obj, key, NameIs)
	return raw, err
}

// EntryAt returns the raw value of key in an object decoded as a map, and
// its offset in obj: key is matched as encoding/json keys a map, exactly
// (KeyIs), the last of a repeated key winning.
func EntryAt(obj []byte, key string) (raw []byte, at int, err error) {
	return valueAt(obj, key, KeyIs)
}

func valueAt(obj []byte, key string, is func(quoted []byte, key string) bool) (raw []byte, at int, err error) {
	err = EachMember(obj, func(name, val []byte) {
		if is(name, key) {
			raw = val
		}
	})
	if err != nil || raw == nil {
		return nil, 0, err
	}
	// raw is a subslice of obj: its offset is the capacity difference.
	return raw, cap(obj) - cap(raw), nil
}

// Name returns the member name of a quoted JSON string as the scanner
// found it (decoded; "" if it does not decode).
func Name(quoted []byte) string {
	if bytes.IndexByte(quoted, '\\') < 0 && len(quoted) >= 2 {
		return string(quoted[1 : len(quoted)-1])
	}
	s, _ := String(quoted)
	return s
}

// NameIs reports whether a quoted JSON member name names key the way
// encoding/json matches a member to a struct field's name — and so the
// way runc reads config.json and its state: exactly, or differing only in
// case under Unicode simple folding ("Process", "proceſs"), after
// unescaping.
func NameIs(quoted []byte, key string) bool {
	if len(quoted) < 2 {
		return false
	}
	name := quoted[1 : len(quoted)-1]
	if len(name) > 0 && len(key) > 0 && name[0] < utf8.RuneSelf && name[0] != '\\' && key[0] < utf8.RuneSelf && name[0]|0x20 != key[0]|0x20 {
		return false // two ASCII first letters that no case folds together
	}
	if bytes.IndexByte(name, '\\') >= 0 {
		return strings.EqualFold(Name(quoted), key)
	}
	if len(name) == len(key) {
		// Plain ASCII folds byte by byte; anything else goes to
		// strings.EqualFold.
		for i := 0; i < len(name); i++ {
			a, b := name[i], key[i]
			if a == b {
				continue
			}
			if a|b >= utf8.RuneSelf {
				return strings.EqualFold(string(name), key)
			}
			if a|0x20 != b|0x20 || a|0x20 < 'a' || a|0x20 > 'z' {
				return false
			}
		}
		return true
	}
	// Different lengths match only through a multi-byte fold (the Kelvin
	// sign for k, the long s for s).
	return !isASCII(name) && utf8.Valid(name) && strings.EqualFold(string(name), key)
}

// KeyIs reports whether a quoted JSON member name is key exactly, after
// unescaping: how encoding/json keys a map (annotations), where case
// matters.
func KeyIs(quoted []byte, key string) bool {
	if bytes.IndexByte(quoted, '\\') >= 0 {
		return Name(quoted) == key
	}
	return len(quoted) >= 2 && string(quoted[1:len(quoted)-1]) == key
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// IsNull reports whether raw is absent (empty) or the literal null.
func IsNull(raw []byte) bool {
	t := trim(raw)
	return len(t) == 0 || string(t) == "null"
}
