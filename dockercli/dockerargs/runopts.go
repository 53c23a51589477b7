package dockerargs

import "strings"

// Run is what the wrapper needs to know of run/create's own arguments.
type Run struct {
	Image    string // the image argument
	Platform string // the last --platform among the options ("" = none)
}

// runBools are run/create's boolean options (docker/cli's
// cli/command/container opts.go, run.go and create.go, 20.10 to 28.x);
// every other option takes a value.
var runBools = map[string]bool{
	"detach": true, "interactive": true, "tty": true, "publish-all": true, "privileged": true, "read-only": true,
	"init": true, "oom-kill-disable": true, "no-healthcheck": true, "rm": true, "sig-proxy": true,
	"disable-content-trust": true, "quiet": true, "help": true, "use-api-socket": true,
}

// runShort maps run/create's one-letter options to their long names.
var runShort = map[byte]string{
	'd': "detach", 'i': "interactive", 't': "tty", 'P': "publish-all", 'q': "quiet",
	'a': "attach", 'c': "cpu-shares", 'e': "env", 'h': "hostname", 'l': "label", 'm': "memory",
	'p': "publish", 'u': "user", 'v': "volume", 'w': "workdir",
}

// ParseRun reads run/create arguments (after the command path) the way the
// CLI's pflag does with interspersed flags off: options up to the first
// other argument, which is the image. ok is false when that cannot be told
// with certainty: an unknown one-letter option, a missing value, no image.
// An unknown long option is taken to have a value only when written with
// "=" (docker adds boolean options rarely; an unknown "--x" alone is not
// certain, so it is not ok).
func ParseRun(args []string) (r Run, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				r.Image = args[i+1]
				return r, true
			}
			return r, false
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			if !hasVal && !runBools[name] {
				if !knownValueOption(name) || i+1 >= len(args) {
					return r, false
				}
				i++
				val = args[i]
			}
			if name == "platform" {
				r.Platform = val
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				long, known := runShort[a[j]]
				if !known {
					return r, false
				}
				if runBools[long] {
					continue
				}
				if j+1 == len(a) {
					if i+1 >= len(args) {
						return r, false
					}
					i++
				}
				break // the rest of the cluster, or the next argument, is the value
			}
		default:
			r.Image = a
			return r, true
		}
	}
	return r, false
}

// knownValueOption reports whether name is one of run/create's long options
// that take a value: any option docker has that is not a boolean. Only the
// spelling is checked (a value is never validated).
func knownValueOption(name string) bool {
	switch name {
	case "add-host", "annotation", "attach", "blkio-weight", "blkio-weight-device", "cap-add", "cap-drop",
		"cgroup-parent", "cgroupns", "cidfile", "cpu-count", "cpu-percent", "cpu-period", "cpu-quota",
		"cpu-rt-period", "cpu-rt-runtime", "cpu-shares", "cpus", "cpuset-cpus", "cpuset-mems", "detach-keys",
		"device", "device-cgroup-rule", "device-read-bps", "device-read-iops", "device-write-bps",
		"device-write-iops", "dns", "dns-opt", "dns-option", "dns-search", "domainname", "entrypoint", "env",
		"env-file", "expose", "gpus", "group-add", "health-cmd", "health-interval", "health-retries",
		"health-start-interval", "health-start-period", "health-timeout", "hostname", "io-maxbandwidth",
		"io-maxiops", "ip", "ip6", "ipc", "isolation", "kernel-memory", "label", "label-file", "link",
		"link-local-ip", "log-driver", "log-opt", "mac-address", "memory", "memory-reservation", "memory-swap",
		"memory-swappiness", "mount", "name", "network", "net", "network-alias", "net-alias", "oom-score-adj",
		"pid", "pids-limit", "platform", "publish", "pull", "restart", "runtime", "security-opt", "shm-size",
		"stop-signal", "stop-timeout", "storage-opt", "sysctl", "tmpfs", "ulimit", "user", "userns", "uts",
		"volume", "volume-driver", "volumes-from", "workdir", "chown", "credentialspec":
		return true
	}
	return false
}
