package main

import (
	"os"
	"os/exec"
	"testing"
)

func TestPackageVersion(t *testing.T) {
	for _, c := range []struct {
		describe string
		commits  int
		want     string
		err      bool
	}{
		{"v1.2.3", 0, "1.2.3", false},
		{"1.2.3", 0, "1.2.3", false},
		{"v1.2.3-0-gabcdef1", 10, "1.2.3", false},
		{"v1.2.3-5-gabcdef1", 10, "1.2.3+git5.gabcdef1", false},
		{"v1.2.3-5-gabcdef1-dirty", 10, "1.2.3+git5.gabcdef1.dirty", false},
		{"v1.2.3-dirty", 10, "1.2.3+dirty", false},
		{"v1.2.3-rc1", 0, "1.2.3~rc1", false},
		{"v1.2.3-rc.1-2-g1234567", 0, "1.2.3~rc.1+git2.g1234567", false},
		{"v2.0.0-beta-2", 0, "2.0.0~beta.2", false},
		{"bdcd9b6", 288, "0.0.0+git288.gbdcd9b6", false},
		{"bdcd9b6-dirty", 288, "0.0.0+git288.gbdcd9b6.dirty", false},
		{"bdcd9b6", 0, "", true},
		{"dev", 5, "", true},
		{"release-x", 5, "", true},
		{"", 5, "", true},
	} {
		got, err := PackageVersion(c.describe, c.commits)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("PackageVersion(%q, %d) = %q, %v; want %q (error %v)", c.describe, c.commits, got, err, c.want, c.err)
		}
	}
}

// TestVersionOrder asks dpkg itself that the mapping orders a release's
// history: a prerelease before the release, commits after it before the next.
func TestVersionOrder(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		// This module cannot import internal/testenv; its Require, inline.
		if os.Getenv("ARMHF_SHIM_REQUIRE") == "1" {
			t.Fatal("prerequisite missing (ARMHF_SHIM_REQUIRE=1): dpkg, which orders the versions")
		}
		t.Skip("no dpkg here")
	}
	seq := []string{"bdcd9b6", "v1.2.3-rc1", "v1.2.3-rc1-3-gaaaaaaa", "v1.2.3", "v1.2.3-1-gbbbbbbb", "v1.2.3-2-gccccccc", "v1.2.3-2-gccccccc-dirty", "v1.2.4"}
	prev := ""
	for _, d := range seq {
		v, err := PackageVersion(d, 288)
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if err := exec.Command(dpkg, "--compare-versions", prev, "lt", v).Run(); err != nil {
				t.Errorf("dpkg: %s does not sort before %s", prev, v)
			}
		}
		prev = v
	}
}
