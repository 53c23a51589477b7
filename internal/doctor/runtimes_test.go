package doctor

import "testing"

func TestRuntimeVersion(t *testing.T) {
	for _, tc := range []struct {
		name, out, version string
		honours            bool
	}{
		{"runc", "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n", "1.1.5+ds1", false},
		{"runc", "runc version 1.2.0\ncommit: v1.2.0-0-g0b9fa21b\nspec: 1.2.0\n", "1.2.0", true},
		{"runc", "runc version 1.10.3\n", "1.10.3", true},
		{"runc", "runc version 2.0.0-rc1\n", "2.0.0-rc1", true},
		{"crun", "crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX\n", "1.8.1", true},
		{"crun", "crun version 0.10.6\n", "0.10.6", false},
		{"crun", "crun version 0.11\n", "0.11", true},
		{"runc", "crun version 1.8.1\n", "unknown", false},
		{"runc", "", "unknown", false},
	} {
		v, h, _ := runtimeVersion(tc.name, tc.out, "")
		if v != tc.version || h != tc.honours {
			t.Errorf("%s %q: got %q/%v, want %q/%v", tc.name, tc.out, v, h, tc.version, tc.honours)
		}
	}
}
