package runcstate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A trimmed state.json as runc 1.1.5 writes it (captured from
// `runc run -d` of a bundle with two annotations).
const state = `{"id":"ctr1","init_process_pid":4242,"init_process_start":123,"created":"2026-11-23T12:00:00Z",
"config":{"no_pivot_root":false,"rootfs":"/tmp/b/rootfs","mounts":[],"hostname":"runc",
"labels":["io.armhf-shim.personality=LINUX32","x=y","bundle=/tmp/b"],"no_new_keyring":false},
"rootless":false,"cgroup_paths":{},"namespace_paths":{},"external_descriptors":[],"intel_rdt_path":""}`

func TestHasLabel(t *testing.T) {
	const k, v = "io.armhf-shim.personality", "LINUX32"
	cases := []struct {
		name, data string
		want       bool
		err        bool
	}{
		{"marked", state, true, false},
		{"unmarked", strings.Replace(state, `"io.armhf-shim.personality=LINUX32",`, "", 1), false, false},
		// The text elsewhere (a hostname, a bundle path) is not a label.
		{"text outside labels", `{"config":{"hostname":"io.armhf-shim.personality=LINUX32","labels":["bundle=/b"]}}`, false, false},
		{"prefix only", `{"config":{"labels":["io.armhf-shim.personality=LINUX32x"]}}`, false, false},
		{"malformed with the text", `{"config":{"labels":["io.armhf-shim.personality=LINUX32"`, false, true},
		{"malformed without the text is not even decoded", `{"config":`, false, false},
		{"config not an object", `{"config":"io.armhf-shim.personality=LINUX32"}`, false, true},
		{"label not a string", `{"config":{"labels":[1],"x":"io.armhf-shim.personality=LINUX32"}}`, false, true},
		{"labels null", `{"config":{"labels":null,"x":"io.armhf-shim.personality=LINUX32"}}`, false, false},
		{"escaped label", `{"config":{"labels":["io.armhf-shim.personality\u003dLINUX32"]},"x":"io.armhf-shim.personality=LINUX32"}`, true, false},
	}
	for _, c := range cases {
		got, err := HasLabel([]byte(c.data), k, v)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s: got %v, %v", c.name, got, err)
		}
	}
}

func TestLabeled(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "ctr1"), 0o700)
	os.WriteFile(filepath.Join(root, "ctr1", "state.json"), []byte(state), 0o600)
	ok, err := Labeled(root, "ctr1", "x", "y")
	if !ok || err != nil {
		t.Errorf("Labeled = %v, %v", ok, err)
	}
	if _, err := Labeled(root, "nosuch", "x", "y"); !os.IsNotExist(err) {
		t.Errorf("missing container: %v", err)
	}
	if _, err := Labeled(root, "../ctr1", "x", "y"); err == nil {
		t.Error("id with a slash accepted")
	}
}

// runc's own default root, which the wrapper reads a container's mark
// from at exec: rootless podman runs runc as root in its user namespace,
// with the user's XDG_RUNTIME_DIR and USER, and runc keeps state there.
func TestDefaultRoot(t *testing.T) {
	for _, c := range []struct {
		name   string
		env    map[string]string
		euid   int
		userns bool
		want   string
	}{
		{"real root", map[string]string{"XDG_RUNTIME_DIR": "/run/user/0", "USER": "root"}, 0, false, "/run/runc"},
		{"real root, no USER", map[string]string{"XDG_RUNTIME_DIR": "/run/user/0"}, 0, false, "/run/runc"},
		{"a user", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "USER": "ci"}, 1000, false, "/run/user/1000/runc"},
		{"rootless podman: root in a user namespace", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "USER": "ci"}, 0, true, "/run/user/1000/runc"},
		{"root in a user namespace, no USER", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, 0, true, "/run/user/1000/runc"},
		{"root in a user namespace, USER=root", map[string]string{"XDG_RUNTIME_DIR": "/run/user/0", "USER": "root"}, 0, true, "/run/runc"},
		{"a user without XDG_RUNTIME_DIR", map[string]string{"USER": "ci"}, 1000, false, "/run/runc"},
	} {
		getenv := func(k string) string { return c.env[k] }
		if got := defaultRoot(getenv, c.euid, func() bool { return c.userns }); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
