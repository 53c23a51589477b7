package mountinfo

import (
	"reflect"
	"testing"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b\134c\0`: `/tmp/a b\c\0`, // a short escape at the end stays
		`/a\040b`:            "/a b",
		`/x\011y\012`:        "/x\ty\n",
		`/plain`:             "/plain",
		`/bad\09x`:           `/bad\09x`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPointsBelow(t *testing.T) {
	info := []byte(`22 27 0:21 / /proc rw,relatime - proc proc rw
100 27 0:50 / /var/lib/x rw - tmpfs tmpfs rw
101 100 0:51 / /var/lib/x/a\040b rw - tmpfs tmpfs rw
102 101 0:52 / /var/lib/x/a\040b/c rw - overlay overlay rw
103 27 0:53 / /var/lib/xy rw - tmpfs tmpfs rw
`)
	got := PointsBelow(info, "/var/lib/x/")
	want := []string{"/var/lib/x/a b/c", "/var/lib/x/a b", "/var/lib/x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PointsBelow = %q, want %q", got, want)
	}
	if got := PointsBelow(info, "/nothing"); got != nil {
		t.Errorf("PointsBelow(/nothing) = %q", got)
	}
	if Below("/proc") == nil {
		t.Error("Below(/proc) found no mount in this namespace")
	}
}

func TestFSTypeAt(t *testing.T) {
	info := []byte(`22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
25 22 0:22 / /run rw,nosuid shared:5 - tmpfs tmpfs rw
40 22 0:40 / /var/lib/lxcfs rw,nosuid shared:20 - fuse.lxcfs lxcfs rw,user_id=0
41 22 0:41 / /srv/my\040dir rw - xfs /dev/sdb rw
42 25 0:42 / /run rw - tmpfs tmpfs2 rw
`)
	for path, want := range map[string]string{
		"/var/lib/lxcfs/proc/cpuinfo": "fuse.lxcfs",
		"/var/lib/lxcfs":              "fuse.lxcfs",
		"/var/lib/lxcfs-old/cpuinfo":  "ext4",
		"/srv/my dir/cpuinfo":         "xfs",
		"/run/x":                      "tmpfs",
		"/":                           "ext4",
	} {
		if got := FSTypeAt(info, path); got != want {
			t.Errorf("FSTypeAt(%q) = %q, want %q", path, got, want)
		}
	}
	if got := FSTypeAt(nil, "/x"); got != "" {
		t.Errorf("empty mountinfo: %q", got)
	}
}
