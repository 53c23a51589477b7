package install

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// hostRoot is a scratch host root directory as a DaemonSet sees it at
// /host: Debian's containerd config and daemon.json, and armhf-shim
// copied to /usr/local/bin.
func hostRoot(t *testing.T) (root, bin string) {
	root = t.TempDir()
	for p, c := range map[string]string{
		"etc/containerd/config.toml": debianContainerdConfig,
		"etc/docker/daemon.json":     "{\n  \"log-level\": \"warn\"\n}\n",
		"usr/local/bin/armhf-shim":   "#!/bin/true\n",
	} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root, "/usr/local/bin/armhf-shim"
}

// debianContainerdConfig is /etc/containerd/config.toml as Debian 12's
// containerd package ships it.
const debianContainerdConfig = `version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
`

// leaks fails if a file below root names root: everything install writes
// (configs, drop-ins, link targets, records) must hold host paths.
func leaks(t *testing.T, root string) {
	t.Helper()
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		var b []byte
		if fi.Mode()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			b = []byte(l)
		} else if fi.Mode().IsRegular() {
			b, _ = os.ReadFile(p)
		}
		if strings.Contains(string(b), root) {
			t.Errorf("%s names the root %s:\n%s", p, root, b)
		}
		return nil
	})
}

// install containerd --root: the files below the root, the host's paths
// in them; uninstall with --root gives back the bytes and leaves nothing.
func TestRootContainerd(t *testing.T) {
	root, bin := hostRoot(t)
	o := Options{Target: "containerd", Root: root, Binary: bin, ContainerdVersion: "2.1.4"}
	out := run(t, o)
	if !strings.Contains(out, filepath.Join(root, "etc/containerd/conf.d/armhf-shim.toml")) {
		t.Errorf("output does not say where it wrote:\n%s", out)
	}
	var m mainConfig
	if err := toml.Unmarshal([]byte(readFile(t, filepath.Join(root, DefaultContainerd))), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Imports) != 1 || m.Imports[0] != "/etc/containerd/conf.d/armhf-shim.toml" {
		t.Errorf("imports = %q, want the host path of the drop-in", m.Imports)
	}
	var d mainConfig
	if err := toml.Unmarshal([]byte(readFile(t, filepath.Join(root, "etc/containerd/conf.d/armhf-shim.toml"))), &d); err != nil {
		t.Fatal(err)
	}
	rt := d.Plugins[criPlugin(2)].(map[string]any)["containerd"].(map[string]any)["runtimes"].(map[string]any)["armhf"].(map[string]any)
	if bn := rt["options"].(map[string]any)["BinaryName"]; bn != "/usr/local/bin/armhf-runc" {
		t.Errorf("BinaryName = %v, want the host path /usr/local/bin/armhf-runc", bn)
	}
	if l, err := os.Readlink(filepath.Join(root, "usr/local/bin/armhf-runc")); err != nil || l != bin {
		t.Errorf("armhf-runc link -> %q (%v), want %s", l, err, bin)
	}
	var rec record
	if err := json.Unmarshal([]byte(readFile(t, statePath(filepath.Join(root, DefaultContainerd)))), &rec); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Wrote["/etc/containerd/conf.d/armhf-shim.toml"]; !ok || !contains(rec.CreatedDirs, "/etc/containerd/conf.d") {
		t.Errorf("record does not hold host paths: %+v", rec)
	}
	leaks(t, root)
	if again := run(t, o); !strings.Contains(again, "nothing to do") {
		t.Errorf("second install:\n%s", again)
	}

	un := o
	un.Uninstall = true
	run(t, un)
	if got := readFile(t, filepath.Join(root, DefaultContainerd)); got != debianContainerdConfig {
		t.Errorf("config.toml after uninstall:\n%s", got)
	}
	for _, p := range []string{"etc/containerd/conf.d", "etc/containerd/config.toml.armhf-shim-state"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("uninstall left %s", p)
		}
	}
}

