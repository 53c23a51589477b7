package platform

import (
	"testing"

	"github.com/containerd/platforms"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestAgreesWithContainerd checks Parse, Normalize and String against
// containerd/platforms, the reference this package stands in for: Parse
// gives containerd's normalised form (platforms.Normalize of
// platforms.Parse; containerd's Parse alone keeps some spellings, like
// linux/arm for linux/arm/v7, that Normalize resolves).
func TestAgreesWithContainerd(t *testing.T) {
	for _, s := range []string{
		"linux/arm/v7", "linux/arm", "linux/armhf", "linux/armel", "linux/arm/7", "linux/arm/v6", "linux/arm/5", "linux/arm/v8",
		"linux/arm64", "linux/arm64/v8", "linux/aarch64", "linux/arm64/8", "linux/amd64", "linux/x86_64", "linux/x86-64",
		"linux/amd64/v1", "linux/amd64/v3", "linux/i386", "linux/386", "LINUX/ARM/V7", "windows/amd64", "linux/ppc64le",
		"linux/s390x", "linux/riscv64", "arm64", "armhf", "amd64", "linux", "darwin/arm64",
	} {
		want, err := platforms.Parse(s)
		if err != nil {
			t.Fatalf("containerd rejects %q: %v", s, err)
		}
		want = platforms.Normalize(want)
		got, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if got.String() != platforms.Format(want) {
			t.Errorf("Parse(%q) = %s, containerd says %s", s, got, platforms.Format(want))
		}
	}
	if ARMv7.String() != platforms.Format(specs.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}) {
		t.Errorf("ARMv7 = %s", ARMv7)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "linux/", "/arm", "linux/arm/v7/x", "linux/!!", "linux arm"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
		if _, err := platforms.Parse(s); err == nil {
			t.Errorf("containerd accepts %q", s)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		a, b Platform
		want bool
	}{
		{Platform{"linux", "arm", "v7"}, Platform{"linux", "arm", ""}, true},
		{Platform{"linux", "armhf", ""}, ARMv7, true},
		{Platform{"linux", "arm", "v6"}, ARMv7, false},
		{Platform{"linux", "arm64", "v8"}, Platform{"linux", "aarch64", ""}, true},
		{Platform{"linux", "amd64", ""}, Platform{"linux", "386", ""}, false},
	} {
		if got := Match(c.a, c.b); got != c.want {
			t.Errorf("Match(%v, %v) = %v", c.a, c.b, got)
		}
		// containerd's exact matcher agrees.
		m := platforms.OnlyStrict(specs.Platform{OS: c.a.OS, Architecture: c.a.Architecture, Variant: c.a.Variant})
		if m.Match(specs.Platform{OS: c.b.OS, Architecture: c.b.Architecture, Variant: c.b.Variant}) != c.want {
			t.Errorf("containerd disagrees on %v vs %v", c.a, c.b)
		}
	}
}
