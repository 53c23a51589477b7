package doctor

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/armhf-shim/armhf-shim/buildx"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

// docker buildx builders: each builder node buildx stores (its instances
// directory: $BUILDX_CONFIG, else $DOCKER_CONFIG/buildx, else
// ~/.docker/buildx, for doctor's user and for SUDO_USER), and whether its
// buildkitd runs the runtime wrapper — the OCI worker binary its flags or
// its buildkitd.toml name, read where that buildkitd reads it: in the
// docker-container driver's builder container (which must also hold the
// binary), or from a local buildkitd's command line for a remote driver's
// unix socket. Pods of the kubernetes driver are not asked.

// Builder is one buildx builder node and the verdict on it.
type Builder struct {
	Name   string `json:"name"`
	Node   string `json:"node"`
	Driver string `json:"driver"`
	Store  string `json:"store"` // the instances file it was read from
	// Wrapper: "yes", "no", or "unknown" (doctor cannot see its buildkitd).
	Wrapper string `json:"wrapper"`
	Detail  string `json:"detail"`
	// Problem is set when the builder is meant to run the wrapper and
	// cannot (its config names a binary its buildkitd does not have).
	Problem string `json:"-"`
}

// BuilderFacts are what doctor saw of one builder node.
type BuilderFacts struct {
	Name, Node, Driver, Store string
	Endpoint                  string
	Image                     string            // driver-opt image ("" = buildx's default)
	Flags                     []string          // buildkitd flags stored with the node
	StoredConfig              []byte            // the buildkitd.toml given to buildx create (nil: none)
	Container                 *BuilderContainer // docker-container: the builder container
	ContainerErr              error             // why the container could not be asked
	Local                     *LocalBuildkitd   // remote on a unix socket: the buildkitd listening there
}

// BuilderContainer is a docker-container builder's container, as its
// dockerd reports it.
type BuilderContainer struct {
	Exists, Running bool
	Image           string
	Args            []string // buildkitd's arguments (the container's Args)
	Config          []byte   // its /etc/buildkit/buildkitd.toml (nil: absent)
	ConfigErr       error
	// Has reports whether a path exists in the container.
	Has func(path string) (bool, error)
}

// LocalBuildkitd is a running buildkitd process on this host.
type LocalBuildkitd struct {
	Pid    int
	Args   []string
	Config []byte // the config file it reads, from its own root
	Path   string // that file's path
}

// ociBinaryFlag is buildkitd's flag for the OCI worker binary.
const ociBinaryFlag = "--oci-worker-binary"

// flagValue is the last value of a --name VALUE / --name=VALUE flag.
func flagValue(args []string, name string) (string, bool) {
	v, found := "", false
	for i := 0; i < len(args); i++ {
		if args[i] == name && i+1 < len(args) {
			v, found = args[i+1], true
			i++
		} else if s, ok := strings.CutPrefix(args[i], name+"="); ok {
			v, found = s, true
		}
	}
	return v, found
}

// ociBinary is the OCI worker binary that flags, then config, name, and
// where that was read; "" with source "default" for buildkitd's own
// (buildkit-runc, else runc).
func ociBinary(flags []string, config []byte, configName string) (binary, source string, err error) {
	if v, ok := flagValue(flags, ociBinaryFlag); ok {
		return v, ociBinaryFlag, nil
	}
	if config != nil {
		c, err := install.ParseBuildkitdConfig(config)
		if err != nil {
			return "", configName, err
		}
		if c.Worker.OCI.Binary != "" {
			return c.Worker.OCI.Binary, configName + " [worker.oci] binary", nil
		}
	}
	return "", "default", nil
}

