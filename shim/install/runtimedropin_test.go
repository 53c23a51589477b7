package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// Issue 17.17: the runtime wrapper registered with podman
// (containers.conf [engine.runtimes]) and CRI-O (a runtime handler), as
// their TOML readers see it. CRI-O is not installable on Debian 12: its
// drop-in is checked by parsing it into the shape CRI-O reads.
func TestRuntimeDropInsParse(t *testing.T) {
	for _, def := range []bool{false, true} {
		var pc struct {
			Engine struct {
				Runtime  string              `toml:"runtime"`
				Runtimes map[string][]string `toml:"runtimes"`
			} `toml:"engine"`
		}
		if err := toml.Unmarshal(PodmanRuntimeDropIn("armhf", "/usr/local/bin/armhf-runc", def), &pc); err != nil {
			t.Fatal(err)
		}
		if got := pc.Engine.Runtimes["armhf"]; len(got) != 1 || got[0] != "/usr/local/bin/armhf-runc" {
			t.Errorf("podman runtimes: %v", pc.Engine.Runtimes)
		}
		if want := map[bool]string{true: "armhf"}[def]; pc.Engine.Runtime != want {
			t.Errorf("podman default %v: runtime %q", def, pc.Engine.Runtime)
		}

		var cc struct {
			Crio struct {
				Runtime struct {
					DefaultRuntime string `toml:"default_runtime"`
					Runtimes       map[string]struct {
						RuntimePath string `toml:"runtime_path"`
						RuntimeType string `toml:"runtime_type"`
					} `toml:"runtimes"`
				} `toml:"runtime"`
			} `toml:"crio"`
		}
		if err := toml.Unmarshal(CrioDropIn("armhf-2", "/opt/a b/armhf-runc", def), &cc); err != nil {
			t.Fatal(err)
		}
		h := cc.Crio.Runtime.Runtimes["armhf-2"]
		if h.RuntimePath != "/opt/a b/armhf-runc" || h.RuntimeType != "oci" || len(cc.Crio.Runtime.Runtimes) != 1 {
			t.Errorf("crio runtimes: %+v", cc.Crio.Runtime.Runtimes)
		}
		if want := map[bool]string{true: "armhf-2"}[def]; cc.Crio.Runtime.DefaultRuntime != want {
			t.Errorf("crio default %v: %q", def, cc.Crio.Runtime.DefaultRuntime)
		}
	}
}

// install writes only its own drop-in, idempotently; uninstall removes it
// and the directories it made; a drop-in of that name that is not ours is
// refused, or with --replace backed up and given back by uninstall.
func TestRuntimeDropInInstallUninstall(t *testing.T) {
	for target, rel := range map[string]string{"podman-runtime": DefaultPodmanRuntimeDropIn, "crio": DefaultCrioDropIn} {
		root, bin := setup(t)
		path := filepath.Join(root, rel)
		o := Options{Target: target, Binary: bin, Root: root, SetAsDefault: true}
		out := run(t, o)
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), filepath.Join(root, "bin", RuntimeLinkName)) || !strings.Contains(string(b), `"armhf"`) {
			t.Fatalf("%s: %s after install: %q %v\n%s", target, path, b, err, out)
		}
		if out := run(t, o); !strings.Contains(out, "nothing to do") {
			t.Errorf("%s: second install changed something:\n%s", target, out)
		}
		o.Uninstall = true
		run(t, o)
		if _, err := os.Stat(filepath.Dir(path)); err == nil {
			t.Errorf("%s: uninstall left %s", target, filepath.Dir(path))
		}

		// Someone else's file of that name.
		other := []byte("[engine]\n# theirs\n")
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, other, 0o644)
		o.Uninstall = false
		if err := Run(Options{Target: target, Binary: bin, Root: root, Out: &strings.Builder{}}); err == nil || !strings.Contains(err.Error(), "not written by armhf-shim") {
			t.Errorf("%s: foreign drop-in: %v", target, err)
		}
		if got, _ := os.ReadFile(path); string(got) != string(other) {
			t.Errorf("%s: refused install changed the file: %q", target, got)
		}
		o.Replace = true
		run(t, o)
		o.Uninstall = true
		run(t, o)
		if got, _ := os.ReadFile(path); string(got) != string(other) {
			t.Errorf("%s: uninstall after --replace gave back %q, want %q", target, got, other)
		}
		ents, _ := os.ReadDir(filepath.Dir(path))
		if len(ents) > 2 { // the file and one backup at most
			t.Errorf("%s: files left: %v", target, ents)
		}
	}
}
