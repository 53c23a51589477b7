package shim

// The runtime wrapper's machine setting with Debian's runc 1.1.5 and the
// seccomp agent (docs/uname.md).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/rawjson"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// agentProc is a running `armhf-shim seccomp-agent`.
type agentProc struct {
	sock, log string
	cmd       *exec.Cmd
}

func startAgent(t *testing.T, shim string, args ...string) *agentProc {
	t.Helper()
	dir := t.TempDir()
	a := &agentProc{sock: filepath.Join(dir, "agent.sock"), log: filepath.Join(dir, "agent.log")}
	logf, err := os.Create(a.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	a.cmd = exec.Command(shim, append([]string{"seccomp-agent", "--socket", a.sock}, args...)...)
	a.cmd.Stderr = logf
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(a.sock); err == nil {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent never listened: %s", readFile(a.log))
		}
	}
}

func (a *agentProc) stop() {
	if a.cmd.ProcessState == nil {
		a.cmd.Process.Signal(syscall.SIGTERM)
		a.cmd.Wait()
	}
}

// fds counts the agent's open descriptors.
func (a *agentProc) fds(t *testing.T) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", a.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// machineEnv is the wrapper's environment with a config file naming the
// agent's socket, and machine (if not "") in ARMHF_SHIM_MACHINE.
func machineEnv(t *testing.T, sock, machine string) []string {
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"seccompAgent":`+jsonString(sock)+`}`), 0o644)
	env := []string{"ARMHF_SHIM_CONFIG=" + cfg}
	if machine != "" {
		env = append(env, "ARMHF_SHIM_MACHINE="+machine)
	}
	return env
}

// amd64Busybox copies the amd64 busybox into rootfs as /bin/busybox64.
func amd64Busybox(t *testing.T, rootfs string) {
	src := filepath.Join(testenv.BusyboxRootfs(t, "amd64"), "bin", "busybox")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox64"), data, 0o755)
}

func TestRuncMachine(t *testing.T) {
	e := newRuncEnv(t)
	if ok, _ := hostIsAmd64(); !ok {
		t.Skip("the i386 busybox stands in for armhf on x86_64 hosts only")
	}
	ag := startAgent(t, e.shim)
	env := machineEnv(t, ag.sock, "armv7l")
	baseFDs := ag.fds(t)
	const script = `uname -m; uname -n; busybox64 uname -m`

	run := func(t *testing.T, id string, env []string, edit func(map[string]any), args ...string) (string, string, error) {
		t.Helper()
		dir := runcBundle(t, e.runc, "i386", args...)
		amd64Busybox(t, configRootfs(t, dir))
		if edit != nil {
			editConfig(t, dir, edit)
		}
		e.cleanup(id)
		return e.wrapper(env, "run", "--bundle", dir, id)
	}
	t.Run("env", func(t *testing.T) {
		out, stderr, err := run(t, "m-env", env, nil, "sh", "-c", script)
		if err != nil || out != "armv7l\nrunc\ni686\n" {
			t.Errorf("out %q err %v stderr %q log %s", out, err, stderr, readFile(e.log))
		}
	})
	t.Run("hostile", func(t *testing.T) {
		// 10,016 calls from 32 threads, and uname on bad pointers (EFAULT).
		dir := runcBundle(t, e.runc, "i386", "sh", "-c", "uname32 hammer 32 313 armv7l; uname32 bad")
		uname32Into(t, configRootfs(t, dir))
		e.cleanup("m-hostile")
		out, stderr, err := e.wrapper(env, "run", "--bundle", dir, "m-hostile")
		if want := fmt.Sprintf("wrong 0\n%[1]d %[1]d %[1]d %[1]d\n", int(syscall.EFAULT)); err != nil || out != want {
			t.Errorf("out %q, want %q; err %v stderr %q", out, want, err, stderr)
		}
	})
	t.Run("annotation-beats-env", func(t *testing.T) {
		out, _, err := run(t, "m-ann", env, func(m map[string]any) {
			m["annotations"] = map[string]any{"io.armhf-shim.machine": "armv6l"}
		}, "uname", "-m")
		if err != nil || out != "armv6l\n" {
			t.Errorf("out %q err %v", out, err)
		}
	})
	t.Run("container-env", func(t *testing.T) {
		out, _, err := run(t, "m-cenv", machineEnv(t, ag.sock, ""), func(m map[string]any) {
			p := m["process"].(map[string]any)
			p["env"] = append(p["env"].([]any), "ARMHF_SHIM_MACHINE=armv7l")
		}, "uname", "-m")
		if err != nil || out != "armv7l\n" {
			t.Errorf("out %q err %v log %s", out, err, readFile(e.log))
		}
	})
	t.Run("not-asked", func(t *testing.T) {
		out, _, err := run(t, "m-none", machineEnv(t, ag.sock, ""), nil, "uname", "-m")
		if err != nil || out != "i686\n" {
			t.Errorf("out %q err %v", out, err)
		}
	})
	t.Run("docker-profile", func(t *testing.T) {
		linux, _ := rawjson.Member(testenv.DockerConfig(t), "linux")
		raw, _ := rawjson.Member(linux, "seccomp")
		var prof any
		json.Unmarshal(raw, &prof)
		out, stderr, err := run(t, "m-docker", env, func(m map[string]any) {
			m["linux"].(map[string]any)["seccomp"] = prof
		}, "sh", "-c", script+"; u=$(cat /proc/self/status | grep -c Seccomp:.2); echo filter $u")
		if err != nil || out != "armv7l\nrunc\ni686\nfilter 1\n" {
			t.Errorf("with Docker's default profile: out %q err %v stderr %q log %s", out, err, stderr, readFile(e.log))
		}
	})
	t.Run("exec", func(t *testing.T) {
		dir := runcBundle(t, e.runc, "i386", "sleep", "60")
		const id = "m-exec"
		e.cleanup(id)
		null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		defer null.Close()
		create := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
			"--root", e.root, "--log", e.log, "--log-format", "json", "create", "--bundle", dir, id)
		create.Env = append(os.Environ(), env...)
		create.Stdin, create.Stdout, create.Stderr = null, null, null
		if err := create.Run(); err != nil {
			t.Fatalf("create: %v\nlog: %s", err, readFile(e.log))
		}
		if _, stderr, err := e.wrapper(env, "start", id); err != nil {
			t.Fatalf("start: %v %s", err, stderr)
		}
		proc := filepath.Join(t.TempDir(), "process.json")
		os.WriteFile(proc, []byte(`{"args":["uname","-m"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}}`), 0o644)
		if out, stderr, err := e.wrapper(env, "exec", "--process", proc, id); err != nil || out != "armv7l\n" {
			t.Errorf("exec: out %q err %v stderr %q", out, err, stderr)
		}
		e.wrapper(nil, "kill", id, "9")
		waitStopped(t, e, id)
		e.wrapper(nil, "delete", id)
	})
	// Every container is gone: the agent holds no listener any more.
	deadline := time.Now().Add(10 * time.Second)
	for ag.fds(t) != baseFDs && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := ag.fds(t); n != baseFDs {
		t.Errorf("the agent has %d descriptors open, %d before the containers", n, baseFDs)
	}
	if log := readFile(ag.log); log != "" {
		t.Errorf("agent log: %s", log)
	}
}

// Without the agent, a container asking for the machine does not start,
// and says why; if the agent stops, uname fails instead of hanging; and
// the agent serves a bounded number of containers at once.
func TestRuncMachineAgentFailures(t *testing.T) {
	e := newRuncEnv(t)
	if ok, _ := hostIsAmd64(); !ok {
		t.Skip("the i386 busybox stands in for armhf on x86_64 hosts only")
	}
	t.Run("agent-down", func(t *testing.T) {
		dir := runcBundle(t, e.runc, "i386", "uname", "-m")
		e.cleanup("m-down")
		env := machineEnv(t, filepath.Join(t.TempDir(), "none.sock"), "armv7l")
		_, stderr, err := e.wrapper(env, "run", "--bundle", dir, "m-down")
		if err == nil || !strings.Contains(readFile(e.log)+stderr, "seccomp agent") {
			t.Errorf("err %v stderr %q log %s", err, stderr, readFile(e.log))
		}
	})
	t.Run("agent-killed", func(t *testing.T) {
		ag := startAgent(t, e.shim)
		// busybox's uname prints whatever the buffer held when the call
		// fails: uname32 reports the errno.
		dir := runcBundle(t, e.runc, "i386", "sh", "-c", "uname -m; read x; uname32 new")
		uname32Into(t, configRootfs(t, dir))
		e.cleanup("m-killed")
		cmd := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
			"--root", e.root, "run", "--bundle", dir, "m-killed")
		cmd.Env = append(os.Environ(), machineEnv(t, ag.sock, "armv7l")...)
		stdin, _ := cmd.StdinPipe()
		// The agent is killed only once it has answered the first uname:
		// killed earlier (a loaded host), runc cannot hand it the listener
		// or the first uname already gets ENOSYS.
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = pw, pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		outc := make(chan string, 1)
		firstc := make(chan string, 1)
		go func() {
			r := bufio.NewReader(pr)
			first, _ := r.ReadString('\n')
			firstc <- first
			rest, _ := io.ReadAll(r)
			outc <- first + string(rest)
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-firstc:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("the container printed nothing; log: %s", readFile(e.log))
		}
		ag.cmd.Process.Kill()
		ag.cmd.Wait()
		stdin.Write([]byte("go\n"))
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatal("uname hung after the agent was killed")
		}
		var out string
		select {
		case out = <-outc:
		case <-time.After(20 * time.Second):
			t.Fatal("the container's output stayed open after runc exited")
		}
		pr.Close()
		if s, want := out, fmt.Sprintf("armv7l\nerrno %d\n", int(syscall.ENOSYS)); s != want {
			t.Errorf("output %q, want %q: armv7l, then ENOSYS", s, want)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		ag := startAgent(t, e.shim, "--max", "1")
		baseFDs := ag.fds(t)
		env := machineEnv(t, ag.sock, "armv7l")
		null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		defer null.Close()
		holder := runcBundle(t, e.runc, "i386", "sleep", "60")
		e.cleanup("m-hold")
		create := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
			"--root", e.root, "create", "--bundle", holder, "m-hold")
		create.Env = append(os.Environ(), env...)
		create.Stdin, create.Stdout, create.Stderr = null, null, null
		if err := create.Run(); err != nil {
			t.Fatal(err)
		}
		dir := runcBundle(t, e.runc, "i386", "uname32", "new")
		uname32Into(t, configRootfs(t, dir))
		e.cleanup("m-second")
		out, _, _ := e.wrapper(env, "run", "--bundle", dir, "m-second")
		if want := fmt.Sprintf("errno %d\n", int(syscall.ENOSYS)); out != want || !strings.Contains(readFile(ag.log), "the maximum") {
			t.Errorf("second container beyond --max 1: out %q, want %q; agent log %q", out, want, readFile(ag.log))
		}
		e.wrapper(nil, "delete", "--force", "m-hold")
		// The slot is free once the agent closed the holder's listener
		// (it gives the slot back first); a fixed wait was too short on a
		// loaded host.
		for deadline := time.Now().Add(10 * time.Second); ag.fds(t) != baseFDs; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the agent still has %d descriptors open, %d before the containers", ag.fds(t), baseFDs)
			}
		}
		e.cleanup("m-third")
		if out, _, err := e.wrapper(env, "run", "--bundle", dir, "m-third"); err != nil || !strings.Contains(out, "|armv7l|") {
			t.Errorf("after the first container is gone: out %q err %v", out, err)
		}
	})
}

// uname32Into copies the GOARCH=386 test program of uname/notify into
// rootfs as /bin/uname32.
func uname32Into(t *testing.T, rootfs string) {
	data, err := os.ReadFile(testenv.BuildBinary(t, "./uname/notify/testdata/uname32", "GOARCH=386"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rootfs, "bin", "uname32"), data, 0o755)
}

// configRootfs is the root.path of a bundle's config.
func configRootfs(t *testing.T, dir string) string {
	var c struct {
		Root struct{ Path string } `json:"root"`
	}
	json.Unmarshal([]byte(readFile(filepath.Join(dir, "config.json"))), &c)
	return c.Root.Path
}

func hostIsAmd64() (bool, error) {
	var u syscall.Utsname
	err := syscall.Uname(&u)
	m := ""
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		m += string(rune(c))
	}
	return m == "x86_64", err
}