// JudgeBuilder says whether a builder node's buildkitd runs the wrapper.
func JudgeBuilder(f BuilderFacts) Builder {
	b := Builder{Name: f.Name, Node: f.Node, Driver: f.Driver, Store: f.Store, Wrapper: "unknown"}
	say := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if b.Detail == "" {
			b.Detail = s
		} else {
			b.Detail += "; " + s
		}
	}
	image := f.Image
	if image == "" {
		image = "moby/buildkit (buildx's default)"
	}
	switch f.Driver {
	case "docker":
		say("dockerd's embedded BuildKit: see the buildkit route")
		return b
	case "docker-container":
		c := f.Container
		switch {
		case f.ContainerErr != nil:
			say("image %s; its container could not be asked: %v", image, f.ContainerErr)
			return b
		case c == nil || !c.Exists:
			bin, src, err := ociBinary(f.Flags, f.StoredConfig, "its --buildkitd-config")
			say("image %s; not started yet (no container: docker buildx inspect --bootstrap %s)", image, f.Name)
			if err == nil && bin != "" {
				say("OCI worker binary %s (%s)", bin, src)
			}
			return b
		}
		state := "running"
		if !c.Running {
			state = "stopped"
		}
		say("container %s (%s, image %s)", builderContainer(f.Node), state, c.Image)
		if c.ConfigErr != nil {
			say("its /etc/buildkit/buildkitd.toml could not be read: %v", c.ConfigErr)
			return b
		}
		bin, src, err := ociBinary(c.Args, c.Config, "/etc/buildkit/buildkitd.toml")
		if err != nil {
			say("%s: %v", src, err)
			return b
		}
		judgeBinary(&b, say, bin, src, c.Has, "its image")
	case "remote":
		if f.Local == nil {
			say("buildkitd at %s: doctor sees no local buildkitd there", f.Endpoint)
			return b
		}
		l := f.Local
		say("buildkitd pid %d at %s", l.Pid, f.Endpoint)
		bin, src, err := ociBinary(l.Args, l.Config, l.Path)
		if err != nil {
			say("%s: %v", src, err)
			return b
		}
		judgeBinary(&b, say, bin, src, nil, "this host")
	case "kubernetes":
		bin, src, err := ociBinary(f.Flags, f.StoredConfig, "its --buildkitd-config")
		say("pods in a cluster doctor does not ask; image %s", image)
		if err == nil {
			if bin == "" {
				say("no OCI worker binary set: the pods run buildkit-runc directly")
			} else {
				say("OCI worker binary %s (%s)", bin, src)
			}
		}
	default:
		say("driver %q: doctor does not know it", f.Driver)
	}
	return b
}

// judgeBinary settles yes or no from the OCI worker binary named; has,
// when set, says whether it exists where buildkitd runs.
func judgeBinary(b *Builder, say func(string, ...any), bin, src string, has func(string) (bool, error), where string) {
	if bin == "" || !install.IsShimPath(bin) {
		b.Wrapper = "no"
		if bin == "" {
			bin = "buildkit-runc"
		}
		say("its RUN steps run %s directly (%s), not the wrapper: a builder image from armhf-shim buildx image runs it", bin, src)
		return
	}
	if has != nil {
		ok, err := has(bin)
		if err != nil {
			say("OCI worker binary %s (%s); could not check it exists: %v", bin, src, err)
			return
		}
		if !ok {
			b.Wrapper = "no"
			say("OCI worker binary %s (%s) is not in %s", bin, src, where)
			b.Problem = fmt.Sprintf("buildx builder %s: its buildkitd.toml names %s, which %s lacks: its builds fail; recreate it on the image armhf-shim buildx image builds", b.Name, bin, where)
			return
		}
	}
	b.Wrapper = "yes"
	say("RUN steps go through the wrapper %s (%s)", bin, src)
}

// builderContainer is the docker-container driver's container name.
func builderContainer(node string) string { return "buildx_buildkit_" + node }

// The edge.

// buildxDirs are the buildx config directories doctor reads: its own
// user's and SUDO_USER's (doctor runs as root through sudo).
func (h *host) buildxDirs() []string {
	if len(h.opts.BuildxDirs) > 0 {
		return h.opts.BuildxDirs
	}
	return buildx.ConfigDirs(os.Getenv, filepath.Join(h.opts.Root, "etc/passwd"))
}

// builderFacts reads every builder node stored in the buildx config
// directories and asks the engines about it.
func (h *host) builderFacts() []BuilderFacts {
	var out []BuilderFacts
	for _, dir := range h.buildxDirs() {
		for _, in := range buildx.Instances(dir) {
			for _, n := range in.Nodes {
				f := BuilderFacts{Name: in.Name, Node: n.Name, Driver: in.Driver, Store: in.File, Endpoint: n.Endpoint,
					Image: n.DriverOpts["image"], Flags: n.Flags, StoredConfig: n.Files["buildkitd.toml"]}
				switch in.Driver {
				case "docker-container":
					f.Container, f.ContainerErr = h.builderContainer(dir, n.Endpoint, builderContainer(n.Name))
				case "remote":
					f.Local = h.localBuildkitd(n.Endpoint)
				}
				out = append(out, f)
			}
		}
	}
	return out
}

// dockerSocket is the unix socket of a buildx node's endpoint: a docker
// host ("unix://…"), or a docker context's name (its meta.json under the
// docker config directory beside dir; "default": DOCKER_HOST, else the
// default socket).
func dockerSocket(buildxDir, endpoint string) (string, error) {
	host := endpoint
	switch {
	case strings.Contains(endpoint, "://"):
	case endpoint == "default" || endpoint == "":
		host = os.Getenv("DOCKER_HOST")
		if host == "" {
			host = "unix:///var/run/docker.sock"
		}
	default:
		sum := sha256.Sum256([]byte(endpoint))
		b, err := os.ReadFile(filepath.Join(filepath.Dir(buildxDir), "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json"))
		if err != nil {
			return "", fmt.Errorf("docker context %q: %v", endpoint, err)
		}
		var meta struct {
			Endpoints map[string]struct{ Host string }
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return "", fmt.Errorf("docker context %q: %v", endpoint, err)
		}
		host = meta.Endpoints["docker"].Host
	}
	if s, ok := strings.CutPrefix(host, "unix://"); ok && s != "" {
		return s, nil
	}
	return "", fmt.Errorf("endpoint %s is not a local unix socket", host)
}

