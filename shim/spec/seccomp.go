package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Seccomp returns linux.seccomp as raw JSON (nil when absent).
func (d *Doc) Seccomp() ([]byte, error) {
	linux := d.get("linux")
	if isNull(linux) {
		return nil, nil
	}
	raw, err := memberValue(linux, "seccomp")
	if err != nil {
		return nil, fmt.Errorf("malformed OCI config: linux is not an object")
	}
	return raw, nil
}

// SetSeccomp replaces linux.seccomp with the raw JSON object raw, keeping
// every other member of linux byte for byte.
func (d *Doc) SetSeccomp(raw []byte) error {
	linux := d.get("linux")
	if !isNull(linux) && linux[skipSpace(linux, 0)] != '{' {
		return fmt.Errorf("malformed OCI config: linux is not an object")
	}
	pieces, err := spliceMember(linux, "seccomp", raw, false)
	if err != nil {
		return fmt.Errorf("malformed OCI config: linux is not an object")
	}
	d.set("linux", pieces...)
	return nil
}

// NotifyProfile returns the seccomp profile seccomp (raw linux.seccomp;
// nil or null for none) with the system calls names sent to the listener
// at listenerPath (SCMP_ACT_NOTIFY, runc >= 1.1): removed from every rule
// that names them — libseccomp refuses two actions for one system call; a
// rule left with no names goes — and given a rule of their own at the end,
// with listenerPath and listenerMetadata = metadata set. Every other
// member and rule is kept byte for byte. With no profile, the result
// allows every other call on the architectures archs. A profile with a
// listener elsewhere is an error: the kernel allows a process one.
func NotifyProfile(seccomp []byte, names, archs []string, listenerPath, metadata string) ([]byte, error) {
	rule := appendStrings([]byte(`{"names":`), names)
	rule = append(rule, `,"action":"SCMP_ACT_NOTIFY"}`...)
	tail := append(append([]byte(`,"listenerPath":`), appendString(nil, listenerPath)...), `,"listenerMetadata":`...)
	tail = appendString(tail, metadata)
	if isNull(seccomp) {
		out := appendStrings([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","architectures":`), archs)
		out = append(append(append(out, `,"syscalls":[`...), rule...), ']')
		return append(append(out, tail...), '}'), nil
	}
	out := make([]byte, 1, len(seccomp)+len(rule)+len(tail)+16)
	out[0] = '{'
	sep := func() {
		if len(out) > 1 {
			out = append(out, ',')
		}
	}
	var bad error
	sawSyscalls := false
	w := walker{data: seccomp, fn: func(quoted []byte, name string, val []byte) {
		if bad != nil {
			return
		}
		switch {
		case strings.EqualFold(name, "listenerPath"):
			if p, err := decodeString(val); err != nil || p != "" && p != listenerPath {
				bad = fmt.Errorf("the seccomp profile has a listener of its own (listenerPath %s): the kernel allows one per process", val)
			}
			return // ours is appended
		case strings.EqualFold(name, "listenerMetadata"):
			return
		case strings.EqualFold(name, "syscalls"):
			sawSyscalls = true
			sep()
			out = append(append(out, quoted...), ':')
			out, bad = appendRules(out, val, names, rule)
			return
		}
		sep()
		out = append(append(append(out, quoted...), ':'), val...)
	}}
	if err := w.walk(); err != nil {
		return nil, fmt.Errorf("malformed OCI config: linux.seccomp: %w", err)
	}
	if bad != nil {
		return nil, bad
	}
	if !sawSyscalls {
		sep()
		out = append(append(append(out, `"syscalls":[`...), rule...), ']')
	}
	if len(out) == 1 {
		tail = tail[1:] // no member before it: no comma
	}
	return append(append(out, tail...), '}'), nil
}

// appendRules appends the array rules without names in any rule's names,
// and rule at its end.
func appendRules(out, rules []byte, names []string, rule []byte) ([]byte, error) {
	if isNull(rules) {
		return append(append(append(out, '['), rule...), ']'), nil
	}
	out = append(out, '[')
	n := 0
	err := eachElement(rules, func(el []byte) error {
		kept, drop, err := withoutNames(el, names)
		if err != nil || drop {
			return err
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, kept...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("malformed OCI config: linux.seccomp.syscalls: %w", err)
	}
	if n > 0 {
		out = append(out, ',')
	}
	return append(append(out, rule...), ']'), nil
}

// withoutNames returns the rule el with names removed from its names (el
// itself when it names none of them); drop says no name is left.
func withoutNames(el []byte, names []string) (kept []byte, drop bool, err error) {
	raw, at, err := valueAt(el, "names", false)
	if err != nil {
		return nil, false, errors.New("a rule is not an object")
	}
	if isNull(raw) {
		return el, false, nil
	}
	has, err := decodeStrings(raw)
	if err != nil {
		return nil, false, fmt.Errorf("a rule's names: %w", err)
	}
	left := slices.DeleteFunc(slices.Clone(has), func(n string) bool { return slices.Contains(names, n) })
	if len(left) == len(has) {
		return el, false, nil
	}
	if len(left) == 0 {
		return nil, true, nil
	}
	kept = append(kept, el[:at]...)
	kept = appendStrings(kept, left)
	return append(kept, el[at+len(raw):]...), false, nil
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
