package shim

// The seccomp agent under systemd socket activation (deploy/systemd,
// install seccomp-agent): the test plays systemd, which creates the
// socket, passes it as descriptor 3 with LISTEN_FDS and LISTEN_PID, and
// keeps it while the agent restarts.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	return activateAgentWith(t, shim, []*os.File{ln}, nil, unused, log)
}

// activateAgentWith starts the agent with descriptors fds from 3 on and
// env added; LISTEN_FDS counts fds.
func activateAgentWith(t *testing.T, shim string, fds []*os.File, env []string, unused string, log io.Writer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ exec "$0" seccomp-agent --socket "$1"`, shim, unused)
	cmd.ExtraFiles = fds
	cmd.Env = append(os.Environ(), append(env, "LISTEN_FDS="+strconv.Itoa(len(fds)))...)
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

// activationSocket plays systemd's socket unit: a listening socket at sock
// that outlives the agents it is passed to (their descriptor 3).
func activationSocket(t *testing.T) (sock string, f *os.File) {
	sock = filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	f, err = l.File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	t.Cleanup(func() { f.Close() })
	return sock, f
}

func TestRuncMachineSocketActivation(t *testing.T) {
	e := newRuncEnv(t)
	if ok, _ := hostIsAmd64(); !ok {
		t.Skip("the i386 busybox stands in for armhf on x86_64 hosts only")
	}
	sock, lnFile := activationSocket(t)
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

// fakeFDStore plays systemd's side of sd_notify(3): a NOTIFY_SOCKET that
// keeps the descriptors of FDSTORE=1 messages by FDNAME= and drops them on
// FDSTOREREMOVE=1.
type fakeFDStore struct {
	path string
	mu   sync.Mutex
	fds  map[string]*os.File
	log  []string // the messages, in order
}

func newFakeFDStore(t *testing.T) *fakeFDStore {
	s := &fakeFDStore{path: filepath.Join(t.TempDir(), "notify"), fds: map[string]*os.File{}}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.mu.Lock()
		for _, f := range s.fds {
			f.Close()
		}
		s.mu.Unlock()
	})
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, syscall.CmsgSpace(4*16))
		for {
			n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			var fds []int
			msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
			for _, m := range msgs {
				r, _ := syscall.ParseUnixRights(&m)
				fds = append(fds, r...)
			}
			msg := string(buf[:n])
			name := ""
			for _, l := range strings.Split(msg, "\n") {
				if v, ok := strings.CutPrefix(l, "FDNAME="); ok {
					name = v
				}
			}
			s.mu.Lock()
			s.log = append(s.log, msg)
			switch {
			case strings.Contains(msg, "FDSTORE=1") && len(fds) == 1 && s.fds[name] == nil:
				s.fds[name] = os.NewFile(uintptr(fds[0]), name)
				fds = nil
			case strings.Contains(msg, "FDSTOREREMOVE=1") && s.fds[name] != nil:
				s.fds[name].Close()
				delete(s.fds, name)
			}
			s.mu.Unlock()
			for _, fd := range fds {
				syscall.Close(fd)
			}
		}
	}()
	return s
}

// stored waits until the store holds n descriptors, and returns their
// names and descriptors.
func (s *fakeFDStore) stored(t *testing.T, n int) ([]string, []*os.File) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		if len(s.fds) == n {
			var names []string
			var files []*os.File
			for name, f := range s.fds {
				names, files = append(names, name), append(files, f)
			}
			s.mu.Unlock()
			return names, files
		}
		log := strings.Join(s.log, " | ")
		s.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the store never held %d descriptors; messages: %q", n, log)
		}
	}
}

// storingAgents plays systemd for agents that store their listeners: it
// makes the listening socket sock and a fake store, and start starts an
// agent on the socket with the stored descriptors named names, its log in
// log.
func storingAgents(t *testing.T, e *runcEnv) (sock string, store *fakeFDStore, start func(names []string, files []*os.File) *exec.Cmd, log *syncBuffer) {
	sock, lnFile := activationSocket(t)
	store = newFakeFDStore(t)
	unused := filepath.Join(t.TempDir(), "unused", "agent.sock")
	log = &syncBuffer{}
	start = func(stored []string, files []*os.File) *exec.Cmd {
		names := append([]string{"armhf-shim-seccomp-agent.socket"}, stored...)
		return activateAgentWith(t, e.shim, append([]*os.File{lnFile}, files...),
			[]string{"NOTIFY_SOCKET=" + store.path, "LISTEN_FDNAMES=" + strings.Join(names, ":")}, unused, log)
	}
	return sock, store, start, log
}

// TestRuncMachineFDStoreHammer: a container calling uname from 8 threads
// while the agent is stopped (SIGTERM) and started again, five times: every
// call says armv7l, none fails or hangs (the agent stops between two
// answers, never in one).
func TestRuncMachineFDStoreHammer(t *testing.T) {
	e := newRuncEnv(t)
	if ok, _ := hostIsAmd64(); !ok {
		t.Skip("the i386 busybox stands in for armhf on x86_64 hosts only")
	}
	sock, store, start, log := storingAgents(t, e)
	agent := start(nil, nil)
	dir := runcBundle(t, e.runc, "i386", "uname32", "hammer", "8", "20000", "armv7l")
	uname32Into(t, configRootfs(t, dir))
	e.cleanup("m-hammer")
	cmd := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
		"--root", e.root, "run", "--bundle", dir, "m-hammer")
	cmd.Env = append(os.Environ(), machineEnv(t, sock, "armv7l")...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	names, files := store.stored(t, 1)
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		agent.Process.Signal(syscall.SIGTERM)
		agent.Wait()
		agent = start(names, files)
	}
	select {
	case err := <-done:
		if err != nil || out.String() != "wrong 0\n" {
			t.Errorf("the container: %v, output %q; want wrong 0; agent log %q", err, out.String(), log.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the container never finished (a uname never answered); agent log %q", log.String())
	}
}

// TestRuncMachineFDStore: the agent keeps a running container's listener
// in systemd's file descriptor store (the test plays systemd, as above,
// with a NOTIFY_SOCKET of its own) and serves it again when restarted
// with it: killed (Restart=always), and stopped with SIGTERM (systemctl
// restart). A uname the container calls while no agent runs waits for the
// next one instead of failing.
func TestRuncMachineFDStore(t *testing.T) {
	e := newRuncEnv(t)
	if ok, _ := hostIsAmd64(); !ok {
		t.Skip("the i386 busybox stands in for armhf on x86_64 hosts only")
	}
	sock, store, start, log := storingAgents(t, e)
	agent := start(nil, nil)

	dir := runcBundle(t, e.runc, "i386", "sh", "-c", "uname32 new; read x; uname32 new; read x; uname32 new")
	uname32Into(t, configRootfs(t, dir))
	e.cleanup("m-store")
	cmd := exec.Command(e.shim, "runtime", "--armhf-shim-state-root", e.stateRoot, "--armhf-shim-runtime", e.runc,
		"--root", e.root, "run", "--bundle", dir, "m-store")
	cmd.Env = append(os.Environ(), machineEnv(t, sock, "armv7l")...)
	stdin, _ := cmd.StdinPipe()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	defer pr.Close()
	lines := make(chan string, 3)
	go func() {
		r := bufio.NewReader(pr)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	next := func(when string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || !strings.Contains(l, "|armv7l|") {
				t.Fatalf("%s: the container printed %q (open %v), want armv7l; agent log %q", when, l, ok, log.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s: the container printed nothing; agent log %q", when, log.String())
		}
	}
	next("first uname")
	names, files := store.stored(t, 1)
	if !strings.HasPrefix(names[0], "uname,n=0,pid=") || !strings.HasSuffix(names[0], ",machine=armv7l,id=m-store") {
		t.Errorf("stored as %q", names[0])
	}

	// Killed, as a crash: the container's next uname comes while no
	// agent runs, and waits for the next one.
	agent.Process.Kill()
	agent.Wait()
	stdin.Write([]byte("go\n"))
	time.Sleep(300 * time.Millisecond)
	agent = start(names, files)
	next("after the agent was killed and restarted")

	// Stopped with SIGTERM, as systemctl restart does.
	agent.Process.Signal(syscall.SIGTERM)
	if err := agent.Wait(); err != nil {
		t.Errorf("the agent's exit on SIGTERM: %v", err)
	}
	agent = start(names, files)
	stdin.Write([]byte("go\n"))
	next("after the agent was stopped and started again")

	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the container: %v", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the container never finished")
	}
	// Its serving over, the agent takes the listener out of the store.
	store.stored(t, 0)
	store.mu.Lock()
	msgs := fmt.Sprint(store.log)
	store.mu.Unlock()
	if strings.Count(msgs, "FDSTORE=1") != 1 || strings.Count(msgs, "FDSTOREREMOVE=1\nFDNAME="+names[0]) != 1 {
		t.Errorf("messages to NOTIFY_SOCKET: %q; want one FDSTORE=1 and its FDSTOREREMOVE=1", msgs)
	}
	if got := log.String(); strings.Count(got, "serving the 1 listener(s) systemd kept") != 2 || strings.Count(got, "\n") != 2 {
		t.Errorf("agent log %q: want the two restarts' lines only", got)
	}
}

// syncBuffer is a bytes.Buffer the agents write to from exec's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
