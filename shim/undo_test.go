package shim

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeRunc is a runtime that shows what it was given (its personality on
// stderr, a line on stdout and on the inherited fd 3) and then does what
// $FAKE says: fail, succeed, fail after making runc's state for the
// container, die of SIGTERM, or wait to be signalled.
const fakeRunc = `#!/bin/sh
for id; do :; done
cat /proc/self/personality >&2
echo out
echo three >&3
echo $$ > "$FAKE_DIR/pid"
case "$FAKE" in
fail) exit 3 ;;
ok) exit 0 ;;
known) mkdir -p "$FAKE_ROOT/$id" && : > "$FAKE_ROOT/$id/state.json"; exit 1 ;;
term) kill -TERM $$ ;;
wait) : > "$FAKE_DIR/started"; exec sleep 30 ;;
esac
exit 9
`

type undoEnv struct {
	t                           *testing.T
	shim, fake, stateRoot, root string
	dir                         string // the fake's own files
	bundle                      string
}

func newUndoEnv(t *testing.T) *undoEnv {
	d := t.TempDir()
	e := &undoEnv{t: t, shim: shimBinary(t), fake: filepath.Join(d, "runc"), stateRoot: filepath.Join(d, "state"),
		root: filepath.Join(d, "runc-root"), dir: d}
	os.WriteFile(e.fake, []byte(fakeRunc), 0o755)
	e.bundle, _ = bundle(t, i386Exe, nil)
	return e
}

func (e *undoEnv) state(id string) string { return filepath.Join(e.stateRoot, "containers", id) }

// create starts the wrapper's create of id with the fake told what to do.
func (e *undoEnv) create(fake, id string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, *os.File) {
	cmd := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.fake,
		"--root", e.root, "create", "--bundle", e.bundle, id)
	cmd.Env = append(os.Environ(), "FAKE="+fake, "FAKE_ROOT="+e.root, "FAKE_DIR="+e.dir)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	r, w, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	w.Close()
	return cmd, &out, &stderr, r
}

func exitOf(err error) (code int, sig syscall.Signal) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return -1, ws.Signal()
		}
		return ws.ExitStatus(), 0
	}
	return 0, 0
}

// The runtime's create fails after the wrapper prepared the container:
// the wrapper removes the state it made — podman killed during the create
// never calls delete — and only that state: not another container's of
// the same id, nor one runc still has.
func TestFailedCreateLeavesNoState(t *testing.T) {
	e := newUndoEnv(t)
	for _, c := range []struct {
		fake, id  string
		before    func(id string)
		code      int
		sig       syscall.Signal
		stateLeft bool
	}{
		{fake: "fail", id: "f1", code: 3},
		{fake: "ok", id: "f2", stateLeft: true},
		{fake: "known", id: "f3", code: 1, stateLeft: true},
		{fake: "term", id: "f4", code: -1, sig: syscall.SIGTERM},
		// Another container's state under the id: not this create's.
		{fake: "fail", id: "f5", code: 3, stateLeft: true, before: func(id string) {
			os.MkdirAll(e.state(id), 0o755)
			os.WriteFile(filepath.Join(e.state(id), "cpuinfo"), []byte("x"), 0o444)
		}},
		// runc had a container of that id: the create could only fail.
		{fake: "known", id: "f6", code: 1, before: func(id string) { os.MkdirAll(filepath.Join(e.root, id), 0o700) }},
	} {
		if c.before != nil {
			c.before(c.id)
		}
		cmd, out, stderr, r := e.create(c.fake, c.id)
		fd3, _ := io_ReadAll(r)
		err := cmd.Wait()
		code, sig := exitOf(err)
		if code != c.code || sig != c.sig {
			t.Errorf("%s: wrapper ended %v, want exit %d signal %v\n%s", c.fake, err, c.code, c.sig, stderr)
		}
		if out.String() != "out\n" || fd3 != "three\n" {
			t.Errorf("%s: the runtime's stdout %q and fd 3 %q reached the caller, want %q and %q", c.fake, out, fd3, "out\n", "three\n")
		}
		if !strings.HasPrefix(stderr.String(), "00000008\n") {
			t.Errorf("%s: the runtime's personality: %q, want 00000008", c.fake, stderr)
		}
		_, serr := os.Stat(e.state(c.id))
		if left := serr == nil; left != c.stateLeft {
			t.Errorf("%s: container %s's state left %v, want %v", c.fake, c.id, left, c.stateLeft)
		}
	}
}

