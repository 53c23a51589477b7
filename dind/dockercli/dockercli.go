// Package dockercli is the armhf-shim docker CLI wrapper: installed as
// "docker" in front of the real CLI (or run as "armhf-shim docker ..."), it
// makes every container created by "docker run"/"docker create" see an armv7
// /proc/cpuinfo, then replaces itself with the real docker.
//
// The model, one invocation:
//
//  1. Settings: leading wrapper options (--armhf-shim-docker=PATH,
//     --armhf-shim-cpuinfo=PATH, --armhf-shim-platform[=P]), else the
//     environment (ARMHF_SHIM_DOCKER, ARMHF_SHIM_CPUINFO,
//     ARMHF_SHIM_PLATFORM, ARMHF_SHIM=0 to disable), else the config file
//     (/etc/armhf-shim/config.json, or ARMHF_SHIM_CONFIG: keys "docker",
//     "dockerCPUInfo", "dockerPlatform"), else defaults.
//  2. The real docker: [dockerbin], never the wrapper or a copy of it.
//  3. The command line: [dockerargs.Rewrite] inserts
//     "-v FILE:/proc/cpuinfo:ro" (and "--platform linux/arm/v7" when asked)
//     after run/create; everything else is passed through byte for byte.
//     FILE (default /run/armhf-shim/cpuinfo) is generated atomically from
//     all host CPUs when missing. A bind-mount source must exist on the
//     daemon's host: when the daemon is remote (-H, DOCKER_HOST or a context
//     with a tcp:// or ssh:// endpoint elsewhere) nothing is inserted and
//     stderr says why.
//  4. syscall.Exec of the real docker: exit status, signals, stdin and the
//     terminal are the real docker's.
//
// Steps 1-3 are the pure [Plan]; [Main] adds the edges (environment, files,
// exec). The wrapper prints only to stderr and only when it cannot do what
// was asked.
package dockercli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/armhf-shim/armhf-shim/dind/dockerargs"
	"github.com/armhf-shim/armhf-shim/dind/platform"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
)

// Defaults.
const (
	DefaultCPUInfo    = "/run/armhf-shim/cpuinfo"
	DefaultConfigFile = "/etc/armhf-shim/config.json"
)

// Environment variables.
const (
	EnvEnable   = "ARMHF_SHIM"          // "0" (or false/no/off): pass everything through
	EnvDocker   = "ARMHF_SHIM_DOCKER"   // the real docker
	EnvCPUInfo  = "ARMHF_SHIM_CPUINFO"  // the cpuinfo file to mount
	EnvPlatform = "ARMHF_SHIM_PLATFORM" // 1: add --platform linux/arm/v7; or a platform
	EnvConfig   = "ARMHF_SHIM_CONFIG"   // the config file
)

// Wrapper options, accepted only before every docker argument.
const (
	optPrefix   = "--armhf-shim-"
	OptDocker   = "--armhf-shim-docker"
	OptCPUInfo  = "--armhf-shim-cpuinfo"
	OptPlatform = "--armhf-shim-platform"
	OptPrepare  = "--armhf-shim-prepare" // only (re)generate the cpuinfo file, exec nothing
)

// ARMv7 is the platform --platform is set to when asked for without a value.
var ARMv7 = platform.ARMv7.String()

// Settings are the wrapper's resolved settings.
type Settings struct {
	Docker   string // configured real docker ("" = search PATH)
	CPUInfo  string // cpuinfo file
	Platform string // "" = do not add --platform
	Disabled bool   // ARMHF_SHIM=0
	Ignored  string // with ARMHF_SHIM=0: the settings error set aside (for a warning)
	Prepare  bool   // --armhf-shim-prepare
}

// fileConfig is the part of the config file the wrapper reads; other keys
// belong to other parts of armhf-shim.
type fileConfig struct {
	Docker         string          `json:"docker"`
	DockerCPUInfo  string          `json:"dockerCPUInfo"`
	DockerPlatform json.RawMessage `json:"dockerPlatform"`
}

