package shim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runclog"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/uname"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// world is a fake host: a PATH with a "runc", armhf-shim's own binary, a
// state root and a runc root.
type world struct {
	t         testing.TB
	self, rt  string
	pathDir   string
	stateRoot string
	runcRoot  string
	env       map[string]string
	log       bytes.Buffer
}

func newWorld(t testing.TB) *world {
	d := t.TempDir()
	w := &world{t: t, pathDir: filepath.Join(d, "bin"), stateRoot: filepath.Join(d, "state"), runcRoot: filepath.Join(d, "runc-root")}
	os.MkdirAll(w.pathDir, 0o755)
	w.self = filepath.Join(d, "armhf-shim")
	os.WriteFile(w.self, []byte("#!/bin/false\n"), 0o755)
	w.rt = filepath.Join(w.pathDir, "runc")
	os.WriteFile(w.rt, []byte("#!/bin/false\n"), 0o755)
	w.env = map[string]string{"PATH": w.pathDir, config.EnvPath: filepath.Join(d, "absent-config.json")}
	// The default config path must not be read in tests: point at a file
	// that exists but is empty of settings.
	os.WriteFile(w.env[config.EnvPath], []byte(`{}`), 0o644)
	return w
}

func (w *world) selfID() runtimecfg.FileID {
	id, err := runtimecfg.StatID(w.self)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) Env() Env {
	return Env{
		Getenv: func(k string) string { return w.env[k] },
		Environ: func() []string {
			var out []string
			for k, v := range w.env {
				out = append(out, k+"="+v)
			}
			return out
		},
		SelfID: func() (runtimecfg.FileID, error) { return runtimecfg.StatID(w.self) },
		GOARCH: "amd64",
	}
}

func (w *world) prepare(args ...string) (Plan, error) {
	w.t.Helper()
	args = append([]string{"--armhf-shim-state-root", w.stateRoot, "--root", w.runcRoot, "--debug"}, args...)
	inv, err := runcargs.Parse(args)
	if err != nil {
		w.t.Fatal(err)
	}
	l := runclog.New("", "json", true)
	l.Stderr = &w.log
	return Prepare(inv, w.Env(), l)
}

// bundle writes a bundle from the Docker fixture whose rootfs has exe at
// /bin/sleep (the fixture runs "sleep 100"), with edit applied to the
// generic config.
func bundle(t testing.TB, exe []byte, edit func(map[string]any)) (dir string, config []byte) {
	t.Helper()
	dir = t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rootfs", "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "rootfs", "bin", "busybox"), exe, 0o755)
	os.Symlink("/bin/busybox", filepath.Join(dir, "rootfs", "bin", "sleep"))
	b := testenv.DockerConfig(t)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["root"] = map[string]any{"path": "rootfs"}
	m["x-unknown"] = map[string]any{"kept": true}
	if edit != nil {
		edit(m)
	}
	config, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, config
}

var (
	i386Exe  = uname.Compat32ELF("amd64")
	amd64Exe = func() []byte {
		b := make([]byte, 64)
		copy(b, "\x7fELF\x02\x01\x01")
		b[18] = detect.EMX86_64
		return b
	}()
)

