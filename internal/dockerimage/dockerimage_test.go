package dockerimage

import (
	"strings"
	"testing"
)

func TestParseInspect(t *testing.T) {
	for _, c := range []struct {
		in, platform, err string
	}{
		{`[{"Id":"sha256:ab","Os":"linux","Architecture":"arm","Variant":"v7"}]`, "linux/arm/v7", ""},
		{`[{"Id":"sha256:ab","Os":"linux","Architecture":"arm64"}]`, "linux/arm64", ""},
		{`[]`, "", "unexpected answer"},
		{`[{"Id":"","Os":"linux"}]`, "", "unexpected answer"},
		{`{`, "", "unexpected answer"},
	} {
		im, err := parseInspect("x", []byte(c.in))
		if c.err != "" {
			if err == nil || !contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want error %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || im.Platform() != c.platform {
			t.Errorf("%s: %q %v, want %q", c.in, im.Platform(), err, c.platform)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
