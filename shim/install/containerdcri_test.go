package install

import (
	"errors"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// eksContainerdConfig is shaped like an EKS node's config.toml (the AL2
// and AL2023 bootstrap's): the containerd table before the CRI section's,
// SystemdCgroup on runc, a sandbox image, registry mirrors, and a nested
// runtime of the host's own after them.
const eksContainerdConfig = `version = 2

[plugins."io.containerd.grpc.v1.cri".containerd]
default_runtime_name = "runc"
discard_unpacked_layers = true

[plugins."io.containerd.grpc.v1.cri"]
sandbox_image = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5"

[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
endpoint = ["https://mirror.example.com"] # the node's mirror

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
BinaryName = "/usr/bin/nvidia-container-runtime"
SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".cni]
bin_dir = "/opt/cni/bin"
conf_dir = "/etc/cni/net.d"
`

const criBinary = "/usr/local/bin/armhf-runc"

func criInstall(t *testing.T, old string, rec *record, setDefault bool) (string, error) {
	t.Helper()
	return criInstallAt(t, old, rec, setDefault, criBinary)
}

func criInstallAt(t *testing.T, old string, rec *record, setDefault bool, bin string) (string, error) {
	t.Helper()
	nw, _, err := ContainerdCRIInstall([]byte(old), rec, criEdit{Version: 2, Name: "armhf", Binary: bin, SetDefault: setDefault,
		Ours: func(p string) bool { return strings.HasSuffix(p, "armhf-runc") }})
	return string(nw), err
}

func TestContainerdCRIInPlace(t *testing.T) {
	cases := []struct {
		name, in   string
		setDefault bool
		want       string // exact bytes
	}{
		{name: "debian 12 default", in: debianContainerdConfig, want: `version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.armhf]
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.armhf.options]
            BinaryName = "/usr/local/bin/armhf-runc"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
`},
		{name: "debian 12 default, set as default", in: debianContainerdConfig, setDefault: true, want: `version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "armhf"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.armhf]
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.armhf.options]
            BinaryName = "/usr/local/bin/armhf-runc"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
`},
		{name: "eks", in: eksContainerdConfig, setDefault: true, want: strings.Replace(strings.Replace(eksContainerdConfig,
			`default_runtime_name = "runc"`, `default_runtime_name = "armhf"`, 1),
			"SystemdCgroup = true\n\n[plugins.\"io.containerd.grpc.v1.cri\".cni]",
			"SystemdCgroup = true\n\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.armhf]\nruntime_type = \"io.containerd.runc.v2\"\n\n"+
				"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.armhf.options]\nBinaryName = \"/usr/local/bin/armhf-runc\"\n\n"+
				"[plugins.\"io.containerd.grpc.v1.cri\".cni]", 1)},
		{name: "section only, CRLF, no final newline", in: "version = 2\r\n[plugins.\"io.containerd.grpc.v1.cri\"]\r\n  sandbox_image = \"p\"", want: "version = 2\r\n" +
			"[plugins.\"io.containerd.grpc.v1.cri\"]\r\n  sandbox_image = \"p\"\r\n\r\n" +
			"      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\r\n        runtime_type = \"io.containerd.runc.v2\"\r\n\r\n" +
			"      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.armhf]\r\n        runtime_type = \"io.containerd.runc.v2\"\r\n\r\n" +
			"        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.armhf.options]\r\n          BinaryName = \"/usr/local/bin/armhf-runc\"\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &record{}
			got, err := criInstall(t, c.in, rec, c.setDefault)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
			// What containerd decodes: the handlers, and the section's own
			// settings as they were.
			var m mainConfig
			if err := toml.Unmarshal([]byte(got), &m); err != nil {
				t.Fatal(err)
			}
			if h := handlerNames(m); !strings.Contains(h, `"armhf"`) || !strings.Contains(h, `"runc"`) {
				t.Errorf("handlers %s", h)
			}
			if err := tomlSame([]byte(c.in), []byte(got), []string{"plugins", criPlugin(2), "containerd", "runtimes", "armhf"},
				[]string{"plugins", criPlugin(2), "containerd", "runtimes", "runc"}, []string{"plugins", criPlugin(2), "containerd", "default_runtime_name"}); err != nil {
				t.Error(err)
			}
			// Idempotent: a second install changes nothing, records nothing.
			n := len(rec.CRI)
			again, err := criInstall(t, got, rec, c.setDefault)
			if err != nil || again != got || len(rec.CRI) != n {
				t.Errorf("second install: %v, changed %v, edits %d -> %d", err, again != got, n, len(rec.CRI))
			}
			back, notes, err := ContainerdCRIUninstall([]byte(got), rec)
			if err != nil || string(back) != c.in || len(notes) > 0 {
				t.Errorf("uninstall: %v %q\n%q\nwant\n%q", err, notes, back, c.in)
			}
		})
	}
}

