package modify

import (
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestClassifyCPUInfo(t *testing.T) {
	const root = "/run/armhf-shim"
	m := func(typ, src string, opts ...string) specs.Mount {
		return specs.Mount{Destination: CPUInfoTarget, Type: typ, Source: src, Options: opts}
	}
	for _, tc := range []struct {
		name     string
		m        specs.Mount
		found    bool
		sourceFS string
		want     Existing
	}{
		{"none", specs.Mount{}, false, "", ExistingNone},
		// docker run -v /srv/cpuinfo:/proc/cpuinfo, and --mount type=bind
		{"-v", m("bind", "/srv/cpuinfo", "rbind", "rprivate"), true, "ext4", ExistingUser},
		{"--mount ro", m("bind", "/home/u/cpuinfo", "rbind", "ro"), true, "", ExistingUser},
		// docker run --tmpfs /proc/cpuinfo
		{"--tmpfs", m("tmpfs", "tmpfs", "nosuid", "nodev"), true, "", ExistingUser},
		{"a volume", m("bind", "/var/lib/docker/volumes/v/_data", "rbind"), true, "ext4", ExistingUser},
		// -v /var/lib/lxcfs/proc/cpuinfo:/proc/cpuinfo:rw, as LXCFS's docs say
		{"lxcfs dir", m("bind", "/var/lib/lxcfs/proc/cpuinfo", "rbind"), true, "", ExistingLXCFS},
		{"lxcfs dir unclean", m("bind", "/var/lib/lxcfs//proc/cpuinfo"), true, "", ExistingLXCFS},
		{"lxcfs elsewhere", m("bind", "/mnt/lxcfs/proc/cpuinfo", "rbind"), true, "fuse.lxcfs", ExistingLXCFS},
		{"lxcfs type", m("fuse.lxcfs", "lxcfs"), true, "", ExistingLXCFS},
		{"not lxcfs, similar name", m("bind", "/var/lib/lxcfs-backup/cpuinfo"), true, "ext4", ExistingUser},
		{"ours", m("bind", "/run/armhf-shim/containers/c1/cpuinfo", cpuinfoOptions...), true, "tmpfs", ExistingOurs},
		{"ours shared", m("bind", "/run/armhf-shim/cache/cpuinfo-0-1"), true, "", ExistingOurs},
		{"not under the root", m("bind", "/run/armhf-shim-other/cpuinfo"), true, "", ExistingUser},
	} {
		got, why := ClassifyCPUInfo(tc.m, tc.found, tc.sourceFS, root)
		if got != tc.want || why == "" {
			t.Errorf("%s: %v (%s), want %v", tc.name, got, why, tc.want)
		}
		if want := tc.want != ExistingUser; got.Replace() != want {
			t.Errorf("%s: Replace %v, want %v", tc.name, got.Replace(), want)
		}
	}
}
