package engines

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// The pinned runc applies linux.personality: an i386 busybox in a bundle
// asking for LINUX32 sees an i686 machine, and the same bundle without it
// sees the host's x86_64. runc spec writes the bundle's config, so the
// test follows the spec version of the runc under test.
func TestRuncPersonality(t *testing.T) {
	testenv.SkipShort(t, "runc containers")
	testenv.RequireRoot(t)
	runc := testenv.Engine(t, "runc")
	rootfs := testenv.BusyboxRootfs(t, "i386")
	for _, tc := range []struct {
		name        string
		personality map[string]any
		want        string
	}{
		{"none", nil, "x86_64"},
		{"LINUX32", map[string]any{"domain": "LINUX32"}, "i686"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := t.TempDir()
			if out, err := exec.Command(runc, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
				t.Fatalf("runc spec: %v\n%s", err, out)
			}
			cfgPath := filepath.Join(bundle, "config.json")
			b, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]any
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			cfg["root"] = map[string]any{"path": rootfs, "readonly": true}
			process := cfg["process"].(map[string]any)
			process["terminal"] = false
			process["args"] = []string{"uname", "-m"}
			if tc.personality != nil {
				cfg["linux"].(map[string]any)["personality"] = tc.personality
			}
			if b, err = json.Marshal(cfg); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
				t.Fatal(err)
			}
			// Short: runc's state root holds a socket path.
			state, err := os.MkdirTemp("/tmp", "ashr-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(state)
			id := "ash-personality-" + strings.ToLower(tc.name)
			cmd := exec.Command(runc, "--root", state, "run", "--bundle", bundle, id)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			exec.Command(runc, "--root", state, "delete", "--force", id).Run()
			if err != nil {
				t.Fatalf("runc run: %v\n%s", err, stderr.String())
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Fatalf("uname -m = %q, want %q (stderr %q)", got, tc.want, stderr.String())
			}
		})
	}
}
