package rawjson

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// TypeError is a value of another JSON type than the one asked for.
type TypeError struct {
	Want string // "a string", "an array", "an object"
	Got  string // Kind's name: "a number", "an object", ...
}

func (e *TypeError) Error() string { return "expected " + e.Want + ", found " + e.Got }

// Kind names the JSON type of the value starting raw.
func Kind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "an invalid value"
}

var errBadString = errors.New("not valid JSON: bad string")

// MemberString is String for the raw value of a member as CheckMembers
// and Member give it: "" when the member is absent (nil), as encoding/json
// leaves a string field that is not in the document.
func MemberString(raw []byte) (string, error) {
	if raw == nil {
		return "", nil
	}
	return String(raw)
}

// String decodes the raw JSON value raw as a string, as encoding/json
// would into a Go string: null is "", escapes and surrogate pairs are
// decoded, a lone surrogate and invalid UTF-8 become U+FFFD. raw may have
// surrounding spaces.
func String(raw []byte) (string, error) {
	raw = trim(raw)
	if string(raw) == "null" {
		return "", nil
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		if len(raw) > 0 && raw[0] == '"' {
			return "", errBadString
		}
		return "", &TypeError{Want: "a string", Got: Kind(raw)}
	}
	inner := raw[1 : len(raw)-1]
	// The common case: no escape, no control character, valid UTF-8.
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
	return unquote(inner)
}

// unquote decodes the inside of a JSON string the slow way (encoding/json's
// unquoteBytes).
func unquote(s []byte) (string, error) {
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return "", errBadString
			}
			switch e := s[r]; {
			case unescape[e] != 0:
				b = append(b, unescape[e])
				r++
			case e == 'u':
				rr := getu4(s[r-1:])
				if rr < 0 {
					return "", errBadString
				}
				r += 5
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
			default:
				return "", errBadString
			}
		case c == '"' || c < ' ':
			return "", errBadString
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return string(b), nil
}

// unescape maps the byte after a backslash to the byte it stands for
// (0: not a one-byte escape).
var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

func trim(raw []byte) []byte {
	i, j := 0, len(raw)
	for i < j && isSpace(raw[i]) {
		i++
	}
	for j > i && isSpace(raw[j-1]) {
		j--
	}
	return raw[i:j]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Strings decodes raw as an array of strings (null: nil; a null element:
// "", as encoding/json does).
func Strings(raw []byte) ([]string, error) {
	raw = trim(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	if len(raw) == 0 || raw[0] != '[' {
		return nil, &TypeError{Want: "an array", Got: Kind(raw)}
	}
	out := []string{}
	err := eachElement(raw, func(el []byte) error {
		s, err := String(el)
		out = append(out, s)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AppendString appends s as a JSON string, escaped as encoding/json does
// with HTML escaping off: quote, backslash and control characters, U+2028
// and U+2029, and invalid UTF-8 as U+FFFD.
func AppendString(dst []byte, s string) []byte {
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