// A record written with --root serves an uninstall that sees the host at
// another mount point: it holds host paths only.
func TestRootRecordMoves(t *testing.T) {
	root, bin := hostRoot(t)
	run(t, Options{Target: "docker", Root: root, Binary: bin})
	moved := filepath.Join(t.TempDir(), "host")
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	daemon := filepath.Join(moved, DefaultDockerConfig)
	var dj map[string]any
	json.Unmarshal([]byte(readFile(t, daemon)), &dj)
	if p := dj["runtimes"].(map[string]any)["armhf"].(map[string]any)["path"]; p != "/usr/local/bin/armhf-runc" {
		t.Errorf("daemon.json runtime path %v, want the host path", p)
	}
	run(t, Options{Target: "docker", Root: moved, Binary: bin, Uninstall: true})
	if got := readFile(t, daemon); got != "{\n  \"log-level\": \"warn\"\n}\n" {
		t.Errorf("daemon.json after uninstall:\n%s", got)
	}
	if _, err := os.Lstat(statePath(daemon)); err == nil {
		t.Error("record left")
	}
}

// An absolute symlink below the root names a host path: followed below
// the root, never on this machine.
func TestRootFollowsHostSymlinks(t *testing.T) {
	root, bin := hostRoot(t)
	cfg := filepath.Join(root, DefaultContainerd)
	real := filepath.Join(root, "srv/containerd.toml")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.Rename(cfg, real)
	os.Symlink("/srv/containerd.toml", cfg)
	run(t, Options{Target: "containerd", Root: root, Binary: bin, ContainerdVersion: "2.1.4"})
	if l, err := os.Readlink(cfg); err != nil || l != "/srv/containerd.toml" {
		t.Errorf("config.toml is no longer the link: %q %v", l, err)
	}
	if !strings.Contains(readFile(t, real), "imports = [\"/etc/containerd/conf.d/armhf-shim.toml\"]") {
		t.Errorf("the link's target below the root was not edited:\n%s", readFile(t, real))
	}
}

// Each target with --root writes below it only, host paths inside; the
// binary must be the host's.
func TestRootEveryTarget(t *testing.T) {
	for _, target := range []string{"docker", "containerd", "podman", "podman-runtime", "crio", "buildkit", "buildkitd"} {
		t.Run(target, func(t *testing.T) {
			root, bin := hostRoot(t)
			os.WriteFile(filepath.Join(root, DefaultContainerd), []byte("version = 2\n"), 0o644)
			before := tree(t, root)
			o := Options{Target: target, Root: root, Binary: bin, ContainerdVersion: "1.6.20"}
			out := run(t, o)
			leaks(t, root)
			// The host's default buildkitd.toml is what the packaged unit reads.
			if target == "buildkitd" && !strings.Contains(out, "systemctl enable --now armhf-buildkitd.socket") {
				t.Errorf("install buildkitd on the default file:\n%s", out)
			}
			o.Uninstall = true
			run(t, o)
			// The armhf-runc link stays, as after any uninstall: another
			// registration may run it.
			after := tree(t, root)
			delete(after, "usr/local/bin/armhf-runc")
			for p, c := range before {
				if after[p] != c {
					t.Errorf("uninstall did not give back %s: %q, want %q", p, after[p], c)
				}
			}
			for p := range after {
				// Backups stay: install never removes one.
				if _, ok := before[p]; !ok && !strings.HasSuffix(p, ".bak") {
					t.Errorf("uninstall left %s", p)
				}
			}
		})
	}
	root, _ := hostRoot(t)
	err := Run(Options{Target: "containerd", Root: root, ContainerdVersion: "1.6.20"})
	if err == nil || !strings.Contains(err.Error(), "--binary") {
		t.Errorf("this test binary, outside the root: err = %v, want a hint to --binary", err)
	}
	if err := Run(Options{Target: "docker-cli", Root: root, Binary: "/usr/local/bin/armhf-shim"}); err == nil || !strings.Contains(err.Error(), "without --root") {
		t.Errorf("docker-cli --root: err = %v", err)
	}
	if err := Run(Options{Target: "docker", Root: filepath.Join(root, "nope"), Binary: "/x"}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("missing root: err = %v", err)
	}
}

// tree maps every file, link and directory below root to its content, link
// target or "dir".
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			m[rel] = "-> " + l
		case fi.IsDir():
			m[rel] = "dir"
		default:
			b, _ := os.ReadFile(p)
			m[rel] = string(b)
		}
		return nil
	})
	return m
}
