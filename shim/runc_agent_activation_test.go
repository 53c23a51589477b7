package shim

// The seccomp agent under systemd socket activation (deploy/systemd,
// install seccomp-agent): the test plays systemd, which creates the
// socket, passes it as descriptor 3 with LISTEN_FDS and LISTEN_PID, and
// keeps it while the agent restarts.

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// activateAgent starts the agent as systemd would, on the listening
// socket ln. LISTEN_PID must be the agent's own pid: sh sets it to its
// own ($$) and execs the agent, which keeps the pid.
// --socket names unused, a path the agent must not touch when activated.
func activateAgent(t *testing.T, shim string, ln *os.File, unused string, log *bytes.Buffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" seccomp-agent --socket "$1"`, shim, unused)
	cmd.ExtraFiles = []*os.File{ln}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})
	return cmd
}

func TestRuncMachineSocketActivation(t *testing.T) {
	e := newRuncEnv(t)
	if ok, _ := hostIsAmd64(); !ok {
		t.Skip("the i386 busybox stands in for armhf on x86_64 hosts only")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	lnFile, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	defer lnFile.Close()
	env := machineEnv(t, sock, "armv7l")
	var log bytes.Buffer
	unused := filepath.Join(t.TempDir(), "unused", "agent.sock")

	// A container started before the agent: runc's connection waits in
	// the socket's backlog, as when systemd starts the agent on the first
	// connection, and the container's uname waits for its answer.
	dir := runcBundle(t, e.runc, "i386", "uname", "-m")
	e.cleanup("m-act1")
	first := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
		"--root", e.root, "run", "--bundle", dir, "m-act1")
	first.Env = append(os.Environ(), env...)
	var out1, err1 bytes.Buffer
	first.Stdout, first.Stderr = &out1, &err1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	agent := activateAgent(t, e.shim, lnFile, unused, &log)
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	select {
	case err := <-done:
		if err != nil || out1.String() != "armv7l\n" {
			t.Errorf("container started before the agent: out %q err %v stderr %q agent log %q", out1.String(), err, err1.String(), log.String())
		}
	case <-time.After(30 * time.Second):
		first.Process.Kill()
		t.Fatalf("container started before the agent never finished; agent log %q", log.String())
	}

	// The agent restarts (systemd's Restart=always): the socket stays,
	// and the next container is answered by the new agent.
	agent.Process.Signal(syscall.SIGTERM)
	if err := agent.Wait(); err != nil {
		t.Errorf("the agent's exit on SIGTERM: %v (log %q)", err, log.String())
	}
	if st, err := os.Lstat(sock); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the agent removed systemd's socket on exit: %v", err)
	}
	activateAgent(t, e.shim, lnFile, unused, &log)
	e.cleanup("m-act2")
	if out, stderr, err := e.wrapper(env, "run", "--bundle", dir, "m-act2"); err != nil || out != "armv7l\n" {
		t.Errorf("after the agent restarted: out %q err %v stderr %q agent log %q", out, err, stderr, log.String())
	}
	if _, err := os.Stat(filepath.Dir(unused)); err == nil {
		t.Error("the activated agent created its --socket directory")
	}
	if log.Len() > 0 {
		t.Errorf("agent log: %s", log.String())
	}
}