func readSpec(t *testing.T, dir string) specs.Spec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"x-unknown"`) {
		t.Error("unknown field lost")
	}
	return s
}

func TestPrepareCreate32Bit(t *testing.T) {
	for _, cmd := range [][]string{
		{"create", "--bundle", "BUNDLE", "--pid-file", "/p", "c32"},
		{"run", "-b=BUNDLE", "-d", "c32"},
	} {
		t.Run(cmd[0], func(t *testing.T) {
			w := newWorld(t)
			dir, _ := bundle(t, i386Exe, func(m map[string]any) {
				m["linux"].(map[string]any)["resources"] = map[string]any{"cpu": map[string]any{"cpus": "0"}}
			})
			args := append([]string(nil), cmd...)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "BUNDLE", dir)
			}
			plan, err := w.prepare(args...)
			if err != nil {
				t.Fatalf("%v\nlog: %s", err, w.log.String())
			}
			if !plan.Linux32 || plan.Path != w.rt {
				t.Fatalf("plan %+v\nlog: %s", plan, w.log.String())
			}
			wantArgv := append([]string{w.rt, "--root", w.runcRoot, "--debug"}, args...)
			if !reflect.DeepEqual(plan.Argv, wantArgv) {
				t.Errorf("argv %q, want %q", plan.Argv, wantArgv)
			}
			if !contains(plan.Env, runtimecfg.EnvSeen+"="+w.selfID().String()) {
				t.Errorf("env lacks %s", runtimecfg.EnvSeen)
			}
			s := readSpec(t, dir)
			last := s.Mounts[len(s.Mounts)-1]
			if last.Destination != "/proc/cpuinfo" || !strings.HasPrefix(last.Source, w.stateRoot) {
				t.Errorf("mount %+v", last)
			}
			text, err := os.ReadFile(last.Source)
			if err != nil || !strings.Contains(string(text), "CPU architecture: 7") || strings.Count(string(text), "processor") != 1 {
				t.Errorf("cpuinfo source (cpuset 0): %v\n%s", err, text)
			}
			if s.Linux.Personality == nil || s.Linux.Personality.Domain != specs.PerLinux32 || s.Annotations["io.armhf-shim.personality"] != "LINUX32" {
				t.Errorf("personality %+v annotations %v", s.Linux.Personality, s.Annotations)
			}
			if st, _ := os.Stat(filepath.Join(dir, "config.json")); st.Mode().Perm() != 0o600 {
				t.Errorf("config.json mode %v, want the original 0600", st.Mode())
			}
			if !strings.Contains(w.log.String(), "auto-detected: sleep -> /bin/sleep is ELF32 i386") {
				t.Errorf("debug log lacks the decision: %s", w.log.String())
			}

			// delete removes the cpuinfo again.
			if _, err := w.prepare("delete", "--force", "c32"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(last.Source); !os.IsNotExist(err) {
				t.Errorf("cpuinfo left after delete: %v", err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPrepareCreate64BitUntouched(t *testing.T) {
	w := newWorld(t)
	dir, config := bundle(t, amd64Exe, nil)
	var before unix.Stat_t
	unix.Stat(filepath.Join(dir, "config.json"), &before)
	plan, err := w.prepare("create", "--bundle", dir, "c64")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Linux32 {
		t.Error("64-bit container gets LINUX32")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var st unix.Stat_t
	unix.Stat(filepath.Join(dir, "config.json"), &st)
	if !bytes.Equal(after, config) || st.Ino != before.Ino || st.Mtim != before.Mtim {
		t.Error("64-bit container's config.json was rewritten")
	}
	if _, err := os.Stat(w.stateRoot); !os.IsNotExist(err) {
		t.Error("state written for a 64-bit container")
	}
}

func TestPrepareDecisionRules(t *testing.T) {
	cases := []struct {
		name    string
		exe     []byte
		edit    func(map[string]any)
		linux32 bool
		errText string
	}{
		{"annotation forces a 64-bit image", amd64Exe, func(m map[string]any) {
			m["annotations"] = map[string]any{"io.armhf-shim.enable": "true"}
		}, true, ""},
		{"annotation disables a 32-bit image", i386Exe, func(m map[string]any) {
			m["annotations"] = map[string]any{"io.armhf-shim.enable": "false"}
		}, false, ""},
		{"env disables a 32-bit image", i386Exe, func(m map[string]any) {
			p := m["process"].(map[string]any)
			p["env"] = append(p["env"].([]any), "ARMHF_SHIM=0")
		}, false, ""},
		{"env enables a 64-bit image", amd64Exe, func(m map[string]any) {
			p := m["process"].(map[string]any)
			p["env"] = append(p["env"].([]any), "ARMHF_SHIM=1")
		}, true, ""},
		{"bad annotation is a clear error", i386Exe, func(m map[string]any) {
			m["annotations"] = map[string]any{"io.armhf-shim.enable": "sure"}
		}, false, "io.armhf-shim.enable"},
		{"bad cpuset is a clear error", i386Exe, func(m map[string]any) {
			m["linux"].(map[string]any)["resources"] = map[string]any{"cpu": map[string]any{"cpus": "zero"}}
		}, false, "linux.resources.cpu.cpus"},
		{"missing executable passes through", i386Exe, func(m map[string]any) {
			m["process"].(map[string]any)["args"] = []any{"/nonexistent"}
		}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			dir, config := bundle(t, c.exe, c.edit)
			plan, err := w.prepare("create", "--bundle", dir, "cid")
			if c.errText != "" {
				if err == nil || !strings.Contains(err.Error(), c.errText) || !strings.Contains(err.Error(), "cid") {
					t.Fatalf("err = %v, want one naming %q and the container", err, c.errText)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if plan.Linux32 != c.linux32 {
				t.Errorf("Linux32 = %v\nlog: %s", plan.Linux32, w.log.String())
			}
			after, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			if !c.linux32 && !bytes.Equal(after, config) {
				t.Error("config.json changed although the container is not modified")
			}
			if c.errText != "" {
				if ids, _ := os.ReadDir(filepath.Join(w.stateRoot, "containers")); len(ids) != 0 {
					t.Error("a failed create left state")
				}
			}
		})
	}
}

func TestPrepareMalformedConfig(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	bad := []byte(`{"ociVersion": "1.0.2", "process": `)
	os.WriteFile(filepath.Join(dir, "config.json"), bad, 0o644)
	_, err := w.prepare("create", "--bundle", dir, "cbad")
	if err == nil || !strings.Contains(err.Error(), "malformed OCI config") || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("err = %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); !bytes.Equal(after, bad) {
		t.Error("malformed config changed")
	}
	_, err = w.prepare("create", "--bundle", filepath.Join(dir, "nosuch"), "cbad")
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing bundle: %v", err)
	}
}

func TestPrepareDefaultBundleIsCwd(t *testing.T) {
	w := newWorld(t)
	dir, _ := bundle(t, i386Exe, nil)
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	plan, err := w.prepare("run", "ccwd")
	if err != nil || !plan.Linux32 {
		t.Fatalf("plan %+v err %v", plan, err)
	}
}

func TestPrepareExec(t *testing.T) {
	w := newWorld(t)
	write := func(id string, labels ...string) {
		os.MkdirAll(filepath.Join(w.runcRoot, id), 0o700)
		b, _ := json.Marshal(map[string]any{"id": id, "config": map[string]any{"labels": labels}})
		os.WriteFile(filepath.Join(w.runcRoot, id, "state.json"), b, 0o600)
	}
	write("marked", "io.armhf-shim.personality=LINUX32", "bundle=/b")
	write("plain", "bundle=/b")
	for id, want := range map[string]bool{"marked": true, "plain": false, "missing": false} {
		plan, err := w.prepare("exec", "--process", "/tmp/p.json", "--detach", id)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Linux32 != want {
			t.Errorf("exec %s: Linux32 = %v", id, plan.Linux32)
		}
	}
}

func TestPreparePassthrough(t *testing.T) {
	w := newWorld(t)
	// A bundle that would fail if anything read it: a malformed
	// config.json, in the working directory (runc's default bundle) and
	// named by --bundle as well.
	dir := t.TempDir()
	bad := []byte(`{"ociVersion": "1.0.2", "process": `)
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	var before unix.Stat_t
	if err := unix.Stat(cfg, &before); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	for _, args := range [][]string{{"start", "c"}, {"kill", "c", "9"}, {"state", "c"}, {"ps", "--format", "json", "c"},
		{"pause", "c"}, {"resume", "c"}, {"update", "--resources", "-", "c"}, {"features"}, {"--version"},
		{"restore", "--bundle", dir, "c"}, {"checkpoint", "c"}, {"events", "c"}, {"list"}, {"spec", "--bundle", dir}} {
		variants := [][]string{args}
		if len(args) > 1 && args[1] != "--bundle" {
			withBundle := append([]string{args[0], "--bundle", dir}, args[1:]...)
			variants = append(variants, withBundle, append([]string{"-b=" + dir}, args...))
		}
		for _, argv := range variants {
			plan, err := w.prepare(argv...)
			if err != nil || plan.Linux32 {
				t.Errorf("%q: %+v %v", argv, plan, err)
			}
			after, _ := os.ReadFile(cfg)
			var st unix.Stat_t
			unix.Stat(cfg, &st)
			if !bytes.Equal(after, bad) || st.Ino != before.Ino || st.Mtim != before.Mtim {
				t.Errorf("%q changed the bundle's config.json", argv)
			}
			if _, err := os.Stat(w.stateRoot); !os.IsNotExist(err) {
				t.Errorf("%q created state", argv)
			}
		}
	}
}

// corpusArgv returns the create and run command lines captured from
// Docker and BuildKit (testdata/runc/argv.jsonl).
func corpusArgv(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "runc", "argv.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var l struct {
			What string
			Argv []string
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if inv, _ := runcargs.Parse(l.Argv); inv != nil && (inv.Command == "create" || inv.Command == "run") {
			out[l.What] = l.Argv
		}
	}
	if len(out) < 4 {
		t.Fatalf("only %d create/run lines in the corpus", len(out))
	}
	return out
}

// localize points a captured command line at a bundle, a log file and a
// runc root of the test.
func localize(t *testing.T, argv []string, bundle, log, root string) []string {
	t.Helper()
	inv, err := runcargs.Parse(argv)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		if inv.Global.Log != "" {
			a = strings.ReplaceAll(a, inv.Global.Log, log)
		}
		if inv.Global.Root != "" {
			a = strings.ReplaceAll(a, inv.Global.Root, root)
		}
		out[i] = strings.ReplaceAll(a, inv.Bundle, bundle)
	}
	return out
}

// insertAfterCommand puts extra right after the command of argv.
func insertAfterCommand(t *testing.T, argv []string, extra ...string) []string {
	t.Helper()
	for i, a := range argv {
		if a == "create" || a == "run" {
			out := append(append(append([]string(nil), argv[:i+1]...), extra...), argv[i+1:]...)
			return out
		}
	}
	t.Fatalf("no command in %q", argv)
	return nil
}

// TestPrepareUnknownFlagsPassThrough: a create/run with a flag armhf-shim
// does not know is passed through untouched (its arity, and so the
// container id, is a guess), with a warning in runc's log naming the
// flag; the same command lines without it are modified.
func TestPrepareUnknownFlagsPassThrough(t *testing.T) {
	type variant struct {
		name    string
		extra   []string // after the command
		global  []string // before everything
		unknown string   // "" = known: modified
	}
	variants := []variant{
		{name: "as captured"},
		{name: "unknown flag with a value", extra: []string{"--new-flag", "value"}, unknown: "--new-flag"},
		{name: "unknown flag with a path value", extra: []string{"--pidfd-socket", "/s", "--new-flag", "/run/x"}, unknown: "--new-flag"},
		{name: "unknown flag =value", extra: []string{"--new-flag=value"}, unknown: "--new-flag=value"},
		{name: "unknown bool flag", extra: []string{"-z"}, unknown: "-z"},
		{name: "invalid bool", extra: []string{"--no-pivot=maybe"}, unknown: "--no-pivot=maybe"},
		// A global flag of another runtime (crun's, as a runtimeArg) comes
		// before the command, which is still found: the id is no guess.
		{name: "unknown global flag", global: []string{"--cgroup-manager", "systemd"}},
		{name: "unknown global flag =value", global: []string{"--cgroup-manager=systemd"}},
	}
	for what, captured := range corpusArgv(t) {
		for _, v := range variants {
			t.Run(what+"/"+v.name, func(t *testing.T) {
				w := newWorld(t)
				dir, config := bundle(t, i386Exe, nil)
				logFile := filepath.Join(t.TempDir(), "log.json")
				argv := localize(t, captured, dir, logFile, w.runcRoot)
				if v.extra != nil {
					argv = insertAfterCommand(t, argv, v.extra...)
				}
				argv = append(append([]string{"--armhf-shim-state-root", w.stateRoot}, v.global...), argv...)
				inv, err := runcargs.Parse(argv)
				if err != nil {
					t.Fatal(err)
				}
				log := runclog.New(inv.Global.Log, inv.Global.LogFormat, inv.Global.Debug)
				plan, err := Prepare(inv, w.Env(), log)
				log.Close()
				if err != nil {
					t.Fatal(err)
				}
				if want := append([]string{w.rt}, argv[2:]...); !reflect.DeepEqual(plan.Argv, want) {
					t.Errorf("argv %q, want %q", plan.Argv, want)
				}
				logText, _ := os.ReadFile(logFile)
				var warnings []string
				for _, l := range strings.Split(strings.TrimSpace(string(logText)), "\n") {
					var line struct{ Level, Msg string }
					if l == "" {
						continue
					}
					if err := json.Unmarshal([]byte(l), &line); err != nil {
						t.Errorf("log line %q is not JSON: %v", l, err)
					}
					if line.Level != "debug" {
						warnings = append(warnings, line.Level+": "+line.Msg)
					}
				}
				after, _ := os.ReadFile(filepath.Join(dir, "config.json"))
				_, stateErr := os.Stat(w.stateRoot)
				if v.unknown == "" {
					if !plan.Linux32 || bytes.Equal(after, config) || len(warnings) != 0 {
						t.Errorf("not modified: Linux32 %v, log %s", plan.Linux32, logText)
					}
					return
				}
				if plan.Linux32 || !bytes.Equal(after, config) || !os.IsNotExist(stateErr) {
					t.Errorf("modified although %s is unknown: Linux32 %v, config changed %v, state %v",
						v.unknown, plan.Linux32, !bytes.Equal(after, config), stateErr)
				}
				if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "warning: ") ||
					!strings.Contains(warnings[0], v.unknown) || !strings.Contains(warnings[0], "not modified") ||
					!strings.Contains(warnings[0], "update armhf-shim") {
					t.Errorf("log %s\nwant one JSON warning naming %s", logText, v.unknown)
				}
			})
		}
	}
}

// TestPrepareUnknownFlagsDelete: a delete whose flags are not all known
// must not remove the state of whatever its guessed container id names.
func TestPrepareUnknownFlagsDelete(t *testing.T) {
	for _, c := range []struct {
		args []string
		kept bool
	}{
		{[]string{"delete", "--new-flag", "value", "cid2"}, true},
		{[]string{"delete", "--force", "value"}, false},
	} {
		w := newWorld(t)
		dir, _ := bundle(t, i386Exe, nil)
		if _, err := w.prepare("create", "--bundle", dir, "value"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.prepare(c.args...); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(filepath.Join(w.stateRoot, "containers", "value"))
		if kept := err == nil; kept != c.kept {
			t.Errorf("%q: state of container \"value\" kept = %v, want %v", c.args, kept, c.kept)
		}
	}
}

func TestPrepareForwardsWhenCalledByAnotherCopy(t *testing.T) {
	w := newWorld(t)
	other := filepath.Join(t.TempDir(), "first-armhf-shim")
	w.env[runtimecfg.EnvSeen] = other
	dir, config := bundle(t, i386Exe, nil)
	plan, err := w.prepare("create", "--bundle", dir, "c")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Linux32 {
		t.Error("second wrapper in the chain modified again")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); !bytes.Equal(after, config) {
		t.Error("second wrapper rewrote config.json")
	}
	if !contains(plan.Env, runtimecfg.EnvSeen+"="+other+":"+w.selfID().String()) {
		t.Errorf("SEEN not extended: %v", plan.Env)
	}
}

func TestPrepareRuntimeErrors(t *testing.T) {
	w := newWorld(t)
	os.Remove(w.rt)
	_, err := w.prepare("start", "c")
	if err == nil || !strings.Contains(err.Error(), "no real OCI runtime") {
		t.Errorf("no runc: %v", err)
	}
	w.env[runtimecfg.EnvRuntime] = w.self
	_, err = w.prepare("start", "c")
	if err == nil || !strings.Contains(err.Error(), "armhf-shim itself") {
		t.Errorf("runtime = self: %v", err)
	}
}

func TestSetEnv(t *testing.T) {
	got := setEnv([]string{"A=1", "ARMHF_SHIM_SEEN=/x", "ARMHF_SHIM_SEENX=2"}, "ARMHF_SHIM_SEEN", "/y")
	want := []string{"A=1", "ARMHF_SHIM_SEENX=2", "ARMHF_SHIM_SEEN=/y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("setEnv = %q", got)
	}
}

func TestPrepareAttachedRunLeavesNothingPerContainer(t *testing.T) {
	// BuildKit's `runc run` (attached): runc deletes the container itself,
	// so the mount source must be the shared per-cpuset file.
	w := newWorld(t)
	dir, _ := bundle(t, i386Exe, nil)
	plan, err := w.prepare("--log", filepath.Join(t.TempDir(), "runc-log.json"), "--log-format", "json", "run", "--bundle", dir, "k2xq9")
	if err != nil || !plan.Linux32 {
		t.Fatalf("plan %+v err %v", plan, err)
	}
	s := readSpec(t, dir)
	src := s.Mounts[len(s.Mounts)-1].Source
	if !strings.HasPrefix(src, filepath.Join(w.stateRoot, "cache")+"/") {
		t.Errorf("attached run mounts %s, want the shared cache file", src)
	}
	if _, err := os.Stat(filepath.Join(w.stateRoot, "containers", "k2xq9")); !os.IsNotExist(err) {
		t.Errorf("attached run left a per-container directory")
	}
}
