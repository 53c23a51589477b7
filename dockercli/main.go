package dockercli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/dockercli/dockerargs"
	"github.com/armhf-shim/armhf-shim/dockercli/dockerbin"
	"github.com/armhf-shim/armhf-shim/internal/config"
)

// Exit statuses of the wrapper itself (the real docker's are its own).
const (
	ExitUsage      = 125 // like "docker run" when the CLI itself fails
	ExitCannotExec = 126
	ExitNotFound   = 127
)

func warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "armhf-shim: "+format+"\n", args...)
}

// engineTimeout bounds each question to the daemon; a daemon that does not
// answer in time gets the cpuinfo for every container, as before it was
// asked.
const engineTimeout = 3 * time.Second

// Main runs the wrapper with args (argv[1:] exactly as the docker CLI would
// get them). It returns only on failure; on success the process has become
// the real docker.
func Main(args []string) int {
	off, err := switchedOff(os.Getenv)
	if err != nil {
		warn("docker: %v", err)
		return ExitUsage
	}
	cfgName, _ := config.Locate("", os.Getenv)
	cfg, err := os.ReadFile(cfgName)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if !off {
			warn("reading config file %s: %v; fix it, point %s elsewhere, or set %s=0 to pass docker commands through unchanged", cfgName, err, config.EnvPath, config.EnvSwitch)
			return ExitUsage
		}
		warn("%s=0: ignoring the config file %s (%v)", config.EnvSwitch, cfgName, err)
		cfg = nil
	}
	s, args, err := ParseSettings(args, os.Getenv, cfg, cfgName)
	if err != nil {
		warn("docker: %v", err)
		return ExitUsage
	}
	if s.Ignored != "" {
		warn("%s=0: ignoring %s", config.EnvSwitch, s.Ignored)
	}
	if s.Prepare {
		if err := EnsureCPUInfo(s.CPUInfo, cpuinfo.OnlineARMv7); err != nil {
			warn("docker: %v", err)
			return 1
		}
		return 0
	}

	self, err := os.Executable()
	if err != nil {
		warn("docker: cannot find my own binary (%v); refusing to search PATH for docker, which could find me again; set %s", err, EnvDocker)
		return ExitNotFound
	}
	pid := os.Getpid()
	chain := dockerbin.ParseChain(os.Getenv(dockerbin.ChainEnv), pid)
	real, err := dockerbin.Finder{Explicit: s.Docker, PATH: os.Getenv("PATH"), Self: self, Chain: chain}.Find()
	if err != nil {
		warn("docker: %v", err)
		return ExitNotFound
	}

	plan := MakePlan(args, s, len(chain) > 0, os.Getenv, HostFiles{}, SocketEngine{Timeout: engineTimeout})
	if plan.Warning != "" {
		warn("%s", plan.Warning)
	}
	if plan.NeedCPUInfo {
		if err := EnsureCPUInfo(s.CPUInfo, cpuinfo.OnlineARMv7); err != nil {
			hint := ""
			if os.Geteuid() != 0 {
				hint = fmt.Sprintf("; create it once as root: sudo armhf-shim docker %s (e.g. at boot)", OptPrepare)
			}
			warn("not adding the armv7 /proc/cpuinfo: %v%s", err, hint)
			// Everything else the plan adds (--platform) still applies.
			plan.Argv, _ = dockerargs.Rewrite(args, dockerargs.Options{Platform: s.Platform})
		}
	}

	// self is /proc/self/exe's target: already free of symlinks.
	env := withEnv(os.Environ(), dockerbin.ChainEnv, append(chain, self).Format(pid))
	err = syscall.Exec(real, append([]string{real}, plan.Argv...), env)
	warn("docker: exec %s: %v", real, err)
	return ExitCannotExec
}

// withEnv returns env with key set to value (replacing any earlier value).
func withEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}
