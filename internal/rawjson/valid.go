package rawjson

import (
	"errors"
	"strconv"
)

// Valid reports whether data is one JSON value (RFC 8259) with optional
// surrounding whitespace: exactly what encoding/json.Valid accepts,
// including its limit of 10000 nested arrays and objects and its tolerance
// of invalid UTF-8 inside strings (FuzzValid checks the two agree).
//
// The loop skips runs of plain string bytes, where encoding/json's scanner
// calls a state function per byte.
func Valid(data []byte) bool { return (&walker{}).invalidAt(data) < 0 }

// Check is Valid with a reason: nil, or a *SyntaxError saying where the
// document stops being JSON.
func Check(data []byte) error {
	if at := (&walker{}).invalidAt(data); at >= 0 {
		return &SyntaxError{Offset: at, data: data}
	}
	return nil
}

// ErrNotObject is a valid document that is not a JSON object.
var ErrNotObject = errors.New("not a JSON object")

// CheckObject is Check for a document that must be an object, and in the
// same pass calls fn with the quoted name and the raw value of each of its
// members, in order (as EachMember would, without a second walk). fn may
// have been called when an error is returned later in the document.
func CheckObject(data []byte, fn func(name, val []byte)) error {
	if i := SkipSpace(data, 0); i >= len(data) || data[i] != '{' {
		if err := Check(data); err != nil {
			return err
		}
		return ErrNotObject
	}
	w := walker{members: fn}
	if at := w.invalidAt(data); at >= 0 {
		return &SyntaxError{Offset: at, data: data}
	}
	return nil
}

// SyntaxError is a document that is not JSON.
type SyntaxError struct {
	Offset int // of the value, token or byte that is wrong (len(data): the end)
	data   []byte
}

func (e *SyntaxError) Error() string {
	if e.Offset >= len(e.data) {
		return "not valid JSON: unexpected end of input"
	}
	return "not valid JSON at byte " + strconv.Itoa(e.Offset) + " (near " + strconv.QuoteRuneToASCII(rune(e.data[e.Offset])) + ")"
}

func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// walker is what a validation reports to: with members set, each member
// of a top-level object.
type walker struct {
	members func(name, val []byte)
}

// invalidAt returns -1 for a valid document, else the offset where it
// fails, reporting members to w as it goes.
func (w *walker) invalidAt(data []byte) int {
	const maxDepth = 10000 // encoding/json's maxNestingDepth
	// stack holds '{' or '[' per open container; the first 64 levels
	// live in the frame.
	var buf [64]byte
	stack := buf[:0]
	var name []byte // the top-level member whose value is being checked
	var valStart int
	i := SkipSpace(data, 0)
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return i
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if len(stack) == maxDepth {
				return i
			}
			stack = append(stack, c)
			i = SkipSpace(data, i+1)
			if i < len(data) && data[i] == c+2 { // '}' or ']': empty
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				at := i
				if i = w.key(data, i, len(stack), &name, &valStart); i < 0 {
					return at
				}
			}
			continue
		case c == '"':
			at := i
			if i = stringEnd(data, i); i < 0 {
				return at
			}
		case c == '-' || c >= '0' && c <= '9':
			at := i
			if i = numberEnd(data, i); i < 0 {
				return at
			}
		case c == 't':
			at := i
			if i = literalEnd(data, i, "true"); i < 0 {
				return at
			}
		case c == 'f':
			at := i
			if i = literalEnd(data, i, "false"); i < 0 {
				return at
			}
		case c == 'n':
			at := i
			if i = literalEnd(data, i, "null"); i < 0 {
				return at
			}
		default:
			return i
		}
		// After a value: close containers, or go on to the next element.
		for {
			if w.members != nil && len(stack) == 1 && name != nil {
				w.members(name, data[valStart:i])
				name = nil
			}
			i = SkipSpace(data, i)
			if len(stack) == 0 {
				if i == len(data) {
					return -1
				}
				return i
			}
			if i >= len(data) {
				return i
			}
			top := stack[len(stack)-1]
			if data[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if data[i] != ',' {
				return i
			}
			i = SkipSpace(data, i+1)
			if top == '{' {
				at := i
				if i = w.key(data, i, len(stack), &name, &valStart); i < 0 {
					return at
				}
			}
			break
		}
	}
}

// key checks the member name at data[i] of an object at depth (the
// length of the stack) and notes it when w reports it: at depth 1, to
// members.
func (w *walker) key(data []byte, i, depth int, name *[]byte, valStart *int) int {
	if depth == 1 && w.members != nil {
		return memberKey(data, i, name, valStart)
	}
	return objectKey(data, i)
}

// memberKey is objectKey that also notes the member's quoted name and
// where its value starts.
func memberKey(data []byte, i int, name *[]byte, valStart *int) int {
	nameEnd, val := keyAt(data, i)
	if val >= 0 {
		*name, *valStart = data[i:nameEnd], val
	}
	return val
}

// objectKey checks `"name" :` at data[i] and returns the index of the
// value after it (spaces skipped), or -1.
func objectKey(data []byte, i int) int {
	_, val := keyAt(data, i)
	return val
}

// keyAt is objectKey that also returns the index after the name.
func keyAt(data []byte, i int) (nameEnd, val int) {
	if i >= len(data) || data[i] != '"' {
		return -1, -1
	}
	if nameEnd = stringEnd(data, i); nameEnd < 0 {
		return -1, -1
	}
	i = SkipSpace(data, nameEnd)
	if i >= len(data) || data[i] != ':' {
		return -1, -1
	}
	return nameEnd, SkipSpace(data, i+1)
}

// stringEnd returns the index after the string starting at data[i] == '"',
// or -1 if it is unterminated, has a control character or a bad escape.
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		c := data[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue // a plain byte
		}
		switch c {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if !isHex(h) {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		default:
			return -1 // a control character
		}
	}
	return -1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// numberEnd returns the index after the number starting at data[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(data []byte, i int) int {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		i = digitsEnd(data, i)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		if j := digitsEnd(data, i+1); j > i+1 {
			i = j
		} else {
			return -1
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digitsEnd(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digitsEnd(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}

// literalEnd returns the index after lit at data[i], or -1.
func literalEnd(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}
