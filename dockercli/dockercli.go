// Package dockercli is the armhf-shim docker CLI wrapper: installed as
// "docker" in front of the real CLI (or run as "armhf-shim docker ..."), it
// makes every 32-bit container created by "docker run"/"docker create" see
// an armv7 /proc/cpuinfo, then replaces itself with the real docker.
//
// The model, one invocation:
//
//  1. Settings: leading wrapper options (--armhf-shim-docker=PATH,
//     --armhf-shim-cpuinfo=PATH, --armhf-shim-platform[=P],
//     --armhf-shim-cpuinfo-all), else the environment (ARMHF_SHIM_DOCKER,
//     ARMHF_SHIM_CPUINFO, ARMHF_SHIM_PLATFORM, ARMHF_SHIM_CPUINFO_ALL,
//     ARMHF_SHIM=0 to disable), else the config file
//     (/etc/armhf-shim/config.json, or ARMHF_SHIM_CONFIG: keys "docker",
//     "dockerCPUInfo", "dockerPlatform", "dockerCPUInfoAll"), else
//     defaults. The file and the switch are internal/config's.
//  2. The real docker: [dockerbin], never the wrapper or a copy of it.
//  3. The command line: [dockerargs.Rewrite] inserts
//     "-v FILE:/proc/cpuinfo:ro" (and "--platform linux/arm/v7" when asked)
//     after run/create; everything else is passed through byte for byte.
//     FILE (default /run/armhf-shim/cpuinfo) is generated atomically from
//     all host CPUs when missing. The mount is for 32-bit containers only
//     ([Is32Bit] asks the daemon), unless set for all. A bind-mount source
//     must exist on the daemon's host: when the daemon is remote (-H,
//     DOCKER_HOST or a context with a tcp:// or ssh:// endpoint elsewhere)
//     nothing is inserted and stderr says why.
//  4. syscall.Exec of the real docker: exit status, signals, stdin and the
//     terminal are the real docker's.
//
// Steps 1-3 are the [Plan], pure but for the questions to the daemon
// ([Engine]); [Main] adds the edges (environment, files, exec). The
// wrapper prints only to stderr and only when it cannot do what was asked.
package dockercli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/dockercli/dockerargs"
	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/platform"
	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// DefaultCPUInfo is the cpuinfo file mounted by default.
const DefaultCPUInfo = "/run/armhf-shim/cpuinfo"

// Environment variables of the wrapper (the switch ARMHF_SHIM and the
// config file's ARMHF_SHIM_CONFIG are internal/config's).
const (
	EnvDocker     = "ARMHF_SHIM_DOCKER"      // the real docker
	EnvCPUInfo    = "ARMHF_SHIM_CPUINFO"     // the cpuinfo file to mount
	EnvPlatform   = "ARMHF_SHIM_PLATFORM"    // 1: add --platform linux/arm/v7; or a platform
	EnvCPUInfoAll = "ARMHF_SHIM_CPUINFO_ALL" // 1: the cpuinfo for 64-bit containers too
)

// Wrapper options, accepted only before every docker argument.
const (
	optPrefix     = "--armhf-shim-"
	OptDocker     = "--armhf-shim-docker"
	OptCPUInfo    = "--armhf-shim-cpuinfo"
	OptPlatform   = "--armhf-shim-platform"
	OptPrepare    = "--armhf-shim-prepare" // only (re)generate the cpuinfo file, exec nothing
	OptCPUInfoAll = "--armhf-shim-cpuinfo-all"
)

// ARMv7 is the platform --platform is set to when asked for without a value.
var ARMv7 = platform.ARMv7.String()

// Settings are the wrapper's resolved settings.
type Settings struct {
	Docker   string // configured real docker ("" = search PATH)
	CPUInfo  string // cpuinfo file
	Platform string // "" = do not add --platform
	// CPUInfoAll: mount the cpuinfo for every container, not only 32-bit ones.
	CPUInfoAll bool
	Disabled   bool   // ARMHF_SHIM=0
	Ignored    string // with ARMHF_SHIM=0: the settings error set aside (for a warning)
	Prepare    bool   // --armhf-shim-prepare
}

