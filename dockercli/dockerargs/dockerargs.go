// Package dockerargs rewrites a docker CLI command line so that the container
// it creates sees an armv7 /proc/cpuinfo.
//
// The model: a docker command line is
//
//	[global options] command [subcommand] [command arguments]
//
// The global options are a small, fixed set (-H/--host, -c/--context,
// --config, -l/--log-level, -D/--debug, --tls, --tlscacert, --tlscert,
// --tlskey, --tlsverify, -v/--version, -h/--help) parsed the way the CLI's
// pflag does it: "--name value", "--name=value", "-Hvalue", "-H=value" and
// bundled short booleans ("-DH host"). The first argument that is not a global
// option is the command. Only "run", "create", "container run" and
// "container create" are rewritten, and only by inserting arguments right after
// the (sub)command, before every argument of the user's:
//
//	docker -H unix:///x run -it img   ->   docker -H unix:///x run -v FILE:/proc/cpuinfo:ro -it img
//
// Nothing else needs to be known about run's own flags: an option placed first
// is parsed like any other, and a later user --platform still wins. The one
// thing that must be known is whether the user already mounts something at
// /proc/cpuinfo (docker refuses two mounts on one destination); every -v,
// --volume, --mount and --tmpfs value in the command's arguments is checked,
// erring on the side of leaving the command alone.
//
// A command line this package does not understand (an unknown global option,
// a "--" among the global options, a missing option value) is never touched.
// [Rewrite] is a pure function: the output minus the inserted block is the
// input, byte for byte and in order.
package dockerargs

import (
	"encoding/csv"
	"path"
	"strings"
)

// CPUInfoPath is the path inside the container that the inserted bind mount
// covers.
const CPUInfoPath = "/proc/cpuinfo"

// Options says what to insert.
type Options struct {
	// CPUInfoFile is the host path of the armv7 cpuinfo text to bind-mount
	// read-only over /proc/cpuinfo. Empty means no mount is inserted.
	CPUInfoFile string
	// Platform, when not empty, is inserted as "--platform PLATFORM"
	// (e.g. "linux/arm/v7").
	Platform string
}

// Action is what Rewrite decided.
type Action int

const (
	// Passthrough: not a run/create command, or nothing to insert.
	Passthrough Action = iota
	// Rewritten: arguments were inserted.
	Rewritten
	// UserMount: a run/create command that already mounts something at
	// /proc/cpuinfo; left alone.
	UserMount
	// Unparsed: the global options could not be parsed with certainty; left
	// alone.
	Unparsed
)

func (a Action) String() string {
	switch a {
	case Passthrough:
		return "passthrough"
	case Rewritten:
		return "rewritten"
	case UserMount:
		return "user-mount"
	case Unparsed:
		return "unparsed"
	}
	return "unknown"
}

// Globals are the values of the global options that decide which daemon the
// command talks to. Repeated options keep every value, in order.
type Globals struct {
	Hosts   []string // -H/--host
	Context string   // -c/--context (last one)
	Config  string   // --config (last one)
}

// Command is a parsed docker command line.
type Command struct {
	Globals Globals
	// Index of the command word in argv (-1 when there is none: "docker",
	// "docker --version").
	Index int
	// Path is the command path: ["run"], ["container", "create"], ["ps"], ...
	// Only the two levels needed to recognise run/create are returned.
	Path []string
	// ArgsIndex is the index of the first argument after the command path:
	// where inserted options go for run/create.
	ArgsIndex int
	// OK is false when the global options could not be parsed with
	// certainty (unknown option, "--", missing value).
	OK bool
}

// IsCreate reports whether the command creates a container (run, create,
// container run, container create).
func (c Command) IsCreate() bool {
	switch len(c.Path) {
	case 1:
		return c.Path[0] == "run" || c.Path[0] == "create"
	case 2:
		return c.Path[0] == "container" && (c.Path[1] == "run" || c.Path[1] == "create")
	}
	return false
}

type globalFlag struct {
	long  string
	short byte // 0 when none
	value bool // takes a value
}

