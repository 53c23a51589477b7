package platform

import (
	"slices"
	"testing"

	"github.com/containerd/platforms"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// specifiers are the cases every test runs against containerd/platforms,
// among them the spellings on which an older copy of its rules drifted
// (arm64 v8.0 and v9, wasip1, a bare unknown architecture, a dot in the
// OS, OS versions and features).
var specifiers = []string{
	"linux/arm/v7", "linux/arm", "linux/armhf", "linux/armel", "linux/arm/7", "linux/arm/v6", "linux/arm/5", "linux/arm/v8",
	"linux/arm64", "linux/arm64/v8", "linux/aarch64", "linux/arm64/8", "linux/arm64/v8.0", "linux/arm64/9", "linux/arm64/9.0",
	"linux/arm64/v9.0", "linux/arm64/v8.2", "linux/amd64", "linux/x86_64", "linux/x86-64", "linux/amd64/v1", "linux/amd64/v3",
	"linux/i386", "linux/386", "LINUX/ARM/V7", "Linux/AArch64", "windows/amd64", "linux/ppc64le", "linux/s390x", "linux/riscv64",
	"arm64", "armhf", "armel", "amd64", "i386", "aarch64", "linux", "windows", "macos", "darwin/arm64", "macos/arm64",
	"wasip1", "foo", "linux/foo", "linux/foo/bar", "lin.ux/arm", "linux/..", "linux/./v7", "linux_x/arm",
	"windows(10.0.17763)/amd64", "windows(10.0.17763+win32k)/amd64", "linux(+a+b+a)/arm64", "linux()/amd64",
	"linux(1%2B2)/amd64", "linux(%zz)/amd64", "linux(1+%4)/amd64", "linux(+)/amd64", "linux(1/amd64", "linux(1))/amd64",
	"arm64(1)", "", "linux/", "/arm", "linux/arm/v7/x", "linux/!!", "linux arm", "linux/arm/*", "*",
}

// TestAgreesWithContainerd: Parse accepts what containerd's Parse accepts
// and gives containerd's Normalize of it; String is containerd's Format.
func TestAgreesWithContainerd(t *testing.T) {
	for _, s := range specifiers {
		agree(t, s)
	}
	if ARMv7.String() != platforms.Format(specs.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}) {
		t.Errorf("ARMv7 = %s", ARMv7)
	}
}

func FuzzAgreesWithContainerd(f *testing.F) {
	for _, s := range specifiers {
		f.Add(s)
	}
	f.Fuzz(agree)
}

func agree(t *testing.T, s string) {
	t.Helper()
	want, werr := platforms.Parse(s)
	got, err := Parse(s)
	if (err != nil) != (werr != nil) {
		t.Errorf("Parse(%q): error %v, containerd's %v", s, err, werr)
		return
	}
	if err != nil {
		return
	}
	want = platforms.Normalize(want)
	if got.String() != platforms.Format(want) || got.OSVersion != want.OSVersion || !slices.Equal(got.OSFeatures, want.OSFeatures) {
		t.Errorf("Parse(%q) = %s (%q %q), containerd says %s (%q %q)", s, got, got.OSVersion, got.OSFeatures,
			platforms.Format(want), want.OSVersion, want.OSFeatures)
	}
	p := Platform{OS: got.OS, Architecture: got.Architecture, Variant: got.Variant}
	if n, wn := Normalize(p).String(), platforms.Format(platforms.Normalize(specs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant})); n != wn {
		t.Errorf("Normalize(%v) = %s, containerd says %s", p, n, wn)
	}
}

// TestNormalizeRaw: Normalize on platforms as image indexes write them
// (not from a specifier), against containerd's Normalize.
func TestNormalizeRaw(t *testing.T) {
	for _, p := range []Platform{
		{OS: "linux", Architecture: "arm"}, {OS: "Linux", Architecture: "ARM", Variant: "7"}, {OS: "", Architecture: "amd64"},
		{OS: "linux", Architecture: "aarch64", Variant: "v8.0"}, {OS: "linux", Architecture: "arm64", Variant: "9"},
		{OS: "linux", Architecture: "i386", Variant: "x"}, {OS: "macos", Architecture: "arm64"},
		{OS: "linux", Architecture: "amd64", OSFeatures: []string{"b", "a", "b"}},
	} {
		want := platforms.Normalize(specs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSFeatures: p.OSFeatures})
		got := Normalize(p)
		if got.String() != platforms.Format(want) || !slices.Equal(got.OSFeatures, want.OSFeatures) {
			t.Errorf("Normalize(%+v) = %+v, containerd says %+v", p, got, want)
		}
	}
}

// TestMatch: Match(want, have) is containerd's OnlyStrict(want).Match(have).
func TestMatch(t *testing.T) {
	for _, c := range []struct {
		want, have Platform
		match      bool
	}{
		{Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, Platform{OS: "linux", Architecture: "arm"}, true},
		{Platform{OS: "linux", Architecture: "armhf"}, ARMv7, true},
		{Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, ARMv7, false},
		{Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, Platform{OS: "linux", Architecture: "aarch64"}, true},
		{Platform{OS: "linux", Architecture: "arm64", Variant: "9"}, Platform{OS: "linux", Architecture: "arm64", Variant: "v9"}, true},
		{Platform{OS: "linux", Architecture: "amd64"}, Platform{OS: "linux", Architecture: "386"}, false},
		{Platform{OS: "linux", Architecture: "amd64"}, Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"x"}}, false},
		{Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"x", "y"}}, Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"y"}}, true},
		{Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"x"}}, Platform{OS: "linux", Architecture: "amd64"}, true},
	} {
		if got := Match(c.want, c.have); got != c.match {
			t.Errorf("Match(%+v, %+v) = %v", c.want, c.have, got)
		}
		m := platforms.OnlyStrict(specs.Platform{OS: c.want.OS, Architecture: c.want.Architecture, Variant: c.want.Variant, OSFeatures: c.want.OSFeatures})
		if m.Match(specs.Platform{OS: c.have.OS, Architecture: c.have.Architecture, Variant: c.have.Variant, OSFeatures: c.have.OSFeatures}) != c.match {
			t.Errorf("containerd disagrees on %+v vs %+v", c.want, c.have)
		}
	}
}

func TestKnown(t *testing.T) {
	for s, want := range map[string]bool{
		"linux/arm/v7": true, "armhf": true, "linux/aarch64": true, "windows/amd64": true, "linux/riscv64": true,
		"linux/bogus": false, "bogos/arm": false, "linux/arm64x": false,
	} {
		p, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := Known(p); got != want {
			t.Errorf("Known(%s) = %v", s, got)
		}
	}
}