// ParseSettings takes the leading wrapper options off args and resolves the
// settings from them, the environment (getenv) and the config file's
// content file (nil when there is none; configName names it in errors).
func ParseSettings(args []string, getenv func(string) string, file []byte, configName string) (Settings, []string, error) {
	var s Settings
	// ARMHF_SHIM=0 is the way out when the wrapper's own settings are broken:
	// with it, an error in the config file or the environment is set aside
	// (in Ignored, for a warning) rather than failing every docker command.
	off, err := switchedOff(getenv)
	if err != nil {
		return s, args, err
	}
	s.Disabled = off
	settle := func(err error) error {
		if err == nil || !s.Disabled {
			return err
		}
		if s.Ignored == "" {
			s.Ignored = err.Error()
		}
		return nil
	}
	if err := settle(s.fromConfig(file, configName)); err != nil {
		return s, args, err
	}
	if v := getenv(EnvDocker); v != "" {
		s.Docker = v
	}
	if v := getenv(EnvCPUInfo); v != "" {
		s.CPUInfo = v
	}
	if v := getenv(EnvCPUInfoAll); v != "" {
		on, err := config.Switch(v)
		if err != nil {
			if err := settle(fmt.Errorf("%s=%s: %v", EnvCPUInfoAll, v, err)); err != nil {
				return s, args, err
			}
		} else {
			s.CPUInfoAll = on
		}
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
			if s.Platform, err = platformValue(val); err != nil {
				err = fmt.Errorf("%s=%s: %v", OptPlatform, val, err)
			}
		case OptCPUInfoAll:
			if !hasVal {
				val = "1"
			}
			if s.CPUInfoAll, err = config.Switch(val); err != nil {
				err = fmt.Errorf("%s=%s: %v", OptCPUInfoAll, val, err)
			}
		case OptPrepare:
			s.Prepare = true
		default:
			return s, args, fmt.Errorf("unknown wrapper option %s (known: %s, %s, %s[=PLATFORM], %s, %s)", name, OptDocker, OptCPUInfo, OptPlatform, OptCPUInfoAll, OptPrepare)
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
func (s *Settings) fromConfig(data []byte, configName string) error {
	f, err := config.Parse(data)
	if err != nil {
		return fmt.Errorf("config file %s: %v; fix it, point %s elsewhere, or set %s=0 to pass docker commands through unchanged",
			configName, err, config.EnvPath, config.EnvSwitch)
	}
	p, err := platformValue(f.DockerPlatform)
	if err != nil {
		return fmt.Errorf("config file %s: %s: %v", configName, config.KeyDockerPlatform, err)
	}
	s.Docker, s.CPUInfo, s.Platform, s.CPUInfoAll = f.Docker, f.DockerCPUInfo, p, f.DockerCPUInfoAll
	return nil
}

// switchedOff reads the switch: true when ARMHF_SHIM turns the wrapper off.
func switchedOff(getenv func(string) string) (bool, error) {
	v := getenv(config.EnvSwitch)
	if v == "" {
		return false, nil
	}
	on, err := config.Switch(v)
	if err != nil {
		return false, fmt.Errorf("%s=%s: %v", config.EnvSwitch, v, err)
	}
	return !on, nil
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

// platformValue turns a setting into the --platform value: a boolean, or a
// platform specifier, normalised like containerd does.
func platformValue(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	if on, err := config.Switch(v); err == nil {
		if on {
			return ARMv7, nil
		}
		return "", nil
	}
	p, err := platform.Parse(v)
	if err != nil {
		return "", fmt.Errorf("not a boolean or a platform: %v", err)
	}
	if !platform.Known(p) {
		return "", fmt.Errorf("%q is not a platform docker can pull (%s: unknown OS or architecture)", v, p)
	}
	return p.String(), nil
}

// Daemon is where a docker command line sends its requests.
type Daemon struct {
	Host   string // endpoint ("" = the CLI's default local socket)
	Source string // what decided it: "-H", "DOCKER_HOST", "context NAME", "default"
}

// Files is what the wrapper reads of the docker CLI's configuration: the
// host's files ([HostFiles]), or a map in tests.
type Files interface {
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
}

// HostFiles reads the host's files.
type HostFiles struct{}

func (HostFiles) ReadFile(name string) ([]byte, error)       { return os.ReadFile(name) }
func (HostFiles) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// ResolveDaemon decides which daemon a command talks to, the way the docker
// CLI does: -H, else --context, else DOCKER_HOST, else DOCKER_CONTEXT, else
// the config file's currentContext; a context's endpoint comes from its
// metadata, CONFIG/contexts/meta/<dir>/meta.json, the one whose "Name" is
// the context's. (The CLI names that directory by the SHA-256 of the
// name; looking for the name instead keeps crypto/sha256, whose FIPS
// self-test machinery is most of a per-command start-up cost here, out of
// the wrapper.)
func ResolveDaemon(g dockerargs.Globals, getenv func(string) string, files Files) (Daemon, error) {
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
		if b, err := files.ReadFile(filepath.Join(cfgDir, "config.json")); err == nil {
			v := make([][]byte, 1)
			if rawjson.CheckMembers(b, []string{"currentContext"}, v) == nil {
				if c, err := rawjson.MemberString(v[0]); err == nil {
					ctx = c
				}
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
	host, err := contextHost(files, filepath.Join(cfgDir, "contexts", "meta"), ctx)
	if err != nil {
		return Daemon{Source: "context " + ctx}, fmt.Errorf("docker context %q: %w", ctx, err)
	}
	return Daemon{Host: host, Source: "context " + ctx}, nil
}

// contextHost finds the docker endpoint of context name among the context
// metadata directories in metaDir.
func contextHost(files Files, metaDir, name string) (string, error) {
	entries, err := files.ReadDir(metaDir)
	if err != nil {
		return "", err
	}
	var unreadable []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(metaDir, e.Name(), "meta.json")
		b, err := files.ReadFile(p)
		if err != nil {
			continue
		}
		ctxName, host, err := contextMeta(b)
		if err != nil {
			unreadable = append(unreadable, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		if ctxName == name {
			return host, nil
		}
	}
	if len(unreadable) > 0 {
		return "", fmt.Errorf("not found in %s (unreadable: %s)", metaDir, strings.Join(unreadable, "; "))
	}
	return "", fmt.Errorf("not found in %s", metaDir)
}

// contextMeta reads a context's meta.json as the docker CLI writes it:
// {"Name": …, "Endpoints": {"docker": {"Host": …}}}.
func contextMeta(b []byte) (name, host string, err error) {
	v := make([][]byte, 2)
	if err := rawjson.CheckMembers(b, []string{"Name", "Endpoints"}, v); err != nil {
		return "", "", err
	}
	if name, err = rawjson.MemberString(v[0]); err != nil {
		return "", "", fmt.Errorf("Name: %w", err)
	}
	if len(v[1]) == 0 || rawjson.IsNull(v[1]) {
		return name, "", nil
	}
	docker, _, err := rawjson.EntryAt(v[1], "docker")
	if err != nil {
		return "", "", fmt.Errorf("Endpoints: %w", err)
	}
	if len(docker) == 0 || rawjson.IsNull(docker) {
		return name, "", nil
	}
	h, err := rawjson.Member(docker, "Host")
	if err != nil {
		return "", "", fmt.Errorf("Endpoints.docker: %w", err)
	}
	if host, err = rawjson.MemberString(h); err != nil {
		return "", "", fmt.Errorf("Endpoints.docker.Host: %w", err)
	}
	return name, host, nil
}

// IsLocal reports whether a daemon endpoint is on this host: unix sockets,
// fd://, npipe, and tcp/ssh to a loopback address or localhost. "host:port"
// without a scheme is tcp, as for the docker CLI. Anything it cannot read
// is not local (then the wrapper adds nothing, and says so).
func IsLocal(host string) bool {
	if host == "" {
		return true
	}
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok {
		scheme, rest = "tcp", host
	}
	switch scheme {
	case "unix", "fd", "npipe":
		return true
	case "tcp", "http", "https", "ssh":
	default:
		return false
	}
	// authority: [user@]host[:port], up to a path.
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	h := rest
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return false
		}
		h = rest[1:end]
		if tail := rest[end+1:]; tail != "" && !strings.HasPrefix(tail, ":") {
			return false
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		h = rest[:i]
	}
	return h == "" || strings.EqualFold(h, "localhost") || isLoopbackIP(h)
}

// isLoopbackIP reports whether s is a loopback address: an IPv4 address in
// 127.0.0.0/8 (dotted decimal), or IPv6's ::1 written as "::1" or
// "0:0:0:0:0:0:0:1", or an IPv4-mapped ::ffff:127.x.y.z. Other spellings
// of ::1 count as not local: the wrapper then adds nothing and says why.
func isLoopbackIP(s string) bool {
	if ip4, ok := parseIPv4(s); ok {
		return ip4[0] == 127
	}
	switch strings.ToLower(s) {
	case "::1", "0:0:0:0:0:0:0:1":
		return true
	}
	if v4, ok := strings.CutPrefix(strings.ToLower(s), "::ffff:"); ok {
		ip4, ok := parseIPv4(v4)
		return ok && ip4[0] == 127
	}
	return false
}

// parseIPv4 reads a dotted-decimal IPv4 address (four fields 0-255, no
// leading zeros).
func parseIPv4(s string) ([4]byte, bool) {
	var ip [4]byte
	fields := strings.Split(s, ".")
	if len(fields) != 4 {
		return ip, false
	}
	for i, f := range fields {
		if f == "" || len(f) > 3 || (len(f) > 1 && f[0] == '0') {
			return ip, false
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 255 {
			return ip, false
		}
		ip[i] = byte(n)
	}
	return ip, true
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
	// Why says why a run/create container gets the cpuinfo or not
	// ([Is32Bit]; empty when not asked).
	Why string
}

// MakePlan decides the docker argv for args (wrapper options already
// removed). nested is true when another wrapper already exec'd this process:
// that one has rewritten the command, so it is passed through. eng is asked
// whether a container is 32-bit ([Is32Bit]) unless s.CPUInfoAll.
func MakePlan(args []string, s Settings, nested bool, getenv func(string) string, files Files, eng Engine) Plan {
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
	d, err := ResolveDaemon(cmd.Globals, getenv, files)
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
			d.Host, d.Source, s.CPUInfo, config.EnvSwitch)
	case !s.CPUInfoAll:
		var is32 bool
		if is32, p.Why = Is32Bit(args[cmd.ArgsIndex:], s.Platform, d, eng); !is32 {
			opts.CPUInfoFile = ""
		}
	}
	p.Argv, p.Result = dockerargs.Rewrite(args, opts)
	p.NeedCPUInfo = p.Result.Action == dockerargs.Rewritten && opts.CPUInfoFile != ""
	return p
}

// ErrCPUInfoDir is returned when the cpuinfo path is a directory: the
// footprint of docker creating a missing -v source.
var ErrCPUInfoDir = errors.New("is a directory")

// cpuinfoDirError explains a directory where the cpuinfo file belongs:
// an empty one is what docker leaves when a -v source is missing (rmdir
// fixes it); any other is a path that names the wrong thing.
func cpuinfoDirError(path string) error {
	if entries, err := os.ReadDir(path); err == nil && len(entries) == 0 {
		return fmt.Errorf("%s %w (docker creates an empty one when a -v source is missing); remove it with rmdir %s", path, ErrCPUInfoDir, path)
	}
	return fmt.Errorf("%s %w, not a file: name a file for the armv7 cpuinfo (%s or %s)", path, ErrCPUInfoDir, OptCPUInfo, EnvCPUInfo)
}

// EnsureCPUInfo makes sure path holds an armv7 cpuinfo: an existing
// non-empty regular file is kept (the fast path: one stat); otherwise gen
// renders it and it is written atomically, mode 0644, its directory 0755.
func EnsureCPUInfo(path string, gen func() ([]byte, error)) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Mode().IsRegular() && fi.Size() > 0:
		return nil
	case err == nil && fi.IsDir():
		return cpuinfoDirError(path)
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
