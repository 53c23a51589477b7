package install

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	toml "github.com/pelletier/go-toml/v2"
)

// A daemon.json as an operator might have it, with keys install must keep.
const daemonJSON = `{
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "3"},
  "registry-mirrors": ["https://mirror.example"],
  "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}},
  "x-future-key": {"nested": [1, 2.5, "three", null, true]}
}
`

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v in:\n%s", err, b)
	}
	return m
}

// edit is a docker install of name at path.
func edit(name, path string, setDefault bool) DockerEdit {
	return DockerEdit{Name: name, Path: path, SetDefault: setDefault, Ours: func(p string) bool { return p == path }}
}

func TestDockerInstall(t *testing.T) {
	out, err := DockerInstall([]byte(daemonJSON), &record{}, edit("armhf", "/usr/local/bin/armhf-runc", true))
	if err != nil {
		t.Fatal(err)
	}
	got, want := decodeJSON(t, out), decodeJSON(t, []byte(daemonJSON))
	rts := got["runtimes"].(map[string]any)
	if rts["armhf"].(map[string]any)["path"] != "/usr/local/bin/armhf-runc" || got["default-runtime"] != "armhf" {
		t.Errorf("runtime not registered:\n%s", out)
	}
	delete(rts, "armhf")
	delete(got, "default-runtime")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("other keys changed:\n%s", out)
	}
	// Idempotent: the second run returns its input byte for byte.
	again, err := DockerInstall(out, &record{}, edit("armhf", "/usr/local/bin/armhf-runc", true))
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("second install changed the file:\n%s", again)
	}
	// From nothing.
	out, err = DockerInstall(nil, &record{}, edit("armhf", "/x/armhf-runc", false))
	if err != nil || !reflect.DeepEqual(decodeJSON(t, out), map[string]any{"runtimes": map[string]any{"armhf": map[string]any{"path": "/x/armhf-runc"}}}) {
		t.Errorf("fresh daemon.json: %s %v", out, err)
	}
	// An existing entry keeps its other members (runtimeArgs).
	// An existing entry of ours (install recorded it) keeps its other
	// members (runtimeArgs).
	rec := &record{Docker: &dockerRecord{Runtimes: map[string]*runtimeRecord{"armhf": {Path: "/old"}}}}
	out, _ = DockerInstall([]byte(`{"runtimes":{"armhf":{"path":"/old","runtimeArgs":["--debug"]}}}`), rec, edit("armhf", "/new", false))
	if e := decodeJSON(t, out)["runtimes"].(map[string]any)["armhf"].(map[string]any); e["path"] != "/new" || e["runtimeArgs"] == nil {
		t.Errorf("entry: %v", e)
	}
}

func TestDockerMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"truncated":        `{"log-driver": `,
		"array":            `[]`,
		"runtimes array":   `{"runtimes": []}`,
		"runtime a string": `{"runtimes": {"armhf": "x"}}`,
	} {
		if _, err := DockerInstall([]byte(in), &record{}, edit("armhf", "/p", false)); err == nil || !strings.Contains(err.Error(), "left unchanged") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestDockerUninstall(t *testing.T) {
	rec := &record{}
	in, _ := DockerInstall([]byte(daemonJSON), rec, edit("armhf", "/usr/local/bin/armhf-runc", true))
	ours := edit("armhf", "/usr/local/bin/armhf-runc", true).Ours
	out, err := DockerUninstall(in, rec, "armhf", ours)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decodeJSON(t, out), decodeJSON(t, []byte(daemonJSON))) {
		t.Errorf("uninstall did not restore the original:\n%s", out)
	}
	if _, err := DockerUninstall([]byte(`{"runtimes":{"armhf":{"path":"/usr/bin/crun"}}}`), &record{}, "armhf", ours); err == nil || !strings.Contains(err.Error(), "not this armhf-shim") {
		t.Errorf("foreign runtime: %v", err)
	}
	if out, _ := DockerUninstall([]byte(daemonJSON), &record{}, "armhf", ours); string(out) != daemonJSON {
		t.Error("uninstall of an absent runtime changed the file")
	}
}

