package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// containerdShape is a config.toml as a host may have it before install.
type containerdShape struct {
	name    string
	content string // "": no config.toml at all
	cri     bool   // it has a CRI section of its own (kept by containerd 2.x)
	version int
}

var containerdShapes = []containerdShape{
	{name: "none"},
	{name: "minimal", content: "version = 2\n", version: 2},
	{name: "minimal v3", content: "version = 3\n", version: 3},
	{name: "debian default", content: debianContainerdConfig, cri: true, version: 2},
	{name: "v2 without CRI", content: "# a host's own settings\nversion = 2\n\n[debug]\n  level = \"info\"\n", version: 2},
	{name: "v2 with CRI", content: "version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  max_container_log_line_size = 8192\n" +
		"  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n    runtime_type = \"io.containerd.runc.v2\"\n", cri: true, version: 2},
	{name: "v3 without CRI", content: "version = 3\n\n[debug]\n  level = \"info\"\n", version: 3},
	{name: "v3 with CRI", content: "version = 3\n\n[plugins.'io.containerd.cri.v1.runtime']\n  max_container_log_line_size = 8192\n", cri: true, version: 3},
	{name: "eks", content: eksContainerdConfig, cri: true, version: 2},
}

// privateContainerd keeps a daemon's plugin directories below root: the
// opt plugin's path (Debian's default names /var/lib/containerd/opt, moved
// here) and NRI's socket (containerd >= 1.7), in tables appended to the
// config install left. Appending keeps the shape: no CRI section is added.
func privateContainerd(t *testing.T, cfg, root string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	opt := filepath.Join(root, "opt")
	if strings.Contains(s, "/var/lib/containerd/opt") {
		s = strings.ReplaceAll(s, "/var/lib/containerd/opt", opt)
	} else {
		s += fmt.Sprintf("\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = %q\n", opt)
	}
	s += "\n[plugins.\"io.containerd.nri.v1.nri\"]\n  disable = true\n"
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// criInfo is what `crictl info` says of the CRI plugin's runtimes.
type criInfo struct {
	Status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status bool   `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
	// RuntimeHandlers: containerd >= 1.7 (CRI's runtime handler list).
	RuntimeHandlers []struct {
		Name string `json:"name"`
	} `json:"runtimeHandlers"`
	Config struct {
		Containerd struct {
			DefaultRuntimeName string `json:"defaultRuntimeName"`
			Runtimes           map[string]struct {
				RuntimeType string         `json:"runtimeType"`
				Options     map[string]any `json:"options"`
			} `json:"runtimes"`
		} `json:"containerd"`
		MaxContainerLogLineSize int `json:"maxContainerLogLineSize"`
		MaxContainerLogSize     int `json:"maxContainerLogSize"` // containerd 1.x's name for it
		CNI                     struct {
			ConfDir string `json:"confDir"`
		} `json:"cni"`
		SandboxImage string `json:"sandboxImage"` // containerd 1.x
		Registry     struct {
			Mirrors map[string]struct {
				Endpoint []string `json:"endpoint"`
			} `json:"mirrors"`
		} `json:"registry"`
	} `json:"config"`
}

func parseCRIInfo(t *testing.T, b []byte) criInfo {
	t.Helper()
	var info criInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("crictl info: %v\n%s", err, b)
	}
	return info
}

func (i criInfo) runtimes() []string {
	var names []string
	for n := range i.Config.Containerd.Runtimes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (i criInfo) ready() bool {
	for _, c := range i.Status.Conditions {
		if c.Type == "RuntimeReady" {
			return c.Status
		}
	}
	return false
}

// Issue 20: install containerd on every config shape, then a real
// containerd — Debian 12's 1.6.20 and the pinned 2.x — must load its CRI
// plugin with the runc AND armhf handlers, as crictl sees them, keeping
// the shape's own CRI settings; where a drop-in would lose them
// (containerd 1.x and a CRI section of config.toml) install writes the
// handler into that section. Only a version 3 config on 1.x is refused.
func TestContainerdShapesRealDaemons(t *testing.T) {
	testenv.SkipShort(t, "containerd")
	testenv.RequireRoot(t)
	debian := testenv.RequireCommand(t, "containerd")
	pinned := testenv.Engine(t, "containerd")
	testenv.Engine(t, "containerd-shim-runc-v2")
	for _, d := range []struct {
		name, bin string
		major     int
	}{{"debian", debian, 1}, {"pinned", pinned, 2}} {
		for _, shape := range containerdShapes {
			for _, def := range []bool{false, true} {
				name := d.name + "/" + shape.name
				if def {
					if shape.name != "minimal" && shape.name != "v3 with CRI" && shape.name != "debian default" && shape.name != "eks" {
						continue
					}
					name += "/set-as-default"
				}
				t.Run(name, func(t *testing.T) {
					containerdShapeCase(t, d.bin, d.major, shape, def)
				})
			}
		}
	}
}

func containerdShapeCase(t *testing.T, bin string, major int, shape containerdShape, setDefault bool) {
	_, shim := setup(t)
	refused := major < 2 && shape.version == 3
	inPlace := major < 2 && shape.cri
	if major < 2 && shape.version == 3 {
		// containerd 1.x cannot read a version 3 config: install says so.
		cfg := filepath.Join(t.TempDir(), "config.toml")
		os.WriteFile(cfg, []byte(shape.content), 0o644)
		err := Run(Options{Target: "containerd", Config: cfg, Binary: shim, Containerd: bin, SetAsDefault: setDefault, Out: &bytes.Buffer{}})
		if err == nil || !strings.Contains(err.Error(), "cannot read") || !strings.Contains(err.Error(), "--containerd") {
			t.Errorf("err = %v, want a refusal naming --containerd", err)
		}
		if readOr(cfg) != shape.content {
			t.Errorf("config.toml changed:\n%s", readOr(cfg))
		}
		return
	}
	var cfg string
	var installErr error
	c := testenv.StartContainerd(t, testenv.ContainerdOptions{Binary: bin, Config: func(root string) string {
		cfg = filepath.Join(root, "etc", "config.toml")
		os.MkdirAll(filepath.Dir(cfg), 0o755)
		if shape.content != "" {
			if err := os.WriteFile(cfg, []byte(shape.content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		// The version is asked of this very containerd (--containerd).
		installErr = Run(Options{Target: "containerd", Config: cfg, Binary: shim, Containerd: bin, SetAsDefault: setDefault, Out: &out})
		if refused {
			if shape.content != "" {
				if b, _ := os.ReadFile(cfg); string(b) != shape.content {
					t.Errorf("refused, but config.toml changed:\n%s", b)
				}
			}
		}
		privateContainerd(t, cfg, root)
		return cfg
	}})
	if refused {
		if installErr == nil {
			t.Fatalf("install on containerd %d.x with this shape: no error, want a refusal", major)
		}
		t.Logf("refused: %v", installErr)
	} else if installErr != nil {
		t.Fatalf("install: %v", installErr)
	}
	info := parseCRIInfo(t, c.CRIInfo(t))
	if !info.ready() {
		t.Errorf("RuntimeReady is not true: %+v", info.Status.Conditions)
	}
	want := []string{"armhf", "runc"}
	if shape.name == "eks" {
		want = []string{"armhf", "nvidia", "runc"}
	}
	if _, err := os.Stat(DropInPath(cfg)); inPlace != os.IsNotExist(err) {
		t.Errorf("drop-in: %v; want one only where config.toml's CRI section is not edited in place (in place: %v)", err, inPlace)
	}
	if got := info.runtimes(); !slices.Equal(got, want) {
		t.Errorf("CRI runtimes %q, want %q\nconfig.toml:\n%s\ndrop-in:\n%s", got, want, readOr(cfg), readOr(DropInPath(cfg)))
	}
	if major >= 2 {
		var handlers []string
		for _, h := range info.RuntimeHandlers {
			handlers = append(handlers, h.Name)
		}
		for _, w := range want {
			if !slices.Contains(handlers, w) {
				t.Errorf("crictl info's runtimeHandlers %q lack %s", handlers, w)
			}
		}
	}
	if rt, ok := info.Config.Containerd.Runtimes["armhf"]; ok {
		if rt.RuntimeType != "io.containerd.runc.v2" || rt.Options["BinaryName"] != filepath.Join(filepath.Dir(shim), "armhf-runc") {
			t.Errorf("armhf runtime %+v", rt)
		}
	}
	wantDefault := "runc"
	if setDefault && !refused {
		wantDefault = "armhf"
	}
	if got := info.Config.Containerd.DefaultRuntimeName; got != wantDefault {
		t.Errorf("default runtime %q, want %q", got, wantDefault)
	}
	// The shape's own CRI settings are in force (containerd 2.x merges).
	if strings.Contains(shape.content, "max_container_log_line_size = 8192") && max(info.Config.MaxContainerLogLineSize, info.Config.MaxContainerLogSize) != 8192 {
		t.Errorf("config.toml's max_container_log_line_size was lost: %+v", info.Config)
	}
	if shape.name == "debian default" && info.Config.CNI.ConfDir != "/etc/cni/net.d" {
		t.Errorf("Debian's CNI settings were lost: confDir %q", info.Config.CNI.ConfDir)
	}
	if shape.name == "eks" {
		runc := info.Config.Containerd.Runtimes["runc"].Options
		nv := info.Config.Containerd.Runtimes["nvidia"].Options
		if runc["SystemdCgroup"] != true || nv["BinaryName"] != "/usr/bin/nvidia-container-runtime" || info.Config.CNI.ConfDir != "/etc/cni/net.d" {
			t.Errorf("the EKS config's runtimes or CNI settings were lost: runc %v, nvidia %v, confDir %q", runc, nv, info.Config.CNI.ConfDir)
		}
		// containerd 1.x shows the sandbox image and mirrors in its config.
		if major < 2 && (info.Config.SandboxImage != "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5" ||
			len(info.Config.Registry.Mirrors["docker.io"].Endpoint) != 1) {
			t.Errorf("the EKS config's sandbox_image or mirrors were lost: %q %+v", info.Config.SandboxImage, info.Config.Registry)
		}
	}
}

func readOr(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}
