package install

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// run is Run with a fixed clock, failing the test on error.
func run(t *testing.T, o Options) string {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	if o.Now == nil {
		o.Now = clock
	}
	if err := Run(o); err != nil {
		t.Fatalf("%+v: %v", o, err)
	}
	return out.String()
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Issue 17.1: --set-as-default over the user's default keeps it, and
// uninstall puts it back, also across two runtimes made default in turn.
func TestSetAsDefaultRestoresPreviousDefault(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "daemon.json")
	orig := "{\n  \"default-runtime\": \"nvidia\",\n  \"runtimes\": {\n    \"nvidia\": {\"path\": \"nvidia-container-runtime\"}\n  }\n}\n"
	os.WriteFile(cfg, []byte(orig), 0o644)
	o := Options{Target: "docker", Config: cfg, Binary: bin, SetAsDefault: true}
	run(t, o)
	if m := decodeJSON(t, []byte(readFile(t, cfg))); m["default-runtime"] != "armhf" {
		t.Fatalf("install: default-runtime = %v", m["default-runtime"])
	}
	o2 := o
	o2.RuntimeName = "armhf2"
	run(t, o2)
	// Taken out in either order, the user's default comes back.
	for _, order := range [][]string{{"armhf2", "armhf"}, {"armhf", "armhf2"}} {
		if order[0] == "armhf" {
			run(t, o)
			run(t, o2)
		}
		for _, name := range order {
			un := o
			un.Uninstall, un.RuntimeName = true, name
			run(t, un)
		}
		if got := readFile(t, cfg); got != orig {
			t.Errorf("uninstall %v: daemon.json is\n%s\nwant the original\n%s", order, got, orig)
		}
	}
}

// Issue 17.2: an entry of the same name that is not armhf-shim's is
// neither overwritten by install nor deleted by uninstall.
func TestForeignRuntimeEntryKept(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "daemon.json")
	orig := `{"runtimes":{"armhf":{"path":"/opt/other/armhf-runc","runtimeArgs":["--x"]}}}` + "\n"
	os.WriteFile(cfg, []byte(orig), 0o644)
	var out bytes.Buffer
	err := Run(Options{Target: "docker", Config: cfg, Binary: bin, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "/opt/other/armhf-runc") || !strings.Contains(err.Error(), "--runtime-name") {
		t.Errorf("install over a foreign entry: err = %v, want a refusal naming it with a --runtime-name hint", err)
	}
	err = Run(Options{Target: "docker", Config: cfg, Binary: bin, Out: &out, Uninstall: true})
	if err == nil || !strings.Contains(err.Error(), "left unchanged") {
		t.Errorf("uninstall of a foreign entry: err = %v", err)
	}
	if got := readFile(t, cfg); got != orig {
		t.Errorf("daemon.json changed:\n%s", got)
	}
	// Another name works beside it.
	run(t, Options{Target: "docker", Config: cfg, Binary: bin, RuntimeName: "armhf-shim"})
	run(t, Options{Target: "docker", Config: cfg, Binary: bin, RuntimeName: "armhf-shim", Uninstall: true})
	if got := readFile(t, cfg); got != orig {
		t.Errorf("after install and uninstall under another name:\n%s", got)
	}
}

// baks lists the backups and other files install leaves beside path.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != dir {
			out = append(out, strings.TrimPrefix(p, dir+"/"))
		}
		return nil
	})
	return out
}