// setup makes a directory with the armhf-shim binary.
func setup(t *testing.T) (dir, bin string) {
	dir = t.TempDir()
	bin = filepath.Join(dir, "bin", "armhf-shim")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755)
	return dir, bin
}

var clock = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }

func TestRunDockerIdempotentBackupDryRun(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "etc", "docker", "daemon.json")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, []byte(daemonJSON), 0o600)
	var out bytes.Buffer
	opts := Options{Target: "docker", Config: cfg, Binary: bin, Out: &out, Now: clock, SetAsDefault: true}

	dry := opts
	dry.DryRun = true
	if err := Run(dry); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(cfg); string(b) != daemonJSON {
		t.Fatal("--dry-run changed the file")
	}
	if !strings.Contains(out.String(), `+  "default-runtime": "armhf"`) || !strings.Contains(out.String(), "would create symlink") {
		t.Errorf("dry-run output:\n%s", out.String())
	}
	if _, err := os.Lstat(filepath.Join(dir, "bin", "armhf-runc")); !os.IsNotExist(err) {
		t.Error("--dry-run created the link")
	}

	out.Reset()
	if err := Run(opts); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "bin", "armhf-runc")
	if target, err := os.Readlink(link); err != nil || target != bin {
		t.Errorf("link %s -> %s (%v)", link, target, err)
	}
	backup := cfg + ".armhf-shim-20261123-120000.bak"
	if b, err := os.ReadFile(backup); err != nil || string(b) != daemonJSON {
		t.Errorf("backup: %v", err)
	}
	if st, _ := os.Stat(cfg); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the original 0600", st.Mode())
	}
	if !strings.Contains(out.String(), "to apply: ") || strings.Contains(out.String(), "pidof") {
		t.Errorf("no apply hint, or one that signals every dockerd:\n%s", out.String())
	}
	written, _ := os.ReadFile(cfg)

	out.Reset()
	os.Remove(backup)
	if err := Run(opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nothing to do") {
		t.Errorf("second install: %s", out.String())
	}
	if b, _ := os.ReadFile(cfg); !bytes.Equal(b, written) {
		t.Error("second install rewrote the file")
	}
	if _, err := os.Stat(backup); !os.IsNotExist(err) {
		t.Error("second install made a backup")
	}

	// Uninstall restores the content.
	un := opts
	un.Uninstall = true
	if err := Run(un); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cfg)
	if !reflect.DeepEqual(decodeJSON(t, b), decodeJSON(t, []byte(daemonJSON))) {
		t.Errorf("after uninstall:\n%s", b)
	}
}

func TestRunMalformedLeavesFileUnchanged(t *testing.T) {
	dir, bin := setup(t)
	for _, c := range []struct{ target, file, content string }{
		{"docker", "daemon.json", `{"runtimes": {`},
		{"containerd", "config.toml", "version = 2\n[plugins\n"},
		{"podman", "armhf-shim.json", `{"version": `},
		{"buildkit", "armhf-shim-buildkit.conf", "garbage without a section\n"},
	} {
		p := filepath.Join(dir, c.target, c.file)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(c.content), 0o644)
		var out bytes.Buffer
		err := Run(Options{Target: c.target, Config: p, Binary: bin, Out: &out, ContainerdVersion: "1.7.0", LinkDir: filepath.Join(dir, "lk")})
		if err == nil || !strings.Contains(err.Error(), "left unchanged") || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want a clear error naming %s", c.target, err, p)
		}
		if b, _ := os.ReadFile(p); string(b) != c.content {
			t.Errorf("%s: file changed", c.target)
		}
		if m, _ := filepath.Glob(p + ".*"); len(m) != 0 {
			t.Errorf("%s: left %v", c.target, m)
		}
	}
	if err := Run(Options{Target: "lxd", Binary: bin}); err == nil || !strings.Contains(err.Error(), "docker, containerd, podman, buildkit") {
		t.Errorf("unknown target: %v", err)
	}
}