// The docker CLI's global flags (docker/cli cli/flags/options.go and
// cmd/docker/docker.go), identical in 20.10 and 28.x.
var globalFlags = []globalFlag{
	{"config", 0, true},
	{"context", 'c', true},
	{"debug", 'D', false},
	{"host", 'H', true},
	{"log-level", 'l', true},
	{"tls", 0, false},
	{"tlscacert", 0, true},
	{"tlscert", 0, true},
	{"tlskey", 0, true},
	{"tlsverify", 0, false},
	{"version", 'v', false},
	{"help", 'h', false},
}

func lookupLong(name string) (globalFlag, bool) {
	for _, f := range globalFlags {
		if f.long == name {
			return f, true
		}
	}
	return globalFlag{}, false
}

func lookupShort(c byte) (globalFlag, bool) {
	for _, f := range globalFlags {
		if f.short != 0 && f.short == c {
			return f, true
		}
	}
	return globalFlag{}, false
}

func (g *Globals) set(f globalFlag, v string) {
	switch f.long {
	case "host":
		g.Hosts = append(g.Hosts, v)
	case "context":
		g.Context = v
	case "config":
		g.Config = v
	}
}

// Parse finds the global options and the command of a docker argv (argv[1:]:
// without the program name).
func Parse(argv []string) Command {
	c := Command{Index: -1, ArgsIndex: -1, OK: true}
	i := 0
	for i < len(argv) {
		a := argv[i]
		if a == "--" {
			// cobra would take the next word as the command; nobody writes
			// this, and guessing is worse than leaving it alone.
			c.OK = false
			return c
		}
		if len(a) < 2 || a[0] != '-' {
			break // the command
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			f, ok := lookupLong(name)
			if !ok {
				c.OK = false
				return c
			}
			if f.value && !hasVal {
				if i+1 >= len(argv) {
					c.OK = false
					return c
				}
				i++
				val = argv[i]
			}
			if f.value {
				c.Globals.set(f, val)
			}
			i++
			continue
		}
		// Short options, possibly bundled: -D, -DH host, -Hhost, -H=host.
		j := 1
		for j < len(a) {
			f, ok := lookupShort(a[j])
			if !ok {
				c.OK = false
				return c
			}
			if !f.value {
				j++
				continue
			}
			rest := a[j+1:]
			switch {
			case strings.HasPrefix(rest, "="):
				c.Globals.set(f, rest[1:])
			case rest != "":
				c.Globals.set(f, rest)
			default:
				if i+1 >= len(argv) {
					c.OK = false
					return c
				}
				i++
				c.Globals.set(f, argv[i])
			}
			j = len(a)
		}
		i++
	}
	if i >= len(argv) {
		return c
	}
	c.Index = i
	c.Path = []string{argv[i]}
	c.ArgsIndex = i + 1
	if argv[i] == "container" && i+1 < len(argv) && (argv[i+1] == "run" || argv[i+1] == "create") {
		c.Path = append(c.Path, argv[i+1])
		c.ArgsIndex = i + 2
	}
	return c
}

// Insertion returns the arguments Rewrite inserts for opts, in order.
func Insertion(opts Options) []string {
	var ins []string
	if opts.CPUInfoFile != "" {
		ins = append(ins, "-v", opts.CPUInfoFile+":"+CPUInfoPath+":ro")
	}
	if opts.Platform != "" {
		ins = append(ins, "--platform", opts.Platform)
	}
	return ins
}

// Result describes a rewrite.
type Result struct {
	Action  Action
	Command Command
	// At is the index in the output where the inserted block starts and N
	// its length (0 unless Action == Rewritten).
	At, N int
}