func TestContainerdCRIInPlaceRefuses(t *testing.T) {
	sec := "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n"
	for _, c := range []struct{ name, in, want string }{
		{"a user's own armhf", sec + "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.armhf]\n  runtime_type = \"io.containerd.runc.v2\"\n" +
			"  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.armhf.options]\n    BinaryName = \"/opt/my/runc\"\n", "of your own"},
		{"inline runtimes", sec + "  containerd = { runtimes = { runc = { runtime_type = \"io.containerd.runc.v2\" } } }\n", "inline table"},
		{"dotted containerd", sec + "  containerd.snapshotter = \"overlayfs\"\n", "dotted key"},
		{"dotted plugins", "version = 2\nplugins.\"io.containerd.grpc.v1.cri\".sandbox_image = \"p\"\n", "dotted key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &record{}
			_, err := criInstall(t, c.in, rec, true)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if c.want != "of your own" && !errors.Is(err, errNoSplice) {
				t.Errorf("err = %v, not errNoSplice (the lines to add by hand)", err)
			}
			if len(rec.CRI) != 0 {
				t.Errorf("recorded %+v", rec.CRI)
			}
		})
	}
}

// A runtime handler of armhf-shim's whose wrapper moved is pointed at the
// new one; uninstall still gives back the bytes install found.
func TestContainerdCRIInPlaceMoved(t *testing.T) {
	rec := &record{}
	first, err := criInstallAt(t, eksContainerdConfig, rec, false, "/opt/old/armhf-runc")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := criInstall(t, eksContainerdConfig, &record{}, false)
	got, err := criInstall(t, first, rec, false)
	if err != nil || got != want {
		t.Fatalf("%v\n%s", err, got)
	}
	back, notes, err := ContainerdCRIUninstall([]byte(got), rec)
	if err != nil || string(back) != eksContainerdConfig || len(notes) > 0 {
		t.Errorf("uninstall: %v %q\n%s", err, notes, back)
	}
	// Not in this record, but armhf-shim's wrapper: pointed at the new one.
	other := &record{}
	if got, err := criInstall(t, first, other, false); err != nil || got != want {
		t.Errorf("%v\n%s", err, got)
	}
}

// A key the user added to install's table since is not carried into the
// table above by uninstall: the table stays, with a note.
func TestContainerdCRIUninstallKeepsUserKey(t *testing.T) {
	rec := &record{}
	mid, err := criInstall(t, debianContainerdConfig, rec, false)
	if err != nil {
		t.Fatal(err)
	}
	bn := "BinaryName = \"" + criBinary + "\"\n"
	edited := strings.Replace(mid, bn, bn+"            SystemdCgroup = true\n", 1)
	back, notes, err := ContainerdCRIUninstall([]byte(edited), rec)
	if err != nil {
		t.Fatal(err)
	}
	var m mainConfig
	if err := toml.Unmarshal(back, &m); err != nil || !strings.Contains(handlerNames(m), `"armhf"`) || len(notes) == 0 {
		t.Errorf("uninstall: notes %q, handlers %s (%v):\n%s", notes, handlerNames(m), err, back)
	}
	if err := tomlSame([]byte(edited), back, []string{"plugins", criPlugin(2), "containerd", "runtimes", "runc"}); err != nil {
		t.Errorf("uninstall changed more than install's runc: %v\n%s", err, back)
	}
}

// Runtime names and plugin IDs are map keys in containerd's config,
// matched exactly (struct fields such as BinaryName are matched without
// case): a user's runtime "ARMHF" is another handler than armhf-shim's
// "armhf", kept as it is.
func TestContainerdCRIOtherCase(t *testing.T) {
	in := "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n" +
		"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.ARMHF]\n  runtime_type = \"io.containerd.runc.v2\"\n" +
		"  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.ARMHF.options]\n    BinaryName = \"/opt/my/runc\"\n"
	rec := &record{}
	got, err := criInstall(t, in, rec, false)
	if err != nil {
		t.Fatal(err)
	}
	var m mainConfig
	if err := toml.Unmarshal([]byte(got), &m); err != nil {
		t.Fatal(err)
	}
	if h := handlerNames(m); !strings.Contains(h, `"armhf"`) || !strings.Contains(h, `"ARMHF"`) {
		t.Errorf("handlers %s\n%s", h, got)
	}
	if !strings.Contains(got, "BinaryName = \"/opt/my/runc\"") || !strings.Contains(got, "BinaryName = \""+criBinary+"\"") {
		t.Errorf("got:\n%s", got)
	}
	back, notes, err := ContainerdCRIUninstall([]byte(got), rec)
	if err != nil || string(back) != in || len(notes) > 0 {
		t.Errorf("uninstall: %v %q\n%q\nwant\n%q", err, notes, back, in)
	}
}
