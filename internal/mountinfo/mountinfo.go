// Package mountinfo reads the mount points of this mount namespace from
// /proc/self/mountinfo: what a daemon, a container or a test left mounted
// below a directory, so it can be refused, reported or detached.
//
// The model: mountinfo has one line per mount; the fifth field is the mount
// point, with space, tab, newline and backslash written as \ooo octal
// escapes.
package mountinfo

import (
	"os"
	"sort"
	"strings"
)

// Unescape decodes the \ooo octal escapes of a mountinfo path field.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// PointsBelow returns the mount points in mountinfo text that are dir or
// below it, deepest first (the order to unmount them in).
func PointsBelow(mountinfo []byte, dir string) []string {
	dir = strings.TrimSuffix(dir, "/")
	var points []string
	for _, line := range strings.Split(string(mountinfo), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := Unescape(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") || dir == "" {
			points = append(points, mp)
		}
	}
	sort.SliceStable(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	return points
}

// Below is PointsBelow of this process's mount namespace; nil if
// /proc/self/mountinfo cannot be read.
func Below(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	return PointsBelow(b, dir)
}

// FSTypeAt returns the filesystem type of the mount in mountinfo text that
// holds path (an absolute, clean path): the deepest mount point above it,
// the last mounted when several share that point; "" when none does.
func FSTypeAt(mountinfo []byte, path string) string {
	best, typ := -1, ""
	for _, line := range strings.Split(string(mountinfo), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+1 >= len(f) {
			continue
		}
		mp := Unescape(f[4])
		if (mp == path || mp == "/" || strings.HasPrefix(path, mp+"/")) && len(mp) >= best {
			best, typ = len(mp), f[sep+1]
		}
	}
	return typ
}

// FSType is FSTypeAt in this process's mount namespace; "" if
// /proc/self/mountinfo cannot be read.
func FSType(path string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	return FSTypeAt(b, path)
}