// Issue 17.3: install then uninstall within one second keeps the
// original; repeating it adds no backups; hooks.d and docker.service.d
// get no backups and no directories are left behind.
func TestBackupsNeverOverwrittenNorPiledUp(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "docker", "daemon.json")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, []byte(daemonJSON), 0o644)
	o := Options{Target: "docker", Config: cfg, Binary: bin, SetAsDefault: true}
	un := o
	un.Uninstall = true
	var first []string
	for i := 0; i < 5; i++ {
		run(t, o)
		os.WriteFile(cfg+".tweak", nil, 0o644) // a user's own file stays
		run(t, un)
		os.Remove(cfg + ".tweak")
		baks, _ := filepath.Glob(cfg + ".armhf-shim-*.bak")
		if i == 0 {
			first = baks
		}
		found := false
		for _, b := range baks {
			found = found || readFile(t, b) == daemonJSON
		}
		if !found {
			t.Fatalf("cycle %d: no backup holds the original (backups %q)", i, baks)
		}
		if len(baks) != len(first) {
			t.Fatalf("cycle %d: backups %q, after the first cycle %q", i, baks, first)
		}
	}
	if len(first) > 1 {
		t.Errorf("one install/uninstall left %d backups: %q", len(first), first)
	}

	for _, c := range []struct{ target, config string }{
		{"podman", filepath.Join(dir, "containers", "oci", "hooks.d", "armhf-shim.json")},
		{"buildkit", filepath.Join(dir, "systemd", "docker.service.d", "armhf-shim-buildkit.conf")},
		{"containerd", filepath.Join(dir, "containerd", "config.toml")},
	} {
		o := Options{Target: c.target, Config: c.config, Binary: bin, LinkDir: filepath.Join(dir, "lib", "armhf-shim", "buildkit"), ContainerdVersion: "1.7.0"}
		un := o
		un.Uninstall = true
		for i := 0; i < 3; i++ {
			run(t, o)
			run(t, un)
		}
		for _, sub := range []string{"containers", "systemd", "containerd", "lib"} {
			if _, err := os.Stat(filepath.Join(dir, sub)); err == nil {
				t.Errorf("%s: left %q", c.target, leftovers(t, filepath.Join(dir, sub)))
			}
		}
	}
}

// Issue 17.4: concurrent installs of different runtime names all land.
func TestConcurrentInstallsSerialise(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "daemon.json")
	os.WriteFile(cfg, []byte(daemonJSON), 0o644)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			errs <- Run(Options{Target: "docker", Config: cfg, Binary: bin, RuntimeName: fmt.Sprintf("armhf%d", i), Out: &out, Now: time.Now})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	rts := decodeJSON(t, []byte(readFile(t, cfg)))["runtimes"].(map[string]any)
	for i := 0; i < n; i++ {
		if rts[fmt.Sprintf("armhf%d", i)] == nil {
			t.Errorf("runtime armhf%d lost", i)
		}
	}
}

