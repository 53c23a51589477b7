package lxc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// DefaultDockerSocket is where --docker makes dockerd listen in the
// container.
const DefaultDockerSocket = "/var/run/docker.sock"

// DockerdArgv is the command line started in the container for --docker:
// the rootfs's dockerd (found on the container's PATH) listening on socket,
// plus the user's extra arguments.
func DockerdArgv(socket string, extra []string) []string {
	return append([]string{"dockerd", "--host", "unix://" + socket}, extra...)
}

// DockerdEnv is dockerd's environment in the container: ExecEnv's, with
// the directory of ShimTarget first on PATH when the runtime wrapper is
// bound in, so that dockerd's runc runtime and its BuildKit's RUN steps,
// which both run "runc" from PATH, run the wrapper.
func DockerdEnv(shim bool) []string {
	env := ExecEnv("", nil)
	if shim {
		env[0] = "PATH=" + path.Dir(ShimTarget) + ":" + DefaultPath
	}
	return env
}

// ValidateDockerSocket checks a --docker-socket path in the container.
func ValidateDockerSocket(p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("invalid --docker-socket %q: want a clean absolute path in the container", p)
	}
	// /proc/<pid>/root + p must fit a unix socket address (108 bytes).
	if len(p) > 80 {
		return fmt.Errorf("invalid --docker-socket %q: longer than 80 bytes", p)
	}
	return nil
}

// ContainerPath is path p of the container whose init has pid as seen from
// the host, through the init's root (/proc/PID/root), so mounts made in the
// container (a tmpfs on /run) are honoured.
func ContainerPath(pid int, p string) string {
	return "/proc/" + strconv.Itoa(pid) + "/root" + p
}

// ContainerSocket is the host path of the unix socket p (absolute, in the
// container) of the container whose init has pid, with every symlink on
// the way resolved inside the container's root. ContainerPath alone is not
// enough: the kernel resolves an absolute symlink met below /proc/PID/root
// (Debian's /var/run -> /run) against the caller's root, which is the
// host's, so /var/run/docker.sock would reach the host's dockerd.
func ContainerSocket(pid int, p string) (string, error) {
	return ResolveIn(ContainerPath(pid, ""), p)
}

// ResolveIn is p (a path in the file system rooted at root) as a host
// path, its symlinks resolved as if root were "/": absolute links and ".."
// never leave root.
func ResolveIn(root, p string) (string, error) {
	full, err := securejoin.SecureJoin(root, p)
	if err != nil {
		return "", fmt.Errorf("resolving %s in %s: %w", p, root, err)
	}
	return full, nil
}

// PingDocker asks the Docker API on the unix socket for /_ping and returns
// nil when it answers OK.
func PingDocker(ctx context.Context, socket string) error {
	c := &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			DisableKeepAlives: true,
		},
		Timeout: 5 * time.Second,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "OK" {
		return fmt.Errorf("docker /_ping on %s: %s %q", socket, resp.Status, body)
	}
	return nil
}
