package shim

// Host integration tests against Debian's real runc (1.1.5, which ignores
// linux.personality: the wrapper's own personality is what makes i686).

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// requireRunc returns Debian's runc.
func requireRunc(t *testing.T) string {
	t.Helper()
	testenv.RequireRoot(t)
	if _, err := os.Stat("/usr/sbin/runc"); err == nil {
		return "/usr/sbin/runc"
	}
	return testenv.RequireCommand(t, "runc")
}

// shimBinary builds cmd/armhf-shim.
func shimBinary(t *testing.T) string {
	t.Helper()
	return testenv.BuildBinary(t, "./cmd/armhf-shim")
}

// runcBundle makes a bundle (from `runc spec`) whose rootfs is Debian's
// static busybox for arch, running args.
func runcBundle(t *testing.T, runc, arch string, args ...string) string {
	t.Helper()
	rootfs := testenv.BusyboxRootfs(t, arch)
	dir := t.TempDir()
	if out, err := exec.Command(runc, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	editConfig(t, dir, func(m map[string]any) {
		p := m["process"].(map[string]any)
		p["terminal"] = false
		p["args"] = args
		m["root"] = map[string]any{"path": rootfs, "readonly": false}
		m["x-unknown-to-runtime-spec"] = map[string]any{"kept": []any{"yes"}}
	})
	return dir
}

func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.MarshalIndent(m, "", "\t")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// probe is what the containers print.
const probe = `uname -m; grep -m1 "CPU architecture" /proc/cpuinfo || echo "no CPU architecture line"; cat /proc/self/personality`

type runcEnv struct {
	t         *testing.T
	runc      string
	shim      string
	root      string // runc --root
	stateRoot string // armhf-shim state root
	log       string
}

func newRuncEnv(t *testing.T) *runcEnv {
	runc := requireRunc(t)
	e := &runcEnv{t: t, runc: runc, shim: shimBinary(t), root: t.TempDir(), stateRoot: t.TempDir()}
	e.log = filepath.Join(t.TempDir(), "log.json")
	return e
}

// wrapper runs the armhf-shim runtime with runc's global flags and args.
func (e *runcEnv) wrapper(env []string, args ...string) (string, string, error) {
	full := append([]string{"runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
		"--root", e.root, "--log", e.log, "--log-format", "json"}, args...)
	return e.run(e.shim, env, full...)
}

func (e *runcEnv) run(bin string, env []string, args ...string) (string, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	cmd.Stdin = nil
	err := cmd.Run()
	return o.String(), er.String(), err
}

func (e *runcEnv) cleanup(id string) {
	e.t.Cleanup(func() { exec.Command(e.runc, "--root", e.root, "delete", "--force", id).Run() })
}

func TestRuncWrapper32Bit(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "i386", "sh", "-c", probe)
	e.cleanup("w32")
	out, stderr, err := e.wrapper(nil, "--debug", "run", "--bundle", dir, "w32")
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s\nlog: %s", err, stderr, readFile(e.log))
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "i686" || lines[1] != "CPU architecture: 7" || lines[2] != "00000008" {
		t.Errorf("container printed %q, want i686 / CPU architecture: 7 / 00000008", out)
	}
	log := readFile(e.log)
	if !strings.Contains(log, `auto-detected: sh -\u003e /bin/sh is ELF32 i386`) && !strings.Contains(log, "auto-detected: sh -> /bin/sh is ELF32 i386") {
		t.Errorf("--debug log lacks the decision:\n%s", log)
	}
	cfg := readFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(cfg, "x-unknown-to-runtime-spec") || !strings.Contains(cfg, `"LINUX32"`) {
		t.Errorf("config.json after the wrapper:\n%s", cfg)
	}
}

func TestRuncWrapper64BitUntouched(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "amd64", "sh", "-c", probe)
	before := readFile(filepath.Join(dir, "config.json"))
	e.cleanup("w64")
	out, stderr, err := e.wrapper(nil, "run", "--bundle", dir, "w64")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if !strings.HasPrefix(out, "x86_64\n") || strings.Contains(out, "CPU architecture: 7") || !strings.HasSuffix(out, "00000000\n") {
		t.Errorf("64-bit container printed %q", out)
	}
	if readFile(filepath.Join(dir, "config.json")) != before {
		t.Error("64-bit container's config.json changed")
	}
	if ents, _ := os.ReadDir(e.stateRoot); len(ents) != 0 {
		t.Error("state written for a 64-bit container")
	}
}

