package dockerargs

import (
	"strings"
	"testing"
)

func TestParseRun(t *testing.T) {
	for _, c := range []struct {
		args     string
		image    string
		platform string
		ok       bool
	}{
		{"busybox", "busybox", "", true},
		{"--rm -it busybox sh", "busybox", "", true},
		{"-itd --name x -e A=B -eC=D -e=E -v /a:/b -p 80:80 -w /w -u 0 i386/debian:12 bash", "i386/debian:12", "", true},
		{"--platform linux/386 --rm img", "img", "linux/386", true},
		{"--platform=linux/arm/v7 --platform linux/amd64 img --platform=x", "img", "linux/amd64", true},
		{"--rm=true --read-only --init --network=host --mount type=tmpfs,dst=/x reg:5000/a/b@sha256:0123 true", "reg:5000/a/b@sha256:0123", "", true},
		{"--new-option=x img", "img", "", true},
		{"-- img", "img", "", true},
		{"-itv /a:/b img", "img", "", true},
		{"-dP img", "img", "", true},
		{"--new-option img", "", "", false}, // a value or a boolean? not certain
		{"-Z img", "", "", false},
		{"--rm", "", "", false},
		{"-e", "", "", false},
		{"", "", "", false},
	} {
		r, ok := ParseRun(strings.Fields(c.args))
		if ok != c.ok || r.Image != c.image || r.Platform != c.platform {
			t.Errorf("ParseRun(%q) = %+v, %v; want image %q platform %q, %v", c.args, r, ok, c.image, c.platform, c.ok)
		}
	}
}
