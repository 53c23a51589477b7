package install

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerdInstallUninstallGivesBackTheBytes(t *testing.T) {
	for name, orig := range map[string]string{
		"no imports":        "version = 2\n\n[plugins]\n",
		"imports double":    "version = 2\nimports = [\"/etc/containerd/other.toml\"]\n",
		"imports single":    "version = 2\nimports = ['/etc/containerd/other.toml']\n",
		"imports multiline": "version = 2\nimports = [\n  \"/a.toml\",\n  \"/b.toml\",\n]\n",
		"imports empty":     "version = 2\nimports = []\n",
	} {
		dir, bin := setup(t)
		cfg := filepath.Join(dir, "config.toml")
		os.WriteFile(cfg, []byte(orig), 0o644)
		run(t, Options{Target: "containerd", Config: cfg, Binary: bin, ContainerdVersion: "1.7.0"})
		mid := readFile(t, cfg)
		run(t, Options{Target: "containerd", Config: cfg, Binary: bin, ContainerdVersion: "1.7.0", Uninstall: true})
		if got := readFile(t, cfg); got != orig {
			t.Errorf("%s: %q -> %q -> %q", name, orig, mid, got)
		}
	}
}
