package runtimecfg

import (
	"cmp"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"runtime": "/file/runc", "stateRoot": "/file/state"}`), 0o644)
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"runtime": "/other/runc"}`), 0o644)

	cases := []struct {
		name      string
		flags     runcargs.Shim
		env       map[string]string
		runtime   string
		source    string
		stateRoot string
	}{
		{"config file via env", runcargs.Shim{}, map[string]string{config.EnvPath: cfg}, "/file/runc", "config file", "/file/state"},
		{"env beats file", runcargs.Shim{}, map[string]string{config.EnvPath: cfg, EnvRuntime: "/env/runc", EnvStateRoot: "/env/st"}, "/env/runc", "$" + EnvRuntime, "/env/st"},
		{"flag beats env", runcargs.Shim{Runtime: "/flag/runc", StateRoot: "/flag/st"}, map[string]string{config.EnvPath: cfg, EnvRuntime: "/env/runc"}, "/flag/runc", "--armhf-shim-runtime", "/flag/st"},
		{"config flag beats config env", runcargs.Shim{Config: other}, map[string]string{config.EnvPath: cfg}, "/other/runc", "config file " + other, DefaultStateRoot},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Load(c.flags, envOf(c.env))
			if err != nil {
				t.Fatal(err)
			}
			if got.Runtime != c.runtime || !strings.HasPrefix(got.RuntimeSource, c.source) || got.StateRoot != c.stateRoot {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestLoadDefaultsAndErrors(t *testing.T) {
	// The default file is normally absent: defaults, no error.
	if _, err := os.Stat(config.DefaultPath); err != nil {
		got, err := Load(runcargs.Shim{}, envOf(nil))
		if err != nil || got.Runtime != DefaultRuntime || got.StateRoot != DefaultStateRoot || got.ConfigPath != "" {
			t.Errorf("defaults: %+v %v", got, err)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"runtime": `), 0o644)
	typo := filepath.Join(dir, "typo.json")
	os.WriteFile(typo, []byte(`{"runtme": "/x"}`), 0o644)
	for name, c := range map[string]struct {
		flags runcargs.Shim
		env   map[string]string
		want  string
	}{
		"malformed":          {runcargs.Shim{Config: bad}, nil, "malformed"},
		"unknown field":      {runcargs.Shim{Config: typo}, nil, "runtme"},
		"explicit missing":   {runcargs.Shim{Config: filepath.Join(dir, "none.json")}, nil, "no such file"},
		"env missing":        {runcargs.Shim{}, map[string]string{config.EnvPath: filepath.Join(dir, "none.json")}, "no such file"},
		"relative stateRoot": {runcargs.Shim{StateRoot: "run/x"}, nil, "absolute"},
	} {
		if _, err := Load(c.flags, envOf(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

// bin writes an executable file.
func bin(t *testing.T, p string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindSkipsSelf(t *testing.T) {
	d := t.TempDir()
	self := bin(t, filepath.Join(d, "libexec", "armhf-shim"))
	copy2 := bin(t, filepath.Join(d, "copy", "runc")) // a second copy of armhf-shim
	real := bin(t, filepath.Join(d, "sbin", "runc"))
	id := func(p string) FileID {
		i, err := StatID(p)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	os.MkdirAll(filepath.Join(d, "link"), 0o755)
	os.Symlink(self, filepath.Join(d, "link", "runc"))
	os.MkdirAll(filepath.Join(d, "notexec"), 0o755)
	os.WriteFile(filepath.Join(d, "notexec", "runc"), nil, 0o644)
	os.MkdirAll(filepath.Join(d, "dir", "runc"), 0o755)

	path := strings.Join([]string{filepath.Join(d, "link"), filepath.Join(d, "notexec"), filepath.Join(d, "dir"),
		filepath.Join(d, "copy"), filepath.Join(d, "sbin")}, ":")

	// First hop: self is skipped by realpath; the copy is taken.
	got, err := Find("runc", "default", path, id(self), nil)
	if err != nil || got != copy2 {
		t.Fatalf("first hop: %q %v, want %q", got, err, copy2)
	}
	// Second hop, as the copy, with SEEN=self: both copies are skipped.
	got, err = Find("runc", "default", path, id(copy2), []FileID{id(self)})
	if err != nil || got != real {
		t.Fatalf("second hop: %q %v, want %q", got, err, real)
	}
	// Nothing but ourselves: a clear error naming what was skipped.
	_, err = Find("runc", "default", filepath.Join(d, "link"), id(self), nil)
	if err == nil || !strings.Contains(err.Error(), "armhf-shim itself") || !strings.Contains(err.Error(), "install runc") {
		t.Errorf("only self: %v", err)
	}
	// An explicit path to ourselves is refused, not exec'd.
	_, err = Find(filepath.Join(d, "link", "runc"), "$ARMHF_SHIM_RUNTIME", path, id(self), nil)
	if err == nil || !strings.Contains(err.Error(), "call itself") {
		t.Errorf("explicit self: %v", err)
	}
	_, err = Find(filepath.Join(d, "nope"), "--armhf-shim-runtime", path, id(self), nil)
	if err == nil || !strings.Contains(err.Error(), "--armhf-shim-runtime") {
		t.Errorf("explicit missing: %v", err)
	}
	// A hard link of ourselves is the same file: skipped too.
	os.MkdirAll(filepath.Join(d, "hard"), 0o755)
	if err := os.Link(self, filepath.Join(d, "hard", "runc")); err != nil {
		t.Fatal(err)
	}
	got, err = Find("runc", "default", filepath.Join(d, "hard")+":"+filepath.Join(d, "sbin"), id(self), nil)
	if err != nil || got != real {
		t.Errorf("hard link of self: %q %v, want %q", got, err, real)
	}
	got, err = Find(real, "config", "", id(self), nil)
	if err != nil || got != real {
		t.Errorf("explicit: %q %v", got, err)
	}
}

func TestSplitSeen(t *testing.T) {
	if SplitSeen("") != nil {
		t.Error("empty SEEN")
	}
	got := SplitSeen("1.2:garbage:30.40:5.")
	if len(got) != 2 || got[0] != (FileID{Dev: 1, Ino: 2}) || got[1] != (FileID{Dev: 30, Ino: 40}) || got[1].String() != "30.40" {
		t.Errorf("SplitSeen = %v", got)
	}
}

func TestSelfID(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, err := StatID(exe)
	if err != nil {
		t.Fatal(err)
	}
	// By argv0 with a slash, and through /proc/self/exe for a bare name
	// or a path that is not there.
	for _, argv0 := range []string{exe, "runc", "/nonexistent/armhf-runc"} {
		if got, err := SelfID(argv0); err != nil || got != want {
			t.Errorf("SelfID(%q) = %v, %v; want %v", argv0, got, err, want)
		}
	}
}

// The default state root follows runc's rootless test: root inside a user
// namespace (rootless podman's hooks) with XDG_RUNTIME_DIR is rootless;
// root in the initial namespace is not, whatever the environment.
func TestDefaultStateRootUserNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs euid 0 (as inside a user namespace)")
	}
	dir := t.TempDir()
	defer func(p string) { uidMapPath = p }(uidMapPath)
	env := envOf(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"})
	for name, c := range map[string]struct{ uidMap, want string }{
		"initial namespace":    {"         0          0 4294967295\n", DefaultStateRoot},
		"rootless podman":      {"         0       1000          1\n         1     100000      65536\n", "/run/user/1000/armhf-shim"},
		"container user ns":    {"         0     100000      65536\n", "/run/user/1000/armhf-shim"},
		"unreadable map: host": {"", DefaultStateRoot},
	} {
		uidMapPath = filepath.Join(dir, "uid_map-"+strings.ReplaceAll(name, " ", "_"))
		if c.uidMap != "" {
			os.WriteFile(uidMapPath, []byte(c.uidMap), 0o644)
		}
		got, err := Load(runcargs.Shim{}, env)
		if got.StateRoot != c.want {
			t.Errorf("%s: state root %q (err %v), want %q", name, got.StateRoot, err, c.want)
		}
	}
}

// The config file is shared with the docker CLI wrapper: its keys are
// known (not errors), and only the runtime's are taken.
func TestLoadSharedFile(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"runtime":"/usr/sbin/runc","docker":"/usr/bin/docker","dockerCPUInfo":"/run/ci","dockerPlatform":true}`), 0o644)
	got, err := Load(runcargs.Shim{Config: cfg}, envOf(nil))
	if err != nil || got.Runtime != "/usr/sbin/runc" || got.ConfigPath != cfg {
		t.Errorf("got %+v, %v", got, err)
	}
}

// The machine for 32-bit containers' uname: the environment beats the
// config file; unset, the kernel's. The agent's socket has a default, and
// is kept without a machine (a container may ask for one).
func TestLoadMachine(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(cfg, []byte(`{"machine": "armv7l", "seccompAgent": "/run/x/agent.sock"}`), 0o644)
	agentOnly := filepath.Join(t.TempDir(), "agent.json")
	os.WriteFile(agentOnly, []byte(`{"seccompAgent": "/run/y.sock"}`), 0o644)
	empty := filepath.Join(t.TempDir(), "empty.json")
	os.WriteFile(empty, []byte(`{}`), 0o644)
	for _, c := range []struct {
		env            map[string]string
		machine, agent string
	}{
		{map[string]string{config.EnvPath: cfg}, "armv7l", "/run/x/agent.sock"},
		{map[string]string{config.EnvPath: cfg, EnvMachine: "armv6l"}, "armv6l", "/run/x/agent.sock"},
		{map[string]string{config.EnvPath: empty}, "", ""},
		{map[string]string{config.EnvPath: agentOnly}, "", "/run/y.sock"},
		{map[string]string{config.EnvPath: empty, EnvMachine: "armv7l"}, "armv7l", DefaultSeccompAgent},
	} {
		got, err := Load(runcargs.Shim{}, func(k string) string { return c.env[k] })
		var want *Uname
		if c.machine != "" || c.agent != "" {
			want = &Uname{Machine: c.machine, SeccompAgent: c.agent}
		}
		if err != nil || (got.Uname == nil) != (want == nil) || want != nil && *got.Uname != *want {
			t.Errorf("%v: %+v, %v; want %+v", c.env, got.Uname, err, want)
		}
		// The socket the wrapper, the agent and doctor use: the
		// configured one, else the default.
		if wantAgent := cmp.Or(c.agent, DefaultSeccompAgent); got.SeccompAgent() != wantAgent {
			t.Errorf("%v: SeccompAgent() = %q, want %q", c.env, got.SeccompAgent(), wantAgent)
		}
	}
}

// podman runs its OCI runtime with an empty PATH: the runtime is then
// looked up in the standard locations, as a shell would.
func TestFindEmptyPATHUsesStandardLocations(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"", StandardPath},
		{"/opt/bin", "/opt/bin"},
	} {
		if got := SearchPath(tc.env); got != tc.want {
			t.Errorf("SearchPath(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
	var want string
	for _, dir := range filepath.SplitList(StandardPath) {
		if _, err := StatID(dir + "/sh"); err == nil {
			want = dir + "/sh"
			break
		}
	}
	if want == "" {
		t.Skip("no sh in " + StandardPath)
	}
	got, err := Find("sh", "default", "", FileID{}, nil)
	if err != nil || got != want {
		t.Fatalf("Find with PATH empty: %q %v, want %q", got, err, want)
	}
}

// The lookup order: each name through the whole path before the next name,
// skipping armhf-shim's own copies.
func TestSearch(t *testing.T) {
	self, other, runc, bkRunc := FileID{Dev: 1, Ino: 1}, FileID{Dev: 1, Ino: 2}, FileID{Dev: 1, Ino: 3}, FileID{Dev: 1, Ino: 4}
	for _, c := range []struct {
		name        string
		files       map[string]FileID
		names       []string
		path        string
		want        string
		wantSkipped []string
	}{
		{"runc first on path", map[string]FileID{"/usr/sbin/runc": runc, "/usr/bin/buildkit-runc": bkRunc},
			[]string{"runc", "buildkit-runc"}, "/usr/bin:/usr/sbin", "/usr/sbin/runc", nil},
		{"moby/buildkit image: no runc", map[string]FileID{"/usr/bin/buildkit-runc": bkRunc, "/usr/bin/buildkitd": other},
			[]string{"runc", "buildkit-runc"}, "/usr/local/bin:/usr/bin", "/usr/bin/buildkit-runc", nil},
		{"wrapper installed as buildkit-runc earlier on path", map[string]FileID{"/usr/local/bin/buildkit-runc": self, "/usr/bin/buildkit-runc": bkRunc},
			[]string{"runc", "buildkit-runc"}, "/usr/local/bin:/usr/bin", "/usr/bin/buildkit-runc", []string{"/usr/local/bin/buildkit-runc"}},
		{"wrapper installed as runc, buildkit-runc behind it", map[string]FileID{"/usr/local/bin/runc": self, "/usr/bin/buildkit-runc": bkRunc},
			[]string{"runc", "buildkit-runc"}, "/usr/local/bin:/usr/bin", "/usr/bin/buildkit-runc", []string{"/usr/local/bin/runc"}},
		{"configured name: no fallback", map[string]FileID{"/usr/bin/buildkit-runc": bkRunc},
			[]string{"crun"}, "/usr/bin", "", nil},
		{"only self", map[string]FileID{"/usr/bin/runc": self, "/usr/bin/buildkit-runc": self},
			[]string{"runc", "buildkit-runc"}, "/usr/bin", "", []string{"/usr/bin/runc", "/usr/bin/buildkit-runc"}},
		{"empty path entry is the current directory", map[string]FileID{"./runc": runc},
			[]string{"runc"}, ":/usr/bin", "./runc", nil},
	} {
		stat := func(p string) (FileID, error) {
			if id, ok := c.files[p]; ok {
				return id, nil
			}
			return FileID{}, os.ErrNotExist
		}
		got, skipped := search(c.names, c.path, stat, func(id FileID) bool { return id == self })
		if got != c.want || strings.Join(skipped, ",") != strings.Join(c.wantSkipped, ",") {
			t.Errorf("%s: %q skipped %q, want %q skipped %q", c.name, got, skipped, c.want, c.wantSkipped)
		}
	}
}

// A moby/buildkit image has buildkit-runc and no runc: the wrapper as the
// OCI worker binary finds it with nothing configured, but a runtime the
// user configured is never replaced by it.
func TestFindBuildKitRunc(t *testing.T) {
	d := t.TempDir()
	self := bin(t, filepath.Join(d, "usr", "bin", "armhf-runc"))
	real := bin(t, filepath.Join(d, "usr", "bin", "buildkit-runc"))
	selfID, err := StatID(self)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d, "usr", "local", "bin") + ":" + filepath.Join(d, "usr", "bin")
	got, err := Find(DefaultRuntime, SourceDefault, path, selfID, nil)
	if err != nil || got != real {
		t.Errorf("default: %q %v, want %q", got, err, real)
	}
	_, err = Find("runc", "config file /etc/armhf-shim/config.json", path, selfID, nil)
	if err == nil || strings.Contains(err.Error(), BuildKitRunc) {
		t.Errorf("configured runc: %v, want an error naming runc only", err)
	}
	os.Remove(real)
	_, err = Find(DefaultRuntime, SourceDefault, path, selfID, nil)
	if err == nil || !strings.Contains(err.Error(), `"runc" or "buildkit-runc"`) {
		t.Errorf("neither: %v, want both names in the error", err)
	}
}
