package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// errSyntax is a structural error found by the member scanner.
var errSyntax = errors.New("malformed OCI config: not valid JSON")

// member returns the raw value of key in the JSON object obj. It finds it
// with a structural scan that steps over the other members without
// decoding or fully validating them — several times faster than
// encoding/json on a Docker config, whose bulk (the seccomp profile) the
// decision never needs. The value it returns is validated by whoever
// decodes it; a document that is going to be edited is validated whole by
// Parse.
func member(obj []byte, key string) (raw []byte, ok bool, err error) {
	raw, _, err = memberAt(obj, key)
	return raw, raw != nil, err
}

// memberAt is member that also returns the offset of the value in obj.
func memberAt(obj []byte, key string) (raw []byte, at int, err error) {
	var out [1][]byte
	if err := members(obj, []string{key}, out[:]); err != nil {
		return nil, 0, err
	}
	if out[0] == nil {
		return nil, 0, nil
	}
	// out[0] is a subslice of obj: its offset is the pointer difference.
	return out[0], cap(obj) - cap(out[0]), nil
}

// spliceMember returns a copy of the raw object obj with member key's value
// replaced by val, or with "key":val added as its first member. The other
// members are copied byte for byte.
func spliceMember(obj []byte, key string, val []byte) ([]byte, error) {
	raw, at, err := memberAt(obj, key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(obj)+len(key)+len(val)+4)
	if raw != nil {
		out = append(out, obj[:at]...)
		out = append(out, val...)
		return append(out, obj[at+len(raw):]...), nil
	}
	open := skipSpace(obj, 0) // members checked it is '{'
	out = append(out, obj[:open+1]...)
	out = appendString(out, key)
	out = append(out, ':')
	out = append(out, val...)
	if rest := skipSpace(obj, open+1); rest < len(obj) && obj[rest] != '}' {
		out = append(out, ',')
	}
	return append(out, obj[open+1:]...), nil
}

// members scans the JSON object obj once and sets out[k] to the raw value
// of keys[k] (nil when absent; the last one wins for a repeated name, as
// in encoding/json).
func members(obj []byte, keys []string, out [][]byte) error {
	return eachMember(obj, func(name, val []byte) {
		for k, key := range keys {
			if keyEquals(name, key) {
				out[k] = val
			}
		}
	})
}

// eachMember calls fn with the quoted name and the raw value of every
// member of the JSON object obj, in order, in one structural pass.
func eachMember(obj []byte, fn func(name, val []byte)) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return fmt.Errorf("%w: expected an object", errSyntax)
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return fmt.Errorf("%w: expected a member name at byte %d", errSyntax, i)
		}
		kEnd, err := skipString(obj, i)
		if err != nil {
			return err
		}
		name := obj[i:kEnd]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return fmt.Errorf("%w: expected ':' at byte %d", errSyntax, i)
		}
		vStart := skipSpace(obj, i+1)
		vEnd, err := skipValue(obj, vStart)
		if err != nil {
			return err
		}
		fn(name, obj[vStart:vEnd])
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			break
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			if skipSpace(obj, i+1) != len(obj) {
				return fmt.Errorf("%w: data after the object", errSyntax)
			}
			return nil
		default:
			return fmt.Errorf("%w: expected ',' or '}' at byte %d", errSyntax, i)
		}
	}
	return fmt.Errorf("%w: unexpected end", errSyntax)
}

// unquote returns the member name of a quoted JSON string.
func unquote(quoted []byte) string {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			json.Unmarshal(quoted, &s) // validated by the caller
			return s
		}
	}
	return string(inner)
}

// keyEquals compares a quoted JSON member name with key, decoding escapes
// only when there are any.
func keyEquals(quoted []byte, key string) bool {
	if bytes.IndexByte(quoted, '\\') >= 0 {
		return unquote(quoted) == key
	}
	return string(quoted[1:len(quoted)-1]) == key
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: unterminated string", errSyntax)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, fmt.Errorf("%w: missing value", errSyntax)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("%w: unterminated %c", errSyntax, b[i])
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, fmt.Errorf("%w: missing value at byte %d", errSyntax, i)
	}
	return j, nil
}

// ScanView decodes the decision facts of a config.json like ReadView, but
// decodes only the members it needs (process, root, annotations and
// linux.resources.cpu), stepping over the rest in one structural pass, and
// decodes their strings without reflection (jsonstr.go). It is what the
// runtime wrapper does on every create.
func ScanView(data []byte) (*View, error) {
	var v View
	var top [4][]byte
	if err := members(data, []string{"annotations", "process", "root", "linux"}, top[:]); err != nil {
		return nil, err
	}
	malformed := func(where string, err error) error {
		return fmt.Errorf("malformed OCI config: %s%w", where, err)
	}
	var err error
	if top[0] != nil {
		if v.Annotations, err = decodeStringMap(top[0]); err != nil {
			return nil, malformed("", err)
		}
	}
	if r := top[2]; r != nil && string(r) != "null" {
		path, err := stringMember(r, "path")
		if err != nil {
			return nil, malformed("root: ", err)
		}
		v.Root = &struct {
			Path string `json:"path"`
		}{Path: path}
	}
	// process: args, env and cwd, not the capability lists around them.
	if p := top[1]; p != nil && string(p) != "null" {
		var pm [3][]byte
		if err := members(p, []string{"args", "env", "cwd"}, pm[:]); err != nil {
			return nil, err
		}
		v.Process = &ViewProcess{}
		if pm[0] != nil {
			if v.Process.Args, err = decodeStrings(pm[0]); err != nil {
				return nil, malformed("process: ", err)
			}
		}
		if pm[1] != nil {
			if v.Process.Env, err = decodeStrings(pm[1]); err != nil {
				return nil, malformed("process: ", err)
			}
		}
		if pm[2] != nil {
			if v.Process.Cwd, err = decodeString(pm[2]); err != nil {
				return nil, malformed("process: ", err)
			}
		}
	}
	// linux.resources.cpu without decoding linux (seccomp is its bulk).
	res, err := object1(top[3], "resources")
	if err != nil || res == nil {
		return &v, err
	}
	cpu, err := object1(res, "cpu")
	if err != nil || cpu == nil {
		return &v, err
	}
	cpus, err := stringMember(cpu, "cpus")
	if err != nil {
		return nil, malformed("linux.resources.cpu: ", err)
	}
	v.Linux = &ViewLinux{}
	v.Linux.Resources = &struct {
		CPU *ViewCPU `json:"cpu"`
	}{CPU: &ViewCPU{Cpus: cpus}}
	return &v, nil
}

// stringMember decodes member key of the raw object obj as a string ("" when
// absent or null).
func stringMember(obj []byte, key string) (string, error) {
	raw, _, err := member(obj, key)
	if err != nil || raw == nil {
		return "", err
	}
	return decodeString(raw)
}

// object1 returns member key of the raw object obj; nil for an absent or
// null obj or member.
func object1(obj []byte, key string) ([]byte, error) {
	if obj == nil || string(obj) == "null" {
		return nil, nil
	}
	raw, _, err := member(obj, key)
	if err != nil || raw == nil || string(raw) == "null" {
		return nil, err
	}
	return raw, nil
}