// TestRuncWrapperLifecycle is Docker's sequence: create, start, exec,
// kill, delete — each through the wrapper.
func TestRuncWrapperLifecycle(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "i386", "sleep", "60")
	const id = "life32"
	e.cleanup(id)
	// create leaves the container's stdio open: give it files, not pipes.
	null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer null.Close()
	create := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
		"--root", e.root, "--log", e.log, "--log-format", "json", "create", "--bundle", dir, "--pid-file", filepath.Join(dir, "init.pid"), id)
	create.Stdin, create.Stdout, create.Stderr = null, null, null
	if err := create.Run(); err != nil {
		t.Fatalf("create: %v\nlog: %s", err, readFile(e.log))
	}
	cpuinfo := filepath.Join(e.stateRoot, "containers", id, "cpuinfo")
	if _, err := os.Stat(cpuinfo); err != nil {
		t.Fatalf("cpuinfo source: %v", err)
	}
	if _, stderr, err := e.wrapper(nil, "start", id); err != nil {
		t.Fatalf("start: %v %s", err, stderr)
	}
	proc := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(proc, []byte(`{"args":["sh","-c",`+jsonString(probe)+`],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}}`), 0o644)
	out, stderr, err := e.wrapper(nil, "exec", "--process", proc, id)
	if err != nil {
		t.Fatalf("exec: %v %s\nlog: %s", err, stderr, readFile(e.log))
	}
	if !strings.HasPrefix(out, "i686\nCPU architecture: 7\n") {
		t.Errorf("exec through the wrapper printed %q", out)
	}
	// The same exec without the wrapper: proof that the wrapper set it.
	out, _, _ = e.run(e.runc, nil, "--root", e.root, "exec", "--process", proc, id)
	if !strings.HasPrefix(out, "x86_64\nCPU architecture: 7\n") {
		t.Errorf("exec with bare runc printed %q (want x86_64 and the mounted cpuinfo)", out)
	}
	if _, stderr, err := e.wrapper(nil, "kill", id, "9"); err != nil {
		t.Fatalf("kill: %v %s", err, stderr)
	}
	waitStopped(t, e, id)
	if _, stderr, err := e.wrapper(nil, "delete", id); err != nil {
		t.Fatalf("delete: %v %s", err, stderr)
	}
	if _, err := os.Stat(filepath.Dir(cpuinfo)); !os.IsNotExist(err) {
		t.Errorf("delete left %s", filepath.Dir(cpuinfo))
	}
}