// ParseSettings takes the leading wrapper options off args and resolves the
// settings from them, the environment (getenv) and the config file content
// (nil when there is none; configName names it in errors).
func ParseSettings(args []string, getenv func(string) string, config []byte, configName string) (Settings, []string, error) {
	var s Settings
	// ARMHF_SHIM=0 is the way out when the wrapper's own settings are broken:
	// with it, an error in the config file or the environment is set aside
	// (in Ignored, for a warning) rather than failing every docker command.
	if v := getenv(EnvEnable); v != "" && isFalse(v) {
		s.Disabled = true
	}
	settle := func(err error) error {
		if err == nil || !s.Disabled {
			return err
		}
		if s.Ignored == "" {
			s.Ignored = err.Error()
		}
		return nil
	}
	if err := settle(s.fromConfig(config, configName)); err != nil {
		return s, args, err
	}
	if v := getenv(EnvDocker); v != "" {
		s.Docker = v
	}
	if v := getenv(EnvCPUInfo); v != "" {
		s.CPUInfo = v
	}
	if v := getenv(EnvPlatform); v != "" {
		p, err := platformValue(v)
		if err != nil {
			if err := settle(fmt.Errorf("%s=%s: %v", EnvPlatform, v, err)); err != nil {
				return s, args, err
			}
		} else {
			s.Platform = p
		}
	}

	for len(args) > 0 && strings.HasPrefix(args[0], optPrefix) {
		name, val, hasVal := strings.Cut(args[0], "=")
		takeValue := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if len(args) < 2 {
				return "", fmt.Errorf("%s needs a value", name)
			}
			args = args[1:]
			return args[0], nil
		}
		var err error
		switch name {
		case OptDocker:
			s.Docker, err = takeValue()
		case OptCPUInfo:
			s.CPUInfo, err = takeValue()
		case OptPlatform:
			if !hasVal {
				val = "1"
			}
			s.Platform, err = platformValue(val)
		case OptPrepare:
			s.Prepare = true
		default:
			return s, args, fmt.Errorf("unknown wrapper option %s (known: %s, %s, %s[=PLATFORM], %s)", name, OptDocker, OptCPUInfo, OptPlatform, OptPrepare)
		}
		if err != nil {
			return s, args, err
		}
		args = args[1:]
	}
	if s.CPUInfo == "" {
		s.CPUInfo = DefaultCPUInfo
	}
	if err := settle(checkCPUInfoPath(s.CPUInfo)); err != nil {
		return s, args, err
	}
	return s, args, nil
}

// fromConfig takes the wrapper's settings from the config file's content
// (none when it is empty).
func (s *Settings) fromConfig(config []byte, configName string) error {
	if len(bytes.TrimSpace(config)) == 0 {
		return nil
	}
	var fc fileConfig
	if err := json.Unmarshal(config, &fc); err != nil {
		return fmt.Errorf("config file %s: %v; fix the JSON, point %s elsewhere, or set %s=0 to pass docker commands through unchanged", configName, err, EnvConfig, EnvEnable)
	}
	if len(fc.DockerPlatform) > 0 && string(fc.DockerPlatform) != "null" {
		var v any
		json.Unmarshal(fc.DockerPlatform, &v)
		var str string
		switch v := v.(type) {
		case bool:
			str = fmt.Sprint(v)
		case string:
			str = v
		default:
			return fmt.Errorf("config file %s: dockerPlatform must be true, false or a platform like %q", configName, ARMv7)
		}
		p, err := platformValue(str)
		if err != nil {
			return fmt.Errorf("config file %s: dockerPlatform: %v", configName, err)
		}
		s.Platform = p
	}
	s.Docker, s.CPUInfo = fc.Docker, fc.DockerCPUInfo
	return nil
}

// checkCPUInfoPath refuses a cpuinfo path docker's -v cannot take.
func checkCPUInfoPath(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("cpuinfo file %q must be an absolute path (docker resolves -v sources on the daemon's host)", p)
	}
	if strings.Contains(p, ":") {
		return fmt.Errorf("cpuinfo file %q: a path with ':' cannot be given to docker run -v (it separates the source from the target); choose another path", p)
	}
	return nil
}

func isFalse(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "false", "no", "off":
		return true
	}
	return false
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// platformValue turns a setting into the --platform value: a boolean, or a
// platform specifier, normalised like containerd does.
func platformValue(v string) (string, error) {
	switch {
	case strings.TrimSpace(v) == "" || isFalse(v):
		return "", nil
	case isTrue(v):
		return ARMv7, nil
	}
	p, err := platform.Parse(v)
	if err != nil {
		return "", fmt.Errorf("not a boolean or a platform: %v", err)
	}
	return p.String(), nil
}

// Daemon is where a docker command line sends its requests.
type Daemon struct {
	Host   string // endpoint ("" = the CLI's default local socket)
	Source string // what decided it: "-H", "DOCKER_HOST", "context NAME", "default"
}

// FileReader reads a file (os.ReadFile, or a map in tests).
type FileReader func(name string) ([]byte, error)