// Rewrite returns argv with the options of opts inserted right after a
// run/create (sub)command. It never modifies argv; when nothing is inserted
// the returned slice has the same elements as argv.
func Rewrite(argv []string, opts Options) ([]string, Result) {
	cmd := Parse(argv)
	res := Result{Action: Passthrough, Command: cmd}
	out := append([]string(nil), argv...)
	if !cmd.OK {
		res.Action = Unparsed
		return out, res
	}
	if !cmd.IsCreate() {
		return out, res
	}
	ins := Insertion(opts)
	if len(ins) == 0 {
		return out, res
	}
	if opts.CPUInfoFile != "" && MountsCPUInfo(argv[cmd.ArgsIndex:]) {
		res.Action = UserMount
		return out, res
	}
	out = make([]string, 0, len(argv)+len(ins))
	out = append(out, argv[:cmd.ArgsIndex]...)
	out = append(out, ins...)
	out = append(out, argv[cmd.ArgsIndex:]...)
	res.Action = Rewritten
	res.At, res.N = cmd.ArgsIndex, len(ins)
	return out, res
}

// MountsCPUInfo reports whether run/create arguments already put something at
// /proc/cpuinfo through -v/--volume, --mount or --tmpfs, in any of the forms
// the CLI accepts ("-v a:b", "-va:b", "-v=a:b", "--volume a:b",
// "--volume=a:b", bundled "-itv a:b", "--mount type=bind,src=a,target=b",
// "--mount=...", "--tmpfs b[:opts]", "--tmpfs=b[:opts]").
//
// It does not know which of run's flags take values, so it looks at every
// argument, including the container's own command: a false positive only
// means the command is left alone, never a broken one.
func MountsCPUInfo(args []string) bool {
	next := func(i int) string {
		if i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	for i, a := range args {
		switch {
		case a == "-v" || a == "--volume":
			if volumeTarget(next(i)) {
				return true
			}
		case strings.HasPrefix(a, "--volume="):
			if volumeTarget(a[len("--volume="):]) {
				return true
			}
		case a == "--mount":
			if mountTarget(next(i)) {
				return true
			}
		case strings.HasPrefix(a, "--mount="):
			if mountTarget(a[len("--mount="):]) {
				return true
			}
		case a == "--tmpfs":
			if tmpfsTarget(next(i)) {
				return true
			}
		case strings.HasPrefix(a, "--tmpfs="):
			if tmpfsTarget(a[len("--tmpfs="):]) {
				return true
			}
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			// A short cluster such as -v..., -itv, -itvSRC:DST. The value
			// of the first 'v' is either the rest of the cluster or the
			// next argument; check both.
			if k := strings.IndexByte(a, 'v'); k > 0 && isLetters(a[1:k]) {
				rest := strings.TrimPrefix(a[k+1:], "=")
				if rest != "" && volumeTarget(rest) {
					return true
				}
				if rest == "" && volumeTarget(next(i)) {
					return true
				}
			}
		}
	}
	return false
}

// isLetters reports whether s consists of ASCII letters only (the boolean
// shorthands that may precede -v in a cluster such as -itv).
func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// isCPUInfo reports whether a container path names /proc/cpuinfo.
func isCPUInfo(p string) bool {
	if p == "" {
		return false
	}
	return path.Clean("/"+p) == CPUInfoPath
}

// volumeTarget reports whether a -v value SRC:DST[:OPTS] has /proc/cpuinfo
// as its destination. The one-part form (an anonymous volume, a directory)
// cannot sit on /proc/cpuinfo anyway and is ignored, so "cat -v /proc/cpuinfo"
// in the container's command is not mistaken for a mount.
func volumeTarget(v string) bool {
	parts := strings.Split(v, ":")
	return len(parts) >= 2 && isCPUInfo(parts[1])
}

// tmpfsTarget reports whether a --tmpfs value DST[:OPTS] is /proc/cpuinfo.
func tmpfsTarget(v string) bool {
	dst, _, _ := strings.Cut(v, ":")
	return isCPUInfo(dst)
}

// mountTarget reports whether a --mount value (CSV of key=value) has
// /proc/cpuinfo as its target/dst/destination.
func mountTarget(v string) bool {
	fields, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		fields = strings.Split(v, ",")
	}
	for _, f := range fields {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "target", "dst", "destination":
			if isCPUInfo(strings.TrimSpace(val)) {
				return true
			}
		}
	}
	return false
}
