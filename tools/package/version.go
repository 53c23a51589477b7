package main

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// describeSuffix is what `git describe --long` adds after the tag.
	describeSuffix = regexp.MustCompile(`-(\d+)-g([0-9a-f]{4,40})$`)
	tagVersion     = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)(?:[-~]([0-9A-Za-z][0-9A-Za-z.-]*))?$`)
	bareHash       = regexp.MustCompile(`^[0-9a-f]{4,40}$`)
)

// PackageVersion turns `git describe --tags --always --dirty` (and the
// number of commits, for a tree without tags) into a version both dpkg and
// rpm order correctly: "v1.2.3" → "1.2.3"; a prerelease tag "v1.2.3-rc1"
// → "1.2.3~rc1" (before 1.2.3); 5 commits after it → "1.2.3+git5.gabc1234"
// (after it); no tag → "0.0.0+git288.gabc1234" (the commit count keeps
// untagged builds of one branch in order); a dirty tree adds ".dirty".
func PackageVersion(describe string, commits int) (string, error) {
	d := strings.TrimSpace(describe)
	dirty := strings.HasSuffix(d, "-dirty")
	d = strings.TrimSuffix(d, "-dirty")
	var v string
	switch {
	case bareHash.MatchString(d):
		if commits <= 0 {
			return "", fmt.Errorf("version: %q has no tag and no commit count was given", describe)
		}
		v = fmt.Sprintf("0.0.0+git%d.g%s", commits, d)
	default:
		ahead := ""
		if m := describeSuffix.FindStringSubmatch(d); m != nil {
			d = d[:len(d)-len(m[0])]
			if m[1] != "0" {
				ahead = fmt.Sprintf("+git%s.g%s", m[1], m[2])
			}
		}
		m := tagVersion.FindStringSubmatch(d)
		if m == nil {
			return "", fmt.Errorf("version: tag %q is not a version (want v1.2.3 or v1.2.3-rc1)", d)
		}
		v = m[1]
		if m[2] != "" {
			v += "~" + strings.ReplaceAll(m[2], "-", ".")
		}
		v += ahead
	}
	if dirty {
		if strings.Contains(v, "+") {
			v += ".dirty"
		} else {
			v += "+dirty"
		}
	}
	return v, nil
}