// io_ReadAll reads r to its end as a string.
func io_ReadAll(r *os.File) (string, error) {
	defer r.Close()
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.String(), err
}

// A signal for the runtime reaches it through the waiting wrapper, and
// the state goes; a wrapper killed outright takes the runtime with it.
func TestCreateSignalsReachTheRuntime(t *testing.T) {
	e := newUndoEnv(t)
	waitStarted := func() {
		t.Helper()
		p := filepath.Join(e.dir, "started")
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(p); err == nil {
				os.Remove(p)
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatal("the runtime never started")
	}
	cmd, _, stderr, r := e.create("wait", "s1")
	defer r.Close()
	waitStarted()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if _, sig := exitOf(err); sig != syscall.SIGTERM {
		t.Errorf("wrapper sent SIGTERM while the runtime ran: %v, want it to die of SIGTERM\n%s", err, stderr)
	}
	if _, err := os.Stat(e.state("s1")); err == nil {
		t.Error("container s1's state left after its create was stopped")
	}

	cmd, _, _, r = e.create("wait", "s2")
	defer r.Close()
	waitStarted()
	b, _ := os.ReadFile(filepath.Join(e.dir, "pid"))
	var pid int
	for _, ch := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(ch-'0')
	}
	cmd.Process.Kill()
	cmd.Wait()
	for i := 0; ; i++ {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		if i == 200 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the runtime (pid %d) outlived the killed wrapper", pid)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// With Debian's runc: a create that fails inside runc (a mount it cannot
// make) leaves no state; a create of an id runc has fails and leaves that
// container's state, which its delete removes.
func TestRuncFailedCreateLeavesNoState(t *testing.T) {
	e := newRuncEnv(t)
	null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer null.Close()
	create := func(dir, id string) error {
		cmd := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
			"--root", e.root, "--log", e.log, "--log-format", "json", "create", "--bundle", dir, id)
		// create leaves the container's stdio open: files, not pipes.
		stdout, err := os.CreateTemp(t.TempDir(), "stdout")
		if err != nil {
			t.Fatal(err)
		}
		defer stdout.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = null, stdout, null
		err = cmd.Run()
		if b, _ := os.ReadFile(stdout.Name()); len(b) != 0 {
			t.Errorf("create %s printed %q on stdout", id, b)
		}
		return err
	}
	state := func(id string) bool {
		_, err := os.Stat(filepath.Join(e.stateRoot, "containers", id))
		return err == nil
	}
	bad := runcBundle(t, e.runc, "i386", "sleep", "60")
	editConfig(t, bad, func(m map[string]any) {
		m["mounts"] = append(m["mounts"].([]any), map[string]any{"destination": "/bin/busybox/x", "type": "bind",
			"source": "/etc/hostname", "options": []any{"bind"}})
	})
	e.cleanup("bad1")
	if err := create(bad, "bad1"); err == nil {
		t.Fatal("create with a mount under a regular file succeeded")
	}
	if !strings.Contains(readFile(e.log), "/bin/busybox/x") {
		t.Errorf("runc's error is not in the log:\n%s", readFile(e.log))
	}
	if state("bad1") {
		t.Error("a create that failed in runc left the container's state")
	}

	good := runcBundle(t, e.runc, "i386", "sleep", "60")
	e.cleanup("dup1")
	if err := create(good, "dup1"); err != nil {
		t.Fatalf("create: %v\n%s", err, readFile(e.log))
	}
	if err := create(bad, "dup1"); err == nil {
		t.Fatal("a second create of dup1 succeeded")
	}
	if !state("dup1") {
		t.Fatal("a failed create of an id runc has removed that container's state")
	}
	if _, stderr, err := e.wrapper(nil, "delete", "--force", "dup1"); err != nil {
		t.Fatalf("delete: %v %s", err, stderr)
	}
	if state("dup1") {
		t.Error("delete left dup1's state")
	}
}
