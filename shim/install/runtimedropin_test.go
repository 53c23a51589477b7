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

// An operator's containers.conf that already declares a runtime of the
// name install podman-runtime registers: the drop-in, read after it, would
// replace it in every podman command without a word. install refuses,
// naming it, unless --replace; a runtime of another name, or one that is
// already armhf-shim's, is no conflict. containers.conf is never touched.
func TestPodmanRuntimeNameTaken(t *testing.T) {
	const operator = "# site runtimes\n[engine]\nruntime = \"runc\"\n\n[engine.runtimes]\nrunc = [\"/usr/sbin/runc\"]\narmhf = [\"/opt/qemu-wrap/bin/armhf-oci\"]\n"
	for _, tc := range []struct {
		name, file, conf string
		opts             Options
		refused          string // "" installs
	}{
		{"theirs in containers.conf", "etc/containers/containers.conf", operator, Options{}, `already declares the podman runtime "armhf" (/opt/qemu-wrap/bin/armhf-oci)`},
		{"theirs in the packaged file", "usr/share/containers/containers.conf", operator, Options{}, "usr/share/containers/containers.conf already declares"},
		{"theirs in a drop-in read later", "etc/containers/containers.conf.d/zz-site.conf", operator, Options{}, "zz-site.conf already declares"},
		{"--replace", "etc/containers/containers.conf", operator, Options{Replace: true}, ""},
		{"another name", "etc/containers/containers.conf", operator, Options{RuntimeName: "armhf-shim"}, ""},
		{"already armhf-shim's", "etc/containers/containers.conf", "[engine.runtimes]\narmhf = [\"/usr/local/bin/armhf-runc\"]\n", Options{}, ""},
		{"no runtimes", "etc/containers/containers.conf", "[containers]\nlog_size_max = 1\n", Options{}, ""},
	} {
		root, bin := setup(t)
		conf := filepath.Join(root, tc.file)
		os.MkdirAll(filepath.Dir(conf), 0o755)
		os.WriteFile(conf, []byte(tc.conf), 0o644)
		o := tc.opts
		o.Target, o.Binary, o.Root, o.Out = "podman-runtime", bin, root, &strings.Builder{}
		err := Run(o)
		dropIn := filepath.Join(root, DefaultPodmanRuntimeDropIn)
		_, statErr := os.Stat(dropIn)
		switch {
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%s: install: %v, want refused naming %q", tc.name, err, tc.refused)
		case tc.refused != "" && statErr == nil:
			t.Errorf("%s: refused install wrote %s", tc.name, dropIn)
		case tc.refused == "" && err != nil:
			t.Errorf("%s: install: %v", tc.name, err)
		}
		if b, _ := os.ReadFile(conf); string(b) != tc.conf {
			t.Errorf("%s: %s changed: %q", tc.name, conf, b)
		}
	}
}

// Debian 12's podman pulls in crun, not runc (Depends: crun | runc), and
// runs its runtime with an empty PATH: a wrapper that finds no runc there
// fails every container it is given. install podman-runtime
// --set-as-default, which gives it every container, refuses on such a
// host; without it, it installs and says podman run --runtime fails.
func TestPodmanRuntimeWithoutRunc(t *testing.T) {
	real := wrapperRuntime
	t.Cleanup(func() { wrapperRuntime = real })
	const why = `no real OCI runtime "runc" or "buildkit-runc" (from default) found on PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`
	for _, tc := range []struct {
		name       string
		found      bool
		setDefault bool
		refused    bool
		note       string
	}{
		{"crun only, --set-as-default", false, true, true, ""},
		{"crun only", false, false, false, "podman run --runtime armhf fails until the wrapper finds a real runtime: " + why},
		{"runc, --set-as-default", true, true, false, "without --set-as-default, run armhf containers with podman run --runtime armhf"},
	} {
		wrapperRuntime = func(root, binary string) string {
			if tc.found {
				return ""
			}
			return why
		}
		root, bin := setup(t)
		var out strings.Builder
		err := Run(Options{Target: "podman-runtime", Binary: bin, Root: root, SetAsDefault: tc.setDefault, Out: &out})
		_, statErr := os.Stat(filepath.Join(root, DefaultPodmanRuntimeDropIn))
		switch {
		case tc.refused && (err == nil || !strings.Contains(err.Error(), "every podman run would fail") || !strings.Contains(err.Error(), why)):
			t.Errorf("%s: %v, want refused", tc.name, err)
		case tc.refused && statErr == nil:
			t.Errorf("%s: refused, yet the drop-in was written", tc.name)
		case !tc.refused && (err != nil || statErr != nil):
			t.Errorf("%s: %v (drop-in: %v)", tc.name, err, statErr)
		case !strings.Contains(out.String(), tc.note):
			t.Errorf("%s: output lacks %q:\n%s", tc.name, tc.note, out.String())
		}
	}
}

// install podman-runtime --set-as-default puts every podman container
// through the wrapper, which execs runc: where podman's default was
// another runtime (crun, which podman picks first when it is installed,
// or a containers.conf's runtime), the output says so.
func TestPodmanRuntimeDefaultWas(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		note  string // "" none
	}{
		{"crun installed, podman's choice", map[string]string{"usr/bin/crun": "#!/bin/true\n"}, "podman's default runtime was crun"},
		{"containers.conf says crun", map[string]string{"etc/containers/containers.conf": "[engine]\nruntime = \"crun\"\n"}, "podman's default runtime was crun"},
		{"containers.conf says runc over crun", map[string]string{"usr/bin/crun": "#!/bin/true\n", "etc/containers/containers.conf": "[engine]\nruntime = \"runc\"\n"}, ""},
		{"runc alone", nil, ""},
	} {
		root, bin := setup(t)
		for f, content := range tc.files {
			os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
			os.WriteFile(filepath.Join(root, f), []byte(content), 0o755)
		}
		out := run(t, Options{Target: "podman-runtime", Binary: bin, Root: root, SetAsDefault: true})
		if got := strings.Contains(out, "podman's default runtime was"); got != (tc.note != "") || !strings.Contains(out, tc.note) {
			t.Errorf("%s: output:\n%s\nwant a note %q", tc.name, out, tc.note)
		}
	}
}