// ResolveDaemon decides which daemon a command talks to, the way the docker
// CLI does: -H, else --context, else DOCKER_HOST, else DOCKER_CONTEXT, else
// the config file's currentContext; a context's endpoint comes from its
// metadata under CONFIG/contexts/meta/<sha256(name)>/meta.json.
func ResolveDaemon(g dockerargs.Globals, getenv func(string) string, read FileReader) (Daemon, error) {
	if len(g.Hosts) > 0 {
		return Daemon{Host: g.Hosts[len(g.Hosts)-1], Source: "-H"}, nil
	}
	ctx := g.Context
	if ctx == "" {
		if h := getenv("DOCKER_HOST"); h != "" {
			return Daemon{Host: h, Source: "DOCKER_HOST"}, nil
		}
		ctx = getenv("DOCKER_CONTEXT")
	}
	cfgDir := g.Config
	if cfgDir == "" {
		cfgDir = getenv("DOCKER_CONFIG")
	}
	if cfgDir == "" {
		if home := getenv("HOME"); home != "" {
			cfgDir = filepath.Join(home, ".docker")
		}
	}
	if ctx == "" && cfgDir != "" {
		if b, err := read(filepath.Join(cfgDir, "config.json")); err == nil {
			var c struct {
				CurrentContext string `json:"currentContext"`
			}
			if json.Unmarshal(b, &c) == nil {
				ctx = c.CurrentContext
			}
		}
	}
	if ctx == "" || ctx == "default" {
		// The default context's endpoint is -H, else DOCKER_HOST, else the
		// local socket — also when it was named with --context default.
		if h := getenv("DOCKER_HOST"); h != "" {
			return Daemon{Host: h, Source: "DOCKER_HOST"}, nil
		}
		return Daemon{Source: "default"}, nil
	}
	sum := sha256.Sum256([]byte(ctx))
	meta := filepath.Join(cfgDir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	b, err := read(meta)
	if err != nil {
		return Daemon{Source: "context " + ctx}, fmt.Errorf("docker context %q: %v", ctx, err)
	}
	var m struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Daemon{Source: "context " + ctx}, fmt.Errorf("docker context %q: %s: %v", ctx, meta, err)
	}
	return Daemon{Host: m.Endpoints["docker"].Host, Source: "context " + ctx}, nil
}

// IsLocal reports whether a daemon endpoint is on this host: unix sockets,
// fd://, npipe, and tcp/ssh to a loopback address or localhost.
func IsLocal(host string) bool {
	if host == "" {
		return true
	}
	if !strings.Contains(host, "://") {
		// "host:port" without a scheme is tcp for the docker CLI (url.Parse
		// would take "localhost" in "localhost:2375" for a scheme).
		host = "tcp://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "fd", "npipe":
		return true
	case "tcp", "http", "https", "ssh":
		h := u.Hostname()
		if h == "localhost" || h == "" {
			return true
		}
		ip, err := netip.ParseAddr(h)
		return err == nil && ip.IsLoopback()
	}
	return false
}

// Plan is what the wrapper will do.
type Plan struct {
	Argv   []string          // arguments for the real docker (without argv[0])
	Result dockerargs.Result // what the rewrite did
	Daemon Daemon
	// Warning, when not empty, is printed to stderr: why the armv7
	// cpuinfo was not added.
	Warning string
	// NeedCPUInfo: the cpuinfo file must exist before the exec.
	NeedCPUInfo bool
}

// MakePlan decides the docker argv for args (wrapper options already
// removed). nested is true when another wrapper already exec'd this process:
// that one has rewritten the command, so it is passed through.
func MakePlan(args []string, s Settings, nested bool, getenv func(string) string, read FileReader) Plan {
	p := Plan{Argv: args}
	if s.Disabled || nested {
		return p
	}
	cmd := dockerargs.Parse(args)
	if !cmd.OK || !cmd.IsCreate() {
		p.Result.Command = cmd
		return p
	}
	opts := dockerargs.Options{CPUInfoFile: s.CPUInfo, Platform: s.Platform}
	d, err := ResolveDaemon(cmd.Globals, getenv, read)
	p.Daemon = d
	switch {
	case err != nil:
		// The CLI itself will fail on an unusable context; do not add to
		// its message.
	case !IsLocal(d.Host):
		opts.CPUInfoFile = ""
		p.Warning = fmt.Sprintf("not adding the armv7 /proc/cpuinfo: the docker daemon (%s, from %s) is not on this host, "+
			"and a bind-mount source (%s) must exist on the daemon's host; run armhf-shim on that host "+
			"(its docker wrapper, or `armhf-shim install docker` for its runtime), or set %s=0 to silence this",
			d.Host, d.Source, s.CPUInfo, EnvEnable)
	}
	p.Argv, p.Result = dockerargs.Rewrite(args, opts)
	p.NeedCPUInfo = p.Result.Action == dockerargs.Rewritten && opts.CPUInfoFile != ""
	return p
}

// ErrCPUInfoDir is returned when the cpuinfo path is a directory: the
// footprint of docker creating a missing -v source.
var ErrCPUInfoDir = errors.New("is a directory")

// EnsureCPUInfo makes sure path holds an armv7 cpuinfo: an existing
// non-empty regular file is kept (the fast path: one stat); otherwise gen
// renders it and it is written atomically, mode 0644, its directory 0755.
func EnsureCPUInfo(path string, gen func() ([]byte, error)) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Mode().IsRegular() && fi.Size() > 0:
		return nil
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s %w (docker creates one when a -v source is missing); remove it with rmdir %s", path, ErrCPUInfoDir, path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	data, err := gen()
	if err != nil {
		return fmt.Errorf("rendering the armv7 cpuinfo: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, data, 0o644)
}
