package agent

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// lxcMsg builds a proxy message as liblxc sends it.
func lxcMsg(reserved uint64, notifSize, respSize int, id uint64, cookie string, lenDelta int) []byte {
	le := binary.LittleEndian
	b := make([]byte, lxcHeader+notifSize+respSize)
	le.PutUint64(b[0:], reserved)
	le.PutUint32(b[8:], 100)  // monitor_pid
	le.PutUint32(b[12:], 200) // init_pid
	le.PutUint16(b[16:], uint16(notifSize))
	le.PutUint16(b[18:], uint16(respSize))
	le.PutUint16(b[20:], 64)
	le.PutUint64(b[24:], uint64(len(cookie)+lenDelta))
	le.PutUint64(b[lxcHeader:], id)
	le.PutUint32(b[lxcHeader+8:], 4242)        // pid
	le.PutUint32(b[lxcHeader+16:], 122)        // data.nr
	le.PutUint32(b[lxcHeader+20:], 0x40000003) // data.arch: AUDIT_ARCH_I386
	for i := lxcHeader + notifSize; i < len(b); i++ {
		b[i] = 0xee // liblxc's response buffer: whatever it held
	}
	return append(b, cookie...)
}

func TestParseLXC(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  []byte
		want string // error substring, "" for success
	}{
		{"liblxc", lxcMsg(0, 80, 24, 7, "armv7l", 0), ""},
		{"larger-structs", lxcMsg(0, 96, 32, 7, "armv7l", 0), ""},
		{"no-cookie", lxcMsg(0, 80, 24, 7, "", 0), ""},
		{"short", make([]byte, 20), "shorter than its header"},
		{"reserved", lxcMsg(1, 80, 24, 7, "armv7l", 0), "reserved"},
		{"small-notif", lxcMsg(0, 40, 24, 7, "armv7l", 0), "seccomp_notif of 40"},
		{"small-resp", lxcMsg(0, 80, 8, 7, "armv7l", 0), "seccomp_notif_resp of 8"},
		{"cookie-length", lxcMsg(0, 80, 24, 7, "armv7l", 3), "its header says"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseLXC(tt.msg)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Notif.ID != 7 || r.Notif.Pid != 4242 || r.Notif.Data.Nr != 122 || r.Notif.Data.Arch != 0x40000003 {
				t.Errorf("notification %+v", r.Notif)
			}
			if want := string(tt.msg[len(tt.msg)-int(binary.LittleEndian.Uint64(tt.msg[24:])):]); r.Cookie != want {
				t.Errorf("cookie %q, want %q", r.Cookie, want)
			}
			reply := LXCReply(tt.msg, r, notify.Resp{ID: 7, Error: -14})
			if len(reply) != lxcHeader+r.notifSize+r.respSize || !bytes.Equal(reply[:lxcHeader+r.notifSize], tt.msg[:lxcHeader+r.notifSize]) {
				t.Fatalf("reply does not repeat the header and notification: %x", reply)
			}
			resp := reply[lxcHeader+r.notifSize:]
			if binary.LittleEndian.Uint64(resp) != 7 || int32(binary.LittleEndian.Uint32(resp[16:])) != -14 {
				t.Errorf("response %x", resp)
			}
			for _, c := range resp[24:] {
				if c != 0 {
					t.Errorf("response beyond struct seccomp_notif_resp not zeroed: %x", resp)
					break
				}
			}
		})
	}
}