func TestContainerdDropIn(t *testing.T) {
	for _, v := range []int{2, 3} {
		for _, withRunc := range []bool{false, true} {
			var m map[string]any
			if err := toml.Unmarshal(ContainerdDropIn(v, "armhf", "/usr/local/bin/armhf-runc", true, withRunc), &m); err != nil {
				t.Fatalf("v%d: %v", v, err)
			}
			ctd := m["plugins"].(map[string]any)[criPlugin(v)].(map[string]any)["containerd"].(map[string]any)
			rts := ctd["runtimes"].(map[string]any)
			rt := rts["armhf"].(map[string]any)
			if m["version"] != int64(v) || ctd["default_runtime_name"] != "armhf" || rt["runtime_type"] != "io.containerd.runc.v2" ||
				rt["options"].(map[string]any)["BinaryName"] != "/usr/local/bin/armhf-runc" {
				t.Errorf("v%d drop-in: %v", v, m)
			}
			// runc as containerd's defaults have it: the type, no options.
			runc, has := rts["runc"].(map[string]any)
			if has != withRunc || has && !reflect.DeepEqual(runc, map[string]any{"runtime_type": "io.containerd.runc.v2"}) {
				t.Errorf("v%d withRunc=%v: runc = %v", v, withRunc, rts["runc"])
			}
		}
	}
}