// Issue 17.4: a file changed behind install's back (after its read,
// before its rename) is not replaced.
func TestNoRenameOverAChangedFile(t *testing.T) {
	dir, _ := setup(t)
	p := filepath.Join(dir, "f.json")
	os.WriteFile(p, []byte("theirs"), 0o644)
	err := replaceFile(p, []byte("what was read"), []byte("ours"), 0o644)
	if err == nil || readFile(t, p) != "theirs" {
		t.Errorf("replaced a file that changed since it was read: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".f.json*")); len(m) != 0 {
		t.Errorf("temp files left: %q", m)
	}
}

// Issue 17.5: install keeps the user's layout and install + uninstall
// gives back the original bytes.
var layouts = map[string]string{
	"compact":             `{"log-driver":"json-file","log-opts":{"max-size":"10m"}}`,
	"compact+newline":     `{"log-driver":"json-file","runtimes":{"nvidia":{"path":"nvidia-container-runtime"}}}` + "\n",
	"2 spaces":            "{\n  \"log-driver\": \"json-file\",\n  \"debug\": true\n}\n",
	"4 spaces":            "{\n    \"log-driver\": \"json-file\",\n    \"log-opts\": {\n        \"max-size\": \"10m\"\n    }\n}\n",
	"tabs":                "{\n\t\"log-driver\": \"json-file\",\n\t\"runtimes\": {\n\t\t\"nvidia\": {\n\t\t\t\"path\": \"nvidia-container-runtime\"\n\t\t}\n\t}\n}",
	"CRLF":                "{\r\n  \"log-driver\": \"json-file\",\r\n  \"debug\": true\r\n}\r\n",
	"no final newline":    "{\n  \"debug\": true\n}",
	"odd key order":       "{\n  \"storage-driver\": \"overlay2\",\n  \"debug\": false,\n  \"bip\": \"10.1.0.1/24\",\n  \"data-root\": \"/srv/docker\"\n}\n",
	"unicode escapes":     "{\n  \"labels\": [\"caf\\u00e9\", \"\\ud83d\\ude00\", \"na\u00efve\"],\n  \"log-driver\": \"json\\u002dfile\"\n}\n",
	"nested objects":      "{\n  \"log-opts\": {\"max-size\": \"10m\", \"labels\": \"a,b\"},\n  \"default-ulimits\": {\n    \"nofile\": {\"Name\": \"nofile\", \"Hard\": 64000, \"Soft\": 64000}\n  },\n  \"default-runtime\": \"runc\"\n}\n",
	"spaces around colon": "{ \"debug\" : true , \"runtimes\" : { } }",
	"empty object":        "{}",
	"numbers kept":        "{\n  \"max-concurrent-downloads\": 3.0e0,\n  \"shutdown-timeout\": 15\n}\n",
}

func TestInstallUninstallGivesBackTheBytes(t *testing.T) {
	for name, orig := range layouts {
		for _, def := range []bool{false, true} {
			dir, bin := setup(t)
			cfg := filepath.Join(dir, "daemon.json")
			os.WriteFile(cfg, []byte(orig), 0o644)
			run(t, Options{Target: "docker", Config: cfg, Binary: bin, SetAsDefault: def})
			installed := readFile(t, cfg)
			if !keepsLines(orig, installed, def) {
				t.Errorf("%s (default %v): install re-laid out the file:\n%s\nfrom\n%s", name, def, installed, orig)
			}
			run(t, Options{Target: "docker", Config: cfg, Binary: bin, Uninstall: true})
			if got := readFile(t, cfg); got != orig {
				t.Errorf("%s (default %v): install + uninstall gives\n%q\nwant\n%q", name, def, got, orig)
			}
		}
	}
}

// keepsLines reports whether every line of orig is in installed, in order
// (but for a comma added, and a default-runtime replaced), and a one-line
// file with members stays one line.
func keepsLines(orig, installed string, setDefault bool) bool {
	if !strings.Contains(strings.TrimRight(orig, "\n"), "\n") {
		return orig == "{}" || !strings.Contains(strings.TrimRight(installed, "\r\n"), "\n")
	}
	lines := strings.SplitAfter(installed, "\n")
	i := 0
	for _, l := range strings.SplitAfter(orig, "\n") {
		l = strings.TrimRight(l, "\r\n,")
		if setDefault && strings.Contains(l, `"default-runtime"`) {
			continue
		}
		for i < len(lines) && strings.TrimRight(lines[i], "\r\n,") != l {
			i++
		}
		if i == len(lines) {
			return false
		}
	}
	return true
}

// Install lays a new member out as its siblings are.
func TestInstallLayout(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"{\n    \"debug\": true\n}\n",
			"{\n    \"debug\": true,\n    \"runtimes\": {\n        \"armhf\": {\n            \"path\": \"/b/armhf-runc\"\n        }\n    },\n    \"default-runtime\": \"armhf\"\n}\n"},
		{"{\r\n\t\"runtimes\": {\r\n\t\t\"nvidia\": {\"path\": \"nv\"}\r\n\t}\r\n}",
			"{\r\n\t\"runtimes\": {\r\n\t\t\"nvidia\": {\"path\": \"nv\"},\r\n\t\t\"armhf\": {\r\n\t\t\t\"path\": \"/b/armhf-runc\"\r\n\t\t}\r\n\t},\r\n\t\"default-runtime\": \"armhf\"\r\n}"},
		{`{"debug":true}`, `{"debug":true,"runtimes":{"armhf":{"path":"/b/armhf-runc"}},"default-runtime":"armhf"}`},
		{"", "{\n  \"runtimes\": {\n    \"armhf\": {\n      \"path\": \"/b/armhf-runc\"\n    }\n  },\n  \"default-runtime\": \"armhf\"\n}\n"},
	} {
		out, err := DockerInstall([]byte(c.in), &record{}, DockerEdit{Name: "armhf", Path: "/b/armhf-runc", SetDefault: true, Ours: func(string) bool { return false }})
		if err != nil || string(out) != c.want {
			t.Errorf("install into %q:\n%s\nwant\n%s (%v)", c.in, out, c.want, err)
		}
	}
}