// serveLXCConn plays the agent's end of a liblxc monitor's connection: a
// request for another ABI is left to the kernel, a caller gone before its
// answer gets nothing written, and a malformed message ends the
// connection; no descriptor is left behind.
func TestServeLXCConn(t *testing.T) {
	abi, _ := notify.CompatABI("amd64")
	a := &Agent{ABI: abi, Machine: "armv7l", Logf: t.Logf}
	before := countFDs(t)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(pair[0]), "agent")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.serveLXCConn(c.(*net.UnixConn)); close(done) }()
	monitor := pair[1]

	// /proc/PID of a process that is gone (reaped) by the time of the answer.
	child := exec.Command("true")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadDir, err := unix.Open(fmt.Sprintf("/proc/%d", child.Process.Pid), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	child.Wait()
	selfDir, _ := unix.Open("/proc/self", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	mem, _ := unix.Open("/proc/self/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)

	exchange := func(msg []byte, fds ...int) []byte {
		t.Helper()
		if err := unix.Sendmsg(monitor, msg, unix.UnixRights(fds...), nil, 0); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, _, _, _, err := unix.Recvmsg(monitor, buf, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	resp := func(reply []byte) (id uint64, errno int32, flags uint32) {
		r := reply[lxcHeader+80:]
		return binary.LittleEndian.Uint64(r), int32(binary.LittleEndian.Uint32(r[16:])), binary.LittleEndian.Uint32(r[20:])
	}

	other := lxcMsg(0, 80, 24, 11, "armv7l", 0)
	binary.LittleEndian.PutUint32(other[lxcHeader+16:], 63)         // the 64-bit uname
	binary.LittleEndian.PutUint32(other[lxcHeader+20:], 0xc000003e) // AUDIT_ARCH_X86_64
	if id, errno, flags := resp(exchange(other, selfDir, mem)); id != 11 || errno != 0 || flags != unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE {
		t.Errorf("64-bit uname: id %d errno %d flags %d, want CONTINUE", id, errno, flags)
	}
	gone := lxcMsg(0, 80, 24, 12, "armv7l", 0)
	binary.LittleEndian.PutUint32(gone[lxcHeader+8:], uint32(child.Process.Pid))
	if id, errno, _ := resp(exchange(gone, deadDir, mem)); id != 12 || errno != -int32(unix.ENOSYS) {
		t.Errorf("caller gone: id %d errno %d, want ENOSYS and nothing written", id, errno)
	}
	if err := unix.Sendmsg(monitor, []byte("garbage"), nil, nil, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a malformed message did not end the connection")
	}
	for _, fd := range []int{deadDir, selfDir, mem} {
		unix.Close(fd)
	}
	unix.Close(monitor)
	if n := countFDs(t); n != before {
		t.Errorf("%d descriptors open after, %d before", n, before)
	}
}

// A hand-over (armhf-lxc exec's listener, HandOverLXC) on the LXC socket is
// served as a runc container's listener, with the machine it names: here one
// the agent refuses, which it logs with the container's name. No
// descriptor is left behind.
func TestHandOverLXC(t *testing.T) {
	abi, _ := notify.CompatABI("amd64")
	logs := make(chan string, 16)
	a := &Agent{ABI: abi, Machine: "armv6l", Logf: func(format string, args ...any) { logs <- fmt.Sprintf(format, args...) }}
	before := countFDs(t)
	sock := filepath.Join(t.TempDir(), "lxc.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- a.ServeLXC(ln) }()

	notListener := os.NewFile(uintptr(pipeFD(t)), "pipe")
	st := specs.ContainerProcessState{State: specs.State{ID: "c1", Pid: os.Getpid()}, Pid: os.Getpid()}
	if err := HandOverLXC(sock, st, "arm v7", notListener); err != nil {
		t.Fatal(err)
	}
	notListener.Close()
	select {
	case msg := <-logs:
		if want := fmt.Sprintf("container c1 (pid %d): ", os.Getpid()); !strings.HasPrefix(msg, want) || !strings.Contains(msg, `"arm v7"`) {
			t.Errorf("log %q, want one starting %q", msg, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hand-over was not served")
	}
	if err := HandOverLXC(filepath.Join(t.TempDir(), "none.sock"), st, "armv7l", os.Stdin); err == nil || !strings.Contains(err.Error(), "seccomp agent's LXC socket") {
		t.Errorf("no agent: err = %v", err)
	}
	ln.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := countFDs(t); n != before {
		t.Errorf("%d descriptors open after, %d before", n, before)
	}
}