func TestAddRemoveImport(t *testing.T) {
	const drop = "/etc/containerd/conf.d/armhf-shim.toml"
	const main = "/etc/containerd/config.toml"
	cases := []struct {
		name, in string
		imports  []string
	}{
		{"no imports", "version = 2\n# keep me\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"p:1\"\n", nil},
		{"one-line imports", "version = 2\nimports = [\"/etc/other.toml\"] # mine\n[plugins.x]\n  a = 1\n", []string{"/etc/other.toml"}},
		{"multi-line imports with comments", "version = 2\nimports = [\n  \"/a.toml\", # first ]\n  '/b].toml',\n]\n[grpc]\n  address = \"/run/x\"\n", []string{"/a.toml", "/b].toml"}},
		{"quoted key", "version = 2\n\"imports\" = [\"/a.toml\"]\n", []string{"/a.toml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before map[string]any
			toml.Unmarshal([]byte(c.in), &before)
			out, err := AddImport([]byte(c.in), c.imports, main, drop)
			if err != nil {
				t.Fatal(err)
			}
			var after map[string]any
			if err := toml.Unmarshal(out, &after); err != nil {
				t.Fatalf("result is not TOML: %v\n%s", err, out)
			}
			want := append(append([]any{}, toAny(c.imports)...), drop)
			if !reflect.DeepEqual(after["imports"], want) {
				t.Errorf("imports = %v, want %v\n%s", after["imports"], want, out)
			}
			delete(after, "imports")
			delete(before, "imports")
			if !reflect.DeepEqual(after, before) {
				t.Errorf("other keys changed:\n%s", out)
			}
			if strings.Contains(c.in, "# keep me") && !strings.Contains(string(out), "# keep me") {
				t.Error("comment lost")
			}
			again, _ := AddImport(out, append(c.imports, drop), main, drop)
			if !bytes.Equal(again, out) {
				t.Error("not idempotent")
			}
			back, err := RemoveImport(out, drop)
			if err != nil {
				t.Fatal(err)
			}
			var restored map[string]any
			toml.Unmarshal(back, &restored)
			toml.Unmarshal([]byte(c.in), &before)
			if !reflect.DeepEqual(restored, before) {
				t.Errorf("RemoveImport:\n%s", back)
			}
		})
	}
	// In a CRLF file the added line ends as the others do.
	if out, _ := AddImport([]byte("version = 2\r\n"), nil, main, drop); !bytes.HasPrefix(out, []byte("imports = [\""+drop+"\"]  # added by armhf-shim install containerd\r\nversion")) {
		t.Errorf("CRLF: %q", out)
	} else if back, _ := RemoveImport(out, drop); string(back) != "version = 2\r\n" {
		t.Errorf("CRLF, removed: %q", back)
	}
	// A glob import already covers the drop-in.
	in := []byte("version = 2\nimports = [\"conf.d/*.toml\"]\n")
	if out, _ := AddImport(in, []string{"conf.d/*.toml"}, main, drop); !bytes.Equal(out, in) {
		t.Errorf("glob: %s", out)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func TestPlanContainerdVersions(t *testing.T) {
	dir, bin := setup(t)
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "config.toml")
		if content != "" {
			os.WriteFile(p, []byte(content), 0o644)
		}
		return p
	}
	cases := []struct {
		name, content, version, wantErr string
		dropVersion                     int64
	}{
		{"absent config, containerd 1.6", "", "1.6.20", "", 2},
		{"absent config, containerd 2.0", "", "2.0.1", "", 3},
		{"v3 config", "version = 3\n", "2.1.0", "", 3},
		{"v2 config with CRI settings on 2.0", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"p\"\n", "2.0.0", "", 2},
		{"v2 config with CRI settings on 1.7", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"p\"\n", "1.7.29", "", -1},
		{"v2 config with CRI settings on 1.6", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"p\"\n", "1.6.20", "", -1},
		{"v2 config with CRI settings, no containerd", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"p\"\n", "", "", -1},
		{"v3 config on 1.7", "version = 3\n", "1.7.29", "cannot read", 0},
		{"v1 config", "[plugins.cri]\n  x = 1\n", "1.6.20", "version 1", 0},
		{"version 1", "version = 1\n", "1.6.20", "version = 1", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(c.content)
			var out bytes.Buffer
			o := Options{Target: "containerd", Config: p, Binary: bin, Out: &out, ContainerdVersion: c.version}
			if c.version == "" {
				o.Containerd = filepath.Join(dir, "no-containerd")
			}
			err := Run(o)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				if c.content != "" {
					if b, _ := os.ReadFile(p); string(b) != c.content {
						t.Error("config changed")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.dropVersion < 0 {
				// containerd 1.x or unknown, and a CRI section: the
				// handler goes into it, no drop-in; uninstall gives back
				// the bytes.
				if _, err := os.Stat(DropInPath(p)); !os.IsNotExist(err) {
					t.Error("a drop-in was written beside a CRI section")
				}
				var m mainConfig
				if err := toml.Unmarshal([]byte(readFile(t, p)), &m); err != nil || handlerNames(m) != `"armhf", "runc"` {
					t.Errorf("config.toml's handlers %s (%v):\n%s", handlerNames(m), err, readFile(t, p))
				}
				if s := InspectContainerd(p); !s.InPlace || !s.Present || !s.Imported || s.DropIn != p || s.Err != nil || !strings.Contains(s.Handlers, `"armhf"`) {
					t.Errorf("InspectContainerd: %+v", s)
				}
				if err := Run(Options{Target: "containerd", Config: p, Binary: bin, Out: &out, Uninstall: true, ContainerdVersion: c.version, Containerd: o.Containerd}); err != nil {
					t.Fatal(err)
				}
				if got := readFile(t, p); got != c.content {
					t.Errorf("after uninstall %q, want %q", got, c.content)
				}
				return
			}
			var d map[string]any
			b, _ := os.ReadFile(DropInPath(p))
			if err := toml.Unmarshal(b, &d); err != nil || d["version"] != c.dropVersion {
				t.Errorf("drop-in version %v (%v)", d["version"], err)
			}
			var m mainConfig
			mb, _ := os.ReadFile(p)
			toml.Unmarshal(mb, &m)
			if !imported(m.Imports, p, DropInPath(p)) {
				t.Errorf("main config does not import the drop-in:\n%s", mb)
			}
			if s := InspectContainerd(p); s.InPlace || !s.Present || !s.Imported || s.Err != nil || !strings.Contains(s.Handlers, `"armhf"`) {
				t.Errorf("InspectContainerd: %+v", s)
			}
			// Uninstall removes both again.
			if err := Run(Options{Target: "containerd", Config: p, Binary: bin, Out: &out, Uninstall: true, ContainerdVersion: c.version}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(DropInPath(p)); !os.IsNotExist(err) {
				t.Error("drop-in left")
			}
		})
	}
	_ = dir
}

// TestContainerdAcceptsDropIn has Debian's real containerd merge the main
// config and the drop-in: the handler must be in its effective config.
func TestContainerdAcceptsDropIn(t *testing.T) {
	ctd := testenv.RequireCommand(t, "containerd") // with docker.io
	_, bin := setup(t)
	p := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(p, []byte("version = 2\n[grpc]\n  address = \"/run/armhf-shim-test/containerd.sock\"\n"), 0o644)
	var out bytes.Buffer
	if err := Run(Options{Target: "containerd", Config: p, Binary: bin, Out: &out, SetAsDefault: true}); err != nil {
		t.Fatal(err)
	}
	dump, err := exec.Command(ctd, "--config", p, "config", "dump").CombinedOutput()
	if err != nil {
		t.Fatalf("containerd config dump: %v\n%s", err, dump)
	}
	var eff map[string]any
	if err := toml.Unmarshal(dump, &eff); err != nil {
		t.Fatalf("dump: %v", err)
	}
	cri := eff["plugins"].(map[string]any)["io.containerd.grpc.v1.cri"].(map[string]any)["containerd"].(map[string]any)
	rt, _ := cri["runtimes"].(map[string]any)["armhf"].(map[string]any)
	if rt == nil || rt["runtime_type"] != "io.containerd.runc.v2" || cri["default_runtime_name"] != "armhf" {
		t.Fatalf("effective config lacks the handler:\n%s", dump)
	}
	if opts, _ := rt["options"].(map[string]any); opts["BinaryName"] != filepath.Join(filepath.Dir(bin), "armhf-runc") {
		t.Errorf("options = %v", rt["options"])
	}
	if eff["grpc"].(map[string]any)["address"] != "/run/armhf-shim-test/containerd.sock" {
		t.Error("the main config's own settings were lost")
	}
}

func TestPodmanAndBuildkit(t *testing.T) {
	dir, bin := setup(t)
	hook := filepath.Join(dir, "hooks.d", "armhf-shim.json")
	var out bytes.Buffer
	if err := Run(Options{Target: "podman", Config: hook, Binary: bin, Out: &out}); err != nil {
		t.Fatal(err)
	}
	var h hooksFile
	b, _ := os.ReadFile(hook)
	if err := json.Unmarshal(b, &h); err != nil || h.Version != "1.0.0" || h.Hook.Path != bin ||
		!reflect.DeepEqual(h.Hook.Args, []string{"armhf-shim", "hook"}) || !h.When.Always ||
		!reflect.DeepEqual(h.Stages, []string{"createRuntime", "poststop"}) {
		t.Errorf("hooks file %s: %+v %v", b, h, err)
	}
	if !strings.Contains(out.String(), "--personality=LINUX32") {
		t.Errorf("podman output lacks the personality hint:\n%s", out.String())
	}

	drop := filepath.Join(dir, "docker.service.d", "armhf-shim-buildkit.conf")
	linkDir := filepath.Join(dir, "lib", "buildkit")
	out.Reset()
	if err := Run(Options{Target: "buildkit", Config: drop, LinkDir: linkDir, Binary: bin, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(filepath.Join(linkDir, "runc")); target != bin {
		t.Errorf("runc link -> %q", target)
	}
	db, _ := os.ReadFile(drop)
	if !strings.Contains(string(db), "[Service]\nEnvironment=\"PATH="+linkDir+":/usr/local/sbin:") {
		t.Errorf("drop-in:\n%s", db)
	}
	if !strings.Contains(out.String(), "--oci-worker-binary=") || !strings.Contains(out.String(), "daemon-reload") {
		t.Errorf("buildkit output:\n%s", out.String())
	}

	for _, target := range []string{"podman", "buildkit"} {
		if err := Run(Options{Target: target, Config: map[string]string{"podman": hook, "buildkit": drop}[target], LinkDir: linkDir, Binary: bin, Out: &out, Uninstall: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(hook); !os.IsNotExist(err) {
		t.Error("hook file left")
	}
	if _, err := os.Lstat(filepath.Join(linkDir, "runc")); !os.IsNotExist(err) {
		t.Error("runc link left")
	}
}

func TestLinkNeverReplacesAFile(t *testing.T) {
	dir, bin := setup(t)
	// A real runc where the link would go: refused.
	linkDir := filepath.Join(dir, "lk")
	os.MkdirAll(linkDir, 0o755)
	os.WriteFile(filepath.Join(linkDir, "runc"), []byte("real"), 0o755)
	var out bytes.Buffer
	err := Run(Options{Target: "buildkit", Config: filepath.Join(dir, "d.conf"), LinkDir: linkDir, Binary: bin, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Errorf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(linkDir, "runc")); string(b) != "real" {
		t.Error("file replaced")
	}
}

func TestUnifiedDiff(t *testing.T) {
	d := unifiedDiff("/f", []byte("a\nb\nc\nd\ne\nf\ng\nh\n"), []byte("a\nb\nc\nD\ne\nf\ng\nh\ni\n"))
	want := "--- a/f\n+++ b/f\n@@ -1,8 +1,9 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n+i\n"
	if d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}
	d = unifiedDiff("/f", nil, []byte("x\n"))
	if d != "--- /dev/null\n+++ b/f\n@@ -0,0 +1,1 @@\n+x\n" {
		t.Errorf("new file diff:\n%s", d)
	}
}

// The lean armhf-runc binary beside armhf-shim (as make build ships them)
// is registered as it is; without it, an armhf-runc link to armhf-shim is
// made.
func TestPrefersLeanRuntime(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "armhf-shim")
	os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755)
	cfg := filepath.Join(dir, "daemon.json")
	plan, err := BuildPlan(Options{Target: "docker", Config: cfg, Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Links) != 1 || plan.Links[0].Target != bin || plan.Links[0].Path != filepath.Join(dir, "armhf-runc") {
		t.Fatalf("without a lean binary: links %+v", plan.Links)
	}
	lean := filepath.Join(dir, "armhf-runc")
	os.WriteFile(lean, []byte("#!/bin/true\n"), 0o755)
	for _, target := range []string{"docker", "buildkit"} {
		plan, err = BuildPlan(Options{Target: target, Config: filepath.Join(dir, target+".conf"), Binary: bin, LinkDir: filepath.Join(dir, "links")})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range plan.Links {
			if l.Target != "" && l.Target != lean {
				t.Errorf("%s: link %s -> %s, want the lean %s", target, l.Path, l.Target, lean)
			}
			if l.Path == lean {
				t.Errorf("%s: would replace the lean binary with a link", target)
			}
		}
	}
	var doc map[string]map[string]map[string]string
	if err := json.Unmarshal(plan0(t, Options{Target: "docker", Config: cfg, Binary: bin}).Files[0].New, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["runtimes"]["armhf"]["path"] != lean {
		t.Errorf("daemon.json registers %q, want %q", doc["runtimes"]["armhf"]["path"], lean)
	}
}

func plan0(t *testing.T, o Options) Plan {
	t.Helper()
	p, err := BuildPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A daemon.json that is a symlink (managed elsewhere) is edited where it
// points, and stays a symlink.
func TestRunFollowsSymlinkedConfig(t *testing.T) {
	dir, bin := setup(t)
	real := filepath.Join(dir, "managed", "daemon.json")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte(daemonJSON), 0o640)
	cfg := filepath.Join(dir, "etc", "docker", "daemon.json")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.Symlink("../../managed/daemon.json", cfg)
	var out bytes.Buffer
	if err := Run(Options{Target: "docker", Config: cfg, Binary: bin, Out: &out, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(cfg); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symlink: %v", cfg, err)
	}
	b, _ := os.ReadFile(real)
	if rt, _ := decodeJSON(t, b)["runtimes"].(map[string]any); rt["armhf"] == nil || rt["nvidia"] == nil {
		t.Errorf("the file the symlink points to was not edited:\n%s", b)
	}
	if st, _ := os.Stat(real); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the original 0640", st.Mode())
	}
}

// A change that fails undoes the ones made before it: here daemon.json is
// written, then the armhf-runc link cannot be made (a non-executable file
// is in its place).
func TestRunAllOrNothing(t *testing.T) {
	dir, bin := setup(t)
	os.WriteFile(filepath.Join(dir, "bin", "armhf-runc"), []byte("not a runtime"), 0o644)
	cfg := filepath.Join(dir, "daemon.json")
	os.WriteFile(cfg, []byte(daemonJSON), 0o600)
	var out bytes.Buffer
	err := Run(Options{Target: "docker", Config: cfg, Binary: bin, Out: &out, Now: clock})
	if err == nil || !strings.Contains(err.Error(), "not a symlink") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(cfg); string(b) != daemonJSON {
		t.Errorf("daemon.json left changed:\n%s", b)
	}
	if strings.Contains(out.String(), "wrote") {
		t.Errorf("reports a change that was undone:\n%s", out.String())
	}
	if m, _ := filepath.Glob(cfg + ".armhf-shim-*.bak"); len(m) != 0 {
		t.Errorf("backups of an undone change left: %q", m)
	}
}

// The drop-in declares runc exactly when config.toml does not: containerd
// 1.x would otherwise have no runc handler (issue 20), and a runc the
// user declared is theirs.
func TestContainerdDropInDeclaresRuncUnlessConfigDoes(t *testing.T) {
	_, bin := setup(t)
	for _, c := range []struct {
		name, config, version string
		runc                  bool
	}{
		{"no config", "", "1.6.20", true},
		{"minimal", "version = 2\n", "1.6.20", true},
		{"v3 CRI without runc", "version = 3\n[plugins.'io.containerd.cri.v1.runtime']\n  enable_selinux = false\n", "2.1.0", true},
		{"v3 runc declared", "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n  runtime_type = 'io.containerd.runc.v2'\n", "2.1.0", false},
		{"v2 runc declared", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n", "2.0.0", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.toml")
			if c.config != "" {
				os.WriteFile(p, []byte(c.config), 0o644)
			}
			var out bytes.Buffer
			if err := Run(Options{Target: "containerd", Config: p, Binary: bin, Out: &out, ContainerdVersion: c.version}); err != nil {
				t.Fatal(err)
			}
			drop := readFile(t, DropInPath(p))
			if got := strings.Contains(drop, ".runtimes.runc]"); got != c.runc {
				t.Errorf("drop-in declares runc: %v, want %v:\n%s", got, c.runc, drop)
			}
		})
	}
}

// The version is read from `containerd --version` as each generation
// prints it (Debian's 1.6.20, upstream's 2.x, Docker's containerd.io).
func TestParseContainerdVersion(t *testing.T) {
	for out, want := range map[string]string{
		"containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n": "1.6.20",
		"containerd github.com/containerd/containerd/v2 v2.4.2 \n":                      "2.4.2",
		"containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da\n":    "1.7.27",
		"containerd: command not found\n":                                               "",
	} {
		if got := parseContainerdVersion([]byte(out)); got != want {
			t.Errorf("%q: %q, want %q", out, got, want)
		}
	}
	_, bin := setup(t)
	err := Run(Options{Target: "containerd", Config: filepath.Join(t.TempDir(), "config.toml"), Binary: bin, ContainerdVersion: "latest"})
	if err == nil || !strings.Contains(err.Error(), "--containerd-version \"latest\"") || !strings.Contains(err.Error(), "1.6.20") {
		t.Errorf("a version that is none: err = %v", err)
	}
	// --containerd names the binary asked: one that prints a 1.x version
	// makes a version 3 config an error naming it.
	fake := filepath.Join(t.TempDir(), "containerd")
	os.WriteFile(fake, []byte("#!/bin/sh\necho 'containerd github.com/containerd/containerd 1.7.2 x'\n"), 0o755)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(cfg, []byte("version = 3\n"), 0o644)
	err = Run(Options{Target: "containerd", Config: cfg, Binary: bin, Containerd: fake, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "containerd 1.7.2 (as "+fake+" --version says)") {
		t.Errorf("version 3 config, containerd 1.7.2: err = %v", err)
	}
}

// Plan.Changes: a plan that would only rewrite install's own record (one
// an older armhf-shim wrote in another layout) changes nothing of the
// user's: setup must not take such a target for its own.
func TestPlanChangesIgnoresRecordOnly(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "daemon.json")
	os.WriteFile(cfg, []byte("{}\n"), 0o644)
	o := Options{Target: "docker", Config: cfg, Binary: bin}
	run(t, o)
	p, err := BuildPlan(o)
	if err != nil || p.Changes() {
		t.Fatalf("after install: changes %v (%v)", p.Changes(), err)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(readFile(t, statePath(cfg))), &rec); err != nil {
		t.Fatal(err)
	}
	compact, _ := json.Marshal(rec)
	os.WriteFile(statePath(cfg), compact, 0o644)
	p, err = BuildPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) == 0 {
		t.Fatalf("the record's layout changed, the plan does not rewrite it: the test shows nothing")
	}
	if p.Changes() {
		t.Errorf("a record-only plan changes something: %s", p.Files[0].Path)
	}
	// The node installer's question is the same one, asked under the lock.
	o.Out = &bytes.Buffer{}
	if ch, err := RunChanged(o); err != nil || ch {
		t.Errorf("RunChanged = %v (%v) for a record-only plan: the node installer would restart containerd for nothing", ch, err)
	}
}

// The drop-in is written before config.toml imports it, and on uninstall
// goes after the import: containerd refuses to start on a missing import,
// which an install killed between the two writes would otherwise leave.
func TestContainerdDropInWrittenBeforeItsImport(t *testing.T) {
	for _, old := range []string{"", "version = 2\n"} {
		dir, bin := setup(t)
		cfg := filepath.Join(dir, "config.toml")
		drop := DropInPath(cfg)
		if old != "" {
			os.WriteFile(cfg, []byte(old), 0o644)
		}
		for _, un := range []bool{false, true} {
			o := Options{Target: "containerd", Config: cfg, Binary: bin, ContainerdVersion: "1.7.27", Uninstall: un}
			if err := o.defaults(); err != nil {
				t.Fatal(err)
			}
			at := map[string]int{}
			for i, f := range plan0(t, o).Files {
				at[f.Path] = i
			}
			if _, ok := at[drop]; !ok {
				t.Fatalf("config %q, uninstall %v: the plan does not write %s", old, un, drop)
			}
			if un != (at[drop] > at[cfg]) {
				t.Errorf("config %q, uninstall %v: %s is written at %d, config.toml at %d", old, un, drop, at[drop], at[cfg])
			}
			if !un {
				run(t, o)
			}
		}
	}
}

// A file config.toml imports with a CRI section of its own (the NVIDIA
// toolkit's conf.d/99-nvidia.toml, say): containerd 1.x lets it and the
// drop-in (or config.toml's section, with the handler in it) replace each
// other whole, so install refuses and says what to add to that file;
// containerd 2.x merges them key by key, so the drop-in is fine there.
func TestContainerd1xRefusesAnImportWithACRISection(t *testing.T) {
	nvidia := "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia]\n  runtime_type = \"io.containerd.runc.v2\"\n"
	for _, c := range []struct{ name, main, other, via string }{
		{"glob import", "version = 2\nimports = [\"conf.d/*.toml\"]\n", "conf.d/99-nvidia.toml", ""},
		{"CRI section too", "version = 2\nimports = [\"other.toml\"]\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"p\"\n", "other.toml", ""},
		{"imported by an import", "version = 2\nimports = [\"other.toml\"]\n", "conf.d/99-nvidia.toml", "version = 2\nimports = [\"conf.d/99-nvidia.toml\"]\n"},
	} {
		for _, ver := range []string{"1.7.27", "2.1.4"} {
			dir, bin := setup(t)
			cfg := filepath.Join(dir, "config.toml")
			os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755)
			os.WriteFile(cfg, []byte(c.main), 0o644)
			if c.via != "" {
				os.WriteFile(filepath.Join(dir, "other.toml"), []byte(c.via), 0o644)
			}
			other := filepath.Join(dir, c.other)
			os.WriteFile(other, []byte(nvidia), 0o644)
			var out bytes.Buffer
			err := Run(Options{Target: "containerd", Config: cfg, Binary: bin, ContainerdVersion: ver, Out: &out, Now: clock})
			if ver == "2.1.4" {
				if err != nil {
					t.Errorf("%s, containerd %s: %v", c.name, ver, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "imports "+other) || !strings.Contains(err.Error(), "runtimes.armhf.options]") {
				t.Errorf("%s, containerd %s: want a refusal naming %s with the lines to add: %v", c.name, ver, other, err)
			}
			if got := readFile(t, cfg); got != c.main {
				t.Errorf("%s, containerd %s: config.toml changed:\n%s", c.name, ver, got)
			}
		}
	}
}
