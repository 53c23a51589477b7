package dind

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname"
)

// Status is what status reports.
type Status struct {
	Dir     string `json:"dir"`
	Host    string `json:"host"`
	Running bool   `json:"running"`
	Pid     int    `json:"pid,omitempty"`
	// StalePid is a pidfile's PID that is not this daemon (dead, or reused
	// by another program).
	StalePid     int    `json:"stalePid,omitempty"`
	Personality  string `json:"personality,omitempty"` // "linux32" or "linux"
	Version      string `json:"version,omitempty"`
	APIVersion   string `json:"apiVersion,omitempty"`
	Architecture string `json:"architecture,omitempty"` // as Docker reports it (/info)
	OSType       string `json:"osType,omitempty"`
	Runtime      string `json:"defaultRuntime,omitempty"`
	// Network is "private" (its own namespace) or "host"; Address is its
	// address on the private link, where its published ports are.
	Network string `json:"network,omitempty"`
	Address string `json:"address,omitempty"`
	// Machine is start's --machine: what uname -m says to its 32-bit
	// programs and containers.
	Machine string `json:"machine,omitempty"`
	// APIError is set when the process runs but its API does not answer.
	APIError string `json:"apiError,omitempty"`
}

// readPid reads the pidfile: 0 when there is none or it is unreadable.
func readPid(l Layout) int {
	b, err := os.ReadFile(l.Pidfile())
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return -1 // corrupt
	}
	return n
}

// staleNote says why the pidfile is removed: stale is daemonPid's.
func staleNote(l Layout, stale int) string {
	if stale < 0 {
		return fmt.Sprintf("armhf-shim: removing stale pidfile %s (corrupt: it holds no PID)", l.Pidfile())
	}
	return fmt.Sprintf("armhf-shim: removing stale pidfile %s (pid %d is not this daemon)", l.Pidfile(), stale)
}

// daemonPid finds the running daemon: the pidfile's PID, or the PID start
// recorded (dockerd writes its pidfile only once initialised).
func daemonPid(l Layout) (pid, stale int) {
	p := readPid(l)
	if p > 0 && alive(p) && isDaemon(p, l) {
		return p, 0
	}
	if s := readState(l); s.Pid > 0 && alive(s.Pid) && isDaemon(s.Pid, l) {
		return s.Pid, 0
	}
	if p != 0 {
		return 0, p
	}
	return 0, 0
}

// GetStatus reports on the daemon of l.
func GetStatus(l Layout) Status {
	s := Status{Dir: l.Dir, Host: l.Host()}
	s.Pid, s.StalePid = daemonPid(l)
	if s.Pid == 0 {
		return s
	}
	s.Running = true
	if st := readState(l); st.Pid == s.Pid {
		s.Network, s.Machine = st.Network, st.Machine
		if st.Net != nil {
			s.Address = st.Net.Addr
		}
	}
	if p, ok := personality(s.Pid); ok {
		if p&0xff == uname.PerLinux32 {
			s.Personality = "linux32"
		} else {
			s.Personality = "linux"
		}
	}
	var v struct {
		Version    string
		APIVersion string `json:"ApiVersion"`
	}
	if err := apiGet(l, "/version", &v); err != nil {
		s.APIError = err.Error()
		return s
	}
	s.Version, s.APIVersion = v.Version, v.APIVersion
	var info struct {
		Architecture   string
		OSType         string
		DefaultRuntime string
	}
	if err := apiGet(l, "/info", &info); err != nil {
		s.APIError = err.Error()
		return s
	}
	s.Architecture, s.OSType, s.Runtime = info.Architecture, info.OSType, info.DefaultRuntime
	return s
}

// get sends "GET path" to the daemon's API socket and returns the status
// code and body. It speaks HTTP/1.0 over a raw unix socket (the daemon
// closes the connection after the response, unchunked), which keeps
// net/http and its TLS stack out of the armhf-shim binary: every docker and
// runc call through armhf-shim would pay their initialisation.
func get(l Layout, path string, timeout time.Duration) (int, []byte, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, err
	}
	f := os.NewFile(uintptr(fd), l.Socket())
	defer f.Close()
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: l.Socket()}); err != nil {
		return 0, nil, fmt.Errorf("connecting to %s: %v", l.Socket(), err)
	}
	if _, err := fmt.Fprintf(f, "GET %s HTTP/1.0\r\nHost: docker\r\nUser-Agent: armhf-shim\r\n\r\n", path); err != nil {
		return 0, nil, fmt.Errorf("GET %s: %v", path, err)
	}
	resp, err := io.ReadAll(io.LimitReader(f, 32<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %v", path, err)
	}
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok {
		return 0, nil, fmt.Errorf("GET %s: truncated response %q", path, resp)
	}
	status, _, _ := bytes.Cut(head, []byte("\r\n"))
	f3 := strings.Fields(string(status))
	if len(f3) < 2 || !strings.HasPrefix(f3[0], "HTTP/") {
		return 0, nil, fmt.Errorf("GET %s: not an HTTP response: %q", path, status)
	}
	code, err := strconv.Atoi(f3[1])
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: bad status line %q", path, status)
	}
	return code, body, nil
}

// ping asks GET /_ping.
func ping(l Layout) error {
	code, body, err := get(l, "/_ping", 2*time.Second)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("/_ping: status %d %q", code, body)
	}
	return nil
}

func apiGet(l Layout, path string, v any) error {
	code, body, err := get(l, path, 10*time.Second)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("GET %s: status %d %s", path, code, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, v)
}

// Format renders s for people, one "key: value" a line.
func (s Status) Format() string {
	var b strings.Builder
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(&b, "running: %s\n", yes[s.Running])
	if s.Pid != 0 {
		fmt.Fprintf(&b, "pid: %d\n", s.Pid)
	}
	switch {
	case s.StalePid < 0:
		fmt.Fprintf(&b, "stale pidfile: corrupt, it holds no PID\n")
	case s.StalePid != 0:
		fmt.Fprintf(&b, "stale pidfile: pid %d is not this daemon\n", s.StalePid)
	}
	fmt.Fprintf(&b, "socket: %s\n", s.Host)
	fmt.Fprintf(&b, "dir: %s\n", s.Dir)
	if s.Personality != "" {
		fmt.Fprintf(&b, "personality: %s\n", s.Personality)
	}
	switch {
	case s.Address != "":
		fmt.Fprintf(&b, "network: %s, address %s (its published ports are there)\n", s.Network, s.Address)
	case s.Network != "":
		fmt.Fprintf(&b, "network: %s\n", s.Network)
	}
	if s.Machine != "" {
		fmt.Fprintf(&b, "uname machine: %s (32-bit programs and containers, --machine)\n", s.Machine)
	}
	if s.Version != "" {
		fmt.Fprintf(&b, "version: %s (API %s)\n", s.Version, s.APIVersion)
	}
	if s.Architecture != "" {
		fmt.Fprintf(&b, "architecture: %s\n", s.Architecture)
		fmt.Fprintf(&b, "default runtime: %s\n", s.Runtime)
	}
	if s.APIError != "" {
		fmt.Fprintf(&b, "api: not answering: %s\n", s.APIError)
	}
	return b.String()
}
