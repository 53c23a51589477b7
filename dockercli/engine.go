package dockercli

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/platform"
	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// Engine is what the wrapper asks the docker daemon at host (an endpoint
// as [Daemon] gives it): a local daemon's own answer, never a second
// docker process.
type Engine interface {
	// ImagePlatform is the platform of a local image; found is false when
	// the daemon does not have it (docker run will pull it).
	ImagePlatform(host, image string) (p platform.Platform, found bool, err error)
	// DaemonPlatform is the daemon's own OS and architecture.
	DaemonPlatform(host string) (platform.Platform, error)
}

// DefaultSocket is the docker CLI's default endpoint.
const DefaultSocket = "/var/run/docker.sock"

// SocketEngine asks a daemon on a unix socket, one HTTP/1.0 request per
// question (the answer ends at the end of the connection, so no chunked
// encoding to read): net/http's start-up cost would be every docker
// command's.
type SocketEngine struct {
	Timeout time.Duration // per request (connect, send, receive)
}

// errNotUnix is an endpoint the wrapper does not ask (tcp, ssh, fd).
var errNotUnix = errors.New("not a unix socket")

func socketPath(host string) (string, error) {
	if host == "" {
		return DefaultSocket, nil
	}
	if p, ok := strings.CutPrefix(host, "unix://"); ok && p != "" {
		return p, nil
	}
	return "", errNotUnix
}

// ImagePlatform asks GET /images/{image}/json.
func (e SocketEngine) ImagePlatform(host, image string) (platform.Platform, bool, error) {
	if !validReference(image) {
		return platform.Platform{}, false, fmt.Errorf("%q is not an image reference the wrapper asks about", image)
	}
	status, body, err := e.get(host, "/images/"+image+"/json")
	switch {
	case err != nil:
		return platform.Platform{}, false, err
	case status == 404:
		return platform.Platform{}, false, nil
	case status != 200:
		return platform.Platform{}, false, fmt.Errorf("image %s: the daemon answered %d", image, status)
	}
	p, err := platformOf(body, "Os", "Architecture", "Variant")
	return p, err == nil, err
}

// DaemonPlatform asks GET /version.
func (e SocketEngine) DaemonPlatform(host string) (platform.Platform, error) {
	status, body, err := e.get(host, "/version")
	if err == nil && status != 200 {
		err = fmt.Errorf("version: the daemon answered %d", status)
	}
	if err != nil {
		return platform.Platform{}, err
	}
	return platformOf(body, "Os", "Arch", "")
}

// platformOf reads a platform from the members of a JSON object.
func platformOf(body []byte, osKey, archKey, variantKey string) (platform.Platform, error) {
	keys := []string{osKey, archKey, variantKey}
	v := make([][]byte, len(keys))
	if err := rawjson.CheckMembers(body, keys, v); err != nil {
		return platform.Platform{}, err
	}
	var s [3]string
	for i := range s {
		var err error
		if s[i], err = rawjson.MemberString(v[i]); err != nil {
			return platform.Platform{}, fmt.Errorf("%s: %w", keys[i], err)
		}
	}
	if s[1] == "" {
		return platform.Platform{}, fmt.Errorf("the daemon's answer names no %s", archKey)
	}
	return platform.Platform{OS: s[0], Architecture: s[1], Variant: s[2]}, nil
}

// validReference: the characters of an image reference (name, tag,
// digest), which need no escaping in a URL path.
func validReference(s string) bool {
	if s == "" || strings.Contains(s, "..") {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-/:@", c) >= 0) {
			return false
		}
	}
	return true
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 4 << 20

// get sends one GET to the daemon at host and returns the status and body.
func (e SocketEngine) get(host, path string) (int, []byte, error) {
	sock, err := socketPath(host)
	if err != nil {
		return 0, nil, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, err
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(e.Timeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := retry(func() error { return unix.Connect(fd, &unix.SockaddrUnix{Name: sock}) }); err != nil {
		return 0, nil, fmt.Errorf("connecting to %s: %w", sock, err)
	}
	req := []byte("GET " + path + " HTTP/1.0\r\nHost: docker\r\nUser-Agent: armhf-shim\r\n\r\n")
	for len(req) > 0 {
		var n int
		if err := retry(func() (err error) { n, err = unix.Write(fd, req); return err }); err != nil {
			return 0, nil, fmt.Errorf("asking %s: %w", sock, err)
		}
		req = req[n:]
	}
	var resp []byte
	buf := make([]byte, 32<<10)
	for len(resp) < maxAnswer {
		var n int
		if err := retry(func() (err error) { n, err = unix.Read(fd, buf); return err }); err != nil {
			return 0, nil, fmt.Errorf("reading the answer of %s: %w", sock, err)
		}
		if n == 0 {
			break
		}
		resp = append(resp, buf[:n]...)
	}
	return parseAnswer(resp)
}

func retry(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

// parseAnswer splits an HTTP/1.x answer read to its end into status and
// body.
func parseAnswer(resp []byte) (int, []byte, error) {
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	f := strings.Fields(string(line))
	if !ok || len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return 0, nil, fmt.Errorf("not an HTTP answer: %.40q", resp)
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, nil, fmt.Errorf("not an HTTP status: %q", line)
	}
	return status, body, nil
}