// builderContainer asks the dockerd of a node's endpoint about its
// builder container: inspect, and its buildkitd.toml and files read
// through the archive API (nothing runs in the container).
func (h *host) builderContainer(buildxDir, endpoint, name string) (*BuilderContainer, error) {
	sock, err := dockerSocket(buildxDir, endpoint)
	if err != nil {
		return nil, err
	}
	status, _, body, err := apiRequest(sock, "GET", "/containers/"+name+"/json")
	if err != nil {
		return nil, err
	}
	c := &BuilderContainer{}
	if status == 404 {
		return c, nil
	}
	if status != 200 {
		return nil, fmt.Errorf("GET /containers/%s/json: %d", name, status)
	}
	var inspect struct {
		Args   []string
		State  struct{ Running bool }
		Config struct{ Image string }
	}
	if err := json.Unmarshal(body, &inspect); err != nil {
		return nil, err
	}
	c.Exists, c.Running, c.Image, c.Args = true, inspect.State.Running, inspect.Config.Image, inspect.Args
	archive := "/containers/" + name + "/archive?path="
	status, _, body, err = apiRequest(sock, "GET", archive+url.QueryEscape(install.DefaultBuildkitdConfig))
	switch {
	case err != nil:
		c.ConfigErr = err
	case status == 404:
	case status != 200:
		c.ConfigErr = fmt.Errorf("GET archive %s: %d", install.DefaultBuildkitdConfig, status)
	default:
		c.Config, c.ConfigErr = firstTarFile(body)
	}
	c.Has = func(p string) (bool, error) {
		status, _, _, err := apiRequest(sock, "HEAD", archive+url.QueryEscape(p))
		if err != nil {
			return false, err
		}
		switch status {
		case 200:
			return true, nil
		case 404:
			return false, nil
		}
		return false, fmt.Errorf("HEAD archive %s: %d", p, status)
	}
	return c, nil
}

func firstTarFile(b []byte) ([]byte, error) {
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the archive: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, 1<<20))
		}
	}
}

// apiRequest sends one HTTP/1.0 request to a docker socket.
func apiRequest(socket, method, path string) (status int, head string, body []byte, err error) {
	c, err := net.DialTimeout("unix", socket, 3*time.Second)
	if err != nil {
		return 0, "", nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "%s %s HTTP/1.0\r\nHost: docker\r\nUser-Agent: armhf-shim-doctor\r\n\r\n", method, path); err != nil {
		return 0, "", nil, err
	}
	resp, err := io.ReadAll(io.LimitReader(c, 32<<20))
	if err != nil {
		return 0, "", nil, err
	}
	h, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok && method != "HEAD" {
		return 0, "", nil, fmt.Errorf("%s %s: truncated response", method, path)
	}
	line, _, _ := bytes.Cut(h, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0, "", nil, fmt.Errorf("%s %s: malformed status %q", method, path, line)
	}
	status, err = strconv.Atoi(f[1])
	return status, string(h), body, err
}

// localBuildkitd is the running buildkitd listening on a remote node's
// unix:// endpoint (its --addr; buildkitd's default socket without one),
// with the config file it reads, seen from its own root.
func (h *host) localBuildkitd(endpoint string) *LocalBuildkitd {
	sock, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		return nil
	}
	pids, _ := filepath.Glob(filepath.Join(h.opts.Proc, "[0-9]*"))
	for _, dir := range pids {
		args := readArgs(filepath.Join(dir, "cmdline"))
		if len(args) == 0 || filepath.Base(args[0]) != "buildkitd" {
			continue
		}
		path := BuildkitdConfigPath(dir, args)
		config, _ := os.ReadFile(filepath.Join(dir, "root", path)) // absent: buildkitd's defaults
		cfg, _ := install.ParseBuildkitdConfig(config)
		for _, a := range BuildkitdAddrs(dir, args, cfg.GRPC.Address) {
			if strings.TrimPrefix(a, "unix://") != sock {
				continue
			}
			pid, _ := strconv.Atoi(filepath.Base(dir))
			return &LocalBuildkitd{Pid: pid, Args: args[1:], Path: path, Config: config}
		}
	}
	return nil
}
