package spec

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// The string and array codecs below keep encoding/json's reflection out of
// the runtime wrapper's path. That path runs in a fresh process on every
// container start, where the first reflective decode or encode costs far
// more than its steady-state benchmark suggests: cold code, the type-field
// cache, stack growth. Strings are decoded here when they hold no escape
// (every real config.json string but the odd one); anything else — an
// escape, a control character, invalid UTF-8, a value that is not a string
// — goes to encoding/json, which decodes it or gives its usual error. So
// the results are encoding/json's, only cheaper; FuzzScanView checks it.

// decodeString decodes the raw JSON value raw as a string.
func decodeString(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		plain, ascii := true, true
		for _, c := range inner {
			if c < 0x20 || c == '\\' || c == '"' {
				plain = false
				break
			}
			if c >= utf8.RuneSelf {
				ascii = false
			}
		}
		if plain && (ascii || utf8.Valid(inner)) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// decodeStrings decodes raw as an array of strings (null: nil).
func decodeStrings(raw []byte) ([]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	out := []string{}
	err := eachElement(raw, func(el []byte) error {
		s, err := decodeString(el)
		out = append(out, s)
		return err
	})
	if err != nil {
		var slow []string
		err = json.Unmarshal(raw, &slow)
		return slow, err
	}
	return out, nil
}

// decodeStringMap decodes raw as an object of strings (null: nil).
func decodeStringMap(raw []byte) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	out := map[string]string{}
	var verr error
	err := eachMember(raw, func(name, val []byte) {
		s, err := decodeString(val)
		if err != nil && verr == nil {
			verr = err
		}
		out[unquote(name)] = s
	})
	if err == nil {
		err = verr
	}
	if err != nil {
		var slow map[string]string
		err = json.Unmarshal(raw, &slow)
		return slow, err
	}
	return out, nil
}

// eachElement calls fn with the raw value of every element of the JSON
// array arr, in order, in one structural pass; it stops at fn's first
// error.
func eachElement(arr []byte, fn func(el []byte) error) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return fmt.Errorf("%w: expected an array", errSyntax)
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		if skipSpace(arr, i+1) != len(arr) {
			return fmt.Errorf("%w: data after the array", errSyntax)
		}
		return nil
	}
	for i < len(arr) {
		end, err := skipValue(arr, i)
		if err != nil {
			return err
		}
		if err := fn(arr[i:end]); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		if i >= len(arr) {
			break
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			if skipSpace(arr, i+1) != len(arr) {
				return fmt.Errorf("%w: data after the array", errSyntax)
			}
			return nil
		default:
			return fmt.Errorf("%w: expected ',' or ']' at byte %d", errSyntax, i)
		}
	}
	return fmt.Errorf("%w: unexpected end", errSyntax)
}

// appendString appends s as a JSON string, escaped as encoding/json does
// with HTML escaping off (like the rest of the document): quote,
// backslash and control characters, U+2028 and U+2029, and invalid UTF-8
// as U+FFFD.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendArray appends the raw values as a JSON array, each verbatim.
func appendArray(dst []byte, raws [][]byte) []byte {
	dst = append(dst, '[')
	for i, r := range raws {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, r...)
	}
	return append(dst, ']')
}