func waitStopped(t *testing.T, e *runcEnv, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _, _ := e.run(e.runc, nil, "--root", e.root, "state", id)
		if strings.Contains(out, `"stopped"`) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("container %s did not stop", id)
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func readFile(p string) string { b, _ := os.ReadFile(p); return string(b) }

// TestRuncWrapperAsRuncOnPath is BuildKit's route: a link named runc
// first on PATH; it must find the real runc, never itself, even with a
// second copy of armhf-shim (not a link) later on PATH.
func TestRuncWrapperAsRuncOnPath(t *testing.T) {
	e := newRuncEnv(t)
	first, second := t.TempDir(), t.TempDir()
	if err := os.Symlink(e.shim, filepath.Join(first, "runc")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(e.shim)
	os.WriteFile(filepath.Join(second, "runc"), data, 0o755)
	dir := runcBundle(t, e.runc, "i386", "sh", "-c", probe)
	e.cleanup("bk32")
	path := first + ":" + second + ":" + filepath.Dir(e.runc) + ":/usr/bin:/bin"
	cmd := exec.Command(filepath.Join(first, "runc"), "--root", e.root, "--log", e.log, "--log-format", "json", "--debug",
		"run", "--bundle", dir, "bk32")
	cmd.Env = append(os.Environ(), "PATH="+path, "ARMHF_SHIM_STATE_ROOT="+e.stateRoot)
	var out bytes.Buffer
	cmd.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v\nlog: %s", err, readFile(e.log))
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("runc link did not finish: recursion?")
	}
	if !strings.HasPrefix(out.String(), "i686\nCPU architecture: 7\n") {
		t.Errorf("printed %q", out.String())
	}
	log := readFile(e.log)
	if !strings.Contains(log, "forwarding run") {
		t.Errorf("the second copy did not just forward:\n%s", log)
	}
	// Nothing per container is left by an attached run.
	if _, err := os.Stat(filepath.Join(e.stateRoot, "containers", "bk32")); !os.IsNotExist(err) {
		t.Error("attached run left a per-container directory")
	}
}

// TestRuncWrapperErrorsReachTheLog: a broken configuration is an error
// line in runc's log, which is what Docker shows.
func TestRuncWrapperErrorsReachTheLog(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "i386", "true")
	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"missing runtime", []string{"runtime", "--armhf-shim-runtime", "/nonexistent/runc"}, nil, "real OCI runtime /nonexistent/runc"},
		{"runtime is itself", []string{"runtime"}, []string{"ARMHF_SHIM_RUNTIME=" + e.shim}, "armhf-shim itself"},
		{"bad config file", []string{"runtime", "--armhf-shim-config", dir + "/config.json"}, nil, "malformed"},
		// Docker puts runtimeArgs before --root/--log/--log-format: a
		// malformed wrapper flag is still an error in the --log file.
		{"empty runtime flag", []string{"runtime", "--armhf-shim-runtime="}, nil, "--armhf-shim-runtime needs a non-empty value"},
		{"runtime flag swallowing --root", []string{"runtime", "--armhf-shim-runtime"}, nil, `--armhf-shim-runtime needs a value, not "--root"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "log.json")
			args := append(c.args, "--root", e.root, "--log", log, "--log-format", "json", "create", "--bundle", dir, "broken")
			out, stderr, err := e.run(e.shim, c.env, args...)
			if err == nil {
				t.Fatal("succeeded")
			}
			if out != "" {
				t.Errorf("wrote to stdout: %q", out)
			}
			var last struct{ Level, Msg string }
			for _, line := range strings.Split(strings.TrimSpace(readFile(log)), "\n") {
				json.Unmarshal([]byte(line), &last)
			}
			if last.Level != "error" || !strings.Contains(last.Msg, c.want) {
				t.Errorf("last log line %+v, want an error containing %q (stderr %q)", last, c.want, stderr)
			}
		})
	}
}

// TestHookWithRunc registers `armhf-shim hook` as a createContainer and
// as a prestart hook, as podman and CRI-O would, and a poststop for the
// cleanup.
func TestHookWithRunc(t *testing.T) {
	for _, stage := range []string{"createContainer", "prestart"} {
		t.Run(stage, func(t *testing.T) {
			e := newRuncEnv(t)
			dir := runcBundle(t, e.runc, "i386", "sh", "-c", probe)
			hook := map[string]any{"path": e.shim, "args": []any{"armhf-shim", "hook", "--armhf-shim-state-root", e.stateRoot}}
			editConfig(t, dir, func(m map[string]any) {
				m["hooks"] = map[string]any{stage: []any{hook}, "poststop": []any{hook}}
			})
			id := "hook-" + strings.ToLower(stage)
			runWantARMv7(t, e, dir, id)
			if _, err := os.Stat(filepath.Join(e.stateRoot, "containers", id)); !os.IsNotExist(err) {
				t.Errorf("poststop did not clean up: %v", err)
			}

			// A 64-bit container is left alone by the same hook.
			dir64 := runcBundle(t, e.runc, "amd64", "sh", "-c", probe)
			editConfig(t, dir64, func(m map[string]any) { m["hooks"] = map[string]any{stage: []any{hook}} })
			e.cleanup(id + "-64")
			out, stderr, err := e.run(e.runc, nil, "--root", e.root, "run", "--bundle", dir64, id+"-64")
			if err != nil {
				t.Fatalf("runc run 64: %v\n%s", err, stderr)
			}
			if strings.Contains(out, "CPU architecture: 7") {
				t.Errorf("64-bit container got the armv7 cpuinfo: %q", out)
			}
		})
	}
}

// TestHookErrorsReachRunc: a hook failure stops the container with the
// hook's message in runc's error.
func TestHookErrorsReachRunc(t *testing.T) {
	e := newRuncEnv(t)
	dir := runcBundle(t, e.runc, "i386", "true")
	hook := map[string]any{"path": e.shim, "args": []any{"armhf-shim", "hook", "--armhf-shim-state-root", e.stateRoot}}
	editConfig(t, dir, func(m map[string]any) {
		m["hooks"] = map[string]any{"createContainer": []any{hook}}
		m["annotations"] = map[string]any{"io.armhf-shim.enable": "perhaps"}
	})
	e.cleanup("hookerr")
	_, stderr, err := e.run(e.runc, nil, "--root", e.root, "run", "--bundle", dir, "hookerr")
	if err == nil || !strings.Contains(stderr, "io.armhf-shim.enable") {
		t.Errorf("err %v, stderr %q: want the hook's message", err, stderr)
	}
}

func TestHookInput(t *testing.T) {
	var stderr bytes.Buffer
	for name, c := range map[string]struct {
		args  []string
		stdin string
		want  string
	}{
		"malformed state":  {nil, `{"id": `, "malformed OCI state"},
		"bad id":           {nil, `{"id": "../x", "pid": 1, "bundle": "/b"}`, "invalid container id"},
		"missing bundle":   {nil, `{"id": "x", "pid": 1, "bundle": "/nonexistent/bundle"}`, "reading the bundle config"},
		"unknown argument": {[]string{"extra"}, `{}`, "unexpected arguments"},
	} {
		err := Hook(append([]string{"--armhf-shim-state-root", t.TempDir()}, c.args...), strings.NewReader(c.stdin), &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
	// poststop of a container the hook never touched: fine.
	if err := Hook([]string{"--armhf-shim-state-root", t.TempDir()}, strings.NewReader(`{"id":"x","status":"stopped"}`), &stderr); err != nil {
		t.Errorf("poststop: %v", err)
	}
}