// Issue 17.6: a dangling daemon.json symlink stays a symlink.
func TestDanglingSymlinkStaysALink(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "etc", "daemon.json")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.MkdirAll(filepath.Join(dir, "managed"), 0o755)
	os.Symlink("../managed/daemon.json", cfg)
	run(t, Options{Target: "docker", Config: cfg, Binary: bin})
	if st, err := os.Lstat(cfg); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symlink: %v", cfg, err)
	}
	if b := readFile(t, filepath.Join(dir, "managed", "daemon.json")); !strings.Contains(b, "armhf-runc") {
		t.Errorf("target not written: %s", b)
	}
}

// Issue 17.6: an install killed (SIGKILL) at any moment leaves no temp
// file beside daemon.json once the next install has run.
func TestKilledInstallLeavesNoTempFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a hundred installs")
	}
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "docker", "daemon.json")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, []byte(daemonJSON), 0o644)
	self, _ := os.Executable()
	killedMidWrite := 0
	for i := 0; i < 200 && killedMidWrite < 3; i++ {
		cmd := exec.Command(self, "-test.run=^TestHelperInstallLoop$")
		cmd.Env = append(os.Environ(), "ARMHF_INSTALL_LOOP="+cfg, "ARMHF_INSTALL_BIN="+bin)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+i%20) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if m, _ := filepath.Glob(filepath.Join(dir, "docker", ".*")); len(m) > 0 {
			killedMidWrite++
		}
		run(t, Options{Target: "docker", Config: cfg, Binary: bin})
		if m, _ := filepath.Glob(filepath.Join(dir, "docker", ".*")); len(m) > 0 {
			t.Fatalf("after a killed install and a new one: %q", m)
		}
	}
	if killedMidWrite == 0 {
		t.Skip("no kill landed while a temp file existed")
	}
	t.Logf("%d kills left a temp file, each removed by the next install", killedMidWrite)
}

// TestHelperInstallLoop installs and uninstalls until killed (run by
// TestKilledInstallLeavesNoTempFiles).
func TestHelperInstallLoop(t *testing.T) {
	cfg := os.Getenv("ARMHF_INSTALL_LOOP")
	if cfg == "" {
		t.Skip("helper process")
	}
	bin := os.Getenv("ARMHF_INSTALL_BIN")
	for i := 0; ; i++ {
		var out bytes.Buffer
		Run(Options{Target: "docker", Config: cfg, Binary: bin, Out: &out, Uninstall: i%2 == 1, Now: time.Now})
	}
}

// Issue 17.2: --replace replaces a foreign entry, and uninstall puts it
// back as it was.
func TestReplaceForeignEntryPutBack(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "daemon.json")
	orig := "{\n  \"runtimes\": {\n    \"armhf\": {\"path\": \"/opt/other/armhf-runc\", \"runtimeArgs\": [\"--x\"]}\n  },\n  \"default-runtime\": \"armhf\"\n}\n"
	os.WriteFile(cfg, []byte(orig), 0o644)
	run(t, Options{Target: "docker", Config: cfg, Binary: bin, Replace: true})
	e := decodeJSON(t, []byte(readFile(t, cfg)))["runtimes"].(map[string]any)["armhf"].(map[string]any)
	if e["path"] != filepath.Join(filepath.Dir(bin), "armhf-runc") || e["runtimeArgs"] != nil {
		t.Errorf("--replace: entry %v", e)
	}
	run(t, Options{Target: "docker", Config: cfg, Binary: bin, Uninstall: true})
	if got := readFile(t, cfg); got != orig {
		t.Errorf("uninstall after --replace:\n%s\nwant\n%s", got, orig)
	}
}
