package agent

import (
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// sendState plays the runtime: it sends data with fds attached on a new
// connection (a socketpair) and hangs up, and returns the agent's end.
func sendState(t *testing.T, data string, fds ...int) *net.UnixConn {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(pair[1], []byte(data), oob, nil, 0); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(pair[0]), "agent")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(pair[1]) // as runc exits: the agent reads to the end
	return c.(*net.UnixConn)
}

func pipeFD(t *testing.T) int {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[1])
	return p[0]
}

func TestReceiveState(t *testing.T) {
	const ok = `{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":42,"metadata":"armv7l","state":{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b","annotations":{"io.armhf-shim.machine":"armv6l"}}}`
	for _, tt := range []struct {
		name  string
		data  string
		nfds  int
		want  string // error substring, "" for success
		check func(t *testing.T, meta, id string)
	}{
		{"runc", ok, 1, "", func(t *testing.T, meta, id string) {
			if meta != "armv7l" || id != "c1" {
				t.Errorf("metadata %q id %q", meta, id)
			}
		}},
		{"second-of-two", `{"fds":["other","seccompFd"],"pid":1,"state":{"id":"c2"}}`, 2, "", nil},
		{"no-seccompFd", `{"fds":["other"],"pid":1,"state":{"id":"c3"}}`, 1, "no seccompFd", nil},
		{"no-descriptor", ok, 0, "no seccompFd", nil},
		{"not-json", `{"fds":`, 1, "the state", nil},
		{"probe", ``, 0, "without sending", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := countFDs(t)
			var fds []int
			for range tt.nfds {
				fds = append(fds, pipeFD(t))
			}
			conn := sendState(t, tt.data, fds...)
			for _, fd := range fds {
				unix.Close(fd) // the agent holds its own copies now
			}
			st, l, err := ReceiveState(conn)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			case err == nil:
				if tt.check != nil {
					tt.check(t, st.Metadata, st.State.ID)
				}
				l.Close()
			}
			conn.Close()
			if n := countFDs(t); n != before {
				t.Errorf("%d descriptors open after, %d before", n, before)
			}
		})
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestActivatedFDs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		env       map[string]string
		n         int
		wantError bool
	}{
		{"none", nil, 0, false},
		{"one", map[string]string{"LISTEN_FDS": "1", "LISTEN_PID": "42"}, 1, false},
		{"two", map[string]string{"LISTEN_FDS": "2", "LISTEN_PID": "42"}, 2, false},
		{"another-pid", map[string]string{"LISTEN_FDS": "1", "LISTEN_PID": "41"}, 0, false},
		{"no-pid", map[string]string{"LISTEN_FDS": "1"}, 0, false},
		{"zero", map[string]string{"LISTEN_FDS": "0", "LISTEN_PID": "42"}, 0, false},
		{"three", map[string]string{"LISTEN_FDS": "3", "LISTEN_PID": "42"}, 3, false}, // sockets and stored listeners
		{"garbage", map[string]string{"LISTEN_FDS": "x", "LISTEN_PID": "42"}, 0, true},
		{"negative", map[string]string{"LISTEN_FDS": "-1", "LISTEN_PID": "42"}, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ActivatedFDs(func(k string) string { return tt.env[k] }, 42)
			if n != tt.n || (err != nil) != tt.wantError {
				t.Errorf("= %d, %v; want %d, error %v", n, err, tt.n, tt.wantError)
			}
		})
	}
}
